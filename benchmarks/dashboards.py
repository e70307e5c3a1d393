"""The executive dashboard benchmark of issue 4 §7: server time of ``/executive/`` for a
1,000-node tree with 24 months of actuals (goal: median ≤ 150 ms), and its SQL statements.

``run()`` returns the numbers; ``python -m benchmarks.dashboards`` prints them as JSON. Without a
configured Django it sets one up on a fresh temporary SQLite file with production settings
(DEBUG off, as gunicorn serves the page); called from a process where Django is already set up,
it uses that (scratch) database.

- the page: ``GET /executive/?period=fytd`` through the whole middleware stack (Django's test
  client), after two warm-up requests; median and p90 of many requests — with the tree's stored
  figures in the cache (as after the first view of each rollup run), and with the cache emptied
  before every request (the first view after a run);
- its SQL statements, and those of the same page for a smaller tree (they must not grow);
- the size of the page and of the figure data it sends;
- the baseline in the same run: the same page with every figure computed by the live rollup
  engine (``goals.storage.tree_engine``) instead of read from the stored rollup, and the same
  page for a custom range of the same months (the one window the dashboard computes on request).
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path
from statistics import median, quantiles

BASE_DIR = Path(__file__).resolve().parent.parent
_FIGURE_DATA = re.compile(r'<script id="[^"]+" type="application/json">(.*?)</script>', re.S)


def _setup_django() -> tempfile.TemporaryDirectory | None:
    """Configure Django on a temporary SQLite file unless a caller has configured it already."""
    from django.conf import settings

    if settings.configured:
        return None
    scratch = tempfile.TemporaryDirectory(prefix="kpitree-dashboard-bench-")
    os.environ.update(
        {
            "DATABASE_URL": f"sqlite:///{scratch.name}/bench.sqlite3",
            "REDIS_URL": "",
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": "benchmark-only-not-a-secret-0123456789-abcdefghijklmnopqrstuvwxyz",
            "DJANGO_ALLOWED_HOSTS": "localhost",
            "DJANGO_LOG_LEVEL": "WARNING",
        }
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kpitree.settings")
    sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    # DEBUG off serves hashed static names from the manifest that collectstatic writes.
    settings.STATIC_ROOT = Path(scratch.name) / "static"
    call_command("collectstatic", interactive=False, verbosity=0)
    return scratch


def _timed(client, path: str, requests: int, *, before=None) -> dict:
    for _ in range(2):  # warm-up: template loading, translations, first queries
        assert client.get(path, secure=True).status_code == 200
    times, cpu = [], []
    for _ in range(requests):
        if before is not None:
            before()
        began, began_cpu = time.perf_counter(), time.process_time()
        response = client.get(path, secure=True)
        times.append(time.perf_counter() - began)
        cpu.append(time.process_time() - began_cpu)
        assert response.status_code == 200, response.status_code
    deciles = quantiles(times, n=10)
    return {
        "requests": requests,
        "median_ms": round(median(times) * 1000, 1),
        "p90_ms": round(deciles[-1] * 1000, 1),
        "best_ms": round(min(times) * 1000, 1),
        # CPU time of this process: the server's own work, apart from waiting for a busy machine
        # (and, on PostgreSQL, apart from the database server's time).
        "cpu_median_ms": round(median(cpu) * 1000, 1),
    }


def _statements(client, path: str) -> int:
    """The SQL statements of one view, the stored figures not yet cached (the most it runs)."""
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    cache.clear()
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path, secure=True).status_code == 200
    return len(captured.captured_queries)


def _live_window_figures(roots, window, *, today):
    """The baseline's replacement for the stored figures: every node assessed now by the engine."""
    from dashboards.stored import engine_figures
    from goals.models import Node

    out = {}
    for root in roots:
        ids = list(Node.objects.filter(tree_id=root.tree_id, is_archived=False).values_list("pk", flat=True))
        out.update(engine_figures(root, window, ids, today=today))
    return out


def _live_series_of(node_ids):
    """The baseline's replacement for the stored documents of the KGIs: computed now."""
    from django.utils import timezone

    from goals.models import Node
    from goals.rollup import storage

    out = {}
    for node in Node.objects.filter(pk__in=list(node_ids)).select_related("organisation"):
        engine, _nodes = storage.tree_engine(node.get_root(), as_of=timezone.localdate())
        out[node.pk] = engine.series(node.pk)
    return out


def run(*, nodes: int = 1000, small_nodes: int = 60, periods: int = 24, requests: int = 40, seed: int = 1) -> dict:
    scratch = _setup_django()
    try:
        return _measure(nodes=nodes, small_nodes=small_nodes, periods=periods, requests=requests, seed=seed)
    finally:
        if scratch is not None:
            from django.db import connections

            connections.close_all()
            scratch.cleanup()


def _measure(*, nodes: int, small_nodes: int, periods: int, requests: int, seed: int) -> dict:
    from unittest import mock

    from django.contrib.auth import get_user_model
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from dashboards.pages import executive
    from dashboards.windows import window_from_params
    from goals.dev.trees import tree_generate
    from goals.models import Membership, Organisation, Role
    from goals.rollup import jobs

    stamp = f"{time.time_ns()}"
    today = timezone.localdate()
    out: dict = {"vendor": connection.vendor, "nodes_requested": nodes, "periods": periods, "today": today.isoformat()}

    def organisation_with_tree(size: int, label: str):
        organisation = Organisation.objects.create(name=f"Dashboard benchmark {label} {stamp}")
        tree = tree_generate(organisation=organisation, nodes=size, periods=periods, depth=6, seed=seed, today=today)
        began = time.perf_counter()
        jobs.tree_rollup(root_id=tree.root.pk, as_of=today)
        user = get_user_model().objects.create_user(f"bench-{label}-{stamp}", password=None)
        Membership.objects.create(user=user, organisation=organisation, role=Role.EXECUTIVE)
        client = Client(HTTP_HOST="localhost")
        client.force_login(user)
        return tree, client, time.perf_counter() - began

    big, client, rollup_seconds = organisation_with_tree(nodes, "big")
    out.update(nodes=big.nodes, actuals=big.actuals, depth=big.depth, rollup_seconds=round(rollup_seconds, 2))
    page = "/executive/?period=fytd"
    response = client.get(page, secure=True)
    html = response.content.decode()
    out["page_kb"] = round(len(html.encode()) / 1024, 1)
    out["figure_data_kb"] = round(sum(len(m.encode()) for m in _FIGURE_DATA.findall(html)) / 1024, 1)
    out["dashboard"] = _timed(client, page, requests)
    # The first request after each rollup run reads and decodes the stored figures (later ones
    # find them in the cache, keyed by the run): timed apart, with the cache emptied each time.
    out["dashboard_after_a_rollup"] = _timed(client, page, requests, before=cache.clear)
    out["statements_big"] = _statements(client, page)

    small, small_client, _ = organisation_with_tree(small_nodes, "small")
    out["small_nodes"] = small.nodes
    out["statements_small"] = _statements(small_client, page)

    # Baselines, in the same run and process: what the page would cost without the stored rollup.
    fytd, _ = window_from_params(
        {"period": "fytd"}, today=today, fiscal_start_month=big.root.organisation.fiscal_year_start_month
    )
    custom = f"/executive/?period=custom&from={fytd.first:%Y-%m}&to={fytd.last:%Y-%m}"
    out["baseline_custom_range"] = _timed(client, custom, max(5, requests // 4))
    with (
        mock.patch.object(
            executive,
            "trees_window_figures",
            lambda roots, window, *, today, **kwargs: _live_window_figures(roots, window, today=today),
        ),
        mock.patch.object(executive, "series_of", _live_series_of),
    ):
        out["baseline_live_engine"] = _timed(client, page, max(5, requests // 4))
    out["speedup_vs_live_engine"] = round(out["baseline_live_engine"]["median_ms"] / out["dashboard"]["median_ms"], 1)
    return out


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))

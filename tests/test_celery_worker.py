"""A real Celery worker and a real Redis: the rollup path end to end, and its faults.

Each test starts a private ``redis-server`` on a free loopback port (so stopping it harms no one)
and ``celery worker`` subprocesses that share this test database: the tests must run on
PostgreSQL (an in-memory SQLite test database cannot be shared with another process). The test
process sends its tasks to the private Redis too. Every subprocess is ended in a finalizer.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection
from django.utils import timezone

from goals.actuals import Entry, measurement_upsert
from goals.models import Membership, Node, RollupSeries, RollupState
from goals.rollup import jobs, storage
from goals.tasks import sweep_stale_trees
from kpitree.celery import app
from tests.conftest import require

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]

BASE_DIR = Path(__file__).resolve().parent.parent
PERIOD = date(2026, 4, 1)  # the first month of the conftest trees' fiscal year
ENTERED_ON = date(2026, 4, 20)  # the day the actual is "entered" (validation only)
WAIT = 60  # seconds: generous for a loaded 2-core CI machine; a passing run takes a few
VISIBILITY = 3  # seconds before the broker hands an unacknowledged task to another worker


def wait_for(condition, *, timeout: float = WAIT, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class PrivateRedis:
    port: int
    log: Path
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                shutil.which("redis-server"),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--logfile",
                str(self.log),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(self.ping, timeout=10, what=f"redis-server on port {self.port}")

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None


@pytest.fixture(autouse=True)
def needs_postgresql_and_redis_server():
    require(
        connection.vendor == "postgresql",
        "the worker tests need DATABASE_URL=postgres://… (a worker cannot share an in-memory SQLite test database)",
    )
    require(shutil.which("redis-server") is not None, "redis-server is not installed")


@pytest.fixture
def private_redis(tmp_path):
    redis = PrivateRedis(port=free_port(), log=tmp_path / "redis.log")
    redis.start()
    yield redis
    redis.stop()


def _reset_producer_pools() -> None:
    if app._pool is not None:
        app._pool.force_close_all()
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def tasks_to_private_redis(private_redis):
    """Send this process's tasks to the private Redis (not eagerly, not to a shared Redis)."""
    saved = {key: app.conf[key] for key in ("broker_url", "task_always_eager")}
    app.conf.update(broker_url=private_redis.url, task_always_eager=False)
    _reset_producer_pools()
    yield
    app.conf.update(saved)
    _reset_producer_pools()


def _database_url() -> str:
    db = connection.settings_dict
    credentials = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = db["HOST"] or "127.0.0.1"
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgres://{credentials}@{host}{port}/{quote(db['NAME'], safe='')}"


@dataclass
class Workers:
    """Starts `celery worker` subprocesses on this test database and the private Redis."""

    redis: PrivateRedis
    directory: Path
    started: list[subprocess.Popen] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)

    def start(self, **extra_env: str) -> subprocess.Popen:
        log = self.directory / f"worker-{len(self.logs)}.log"
        env = {
            **os.environ,
            "DATABASE_URL": _database_url(),
            "DATABASE_CONN_MAX_AGE": "0",
            "REDIS_URL": self.redis.url,
            "DJANGO_DEBUG": "true",
            **extra_env,
        }
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "kpitree",
                "worker",
                "-l",
                "info",
                "--pool=solo",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-n",
                f"test-{self.redis.port}-{len(self.logs)}@%h",
            ],
            cwd=BASE_DIR,
            env=env,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        )
        self.started.append(process)
        self.logs.append(log)
        wait_for(lambda: "ready." in log.read_text(), what=f"the worker to start (see {log})")
        return process

    def stop(self, process: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
        if process.poll() is None:
            process.send_signal(sig)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)

    def log_text(self, process: subprocess.Popen) -> str:
        return self.logs[self.started.index(process)].read_text()

    def stop_all(self) -> None:
        for process in self.started:
            self.stop(process, signal.SIGKILL)


@pytest.fixture
def workers(transactional_db, private_redis, tasks_to_private_redis, tmp_path):
    started = Workers(private_redis, tmp_path)
    yield started
    # Before the database is flushed: no worker may hold it.
    started.stop_all()


@pytest.fixture
def tree(workers, saas_tree):
    """The SaaS tree, created with tasks going to the private Redis (its first rollup is queued)."""
    return saas_tree


def state(root: Node) -> RollupState:
    return RollupState.objects.get(root=root)


def is_fresh(root: Node) -> bool:
    return state(root).stale_since is None


def leaf(root: Node) -> Node:
    """A hand-entered KPI with an increase target, so a value above its path needs no note."""
    return (
        Node.objects.filter(
            tree_id=root.tree_id, value_source="manual", kind="kpi", direction="increase", frequency="monthly"
        )
        .select_related("parent")
        .exclude(target_value=None)
        .exclude(unit="%")
        .order_by("lft")
        .first()
    )


def enter_actual(manager, node: Node, value: str) -> None:
    membership = Membership.objects.select_related("organisation").get(user=manager)
    measurement_upsert(
        membership=membership,
        entry=Entry(node=node, period=PERIOD, value=Decimal(value), note="entered by the worker test"),
        today=ENTERED_ON,
    )


def stored(node: Node) -> dict:
    series = RollupSeries.objects.get(node=node).series
    return dict(zip(series["period"], series["actual"], strict=True))


def status(node: Node) -> str:
    series = RollupSeries.objects.get(node=node).series
    return dict(zip(series["period"], series["status"], strict=True))[PERIOD.isoformat()]


def stored_tree(root: Node) -> dict[int, dict]:
    return {
        row.node_id: row.series for row in RollupSeries.objects.filter(node__tree_id=root.tree_id).order_by("node_id")
    }


def test_actual_saved_is_rolled_up_by_the_worker(workers, tree, manager, manager_api):
    workers.start()
    wait_for(lambda: is_fresh(tree), what="the first rollup of the new tree")
    kpi = leaf(tree)
    assert status(kpi.parent) == "no_data"  # no actuals anywhere yet

    enter_actual(manager, kpi, "1234")

    wait_for(lambda: is_fresh(tree) and stored(kpi)[PERIOD.isoformat()] == 1234.0, what="the worker's rollup")
    assert state(tree).computed_at is not None
    # What the worker stored is what the engine computes here, node by node (the worker takes
    # today from the same clock).
    engine, nodes = storage.tree_engine(tree, as_of=timezone.localdate())
    assert stored_tree(tree) == {n.pk: engine.series(n.pk) for n in sorted(nodes, key=lambda n: n.pk)}
    assert status(kpi.parent) != "no_data"  # the KSF above now takes its status from the KPI
    response = manager_api.get(f"/api/v1/nodes/{kpi.pk}/progress/?from=2026-04-01&to=2026-04-30")
    assert response.status_code == 200
    assert response.json()["periods"][0]["actual"] == 1234.0
    assert response.json()["stale"] is False


def test_worker_killed_mid_task_is_redelivered_and_completes(workers, tree, manager):
    first = workers.start()
    wait_for(lambda: is_fresh(tree), what="the first rollup of the new tree")
    workers.stop(first)  # a warm shutdown: nothing in flight
    slow = workers.start(KPITREE_TEST_ROLLUP_DELAY="120", CELERY_VISIBILITY_TIMEOUT=str(VISIBILITY))
    kpi = leaf(tree)

    enter_actual(manager, kpi, "4321")
    received = wait_for(
        lambda: re.search(r"Task goals\.tasks\.rollup_tree\[([0-9a-f-]+)\] received", workers.log_text(slow)),
        what="the slow worker to take the task",
    )
    wait_for(lambda: "KPITREE_TEST_ROLLUP_DELAY" in workers.log_text(slow), what="the task to start")
    task_id = received.group(1)
    workers.stop(slow, signal.SIGKILL)  # kill -9 mid-task: the message was never acknowledged

    assert not is_fresh(tree)
    assert stored(kpi)[PERIOD.isoformat()] is None

    # A starting worker takes back unacknowledged tasks older than the visibility timeout (later
    # scans are minutes apart), so start it once that has passed, as a real restart would.
    time.sleep(VISIBILITY + 1)
    restarted = workers.start(CELERY_VISIBILITY_TIMEOUT=str(VISIBILITY))
    wait_for(lambda: is_fresh(tree), what="the redelivered task to complete")
    # The same task, delivered again — not a new one from a sweep.
    assert f"rollup_tree[{task_id}] received" in workers.log_text(restarted)
    # The worker logs the success just after the commit that made the tree fresh.
    wait_for(lambda: f"rollup_tree[{task_id}] succeeded" in workers.log_text(restarted), what="the success logged")
    assert stored(kpi)[PERIOD.isoformat()] == 4321.0

    # Identical to a synchronous rebuild, which itself changes nothing (the task is idempotent).
    after_worker = stored_tree(tree)
    workers.stop(restarted)
    jobs.tree_rollup(root_id=tree.pk, as_of=timezone.localdate())
    assert stored_tree(tree) == after_worker


def test_redis_down_saves_the_actual_and_the_sweep_recovers(workers, tree, manager, manager_api, private_redis):
    workers.start()
    wait_for(lambda: is_fresh(tree), what="the first rollup of the new tree")
    kpi = leaf(tree)

    private_redis.stop()
    enter_actual(manager, kpi, "777")  # the broker is down: the save must still succeed

    assert Node.objects.get(pk=kpi.pk).measurements.get(period_start=PERIOD).value == Decimal("777")
    assert state(tree).stale_since is not None
    assert stored(kpi)[PERIOD.isoformat()] is None
    response = manager_api.get(f"/api/v1/nodes/{kpi.pk}/progress/?from=2026-04-01&to=2026-04-30")
    assert response.json()["stale"] is True

    private_redis.start()
    assert sweep_stale_trees() == 1  # what beat runs every ROLLUP_SWEEP_SECONDS

    wait_for(lambda: is_fresh(tree), what="the sweep's rollup once Redis is back")
    assert stored(kpi)[PERIOD.isoformat()] == 777.0
    assert manager_api.get(f"/api/v1/nodes/{kpi.pk}/progress/?from=2026-04-01&to=2026-04-30").json()["stale"] is False


def test_after_a_kill_the_sweep_recovers_without_waiting_for_the_visibility_timeout(workers, tree, manager):
    """Why beat is required in production: the task of a worker killed with -9 stays unacknowledged
    for the visibility timeout (3,600 s by default); until then only the sweep recomputes the tree."""
    first = workers.start()
    wait_for(lambda: is_fresh(tree), what="the first rollup of the new tree")
    workers.stop(first)
    slow = workers.start(KPITREE_TEST_ROLLUP_DELAY="120")  # the default visibility timeout
    kpi = leaf(tree)

    enter_actual(manager, kpi, "2468")
    wait_for(lambda: "KPITREE_TEST_ROLLUP_DELAY" in workers.log_text(slow), what="the task to start")
    workers.stop(slow, signal.SIGKILL)
    healthy = workers.start()
    time.sleep(3)
    assert not is_fresh(tree)  # the killed task is not redelivered within the hour

    assert sweep_stale_trees() == 1  # what beat runs every ROLLUP_SWEEP_SECONDS

    wait_for(lambda: is_fresh(tree), what="the sweep's rollup on the healthy worker")
    assert stored(kpi)[PERIOD.isoformat()] == 2468.0
    wait_for(lambda: "succeeded" in workers.log_text(healthy), what="the success logged")
    assert state(tree).failed_at is None

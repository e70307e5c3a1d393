"""``manage.py generate_tree --org NAME --nodes N --periods P``: a synthetic tree for benchmarks."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from goals.dev.trees import tree_generate
from goals.models import Organisation


class Command(BaseCommand):
    help = (
        "Create a synthetic KPI tree of about N nodes (KGI → KSFs → KPIs → sub-KPIs) with P monthly "
        "periods of actuals ending this month, for benchmarks and load tests. Creates the organisation "
        "if needed. The tree is left stale: run `manage.py rollup --tree ID` (or let the sweep do it)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="organisation name (created if missing)")
        parser.add_argument("--nodes", type=int, required=True, help="about how many nodes")
        parser.add_argument("--periods", type=int, required=True, help="monthly periods of actuals")
        parser.add_argument("--depth", type=int, default=6, help="levels below the KGI (default 6)")
        parser.add_argument("--seed", type=int, default=1, help="random seed (same seed, same tree)")

    def handle(self, *args, org, nodes, periods, depth, seed, **options):
        if nodes < 1 or periods < 1 or depth < 1:
            raise CommandError("--nodes, --periods and --depth must be at least 1.")
        began = time.perf_counter()
        organisation, created = Organisation.objects.get_or_create(name=org)
        try:
            tree = tree_generate(
                organisation=organisation,
                nodes=nodes,
                periods=periods,
                depth=depth,
                seed=seed,
                today=timezone.localdate(),
            )
        except ValueError as error:
            raise CommandError(str(error)) from None
        elapsed = time.perf_counter() - began
        self.stdout.write(
            f"{'Created' if created else 'Used'} organisation {org!r}; tree {tree.root.pk} ({tree.root.code}): "
            f"{tree.nodes} nodes ({tree.leaves} leaves, depth {tree.depth}), "
            f"{tree.actuals} actuals over {periods} months in {elapsed:.2f} s. "
            f"It is marked stale: run `manage.py rollup --tree {tree.root.pk}`."
        )

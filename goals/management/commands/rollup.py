"""``manage.py rollup [--tree ID | --all] [--full]``: recompute rollups now, in this process."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from goals.models import Node
from goals.rollup import jobs


class Command(BaseCommand):
    help = (
        "Recompute the rollup of one tree (--tree, the KGI's id) or of every active tree (--all) "
        "synchronously, without a Celery worker, and clear their stale mark."
    )

    def add_arguments(self, parser):
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--tree", type=int, metavar="ID", help="the id of the tree's KGI")
        which.add_argument("--all", action="store_true", dest="all_trees", help="every active tree")
        parser.add_argument(
            "--full",
            action="store_true",
            help="rebuild every node, even when only actuals changed since the last run (which recomputes "
            "only their nodes and ancestors)",
        )

    def handle(self, *args, tree, all_trees, full, **options):
        roots = Node.objects.filter(level=0, is_archived=False).order_by("pk")
        if tree is not None:
            root = Node.objects.filter(pk=tree).first()
            if root is None:
                raise CommandError(f"There is no tree with the id {tree}.")
            if root.level != 0:
                raise CommandError(
                    f"Node {tree} is not a KGI; its tree's KGI is {root.get_root().pk}. Pass that id to --tree."
                )
            roots = [root]
        total = 0
        for root in roots:
            began = time.perf_counter()
            jobs.tree_rollup(root_id=root.pk, as_of=timezone.localdate(), full=full)
            elapsed = time.perf_counter() - began
            nodes = Node.objects.filter(tree_id=root.tree_id, is_archived=False).count()
            total += 1
            self.stdout.write(f"Rolled up tree {root.pk} ({root.code}, {nodes} nodes) in {elapsed:.2f} s.")
        if not total:
            self.stdout.write("No active tree to roll up.")

"""goals.services serialises tree writes, so concurrent writers cannot corrupt a nested set.

django-mptt computes lft/rght/tree_id from values it has just read: two concurrent writers in
one tree can leave overlapping or gapped intervals, and two concurrent new roots can pick the
same tree_id. This test starts many writers at once (a Barrier) on PostgreSQL, retries nothing,
and then checks every tree's nested-set invariants from the parent pointers.
"""

from __future__ import annotations

import random
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from django.db import connection

from goals import services
from goals.library import SAAS_REVENUE_TREE
from goals.models import Kind, Node
from tests.conftest import FY_END, FY_START, require

THREADS = 8
OPS_PER_THREAD = 12
SEED = 20260401


def tree_problems(rows: Iterable[dict]) -> list[str]:
    """Every broken nested-set invariant among ``rows`` (id, parent_id, tree_id, lft, rght, level, code).

    The parent pointers are the truth (mptt never rewrites them behind our back); lft, rght,
    level and tree_id are the derived columns a racing writer corrupts.
    """
    nodes = {row["id"]: row for row in rows}
    children: dict[int, list[int]] = defaultdict(list)
    by_tree: dict[int, list[dict]] = defaultdict(list)
    for row in nodes.values():
        by_tree[row["tree_id"]].append(row)
        if row["parent_id"] is not None:
            children[row["parent_id"]].append(row["id"])

    descendants: dict[int, int] = {}

    def count(pk: int) -> int:
        # Iterative post-order: a corrupted tree must not blow the recursion limit.
        stack, order = [pk], []
        while stack:
            current = stack.pop()
            order.append(current)
            stack.extend(children[current])
        for current in reversed(order):
            descendants[current] = sum(descendants[c] + 1 for c in children[current])
        return descendants[pk]

    problems: list[str] = []
    for tree_id, members in sorted(by_tree.items()):
        roots = [r for r in members if r["parent_id"] is None]
        if len(roots) != 1:
            problems.append(f"tree {tree_id}: {len(roots)} roots ({sorted(r['id'] for r in roots)})")
        bounds = sorted([r["lft"] for r in members] + [r["rght"] for r in members])
        if bounds != list(range(1, 2 * len(members) + 1)):
            duplicated = sorted({b for b in bounds if bounds.count(b) > 1})
            problems.append(
                f"tree {tree_id}: lft/rght of its {len(members)} nodes are not exactly 1..{2 * len(members)}"
                f" (min {bounds[0]}, max {bounds[-1]}, duplicated {duplicated[:10]})"
            )
        codes = [r["code"] for r in members]
        if len(codes) != len(set(codes)):
            problems.append(f"tree {tree_id}: duplicate codes {sorted({c for c in codes if codes.count(c) > 1})}")

    for pk, row in sorted(nodes.items()):
        label = f"node {pk} ({row['code']}, tree {row['tree_id']})"
        if row["lft"] >= row["rght"]:
            problems.append(f"{label}: lft {row['lft']} >= rght {row['rght']}")
        size = descendants[pk] if pk in descendants else count(pk)
        if row["rght"] - row["lft"] - 1 != 2 * size:
            problems.append(f"{label}: rght - lft - 1 = {row['rght'] - row['lft'] - 1}, but it has {size} descendants")
        parent = nodes.get(row["parent_id"]) if row["parent_id"] is not None else None
        if row["parent_id"] is None:
            if row["level"] != 0:
                problems.append(f"{label}: a root at level {row['level']}")
            continue
        if parent is None:
            problems.append(f"{label}: parent {row['parent_id']} does not exist")
            continue
        if parent["tree_id"] != row["tree_id"]:
            problems.append(f"{label}: its parent {parent['id']} is in tree {parent['tree_id']}")
        if not parent["lft"] < row["lft"] < row["rght"] < parent["rght"]:
            problems.append(
                f"{label}: ({row['lft']}, {row['rght']}) not strictly inside parent {parent['id']}'s"
                f" ({parent['lft']}, {parent['rght']})"
            )
        if row["level"] != parent["level"] + 1:
            problems.append(f"{label}: level {row['level']}, parent's level {parent['level']}")
    return problems


def test_tree_problems_accepts_a_valid_tree_and_names_corruption():
    def row(pk, parent, lft, rght, level, code, tree=1):
        return {"id": pk, "parent_id": parent, "tree_id": tree, "lft": lft, "rght": rght, "level": level, "code": code}

    valid = [row(1, None, 1, 6, 0, "a"), row(2, 1, 2, 3, 1, "b"), row(3, 1, 4, 5, 1, "c")]
    assert tree_problems(valid) == []
    # What a lost update looks like: two siblings given the same slot.
    overlapping = [row(1, None, 1, 6, 0, "a"), row(2, 1, 2, 3, 1, "b"), row(3, 1, 2, 3, 1, "c")]
    assert any("not exactly 1..6" in p for p in tree_problems(overlapping))
    # Two roots racing for the same tree_id.
    assert any("2 roots" in p for p in tree_problems([row(1, None, 1, 2, 0, "a"), row(2, None, 1, 2, 0, "b")]))


def _data(code: str, kind: str, owner) -> dict:
    numeric = kind != Kind.KSF
    return {
        "name": f"{code}: 12 a month",
        "code": code,
        "owner": owner,
        "rationale": "Written by the concurrency test.",
        "unit": "count" if numeric else "",
        "baseline_value": Decimal("10") if numeric else None,
        "target_value": Decimal("12") if numeric else None,
        "start_date": FY_START if numeric else None,
        "deadline": FY_END if numeric else None,
    }


@dataclass
class Outcome:
    created: list[tuple[int, int | None, str]] = field(default_factory=list)  # (pk, parent pk, code)
    last_parent: dict[int, int] = field(default_factory=dict)  # moved node pk -> last target pk
    errors: list[str] = field(default_factory=list)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_writes_keep_every_tree_valid(organisation, other_organisation, manager, outsider, saas_tree):
    require(connection.vendor == "postgresql", "the concurrency test needs PostgreSQL (DATABASE_URL=postgres://…)")
    second_tree = services.tree_create_from_template(
        organisation=organisation, actor=manager, template=SAAS_REVENUE_TREE, start_date=FY_START, deadline=FY_END
    )
    # Movable KPIs with codes unique across both trees, each with a sub-KPI, so moves between
    # the trees are allowed and carry a subtree along.
    ksfs = list(Node.objects.filter(tree_id__in=[saas_tree.tree_id, second_tree.tree_id], kind=Kind.KSF))
    movable: list[Node] = []
    for i in range(2 * THREADS):
        kpi = services.node_create(
            organisation=organisation,
            actor=manager,
            kind=Kind.KPI,
            parent=ksfs[i % len(ksfs)],
            data=_data(f"movable_{i}", Kind.KPI, manager),
        )
        services.node_create(
            organisation=organisation,
            actor=manager,
            kind=Kind.SUB_KPI,
            parent=kpi,
            data=_data(f"movable_{i}_input", Kind.SUB_KPI, manager),
        )
        movable.append(kpi)
    snapshot = list(Node.objects.filter(organisation=organisation))
    parents_for = {
        Kind.KSF: [n for n in snapshot if n.kind == Kind.KGI],
        Kind.KPI: [n for n in snapshot if n.kind == Kind.KSF],
        Kind.SUB_KPI: [n for n in snapshot if n.kind in (Kind.KPI, Kind.SUB_KPI)],
    }

    def creator(index: int, rng: random.Random, out: Outcome) -> list[Callable[[], None]]:
        def create(op: int) -> None:
            kind = rng.choice([Kind.KSF, Kind.KPI, Kind.SUB_KPI, Kind.SUB_KPI])
            parent = rng.choice(parents_for[kind])
            code = f"t{index}_op{op}"
            node = services.node_create(
                organisation=organisation, actor=manager, kind=kind, parent=parent, data=_data(code, kind, manager)
            )
            out.created.append((node.pk, parent.pk, code))
            if kind in (Kind.KPI, Kind.SUB_KPI):
                # Later writers may nest under it (all threads share these lists): deeper, busier trees.
                parents_for[Kind.SUB_KPI].append(node)
            elif kind == Kind.KSF:
                parents_for[Kind.KPI].append(node)

        return [lambda op=op: create(op) for op in range(OPS_PER_THREAD)]

    def mover(index: int, rng: random.Random, out: Outcome) -> list[Callable[[], None]]:
        # Each mover owns its KPIs, so the last move it made is the one that must be visible.
        mine = movable[index::THREADS]
        where = {kpi.pk: kpi.parent_id for kpi in mine}

        def move() -> None:
            kpi = rng.choice(mine)
            target = rng.choice([k for k in ksfs if k.pk != where[kpi.pk]])
            services.node_move(node=kpi, actor=manager, new_parent=target)
            where[kpi.pk] = out.last_parent[kpi.pk] = target.pk

        return [move for _ in range(OPS_PER_THREAD)]

    def root_maker(index: int, rng: random.Random, out: Outcome) -> list[Callable[[], None]]:
        # Roots in two organisations at once: only the database-wide lock keeps tree_ids apart.
        org, actor = (organisation, manager) if index % 2 == 0 else (other_organisation, outsider)

        def create(op: int) -> None:
            code = f"t{index}_root{op}"
            node = services.node_create(
                organisation=org, actor=actor, kind=Kind.KGI, parent=None, data=_data(code, Kind.KGI, actor)
            )
            out.created.append((node.pk, None, code))

        return [lambda op=op: create(op) for op in range(OPS_PER_THREAD)]

    roles = [creator, creator, creator, creator, mover, mover, root_maker, root_maker]
    assert len(roles) == THREADS
    outcomes = [Outcome() for _ in range(THREADS)]
    barrier = threading.Barrier(THREADS)

    def run(index: int) -> None:
        out = outcomes[index]
        try:
            connection.ensure_connection()  # connect before the barrier, so the writes start together
            operations = roles[index](index, random.Random(SEED + index), out)
            barrier.wait(timeout=30)
            for operation in operations:
                try:
                    operation()
                except Exception as error:  # noqa: BLE001 — recorded and asserted on below
                    out.errors.append(f"thread {index} ({roles[index].__name__}): {type(error).__name__}: {error}")
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,), name=f"writer-{i}") for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a writer hung (deadlock?)"

    rows = list(Node.objects.values("id", "parent_id", "tree_id", "lft", "rght", "level", "code"))
    problems = tree_problems(rows)
    errors = [e for out in outcomes for e in out.errors]
    by_pk = {row["id"]: row for row in rows}
    missing = [
        f"created {code} (pk {pk}) under {parent}: found {by_pk.get(pk)}"
        for out in outcomes
        for pk, parent, code in out.created
        if pk not in by_pk or by_pk[pk]["parent_id"] != parent or by_pk[pk]["code"] != code
    ]
    missing += [
        f"moved node {pk} last under {parent}: it is under {by_pk[pk]['parent_id']}"
        for out in outcomes
        for pk, parent in out.last_parent.items()
        if by_pk[pk]["parent_id"] != parent
    ]

    assert problems == [], f"{len(problems)} broken invariants, e.g. {problems[:15]}"
    # With the service locks no write needs to fail: nothing was invalid, nothing was retried.
    assert errors == [], f"{len(errors)} writes failed, e.g. {errors[:10]}"
    assert missing == []
    created_roots = sum(1 for out in outcomes for _, parent, _ in out.created if parent is None)
    assert created_roots == 2 * OPS_PER_THREAD
    assert sum(len(out.last_parent) for out in outcomes) > 0
    assert Node.objects.filter(level=0).values("tree_id").distinct().count() == 2 + created_roots

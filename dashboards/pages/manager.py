"""The manager's dashboard: the trees to show, every node's status, what is missing, what is
off track without a note, and the indicator pairs to watch."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from dashboards.selectors import (
    IndicatorPair,
    OwnerMissing,
    Unexplained,
    chart_range,
    indicator_pairs,
    missing_by_owner,
    missing_in_window,
    noted_actuals,
    off_track_without_note,
    pairs_to_watch,
    rollup_states,
)
from dashboards.stored import SeriesPoint, series_of, series_points, trees_window_figures
from dashboards.windows import Window
from goals import selectors as goals_selectors
from goals import smart
from goals.models import Node
from goals.periods import tree_windows
from goals.rollup.document import EMPTY, NO_DATA, NodeFigures


@dataclass(frozen=True)
class ManagerTrees:
    roots: list[Node]  # every active tree of the organisation, for the choice of trees
    trees: list[goals_selectors.TreeOverview]  # the chosen ones, with their SMART reports
    scope: str  # "mine", "all" or the chosen root's id


def manager_trees(membership, *, user_id: int, tree_id: int | None, everything: bool) -> ManagerTrees:
    """The trees on a manager's dashboard: the one of ``tree_id``; or, with ``everything``, all
    (the user's first); otherwise the user's — those where they own a node — or all when they
    own none. Only the chosen trees' nodes are loaded and checked against SMART, in four
    queries whatever their size."""
    active = goals_selectors.nodes_of(membership).filter(is_archived=False)
    roots = list(active.filter(level=0).order_by("tree_id"))
    by_tree = {root.tree_id: root for root in roots}
    mine = set(active.filter(owner_id=user_id).values_list("tree_id", flat=True)) & set(by_tree)
    if tree_id is not None:
        chosen = [tree_id] if tree_id in by_tree else []
        scope = str(by_tree[tree_id].pk) if chosen else ""
    elif everything or not mine:
        chosen, scope = sorted(by_tree, key=lambda tid: (tid not in mine, tid)), "all"
    else:
        chosen, scope = sorted(mine), "mine"
    nodes: dict[int, list[Node]] = {tid: [] for tid in chosen}
    for node in active.filter(tree_id__in=chosen).select_related("owner").order_by("tree_id", "lft"):
        nodes[node.tree_id].append(node)
    reports = goals_selectors.tree_smart_reports([n for tid in chosen for n in nodes[tid]])
    trees = []
    for tid in chosen:
        members = nodes[tid]
        tree_reports = {n.pk: reports[n.pk] for n in members}
        summary = smart.summarise_tree(members, list(tree_reports.values()))
        trees.append(goals_selectors.TreeOverview(members[0], members, tree_reports, summary))
    return ManagerTrees(roots, trees, scope)


STATUS_ROWS = 200


@dataclass(frozen=True)
class TreeStatus:
    """One tree on the manager's dashboard: every node with its figures, and the counts."""

    root: Node
    rows: list[tuple[Node, NodeFigures]]
    counts: dict[str, int]

    @property
    def listed(self) -> list[tuple[Node, NodeFigures]]:
        """The rows the page lists: all of a tree of up to ``STATUS_ROWS`` nodes; of a larger
        one those not on track (the counts and the status map cover the rest)."""
        if len(self.rows) <= STATUS_ROWS:
            return self.rows
        return [row for row in self.rows if row[1].status != "on_track"][:STATUS_ROWS]

    @property
    def unlisted(self) -> int:
        return len(self.rows) - len(self.listed)


@dataclass(frozen=True)
class PairSeries:
    """An indicator pair with both nodes' stored actuals over the chart's periods."""

    pair: IndicatorPair
    periods: list[date]
    driver: list[SeriesPoint]
    result: list[SeriesPoint]


@dataclass(frozen=True)
class ManagerDashboard:
    trees: list[TreeStatus]
    missing: list[OwnerMissing]
    unexplained: list[Unexplained]
    pairs: list[PairSeries]
    pair_count: int  # how many pairs the trees have, of which ``pairs`` are the first
    stale: bool
    failures: tuple[goals_selectors.RollupFailure, ...] = ()  # trees whose last rollup failed


def _pair_series(pair: IndicatorPair, series: Mapping[int, dict], window: Window, today: date) -> PairSeries:
    first, last = chart_range(window, frequency=pair.driver.frequency)
    last = min(last, today)
    driver = {p.period: p for p in series_points(series.get(pair.driver.pk), first=first, last=last)}
    result = {p.period: p for p in series_points(series.get(pair.result.pk), first=first, last=last)}
    periods = sorted(set(driver) | set(result))

    def at(points: Mapping[date, SeriesPoint], period: date) -> SeriesPoint:
        return points.get(period) or SeriesPoint(period, None, None, None, NO_DATA)

    return PairSeries(pair, periods, [at(driver, p) for p in periods], [at(result, p) for p in periods])


def manager_dashboard(
    membership, roots: Sequence[Node], nodes: Sequence[Node], *, window: Window, today: date, pair_limit: int = 6
) -> ManagerDashboard:
    """What a manager chases in ``window`` over the trees of ``roots`` (``nodes``: their active
    nodes in tree order, owners loaded), in a fixed number of queries whatever their size."""
    organisation = membership.organisation
    fiscal = organisation.fiscal_year_start_month
    tree_ids = [root.tree_id for root in roots]
    for root in roots:
        root.organisation = organisation  # the engine reads the fiscal year from it
    states = rollup_states(tree_ids)
    figures = trees_window_figures(
        roots, window, versions={tree_id: state[1] for tree_id, state in states.items()}, today=today
    )
    trees = []
    for root in roots:
        rows = [(n, figures.get(n.pk, EMPTY)) for n in nodes if n.tree_id == root.tree_id]
        counts = dict.fromkeys(("on_track", "at_risk", "off_track", NO_DATA), 0)
        for _node, found in rows:
            counts[found.status if found.status in counts else NO_DATA] += 1
        trees.append(TreeStatus(root, rows, counts))
    spans = tree_windows((n.pk, n.parent_id, n.start_date, n.deadline) for n in nodes)
    missing = missing_in_window(nodes, window=window, today=today, fiscal_start_month=fiscal, spans=spans)
    noted = noted_actuals(nodes, window, fiscal_start_month=fiscal)
    pairs = indicator_pairs(nodes)
    watched = pairs_to_watch(pairs, figures, limit=pair_limit)
    series = series_of([node.pk for pair in watched for node in (pair.driver, pair.result)]) if watched else {}
    return ManagerDashboard(
        trees=trees,
        missing=missing_by_owner(missing),
        unexplained=off_track_without_note(nodes, figures, noted),
        pairs=[_pair_series(p, series, window, today) for p in watched],
        pair_count=len(pairs),
        stale=any(state[0] for state in states.values()),
        failures=tuple(goals_selectors.rollup_failures(organisation.pk, tree_ids)),
    )

"""The member's dashboard: my KPIs over the window, what I still have to enter, my attainment
month by month and — when the organisation allows — the team's."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from dashboards.selectors import (
    MissingEntry,
    chart_range,
    missing_in_window,
    overall_score,
    personal_nodes,
    trees_node_windows,
    trees_stale,
)
from dashboards.stored import SeriesPoint, nodes_window_figures, series_of, series_points
from dashboards.windows import MONTH, Window
from goals.models import Node
from goals.periods import add_months, period_end, period_starts
from goals.rollup.document import NO_DATA, NodeFigures


@dataclass(frozen=True)
class KpiCard:
    """One of my KPIs over the window, with its last periods for the sparkline."""

    node: Node
    root: Node
    figures: NodeFigures
    recent: list[SeriesPoint]
    owned: bool  # False: I enter it as a reporter

    @property
    def recent_rows(self) -> list[tuple[date, float | None, float | None]]:
        """(period, actual, target) of the last periods, as the sparkline's text lists them."""
        return [(p.period, p.actual, p.target) for p in self.recent]

    @property
    def bar(self) -> float:
        """The progress bar's filled share, 0–100 (the number itself is shown beside it)."""
        if self.figures.attainment is None:
            return 0.0
        return max(0.0, min(100.0, self.figures.attainment))


@dataclass(frozen=True)
class HistoryRow:
    period: date
    cells: list[NodeFigures]  # one per KPI, in the order of the cards
    score: float | None


@dataclass(frozen=True)
class TeamRow:
    user: object
    kpis: int
    counts: dict[str, int]
    score: float | None


@dataclass(frozen=True)
class MemberDashboard:
    cards: list[KpiCard]
    to_enter: list[MissingEntry]
    history: list[HistoryRow]
    score: float | None  # over the window
    team: list[TeamRow] | None  # None: the organisation keeps personal attainment private
    stale: bool

    @property
    def history_by_kpi(self) -> list[tuple[KpiCard, list[NodeFigures]]]:
        """The history turned round: each KPI with its figures month by month."""
        return [(card, [row.cells[index] for row in self.history]) for index, card in enumerate(self.cards)]


SPARKLINE_PERIODS = 12


def history_months(window: Window, *, months: int = 12) -> list[Window]:
    """The month windows of the attainment history: ``months`` up to the end of the window
    (or the whole window when longer, at most two years) (pure)."""
    first, last = chart_range(window, months=months)
    first = max(first, add_months(last, -23))
    return [
        Window(MONTH, month, period_end(month, "monthly"), window.fiscal_start_month)
        for month in period_starts(first, last, "monthly")
    ]


def member_dashboard(membership, *, user, window: Window, today: date, show_team: bool) -> MemberDashboard:
    """The caller's KPIs over ``window``, what they still have to enter, their attainment per
    month, and — when ``show_team`` — everyone's score, in a fixed number of queries."""
    organisation = membership.organisation
    fiscal = organisation.fiscal_year_start_month
    user_id = membership.user_id
    people = {user_id: user}
    if show_team:
        for member in organisation.memberships.filter(role="member").exclude(user_id=user_id).select_related("user"):
            people[member.user_id] = member.user
    kpis = personal_nodes(organisation.pk, list(people))
    mine = kpis[user_id]
    everyone = {n.pk: n for nodes in kpis.values() for n in nodes}
    tree_ids = sorted({n.tree_id for n in everyone.values()})
    roots = {
        root.tree_id: root
        for root in Node.objects.filter(organisation_id=organisation.pk, level=0, tree_id__in=tree_ids)
    }
    for root in roots.values():
        root.organisation = organisation  # the engine reads the fiscal year from it
    months = history_months(window)
    series = series_of(list(everyone))
    figures = nodes_window_figures(mine, [window, *months], series=series, roots=roots, today=today)
    cards = []
    for node in mine:
        last = min(window.last, today)
        points = series_points(series.get(node.pk), first=date.min, last=last)[-SPARKLINE_PERIODS:]
        cards.append(KpiCard(node, roots[node.tree_id], figures[node.pk][0], points, node.owner_id == user_id))
    history = []
    for index, month in enumerate(months, start=1):
        cells = [figures[node.pk][index] for node in mine]
        history.append(HistoryRow(month.first, cells, overall_score([c.attainment for c in cells])))
    spans = trees_node_windows(organisation.pk, tree_ids) if mine else {}
    to_enter = missing_in_window(mine, window=window, today=today, fiscal_start_month=fiscal, spans=spans)
    team = None
    if show_team:
        others = [n for n in everyone.values() if n.pk not in {m.pk for m in mine}]
        team_figures = {pk: row[0] for pk, row in figures.items()}
        team_figures.update(
            {
                pk: row[0]
                for pk, row in nodes_window_figures(others, [window], series=series, roots=roots, today=today).items()
            }
        )
        team = []
        for person_id, person in people.items():
            found = [team_figures[n.pk] for n in kpis[person_id]]
            counts = dict.fromkeys(("on_track", "at_risk", "off_track", NO_DATA), 0)
            for f in found:
                counts[f.status if f.status in counts else NO_DATA] += 1
            team.append(TeamRow(person, len(found), counts, overall_score([f.attainment for f in found])))
        team.sort(key=lambda row: (row.user.get_full_name() or row.user.username).lower())
    return MemberDashboard(
        cards=cards,
        to_enter=to_enter,
        history=history,
        score=overall_score([card.figures.attainment for card in cards]),
        team=team,
        stale=trees_stale(organisation.pk, tree_ids) if tree_ids else False,
    )

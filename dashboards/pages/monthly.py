"""The monthly report of a tree (the seeds' monthly report / goal sheet): the KGI against its
target in the month and to date, the status of every node, and the items off track or at risk
with the notes entered on their actuals — "each miss needs a cause and a next action".

Read from the stored rollup (dashboards.selectors), drawn by dashboards.figures; the view only
renders what :func:`monthly_report` returns. A fixed number of queries, whatever the tree's size.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime

from django.utils.translation import gettext

from dashboards import figures
from dashboards.pages.executive import why
from dashboards.pages.meeting import Minutes, month_minutes
from dashboards.pages.node import NodeChart, chart_label, node_chart
from dashboards.selectors import ActualNote, Freshness, needs_actuals, tree_freshness, window_notes
from dashboards.stored import nodes_window_figures, tree_series, tree_window_figures
from dashboards.windows import Window, fytd_window
from goals import selectors as goals_selectors
from goals.access import attainment_hidden_owners, attainment_visible
from goals.models import Kind, Membership, Node
from goals.rollup.document import EMPTY, NodeFigures
from goals.selectors import reported_by
from goals.templatetags.kpitree import gap_words

ATTENTION = ("off_track", "at_risk")


@dataclass(frozen=True)
class ReportRow:
    node: Node
    figures: NodeFigures
    visible: bool  # False: another team member's personal KPI the reader may not see
    gap_text: str


@dataclass(frozen=True)
class AttentionItem:
    """A node off track or at risk in the month, with what was said about it."""

    row: ReportRow
    why: str  # the numbers and the rule that decided the status
    notes: list[ActualNote]
    entered_by_hand: bool  # its own actuals carry the notes; a computed node's are below it

    @property
    def needs_note(self) -> bool:
        return self.entered_by_hand and not self.notes


@dataclass(frozen=True)
class MonthlyReport:
    root: Node
    month: Window
    to_date: Window  # the fiscal year up to the end of the month
    generated_at: datetime
    freshness: Freshness
    kgi: NodeFigures  # the month
    kgi_to_date: NodeFigures
    kgi_gap_text: str
    kgi_to_date_gap_text: str
    kgi_chart: NodeChart | None
    rows: list[ReportRow]
    hidden: int  # rows whose figures the reader may not see
    counts: dict[str, int]
    counts_figure: dict
    attention: list[AttentionItem]
    minutes: Minutes  # the month's reviews and actions (the meeting page's minutes)

    @property
    def unexplained(self) -> int:
        return sum(1 for item in self.attention if item.needs_note)


def monthly_report(root: Node, month: Window, *, membership: Membership, today: date, now: datetime) -> MonthlyReport:
    """The report of ``root``'s tree for ``month`` as ``membership`` may read it."""
    root.organisation = membership.organisation  # the engine reads the fiscal year from it
    fiscal = membership.organisation.fiscal_year_start_month
    # An archived tree is listed as it was (its stored figures went with it).
    nodes = goals_selectors.tree_nodes(root, include_archived=root.is_archived)
    series = tree_series(root)
    by_node = tree_window_figures(root, month, series=series, today=today)
    to_date = fytd_window(month.first, fiscal_start_month=fiscal)
    kgi_to_date = nodes_window_figures([root], [to_date], series=series, roots={root.tree_id: root}, today=today)[
        root.pk
    ][0]

    hidden_owners = attainment_hidden_owners(membership)
    reported = reported_by(membership.user_id, [n.pk for n in nodes]) if hidden_owners else frozenset()
    rows = []
    for node in nodes:
        visible = attainment_visible(membership, node, hidden_owners=hidden_owners, reports=node.pk in reported)
        found = by_node.get(node.pk, EMPTY) if visible else EMPTY
        rows.append(ReportRow(node, found, visible, gap_words(found.gap, node) if visible else ""))
    shown = [row for row in rows if row.visible]
    counted = Counter(row.figures.status if row.figures.status in figures.STATUS_ORDER else "no_data" for row in shown)
    counts = {status: counted.get(status, 0) for status in figures.STATUS_ORDER}
    counts_figure = figures.for_paper(
        figures.status_counts_chart(counts, title=gettext("Nodes by status, %(month)s") % {"month": month.label})
    )

    notes = window_notes(root, month)
    attention = [
        AttentionItem(
            row=row,
            why=why(row.node, row.figures),
            notes=notes.get(row.node.pk, []),
            entered_by_hand=needs_actuals(row.node) and row.node.kind != Kind.KSF,
        )
        for row in shown
        if row.figures.status in ATTENTION
    ]
    attention.sort(key=lambda item: (ATTENTION.index(item.row.figures.status), item.row.node.lft))

    kgi = rows[0].figures if rows and rows[0].node.pk == root.pk else EMPTY
    kgi_visible = bool(rows) and rows[0].visible
    kgi_chart = None
    if kgi_visible:
        kgi_chart = node_chart(
            root,
            series.get(root.pk),
            title=chart_label(root),
            window=month,
            width=figures.PAPER_WIDTH,
            height=250,
        )
    return MonthlyReport(
        root=root,
        month=month,
        to_date=to_date,
        generated_at=now,
        freshness=tree_freshness(root, today=today, nodes=nodes, fiscal_start_month=fiscal),
        kgi=kgi,
        kgi_to_date=kgi_to_date if kgi_visible else EMPTY,
        kgi_gap_text=gap_words(kgi.gap, root),
        kgi_to_date_gap_text=gap_words(kgi_to_date.gap, root) if kgi_visible else "—",
        kgi_chart=kgi_chart,
        rows=rows,
        hidden=len(rows) - len(shown),
        counts=counts,
        counts_figure=counts_figure,
        attention=attention,
        minutes=month_minutes([row.node for row in shown], month),
    )

"""The pure rules of reviews and actions (issue 11): the reviewed window, the cause rule, the
bottleneck proposal and an action's slippage. No ORM: pdca.services reads the rows and the
stored rollup and calls these."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict
from datetime import date

from django.utils.translation import gettext as _

from goals.periods import add_months, period_end, period_start
from goals.rollup.document import NodeFigures

MISSED = ("at_risk", "off_track")
# A yearly or quarterly KPI is reviewed per quarter; every other one per month.
QUARTER_REVIEWED = ("quarterly", "yearly")


def review_window(day: date, frequency: str, fiscal_start_month: int) -> tuple[date, date]:
    """The first and last day of the window a review of ``day`` covers: its month, or its fiscal
    quarter for a quarterly or yearly KPI."""
    if frequency in QUARTER_REVIEWED:
        first = period_start(day, "quarterly", fiscal_start_month)
        return first, period_end(first, "quarterly")
    first = day.replace(day=1)
    return first, period_end(first, "monthly")


def last_complete_month(today: date) -> date:
    """The first day of the month before ``today``'s: what a review is written about by default."""
    return add_months(today.replace(day=1), -1)


def frozen_figures(figures: NodeFigures, as_of: str | None) -> dict:
    """The figures a review keeps (JSON-ready): the stored entry and the day it was computed."""
    kept = asdict(figures)
    kept.pop("period", None)
    kept["as_of"] = as_of
    return kept


def cause_errors(*, status: str, cause: str) -> list[str]:
    """A miss (at risk or off track) needs a cause; a period on track or without data has none
    to explain, so a cause is refused there (it would be counted as a miss in the reports)."""
    if status in MISSED and not cause:
        return [_("Say why the target was missed: choose a cause.")]
    if status not in MISSED and cause:
        return [_("A cause is given only for a period at risk or off track.")]
    return []


def bottleneck_errors(*, cause: str, bottleneck_id: int | None, input_ids: Iterable[int]) -> list[str]:
    """A bottleneck is one of the node's inputs, and only for an execution shortfall."""
    if bottleneck_id is None:
        return []
    if cause != "execution_shortfall":
        return [_("A bottleneck is named only when execution fell short.")]
    if bottleneck_id not in set(input_ids):
        return [_("Choose the bottleneck among the inputs of this node.")]
    return []


def proposed_bottleneck(attainments: Iterable[tuple[int, float | None]]) -> int | None:
    """The input that missed most: the lowest attainment among the inputs with data (the first
    one listed on a tie); None when no input has data."""
    best: tuple[float, int] | None = None
    for node_id, attainment in attainments:
        if attainment is None:
            continue
        if best is None or attainment < best[0]:
            best = (attainment, node_id)
    return None if best is None else best[1]


def slippage_days(*, due_date: date, original_due_date: date, finished_on: date | None, today: date) -> int:
    """How many days the action is behind its first due date: moved later (due date minus first
    due date), and late when still open past its due date (or finished after it). Zero when on
    time; never negative."""
    moved = (due_date - original_due_date).days
    end = finished_on or today
    late = (end - due_date).days
    return max(0, moved + max(0, late))

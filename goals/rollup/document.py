"""The stored rollup document of a node (docs/rollup.md, "Stored results"): its format and the
one way to read it.

A document holds column arrays, one entry per period of the node (``period``: ISO first days,
oldest first) and the same columns for each fiscal quarter (``quarter``) and fiscal year to date
(``year``), the day it was computed (``as_of``) and, for a node in error, why (``error``). The
engine (engine.py) and the columnar rebuild (columns.py) write it; storage.py stores it; every
reader — the API's progress, "My KPIs", the dashboards (dashboards/stored.py) — reads it through
the functions below, so the format is written out here only. Pure: no ORM.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import orjson

from goals.periods import period_end

NO_DATA = "no_data"
# Each entry's columns, in the order a document lists them after ``period``.
COLUMNS = ("actual", "target", "low", "high", "attainment", "gap", "status", "missing", "reason")
# The windows a document keeps besides the node's own periods, and the frequency of each.
WINDOWS = {"quarter": "quarterly", "year": "yearly"}

# Status codes are the severities of the engine (no data −1, on track 0, at risk 1, off track 2).
STATUS_NAMES = {-1: NO_DATA, 0: "on_track", 1: "at_risk", 2: "off_track"}
STATUS_CODES = {name: code for code, name in STATUS_NAMES.items()}
# The code of the rule that decided an entry; the columnar rebuild stores each as its index.
REASON_CODES = (
    "actual",
    "no_actual",
    "no_number",
    "no_inputs",
    "combined",
    "zero_weights",
    "formula",
    "formula_missing",
    "formula_error",
    "division_by_zero",
    "thresholds",
    "in_range",
    "out_of_range",
    "no_target",
    "no_child_data",
    "worst_of_children",
    "weighted_children",
    "overflow",
    "window_unsupported",
    "node_error",
    "input_in_error",
    "not_due",
    "formula_waiting",
    "inputs_missing",
)
REASON_INDEX = {code: index for index, code in enumerate(REASON_CODES)}


@dataclass(frozen=True)
class NodeFigures:
    """A node's rollup over one window: one entry of a document's columns (unrounded)."""

    actual: float | None = None
    target: float | None = None
    low: float | None = None
    high: float | None = None
    attainment: float | None = None
    gap: float | None = None
    status: str = NO_DATA
    missing: int = 0
    reason: str = ""  # the code of the rule that decided (REASON_CODES)
    period: date | None = None  # the first day of the stored period or window read


EMPTY = NodeFigures()
# A node in a window shorter than its period (a quarterly KPI in November): what the engine
# answers (goals.periods.window_is_shorter), so a page reading documents says the same.
NOT_DUE = NodeFigures(reason="not_due")


# --- encoding ------------------------------------------------------------------------------


def encode(document: Mapping) -> str:
    """A document as JSON text. orjson writes a NaN or an infinity that slipped through as null:
    JSON has neither."""
    return orjson.dumps(document).decode()


def decode(text: str | bytes) -> dict:
    return orjson.loads(text)


# --- reading -------------------------------------------------------------------------------


def computed_on(document: Mapping) -> str | None:
    """The day the document was computed (ISO), or None."""
    return document.get("as_of")


def window_columns(document: Mapping, window: str) -> Mapping:
    """The columns of the node's own periods (``"period"``) or of a stored window."""
    return document if window == "period" else document[window]


def column(document: Mapping, name: str) -> list:
    """One column of the node's own periods (``period`` for their first days), [] if absent."""
    return document.get(name, [])


def figures_at(columns: Mapping, index: int) -> NodeFigures:
    """Entry ``index`` of a stored set of columns (the top level, ``quarter`` or ``year``)."""
    value = [columns[name][index] if name in columns else None for name in COLUMNS]
    return NodeFigures(
        *value[:6],
        status=value[6] or NO_DATA,
        missing=value[7] or 0,
        reason=value[8] or "",
        period=_day(columns["period"][index]),
    )


@lru_cache(maxsize=4096)
def _day(text: str) -> date:
    return date.fromisoformat(text)


def period_index(periods: Sequence[str], day: date, frequency: str) -> int | None:
    """The index of the stored period (ISO first days, oldest first) that contains ``day``."""
    position = bisect_right(periods, day.isoformat()) - 1
    if position < 0:
        return None
    if day > period_end(date.fromisoformat(periods[position]), frequency):
        return None
    return position


def period_figures(document: Mapping, day: date, frequency: str) -> NodeFigures:
    """The node's own period that contains ``day``; EMPTY if none is stored."""
    index = period_index(document.get("period", []), day, frequency)
    return EMPTY if index is None else figures_at(document, index)


def window_figures(document: Mapping, window: str, first: date) -> NodeFigures:
    """The stored ``window`` (``quarter`` or ``year``) that starts on ``first``; EMPTY if none."""
    columns = document.get(window) or {}
    try:
        index = columns.get("period", []).index(first.isoformat())
    except ValueError:
        return EMPTY
    return figures_at(columns, index)


def year_to_date_stale(document: Mapping | None, first: date, last: date) -> bool:
    """The stored fiscal year is "to date" of ``as_of``: it answers a year to date that ends in
    ``as_of``'s month or later (a past year was stored whole), not one that ends before it."""
    if not document or "as_of" not in document:
        return False
    return _ends_before(first, last, document["as_of"])


@lru_cache(maxsize=256)
def _ends_before(first: date, last: date, as_of: str) -> bool:
    return last < date.fromisoformat(as_of) and last < period_end(first, "yearly")


def status_at(document: Mapping, period: date) -> tuple[str, float | None]:
    """(status, attainment) of the node's own period that starts on ``period``."""
    try:
        index = document.get("period", []).index(period.isoformat())
    except ValueError:
        return NO_DATA, None
    return document["status"][index], document["attainment"][index]


def entries(document: Mapping, *, first: date = date.min, last: date = date.max) -> list[NodeFigures]:
    """The node's own periods that start from ``first`` to ``last``, oldest first."""
    return [
        figures_at(document, index)
        for index, text in enumerate(document.get("period", []))
        if first <= _day(text) <= last
    ]

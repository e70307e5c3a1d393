"""Reporting periods as pure functions of dates (no clock, no ORM)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from django.utils.formats import date_format
from django.utils.translation import gettext as _

# The dates kpitree accepts anywhere (node windows, actuals, query parameters). Wide enough for any
# real plan and its history, narrow enough that a period's end, a fiscal year or a range of
# periods can always be computed (9999-12-31 has no next month) and a window stays small.
EARLIEST_DATE = date(1990, 1, 1)
LATEST_DATE = date(2100, 12, 31)

# The most periods one node's window (start … deadline) may hold at its frequency: 50 years of
# months or quarters, about ten years of weeks, about three years of days.
MAX_WINDOW_PERIODS = {"daily": 1_100, "weekly": 530, "monthly": 600, "quarterly": 200, "yearly": 50}


def is_supported_date(day: date) -> bool:
    return EARLIEST_DATE <= day <= LATEST_DATE


def months_between(start: date, end: date) -> int:
    return (end.year - start.year) * 12 + (end.month - start.month)


def period_count(start: date, end: date, frequency: str) -> int:
    """How many measurement periods of ``frequency`` fit from ``start`` to ``end`` (at least 1)."""
    if end < start:
        return 0
    days = (end - start).days + 1
    # Years are counted in months from the start month, as quarters are, not by calendar year:
    # a fiscal year from April to March is one yearly period, not two.
    count = {
        "daily": days,
        "weekly": -(-days // 7),
        "monthly": months_between(start, end) + 1,
        "quarterly": months_between(start, end) // 3 + 1,
        "yearly": months_between(start, end) // 12 + 1,
    }[frequency]
    return max(count, 1)


def fiscal_year_bounds(day: date, first_month: int) -> tuple[date, date]:
    """First and last day of the fiscal year containing ``day`` (fiscal years start on the 1st)."""
    start_year = day.year if day.month >= first_month else day.year - 1
    start = date(start_year, first_month, 1)
    end_year, end_month = (start_year + 1, first_month - 1) if first_month > 1 else (start_year, 12)
    next_month_first = date(end_year + (end_month == 12), end_month % 12 + 1, 1)
    return start, date.fromordinal(next_month_first.toordinal() - 1)


def add_months(day: date, months: int) -> date:
    """The first of the month ``months`` after ``day``'s month."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def period_start(day: date, frequency: str, fiscal_start_month: int = 1) -> date:
    """The first day of the period of ``frequency`` that contains ``day``.

    Weeks are ISO weeks (Monday first); quarters and years follow the fiscal year.
    """
    if frequency == "daily":
        return day
    if frequency == "weekly":
        return date.fromordinal(day.toordinal() - day.weekday())
    if frequency == "monthly":
        return day.replace(day=1)
    fiscal_start, _ = fiscal_year_bounds(day, fiscal_start_month)
    if frequency == "quarterly":
        return add_months(fiscal_start, months_between(fiscal_start, day) // 3 * 3)
    if frequency == "yearly":
        return fiscal_start
    raise ValueError(f"unknown frequency {frequency!r}")


def next_period_start(start: date, frequency: str) -> date:
    if frequency == "daily":
        return date.fromordinal(start.toordinal() + 1)
    if frequency == "weekly":
        return date.fromordinal(start.toordinal() + 7)
    return add_months(start, {"monthly": 1, "quarterly": 3, "yearly": 12}[frequency])


def period_anchor(start: date, frequency: str) -> date:
    """The day that decides which window (month, quarter, year, any range) the period starting on
    ``start`` belongs to: a week belongs to the month, quarter and year that hold its Thursday
    (ISO 8601's rule for years), every other period to the one that holds its first day. One rule
    for the engines, the progress API, the dashboards and month locks, so a week that straddles
    two months is counted once: 26 October … 1 November 2026 is October's, 30 November …
    6 December is December's."""
    if frequency == "weekly":
        return start + timedelta(days=3)  # weeks start on Monday
    return start


def window_is_shorter(first: date, last: date, frequency: str) -> bool:
    """Whether the window ``first``..``last`` is shorter than a period of ``frequency``: a
    quarterly KPI in a month, a yearly one in a quarter, a monthly one in a week. The node is then
    "not due in this window": no value, no status, and its parent leaves it out."""
    return last < period_end(first, frequency)


def period_is_open(start: date, frequency: str, as_of: date) -> bool:
    """Whether the period starting on ``start`` is still in progress on ``as_of`` (today inside
    it). An open period without a value yet is left out of "to date" (its target and actual) and
    is not missing until it has ended: on 1 December the October–December quarter is judged on
    October and November."""
    return start <= as_of <= period_end(start, frequency)


def period_end(start: date, frequency: str) -> date:
    """The last day (inclusive) of the period that starts on ``start``."""
    return date.fromordinal(next_period_start(start, frequency).toordinal() - 1)


def period_starts(first: date, last: date, frequency: str, fiscal_start_month: int = 1) -> list[date]:
    """Starts of every period of ``frequency`` that overlaps ``first``..``last`` (inclusive)."""
    if last < first:
        return []
    starts = []
    current = period_start(first, frequency, fiscal_start_month)
    while current <= last:
        starts.append(current)
        current = next_period_start(current, frequency)
    return starts


def window_fits(start: date | None, end: date | None, frequency: str) -> bool:
    """Whether a node's window can be computed: every date it has is supported and, with both
    ends, it holds at most ``MAX_WINDOW_PERIODS`` periods of ``frequency``. One rule for SMART
    (which refuses such a window) and the rollup (which reports a node that has one, written
    before the rule, as an error instead of failing the tree)."""
    if any(day is not None and not is_supported_date(day) for day in (start, end)):
        return False
    if start is None or end is None:
        return True
    return period_count(start, end, frequency) <= MAX_WINDOW_PERIODS[frequency]


def periods_back(last: date, frequency: str, count: int, fiscal_start_month: int = 1) -> date:
    """The start of the period ``count - 1`` periods before the one containing ``last``: the first
    day of a range of ``count`` periods that ends with ``last``'s."""
    end_start = period_start(last, frequency, fiscal_start_month)
    if frequency == "daily":
        return end_start - timedelta(days=count - 1)
    if frequency == "weekly":
        return end_start - timedelta(weeks=count - 1)
    return add_months(end_start, -(count - 1) * {"monthly": 1, "quarterly": 3, "yearly": 12}[frequency])


def window_errors(*, period: date, frequency: str, start: date | None, deadline: date | None) -> list[str]:
    """Why the period starting on ``period`` is outside the window ``start``..``deadline``, if it is."""
    if start and period_end(period, frequency) < start:
        return [_("The period is before the KPI starts (%(date)s).") % {"date": start}]
    if deadline and period > deadline:
        return [_("The period is after the KPI's deadline (%(date)s).") % {"date": deadline}]
    return []


def period_label(start: date, frequency: str) -> str:
    """How a period reads everywhere — forms, messages, tables: "November 2026", "Week of Nov. 16,
    2026", "April 2026 – June 2026", "Year from April 2026"; a day by its date."""
    if frequency == "monthly":
        return date_format(start, "YEAR_MONTH_FORMAT")
    if frequency == "weekly":
        return _("Week of %(date)s") % {"date": date_format(start, "DATE_FORMAT")}
    if frequency == "quarterly":
        return _("%(first)s – %(last)s") % {
            "first": date_format(start, "YEAR_MONTH_FORMAT"),
            "last": date_format(add_months(start, 2), "YEAR_MONTH_FORMAT"),
        }
    if frequency == "yearly":
        return _("Year from %(month)s") % {"month": date_format(start, "YEAR_MONTH_FORMAT")}
    return date_format(start, "DATE_FORMAT")


def month_label(month: date) -> str:
    """A month as the lock pages and messages name it: "November 2026"."""
    return period_label(month, "monthly")


# --- a node's window ---------------------------------------------------------------------------

NodeWindow = tuple[date | None, date | None]  # (start, deadline)


def inherited_window(start: date | None, deadline: date | None, above: NodeWindow) -> NodeWindow:
    """A node without a start date or a deadline takes its nearest dated ancestor's (``above``:
    its parent's window, itself inherited). The one rule the rollup, SMART and every page use."""
    return (start or above[0], deadline or above[1])


def tree_windows(rows: Iterable[tuple[int, int | None, date | None, date | None]]) -> dict[int, NodeWindow]:
    """Each node's window from rows (id, parent id, start, deadline) in tree order, parents first."""
    windows: dict[int, NodeWindow] = {}
    for node_id, parent_id, start, deadline in rows:
        windows[node_id] = inherited_window(start, deadline, windows.get(parent_id, (None, None)))
    return windows

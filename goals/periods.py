"""Reporting periods as pure functions of dates (no clock, no ORM)."""

from __future__ import annotations

from datetime import date


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

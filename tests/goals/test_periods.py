"""Reporting periods (goals/periods.py): pure functions of fixed dates."""

from __future__ import annotations

from datetime import date

import pytest

from goals.periods import fiscal_year_bounds, months_between, period_count

FY_START, FY_END = date(2026, 4, 1), date(2027, 3, 31)


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (date(2026, 4, 1), date(2026, 4, 30), 0),
        (date(2026, 4, 30), date(2026, 5, 1), 1),
        (FY_START, FY_END, 11),
        (date(2026, 12, 1), date(2027, 1, 1), 1),
        (date(2027, 1, 1), date(2026, 12, 1), -1),
    ],
)
def test_months_between(start, end, expected):
    assert months_between(start, end) == expected


@pytest.mark.parametrize(
    ("start", "end", "frequency", "expected"),
    [
        # A fiscal year from April to March.
        (FY_START, FY_END, "daily", 365),
        (FY_START, FY_END, "weekly", 53),
        (FY_START, FY_END, "monthly", 12),
        (FY_START, FY_END, "quarterly", 4),
        (FY_START, FY_END, "yearly", 1),
        # A calendar year, and a leap one.
        (date(2026, 1, 1), date(2026, 12, 31), "yearly", 1),
        (date(2028, 1, 1), date(2028, 12, 31), "daily", 366),
        (date(2028, 2, 1), date(2028, 2, 29), "daily", 29),
        (date(2027, 2, 1), date(2027, 2, 28), "monthly", 1),
        # Two fiscal years.
        (FY_START, date(2028, 3, 31), "yearly", 2),
        (FY_START, date(2028, 3, 31), "quarterly", 8),
        # One day is one period of any length.
        (FY_START, FY_START, "daily", 1),
        (FY_START, FY_START, "weekly", 1),
        (FY_START, FY_START, "monthly", 1),
        (FY_START, FY_START, "quarterly", 1),
        (FY_START, FY_START, "yearly", 1),
        # Weeks are rounded up: 7 days are one week, 8 days two.
        (date(2026, 4, 1), date(2026, 4, 7), "weekly", 1),
        (date(2026, 4, 1), date(2026, 4, 8), "weekly", 2),
        # Months count the calendar months touched.
        (date(2026, 4, 30), date(2026, 5, 1), "monthly", 2),
        (date(2026, 4, 1), date(2026, 6, 30), "quarterly", 1),
        (date(2026, 4, 1), date(2026, 7, 1), "quarterly", 2),
        (date(2026, 12, 1), date(2027, 1, 31), "monthly", 2),
        # An end before the start has no periods.
        (FY_END, FY_START, "monthly", 0),
        (date(2026, 4, 2), date(2026, 4, 1), "daily", 0),
    ],
)
def test_period_count(start, end, frequency, expected):
    assert period_count(start, end, frequency) == expected


def test_period_count_rejects_an_unknown_frequency():
    with pytest.raises(KeyError):
        period_count(FY_START, FY_END, "fortnightly")


@pytest.mark.parametrize(
    ("day", "first_month", "expected"),
    [
        # April start (most Japanese companies).
        (date(2026, 4, 1), 4, (date(2026, 4, 1), date(2027, 3, 31))),
        (date(2026, 10, 15), 4, (date(2026, 4, 1), date(2027, 3, 31))),
        (date(2027, 3, 31), 4, (date(2026, 4, 1), date(2027, 3, 31))),
        # A day in March belongs to the fiscal year that started the previous April.
        (date(2026, 3, 15), 4, (date(2025, 4, 1), date(2026, 3, 31))),
        (date(2026, 1, 1), 4, (date(2025, 4, 1), date(2026, 3, 31))),
        # January start: the calendar year.
        (date(2026, 1, 1), 1, (date(2026, 1, 1), date(2026, 12, 31))),
        (date(2026, 7, 4), 1, (date(2026, 1, 1), date(2026, 12, 31))),
        (date(2026, 12, 31), 1, (date(2026, 1, 1), date(2026, 12, 31))),
        # March start ends on the last day of February: the 29th in leap years.
        (date(2027, 6, 1), 3, (date(2027, 3, 1), date(2028, 2, 29))),
        (date(2028, 2, 29), 3, (date(2027, 3, 1), date(2028, 2, 29))),
        (date(2026, 6, 1), 3, (date(2026, 3, 1), date(2027, 2, 28))),
        (date(2024, 2, 29), 3, (date(2023, 3, 1), date(2024, 2, 29))),
        # Other starts, including December (ends in November).
        (date(2026, 9, 30), 10, (date(2025, 10, 1), date(2026, 9, 30))),
        (date(2026, 10, 1), 10, (date(2026, 10, 1), date(2027, 9, 30))),
        (date(2026, 12, 1), 12, (date(2026, 12, 1), date(2027, 11, 30))),
        (date(2026, 11, 30), 12, (date(2025, 12, 1), date(2026, 11, 30))),
        (date(2026, 2, 1), 2, (date(2026, 2, 1), date(2027, 1, 31))),
    ],
)
def test_fiscal_year_bounds(day, first_month, expected):
    assert fiscal_year_bounds(day, first_month) == expected


@pytest.mark.parametrize("first_month", range(1, 13))
def test_fiscal_years_are_twelve_months_and_contiguous(first_month):
    start, end = fiscal_year_bounds(date(2027, 8, 15), first_month)
    next_start, _ = fiscal_year_bounds(date.fromordinal(end.toordinal() + 1), first_month)

    assert start <= date(2027, 8, 15) <= end
    assert start.day == 1 and start.month == first_month
    assert period_count(start, end, "monthly") == 12
    assert period_count(start, end, "yearly") == 1
    assert next_start.toordinal() == end.toordinal() + 1

"""Reporting periods (goals/periods.py): pure functions of fixed dates."""

from __future__ import annotations

from datetime import date

import pytest
from django.utils import translation

from goals.periods import (
    add_months,
    fiscal_year_bounds,
    month_label,
    months_between,
    next_period_start,
    period_count,
    period_end,
    period_label,
    period_start,
    period_starts,
    periods_back,
    window_errors,
    window_fits,
)

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


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2026, 4, 1), 1, date(2026, 5, 1)),
        # The day of the month is dropped: always the first of the month.
        (date(2026, 1, 31), 1, date(2026, 2, 1)),
        (date(2026, 4, 15), 0, date(2026, 4, 1)),
        # Across year ends, both ways.
        (date(2026, 11, 1), 3, date(2027, 2, 1)),
        (date(2026, 4, 1), 12, date(2027, 4, 1)),
        (date(2026, 1, 1), -1, date(2025, 12, 1)),
        (date(2026, 3, 31), -15, date(2024, 12, 1)),
        (date(2028, 2, 29), 24, date(2030, 2, 1)),
    ],
)
def test_add_months(day, months, expected):
    assert add_months(day, months) == expected


@pytest.mark.parametrize(
    ("day", "frequency", "first_month", "expected"),
    [
        ("2026-06-17", "daily", 4, "2026-06-17"),
        # ISO weeks start on Monday, whatever the fiscal year; 2026-06-17 is a Wednesday.
        ("2026-06-17", "weekly", 4, "2026-06-15"),
        ("2026-06-15", "weekly", 4, "2026-06-15"),
        ("2026-06-21", "weekly", 4, "2026-06-15"),
        # A week crosses the year end: 2027-01-01 is a Friday, its week started on 2026-12-28.
        ("2027-01-01", "weekly", 1, "2026-12-28"),
        ("2026-06-17", "monthly", 4, "2026-06-01"),
        ("2028-02-29", "monthly", 4, "2028-02-01"),
        # Fiscal quarters from April: Apr–Jun, Jul–Sep, Oct–Dec, Jan–Mar.
        ("2026-04-01", "quarterly", 4, "2026-04-01"),
        ("2026-06-30", "quarterly", 4, "2026-04-01"),
        ("2026-07-01", "quarterly", 4, "2026-07-01"),
        ("2026-12-31", "quarterly", 4, "2026-10-01"),
        ("2027-02-14", "quarterly", 4, "2027-01-01"),
        ("2027-03-31", "quarterly", 4, "2027-01-01"),
        # Calendar quarters, and quarters of a fiscal year starting in February.
        ("2026-05-20", "quarterly", 1, "2026-04-01"),
        ("2026-03-31", "quarterly", 1, "2026-01-01"),
        ("2026-04-30", "quarterly", 2, "2026-02-01"),
        ("2026-05-01", "quarterly", 2, "2026-05-01"),
        ("2027-01-31", "quarterly", 2, "2026-11-01"),
        # Fiscal years.
        ("2027-03-31", "yearly", 4, "2026-04-01"),
        ("2027-04-01", "yearly", 4, "2027-04-01"),
        ("2026-12-31", "yearly", 1, "2026-01-01"),
    ],
)
def test_period_start(day, frequency, first_month, expected):
    assert period_start(date.fromisoformat(day), frequency, first_month) == date.fromisoformat(expected)


def test_period_start_rejects_an_unknown_frequency():
    with pytest.raises(ValueError, match="fortnightly"):
        period_start(FY_START, "fortnightly", 4)


@pytest.mark.parametrize(
    ("start", "frequency", "expected_end", "expected_next"),
    [
        ("2026-06-17", "daily", "2026-06-17", "2026-06-18"),
        ("2026-12-31", "daily", "2026-12-31", "2027-01-01"),
        ("2026-12-28", "weekly", "2027-01-03", "2027-01-04"),
        ("2026-04-01", "monthly", "2026-04-30", "2026-05-01"),
        ("2028-02-01", "monthly", "2028-02-29", "2028-03-01"),
        ("2027-02-01", "monthly", "2027-02-28", "2027-03-01"),
        ("2026-12-01", "monthly", "2026-12-31", "2027-01-01"),
        ("2027-01-01", "quarterly", "2027-03-31", "2027-04-01"),
        ("2026-11-01", "quarterly", "2027-01-31", "2027-02-01"),
        ("2026-04-01", "yearly", "2027-03-31", "2027-04-01"),
        ("2027-03-01", "yearly", "2028-02-29", "2028-03-01"),
    ],
)
def test_period_end_and_next_period_start(start, frequency, expected_end, expected_next):
    first = date.fromisoformat(start)

    assert period_end(first, frequency) == date.fromisoformat(expected_end)
    assert next_period_start(first, frequency) == date.fromisoformat(expected_next)


@pytest.mark.parametrize(
    ("first", "last", "frequency", "first_month", "expected"),
    [
        # Every period that overlaps the range, including one that starts before it.
        ("2026-04-15", "2026-06-10", "monthly", 4, ["2026-04-01", "2026-05-01", "2026-06-01"]),
        ("2026-05-01", "2026-08-31", "quarterly", 4, ["2026-04-01", "2026-07-01"]),
        ("2026-05-01", "2026-08-31", "quarterly", 1, ["2026-04-01", "2026-07-01"]),
        ("2027-01-01", "2027-06-30", "yearly", 4, ["2026-04-01", "2027-04-01"]),
        # 2026-04-01 is a Wednesday: its ISO week began on Monday 2026-03-30.
        ("2026-04-01", "2026-04-14", "weekly", 4, ["2026-03-30", "2026-04-06", "2026-04-13"]),
        ("2026-04-30", "2026-05-02", "daily", 4, ["2026-04-30", "2026-05-01", "2026-05-02"]),
        # One day is one period; an end before the start is none.
        ("2026-04-01", "2026-04-01", "monthly", 4, ["2026-04-01"]),
        ("2026-04-02", "2026-04-01", "daily", 4, []),
    ],
)
def test_period_starts(first, last, frequency, first_month, expected):
    starts = period_starts(date.fromisoformat(first), date.fromisoformat(last), frequency, first_month)

    assert starts == [date.fromisoformat(day) for day in expected]


@pytest.mark.parametrize(("frequency", "count"), [("daily", 365), ("monthly", 12), ("quarterly", 4), ("yearly", 1)])
def test_period_starts_tile_the_fiscal_year(frequency, count):
    """Consecutive, without gaps or overlaps: each period ends the day before the next starts."""
    starts = period_starts(FY_START, FY_END, frequency, 4)

    assert len(starts) == count
    assert starts[0] == FY_START
    assert period_end(starts[-1], frequency) == FY_END
    for start, following in zip(starts, starts[1:], strict=False):
        assert period_end(start, frequency).toordinal() + 1 == following.toordinal()
        assert period_start(period_end(start, frequency), frequency, 4) == start


@pytest.mark.parametrize(
    ("start", "end", "frequency", "expected"),
    [
        (FY_START, FY_END, "daily", True),
        (date(1990, 1, 1), date(2100, 12, 31), "yearly", False),  # 111 fiscal years > 50
        (date(1990, 1, 1), date(2039, 12, 31), "monthly", True),  # 600 months
        (date(1990, 1, 1), date(2040, 1, 1), "monthly", False),  # 601
        (date(2024, 1, 1), date(2027, 1, 4), "daily", True),  # 1,100 days
        (date(2024, 1, 1), date(2027, 1, 5), "daily", False),
        (date(1989, 12, 31), FY_END, "yearly", False),
        (FY_START, date(2101, 1, 1), "yearly", False),
        (FY_START, date(9999, 12, 31), "monthly", False),
        (date(1, 1, 1), None, "monthly", False),
        (None, date(9999, 12, 31), "monthly", False),
        (FY_START, None, "daily", True),
        (None, None, "daily", True),
        (FY_END, FY_START, "daily", True),  # backwards: SMART's T-order, not this rule
    ],
)
def test_window_fits(start, end, frequency, expected):
    assert window_fits(start, end, frequency) is expected


@pytest.mark.parametrize(
    ("last", "frequency", "count", "expected"),
    [
        ("2026-12-04", "daily", 1, "2026-12-04"),
        ("2026-12-04", "daily", 1100, "2023-12-01"),
        ("2026-12-04", "weekly", 2, "2026-11-23"),  # the Monday a week before 2026-11-30's
        ("2026-12-04", "monthly", 600, "1977-01-01"),
        ("2026-12-04", "quarterly", 4, "2026-01-01"),  # fiscal quarters from April
        ("2026-12-04", "yearly", 3, "2024-04-01"),
    ],
)
def test_periods_back_starts_a_range_of_count_periods(last, frequency, count, expected):
    first = periods_back(date.fromisoformat(last), frequency, count, 4)

    assert first == date.fromisoformat(expected)
    assert len(period_starts(first, date.fromisoformat(last), frequency, 4)) == count


@pytest.mark.parametrize(
    ("period", "frequency", "expected"),
    [
        ("2026-03-01", "monthly", ["The period is before the KPI starts (2026-04-01)."]),
        ("2026-03-30", "weekly", []),  # the week of the start overlaps the window
        ("2026-04-01", "monthly", []),
        ("2027-03-01", "monthly", []),
        ("2027-04-01", "monthly", ["The period is after the KPI's deadline (2027-03-31)."]),
    ],
)
def test_window_errors(period, frequency, expected):
    errors = window_errors(period=date.fromisoformat(period), frequency=frequency, start=FY_START, deadline=FY_END)

    assert errors == expected


def test_window_errors_without_a_window():
    assert window_errors(period=date(1990, 1, 1), frequency="daily", start=None, deadline=None) == []


@pytest.mark.parametrize(
    ("start", "frequency", "english", "japanese"),
    [
        (date(2026, 11, 1), "monthly", "November 2026", "2026年11月"),
        (date(2026, 11, 16), "weekly", "Week of Nov. 16, 2026", "2026年11月16日 の週"),
        (date(2026, 10, 1), "quarterly", "October 2026 – December 2026", "2026年10月〜2026年12月"),
        (date(2026, 4, 1), "yearly", "Year from April 2026", "2026年4月 からの1年間"),
        (date(2026, 11, 3), "daily", "Nov. 3, 2026", "2026年11月3日"),
    ],
)
def test_period_label(start, frequency, english, japanese):
    # One wording for a period everywhere: the actuals form, the lock page and their messages.
    with translation.override("en"):
        assert period_label(start, frequency) == english
    with translation.override("ja"):
        assert period_label(start, frequency) == japanese


def test_a_month_reads_as_the_monthly_period():
    assert month_label(date(2026, 11, 1)) == period_label(date(2026, 11, 1), "monthly")

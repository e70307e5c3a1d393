"""Dashboard windows (dashboards/windows.py): read from the querystring, written back into links.

Fixed dates, fiscal year from April (FY2026 = 2026-04-01 … 2027-03-31), as in docs/rollup.md.
"""

from __future__ import annotations

from datetime import date

import pytest
from django.http import QueryDict
from django.utils import translation

from dashboards.windows import Window, window_from_params

TODAY = date(2026, 11, 22)
APRIL = 4


def read(query: str, *, default: str = "month", today: date = TODAY, fiscal: int = APRIL):
    return window_from_params(QueryDict(query), today=today, fiscal_start_month=fiscal, default=default)


@pytest.mark.parametrize(
    ("query", "kind", "first", "last"),
    [
        ("", "month", date(2026, 11, 1), date(2026, 11, 30)),
        ("period=month", "month", date(2026, 11, 1), date(2026, 11, 30)),
        ("period=month&month=2026-02", "month", date(2026, 2, 1), date(2026, 2, 28)),
        ("period=quarter", "quarter", date(2026, 10, 1), date(2026, 12, 31)),
        ("period=quarter&month=2027-02", "quarter", date(2027, 1, 1), date(2027, 3, 31)),
        ("period=quarter&month=2026-04", "quarter", date(2026, 4, 1), date(2026, 6, 30)),
        ("period=fytd", "fytd", date(2026, 4, 1), date(2026, 11, 30)),
        ("period=fytd&month=2027-03", "fytd", date(2026, 4, 1), date(2027, 3, 31)),
        ("period=fytd&month=2026-03", "fytd", date(2025, 4, 1), date(2026, 3, 31)),
        ("period=fytd&month=2026-04", "fytd", date(2026, 4, 1), date(2026, 4, 30)),
        ("period=custom&from=2026-04&to=2026-09", "custom", date(2026, 4, 1), date(2026, 9, 30)),
        ("period=custom&from=2026-07&to=2026-07", "custom", date(2026, 7, 1), date(2026, 7, 31)),
        ("period=custom&from=2025-12&to=2026-02", "custom", date(2025, 12, 1), date(2026, 2, 28)),
    ],
)
def test_windows_from_the_querystring(query, kind, first, last):
    window, errors = read(query)
    assert errors == []
    assert (window.kind, window.first, window.last) == (kind, first, last)


@pytest.mark.parametrize(
    ("default", "first", "last"),
    [
        ("month", date(2026, 11, 1), date(2026, 11, 30)),
        ("quarter", date(2026, 10, 1), date(2026, 12, 31)),
        ("fytd", date(2026, 4, 1), date(2026, 11, 30)),
    ],
)
def test_no_period_gives_the_default(default, first, last):
    window, errors = read("", default=default)
    assert (window.kind, window.first, window.last, errors) == (default, first, last, [])


def test_a_january_fiscal_year_has_calendar_quarters():
    window, _ = read("period=quarter&month=2026-11", fiscal=1)
    assert (window.first, window.last, window.quarter_number, window.fiscal_year) == (
        date(2026, 10, 1),
        date(2026, 12, 31),
        4,
        2026,
    )
    assert read("period=fytd", fiscal=1)[0].first == date(2026, 1, 1)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("period=decade", "Choose a period from the list."),
        ("period=month&month=2026-13", "Enter the month as YYYY-MM, e.g. 2026-11."),
        ("period=quarter&month=November", "Enter the month as YYYY-MM, e.g. 2026-11."),
        ("period=fytd&month=0000-01", "Enter the month as YYYY-MM, e.g. 2026-11."),
        ("period=custom&to=2026-09", "Enter the first month of the range as YYYY-MM."),
        ("period=custom&from=2026-04&to=x", "Enter the last month of the range as YYYY-MM."),
        ("period=custom&from=2026-09&to=2026-04", "The range must end in or after the month it starts."),
        ("period=custom&from=2020-01&to=2026-04", "A custom range can cover at most 36 months."),
    ],
)
def test_bad_input_gives_the_default_window_and_says_why(query, message):
    with translation.override("en"):
        window, errors = read(query, default="fytd")
    assert message in errors
    assert (window.kind, window.first, window.last) == ("fytd", date(2026, 4, 1), date(2026, 11, 30))


@pytest.mark.parametrize(
    ("query", "label", "range_label"),
    [
        ("period=month&month=2026-11", "November 2026", "2026-11"),
        ("period=quarter&month=2026-11", "Q3 FY2026", "2026-10 – 2026-12"),
        ("period=quarter&month=2027-01", "Q4 FY2026", "2027-01 – 2027-03"),
        ("period=fytd", "FY2026 to date", "2026-04 – 2026-11"),
        ("period=custom&from=2026-04&to=2026-09", "2026-04 – 2026-09", "2026-04 – 2026-09"),
    ],
)
def test_labels(query, label, range_label):
    window, _ = read(query)
    with translation.override("en"):
        assert (window.label, window.range_label) == (label, range_label)


def test_labels_are_translated():
    window, _ = read("period=month&month=2026-11")
    with translation.override("ja"):
        assert window.label == "2026年11月"


@pytest.mark.parametrize(
    ("query", "kept"),
    [
        ("", "period=month&month=2026-11"),
        ("period=quarter&month=2026-11", "period=quarter&month=2026-10"),
        ("period=fytd", "period=fytd&month=2026-11"),
        ("period=custom&from=2026-04&to=2026-09", "period=custom&from=2026-04&to=2026-09"),
    ],
)
def test_query_reproduces_the_window_on_another_day(query, kept):
    window, _ = read(query)
    assert window.query == kept
    # Shared later, the link still shows the same months.
    again, errors = read(window.query, today=date(2027, 6, 3))
    assert errors == [] and again == window


def test_window_is_a_value():
    assert Window("month", date(2026, 11, 1), date(2026, 11, 30)) == read("")[0]
    assert read("period=custom&from=2026-04&to=2026-06")[0].months == 3


def test_an_unknown_default_is_a_programming_error():
    with pytest.raises(ValueError):
        read("", default="custom")

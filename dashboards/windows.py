"""The windows of time a dashboard shows: a month, a fiscal quarter, the fiscal year to date or a
custom range of whole months, read from the querystring and written back into links.

Pure functions of dates (no ORM, no clock): the caller passes ``today`` and the organisation's
first fiscal month, as in goals/periods.py.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlencode

from django.utils import formats
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from goals.periods import fiscal_year_bounds, months_between, period_end, period_start

MONTH, QUARTER, FYTD, CUSTOM = "month", "quarter", "fytd", "custom"
KINDS = (MONTH, QUARTER, FYTD, CUSTOM)
KIND_LABELS = {
    MONTH: _("Month"),
    QUARTER: _("Quarter"),
    FYTD: _("Fiscal year to date"),
    CUSTOM: _("Custom range"),
}
# A custom range is computed on request (see dashboards.selectors): keep it to a few years.
MAX_CUSTOM_MONTHS = 36
_MONTH_PATTERN = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True)
class Window:
    """Whole months from the first day of ``first``'s month to the last day of ``last``'s."""

    kind: str
    first: date
    last: date
    fiscal_start_month: int = 4

    @property
    def months(self) -> int:
        return months_between(self.first, self.last) + 1

    @property
    def fiscal_year(self) -> int:
        """The fiscal year the window starts in, named by the calendar year it starts in."""
        return fiscal_year_bounds(self.first, self.fiscal_start_month)[0].year

    @property
    def quarter_number(self) -> int:
        start, _ = fiscal_year_bounds(self.first, self.fiscal_start_month)
        return months_between(start, self.first) // 3 + 1

    @property
    def label(self) -> str:
        if self.kind == MONTH:
            return formats.date_format(self.first, "YEAR_MONTH_FORMAT")
        if self.kind == QUARTER:
            return gettext("Q%(quarter)s FY%(year)s") % {"quarter": self.quarter_number, "year": self.fiscal_year}
        if self.kind == FYTD:
            return gettext("FY%(year)s to date") % {"year": self.fiscal_year}
        return self.range_label

    @property
    def range_label(self) -> str:
        """The months covered, e.g. "2026-04 – 2026-09" (one month: "2026-04")."""
        first, last = f"{self.first:%Y-%m}", f"{self.last:%Y-%m}"
        if first == last:
            return first
        return gettext("%(first)s – %(last)s") % {"first": first, "last": last}

    @property
    def params(self) -> dict[str, str]:
        """The querystring parameters that reproduce this window."""
        if self.kind == CUSTOM:
            return {"period": CUSTOM, "from": f"{self.first:%Y-%m}", "to": f"{self.last:%Y-%m}"}
        # The fiscal year to date is named by its last month; a month or quarter by its first.
        month = self.last if self.kind == FYTD else self.first
        return {"period": self.kind, "month": f"{month:%Y-%m}"}

    @property
    def query(self) -> str:
        """``period=quarter&month=2026-10``: keep it in links so a view can be shared."""
        return urlencode(self.params)

    @property
    def month_value(self) -> str:
        """The month the selector shows for a month, quarter or year-to-date window."""
        return self.params.get("month", f"{self.last:%Y-%m}")


def month_window(month: date, *, fiscal_start_month: int) -> Window:
    first = month.replace(day=1)
    return Window(MONTH, first, period_end(first, "monthly"), fiscal_start_month)


def quarter_window(month: date, *, fiscal_start_month: int) -> Window:
    first = period_start(month, "quarterly", fiscal_start_month)
    return Window(QUARTER, first, period_end(first, "quarterly"), fiscal_start_month)


def fytd_window(month: date, *, fiscal_start_month: int) -> Window:
    """From the first day of the fiscal year to the end of ``month``."""
    first, _ = fiscal_year_bounds(month, fiscal_start_month)
    return Window(FYTD, first, period_end(month.replace(day=1), "monthly"), fiscal_start_month)


def custom_window(first: date, last: date, *, fiscal_start_month: int) -> Window:
    return Window(CUSTOM, first.replace(day=1), period_end(last.replace(day=1), "monthly"), fiscal_start_month)


_BUILDERS = {MONTH: month_window, QUARTER: quarter_window, FYTD: fytd_window}


def parse_month(text: str) -> date | None:
    """``2026-11`` → 2026-11-01; None for anything else."""
    match = _MONTH_PATTERN.match(text.strip())
    if match is None:
        return None
    year, month = int(match[1]), int(match[2])
    if not (1900 <= year <= 2999 and 1 <= month <= 12):
        return None
    return date(year, month, 1)


def window_from_params(
    params: Mapping[str, str], *, today: date, fiscal_start_month: int, default: str = MONTH
) -> tuple[Window, list[str]]:
    """The window asked for in ``params`` (``period``, ``month``, ``from``, ``to``), and the
    problems found. Bad input never fails: it gives the ``default`` window of ``today`` and
    a message saying what was wrong."""
    if default not in _BUILDERS:
        raise ValueError(f"the default window must be one of {sorted(_BUILDERS)}, not {default!r}")
    fallback = _BUILDERS[default](today, fiscal_start_month=fiscal_start_month)
    kind = (params.get("period") or default).strip()
    if kind not in KINDS:
        return fallback, [gettext("Choose a period from the list.")]
    if kind == CUSTOM:
        errors = []
        first, last = parse_month(params.get("from") or ""), parse_month(params.get("to") or "")
        if first is None:
            errors.append(gettext("Enter the first month of the range as YYYY-MM."))
        if last is None:
            errors.append(gettext("Enter the last month of the range as YYYY-MM."))
        if first is not None and last is not None:
            if last < first:
                errors.append(gettext("The range must end in or after the month it starts."))
            elif months_between(first, last) + 1 > MAX_CUSTOM_MONTHS:
                errors.append(
                    gettext("A custom range can cover at most %(months)s months.") % {"months": MAX_CUSTOM_MONTHS}
                )
        if errors:
            return fallback, errors
        return custom_window(first, last, fiscal_start_month=fiscal_start_month), []
    text = params.get("month")
    if text is None or not text.strip():
        month = today
    else:
        month = parse_month(text)
        if month is None:
            return fallback, [gettext("Enter the month as YYYY-MM, e.g. 2026-11.")]
    return _BUILDERS[kind](month, fiscal_start_month=fiscal_start_month), []

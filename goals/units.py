"""Numbers with their units, formatted for the active language (pure functions)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

YEN_UNITS = {"jpy", "¥", "円", "yen"}
# Units that count whole things: their figures are shown as whole numbers (an average or a
# projection of contacts is "343 contacts", not "343.16 contacts"), and never go below zero.
COUNT_UNITS = {
    "appointments",
    "calls",
    "contacts",
    "contracts",
    "customers",
    "deals",
    "e-mails",
    "emails",
    "leads",
    "meetings",
    "members",
    "orders",
    "people",
    "sessions",
    "tickets",
    "users",
    "visitors",
    "visits",
    "webinars",
    "件",
    "人",
    "回",
    "社",
    "個",
}
PERCENT = "%"


def is_yen(unit: str) -> bool:
    return (unit or "").strip().lower() in YEN_UNITS


def is_count(unit: str) -> bool:
    """A unit of whole things (COUNT_UNITS), in the plural or the singular ("1 contact")."""
    word = (unit or "").strip().lower()
    return word in COUNT_UNITS or f"{word}s" in COUNT_UNITS


def valid_range(unit: str) -> tuple[float | None, float | None]:
    """The values a figure in ``unit`` can take: a percentage 0–100, a count 0 or more;
    (None, None) for any other unit (a yen amount, a profit, can be negative)."""
    if (unit or "").strip() == PERCENT:
        return 0.0, 100.0
    if is_count(unit):
        return 0.0, None
    return None, None


def clamped(value: float, unit: str) -> tuple[float, bool]:
    """``value`` moved into the unit's valid range, and whether it had to be (a rate projected
    to "−3.27%" is 0%, and the page says so)."""
    low, high = valid_range(unit)
    if low is not None and value < low:
        return low, True
    if high is not None and value > high:
        return high, True
    return value, False


def rounded_half_up(value: Decimal, places: int) -> Decimal:
    """``value`` to ``places`` decimals, halves away from zero as people round (1,250 → 1.3k
    beside 1,350 → 1.4k), not to even as Python's round() does."""
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _decimal(value) -> Decimal:
    # A float's shortest text, not its binary expansion: 2.675 is "2.675" and rounds up to 2.68
    # (str, not repr: numpy's float64 repr is "np.float64(2.675)").
    return Decimal(str(value)) if isinstance(value, float) else Decimal(value)


def _plain(value: Decimal, places: int = 2) -> str:
    quantised = rounded_half_up(Decimal(value), places)
    text = f"{quantised:,.{places}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in {"-0", ""} else text


# (size, next smaller size, decimals shown in the smaller one, suffix). A step up is taken
# when the figure in the smaller unit would *round* to a whole step, so 999,999 reads "1M"
# rather than "1,000k", while 950,000 stays "950k".
_EN_STEPS = (
    (Decimal(10) ** 9, Decimal(10) ** 6, 1, "B"),
    (Decimal(10) ** 6, Decimal(10) ** 3, 1, "M"),
    (Decimal(10) ** 3, Decimal(1), 2, "k"),
)
MAN, OKU = Decimal(10) ** 4, Decimal(10) ** 8


def _compact_en(value: Decimal, places: int = 2) -> str:
    magnitude = abs(value)
    for size, smaller, step_places, suffix in _EN_STEPS:
        # From units to thousands the figure is rounded as it would be shown (a count: whole).
        decide = places if smaller == 1 else step_places
        if rounded_half_up(magnitude / smaller, decide) >= size / smaller:
            return _plain(value / size, 1) + suffix
    return _plain(value, places)


def _compact_ja(value: Decimal, places: int = 2) -> str:
    sign = "-" if value < 0 else ""
    magnitude = abs(value)
    # Decide on the rounded figure, as in English: 99,999,999 is 1億, not 10,000万, and
    # 199,999,999 is 2億, not 1億10,000万.
    if rounded_half_up(magnitude / MAN, 1) >= OKU / MAN:
        oku, man = divmod(rounded_half_up(magnitude / MAN, 0), OKU / MAN)
        return f"{sign}{_plain(oku, 0)}億" + (f"{_plain(man, 0)}万" if man else "")
    if rounded_half_up(magnitude, places) >= MAN:
        return f"{sign}{_plain(magnitude / MAN, 1)}万"
    return sign + _plain(magnitude, places)


def _number(value: Decimal, unit: str, japanese: bool, compact: bool, entered: bool = False) -> str:
    """The figure without its unit: ``120M``, ``1億2,000万``, ``1.5``."""
    if is_yen(unit):
        if japanese:
            return _compact_ja(value) if compact else _plain(value, 0)
        number = _compact_en(abs(value)) if compact else _plain(abs(value), 0)
        return ("-" if value < 0 else "") + "¥" + number
    places = 0 if is_count(unit) and not entered else 2  # a count is whole things
    if not compact:
        return _plain(value, places)
    return _compact_ja(value, places) if japanese else _compact_en(value, places)


def _with_unit(number: str, unit: str, japanese: bool) -> str:
    if is_yen(unit):
        return number + "円" if japanese else number
    if unit == "%":
        return f"{number}%"
    return f"{number} {unit}".strip()


def format_quantity(
    value: Decimal | None, unit: str, language: str, *, compact: bool = False, entered: bool = False
) -> str:
    """``¥120M`` / ``1億2,000万円``, ``20%``, ``50 appointments``; an em dash for no value.

    A count's figures (targets, totals, averages, projections) are whole; a value someone
    ``entered`` is echoed as typed ("Saved 44.6 appointments"), never silently rounded."""
    if value is None:
        return "—"
    japanese = (language or "en").startswith("ja")
    return _with_unit(_number(_decimal(value), unit, japanese, compact, entered), unit, japanese)


def format_range(low: Decimal | None, high: Decimal | None, unit: str, language: str, *, compact: bool = False) -> str:
    """A range with its unit said once: ``1–3 seconds``, ``20–25%``, ``1〜3 時間``; ``¥1M–¥2M`` (the yen
    sign belongs to each figure in English). An em dash for no range; a missing bound keeps its dash."""
    if low is None and high is None:
        return "—"
    japanese = (language or "en").startswith("ja")
    dash = "〜" if japanese else "–"
    if low is None or high is None:
        return f"{format_quantity(low, unit, language, compact=compact)} {dash} " + format_quantity(
            high, unit, language, compact=compact
        )
    first, last = (_number(_decimal(v), unit, japanese, compact) for v in (low, high))
    if not japanese and (first.startswith("-") or last.startswith("-")):
        dash = " – "  # "-5 – -2 points": an unspaced dash would read as a minus sign
    return _with_unit(f"{first}{dash}{last}", unit, japanese)

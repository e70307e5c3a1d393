"""Numbers with their units, formatted for the active language (pure functions)."""

from __future__ import annotations

from decimal import Decimal

YEN_UNITS = {"jpy", "¥", "円", "yen"}


def is_yen(unit: str) -> bool:
    return (unit or "").strip().lower() in YEN_UNITS


def _plain(value: Decimal, places: int = 2) -> str:
    quantised = round(Decimal(value), places)
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


def _compact_en(value: Decimal) -> str:
    magnitude = abs(value)
    for size, smaller, places, suffix in _EN_STEPS:
        if round(magnitude / smaller, places) >= size / smaller:
            return _plain(value / size, 1) + suffix
    return _plain(value)


def _compact_ja(value: Decimal) -> str:
    sign = "-" if value < 0 else ""
    magnitude = abs(value)
    # Decide on the rounded figure, as in English: 99,999,999 is 1億, not 10,000万, and
    # 199,999,999 is 2億, not 1億10,000万.
    if round(magnitude / MAN, 1) >= OKU / MAN:
        oku, man = divmod(round(magnitude / MAN), OKU / MAN)
        return f"{sign}{_plain(oku, 0)}億" + (f"{_plain(man, 0)}万" if man else "")
    if round(magnitude, 2) >= MAN:
        return f"{sign}{_plain(magnitude / MAN, 1)}万"
    return sign + _plain(magnitude)


def _number(value: Decimal, unit: str, japanese: bool, compact: bool) -> str:
    """The figure without its unit: ``120M``, ``1億2,000万``, ``1.5``."""
    if is_yen(unit):
        if japanese:
            return _compact_ja(value) if compact else _plain(value, 0)
        number = _compact_en(abs(value)) if compact else _plain(abs(value), 0)
        return ("-" if value < 0 else "") + "¥" + number
    return (_compact_ja(value) if japanese else _compact_en(value)) if compact else _plain(value)


def _with_unit(number: str, unit: str, japanese: bool) -> str:
    if is_yen(unit):
        return number + "円" if japanese else number
    if unit == "%":
        return f"{number}%"
    return f"{number} {unit}".strip()


def format_quantity(value: Decimal | None, unit: str, language: str, *, compact: bool = False) -> str:
    """``¥120M`` / ``1億2,000万円``, ``20%``, ``50 appointments``; an em dash for no value."""
    if value is None:
        return "—"
    japanese = (language or "en").startswith("ja")
    return _with_unit(_number(Decimal(value), unit, japanese, compact), unit, japanese)


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
    first, last = (_number(Decimal(v), unit, japanese, compact) for v in (low, high))
    if not japanese and (first.startswith("-") or last.startswith("-")):
        dash = " – "  # "-5 – -2 points": an unspaced dash would read as a minus sign
    return _with_unit(f"{first}{dash}{last}", unit, japanese)

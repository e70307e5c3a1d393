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


def format_quantity(value: Decimal | None, unit: str, language: str, *, compact: bool = False) -> str:
    """``¥120M`` / ``1億2,000万円``, ``20%``, ``50 appointments``; an em dash for no value."""
    if value is None:
        return "—"
    value = Decimal(value)
    japanese = (language or "en").startswith("ja")
    if is_yen(unit):
        if japanese:
            return (_compact_ja(value) if compact else _plain(value, 0)) + "円"
        number = _compact_en(abs(value)) if compact else _plain(abs(value), 0)
        return ("-" if value < 0 else "") + "¥" + number
    number = (_compact_ja(value) if japanese else _compact_en(value)) if compact else _plain(value)
    if unit == "%":
        return f"{number}%"
    return f"{number} {unit}".strip()

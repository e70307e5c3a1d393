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


def _compact_en(value: Decimal) -> str:
    magnitude = abs(value)
    for size, suffix in ((Decimal(10) ** 9, "B"), (Decimal(10) ** 6, "M"), (Decimal(10) ** 3, "k")):
        if magnitude >= size:
            return _plain(value / size, 1) + suffix
    return _plain(value)


def _compact_ja(value: Decimal) -> str:
    sign = "-" if value < 0 else ""
    magnitude = abs(value)
    oku, rest = divmod(magnitude, Decimal(10) ** 8)
    man = rest / Decimal(10) ** 4
    if oku:
        return f"{sign}{_plain(oku, 0)}億" + (f"{_plain(man, 0)}万" if round(man) else "")
    if magnitude >= Decimal(10) ** 4:
        return f"{sign}{_plain(man, 1)}万"
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

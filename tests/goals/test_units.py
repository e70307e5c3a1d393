"""Numbers with their units (goals/units.py), in English and Japanese, compact and in full."""

from __future__ import annotations

from decimal import Decimal

import pytest

from goals.units import clamped, format_quantity, format_range, is_count, is_yen, valid_range

D = Decimal


@pytest.mark.parametrize(
    ("value", "unit", "language", "compact", "expected"),
    [
        # The KGI of the seed articles: ¥120M.
        (D("120000000"), "JPY", "en", True, "¥120M"),
        (D("120000000"), "JPY", "en", False, "¥120,000,000"),
        (D("120000000"), "JPY", "ja", True, "1億2,000万円"),
        (D("120000000"), "JPY", "ja", False, "120,000,000円"),
        (D("100000000"), "JPY", "ja", True, "1億円"),
        (D("20000000"), "JPY", "ja", True, "2,000万円"),
        (D("600000"), "JPY", "en", True, "¥600k"),
        (D("600000"), "JPY", "ja", True, "60万円"),
        (D("170000"), "JPY", "ja", True, "17万円"),
        (D("12345"), "JPY", "ja", True, "1.2万円"),
        (D("9999"), "JPY", "ja", True, "9,999円"),
        (D("1500000000"), "JPY", "en", True, "¥1.5B"),
        (D("1250000"), "JPY", "en", True, "¥1.3M"),  # half up, as people round (§2.6 of issue 9)
        (D("1350000"), "JPY", "en", True, "¥1.4M"),
        (D("999"), "JPY", "en", True, "¥999"),
        (D("1000"), "JPY", "en", True, "¥1k"),
        # Yen in full is whole yen.
        (D("1234.56"), "JPY", "en", False, "¥1,235"),
        (D("1234.56"), "JPY", "ja", False, "1,235円"),
        # Every spelling of yen.
        (D("5000"), "¥", "en", False, "¥5,000"),
        (D("5000"), "円", "en", False, "¥5,000"),
        (D("5000"), "yen", "ja", False, "5,000円"),
        (D("5000"), " jpy ", "ja", False, "5,000円"),
        # Percentages have no space.
        (D("20"), "%", "en", False, "20%"),
        (D("20"), "%", "ja", False, "20%"),
        (D("20.50"), "%", "en", False, "20.5%"),
        (D("33.333"), "%", "en", False, "33.33%"),
        (D("20"), "%", "en", True, "20%"),
        # Other units follow the number after a space.
        (D("50"), "appointments", "en", False, "50 appointments"),
        (D("50"), "appointments", "en", True, "50 appointments"),
        (D("50"), "appointments", "ja", True, "50 appointments"),
        (D("50.000"), "leads", "en", False, "50 leads"),
        (D("1.5"), "x", "en", False, "1.5 x"),
        (D("12000"), "sessions", "en", True, "12k sessions"),
        (D("12000"), "sessions", "en", False, "12,000 sessions"),
        (D("12000"), "sessions", "ja", True, "1.2万 sessions"),
        (D("1234567"), "visits", "ja", False, "1,234,567 visits"),
        # No unit, no trailing space.
        (D("50"), "", "en", False, "50"),
        (D("50"), "", "ja", True, "50"),
        # Zero, and rounding that would leave "-0".
        (D("0"), "JPY", "en", True, "¥0"),
        (D("0"), "%", "en", False, "0%"),
        (D("-0.001"), "leads", "en", False, "0 leads"),
        (D("-0.4"), "JPY", "ja", False, "0円"),
        # A language with a region still counts.
        (D("120000000"), "JPY", "ja-JP", True, "1億2,000万円"),
        (D("120000000"), "JPY", "", True, "¥120M"),
        # Plain ints are accepted like Decimals.
        (120_000_000, "JPY", "en", True, "¥120M"),
    ],
)
def test_format_quantity(value, unit, language, compact, expected):
    assert format_quantity(value, unit, language, compact=compact) == expected


@pytest.mark.parametrize(
    ("value", "unit", "language", "compact", "expected"),
    [
        (D("-120000000"), "JPY", "en", True, "-¥120M"),
        (D("-120000000"), "JPY", "en", False, "-¥120,000,000"),
        (D("-120000000"), "JPY", "ja", True, "-1億2,000万円"),
        (D("-120000000"), "JPY", "ja", False, "-120,000,000円"),
        (D("-50000"), "JPY", "ja", True, "-5万円"),
        (D("-500"), "JPY", "ja", True, "-500円"),
        (D("-5"), "%", "en", False, "-5%"),
        (D("-2500"), "customers", "en", True, "-2.5k customers"),
        (D("-2500"), "customers", "en", False, "-2,500 customers"),
    ],
)
def test_format_quantity_negative(value, unit, language, compact, expected):
    assert format_quantity(value, unit, language, compact=compact) == expected


@pytest.mark.parametrize(
    ("value", "language", "expected"),
    [
        # The figure is rounded first and then given the unit, so it never reads 1,000 of a
        # smaller unit.
        (D("999999"), "en", "¥1M"),
        (D("999950"), "en", "¥1M"),
        (D("999949"), "en", "¥999.9k"),
        (D("950000"), "en", "¥950k"),
        (D("999999999"), "en", "¥1B"),
        (D("999.996"), "en", "¥1k"),
        (D("950"), "en", "¥950"),
        (D("99999999"), "ja", "1億円"),
        (D("99995000"), "ja", "9,999.5万円"),
        (D("199999999"), "ja", "2億円"),
        (D("100004999"), "ja", "1億円"),
        (D("9999.996"), "ja", "1万円"),
        (D("9500"), "ja", "9,500円"),
        (D("1234567890123"), "ja", "12,345億6,789万円"),
    ],
)
def test_format_quantity_compact_rounds_before_choosing_the_unit(value, language, expected):
    assert format_quantity(value, "JPY", language, compact=True) == expected


@pytest.mark.parametrize(("language", "compact"), [("en", False), ("en", True), ("ja", False), ("ja", True)])
@pytest.mark.parametrize("unit", ["JPY", "%", "appointments", ""])
def test_no_value_is_a_dash(unit, language, compact):
    assert format_quantity(None, unit, language, compact=compact) == "—"


@pytest.mark.parametrize(
    ("unit", "expected"),
    [
        ("JPY", True),
        ("jpy", True),
        ("¥", True),
        ("円", True),
        ("Yen", True),
        (" JPY ", True),
        ("USD", False),
        ("", False),
        (None, False),
    ],
)
def test_is_yen(unit, expected):
    assert is_yen(unit) is expected


@pytest.mark.parametrize(
    ("low", "high", "unit", "language", "compact", "expected"),
    [
        (D("1"), D("3"), "seconds", "en", False, "1–3 seconds"),
        (D("1"), D("4"), "hours", "en", False, "1–4 hours"),
        (D("1.5"), D("3.25"), "seconds", "en", False, "1.5–3.25 seconds"),
        (D("20"), D("25"), "%", "en", False, "20–25%"),
        (D("1000000"), D("2500000"), "JPY", "en", True, "¥1M–¥2.5M"),
        (D("1000"), D("2000"), "", "en", False, "1,000–2,000"),
        (D("-5"), D("-2"), "points", "en", False, "-5 – -2 points"),
        (D("1"), D("3"), "seconds", "ja", False, "1〜3 seconds"),
        (D("10000000"), D("20000000"), "JPY", "ja", True, "1,000万〜2,000万円"),
        (None, D("3"), "seconds", "en", False, "— – 3 seconds"),
        (None, None, "seconds", "en", False, "—"),
    ],
)
def test_format_range_says_the_unit_once(low, high, unit, language, compact, expected):
    assert format_range(low, high, unit, language, compact=compact) == expected


@pytest.mark.parametrize(
    ("value", "unit", "language", "compact", "expected"),
    [
        # §2.6 of issue 9: 1,250 read "1.2k" beside 1,300 as "1.3k". Halves round up, as people do.
        (D("1250"), "", "en", True, "1.3k"),
        (D("1350"), "", "en", True, "1.4k"),
        (1250.0, "", "en", True, "1.3k"),
        (D("1250"), "JPY", "en", True, "¥1.3k"),
        (D("12500"), "JPY", "ja", True, "1.3万円"),
        (D("2.675"), "%", "en", False, "2.68%"),
        (2.675, "%", "en", False, "2.68%"),  # the float's text, not its binary expansion
        (D("0.125"), "x", "en", False, "0.13 x"),
        (D("-1250"), "JPY", "en", True, "-¥1.3k"),  # away from zero
        (D("1234.5"), "JPY", "en", False, "¥1,235"),
        (D("150000000"), "JPY", "ja", True, "1億5,000万円"),
        # A count is whole things: "343.16 contacts" is 343 contacts, an average 2.5 is 3.
        (343.16, "contacts", "en", False, "343 contacts"),
        (856.84, "contacts", "en", False, "857 contacts"),
        (D("2.5"), "appointments", "en", False, "3 appointments"),
        (D("2.5"), "appointments", "en", True, "3 appointments"),
        (D("999.6"), "leads", "en", True, "1k leads"),
        (D("1249.6"), "leads", "en", True, "1.2k leads"),
        (D("12.4"), "件", "ja", False, "12 件"),
        (D("1.5"), "contact", "en", False, "2 contact"),
        # Other units keep their decimals.
        (D("343.16"), "hours", "en", False, "343.16 hours"),
        (D("3.27"), "%", "en", False, "3.27%"),
    ],
)
def test_format_quantity_rounds_half_up_and_counts_whole(value, unit, language, compact, expected):
    assert format_quantity(value, unit, language, compact=compact) == expected


@pytest.mark.parametrize(
    ("unit", "count", "valid"),
    [
        ("%", False, (0.0, 100.0)),
        ("contacts", True, (0.0, None)),
        ("Customers", True, (0.0, None)),
        ("appointment", True, (0.0, None)),
        ("JPY", False, (None, None)),
        ("hours", False, (None, None)),
        ("", False, (None, None)),
    ],
)
def test_units_know_their_valid_range(unit, count, valid):
    assert is_count(unit) is count
    assert valid_range(unit) == valid


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [
        (-3.27, "%", (0.0, True)),  # the rate "expected at −3.27%"
        (104.5, "%", (100.0, True)),
        (42.0, "%", (42.0, False)),
        (-12.0, "contacts", (0.0, True)),
        (1e9, "contacts", (1e9, False)),
        (-5e6, "JPY", (-5e6, False)),  # a yen amount can be a loss
    ],
)
def test_clamped_to_the_units_range(value, unit, expected):
    assert clamped(value, unit) == expected


@pytest.mark.parametrize(
    ("value", "unit", "entered", "expected"),
    [
        # What someone typed is echoed as typed; what was computed from it is whole.
        (D("44.6"), "appointments", True, "44.6 appointments"),
        (D("44.6"), "appointments", False, "45 appointments"),
        (D("44"), "appointments", True, "44 appointments"),
        (D("44.625"), "%", True, "44.63%"),
    ],
)
def test_an_entered_count_is_echoed_as_typed(value, unit, entered, expected):
    assert format_quantity(value, unit, "en", entered=entered) == expected

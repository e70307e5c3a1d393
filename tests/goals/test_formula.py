"""Formulas over child codes (goals/formula.py): a whitelisted subset, evaluated in Decimal."""

from __future__ import annotations

from decimal import Decimal

import pytest

from goals import formula
from goals.formula import FormulaError

D = Decimal
VALUES = {"contracts": D("10"), "appointments": D("50"), "leads": D("200"), "churned": D("-3")}


@pytest.mark.parametrize(
    ("source", "codes", "functions"),
    [
        ("contracts / appointments * 100", {"contracts", "appointments"}, set()),
        ("  contracts + 1  ", {"contracts"}, set()),
        ("42", set(), set()),
        ("0.5 * leads", {"leads"}, set()),
        ("-contracts + +appointments", {"contracts", "appointments"}, set()),
        ("(contracts - 1) * (appointments + 2)", {"contracts", "appointments"}, set()),
        ("contracts * contracts", {"contracts"}, set()),
        ("min(contracts, appointments)", {"contracts", "appointments"}, {"min"}),
        ("max(contracts, 5) + abs(churned)", {"contracts", "churned"}, {"max", "abs"}),
        ("avg(contracts, appointments, leads)", {"contracts", "appointments", "leads"}, {"avg"}),
        ("min(max(contracts, 1), avg(leads))", {"contracts", "leads"}, {"min", "max", "avg"}),
        ("売上 / 件数", {"売上", "件数"}, set()),
    ],
)
def test_parse_allowed(source, codes, functions):
    parsed = formula.parse(source)

    assert parsed.source == source.strip()
    assert parsed.codes == frozenset(codes)
    assert parsed.functions == frozenset(functions)


ONLY_ALLOWED = "Only numbers, child codes, + - * / and the functions abs, avg, max, min are allowed."


@pytest.mark.parametrize(
    ("source", "message"),
    [
        # Reaching outside the formula.
        ("contracts.__class__", ONLY_ALLOWED),
        ("().__class__.__bases__[0].__subclasses__()", ONLY_ALLOWED),
        ("math.floor(contracts)", ONLY_ALLOWED),
        ("__import__('os').system('ls')", ONLY_ALLOWED),
        ("__import__('os')", "Unknown function __import__(); allowed: abs, avg, max, min."),
        ("eval('1')", "Unknown function eval(); allowed: abs, avg, max, min."),
        ("exec('x = 1')", "Unknown function exec(); allowed: abs, avg, max, min."),
        ("open('/etc/passwd')", "Unknown function open(); allowed: abs, avg, max, min."),
        ("round(contracts)", "Unknown function round(); allowed: abs, avg, max, min."),
        ("min.x(1)", ONLY_ALLOWED),
        ("(lambda: 1)()", ONLY_ALLOWED),
        # Keyword, starred and missing arguments.
        ("max(contracts, key=abs)", ONLY_ALLOWED),
        ("max(**{'a': 1})", ONLY_ALLOWED),
        ("max(*[1, 2])", ONLY_ALLOWED),
        ("max()", "max() needs at least one argument."),
        ("abs(contracts, leads)", "abs() takes exactly one argument."),
        # Values that are not numbers.
        ("'contracts'", ONLY_ALLOWED),
        ("b'1'", ONLY_ALLOWED),
        ("True + 1", ONLY_ALLOWED),
        ("None", ONLY_ALLOWED),
        ("1j", ONLY_ALLOWED),
        ("1e999", "A number in the formula is too large."),
        ("contracts * " + "9" * 400, "A number in the formula is too large."),
        ("-" + "9" * 309 + " + contracts", "A number in the formula is too large."),
        ("__class__ + 1", "__class__ cannot be a child's code."),
        ("[contracts, leads]", ONLY_ALLOWED),
        ("(contracts, leads)", ONLY_ALLOWED),
        ("{contracts}", ONLY_ALLOWED),
        ("{'a': 1}", ONLY_ALLOWED),
        # Other expressions.
        ("[x for x in leads]", ONLY_ALLOWED),
        ("sum(x for x in leads)", "Unknown function sum(); allowed: abs, avg, max, min."),
        ("max(x for x in leads)", ONLY_ALLOWED),
        ("lambda: 1", ONLY_ALLOWED),
        ("leads[0]", ONLY_ALLOWED),
        ("leads[1:2]", ONLY_ALLOWED),
        ("contracts ** 2", ONLY_ALLOWED),
        ("contracts // 2", ONLY_ALLOWED),
        ("contracts % 2", ONLY_ALLOWED),
        ("contracts > 1", ONLY_ALLOWED),
        ("contracts and leads", ONLY_ALLOWED),
        ("not contracts", ONLY_ALLOWED),
        ("~contracts", ONLY_ALLOWED),
        ("contracts if leads else 0", ONLY_ALLOWED),
        ("(x := 1)", ONLY_ALLOWED),
        ("f'{contracts}'", ONLY_ALLOWED),
        ("...", ONLY_ALLOWED),
    ],
)
def test_parse_rejects(source, message):
    with pytest.raises(FormulaError) as error:
        formula.parse(source)

    assert str(error.value) == message


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("", "The formula is empty."),
        ("   \n", "The formula is empty."),
        ("contracts +", "The formula is not a valid expression: contracts +"),
        ("contracts = 1", "The formula is not a valid expression: contracts = 1"),
        ("import os", "The formula is not a valid expression: import os"),
        ("1 +" + " 1 +" * 200 + " 1", "The formula is longer than 500 characters."),
    ],
)
def test_parse_rejects_malformed_text(source, message):
    with pytest.raises(FormulaError) as error:
        formula.parse(source)

    assert str(error.value) == message


def test_parse_accepts_the_longest_formula():
    source = "+".join(["1"] * 250)  # 499 characters

    assert formula.evaluate(formula.parse(source), {}) == 250


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("contracts / appointments * 100", D("20")),
        ("contracts + appointments", D("60")),
        ("appointments - contracts", D("40")),
        ("contracts * 0.1", D("1.0")),
        ("-churned", D("3")),
        ("+churned", D("-3")),
        ("(contracts + appointments) / 3", D("20")),
        ("1 / 3", D("0.3333333333333333333333333333")),
        ("0.1 + 0.2", D("0.3")),  # exact in Decimal, unlike float
        ("min(contracts, appointments, leads)", D("10")),
        ("max(contracts, appointments, leads)", D("200")),
        ("min(contracts)", D("10")),
        ("max(leads)", D("200")),
        ("avg(contracts, appointments)", D("30")),
        ("avg(leads)", D("200")),
        ("abs(churned)", D("3")),
        ("abs(churned) * max(1, 2)", D("6")),
        ("12345678901234567890 * 10", D("123456789012345678900")),
    ],
)
def test_evaluate(source, expected):
    result = formula.evaluate(formula.parse(source), VALUES)

    assert isinstance(result, Decimal)
    assert result == expected


def test_evaluate_ignores_inputs_it_does_not_name():
    parsed = formula.parse("contracts * 2")

    assert formula.evaluate(parsed, {"contracts": D("2.5"), "other": None}) == D("5.0")


def test_evaluate_accepts_integer_inputs():
    assert formula.evaluate(formula.parse("a / b"), {"a": 1, "b": 4}) == D("0.25")


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({}, "Missing input: appointments, contracts."),
        ({"contracts": D("1")}, "Missing input: appointments."),
        ({"contracts": D("1"), "appointments": None}, "Missing input: appointments."),
    ],
)
def test_evaluate_missing_inputs(values, message):
    with pytest.raises(FormulaError) as error:
        formula.evaluate(formula.parse("contracts / appointments"), values)

    assert str(error.value) == message


@pytest.mark.parametrize(
    "source",
    ["contracts / zero", "zero / zero", "1 / 0", "contracts / (appointments - appointments)", "1 / (0.0 * contracts)"],
)
def test_evaluate_division_by_zero(source):
    values = {**VALUES, "zero": D("0")}

    with pytest.raises(FormulaError) as error:
        formula.evaluate(formula.parse(source), values)

    assert str(error.value) == "Division by zero."


def test_formula_error_is_a_value_error():
    # Callers that only know ValueError (forms, serializers) still catch it.
    assert issubclass(FormulaError, ValueError)


def test_the_largest_float_literals_are_accepted():
    assert formula.parse("contracts * 1e308").codes == {"contracts"}
    assert formula.parse("contracts * " + "9" * 308).codes == {"contracts"}


@pytest.mark.parametrize("code", ["if", "class", "None", "True", "lambda", "__x", "__class__", "__"])
def test_codes_no_formula_could_name_are_refused(code):
    assert formula.code_problem(code)


@pytest.mark.parametrize("code", ["revenue", "_private", "a__b", "x1", "match", "type", "売上"])
def test_ordinary_codes_are_fine(code):
    assert formula.code_problem(code) is None


def test_evaluate_columns_marks_overflow_apart_from_division_by_zero_and_missing_inputs():
    import numpy as np

    parsed = formula.parse("a * 1e308 * 10 / b")
    a = np.array([1.0, 0.0, 1.0, np.nan, -1.0])
    b = np.array([1.0, 1.0, 0.0, 1.0, 1.0])

    result, by_zero, overflow = formula.evaluate_columns(parsed, {"a": a, "b": b})

    assert by_zero.tolist() == [False, False, True, False, False]
    assert overflow.tolist() == [True, False, False, False, True]
    assert result[1] == 0.0 and np.isnan(result[[0, 2, 3, 4]]).all()


@pytest.mark.parametrize(
    ("source", "ratio"),
    [
        ("sessions * cvr * aov", False),
        ("revenue / 1000", False),
        ("(a + b) / 2", False),
        ("avg(a, b) * 12", False),
        ("won / appts", True),
        ("won / appts * 100", True),
        ("100 - churned / customers * 100", True),
        ("a / (b + 1)", True),
        ("a / max(b, 1)", True),
        ("a / abs(-2)", False),
        ("min(a / b, 1)", True),
    ],
)
def test_is_ratio(source, ratio):
    assert formula.is_ratio(formula.parse(source)) is ratio

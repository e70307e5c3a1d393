"""Formulas over child codes, e.g. ``contracts / appointments * 100``.

Parsed with the ``ast`` module into a whitelisted subset (numbers, child codes, + - * /,
parentheses, and a few functions) and evaluated by walking the tree: never ``eval``.
"""

from __future__ import annotations

import ast
import keyword
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, DivisionByZero, InvalidOperation

import numpy as np
from django.utils.translation import gettext as _

MAX_LENGTH = 500


def _avg(*values: Decimal) -> Decimal:
    return sum(values, Decimal(0)) / len(values)


def _min(*values: Decimal) -> Decimal:
    # The builtin with one argument expects an iterable: min(x) must mean x.
    return min(values)


def _max(*values: Decimal) -> Decimal:
    return max(values)


FUNCTIONS: dict[str, Callable[..., Decimal]] = {
    "min": _min,
    "max": _max,
    "abs": abs,
    "avg": _avg,
}
# Functions that take exactly one argument; checked when parsing so evaluation cannot fail.
SINGLE_ARGUMENT = frozenset({"abs"})

_OPERATORS = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
}


class FormulaError(ValueError):
    """A formula that cannot be parsed or evaluated; the message is for people."""


class DivisionByZeroError(FormulaError):
    """A divisor is zero for the values given: a fact about the data, not a fault of the formula."""


@dataclass(frozen=True)
class ParsedFormula:
    source: str
    tree: ast.Expression
    codes: frozenset[str]
    functions: frozenset[str]


def parse(source: str) -> ParsedFormula:
    text = source.strip()
    if not text:
        raise FormulaError(_("The formula is empty."))
    if len(text) > MAX_LENGTH:
        raise FormulaError(_("The formula is longer than %(n)d characters.") % {"n": MAX_LENGTH})
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        raise FormulaError(_("The formula is not a valid expression: %(f)s") % {"f": text}) from None
    codes: set[str] = set()
    functions: set[str] = set()
    _check(tree.body, codes, functions)
    return ParsedFormula(text, tree, frozenset(codes), frozenset(functions))


def _check(node: ast.AST, codes: set[str], functions: set[str]) -> None:
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        _check(node.left, codes, functions)
        _check(node.right, codes, functions)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.UAdd, ast.USub)):
        _check(node.operand, codes, functions)
    elif isinstance(node, ast.Constant) and type(node.value) in (int, float):
        # A literal too big for a float (1e999) parses as infinity, which no value can hold; an
        # integer beyond a float's range (a 400-digit literal) cannot even be converted to one.
        if not _fits_a_float(node.value):
            raise FormulaError(_("A number in the formula is too large."))
    elif isinstance(node, ast.Name):
        if code_problem(node.id):
            raise FormulaError(_("%(name)s cannot be a child's code.") % {"name": node.id})
        codes.add(node.id)
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
        name = node.func.id
        if name not in FUNCTIONS:
            raise FormulaError(
                _("Unknown function %(name)s(); allowed: %(allowed)s.")
                % {"name": name, "allowed": ", ".join(sorted(FUNCTIONS))}
            )
        if not node.args:
            raise FormulaError(_("%(name)s() needs at least one argument.") % {"name": name})
        if name in SINGLE_ARGUMENT and len(node.args) != 1:
            raise FormulaError(_("%(name)s() takes exactly one argument.") % {"name": name})
        functions.add(name)
        for arg in node.args:
            _check(arg, codes, functions)
    else:
        raise FormulaError(
            _("Only numbers, child codes, + - * / and the functions %(allowed)s are allowed.")
            % {"allowed": ", ".join(sorted(FUNCTIONS))}
        )


def is_ratio(formula: ParsedFormula) -> bool:
    """Whether the formula divides by a child's value anywhere (``won / appts * 100``,
    ``100 - churned / customers * 100``): a rate, which is not added up over time. A product
    (``sessions * cvr * aov``) or a division by a constant (``revenue / 1000``) is a flow, summed
    per period like its inputs (docs/smart.md, M-rate-summed)."""
    return any(
        isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div) and _names_a_code(node.right)
        for node in ast.walk(formula.tree.body)
    )


def _names_a_code(node: ast.AST) -> bool:
    # A function's own name (the ``max`` of ``max(a, 1)``) is an ast.Name too, but not a code.
    function_names = {id(call.func) for call in ast.walk(node) if isinstance(call, ast.Call)}
    return any(isinstance(each, ast.Name) and id(each) not in function_names for each in ast.walk(node))


def _fits_a_float(value: int | float) -> bool:
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False


def code_problem(code: str) -> str | None:
    """Why ``code`` could never be named in a formula, or None. A Python keyword (``if``,
    ``class``) does not parse as a name, and names starting with ``__`` are refused here."""
    if keyword.iskeyword(code):
        return _("%(code)s is a reserved word; formulas could not name it.") % {"code": code}
    if code.startswith("__"):
        return _("A code may not start with two underscores; formulas could not name it.")
    return None


def evaluate(formula: ParsedFormula, values: Mapping[str, Decimal]) -> Decimal:
    """Evaluate with the given input values. Raises FormulaError for missing inputs or x/0."""
    missing = sorted(code for code in formula.codes if values.get(code) is None)
    if missing:
        raise FormulaError(_("Missing input: %(codes)s.") % {"codes": ", ".join(missing)})
    try:
        return _evaluate(formula.tree.body, values)
    except (ZeroDivisionError, DivisionByZero, InvalidOperation):
        raise DivisionByZeroError(_("Division by zero.")) from None


def _evaluate(node: ast.AST, values: Mapping[str, Decimal]) -> Decimal:
    if isinstance(node, ast.BinOp):
        return _OPERATORS[type(node.op)](_evaluate(node.left, values), _evaluate(node.right, values))
    if isinstance(node, ast.UnaryOp):
        operand = _evaluate(node.operand, values)
        return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.Constant):
        return Decimal(str(node.value))
    if isinstance(node, ast.Name):
        return Decimal(values[node.id])
    if isinstance(node, ast.Call):
        assert isinstance(node.func, ast.Name)
        return FUNCTIONS[node.func.id](*(_evaluate(arg, values) for arg in node.args))
    raise FormulaError(_("Unsupported expression."))  # unreachable after parse()


def evaluate_columns(
    formula: ParsedFormula, values: Mapping[str, np.ndarray]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Evaluate over columns of input values at once, in binary floating point like every other
    rollup number (the rollup engine evaluates one window as a column of one).

    Returns the results, a mask of where a divisor was zero and a mask of where the result is
    not a finite number (``a * 1e308 * 10`` overflows to infinity, ``inf - inf`` is NaN): no
    number in either case. Every code of the formula must have a column; a missing input (NaN)
    is the caller's to report.
    """
    width = len(next(iter(values.values()))) if values else 1
    by_zero = np.zeros(width, dtype=bool)

    def walk(node: ast.AST) -> np.ndarray:
        nonlocal by_zero
        if isinstance(node, ast.BinOp):
            left, right = walk(node.left), walk(node.right)
            if isinstance(node.op, ast.Div):
                zero = right == 0
                by_zero = by_zero | zero
                with np.errstate(divide="ignore", invalid="ignore"):
                    return np.where(zero, np.nan, left / np.where(zero, 1.0, right))
            return _OPERATORS[type(node.op)](left, right)
        if isinstance(node, ast.UnaryOp):
            operand = walk(node.operand)
            return -operand if isinstance(node.op, ast.USub) else operand
        if isinstance(node, ast.Constant):
            return np.full(width, float(node.value))
        if isinstance(node, ast.Name):
            return np.asarray(values[node.id], dtype=float)
        if isinstance(node, ast.Call):
            assert isinstance(node.func, ast.Name)
            args = [walk(arg) for arg in node.args]
            name = node.func.id
            if name == "abs":
                return np.abs(args[0])
            if name == "min":
                return np.minimum.reduce(args)
            if name == "max":
                return np.maximum.reduce(args)
            total = np.zeros(width)
            for arg in args:
                total = total + arg
            return total / len(args)
        raise FormulaError(_("Unsupported expression."))  # unreachable after parse()

    with np.errstate(over="ignore", invalid="ignore"):
        result = walk(formula.tree.body)
    inputs_present = np.ones(width, dtype=bool)
    for code in formula.codes:
        inputs_present &= ~np.isnan(np.asarray(values[code], dtype=float))
    overflow = inputs_present & ~by_zero & ~np.isfinite(result)
    return np.where(overflow, np.nan, result), by_zero, overflow

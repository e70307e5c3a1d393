"""Where a node's value and status come from, in words (goals/value_sources.py)."""

from __future__ import annotations

import pytest

from goals.value_sources import formula_display, source_words


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("sessions*cvr*aov", "sessions × cvr × aov"),
        ("  won / appointments * 100 ", "won ÷ appointments × 100"),
        ("(a - b) / c", "(a − b) ÷ c"),
        ("a - (b - c)", "a − (b − c)"),
        ("((a + b))", "a + b"),  # parentheses only where the order needs them
        ("-a + b", "-a + b"),
        ("100 - churned / customers * 100", "100 − churned ÷ customers × 100"),
        ("min(a, b) * max(c, 1)", "min(a, b) × max(c, 1)"),
        ("売上 / 件数", "売上 ÷ 件数"),
        ("0.5 * leads", "0.5 × leads"),
        # Not a formula that parses: shown as typed, for the template to escape.
        ("a * <b>", "a * <b>"),
        ("", ""),
    ],
)
def test_formula_display(text, shown):
    assert formula_display(text) == shown


@pytest.mark.parametrize("text", ["-" * 499 + "a", "(" * 250 + "a" + ")" * 250])
def test_formula_display_of_a_deeply_nested_text_does_not_fail(text):
    # Past the parser's or the printer's depth: shown as typed rather than failing the page.
    assert formula_display(text).strip("-()") == "a"


def words(**changes) -> str:
    node = {
        "kind": "kpi",
        "value_source": "manual",
        "formula": "",
        "has_number": True,
        "status_rule": "weighted",
        "has_children": False,
    }
    return source_words(**{**node, **changes})


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, "entered"),
        ({"has_number": False}, "entered"),  # a KPI without a target is still entered
        ({"value_source": "sum", "has_children": True}, "Σ children"),
        ({"value_source": "average", "has_children": True}, "avg of children"),
        ({"value_source": "weighted_average", "has_children": True}, "weighted avg of children"),
        ({"value_source": "min", "has_children": True}, "min of children"),
        ({"value_source": "max", "has_children": True}, "max of children"),
        ({"value_source": "formula", "formula": "sessions*cvr*aov"}, "= sessions × cvr × aov"),
        ({"kind": "ksf", "has_number": False, "has_children": True}, "weighted score of its children"),
        ({"kind": "ksf", "has_number": False}, "weighted score of its children"),
        ({"kind": "ksf", "has_number": False, "status_rule": "worst"}, "worst of its children"),
        ({"kind": "ksf"}, "entered"),  # a KSF with a number of its own is entered like a KPI
        (
            {"kind": "ksf", "value_source": "sum", "has_number": False, "has_children": True},
            "Σ children · weighted score of its children",
        ),
        (
            {"value_source": "formula", "formula": "a/b", "has_number": False, "has_children": True},
            "= a ÷ b · weighted score of its children",
        ),
    ],
)
def test_source_words(changes, expected):
    assert words(**changes) == expected

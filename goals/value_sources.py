"""Where a node's value and status come from, in a few words for the tree diagram (pure
functions: data in, text out).

``= sessions × cvr × aov`` for a formula, ``Σ children`` for a sum, ``entered`` for a number typed
in by hand, and for a node without a number of its own (a KSF) the rule its status is taken
from its children by. The text is plain: templates escape it like any other user text.
"""

from __future__ import annotations

import ast

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from goals.models import Kind, StatusRule, ValueSource

# The compact words of each value source (the model's labels are sentences, too long for a box).
_SOURCE_WORDS = {
    ValueSource.MANUAL: gettext_lazy("entered"),
    ValueSource.SUM: gettext_lazy("Σ children"),
    ValueSource.AVERAGE: gettext_lazy("avg of children"),
    ValueSource.WEIGHTED_AVERAGE: gettext_lazy("weighted avg of children"),
    ValueSource.MIN: gettext_lazy("min of children"),
    ValueSource.MAX: gettext_lazy("max of children"),
}

_SYMBOLS = {" * ": " × ", " / ": " ÷ ", " - ": " − "}


def formula_display(text: str) -> str:
    """``sessions*cvr*aov`` as ``sessions × cvr × aov``: spaced evenly, × for ``*``, ÷ for ``/``
    and − for a minus between two terms; parentheses only where the order needs them.

    Only for reading: what the formula means is goals.formula's. Text that does not parse (a
    formula stored before a rule changed) is shown as it was typed, trimmed.
    """
    source = text.strip()
    try:
        shown = ast.unparse(ast.parse(source, mode="eval"))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return source
    # The formulas' grammar has no strings, so these character sequences are always operators.
    for operator, symbol in _SYMBOLS.items():
        shown = shown.replace(operator, symbol)
    return shown


def source_words(
    *, kind: str, value_source: str, formula: str, has_number: bool, status_rule: str, has_children: bool
) -> str:
    """What the tree diagram says about a node's value: ``= a × b``, ``Σ children``, ``entered``;
    and for a node without a number of its own that takes its status from its children (a KSF),
    the rule it does so by (``weighted score of its children``), after its value source when it
    still has a computed value (docs/rollup.md §7)."""
    parts = []
    if value_source == ValueSource.FORMULA:
        parts.append(_("= %(formula)s") % {"formula": formula_display(formula)})
    elif value_source in _SOURCE_WORDS and value_source != ValueSource.MANUAL:
        parts.append(str(_SOURCE_WORDS[value_source]))
    elif kind != Kind.KSF or has_number:
        # A KSF without a number takes no actuals (goals.models.Node.takes_actuals); a KPI
        # without a target is still entered.
        parts.append(str(_SOURCE_WORDS[ValueSource.MANUAL]))
    if not has_number and (has_children or kind == Kind.KSF):
        rule = StatusRule.WORST if status_rule == StatusRule.WORST else StatusRule.WEIGHTED
        parts.append(str(rule.label))
    return " · ".join(parts)

from __future__ import annotations

from collections.abc import Mapping

from django import template
from django.utils.translation import get_language

from goals.units import format_quantity, format_range

register = template.Library()


@register.filter
def person(user) -> str:
    """A user's full name, else their login name; a dash for nobody (a node may have no owner)."""
    if user is None or not getattr(user, "pk", None):
        return "—"
    return user.get_full_name() or user.username


@register.filter
def quantity(value, unit: str = ""):
    """A number with its unit, in the active language's style: ¥120,000,000 / 120,000,000円."""
    return format_quantity(value, unit, get_language() or "en")


@register.filter
def quantity_entered(value, unit: str = ""):
    """An actual as it was entered, a count's decimals included (goals.units.format_quantity)."""
    return format_quantity(value, unit, get_language() or "en", entered=True)


@register.filter
def quantity_compact(value, unit: str = ""):
    """Short form for boxes and headlines: ¥120M / 1億2,000万円."""
    return format_quantity(value, unit, get_language() or "en", compact=True)


@register.filter
def score_only(figures) -> bool:
    """Whether ``figures`` (of a window or a period) have an attainment but no actual, target or
    range: the score a node without a number of its own takes from its children. Tables say so
    across the actual and target cells rather than show two dashes beside a number."""
    if isinstance(figures, Mapping):
        field = figures.get
    else:

        def field(name: str) -> object:
            return getattr(figures, name, None)

    if figures is None or field("attainment") is None:
        return False
    return all(field(name) is None for name in ("actual", "target", "low", "high"))


@register.filter
def report_for(reports: dict, node):
    return reports.get(node.pk)


@register.inclusion_tag("goals/partials/smart_badge.html")
def smart_badge(report):
    return {"report": report}


@register.filter
def gap(node):
    """Target minus baseline (None when either is missing)."""
    if node.baseline_value is None or node.target_value is None:
        return None
    return node.target_value - node.baseline_value


@register.simple_tag
def gap_words(gap, node) -> str:
    """The gap in words that read the same way whatever the direction: "¥20M short",
    "3 points over the limit", "¥1.2M ahead"."""
    from django.utils.translation import gettext as _

    if gap is None:
        return "—"
    amount = format_quantity(abs(gap), node.unit, get_language() or "en", compact=True)
    if gap == 0:
        return _("on target")
    if node.direction == "decrease":
        return (_("%(amount)s under the limit") if gap > 0 else _("%(amount)s over the limit")) % {"amount": amount}
    if node.direction == "maintain":
        if gap > 0:
            return _("within the range, %(amount)s to spare") % {"amount": amount}
        return _("%(amount)s outside the range") % {"amount": amount}
    return (_("%(amount)s ahead") if gap > 0 else _("%(amount)s short")) % {"amount": amount}


@register.filter
def period_label(start, frequency: str) -> str:
    """ "November 2026", "Week of 16 Nov 2026", …; empty for no period."""
    from goals.forms import period_label as label  # forms own the wording of periods

    return label(start, frequency) if start else ""


@register.simple_tag
def quantity_range(low, high, unit: str = "", compact: bool = False) -> str:
    """A range with its unit once: "1–3 seconds" rather than "1 seconds – 3 seconds"."""
    return format_range(low, high, unit, get_language() or "en", compact=compact)

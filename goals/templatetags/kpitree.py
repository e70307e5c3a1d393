from __future__ import annotations

from django import template
from django.utils.translation import get_language

from goals.units import format_quantity

register = template.Library()


@register.filter
def quantity(value, unit: str = ""):
    """A number with its unit, in the active language's style: ¥120,000,000 / 120,000,000円."""
    return format_quantity(value, unit, get_language() or "en")


@register.filter
def quantity_compact(value, unit: str = ""):
    """Short form for boxes and headlines: ¥120M / 1億2,000万円."""
    return format_quantity(value, unit, get_language() or "en", compact=True)


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

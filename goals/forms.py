from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils.translation import gettext_lazy as _

from goals.library import CATEGORIES, KPI_LIBRARY, TREE_TEMPLATES
from goals.models import Kind, Node, Organisation
from goals.services import EDITABLE_FIELDS


class NodeForm(forms.ModelForm):
    """The fields of a node. Rules beyond field types live in goals.smart / goals.services."""

    class Meta:
        model = Node
        fields = list(EDITABLE_FIELDS)
        widgets = {
            "description": forms.Textarea(attrs={"rows": 2}),
            "rationale": forms.Textarea(attrs={"rows": 2}),
            "start_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "deadline": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "formula": forms.TextInput(attrs={"spellcheck": "false", "autocomplete": "off"}),
            "code": forms.TextInput(attrs={"spellcheck": "false", "autocomplete": "off"}),
        }

    def __init__(self, *args: Any, organisation: Organisation, kind: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind
        users = get_user_model().objects.filter(membership__organisation=organisation)
        self.fields["owner"].queryset = users.order_by("username")
        self.fields["owner"].label_from_instance = lambda u: u.get_full_name() or u.username
        for name in ("baseline_value", "target_value", "target_min", "target_max", "weight"):
            self.fields[name].widget.attrs.update({"step": "any", "inputmode": "decimal"})
        if kind == Kind.KGI:
            # A KGI is the root: there is no parent to state a link to.
            del self.fields["rationale"]

    def _post_clean(self) -> None:
        # Model validation happens in goals.services (under the organisation lock), not here.
        pass

    def data_for_service(self) -> dict[str, Any]:
        return {name: self.cleaned_data.get(name) for name in self.Meta.fields if name in self.cleaned_data}

    def add_service_errors(self, error: ValidationError) -> None:
        for field, messages in error.message_dict.items():
            target = field if field in self.fields else None
            if field == NON_FIELD_ERRORS:
                target = None
            for message in messages:
                self.add_error(target, message)


class MoveForm(forms.Form):
    parent = forms.ModelChoiceField(queryset=Node.objects.none(), label=_("New parent"))
    position = forms.IntegerField(
        label=_("Position among its new siblings"),
        required=False,
        min_value=0,
        help_text=_("0 = first; leave empty to put it last."),
    )

    def __init__(self, *args: Any, targets: list[Node], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["parent"].queryset = Node.objects.filter(pk__in=[t.pk for t in targets]).order_by("tree_id", "lft")
        self.fields["parent"].label_from_instance = lambda n: f"{'— ' * n.level}{n.get_kind_display()}: {n.name}"


class TreeStartForm(forms.Form):
    template = forms.ChoiceField(
        label=_("Start from"),
        choices=[("", _("An empty KGI"))] + [(k, v[0]) for k, v in TREE_TEMPLATES.items()],
        required=False,
    )


def library_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    grouped: dict[str, list[tuple[str, str]]] = {}
    for item in KPI_LIBRARY:
        grouped.setdefault(item.category, []).append((item.key, str(item.name)))
    return [(str(CATEGORIES[c]), items) for c, items in grouped.items()]


class LibraryPickForm(forms.Form):
    library = forms.ChoiceField(label=_("Start from the KPI library"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["library"].choices = [("", _("— type your own —"))] + library_choices()

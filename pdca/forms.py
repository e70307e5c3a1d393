"""The review and action forms: types and choices only; the rules are pdca.services'."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from goals.models import Node
from pdca.models import Action, ActionStatus, Cause


class ReviewForm(forms.Form):
    cause = forms.ChoiceField(label=_("Cause"), choices=[("", "—"), *Cause.choices], required=False)
    explanation = forms.CharField(
        label=_("Explanation"), widget=forms.Textarea(attrs={"rows": 4}), max_length=4000, required=False
    )
    bottleneck = forms.ModelChoiceField(
        label=_("Bottleneck"),
        queryset=Node.objects.none(),
        required=False,
        help_text=_("For an execution shortfall: the input that missed most (proposed)."),
    )
    went_well = forms.CharField(
        label=_("What went well"), widget=forms.Textarea(attrs={"rows": 3}), max_length=4000, required=False
    )

    def __init__(self, *args, inputs=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["bottleneck"].queryset = Node.objects.filter(pk__in=[n.pk for n in inputs]).order_by("lft")


class ActionForm(forms.ModelForm):
    class Meta:
        model = Action
        fields = ["measure", "title", "owner", "due_date", "status", "result"]
        widgets = {"due_date": forms.DateInput(attrs={"type": "date"}), "result": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, organisation=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = (
            get_user_model().objects.filter(membership__organisation=organisation).order_by("username")
        )
        self.fields["status"].choices = ActionStatus.choices

    def _post_clean(self) -> None:
        # The rules are pdca.services': the form does not validate the model itself.
        pass

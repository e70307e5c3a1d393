from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from alerts.models import AlertPreference, Kind


class PreferenceForm(forms.ModelForm):
    wanted_kinds = forms.MultipleChoiceField(
        label=_("Alerts I want"), choices=Kind.choices, required=False, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = AlertPreference
        fields = ["digest", "language"]
        widgets = {"digest": forms.RadioSelect}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        muted = set(self.instance.muted_kinds or ())
        self.fields["wanted_kinds"].initial = [k for k in Kind.values if k not in muted]

    def save(self, commit=True):
        wanted = set(self.cleaned_data["wanted_kinds"])
        self.instance.muted_kinds = [k for k in Kind.values if k not in wanted]
        return super().save(commit=commit)

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.dates import MONTHS
from django.utils.translation import gettext_lazy as _

from goals.actuals import SIGNED_UNITS, period_locked
from goals.library import CATEGORIES, KPI_LIBRARY, TREE_TEMPLATES
from goals.models import Kind, Measurement, Node, Organisation
from goals.periods import month_label, period_label
from goals.services import EDITABLE_FIELDS

DEFAULTED_FIELDS = ("target_scope", "at_risk_below", "off_track_below", "status_rule")


class NodeForm(forms.ModelForm):
    """The fields of a node. Rules beyond field types live in goals.smart / goals.services."""

    class Meta:
        model = Node
        fields = [*EDITABLE_FIELDS, "reporters"]
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
        self.fields["reporters"].queryset = users.order_by("username")
        self.fields["reporters"].label_from_instance = lambda u: u.get_full_name() or u.username
        if kind in (Kind.KGI, Kind.KSF):
            # Actuals are entered on KPIs and sub-KPIs; the form shows no reporters here.
            del self.fields["reporters"]
        # Settings with sensible defaults: an older client (or a test) may leave them out.
        for name in DEFAULTED_FIELDS:
            self.fields[name].required = False
        for name in ("baseline_value", "target_value", "target_min", "target_max", "weight"):
            self.fields[name].widget.attrs.update({"step": "any", "inputmode": "decimal"})
        if kind == Kind.KGI:
            # A KGI is the root: there is no parent to state a link to, and no siblings to be
            # weighed against.
            del self.fields["rationale"]
            del self.fields["weight"]
        _show_amounts_as_entered(self)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        for name in DEFAULTED_FIELDS:
            if cleaned.get(name) in (None, ""):
                cleaned[name] = getattr(self.instance, name) if self.instance.pk else Node._meta.get_field(name).default
        return cleaned

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


def _show_amounts_as_entered(form: forms.ModelForm) -> None:
    """A stored amount shows as it was typed: 140, not 140.0000; a weight of 1, not 1.000."""
    for name, field in form.fields.items():
        if isinstance(field, forms.DecimalField) and isinstance(form.initial.get(name), Decimal):
            form.initial[name] = plain_number(form.initial[name])


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
        # Grouped under each tree's KGI: the same KSF name may well appear in two trees.
        kgis = dict(
            Node.objects.filter(tree_id__in={t.tree_id for t in targets}, level=0).values_list("tree_id", "name")
        )
        groups: dict[int, list[tuple[int, str]]] = {}
        for target in sorted(targets, key=lambda t: (t.tree_id, t.lft)):
            label = f"{'— ' * (target.level - 1)}{target.get_kind_display()}: {target.name}"
            groups.setdefault(target.tree_id, []).append((target.pk, label))
        self.fields["parent"].choices = [("", "---------")] + [
            (_("Tree “%(name)s”") % {"name": kgis.get(tree_id, "")}, options) for tree_id, options in groups.items()
        ]


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


class TargetOverrideForm(forms.Form):
    period = forms.ChoiceField(label=_("Period"))
    value = forms.DecimalField(label=_("Target for that period"), max_digits=20, decimal_places=4, required=False)
    reason = forms.CharField(label=_("Reason"), max_length=300)

    def __init__(self, *args: Any, periods: list, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["period"].choices = [(p.isoformat(), p.isoformat()) for p in periods]
        self.fields["value"].widget.attrs.update({"step": "any", "inputmode": "decimal"})


class TargetRestateForm(forms.ModelForm):
    reason = forms.CharField(label=_("Reason for the restatement"), max_length=300)

    class Meta:
        model = Node
        fields = ["baseline_value", "target_value", "target_min", "target_max", "deadline"]
        widgets = {"deadline": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _show_amounts_as_entered(self)

    def _post_clean(self) -> None:
        # The rules are checked by goals.services.target_restate, as for every node change.
        pass


class OrganisationSettingsForm(forms.ModelForm):
    """What a manager sets for the whole organisation; goals.services.organisation_update applies it."""

    class Meta:
        model = Organisation
        fields = ["fiscal_year_start_month", "members_see_team_attainment", "plan_tolerance_percent"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["fiscal_year_start_month"] = forms.TypedChoiceField(
            label=self.fields["fiscal_year_start_month"].label,
            help_text=self.fields["fiscal_year_start_month"].help_text,
            choices=list(MONTHS.items()),
            coerce=int,
        )
        tolerance = self.fields["plan_tolerance_percent"]
        # Left empty: the default (5%), as for an organisation that never set it.
        tolerance.required = False
        tolerance.validators += [MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(100))]
        tolerance.widget.attrs.update({"min": "0", "max": "100", "step": "0.01", "inputmode": "decimal"})

    def clean_plan_tolerance_percent(self) -> Decimal:
        value = self.cleaned_data.get("plan_tolerance_percent")
        return Organisation._meta.get_field("plan_tolerance_percent").default if value is None else value

    def _post_clean(self) -> None:
        # The rules are checked by goals.services.organisation_update, which saves the change.
        pass

    def add_service_errors(self, error: ValidationError) -> None:
        _add_errors(self, error.message_dict, field_map={name: name for name in self.fields})


# --- actuals -------------------------------------------------------------------------------------


class ActualValueField(forms.DecimalField):
    """A number as people type it: thousands separators, spaces and full-width digits are fine."""

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str):
            # NFKC turns full-width digits and signs (typed with a Japanese IME) into ASCII ones.
            value = unicodedata.normalize("NFKC", value).replace(",", "").replace(" ", "").replace("_", "")
        return super().to_python(value)


def plain_number(value: Decimal | None) -> str:
    """A stored amount as an input shows it: 48, not 48.0000."""
    if value is None:
        return ""
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _value_field(**kwargs: Any) -> ActualValueField:
    return ActualValueField(
        max_digits=20,
        decimal_places=4,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off", "spellcheck": "false"}),
        **kwargs,
    )


def _add_errors(form: forms.Form, errors: dict[str, list[str]], *, field_map: dict[str, str | None]) -> None:
    for field, messages in errors.items():
        for message in messages:
            form.add_error(field_map.get(field), message)


class ActualForm(forms.Form):
    """One actual of one KPI: the period (its periods up to today), the value and a note."""

    period = forms.DateField(label=_("Period"), widget=forms.Select)
    value = _value_field(label=_("Actual"))
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=Measurement._meta.get_field("note").max_length,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required when the value puts the KPI off track: the cause and the next action."),
    )

    def __init__(
        self,
        *args: Any,
        node: Node,
        periods: list[date],
        locked: frozenset[date] = frozenset(),
        fiscal_start_month: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if locked and fiscal_start_month is None:
            fiscal_start_month = node.organisation.fiscal_year_start_month
        choices = [
            (
                p.isoformat(),
                period_label(p, node.frequency)
                + (" " + str(_("(locked)")) if locked and _locked(p, node, fiscal_start_month, locked) else ""),
            )
            for p in periods
        ]
        if self.is_bound:
            # Whatever was sent is shown again, even a period no longer offered.
            posted = self.data.get(self.add_prefix("period"), "")
            if posted and posted not in {value for value, _label in choices}:
                choices.insert(0, (posted, posted))
        self.fields["period"].widget.choices = choices
        if node.unit:
            self.fields["value"].label = _("Actual (%(unit)s)") % {"unit": node.unit}
        if node.unit.strip().lower() in SIGNED_UNITS:
            # A phone's decimal keypad has no minus sign.
            self.fields["value"].widget.attrs["inputmode"] = "text"

    def add_service_errors(self, error: ValidationError) -> None:
        _add_errors(self, error.message_dict, field_map={"value": "value", "period": "period", "note": "note"})


def _locked(period: date, node: Node, fiscal_start_month: int, locked: frozenset[date]) -> bool:
    # The service's rule (all of the period's months locked): what is marked open is accepted.
    return period_locked(
        period=period, frequency=node.frequency, fiscal_start_month=fiscal_start_month, locked_months=locked
    )


@dataclass
class GridCell:
    node: Node
    period: date
    label: str
    name: str
    existing: Decimal | None
    existing_note: str
    locked: bool


@dataclass
class GridRow:
    node: Node
    cells: list[GridCell | None]  # oldest first; None where the KPI had not started
    note_name: str


def grid_rows(
    nodes: list[Node],
    periods: dict[int, list[date]],
    measurements: dict[tuple[int, date], Any],
    locked: frozenset[date],
    *,
    fiscal_start_month: int,
) -> list[GridRow]:
    """The grid's rows: each KPI with its last periods (``periods`` per node, oldest first)."""
    rows = []
    width = max((len(p) for p in periods.values()), default=0)
    for node in nodes:
        cells: list[GridCell | None] = [None] * (width - len(periods[node.pk]))
        for period in periods[node.pk]:
            existing = measurements.get((node.pk, period))
            cells.append(
                GridCell(
                    node=node,
                    period=period,
                    label=period_label(period, node.frequency),
                    name=f"v-{node.pk}-{period.isoformat()}",
                    existing=existing.value if existing else None,
                    existing_note=existing.note if existing else "",
                    locked=_locked(period, node, fiscal_start_month, locked),
                )
            )
        rows.append(GridRow(node=node, cells=cells, note_name=f"note-{node.pk}"))
    return rows


class ActualsGridForm(forms.Form):
    """Several KPIs × their last periods at once; only the cells that change are saved."""

    def __init__(self, *args: Any, rows: list[GridRow], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rows = rows
        for row in rows:
            for cell in row.cells:
                if cell is None:
                    continue
                field = _value_field(label=f"{row.node.name}, {cell.label}", required=False)
                field.initial = plain_number(cell.existing)
                if cell.locked:
                    field.widget.attrs["readonly"] = True
                self.fields[cell.name] = field
            self.fields[row.note_name] = forms.CharField(
                label=_("Note on %(name)s") % {"name": row.node.name},
                required=False,
                max_length=Measurement._meta.get_field("note").max_length,
                widget=forms.TextInput(attrs={"autocomplete": "off"}),
            )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        for row in self.rows:
            changed = False
            for cell in row.cells:
                if cell is None or cell.name not in cleaned:
                    continue
                value = cleaned[cell.name]
                if value is None and cell.existing is not None:
                    self.add_error(cell.name, _("An entered actual cannot be emptied here; type the corrected value."))
                changed = changed or (value is not None and value != cell.existing)
            if cleaned.get(row.note_name, "").strip() and not changed:
                self.add_error(
                    row.note_name,
                    _("A note is saved with a changed value: change a value in this row or clear the note."),
                )
        return cleaned

    def changed_cells(self) -> list[tuple[GridCell, Decimal, str]]:
        """(cell, new value, note) for every cell whose value differs from the stored one."""
        out = []
        for row in self.rows:
            note = self.cleaned_data.get(row.note_name, "").strip()
            for cell in row.cells:
                if cell is None:
                    continue
                value = self.cleaned_data.get(cell.name)
                if value is not None and value != cell.existing:
                    # Without a new note the cell keeps the one it has.
                    out.append((cell, value, note or cell.existing_note))
        return out

    def add_row_errors(
        self, changed: list[tuple[GridCell, Decimal, str]], rows: dict[int, dict[str, list[str]]]
    ) -> None:
        """Put the errors of a bulk save (per entry index) next to the cell or the row's note."""
        note_names = {row.node.pk: row.note_name for row in self.rows}
        for index, errors in rows.items():
            cell = changed[index][0]
            for field, messages in errors.items():
                for message in messages:
                    if field == "note":
                        self.add_error(note_names[cell.node.pk], f"{cell.label}: {message}")
                    else:
                        self.add_error(cell.name, message)


class MonthForm(forms.Form):
    """Lock a month, or reopen one (then the reason is required by goals.actuals)."""

    month = forms.DateField(label=_("Month"), widget=forms.Select)
    reason = forms.CharField(label=_("Reason"), required=False, max_length=300)

    def __init__(self, *args: Any, months: list[date], locked: frozenset[date], reopen: bool = False, **kwargs: Any):
        super().__init__(*args, **kwargs)
        choices = [(m.isoformat(), month_label(m) + (" " + str(_("(locked)")) if m in locked else "")) for m in months]
        self.fields["month"].widget.choices = choices
        if reopen:
            self.fields["reason"].help_text = _("Required: why the month is opened again.")
        else:
            self.fields["reason"].help_text = _("Optional, e.g. “figures reported to the board”.")

    def add_service_errors(self, error: ValidationError) -> None:
        _add_errors(self, error.message_dict, field_map={"month": "month", "reason": "reason"})

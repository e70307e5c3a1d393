from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from mptt.admin import MPTTModelAdmin
from simple_history.admin import SimpleHistoryAdmin

from goals import services
from goals.models import Measurement, Membership, Node, Organisation


class NodeAdminForm(forms.ModelForm):
    class Meta:
        model = Node
        fields = ["organisation", "parent", "kind", *services.EDITABLE_FIELDS]

    def _post_clean(self) -> None:
        # The same checks as the web form and the API: goals.services.node_check (SMART etc.).
        super()._post_clean()
        if self.errors:
            return
        # On a change the place is read-only (NodeAdmin.get_readonly_fields): check it where it is.
        organisation = self.cleaned_data.get("organisation") or self.instance.organisation
        parent = self.cleaned_data.get("parent") if "parent" in self.fields else self.instance.parent
        try:
            services.node_check(organisation=organisation, parent=parent, node=self.instance)
        except ValidationError as error:
            for field, messages in error.message_dict.items():
                for message in messages:
                    self.add_error(field if field in self.fields else None, message)


@admin.register(Node)
class NodeAdmin(SimpleHistoryAdmin, MPTTModelAdmin):
    form = NodeAdminForm
    list_display = ["name", "kind", "organisation", "owner", "is_archived"]
    list_filter = ["organisation", "kind", "is_archived"]
    search_fields = ["name", "code"]
    # Where a node sits changes through the app's move, archive, restore and delete, which check
    # the tree around it (goals.services); the admin only creates nodes and edits their fields.
    PLACE_FIELDS = ("organisation", "parent", "kind")

    def get_readonly_fields(self, request, obj=None):
        return (*super().get_readonly_fields(request, obj), *(self.PLACE_FIELDS if obj is not None else ()))

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data.get(name) for name in services.EDITABLE_FIELDS}
        if change:
            saved = services.node_update(node=obj, actor=request.user, data=data)
        else:
            saved = services.node_create(
                organisation=form.cleaned_data["organisation"],
                actor=request.user,
                kind=form.cleaned_data["kind"],
                parent=form.cleaned_data.get("parent"),
                data=data,
            )
        obj.pk = saved.pk


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    # A new organisation is created here; its settings change on its Settings page, through
    # goals.services.organisation_update — a fiscal year moved here would leave every stored
    # quarter and year of its trees wrong until some later rollup.
    SETTINGS_FIELDS = ("fiscal_year_start_month", "members_see_team_attainment")

    def get_readonly_fields(self, request, obj=None):
        return (*super().get_readonly_fields(request, obj), *(self.SETTINGS_FIELDS if obj is not None else ()))


admin.site.register(Membership)


@admin.register(Measurement)
class MeasurementAdmin(admin.ModelAdmin):
    """Read only: actuals are entered in the app or the API (goals.actuals), which check locks and
    the node's window, keep the value history and request the tree's rollup — the admin does none."""

    list_display = ("node", "period_start", "value", "entered_by", "entered_at")
    list_select_related = ("node", "entered_by")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

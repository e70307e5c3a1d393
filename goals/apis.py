"""REST API v1 for KPI trees and their actuals: one class per operation, each with its own serializers.

Serializers check types only; every rule is in goals.services / goals.smart / goals.actuals, as
for the forms.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from django.contrib.auth import get_user_model
from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import permissions, serializers, status
from rest_framework.exceptions import APIException, PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from goals import access, actuals, selectors, services
from goals.api_input import ApiPagination, PageQuerySerializer, refuse_null_characters
from goals.models import Kind, Measurement, Membership, Node, Status
from goals.periods import EARLIEST_DATE, LATEST_DATE, MAX_WINDOW_PERIODS, is_supported_date
from goals.rollup import explain

User = get_user_model()


class IsOrganisationMember(permissions.BasePermission):
    """Signed in with a membership; writes only for managers (403 for others)."""

    # Lazy: a class attribute is evaluated at import, before any request chose a language.
    message = gettext_lazy("Only managers may change KPI trees.")

    def has_permission(self, request, view) -> bool:
        membership = selectors.membership_for(request.user)
        if membership is None:
            raise PermissionDenied(_("Your account does not belong to an organisation."))
        request.membership = membership
        if request.method in permissions.SAFE_METHODS:
            return True
        return access.builds_trees(membership)


class OrganisationApi(APIView):
    permission_classes = [permissions.IsAuthenticated, IsOrganisationMember]

    def initial(self, request, *args, **kwargs) -> None:
        super().initial(request, *args, **kwargs)
        refuse_null_characters(request.query_params)

    def query(self, serializer_class: type[serializers.Serializer]) -> dict:
        """The query string checked by ``serializer_class``: 400 with messages per parameter."""
        serializer = serializer_class(data=self.request.query_params)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    @property
    def membership(self) -> Membership:
        return self.request.membership

    def node(self, pk: int) -> Node:
        return selectors.node_get(self.membership, pk)

    def visible_node(self, node: Node) -> Node:
        """The node, or 403 when it is another team member's personal KPI (goals.access): its
        figures, actuals and their history are theirs and the managers'."""
        if not access.node_attainment_visible(self.membership, node):
            raise PermissionDenied(_("Only managers, and the team member who owns it, see this KPI's figures."))
        return node

    def node_with_attainment(self, pk: int) -> Node:
        """:meth:`visible_node`, or 409 when it is archived (the rollup leaves archived nodes
        out: they have no figures)."""
        node = self.visible_node(self.node(pk))
        if node.is_archived:
            raise Conflict(_("This node is archived: restore it to see its figures."))
        return node


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT


def _service_errors(error: DjangoValidationError) -> ValidationError:
    detail = {
        ("non_field_errors" if field == NON_FIELD_ERRORS else field): messages
        for field, messages in error.message_dict.items()
    }
    return ValidationError(detail)


# Ids are PostgreSQL bigints: a larger number is a bad parameter (400), not a missing node.
MAX_ID = 2**63 - 1


class IdField(serializers.PrimaryKeyRelatedField):
    """A related object's id, which must be an integer: DRF's own field reads 3.5 as 3 and true as 1."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, (int, str)) or not str(data).strip().isdigit():
            self.fail("incorrect_type", data_type=type(data).__name__)
        if int(data) > MAX_ID:
            self.fail("does_not_exist", pk_value=data)
        return super().to_internal_value(data)


class SupportedDateField(serializers.DateField):
    """A date kpitree computes with (goals.periods): outside it, a period's end or a range of
    periods may not exist (9999-12-31 has no next day) or take minutes to go through."""

    def __init__(self, **kwargs) -> None:
        kwargs["help_text"] = f"{kwargs.get('help_text', 'a date')}; from {EARLIEST_DATE} to {LATEST_DATE}"
        super().__init__(**kwargs)

    def to_internal_value(self, value) -> date:
        day = super().to_internal_value(value)
        if not is_supported_date(day):
            raise ValidationError(
                [_("Give a date between %(first)s and %(last)s.") % {"first": EARLIEST_DATE, "last": LATEST_DATE}]
            )
        return day


def _id_field(help_text: str) -> serializers.IntegerField:
    return serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False, help_text=help_text)


def _max_length(model, field: str) -> int:
    """The model's limit, so the API refuses what the forms refuse (and not more)."""
    return model._meta.get_field(field).max_length


class SmartSerializer(serializers.Serializer):
    level = serializers.ChoiceField(choices=["pass", "warning", "error"])
    letters = serializers.DictField(child=serializers.DictField())
    findings = serializers.ListField(child=serializers.DictField())


class NodeOutputSerializer(serializers.ModelSerializer):
    smart = serializers.SerializerMethodField()

    class Meta:
        model = Node
        fields = ["id", "kind", "parent", *services.EDITABLE_FIELDS, "is_archived", "level", "smart"]

    @extend_schema_field(SmartSerializer)
    def get_smart(self, node: Node) -> dict:
        return self.context["reports"][node.pk].as_dict()


class NodeInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=_max_length(Node, "name"), required=False)
    description = serializers.CharField(max_length=_max_length(Node, "description"), required=False, allow_blank=True)
    code = serializers.CharField(max_length=_max_length(Node, "code"), required=False)
    owner = IdField(queryset=User.objects.none(), required=False, allow_null=True)
    unit = serializers.CharField(max_length=_max_length(Node, "unit"), required=False, allow_blank=True)
    direction = serializers.ChoiceField(choices=Node._meta.get_field("direction").choices, required=False)
    baseline_value = serializers.DecimalField(max_digits=20, decimal_places=4, required=False, allow_null=True)
    target_value = serializers.DecimalField(max_digits=20, decimal_places=4, required=False, allow_null=True)
    target_min = serializers.DecimalField(max_digits=20, decimal_places=4, required=False, allow_null=True)
    target_max = serializers.DecimalField(max_digits=20, decimal_places=4, required=False, allow_null=True)
    start_date = serializers.DateField(required=False, allow_null=True)
    deadline = serializers.DateField(required=False, allow_null=True)
    frequency = serializers.ChoiceField(choices=Node._meta.get_field("frequency").choices, required=False)
    indicator_type = serializers.ChoiceField(choices=Node._meta.get_field("indicator_type").choices, required=False)
    weight = serializers.DecimalField(max_digits=8, decimal_places=3, min_value=0, required=False)
    value_source = serializers.ChoiceField(choices=Node._meta.get_field("value_source").choices, required=False)
    formula = serializers.CharField(max_length=_max_length(Node, "formula"), required=False, allow_blank=True)
    time_aggregation = serializers.ChoiceField(choices=Node._meta.get_field("time_aggregation").choices, required=False)
    rationale = serializers.CharField(max_length=_max_length(Node, "rationale"), required=False, allow_blank=True)
    target_scope = serializers.ChoiceField(choices=Node._meta.get_field("target_scope").choices, required=False)
    at_risk_below = serializers.DecimalField(max_digits=6, decimal_places=2, min_value=0, required=False)
    off_track_below = serializers.DecimalField(max_digits=6, decimal_places=2, min_value=0, required=False)
    status_rule = serializers.ChoiceField(choices=Node._meta.get_field("status_rule").choices, required=False)

    def __init__(self, *args, membership: Membership | None = None, **kwargs) -> None:
        # membership is None only when drf-spectacular instantiates the class to build the schema.
        super().__init__(*args, **kwargs)
        if membership is not None:
            self.fields["owner"].queryset = User.objects.filter(membership__organisation_id=membership.organisation_id)


class NodeCreateSerializer(NodeInputSerializer):
    kind = serializers.ChoiceField(choices=Kind.choices)
    parent = IdField(queryset=Node.objects.none(), allow_null=True, required=False)
    name = serializers.CharField(max_length=_max_length(Node, "name"))
    code = serializers.CharField(max_length=_max_length(Node, "code"))

    def __init__(self, *args, membership: Membership | None = None, **kwargs) -> None:
        super().__init__(*args, membership=membership, **kwargs)
        if membership is not None:
            self.fields["parent"].queryset = selectors.nodes_of(membership)


_MESSAGES = {"type": "array", "items": {"type": "string"}}
_NOT_JSON = {"type": "string", "description": "why the body could not be read (not JSON, nested too deeply)"}
_FIELD_ERRORS = OpenApiResponse(
    response={"type": "object", "properties": {"detail": _NOT_JSON}, "additionalProperties": _MESSAGES},
    description='messages per field or query parameter: {"value": ["A valid number is required."]}',
)
_DETAIL = inline_serializer("ErrorDetail", {"detail": serializers.CharField()})
_READ_ERRORS = {
    400: _FIELD_ERRORS,
    403: OpenApiResponse(_DETAIL, description="not allowed for the caller's role"),
    404: OpenApiResponse(_DETAIL, description="no such node in the caller's organisation"),
}
_FIGURES_ERRORS = {**_READ_ERRORS, 409: OpenApiResponse(_DETAIL, description="the node is archived")}
_WRITE_ERRORS = {
    **_READ_ERRORS,
    413: OpenApiResponse(_DETAIL, description="the request body is larger than the limit"),
}


def _reports_for(nodes: list[Node]) -> dict:
    """SMART reports for some nodes, each checked within its tree, in a fixed number of queries
    that read their neighbours only (never the whole tree: see selectors.nodes_smart_reports)."""
    return selectors.nodes_smart_reports(nodes)


def _output(nodes: list[Node]) -> list[dict]:
    return NodeOutputSerializer(nodes, many=True, context={"reports": _reports_for(nodes)}).data


def _page_of(name: str, item_serializer):
    """The limit/offset page envelope, spelled out: an APIView's pagination is invisible to
    drf-spectacular."""
    return inline_serializer(
        name,
        {
            "count": serializers.IntegerField(),
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": item_serializer(many=True),
        },
    )


class NodeListCreateApi(OrganisationApi):
    class QuerySerializer(PageQuerySerializer):
        kind = serializers.ChoiceField(choices=Kind.choices, required=False)
        tree = _id_field("id of a node (typically a KGI): only the nodes of its tree")
        archived = serializers.BooleanField(required=False, default=False, help_text="include archived nodes")

    @extend_schema(
        operation_id="nodes_list",
        parameters=[QuerySerializer],
        responses={200: _page_of("PaginatedNodeOutputList", NodeOutputSerializer), **_READ_ERRORS},
    )
    def get(self, request):
        params = self.query(self.QuerySerializer)
        nodes = selectors.nodes_of(self.membership).order_by("tree_id", "lft")
        if not params["archived"]:
            nodes = nodes.filter(is_archived=False)
        if "kind" in params:
            nodes = nodes.filter(kind=params["kind"])
        if "tree" in params:
            nodes = nodes.filter(tree_id=self.node(params["tree"]).tree_id)
        paginator = ApiPagination()
        page = paginator.paginate_queryset(nodes, request, view=self)
        return paginator.get_paginated_response(_output(page))

    @extend_schema(request=NodeCreateSerializer, responses={201: NodeOutputSerializer, **_WRITE_ERRORS})
    def post(self, request):
        serializer = NodeCreateSerializer(data=request.data, membership=self.membership)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        kind, parent = data.pop("kind"), data.pop("parent", None)
        try:
            node = services.node_create(
                organisation=self.membership.organisation, actor=request.user, kind=kind, parent=parent, data=data
            )
        except DjangoValidationError as error:
            raise _service_errors(error) from None
        return Response(_output([node])[0], status=status.HTTP_201_CREATED)


class NodeDetailApi(OrganisationApi):
    @extend_schema(responses={200: NodeOutputSerializer, **_READ_ERRORS})
    def get(self, request, pk: int):
        return Response(_output([self.node(pk)])[0])

    def _update(self, request, pk: int, *, partial: bool):
        node = self.node(pk)
        serializer = NodeInputSerializer(data=request.data, membership=self.membership, partial=partial)
        serializer.is_valid(raise_exception=True)
        try:
            node = services.node_update(node=node, actor=request.user, data=serializer.validated_data)
        except DjangoValidationError as error:
            raise _service_errors(error) from None
        return Response(_output([node])[0])

    @extend_schema(request=NodeInputSerializer, responses={200: NodeOutputSerializer, **_WRITE_ERRORS})
    def put(self, request, pk: int):
        return self._update(request, pk, partial=False)

    @extend_schema(request=NodeInputSerializer, responses={200: NodeOutputSerializer, **_WRITE_ERRORS})
    def patch(self, request, pk: int):
        return self._update(request, pk, partial=True)

    @extend_schema(responses={204: None, 409: OpenApiResponse(_DETAIL, description="not empty"), **_READ_ERRORS})
    def delete(self, request, pk: int):
        """Delete an empty node (no children, no actuals); anything else must be archived."""
        node = self.node(pk)
        try:
            services.node_delete(node=node, actor=request.user)
        except DjangoValidationError as error:
            return Response({"detail": " ".join(error.messages)}, status=status.HTTP_409_CONFLICT)
        return Response(status=status.HTTP_204_NO_CONTENT)


class NodeArchiveApi(OrganisationApi):
    @extend_schema(request=None, responses={200: NodeOutputSerializer, **_WRITE_ERRORS})
    def post(self, request, pk: int):
        try:
            # Refused (400) while a formula above uses a code of its subtree.
            node = services.node_archive(node=self.node(pk), actor=request.user)
        except DjangoValidationError as error:
            raise _service_errors(error) from None
        return Response(_output([node])[0])


class NodeRestoreApi(OrganisationApi):
    @extend_schema(request=None, responses={200: NodeOutputSerializer, **_READ_ERRORS})
    def post(self, request, pk: int):
        try:
            node = services.node_restore(node=self.node(pk), actor=request.user)
        except DjangoValidationError as error:
            raise _service_errors(error) from None
        return Response(_output([node])[0])


class NodeMoveApi(OrganisationApi):
    class InputSerializer(serializers.Serializer):
        parent = IdField(queryset=Node.objects.none())
        position = serializers.IntegerField(required=False, min_value=0, allow_null=True)

    @extend_schema(request=InputSerializer, responses={200: NodeOutputSerializer, **_WRITE_ERRORS})
    def post(self, request, pk: int):
        node = self.node(pk)
        serializer = self.InputSerializer(data=request.data)
        serializer.fields["parent"].queryset = selectors.nodes_of(self.membership)
        serializer.is_valid(raise_exception=True)
        try:
            node = services.node_move(
                node=node,
                actor=request.user,
                new_parent=serializer.validated_data["parent"],
                position=serializer.validated_data.get("position"),
            )
        except DjangoValidationError as error:
            raise _service_errors(error) from None
        return Response(_output([node])[0])


class NodeSmartApi(OrganisationApi):
    @extend_schema(responses={200: SmartSerializer, **_READ_ERRORS})
    def get(self, request, pk: int):
        node = self.node(pk)
        return Response(_reports_for([node])[node.pk].as_dict())


class NodeTreeOutputSerializer(NodeOutputSerializer):
    """A node's own fields plus its children, each nested the same way."""

    children = serializers.ListField(child=serializers.DictField())

    class Meta(NodeOutputSerializer.Meta):
        fields = [*NodeOutputSerializer.Meta.fields, "children"]


class NodeTreeApi(OrganisationApi):
    """The node's subtree, nested, in a number of queries that does not grow with its size."""

    class QuerySerializer(serializers.Serializer):
        archived = serializers.BooleanField(required=False, default=False, help_text="include archived nodes")

    @extend_schema(parameters=[QuerySerializer], responses={200: NodeTreeOutputSerializer, **_READ_ERRORS})
    def get(self, request, pk: int):
        include_archived = self.query(self.QuerySerializer)["archived"]
        node = self.node(pk)
        nodes = selectors.subtree_nodes(node, include_archived=include_archived or node.is_archived)
        data = _output(nodes)
        children: dict[int | None, list[dict]] = defaultdict(list)
        for item in data:
            item["children"] = children[item["id"]]
            children[item["parent"]].append(item)
        return Response(data[0])


# --- actuals ----------------------------------------------------------------------------------


class MayEnterActuals(IsOrganisationMember):
    """Reads for every role; writes for managers and team members — which nodes a member may
    enter for is goals.actuals.can_enter's call, per node. Executives only read (403)."""

    message = gettext_lazy("Executives read actuals; managers and team members enter them.")

    def has_permission(self, request, view) -> bool:
        return super().has_permission(request, view) or access.enters_actuals(request.membership)


class MeasurementInputSerializer(serializers.Serializer):
    node = IdField(queryset=Node.objects.none())
    period_start = serializers.DateField(
        help_text=f"first day of the node's period (a month: its 1st), inside its window; from {EARLIEST_DATE} "
        f"to {LATEST_DATE}"
    )
    value = serializers.DecimalField(max_digits=20, decimal_places=4)
    note = serializers.CharField(
        max_length=_max_length(Measurement, "note"),
        allow_blank=True,
        default="",
        help_text="required when the value is off track",
    )

    def __init__(self, *args, membership: Membership | None = None, **kwargs) -> None:
        # membership is None only when drf-spectacular instantiates the class to build the schema.
        super().__init__(*args, **kwargs)
        if membership is not None:
            # Another organisation's node gets the same answer as one that does not exist.
            self.fields["node"].queryset = selectors.nodes_of(membership)


class MeasurementOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Measurement
        fields = ["id", "node", "period_start", "value", "note", "entered_by", "entered_at"]


def _entry(data: dict) -> actuals.Entry:
    return actuals.Entry(node=data["node"], period=data["period_start"], value=data["value"], note=data["note"])


def _entry_errors(errors: dict[str, list[str]]) -> dict[str, list[str]]:
    """The rules' messages under the API's field names (the rules call the period ``period``)."""
    return {("period_start" if field == "period" else field): messages for field, messages in errors.items()}


def _range_fields(first_help: str, last_help: str) -> dict[str, serializers.Field]:
    # "from" is a Python keyword, so a range's fields cannot be declared as class attributes.
    return {
        "from": SupportedDateField(required=False, help_text=first_help),
        "to": SupportedDateField(required=False, help_text=last_help),
    }


class MeasurementListCreateApi(OrganisationApi):
    permission_classes = [permissions.IsAuthenticated, MayEnterActuals]

    class QuerySerializer(PageQuerySerializer):
        node = _id_field("only this node's actuals")
        tree = _id_field("id of a KGI (or any node of its tree): only that tree")

        def get_fields(self):
            return {
                **super().get_fields(),
                **_range_fields("first period start of the range (YYYY-MM-DD)", "last period start of the range"),
            }

    @extend_schema(
        operation_id="measurements_list",
        parameters=[QuerySerializer],
        responses={200: _page_of("PaginatedMeasurementOutputList", MeasurementOutputSerializer), **_READ_ERRORS},
    )
    def get(self, request):
        params = self.query(self.QuerySerializer)
        measurements = selectors.measurement_list(
            membership=self.membership,
            node=self.node(params["node"]) if "node" in params else None,
            tree=self.node(params["tree"]) if "tree" in params else None,
            first=params.get("from"),
            last=params.get("to"),
        )
        if hidden := access.attainment_hidden_owners(self.membership):
            # Another team member's personal KPIs stay private unless the organisation shares them.
            reported = Node.objects.filter(reporters=self.membership.user_id).values("pk")
            measurements = measurements.filter(~Q(node__owner_id__in=hidden) | Q(node_id__in=reported))
        paginator = ApiPagination()
        page = paginator.paginate_queryset(measurements, request, view=self)
        return paginator.get_paginated_response(MeasurementOutputSerializer(page, many=True).data)

    @extend_schema(
        operation_id="measurements_create",
        request=MeasurementInputSerializer,
        responses={
            201: MeasurementOutputSerializer,
            200: MeasurementOutputSerializer,
            **_WRITE_ERRORS,
        },
        description="Enter the actual of a node for a period; a second entry for the same node and period "
        "replaces the value (201 when created, 200 when replaced; the previous value stays in the history).",
    )
    def post(self, request):
        serializer = MeasurementInputSerializer(data=request.data, membership=self.membership)
        serializer.is_valid(raise_exception=True)
        entry = _entry(serializer.validated_data)
        if not actuals.can_enter(self.membership, entry.node):
            raise PermissionDenied(_("You may not enter actuals for this KPI."))
        existed = selectors.measurement_exists(node=entry.node, period=entry.period)
        try:
            measurement = actuals.measurement_upsert(
                membership=self.membership, entry=entry, today=timezone.localdate()
            )
        except DjangoValidationError as error:
            raise ValidationError(_entry_errors(error.message_dict)) from None
        return Response(
            MeasurementOutputSerializer(measurement).data,
            status=status.HTTP_200_OK if existed else status.HTTP_201_CREATED,
        )


class MeasurementBulkApi(OrganisationApi):
    """Many actuals at once, all or none (the member's grid, an import)."""

    permission_classes = [permissions.IsAuthenticated, MayEnterActuals]
    MAX_ROWS = 1000

    class MeasurementBulkInputSerializer(serializers.Serializer):
        # Declared for the schema; the rows are checked one by one to report errors per index.
        rows = MeasurementInputSerializer(many=True)

    @extend_schema(
        operation_id="measurements_bulk_create",
        request=MeasurementBulkInputSerializer,
        responses={
            **_WRITE_ERRORS,
            201: inline_serializer("MeasurementBulkOutput", {"rows": MeasurementOutputSerializer(many=True)}),
            400: OpenApiResponse(
                response={
                    "type": "object",
                    "properties": {
                        "detail": _NOT_JSON,
                        "rows": {
                            "oneOf": [
                                _MESSAGES,
                                {
                                    "type": "object",
                                    "additionalProperties": {"type": "object", "additionalProperties": _MESSAGES},
                                },
                            ]
                        },
                    },
                },
                description="messages about the rows as a whole, or per field of each bad row by row index: "
                '{"rows": {"2": {"value": ["…"]}}}',
            ),
        },
    )
    def post(self, request):
        rows = request.data.get("rows") if isinstance(request.data, dict) else None
        if not isinstance(rows, list) or not rows:
            raise ValidationError({"rows": [_("Send a non-empty list of rows.")]})
        if len(rows) > self.MAX_ROWS:
            raise ValidationError({"rows": [_("Send at most %(count)s rows at once.") % {"count": self.MAX_ROWS}]})
        entries, errors = [], {}
        for index, row in enumerate(rows):
            serializer = MeasurementInputSerializer(data=row, membership=self.membership)
            if serializer.is_valid():
                entries.append(_entry(serializer.validated_data))
            else:
                errors[str(index)] = serializer.errors
        if errors:
            # Type errors first: the rules below need every row well formed.
            raise ValidationError({"rows": errors})
        try:
            saved = actuals.measurements_upsert_bulk(
                membership=self.membership, entries=entries, today=timezone.localdate()
            )
        except actuals.RowErrors as error:
            raise ValidationError(
                {"rows": {str(index): _entry_errors(fields) for index, fields in error.rows.items()}}
            ) from None
        return Response({"rows": MeasurementOutputSerializer(saved, many=True).data}, status=status.HTTP_201_CREATED)


# --- value history -------------------------------------------------------------------------------


class ValueChangeSerializer(serializers.Serializer):
    measurement = serializers.IntegerField(source="measurement_id")
    node = serializers.IntegerField(source="node_id")
    period_start = serializers.DateField(source="period")
    change = serializers.ChoiceField(
        choices=selectors.ValueChangeKind.choices,
        source="kind",
        help_text="created: first entered; replaced: entered again for the same period; deleted: removed",
    )
    changed_at = serializers.DateTimeField(source="when")
    changed_by = serializers.IntegerField(source="who_id", allow_null=True, help_text="user id (null: unknown)")
    changed_by_name = serializers.CharField(source="who_name", help_text="full name, else login name")
    before = serializers.DecimalField(
        max_digits=20, decimal_places=4, allow_null=True, help_text="null when the actual was first entered"
    )
    after = serializers.DecimalField(
        max_digits=20, decimal_places=4, allow_null=True, help_text="null when the actual was removed"
    )
    note = serializers.CharField(help_text="the actual's note as of this change")


def _history_page(request, view, records) -> Response:
    paginator = ApiPagination()
    page = paginator.paginate_queryset(records, request, view=view)
    return paginator.get_paginated_response(ValueChangeSerializer(selectors.value_changes(page), many=True).data)


_HISTORY_RESPONSES = {200: _page_of("PaginatedValueChangeList", ValueChangeSerializer), **_READ_ERRORS}


class MeasurementHistoryApi(OrganisationApi):
    """Who entered and replaced an actual, when, the value before and after, and the note."""

    @extend_schema(
        operation_id="measurements_history_list",
        parameters=[PageQuerySerializer],
        responses=_HISTORY_RESPONSES,
        description="Every change of the actual, newest first. 404 for an actual of another organisation; "
        "403 for a team member when it is another member's personal KPI (unless the organisation shares them).",
    )
    def get(self, request, pk: int):
        measurement = selectors.measurement_get(self.membership, pk)
        self.visible_node(measurement.node)
        return _history_page(request, self, selectors.measurement_value_history(measurement))


class NodeValueHistoryApi(OrganisationApi):
    """Every change of a node's actuals, newest first: who changed what, and when."""

    class QuerySerializer(PageQuerySerializer):
        period = SupportedDateField(required=False, help_text="any day of one of the node's periods: only its actual")

    @extend_schema(
        operation_id="nodes_value_history_list",
        parameters=[QuerySerializer],
        responses=_HISTORY_RESPONSES,
        description="Every change of the node's actuals (removed ones included), newest first. 403 for a team "
        "member when it is another member's personal KPI (unless the organisation shares them).",
    )
    def get(self, request, pk: int):
        period = self.query(self.QuerySerializer).get("period")
        node = self.visible_node(self.node(pk))
        return _history_page(request, self, selectors.node_value_history(node, period=period))


# --- progress and explanation ---------------------------------------------------------------------


class ProgressFiguresSerializer(serializers.Serializer):
    actual = serializers.FloatField(allow_null=True)
    target = serializers.FloatField(allow_null=True, help_text="target to date (null for a range)")
    target_min = serializers.FloatField(allow_null=True)
    target_max = serializers.FloatField(allow_null=True)
    attainment = serializers.FloatField(
        allow_null=True, help_text="% of the target to date, one decimal (half up) as the pages show it"
    )
    gap = serializers.FloatField(allow_null=True, help_text="positive when ahead, whatever the direction")
    status = serializers.ChoiceField(choices=Status.choices)
    missing_inputs = serializers.IntegerField(help_text="periods without an actual, over the node and its inputs")
    reason = serializers.CharField()


class ProgressPeriodSerializer(ProgressFiguresSerializer):
    period_start = serializers.DateField()

    def get_fields(self):
        fields = super().get_fields()
        return {"period_start": fields.pop("period_start"), **fields}


class NodeProgressSerializer(serializers.Serializer):
    node = serializers.IntegerField()
    periods = ProgressPeriodSerializer(many=True)
    to_date = ProgressFiguresSerializer(help_text="the same figures over the whole range")
    stale = serializers.BooleanField(help_text="true while a recomputation of the tree is pending")

    def get_fields(self):
        # "from" is a Python keyword, so the range's fields cannot be declared as attributes.
        fields = super().get_fields()
        return {
            "node": fields.pop("node"),
            "from": serializers.DateField(),
            "to": serializers.DateField(),
            **fields,
        }


class NodeProgressApi(OrganisationApi):
    class QuerySerializer(serializers.Serializer):
        def get_fields(self):
            return _range_fields(
                "start of the range (YYYY-MM-DD); default: the node's start",
                "end of the range (YYYY-MM-DD); default: today, or the node's deadline when it is earlier",
            )

    @extend_schema(
        operation_id="nodes_progress_retrieve",
        parameters=[QuerySerializer],
        responses={200: NodeProgressSerializer, **_FIGURES_ERRORS},
        description="A range must overlap the node's window and hold at most as many of its periods as a "
        "node's window may: " + ", ".join(f"{count} {frequency}" for frequency, count in MAX_WINDOW_PERIODS.items()),
    )
    def get(self, request, pk: int):
        node = self.node_with_attainment(pk)
        params = self.query(self.QuerySerializer)
        today = timezone.localdate()
        try:
            first, last = explain.progress_range(node, first=params.get("from"), last=params.get("to"), today=today)
        except DjangoValidationError as error:
            raise _service_errors(error) from None
        return Response(NodeProgressSerializer(explain.node_progress(node, first=first, last=last, as_of=today)).data)


class ExplainInputSerializer(serializers.Serializer):
    node = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()
    unit = serializers.CharField()
    value = serializers.FloatField(allow_null=True)
    status = serializers.ChoiceField(choices=Status.choices)


class NodeExplainSerializer(serializers.Serializer):
    period_start = serializers.DateField()
    actual = serializers.FloatField(allow_null=True)
    target = serializers.FloatField(allow_null=True)
    target_min = serializers.FloatField(allow_null=True)
    target_max = serializers.FloatField(allow_null=True)
    attainment = serializers.FloatField(allow_null=True)
    gap = serializers.FloatField(allow_null=True)
    status = serializers.ChoiceField(choices=Status.choices)
    missing_inputs = serializers.IntegerField()
    rule = serializers.CharField(help_text="the rule that decided the status")
    inputs = ExplainInputSerializer(
        many=True,
        help_text="the children it is computed or judged from (for a team member, without other members' "
        "personal KPIs unless the organisation shares them)",
    )
    value_source = serializers.ChoiceField(choices=Node._meta.get_field("value_source").choices)
    stale = serializers.BooleanField()


class NodeExplainApi(OrganisationApi):
    class QuerySerializer(serializers.Serializer):
        period = SupportedDateField(help_text="any day of the period (YYYY-MM-DD), inside the node's window")

    @extend_schema(
        operation_id="nodes_explain_retrieve",
        parameters=[QuerySerializer],
        responses={200: NodeExplainSerializer, **_FIGURES_ERRORS},
    )
    def get(self, request, pk: int):
        node = self.node_with_attainment(pk)
        period = self.query(self.QuerySerializer)["period"]
        if errors := explain.explain_period_errors(node, period=period):
            raise ValidationError({"period": errors})
        explanation = explain.node_explain(node, period=period, as_of=timezone.localdate())
        if hidden := access.attainment_hidden_owners(self.membership):
            owners = dict(
                Node.objects.filter(pk__in=[i["node"] for i in explanation["inputs"]]).values_list("pk", "owner_id")
            )
            explanation["inputs"] = [i for i in explanation["inputs"] if owners.get(i["node"]) not in hidden]
        return Response(NodeExplainSerializer(explanation).data)

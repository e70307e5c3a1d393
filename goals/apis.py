"""REST API v1 for KPI trees: one class per operation, each with its own serializers.

Serializers check types only; every rule is in goals.services / goals.smart, as for the forms.
"""

from __future__ import annotations

from collections import defaultdict

from django.contrib.auth import get_user_model
from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, inline_serializer
from rest_framework import permissions, serializers, status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from goals import selectors, services
from goals.models import Kind, Membership, Node, Role

User = get_user_model()


class IsOrganisationMember(permissions.BasePermission):
    """Signed in with a membership; writes only for managers (403 for others)."""

    message = _("Only managers may change KPI trees.")

    def has_permission(self, request, view) -> bool:
        membership = selectors.membership_for(request.user)
        if membership is None:
            raise PermissionDenied(_("Your account does not belong to an organisation."))
        request.membership = membership
        if request.method in permissions.SAFE_METHODS:
            return True
        return membership.role == Role.MANAGER


class OrganisationApi(APIView):
    permission_classes = [permissions.IsAuthenticated, IsOrganisationMember]

    @property
    def membership(self) -> Membership:
        return self.request.membership

    def node(self, pk: int) -> Node:
        return selectors.node_get(self.membership, pk)


def _service_errors(error: DjangoValidationError) -> ValidationError:
    detail = {
        ("non_field_errors" if field == NON_FIELD_ERRORS else field): messages
        for field, messages in error.message_dict.items()
    }
    return ValidationError(detail)


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
    name = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    code = serializers.CharField(max_length=40, required=False)
    owner = serializers.PrimaryKeyRelatedField(queryset=User.objects.none(), required=False, allow_null=True)
    unit = serializers.CharField(max_length=30, required=False, allow_blank=True)
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
    formula = serializers.CharField(max_length=500, required=False, allow_blank=True)
    time_aggregation = serializers.ChoiceField(choices=Node._meta.get_field("time_aggregation").choices, required=False)
    rationale = serializers.CharField(required=False, allow_blank=True)

    def __init__(self, *args, membership: Membership | None = None, **kwargs) -> None:
        # membership is None only when drf-spectacular instantiates the class to build the schema.
        super().__init__(*args, **kwargs)
        if membership is not None:
            self.fields["owner"].queryset = User.objects.filter(membership__organisation_id=membership.organisation_id)


class NodeCreateSerializer(NodeInputSerializer):
    kind = serializers.ChoiceField(choices=Kind.choices)
    parent = serializers.PrimaryKeyRelatedField(queryset=Node.objects.none(), allow_null=True, required=False)
    name = serializers.CharField(max_length=200)
    code = serializers.CharField(max_length=40)

    def __init__(self, *args, membership: Membership | None = None, **kwargs) -> None:
        super().__init__(*args, membership=membership, **kwargs)
        if membership is not None:
            self.fields["parent"].queryset = selectors.nodes_of(membership)


def _reports_for(nodes: list[Node]) -> dict:
    """SMART reports for some nodes, computed over their whole trees in a fixed number of queries."""
    tree_ids = {n.tree_id for n in nodes}
    org_ids = {n.organisation_id for n in nodes}
    context_nodes = list(
        Node.objects.filter(tree_id__in=tree_ids, organisation_id__in=org_ids, is_archived=False).order_by(
            "tree_id", "lft"
        )
    )
    known = {n.pk for n in context_nodes}
    context_nodes += [n for n in nodes if n.pk not in known]  # archived ones asked for directly
    return selectors.tree_smart_reports(context_nodes)


def _output(nodes: list[Node]) -> list[dict]:
    return NodeOutputSerializer(nodes, many=True, context={"reports": _reports_for(nodes)}).data


class NodeListCreateApi(OrganisationApi):
    @extend_schema(
        operation_id="nodes_list",
        parameters=[
            OpenApiParameter("kind", str, enum=Kind.values),
            OpenApiParameter("tree", int, description="id of a KGI: only nodes of its tree"),
            OpenApiParameter("archived", bool, description="include archived nodes"),
            OpenApiParameter("limit", int, description="page size"),
            OpenApiParameter("offset", int, description="index of the first node of the page"),
        ],
        # An APIView's pagination is invisible to drf-spectacular, so the envelope is spelled out.
        responses=inline_serializer(
            "PaginatedNodeOutputList",
            {
                "count": serializers.IntegerField(),
                "next": serializers.URLField(allow_null=True),
                "previous": serializers.URLField(allow_null=True),
                "results": NodeOutputSerializer(many=True),
            },
        ),
    )
    def get(self, request):
        nodes = selectors.nodes_of(self.membership).order_by("tree_id", "lft")
        if request.query_params.get("archived") not in ("1", "true"):
            nodes = nodes.filter(is_archived=False)
        if kind := request.query_params.get("kind"):
            nodes = nodes.filter(kind=kind)
        if tree := request.query_params.get("tree"):
            nodes = nodes.filter(tree_id=self.node(tree).tree_id)
        paginator = LimitOffsetPagination()
        page = paginator.paginate_queryset(nodes, request, view=self)
        return paginator.get_paginated_response(_output(page))

    @extend_schema(request=NodeCreateSerializer, responses={201: NodeOutputSerializer})
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
    @extend_schema(responses=NodeOutputSerializer)
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

    @extend_schema(request=NodeInputSerializer, responses=NodeOutputSerializer)
    def put(self, request, pk: int):
        return self._update(request, pk, partial=False)

    @extend_schema(request=NodeInputSerializer, responses=NodeOutputSerializer)
    def patch(self, request, pk: int):
        return self._update(request, pk, partial=True)

    @extend_schema(responses={204: None, 409: inline_serializer("DeleteRefused", {"detail": serializers.CharField()})})
    def delete(self, request, pk: int):
        """Delete an empty node (no children, no actuals); anything else must be archived."""
        node = self.node(pk)
        try:
            services.node_delete(node=node, actor=request.user)
        except DjangoValidationError as error:
            return Response({"detail": " ".join(error.messages)}, status=status.HTTP_409_CONFLICT)
        return Response(status=status.HTTP_204_NO_CONTENT)


class NodeArchiveApi(OrganisationApi):
    @extend_schema(request=None, responses=NodeOutputSerializer)
    def post(self, request, pk: int):
        node = services.node_archive(node=self.node(pk), actor=request.user)
        return Response(_output([node])[0])


class NodeRestoreApi(OrganisationApi):
    @extend_schema(request=None, responses=NodeOutputSerializer)
    def post(self, request, pk: int):
        try:
            node = services.node_restore(node=self.node(pk), actor=request.user)
        except DjangoValidationError as error:
            raise _service_errors(error) from None
        return Response(_output([node])[0])


class NodeMoveApi(OrganisationApi):
    class InputSerializer(serializers.Serializer):
        parent = serializers.PrimaryKeyRelatedField(queryset=Node.objects.none())
        position = serializers.IntegerField(required=False, min_value=0, allow_null=True)

    @extend_schema(request=InputSerializer, responses=NodeOutputSerializer)
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
    @extend_schema(responses=SmartSerializer)
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

    @extend_schema(
        parameters=[OpenApiParameter("archived", bool, description="include archived nodes")],
        responses=NodeTreeOutputSerializer,
    )
    def get(self, request, pk: int):
        node = self.node(pk)
        include_archived = request.query_params.get("archived") in ("1", "true")
        nodes = selectors.subtree_nodes(node, include_archived=include_archived or node.is_archived)
        data = _output(nodes)
        children: dict[int | None, list[dict]] = defaultdict(list)
        for item in data:
            item["children"] = children[item["id"]]
            children[item["parent"]].append(item)
        return Response(data[0])

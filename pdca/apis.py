"""REST API v1 for reviews and actions (issue 11 §5): the same authentication, organisation
isolation and 400-per-field answers as goals.apis; every rule is in pdca.services."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q
from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from goals import access, selectors
from goals.api_input import ApiPagination, PageQuerySerializer
from goals.apis import (
    _READ_ERRORS,
    _WRITE_ERRORS,
    IdField,
    IsOrganisationMember,
    OrganisationApi,
    SupportedDateField,
    _id_field,
    _page_of,
    _service_errors,
)
from goals.models import Membership, Node, Status
from pdca import services
from pdca.models import OPEN_ACTION_STATUSES, Action, ActionStatus, Cause, Review


class MayWriteReviews(IsOrganisationMember):
    """Reads for every role; writes per node (pdca.services.can_write), checked in the view."""

    def has_permission(self, request, view) -> bool:
        super().has_permission(request, view)
        return True


class PdcaApi(OrganisationApi):
    permission_classes = [permissions.IsAuthenticated, MayWriteReviews]

    def write(self, call):
        try:
            return call()
        except DjangoPermissionDenied as error:
            raise PermissionDenied(str(error)) from None
        except DjangoValidationError as error:
            raise _service_errors(error) from None


class ReviewOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Review
        fields = [
            "id", "node", "period_start", "period_end", "figures", "status", "cause", "explanation",
            "bottleneck", "went_well", "author", "created_at", "updated_at",
        ]  # fmt: skip


class ReviewInputSerializer(serializers.Serializer):
    cause = serializers.ChoiceField(choices=[("", "none"), *Cause.choices], required=False, allow_blank=True)
    explanation = serializers.CharField(max_length=4000, required=False, allow_blank=True)
    bottleneck = IdField(queryset=Node.objects.none(), required=False, allow_null=True)
    went_well = serializers.CharField(max_length=4000, required=False, allow_blank=True)

    def __init__(self, *args, membership: Membership | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if membership is not None:
            self.fields["bottleneck"].queryset = selectors.nodes_of(membership)


class ReviewCreateSerializer(ReviewInputSerializer):
    node = IdField(queryset=Node.objects.none())
    period_start = SupportedDateField(help_text="a day of the reviewed month (or quarter for a yearly KPI)")

    def __init__(self, *args, membership: Membership | None = None, **kwargs) -> None:
        super().__init__(*args, membership=membership, **kwargs)
        if membership is not None:
            self.fields["node"].queryset = selectors.nodes_of(membership)


def _visible(queryset, membership: Membership):
    """Another team member's personal KPIs stay private unless the organisation shares them (as
    their actuals do, goals.access.attainment_hidden_owners): their reviews and actions too."""
    if hidden := access.attainment_hidden_owners(membership):
        reported = Node.objects.filter(reporters=membership.user_id).values("pk")
        queryset = queryset.filter(~Q(node__owner_id__in=hidden) | Q(node_id__in=reported))
    return queryset


def _reviews(membership: Membership):
    reviews = Review.objects.filter(organisation_id=membership.organisation_id)
    return _visible(reviews, membership).order_by("-period_start", "pk")


class ReviewListCreateApi(PdcaApi):
    class QuerySerializer(PageQuerySerializer):
        node = _id_field("only this node's reviews")
        period = SupportedDateField(required=False, help_text="only the reviews of the window containing this day")
        status = serializers.ChoiceField(choices=Status.choices, required=False, help_text="status when reviewed")
        cause = serializers.ChoiceField(choices=Cause.choices, required=False)

    @extend_schema(
        operation_id="reviews_list",
        parameters=[QuerySerializer],
        responses={200: _page_of("PaginatedReviewOutputList", ReviewOutputSerializer), **_READ_ERRORS},
    )
    def get(self, request):
        params = self.query(self.QuerySerializer)
        reviews = _reviews(self.membership)
        if "node" in params:
            reviews = reviews.filter(node=self.node(params["node"]))
        if "period" in params:
            reviews = reviews.filter(period_start__lte=params["period"], period_end__gte=params["period"])
        if "status" in params:
            reviews = reviews.filter(status=params["status"])
        if "cause" in params:
            reviews = reviews.filter(cause=params["cause"])
        paginator = ApiPagination()
        page = paginator.paginate_queryset(reviews, request, view=self)
        return paginator.get_paginated_response(ReviewOutputSerializer(page, many=True).data)

    @extend_schema(
        operation_id="reviews_create",
        request=ReviewCreateSerializer,
        responses={201: ReviewOutputSerializer, 200: ReviewOutputSerializer, **_WRITE_ERRORS},
        description="Write the node's review of the window containing period_start (201), or update it (200).",
    )
    def post(self, request):
        serializer = ReviewCreateSerializer(data=request.data, membership=self.membership)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        node, day = data.pop("node"), data.pop("period_start")
        existed = services.review_for(node, day) is not None
        review = self.write(
            lambda: services.review_write(
                membership=self.membership, node=node, period_start=day, data=data, today=timezone.localdate()
            )
        )
        return Response(
            ReviewOutputSerializer(review).data, status=status.HTTP_200_OK if existed else status.HTTP_201_CREATED
        )


class ReviewDetailApi(PdcaApi):
    def review(self, pk: int) -> Review:
        review = _reviews(self.membership).select_related("node").filter(pk=pk).first()
        if review is None:
            raise Http404
        return review

    @extend_schema(responses={200: ReviewOutputSerializer, **_READ_ERRORS})
    def get(self, request, pk: int):
        return Response(ReviewOutputSerializer(self.review(pk)).data)

    @extend_schema(request=ReviewInputSerializer, responses={200: ReviewOutputSerializer, **_WRITE_ERRORS})
    def patch(self, request, pk: int):
        review = self.review(pk)
        serializer = ReviewInputSerializer(data=request.data, membership=self.membership, partial=True)
        serializer.is_valid(raise_exception=True)
        review = self.write(
            lambda: services.review_write(
                membership=self.membership,
                node=review.node,
                period_start=review.period_start,
                data=serializer.validated_data,
                today=timezone.localdate(),
            )
        )
        return Response(ReviewOutputSerializer(review).data)


class ActionOutputSerializer(serializers.ModelSerializer):
    slippage_days = serializers.SerializerMethodField()

    class Meta:
        model = Action
        fields = [
            "id", "node", "review", "measure", "title", "owner", "due_date", "original_due_date", "status",
            "result", "started_on", "attainment_at_start", "finished_on", "slippage_days", "created_at",
        ]  # fmt: skip

    def get_slippage_days(self, action: Action) -> int:
        return services.slippage_days(action, timezone.localdate())


class ActionInputSerializer(serializers.Serializer):
    measure = serializers.CharField(max_length=200, required=False, allow_blank=True)
    title = serializers.CharField(max_length=200, required=False)
    owner = serializers.IntegerField(
        min_value=1, required=False, allow_null=True, help_text="a user of the organisation"
    )
    due_date = SupportedDateField(required=False)
    status = serializers.ChoiceField(choices=ActionStatus.choices, required=False)
    result = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    review = IdField(queryset=Review.objects.none(), required=False, allow_null=True)

    def __init__(self, *args, membership: Membership | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if membership is not None:
            self.fields["review"].queryset = _reviews(membership)


class ActionCreateSerializer(ActionInputSerializer):
    node = IdField(queryset=Node.objects.none())

    def __init__(self, *args, membership: Membership | None = None, **kwargs) -> None:
        super().__init__(*args, membership=membership, **kwargs)
        self.fields["title"].required = True
        self.fields["due_date"].required = True
        if membership is not None:
            self.fields["node"].queryset = selectors.nodes_of(membership)


def _actions(membership: Membership):
    actions = Action.objects.filter(organisation_id=membership.organisation_id)
    return _visible(actions, membership).order_by("due_date", "pk")


class ActionListCreateApi(PdcaApi):
    class QuerySerializer(PageQuerySerializer):
        node = _id_field("only this node's actions")
        status = serializers.ChoiceField(choices=ActionStatus.choices, required=False)
        owner = _id_field("only the actions this user owns")
        overdue = serializers.BooleanField(required=False, default=False, help_text="only open actions past due")

    @extend_schema(
        operation_id="actions_list",
        parameters=[QuerySerializer],
        responses={200: _page_of("PaginatedActionOutputList", ActionOutputSerializer), **_READ_ERRORS},
    )
    def get(self, request):
        params = self.query(self.QuerySerializer)
        actions = _actions(self.membership)
        if "node" in params:
            actions = actions.filter(node=self.node(params["node"]))
        if "status" in params:
            actions = actions.filter(status=params["status"])
        if "owner" in params:
            actions = actions.filter(owner_id=params["owner"])
        if params["overdue"]:
            actions = actions.filter(status__in=OPEN_ACTION_STATUSES, due_date__lt=timezone.localdate())
        paginator = ApiPagination()
        page = paginator.paginate_queryset(actions, request, view=self)
        return paginator.get_paginated_response(ActionOutputSerializer(page, many=True).data)

    @extend_schema(
        operation_id="actions_create",
        request=ActionCreateSerializer,
        responses={201: ActionOutputSerializer, **_WRITE_ERRORS},
    )
    def post(self, request):
        serializer = ActionCreateSerializer(data=request.data, membership=self.membership)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        node = data.pop("node")
        action = self.write(
            lambda: services.action_create(membership=self.membership, node=node, data=data, today=timezone.localdate())
        )
        return Response(ActionOutputSerializer(action).data, status=status.HTTP_201_CREATED)


class ActionDetailApi(PdcaApi):
    def action_of(self, pk: int) -> Action:
        action = _actions(self.membership).select_related("node", "review").filter(pk=pk).first()
        if action is None:
            raise Http404
        return action

    @extend_schema(responses={200: ActionOutputSerializer, **_READ_ERRORS})
    def get(self, request, pk: int):
        return Response(ActionOutputSerializer(self.action_of(pk)).data)

    @extend_schema(request=ActionInputSerializer, responses={200: ActionOutputSerializer, **_WRITE_ERRORS})
    def patch(self, request, pk: int):
        action = self.action_of(pk)
        serializer = ActionInputSerializer(data=request.data, membership=self.membership, partial=True)
        serializer.is_valid(raise_exception=True)
        action = self.write(
            lambda: services.action_update(
                membership=self.membership, action=action, data=serializer.validated_data, today=timezone.localdate()
            )
        )
        return Response(ActionOutputSerializer(action).data)

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from mptt.models import MPTTModel, TreeForeignKey
from simple_history.models import HistoricalRecords


class Organisation(models.Model):
    """The tenancy boundary: every tree, node and membership belongs to exactly one."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    fiscal_year_start_month = models.PositiveSmallIntegerField(
        _("first month of the fiscal year"),
        default=4,
        validators=[MinValueValidator(1), MaxValueValidator(12)],
        help_text=_("Japanese companies often start their fiscal year in April."),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    EXECUTIVE = "executive", _("Executive")
    MANAGER = "manager", _("Manager")
    MEMBER = "member", _("Team member")


class Membership(models.Model):
    """A user's place in one organisation. A login belongs to exactly one organisation."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.MEMBER)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")

    def __str__(self) -> str:
        return f"{self.user} @ {self.organisation} ({self.get_role_display()})"

    @property
    def can_edit_trees(self) -> bool:
        return self.role == Role.MANAGER


class Kind(models.TextChoices):
    KGI = "kgi", _("KGI")
    KSF = "ksf", _("KSF")
    KPI = "kpi", _("KPI")
    SUB_KPI = "sub_kpi", _("Sub-KPI")


class Direction(models.TextChoices):
    INCREASE = "increase", _("Increase to target")
    DECREASE = "decrease", _("Decrease to target")
    MAINTAIN = "maintain", _("Stay within range")


class Frequency(models.TextChoices):
    DAILY = "daily", _("Daily")
    WEEKLY = "weekly", _("Weekly")
    MONTHLY = "monthly", _("Monthly")
    QUARTERLY = "quarterly", _("Quarterly")
    YEARLY = "yearly", _("Yearly")


class IndicatorType(models.TextChoices):
    LEADING = "leading", _("Leading (predicts the result)")
    LAGGING = "lagging", _("Lagging (records the result)")


class ValueSource(models.TextChoices):
    MANUAL = "manual", _("Entered by hand")
    SUM = "sum", _("Sum of children")
    AVERAGE = "average", _("Average of children")
    WEIGHTED_AVERAGE = "weighted_average", _("Weighted average of children")
    MIN = "min", _("Minimum of children")
    MAX = "max", _("Maximum of children")
    FORMULA = "formula", _("Formula over children")


class TimeAggregation(models.TextChoices):
    SUM = "sum", _("Sum (a flow, e.g. revenue, appointments)")
    AVERAGE = "average", _("Average (e.g. a rate)")
    LAST = "last", _("Last value (a stock, e.g. customers)")


code_validator = RegexValidator(
    r"^[A-Za-z_][A-Za-z0-9_]{0,39}$",
    _("Use letters, digits and underscores, starting with a letter (at most 40)."),
)

AMOUNT = {"max_digits": 20, "decimal_places": 4, "null": True, "blank": True}


class Node(MPTTModel):
    """One box of a KPI tree. The root of every tree is a KGI; see goals/smart.py for the rules."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="nodes")
    parent = TreeForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("parent"),
    )
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    code = models.CharField(
        _("code"),
        max_length=40,
        validators=[code_validator],
        help_text=_("A short identifier, unique in the tree, used in formulas."),
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_nodes",
        verbose_name=_("owner"),
    )
    unit = models.CharField(_("unit"), max_length=30, blank=True, help_text=_("e.g. JPY, %, appointments, leads"))
    direction = models.CharField(_("direction"), max_length=10, choices=Direction.choices, default=Direction.INCREASE)
    baseline_value = models.DecimalField(
        _("baseline (current value)"),
        help_text=_("Where you stand today; the gap is measured from here."),
        **AMOUNT,
    )
    target_value = models.DecimalField(_("target"), **AMOUNT)
    target_min = models.DecimalField(_("lowest acceptable value"), **AMOUNT)
    target_max = models.DecimalField(_("highest acceptable value"), **AMOUNT)
    start_date = models.DateField(_("start date"), null=True, blank=True)
    deadline = models.DateField(_("deadline"), null=True, blank=True)
    frequency = models.CharField(_("measured"), max_length=10, choices=Frequency.choices, default=Frequency.MONTHLY)
    indicator_type = models.CharField(
        _("indicator type"),
        max_length=8,
        choices=IndicatorType.choices,
        default=IndicatorType.LAGGING,
    )
    weight = models.DecimalField(
        _("weight"),
        max_digits=8,
        decimal_places=3,
        default=Decimal("1"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_("Relative importance among its siblings; weights need not total 100."),
    )
    value_source = models.CharField(
        _("value comes from"),
        max_length=20,
        choices=ValueSource.choices,
        default=ValueSource.MANUAL,
    )
    formula = models.CharField(
        _("formula"),
        max_length=500,
        blank=True,
        help_text=_("An expression over the children's codes, e.g. contracts / appointments * 100"),
    )
    time_aggregation = models.CharField(
        _("over time"),
        max_length=8,
        choices=TimeAggregation.choices,
        default=TimeAggregation.SUM,
    )
    rationale = models.TextField(
        _("how it drives its parent"),
        blank=True,
        help_text=_("The link to the goal above: why moving this number moves that one."),
    )
    # The nested-set columns, declared here (django-mptt would add the same) so the constraints
    # below can name them.
    lft = models.PositiveIntegerField(editable=False)
    rght = models.PositiveIntegerField(editable=False)
    tree_id = models.PositiveIntegerField(db_index=True, editable=False)
    level = models.PositiveIntegerField(editable=False)
    is_archived = models.BooleanField(_("archived"), default=False)
    archived_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(
        excluded_fields=["lft", "rght", "tree_id", "level", "created_at", "updated_at"],
        user_related_name="+",
    )

    class MPTTMeta:
        order_insertion_by = None

    class Meta:
        verbose_name = _("node")
        verbose_name_plural = _("nodes")
        constraints = [
            # A safety net under the per-organisation lock in goals/services.py: two roots can
            # never share a tree_id, and a code is unique within its tree.
            models.UniqueConstraint(fields=["tree_id"], condition=models.Q(level=0), name="node_one_root_per_tree"),
            models.UniqueConstraint(fields=["tree_id", "code"], name="node_code_unique_in_tree"),
        ]
        indexes = [models.Index(fields=["organisation", "tree_id", "lft"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.name}"


class Measurement(models.Model):
    """An actual value of a node for one period (entered by a member; rolled up later)."""

    node = models.ForeignKey(Node, on_delete=models.PROTECT, related_name="measurements")
    period_start = models.DateField(_("period"))
    value = models.DecimalField(_("actual"), max_digits=20, decimal_places=4)
    note = models.TextField(_("note"), blank=True)
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    entered_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("actual")
        verbose_name_plural = _("actuals")
        constraints = [models.UniqueConstraint(fields=["node", "period_start"], name="measurement_one_per_period")]
        ordering = ["node_id", "period_start"]

    def __str__(self) -> str:
        return f"{self.node_id} {self.period_start}: {self.value}"

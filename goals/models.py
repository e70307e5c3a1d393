from __future__ import annotations

from decimal import Decimal

import orjson
from django.conf import settings
from django.core.validators import MaxLengthValidator, MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from mptt.models import MPTTModel, TreeForeignKey
from simple_history.models import HistoricalRecords

from goals.targets import has_number, thresholds_apply

# The longest description, rationale or note (about a page of text): the forms' 2,000 characters.
TEXT_MAX_LENGTH = 2000


class Organisation(models.Model):
    """The tenancy boundary: every tree, node and membership belongs to exactly one."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    fiscal_year_start_month = models.PositiveSmallIntegerField(
        _("first month of the fiscal year"),
        default=4,
        validators=[MinValueValidator(1), MaxValueValidator(12)],
        help_text=_("Japanese companies often start their fiscal year in April."),
    )
    members_see_team_attainment = models.BooleanField(
        _("team members see each other's attainment"),
        default=False,
        help_text=_(
            "When off, a team member sees the attainment of their own KPIs and of the team's shared goals, "
            "but not the personal KPIs of other team members."
        ),
    )
    plan_tolerance_percent = models.DecimalField(
        _("plan check tolerance (%)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal(5),
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(100))],
        help_text=_(
            "How far the drivers' targets may add up above or below their parent's target before the SMART "
            "check warns, in percent of the parent's target."
        ),
    )
    # Reminders to enter a value: this many days before a period ends and after (issue 11 §4).
    remind_days_before = models.PositiveSmallIntegerField(
        _("remind before a period ends (days)"), default=3, validators=[MaxValueValidator(31)]
    )
    remind_days_after = models.PositiveSmallIntegerField(
        _("remind after a period ends (days)"), default=3, validators=[MaxValueValidator(31)]
    )
    # A node off track this many days with no open action is escalated to its parent's owner.
    escalate_after_days = models.PositiveSmallIntegerField(
        _("escalate off track with no action after (days)"), default=7, validators=[MaxValueValidator(90)]
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
    FORMULA = "formula", _("Formula over the nodes under it")


class TimeAggregation(models.TextChoices):
    SUM = "sum", _("Sum (a flow, e.g. revenue, appointments)")
    AVERAGE = "average", _("Average (e.g. a rate)")
    LAST = "last", _("Last value (a stock, e.g. customers)")


class TargetScope(models.TextChoices):
    PER_PERIOD = "per_period", _("per period")
    WHOLE_WINDOW = "whole_window", _("for the whole window (split evenly)")


class StatusRule(models.TextChoices):
    WEIGHTED = "weighted", _("weighted score of its children")
    WORST = "worst", _("worst of its children")


class Status(models.TextChoices):
    ON_TRACK = "on_track", _("On track")
    AT_RISK = "at_risk", _("At risk")
    OFF_TRACK = "off_track", _("Off track")
    NO_DATA = "no_data", _("No data")


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
    # A TextField's max_length only sizes its form field: the validator makes full_clean (so
    # goals.services, under every entry point) check it too. The database does not.
    description = models.TextField(
        _("description"), max_length=TEXT_MAX_LENGTH, validators=[MaxLengthValidator(TEXT_MAX_LENGTH)], blank=True
    )
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
    target_scope = models.CharField(
        _("the target is"),
        max_length=12,
        choices=TargetScope.choices,
        default=TargetScope.PER_PERIOD,
        help_text=_("For flows: is the target per period (50 a month) or for the whole window (¥120M a year)?"),
    )
    at_risk_below = models.DecimalField(
        _("at risk below (percentage of target to date)"),
        max_digits=6,
        decimal_places=2,
        default=Decimal("100"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    off_track_below = models.DecimalField(
        _("off track below (percentage of target to date)"),
        max_digits=6,
        decimal_places=2,
        default=Decimal("90"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    status_rule = models.CharField(
        _("status from children"),
        max_length=10,
        choices=StatusRule.choices,
        default=StatusRule.WEIGHTED,
        help_text=_("How a node without a number of its own (a KSF) takes its status from its children."),
    )
    reporters = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="reported_nodes",
        verbose_name=_("also entered by"),
        help_text=_("Team members who log actuals for this node besides its owner."),
    )
    rationale = models.TextField(
        _("how it drives its parent"),
        max_length=TEXT_MAX_LENGTH,
        validators=[MaxLengthValidator(TEXT_MAX_LENGTH)],
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

    @property
    def has_number(self) -> bool:
        """It has a number of its own (goals.targets.has_number; :func:`has_number_q` in SQL)."""
        return has_number(direction=self.direction, target=self.target_value, low=self.target_min, high=self.target_max)

    @property
    def thresholds_apply(self) -> bool:
        """Its own thresholds judge it (goals.targets.thresholds_apply): not for a node without
        a number whose status is its worst child's."""
        return thresholds_apply(has_number=self.has_number, status_rule=self.status_rule)

    @property
    def takes_actuals(self) -> bool:
        """Someone enters its value by hand: a hand-entered node, but not a KSF without a number
        of its own (its KPIs measure it). :func:`takes_actuals_q` in SQL."""
        return self.value_source == ValueSource.MANUAL and (self.kind != Kind.KSF or self.has_number)


def has_number_q(prefix: str = "") -> models.Q:
    """:attr:`Node.has_number` as a query condition (``prefix``: the path to the node, e.g. ``"node__"``)."""
    maintain = models.Q(**{f"{prefix}direction": Direction.MAINTAIN})
    range_ = models.Q(**{f"{prefix}target_min__isnull": False}) | models.Q(**{f"{prefix}target_max__isnull": False})
    return (maintain & range_) | (~maintain & models.Q(**{f"{prefix}target_value__isnull": False}))


def takes_actuals_q() -> models.Q:
    """:attr:`Node.takes_actuals` as a query condition."""
    return models.Q(value_source=ValueSource.MANUAL) & (~models.Q(kind=Kind.KSF) | has_number_q())


class Measurement(models.Model):
    """An actual value of a node for one period (entered by a member; rolled up later)."""

    node = models.ForeignKey(Node, on_delete=models.PROTECT, related_name="measurements")
    period_start = models.DateField(_("period"))
    value = models.DecimalField(_("actual"), max_digits=20, decimal_places=4)
    note = models.TextField(
        _("note"), max_length=TEXT_MAX_LENGTH, validators=[MaxLengthValidator(TEXT_MAX_LENGTH)], blank=True
    )
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    entered_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(user_related_name="+")

    class Meta:
        verbose_name = _("actual")
        verbose_name_plural = _("actuals")
        constraints = [models.UniqueConstraint(fields=["node", "period_start"], name="measurement_one_per_period")]
        ordering = ["node_id", "period_start"]

    def __str__(self) -> str:
        return f"{self.node_id} {self.period_start}: {self.value}"


class TargetOverride(models.Model):
    """A manager's target for one period, replacing the phased default schedule."""

    node = models.ForeignKey(Node, on_delete=models.CASCADE, related_name="target_overrides")
    period_start = models.DateField(_("period"))
    value = models.DecimalField(_("target"), max_digits=20, decimal_places=4)
    reason = models.CharField(_("reason"), max_length=300)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    changed_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(user_related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["node", "period_start"], name="target_override_one_per_period")]

    def __str__(self) -> str:
        return f"{self.node_id} {self.period_start}: {self.value}"


class PeriodLock(models.Model):
    """A closed month of an organisation: no actual of a period starting in it may change."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="period_locks")
    month = models.DateField(_("month"))
    is_locked = models.BooleanField(_("locked"), default=True)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    changed_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(user_related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organisation", "month"], name="period_lock_one_per_month")]

    def __str__(self) -> str:
        return f"{self.organisation_id} {self.month:%Y-%m} {'locked' if self.is_locked else 'open'}"


class RollupState(models.Model):
    """Per tree: whether its rollup results are behind its actuals and definition."""

    root = models.OneToOneField(Node, on_delete=models.CASCADE, related_name="rollup_state")
    # Set by the first request after a run; cleared by the run that covers every request.
    stale_since = models.DateTimeField(null=True, blank=True)
    requested_at = models.DateTimeField(null=True, blank=True)
    computed_at = models.DateTimeField(null=True, blank=True)
    # Set by a run that raised (and why); cleared by the next run that completes. A failed tree
    # is stale but not "already queued": the next request enqueues a run again.
    failed_at = models.DateTimeField(null=True, blank=True)
    failure = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"tree {self.root_id}: {'failed' if self.failed_at else 'stale' if self.stale_since else 'fresh'}"


class RollupChange(models.Model):
    """A change a tree's next rollup must cover: an actual of ``node`` (then only the node and
    its ancestors are recomputed) or, with no node, anything else (a full rebuild). Rows are only
    inserted by a save and deleted by the run that covered them, so concurrent saves never
    contend for one row."""

    root = models.ForeignKey(Node, on_delete=models.CASCADE, related_name="+")
    node = models.ForeignKey(Node, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"tree {self.root_id}: {'actual of ' + str(self.node_id) if self.node_id else 'full rebuild'}"


class JSONDocumentField(models.TextField):
    """A JSON document stored as text and read back as Python data.

    The rollup writes each node's series already encoded (goals.rollup.columns), so it is kept
    as text (``json`` on PostgreSQL) rather than as a JSONField: jsonb had to parse and re-encode
    every document the rebuild wrote, most of a large rebuild's time on PostgreSQL.
    """

    def db_type(self, connection):
        # PostgreSQL's json keeps the text as written (a quick validation, no re-encoding, unlike
        # jsonb) and still lets a query cut parts out of a document (dashboards.selectors).
        return "json" if connection.vendor == "postgresql" else super().db_type(connection)

    def from_db_value(self, value, expression, connection):
        if isinstance(value, (str, bytes)):
            return orjson.loads(value)
        return value  # psycopg decodes a json column itself

    def to_python(self, value):
        return orjson.loads(value) if isinstance(value, (str, bytes)) else value

    def get_prep_value(self, value):
        if value is None or isinstance(value, str):
            return value
        return orjson.dumps(value).decode()


class RollupSeries(models.Model):
    """A node's rollup for every one of its periods, written only by goals.rollup.

    One row per node holding its whole series (column arrays: period starts, actuals, targets,
    attainment, gaps, statuses, missing inputs, reasons), so a full rebuild of a large tree
    writes one row per node rather than one per node and period.
    """

    node = models.OneToOneField(Node, on_delete=models.CASCADE, related_name="rollup")
    series = JSONDocumentField(default=dict)
    # When the document last changed: a run that computes the same document leaves the row alone.
    computed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"rollup of {self.node_id}"

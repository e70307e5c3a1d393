"""The KPI library and tree templates a manager starts from (indicators named in DOMAIN.md).

Each library entry presets unit, direction, leading/lagging and how it aggregates over time; the
manager still sets the numbers. Tree templates are plain data turned into nodes by
``goals.services`` so they pass the same SMART checks as anything typed by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class LibraryKPI:
    key: str
    category: str
    name: Promise
    unit: str
    direction: str
    indicator_type: str
    time_aggregation: str
    frequency: str = "monthly"
    description: Promise | str = ""


CATEGORIES = {
    "sales": _("Sales"),
    "marketing": _("Marketing and CRM"),
    "customer": _("Customer"),
    "support": _("Support"),
}

L, G = "leading", "lagging"
UP, DOWN = "increase", "decrease"

KPI_LIBRARY: tuple[LibraryKPI, ...] = (
    # Sales
    LibraryKPI("new_revenue", "sales", _("New revenue per month"), "JPY", UP, G, "sum"),
    LibraryKPI("new_customers", "sales", _("New customers per month"), "customers", UP, G, "sum"),
    LibraryKPI("avg_customer_spend", "sales", _("Average spend per customer"), "JPY", UP, G, "average"),
    LibraryKPI("avg_order_value", "sales", _("Average order value"), "JPY", UP, G, "average"),
    LibraryKPI("avg_deal_size", "sales", _("Average deal size"), "JPY", UP, G, "average"),
    LibraryKPI("contracts", "sales", _("New contracts per month"), "contracts", UP, G, "sum"),
    LibraryKPI("appointments", "sales", _("Appointments per month"), "appointments", UP, L, "sum"),
    LibraryKPI("appointment_rate", "sales", _("Appointment rate (calls to appointments)"), "%", UP, L, "average"),
    LibraryKPI("close_rate", "sales", _("Close rate (appointments to contracts)"), "%", UP, G, "average"),
    LibraryKPI("pipeline", "sales", _("Qualified pipeline value"), "JPY", UP, L, "last"),
    LibraryKPI("opportunities", "sales", _("New opportunities per month"), "opportunities", UP, L, "sum"),
    LibraryKPI("stage_conversion", "sales", _("Stage conversion rate"), "%", UP, L, "average"),
    LibraryKPI("quota_attainment", "sales", _("Quota attainment"), "%", UP, G, "average"),
    LibraryKPI("pipeline_coverage", "sales", _("Pipeline coverage (pipeline ÷ quota)"), "x", UP, L, "last"),
    LibraryKPI("leads_approached", "sales", _("New leads approached per day"), "leads", UP, L, "sum", "daily"),
    # Marketing and CRM
    LibraryKPI("email_open_rate", "marketing", _("E-mail open rate"), "%", UP, L, "average"),
    LibraryKPI("leads", "marketing", _("New leads per month"), "leads", UP, L, "sum"),
    LibraryKPI("lead_acquisition_rate", "marketing", _("Lead acquisition rate"), "%", UP, L, "average"),
    LibraryKPI("mql", "marketing", _("Marketing-qualified leads (MQL) per month"), "MQL", UP, L, "sum"),
    LibraryKPI("sql", "marketing", _("Sales-qualified leads (SQL) per month"), "SQL", UP, L, "sum"),
    LibraryKPI("mql_to_sql", "marketing", _("MQL to SQL conversion rate"), "%", UP, L, "average"),
    LibraryKPI("cpl", "marketing", _("Cost per lead (CPL)"), "JPY", DOWN, L, "average"),
    LibraryKPI("cac", "marketing", _("Customer acquisition cost (CAC)"), "JPY", DOWN, G, "average"),
    LibraryKPI("sessions", "marketing", _("Web sessions per month"), "sessions", UP, L, "sum"),
    LibraryKPI("organic_traffic", "marketing", _("Organic search visits per month"), "visits", UP, L, "sum"),
    LibraryKPI("keyword_rank", "marketing", _("Average rank of target keywords"), "rank", DOWN, L, "last"),
    LibraryKPI("content_views", "marketing", _("Content views per month"), "views", UP, L, "sum"),
    LibraryKPI("engagement_rate", "marketing", _("Engagement rate"), "%", UP, L, "average"),
    LibraryKPI("ctr", "marketing", _("Click-through rate (CTR)"), "%", UP, L, "average"),
    LibraryKPI("roas", "marketing", _("Return on ad spend (ROAS)"), "%", UP, G, "average"),
    LibraryKPI("marketing_revenue", "marketing", _("Revenue from marketing-sourced deals"), "JPY", UP, G, "sum"),
    # Customer
    LibraryKPI("repeat_rate", "customer", _("Repeat purchase rate"), "%", UP, G, "average"),
    LibraryKPI("retention_rate", "customer", _("Customer retention rate"), "%", UP, G, "last"),
    LibraryKPI("churn_rate", "customer", _("Monthly churn (cancellation) rate"), "%", DOWN, G, "average"),
    LibraryKPI("ltv", "customer", _("Customer lifetime value (LTV)"), "JPY", UP, G, "last"),
    LibraryKPI("csat", "customer", _("Customer satisfaction score"), "points", UP, G, "average"),
    # Support
    LibraryKPI("tickets_handled", "support", _("Support tickets handled per month"), "tickets", UP, L, "sum"),
    LibraryKPI("handling_time", "support", _("Average handling time per ticket"), "minutes", DOWN, L, "average"),
)
KPI_LIBRARY_BY_KEY = {item.key: item for item in KPI_LIBRARY}


@dataclass(frozen=True)
class TemplateNode:
    kind: str
    code: str
    name: Promise
    rationale: Promise | str = ""
    description: Promise | str = ""
    owner_role: str = "manager"
    unit: str = ""
    direction: str = "increase"
    baseline_value: Decimal | None = None
    target_value: Decimal | None = None
    frequency: str = "monthly"
    indicator_type: str = "lagging"
    time_aggregation: str = "sum"
    weight: Decimal = Decimal("1")
    children: tuple[TemplateNode, ...] = field(default=())


D = Decimal

SAAS_REVENUE_TREE = TemplateNode(
    "kgi",
    "revenue",
    _("SaaS annual revenue ¥100M → ¥120M by fiscal year end"),
    description=_("Grow annual recurring revenue by 20% (a ¥20M gap) within this fiscal year."),
    owner_role="executive",
    unit="JPY",
    baseline_value=D("100000000"),
    target_value=D("120000000"),
    frequency="monthly",
    indicator_type="lagging",
    # Annual recurring revenue is a stock: each month's figure is the run-rate at month end.
    time_aggregation="last",
    children=(
        TemplateNode(
            "ksf",
            "new_business",
            _("Win more new customers with a stronger sales team"),
            rationale=_("New contracts close most of the ¥20M gap."),
            weight=D("3"),
            children=(
                TemplateNode(
                    "kpi",
                    "appointments",
                    _("50 appointments a month"),
                    rationale=_("More appointments give more chances to close."),
                    owner_role="member",
                    unit="appointments",
                    baseline_value=D("35"),
                    target_value=D("50"),
                    indicator_type="leading",
                    weight=D("2"),
                    children=(
                        TemplateNode(
                            "sub_kpi",
                            "leads_approached",
                            _("10 new leads approached per day"),
                            rationale=_("About one in four approached leads books an appointment."),
                            owner_role="member",
                            unit="leads",
                            baseline_value=D("6"),
                            target_value=D("10"),
                            frequency="daily",
                            indicator_type="leading",
                        ),
                    ),
                ),
                TemplateNode(
                    "kpi",
                    "close_rate",
                    _("Close rate 20% per month"),
                    rationale=_("50 appointments × 20% = 10 new contracts a month."),
                    owner_role="manager",
                    unit="%",
                    baseline_value=D("15"),
                    target_value=D("20"),
                    indicator_type="lagging",
                    time_aggregation="average",
                    weight=D("2"),
                    children=(
                        TemplateNode(
                            "sub_kpi",
                            "role_plays",
                            _("4 sales role-plays per rep each month"),
                            rationale=_("Weekly practice of the pitch lifts the close rate."),
                            owner_role="member",
                            unit="sessions",
                            baseline_value=D("1"),
                            target_value=D("4"),
                            indicator_type="leading",
                        ),
                    ),
                ),
                TemplateNode(
                    "kpi",
                    "new_contracts",
                    _("10 new contracts a month"),
                    rationale=_("Each new contract adds about ¥170k of annual revenue."),
                    owner_role="manager",
                    unit="contracts",
                    baseline_value=D("5"),
                    target_value=D("10"),
                    indicator_type="lagging",
                ),
            ),
        ),
        TemplateNode(
            "ksf",
            "upsell",
            _("Drive upsell with the new reporting feature"),
            rationale=_("Existing customers who adopt the feature move to the higher plan."),
            weight=D("2"),
            children=(
                TemplateNode(
                    "kpi",
                    "upsell_revenue",
                    _("Upsell revenue ¥600k a month"),
                    rationale=_("¥600k a month for twelve months closes ¥7.2M of the gap."),
                    owner_role="manager",
                    unit="JPY",
                    baseline_value=D("300000"),
                    target_value=D("600000"),
                    indicator_type="lagging",
                ),
                TemplateNode(
                    "kpi",
                    "feature_adoption",
                    _("Feature adoption 40% by year end"),
                    rationale=_("Accounts that use the feature upgrade three times as often."),
                    owner_role="member",
                    unit="%",
                    baseline_value=D("25"),
                    target_value=D("40"),
                    indicator_type="leading",
                    time_aggregation="last",
                    children=(
                        TemplateNode(
                            "sub_kpi",
                            "webinars",
                            _("3 feature webinars a month"),
                            rationale=_("Webinars are where most customers first try the feature."),
                            owner_role="member",
                            unit="webinars",
                            baseline_value=D("2"),
                            target_value=D("3"),
                            indicator_type="leading",
                        ),
                    ),
                ),
            ),
        ),
        TemplateNode(
            "ksf",
            "reactivation",
            _("Reactivate dormant customers to lift the repeat rate"),
            rationale=_("Dormant accounts are the cheapest revenue to win back."),
            weight=D("1"),
            children=(
                TemplateNode(
                    "kpi",
                    "repeat_rate",
                    _("Repeat rate 60% by fiscal year end"),
                    rationale=_("Every point of repeat rate keeps about ¥1M of revenue."),
                    owner_role="manager",
                    unit="%",
                    baseline_value=D("45"),
                    target_value=D("60"),
                    indicator_type="lagging",
                    time_aggregation="last",
                ),
                TemplateNode(
                    "kpi",
                    "reactivation_calls",
                    _("80 reactivation calls to dormant customers a month"),
                    rationale=_("A personal call is what brings a dormant customer back."),
                    owner_role="member",
                    unit="calls",
                    baseline_value=D("20"),
                    target_value=D("80"),
                    indicator_type="leading",
                    children=(
                        TemplateNode(
                            "sub_kpi",
                            "reactivation_emails",
                            _("Reactivation e-mail to 200 dormant customers a month"),
                            rationale=_("The e-mail warms the customer up before the call."),
                            owner_role="member",
                            unit="e-mails",
                            baseline_value=D("150"),
                            target_value=D("200"),
                            indicator_type="leading",
                        ),
                    ),
                ),
            ),
        ),
    ),
)

TREE_TEMPLATES = {
    "saas_revenue": (_("SaaS revenue +20% (from the KPI-tree articles)"), SAAS_REVENUE_TREE),
}

"""Demo data: "Demo Co." with the seed articles' SaaS-revenue tree, and "Other Co." beside it.

Idempotent: running it again resets the demo passwords and creates only what is missing.
The password is for the demo only — never use these accounts on a real installation.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import translation

from goals import services
from goals.actuals import Entry, measurements_upsert_bulk
from goals.library import SAAS_REVENUE_TREE, TemplateNode
from goals.models import Measurement, Membership, Node, Organisation, Role
from goals.periods import add_months, fiscal_year_bounds, period_starts
from goals.rollup import jobs, storage
from pdca import rules as pdca_rules
from pdca import services as pdca_services
from pdca.models import Action

DEMO_PASSWORD = "kpitree-demo"
DEMO_MONTHS = 12
# How each demo KPI has gone, as a fraction of its target path (the story the dashboards tell):
# most on track, some at risk, upsell revenue off track with a note, webinars with a month missing.
DEMO_PACE = {
    "revenue": 0.985,
    "appointments": 1.04,
    "leads_approached": 1.02,
    "close_rate": 0.95,
    "role_plays": 1.1,
    "new_contracts": 1.0,
    "upsell_revenue": 0.7,
    "feature_adoption": 0.96,
    "webinars": 1.0,
    "repeat_rate": 1.01,
    "reactivation_calls": 0.93,
    "reactivation_emails": 1.05,
}
DEMO_NOTES = {
    "upsell_revenue": "The reporting feature shipped six weeks late; two upsell deals slipped. "
    "Next: a webinar for the 40 largest accounts and a 20% launch discount until month end.",
}
MISSING_MONTH = ("webinars", 2)  # no actual two months ago
DEMO_USERS = (
    # username, first name, last name, organisation, role
    ("executive", "Emi", "Sato", "Demo Co.", Role.EXECUTIVE),
    ("manager", "Ken", "Tanaka", "Demo Co.", Role.MANAGER),
    ("member", "Yui", "Suzuki", "Demo Co.", Role.MEMBER),
    ("outsider", "Olga", "Other", "Other Co.", Role.MANAGER),
)

OTHER_CO_TREE = TemplateNode(
    "kgi",
    "web_sales",
    "Double web-shop sales to ¥50M by fiscal year end",
    description="Web-shop sales were ¥25M last fiscal year.",
    unit="JPY",
    baseline_value=Decimal("25000000"),
    target_value=Decimal("50000000"),
    children=(
        TemplateNode(
            "ksf",
            "organic",
            "Grow organic search traffic",
            rationale="Most first-time buyers arrive from search.",
            children=(
                TemplateNode(
                    "kpi",
                    "organic_visits",
                    "30,000 organic visits a month",
                    rationale="Visits convert at about 1.5%.",
                    unit="visits",
                    baseline_value=Decimal("18000"),
                    target_value=Decimal("30000"),
                    indicator_type="leading",
                ),
            ),
        ),
    ),
)


class Command(BaseCommand):
    help = "Create the demo organisations, users and KPI trees (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--today", type=date.fromisoformat, default=None, help="YYYY-MM-DD")

    @transaction.atomic
    def handle(self, *args, today: date | None = None, **options):
        today = today or date.today()
        User = get_user_model()
        users = {}
        organisations = {}
        for username, first, last, org_name, role in DEMO_USERS:
            organisation, _ = Organisation.objects.get_or_create(name=org_name, defaults={"fiscal_year_start_month": 4})
            organisations[org_name] = organisation
            user, _ = User.objects.get_or_create(username=username, defaults={"first_name": first, "last_name": last})
            user.set_password(DEMO_PASSWORD)
            user.save()
            Membership.objects.update_or_create(user=user, defaults={"organisation": organisation, "role": role})
            users[username] = user

        with translation.override("en"):
            demo_root = self._tree(
                organisations["Demo Co."],
                SAAS_REVENUE_TREE,
                today,
                actor=users["manager"],
                owners={"executive": users["executive"], "manager": users["manager"], "member": users["member"]},
            )
            self._tree(
                organisations["Other Co."],
                OTHER_CO_TREE,
                today,
                actor=users["outsider"],
                owners={"executive": users["outsider"], "manager": users["outsider"], "member": users["outsider"]},
            )
            self._actuals(demo_root, users, today)
            self._reviews_and_actions(demo_root, users, today)
        self.stdout.write(self.style.SUCCESS(f"Demo ready. Logins (password {DEMO_PASSWORD}, demo only):"))
        for username, *_, org_name, role in DEMO_USERS:
            self.stdout.write(f"  {username:<10} {role.label:<12} {org_name}")

    def _tree(self, organisation, template, today, *, actor, owners) -> Node:
        existing = Node.objects.filter(organisation=organisation, level=0, code=template.code).first()
        if existing is not None:
            return existing
        # The plan runs from a year ago to the end of this fiscal year, so the demo has twelve
        # months of history and a few months still to go.
        _, end = fiscal_year_bounds(today, organisation.fiscal_year_start_month)
        start = add_months(today.replace(day=1), -(DEMO_MONTHS - 1))
        return services.tree_create_from_template(
            organisation=organisation, actor=actor, template=template, start_date=start, deadline=end, owners=owners
        )

    def _actuals(self, root: Node, users, today: date) -> None:
        """Twelve months of believable actuals for the demo tree (only once)."""
        nodes = {n.code: n for n in Node.objects.filter(tree_id=root.tree_id)}
        if Measurement.objects.filter(node__in=nodes.values()).exists():
            return
        membership = users["manager"].membership
        entries = []
        for code, pace in DEMO_PACE.items():
            node = nodes[code]
            starts = [p for p in period_starts(node.start_date, today, node.frequency) if p >= node.start_date]
            plan = storage.period_targets([(node, p) for p in starts], membership.organisation, today=today)
            skipped = add_months(today.replace(day=1), -MISSING_MONTH[1]) if code == MISSING_MONTH[0] else None
            for index, start in enumerate(starts):
                if start == skipped:
                    continue
                target = plan[(node.pk, start)]
                # A little noise, the same on every run, so the charts look like real data.
                wobble = 1 + 0.03 * ((index * 7 + len(code)) % 5 - 2) / 2
                value = Decimal(str(round(target * pace * wobble, 1 if target < 100 else 0)))
                note = DEMO_NOTES.get(code, "")
                entries.append(Entry(node=node, period=start, value=value, note=note))
        measurements_upsert_bulk(membership=membership, entries=entries, today=today)

    def _reviews_and_actions(self, root: Node, users, today: date) -> None:
        """The seed articles' PDCA example (issue 11): under the new contracts KPI the measure "more
        leads, more meetings" and three actions, and last month's review of the off-track upsell
        revenue with its cause (only once)."""
        nodes = {n.code: n for n in Node.objects.filter(tree_id=root.tree_id)}
        if Action.objects.filter(node__in=nodes.values()).exists():
            return
        # The review freezes the stored figures: compute them now rather than after the commit.
        jobs.tree_rollup(root_id=root.pk, as_of=today, full=True)
        membership = users["manager"].membership
        contracts = nodes["new_contracts"]
        for title, owner, days, status in (
            ("Approach 10 new leads a day", users["member"], 14, "doing"),
            ("Follow up every lead by mail and phone", users["member"], 21, "planned"),
            ("Weekly sales-talk role-play", users["manager"], 30, "planned"),
        ):
            pdca_services.action_create(
                membership=membership,
                node=contracts,
                data={
                    "measure": "More leads, more meetings",
                    "title": title,
                    "owner": owner,
                    "due_date": date.fromordinal(today.toordinal() + days),
                    "status": status,
                },
                today=today,
            )
        month = pdca_rules.last_complete_month(today)
        upsell = nodes["upsell_revenue"]
        figures, _as_of = pdca_services.window_figures(upsell, month)
        missed = figures.status in pdca_rules.MISSED
        pdca_services.review_write(
            membership=membership,
            node=upsell,
            period_start=month,
            data={
                "cause": "execution_shortfall" if missed else "",
                "explanation": DEMO_NOTES["upsell_revenue"],
                "went_well": "Renewals held up; the large accounts asked for the reporting feature.",
            },
            today=today,
        )

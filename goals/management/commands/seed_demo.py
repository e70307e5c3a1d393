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
from goals.library import SAAS_REVENUE_TREE, TemplateNode
from goals.models import Membership, Node, Organisation, Role
from goals.periods import fiscal_year_bounds

DEMO_PASSWORD = "kpitree-demo"
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
            self._tree(
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
        self.stdout.write(self.style.SUCCESS(f"Demo ready. Logins (password {DEMO_PASSWORD}, demo only):"))
        for username, *_, org_name, role in DEMO_USERS:
            self.stdout.write(f"  {username:<10} {role.label:<12} {org_name}")

    def _tree(self, organisation, template, today, *, actor, owners) -> Node:
        existing = Node.objects.filter(organisation=organisation, level=0, code=template.code).first()
        if existing is not None:
            return existing
        start, end = fiscal_year_bounds(today, organisation.fiscal_year_start_month)
        return services.tree_create_from_template(
            organisation=organisation, actor=actor, template=template, start_date=start, deadline=end, owners=owners
        )

"""The demo has the seed articles' PDCA example (issue 11)."""

from datetime import date

from django.core.management import call_command

from pdca.models import Action, Review


def test_the_demo_has_actions_under_new_contracts_and_a_review_with_a_cause(db):
    call_command("seed_demo", today=date(2026, 12, 4), stdout=open("/dev/null", "w"))  # noqa: SIM115
    titles = set(Action.objects.filter(node__code="new_contracts").values_list("title", flat=True))
    assert titles == {
        "Approach 10 new leads a day",
        "Follow up every lead by mail and phone",
        "Weekly sales-talk role-play",
    }
    review = Review.objects.get()
    assert review.period_start == date(2026, 11, 1) and review.status == "off_track"
    assert review.cause == "execution_shortfall"
    call_command("seed_demo", today=date(2026, 12, 4), stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert Action.objects.count() == 3 and Review.objects.count() == 1

"""Reviews and actions (pdca.services): frozen figures, the cause rule, the bottleneck, actions'
dates and who may write."""

from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from goals.models import Measurement, Membership, Node, RollupSeries
from pdca import services
from pdca.models import Action, Review

TODAY = date(2026, 12, 4)
NOVEMBER = date(2026, 11, 1)


def store(
    node: Node,
    *,
    attainment: float | None,
    status: str,
    actual: float | None = 10.0,
    as_of="2026-12-01",
    period=NOVEMBER,
):
    series = {
        "period": [period.isoformat()],
        "actual": [actual],
        "target": [20.0],
        "low": [None],
        "high": [None],
        "attainment": [attainment],
        "gap": [None if actual is None else actual - 20.0],
        "status": [status],
        "missing": [0],
        "reason": ["actual"],
        "as_of": as_of,
    }
    RollupSeries.objects.update_or_create(node=node, defaults={"series": series, "computed_at": timezone.now()})


@pytest.fixture
def tree(saas_tree):
    """The root summed from its children, every node monthly, with stored November figures."""
    Node.objects.filter(tree_id=saas_tree.tree_id).update(frequency="monthly")
    Node.objects.filter(pk=saas_tree.pk).update(value_source="sum", formula="")
    root = Node.objects.get(pk=saas_tree.pk)
    children = list(Node.objects.filter(parent=root).order_by("lft"))
    store(root, attainment=0.5, status="off_track")
    for child, attainment in zip(children, [0.9, 0.3, 0.7], strict=False):
        store(child, attainment=attainment, status="off_track")
    return root, children


def membership(user):
    return Membership.objects.get(user=user)


def test_a_review_freezes_the_stored_figures(tree, manager):
    root, _children = tree
    review = services.review_write(
        membership=membership(manager),
        node=root,
        period_start=date(2026, 11, 20),
        data={"cause": "external_factor"},
        today=TODAY,
    )
    assert (review.period_start, review.period_end) == (NOVEMBER, date(2026, 11, 30))
    assert review.status == "off_track"
    assert review.figures["attainment"] == 0.5 and review.figures["as_of"] == "2026-12-01"
    store(root, attainment=1.1, status="on_track", actual=22.0)
    again = services.review_write(
        membership=membership(manager), node=root, period_start=NOVEMBER, data={"explanation": "later"}, today=TODAY
    )
    assert again.pk == review.pk and again.figures["attainment"] == 0.5 and again.status == "off_track"
    assert Review.objects.count() == 1


def test_a_miss_without_a_cause_is_refused(tree, manager):
    root, _children = tree
    with pytest.raises(ValidationError) as caught:
        services.review_write(membership=membership(manager), node=root, period_start=NOVEMBER, data={}, today=TODAY)
    assert "cause" in caught.value.message_dict


def test_the_bottleneck_proposed_is_the_child_that_missed_most(tree):
    root, children = tree
    assert services.proposed_bottleneck(root, NOVEMBER) == children[1]


def test_an_execution_shortfall_keeps_its_bottleneck_among_the_inputs(tree, manager, other_tree):
    root, children = tree
    review = services.review_write(
        membership=membership(manager),
        node=root,
        period_start=NOVEMBER,
        data={"cause": "execution_shortfall", "bottleneck": children[1]},
        today=TODAY,
    )
    assert review.bottleneck == children[1]
    with pytest.raises(ValidationError) as caught:
        services.review_write(
            membership=membership(manager),
            node=root,
            period_start=NOVEMBER,
            data={"bottleneck": other_tree.pk},
            today=TODAY,
        )
    assert "bottleneck" in caught.value.message_dict


def test_the_members_note_is_the_draft_explanation(tree, member):
    root, _children = tree
    Measurement.objects.create(node=root, period_start=NOVEMBER, value=10, note="Two deals slipped to December")
    assert services.draft_explanation(root, NOVEMBER, date(2026, 11, 30)) == "Two deals slipped to December"


def test_who_may_write(tree, manager, member, executive, outsider):
    root, children = tree
    assert services.can_write(membership(manager), root)
    assert not services.can_write(membership(executive), root)
    assert services.can_read(membership(executive), root)
    assert not services.can_write(membership(member), root)
    Node.objects.filter(pk=children[0].pk).update(owner=member)
    assert services.can_write(membership(member), Node.objects.get(pk=children[0].pk))
    assert not services.can_read(membership(outsider), root)
    with pytest.raises(PermissionDenied):
        services.action_create(
            membership=membership(executive), node=root, data={"title": "x", "due_date": TODAY}, today=TODAY
        )


def test_an_action_keeps_its_first_due_date_and_records_its_start_and_finish(tree, manager, member):
    root, _children = tree
    action = services.action_create(
        membership=membership(manager),
        node=root,
        data={
            "measure": "more leads",
            "title": "approach 10 new leads a day",
            "owner": member,
            "due_date": date(2026, 12, 10),
            "status": "planned",
        },
        today=TODAY,
    )
    assert action.original_due_date == date(2026, 12, 10) and action.started_on is None
    services.action_update(
        membership=membership(manager),
        action=action,
        data={"due_date": date(2026, 12, 20), "status": "doing"},
        today=TODAY,
    )
    action.refresh_from_db()
    assert action.original_due_date == date(2026, 12, 10) and action.due_date == date(2026, 12, 20)
    assert action.started_on == TODAY and action.attainment_at_start == 0.5
    assert services.slippage_days(action, TODAY) == 10
    services.action_update(membership=membership(manager), action=action, data={"status": "done"}, today=TODAY)
    assert Action.objects.get(pk=action.pk).finished_on == TODAY
    rows = services.actions_progress(root, TODAY)
    assert rows[0]["attainment_at_start"] == 0.5


def test_an_action_owner_from_another_organisation_is_refused(tree, manager, outsider):
    root, _children = tree
    with pytest.raises(ValidationError) as caught:
        services.action_create(
            membership=membership(manager),
            node=root,
            data={"title": "x", "owner": outsider, "due_date": TODAY},
            today=TODAY,
        )
    assert "owner" in caught.value.message_dict


def test_a_cause_changed_from_execution_shortfall_drops_its_bottleneck(tree, manager):
    root, children = tree
    services.review_write(
        membership=membership(manager),
        node=root,
        period_start=NOVEMBER,
        data={"cause": "execution_shortfall", "bottleneck": children[1]},
        today=TODAY,
    )
    review = services.review_write(
        membership=membership(manager), node=root, period_start=NOVEMBER, data={"cause": "external_factor"}, today=TODAY
    )
    assert review.bottleneck is None

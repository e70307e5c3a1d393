"""The pure rules of reviews and actions (pdca.rules)."""

from datetime import date

from pdca import rules


def test_the_bottleneck_is_the_input_with_the_lowest_attainment_among_those_with_data():
    assert rules.proposed_bottleneck([(1, 0.9), (2, None), (3, 0.4), (4, 0.7)]) == 3


def test_no_bottleneck_is_proposed_when_no_input_has_data():
    assert rules.proposed_bottleneck([(1, None), (2, None)]) is None
    assert rules.proposed_bottleneck([]) is None


def test_a_tie_proposes_the_first_input_listed():
    assert rules.proposed_bottleneck([(5, 0.5), (6, 0.5)]) == 5


def test_slippage_counts_a_moved_due_date_and_days_late():
    first = date(2026, 11, 10)
    assert rules.slippage_days(due_date=first, original_due_date=first, finished_on=None, today=date(2026, 11, 9)) == 0
    assert rules.slippage_days(due_date=first, original_due_date=first, finished_on=None, today=date(2026, 11, 13)) == 3
    moved = date(2026, 11, 20)
    assert (
        rules.slippage_days(due_date=moved, original_due_date=first, finished_on=None, today=date(2026, 11, 12)) == 10
    )
    assert (
        rules.slippage_days(
            due_date=moved, original_due_date=first, finished_on=date(2026, 11, 22), today=date(2026, 12, 30)
        )
        == 12
    )
    assert (
        rules.slippage_days(
            due_date=first, original_due_date=first, finished_on=date(2026, 11, 1), today=date(2026, 12, 1)
        )
        == 0
    )


def test_a_miss_needs_a_cause_and_a_period_on_track_takes_none():
    assert rules.cause_errors(status="off_track", cause="")
    assert rules.cause_errors(status="at_risk", cause="")
    assert not rules.cause_errors(status="off_track", cause="execution_shortfall")
    assert rules.cause_errors(status="on_track", cause="external_factor")
    assert not rules.cause_errors(status="no_data", cause="")


def test_a_bottleneck_only_for_an_execution_shortfall_and_among_the_inputs():
    assert rules.bottleneck_errors(cause="external_factor", bottleneck_id=3, input_ids=[3])
    assert rules.bottleneck_errors(cause="execution_shortfall", bottleneck_id=9, input_ids=[3])
    assert not rules.bottleneck_errors(cause="execution_shortfall", bottleneck_id=3, input_ids=[3])
    assert not rules.bottleneck_errors(cause="", bottleneck_id=None, input_ids=[])


def test_the_review_window_is_the_month_or_the_fiscal_quarter():
    assert rules.review_window(date(2026, 11, 15), "monthly", 4) == (date(2026, 11, 1), date(2026, 11, 30))
    assert rules.review_window(date(2026, 11, 15), "yearly", 4) == (date(2026, 10, 1), date(2026, 12, 31))
    assert rules.last_complete_month(date(2026, 1, 5)) == date(2025, 12, 1)

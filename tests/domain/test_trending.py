"""The trending rule: properties over any history, and the orderings it is meant to produce."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.engagement.trending import (
    HOUR,
    Counts,
    HourStats,
    TrendingRule,
    age_in_hours,
    hour_start,
    score_hours,
)

RULE = TrendingRule()
NOW = datetime(2026, 11, 22, 15, 40, tzinfo=UTC)
HORIZON = RULE.horizon_hours

counts = st.builds(
    Counts,
    likes=st.integers(0, 50),
    views=st.integers(0, 500),
    segments=st.integers(0, 10),
)
positive = counts.filter(lambda c: c.engagement > 0)
ages = st.integers(0, HORIZON - 1)
recent_ages = st.integers(0, RULE.recent_hours - 1)
baseline_ages = st.integers(RULE.recent_hours, HORIZON - 1)
histories = st.lists(st.tuples(ages, counts), max_size=40)
rules = st.builds(
    TrendingRule,
    recent_hours=st.integers(1, 72),
    baseline_days=st.integers(4, 30),
    half_life_hours=st.floats(0.5, 48),
    prior=st.floats(0.5, 500),
)


def bucket(age: int, c: Counts, now: datetime = NOW) -> HourStats:
    return HourStats(hour_start(now) - age * HOUR, c)


def at(history: list[tuple[int, Counts]], now: datetime = NOW, rule: TrendingRule = RULE) -> float:
    return score_hours(rule, now, [bucket(age, c, now) for age, c in history])


def steady(per_hour: Counts, hours: range) -> list[tuple[int, Counts]]:
    return [(age, per_hour) for age in hours]


# Properties


@given(histories)
def test_score_is_never_negative_and_zero_without_recent_activity(history: list) -> None:
    value = at(history)
    assert value >= 0
    if not any(age < RULE.recent_hours and c.engagement > 0 for age, c in history):
        assert value == 0


@given(rules, histories, recent_ages, positive)
def test_more_recent_activity_never_lowers_the_score(
    rule: TrendingRule, history: list, age: int, extra: Counts
) -> None:
    age = age % rule.recent_hours
    assert at([*history, (age, extra)], rule=rule) >= at(history, rule=rule)


@given(rules, histories, recent_ages, positive)
def test_activity_in_the_recent_window_always_raises_the_score(
    rule: TrendingRule, history: list, age: int, extra: Counts
) -> None:
    age = age % rule.recent_hours
    assert at([*history, (age, extra)], rule=rule) > at(history, rule=rule)


@given(histories, ages, st.integers(0, HORIZON - 1), positive)
def test_the_same_activity_counts_more_the_more_recent_it_is(
    history: list, first: int, second: int, extra: Counts
) -> None:
    newer, older = sorted((first, second))
    assert at([*history, (newer, extra)]) >= at([*history, (older, extra)])


@given(histories, baseline_ages, positive)
def test_a_busier_baseline_never_raises_the_score(history: list, age: int, extra: Counts) -> None:
    assert at([*history, (age, extra)]) <= at(history)


@given(rules, histories, st.integers(0, 200))
def test_the_score_decays_while_nothing_happens(
    rule: TrendingRule, history: list, hours_later: int
) -> None:
    # Until a bucket leaves the baseline horizon (then the baseline shrinks, as it should).
    history = [(age % rule.horizon_hours, c) for age, c in history]
    oldest = max((age for age, _ in history), default=0)
    hours_later = min(hours_later, rule.horizon_hours - 1 - oldest)
    buckets = [bucket(age, c) for age, c in history]
    later = NOW + hours_later * HOUR
    assert score_hours(rule, later, buckets) <= score_hours(rule, NOW, buckets) * (1 + 1e-12)


@given(histories, st.integers(-5, 5), st.integers(0, 59))
def test_ages_are_whole_hours_whatever_the_minute(history: list, shift: int, minute: int) -> None:
    now = NOW.replace(minute=minute) + shift * timedelta(days=1)
    assert at(history, now) == pytest.approx(at(history, NOW))
    assert age_in_hours(now, now - 30 * timedelta(minutes=1)) in (0, 1)


def test_future_buckets_from_a_clock_that_ran_ahead_are_ignored() -> None:
    assert at([(-3, Counts(views=100))]) == 0
    assert at([(-3, Counts(views=100)), (0, Counts(views=1))]) == at([(0, Counts(views=1))])


# The orderings the rule is for


def test_a_new_scene_with_a_little_activity_does_not_outrank_a_steadily_busy_one() -> None:
    new = at([(0, Counts(views=5, likes=1))])
    busy = at(steady(Counts(views=3), range(HORIZON)))
    assert 0 < new < busy


def test_a_new_scene_with_a_real_burst_does() -> None:
    burst = at([(0, Counts(views=60, likes=10)), (1, Counts(views=40, likes=5))])
    busy = at(steady(Counts(views=3), range(HORIZON)))
    assert burst > busy


def test_a_spike_beats_the_same_activity_as_usual() -> None:
    recent = steady(Counts(views=4, likes=1), range(RULE.recent_hours))
    usual = recent + steady(Counts(views=4, likes=1), range(RULE.recent_hours, HORIZON))
    quiet_before = recent + steady(Counts(views=1), range(RULE.recent_hours, HORIZON))
    assert at(quiet_before) > at(usual)


def test_steady_activity_scores_its_own_velocity() -> None:
    # No lift either way: the score is the decayed recent engagement.
    history = steady(Counts(views=10), range(HORIZON))
    assert at(history) == pytest.approx(10 * RULE.decay_mass)


def test_a_scene_that_went_quiet_falls_behind_one_that_did_not() -> None:
    went_quiet = [(age, Counts(views=50)) for age in range(20, 30)]
    still_going = [(age, Counts(views=5)) for age in range(0, 10)]
    assert at(still_going) > at(went_quiet)


@pytest.mark.parametrize(
    "values",
    [
        {"recent_hours": 0},
        {"half_life_hours": 0},
        {"prior": 0},
        {"recent_hours": 48, "baseline_days": 2},
    ],
)
def test_rules_that_cannot_work_are_refused(values: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        TrendingRule(**values)  # type: ignore[arg-type]

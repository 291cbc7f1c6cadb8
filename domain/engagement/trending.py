"""The trending rule: engagement velocity against the target's own baseline, with time decay.

Pure arithmetic over hourly buckets (engagement_hourly); no I/O.

For one target (a scene, or an idea with its scenes' activity), with each UTC hour bucket's
age `a` in whole hours (0 = the current hour):

    e(h)     = 3 * likes + 1 * views + 5 * segments          engagement of one hour
    R        = sum over a < W of e(h) * 2 ** (-a / T)        recent, decayed (half-life T)
    D        = sum over a < W of 2 ** (-a / T)               what a steady 1/hour scores in R
    baseline = sum over W <= a < 24 * B of e(h) / (24 * B - W)   the target's usual rate
    E        = baseline * D                                  R expected at the usual rate
    score    = R * (R + P) / (E + P)

W recent hours (default 24), B baseline days (7), T half-life hours (6), P the prior (20).

R is the velocity: recent engagement, the newest counting most. (R + P) / (E + P) is the
lift over the target's own usual rate, shrunk towards 1 by the prior P: a brand new scene
(E = 0) with a little activity (R small against P) gets a lift near 1, so its score stays
near R and it cannot outrank a steadily busier scene; it needs R comparable to P to earn a
real lift. A big scene that is merely as busy as always keeps score = R.

Properties (tests/domain/test_trending.py): the score is 0 without recent activity, never
drops when recent activity is added or made more recent, never rises when baseline activity
is added, and never rises as time passes (buckets ageing) while nothing new happens, until a
bucket leaves the baseline horizon. Likes weigh more than views (an account, one per user)
and segments most (each is a generated continuation someone waited for).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

LIKE_WEIGHT = 3.0
VIEW_WEIGHT = 1.0
SEGMENT_WEIGHT = 5.0
HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class Counts:
    likes: int = 0
    views: int = 0
    segments: int = 0

    @property
    def engagement(self) -> float:
        return LIKE_WEIGHT * self.likes + VIEW_WEIGHT * self.views + SEGMENT_WEIGHT * self.segments


@dataclass(frozen=True)
class HourStats:
    """One engagement_hourly bucket: `hour` is the start of the UTC hour."""

    hour: datetime
    counts: Counts


@dataclass(frozen=True)
class TrendingRule:
    recent_hours: int = 24
    baseline_days: int = 7
    half_life_hours: float = 6.0
    prior: float = 20.0

    def __post_init__(self) -> None:
        if self.recent_hours < 1 or self.half_life_hours <= 0 or self.prior <= 0:
            raise ValueError("recent_hours >= 1, half_life_hours > 0 and prior > 0")
        if self.horizon_hours <= self.recent_hours:
            raise ValueError("the baseline must reach further back than the recent window")

    @property
    def horizon_hours(self) -> int:
        """How many hour buckets the rule reads: the current one and those before it."""
        return self.baseline_days * 24

    @property
    def baseline_hours(self) -> int:
        return self.horizon_hours - self.recent_hours

    def decay(self, age: int) -> float:
        return float(0.5 ** (age / self.half_life_hours))

    @property
    def decay_mass(self) -> float:
        return sum(self.decay(age) for age in range(self.recent_hours))


def hour_start(moment: datetime) -> datetime:
    """The start of the UTC hour holding `moment`."""
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def age_in_hours(now: datetime, hour: datetime) -> int:
    """Whole hours between the bucket starting at `hour` and the current one (0: current)."""
    return int((hour_start(now) - hour_start(hour)) // HOUR)


def score(rule: TrendingRule, recent: Iterable[tuple[int, Counts]], baseline: Counts) -> float:
    """The trending score from recent buckets (age, counts) and the baseline window's totals.

    Buckets outside the recent window (negative age: the clock moved back) are ignored.
    """
    velocity = sum(
        counts.engagement * rule.decay(age)
        for age, counts in recent
        if 0 <= age < rule.recent_hours
    )
    if velocity <= 0:
        return 0.0
    expected = baseline.engagement / rule.baseline_hours * rule.decay_mass
    return velocity * (velocity + rule.prior) / (expected + rule.prior)


def score_hours(rule: TrendingRule, now: datetime, hours: Iterable[HourStats]) -> float:
    """The score of a target from its hourly buckets (any order, any age) as of `now`."""
    recent: list[tuple[int, Counts]] = []
    likes = views = segments = 0
    for bucket in hours:
        age = age_in_hours(now, bucket.hour)
        if 0 <= age < rule.recent_hours:
            recent.append((age, bucket.counts))
        elif rule.recent_hours <= age < rule.horizon_hours:
            likes += bucket.counts.likes
            views += bucket.counts.views
            segments += bucket.counts.segments
    return score(rule, recent, Counts(likes, views, segments))

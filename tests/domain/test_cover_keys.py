"""A scene's cover read from segment_sequences' cover keys (migration 0014) is the cover its
definition gives from the segments themselves: the active segment showing the chosen
thumbnail, else the first active segment with a thumbnail. The keys are the trigger's to
keep, through any mix of moderation, new thumbnails, a move between monthly partitions,
withdrawn segments and chosen covers."""

from __future__ import annotations

import uuid
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from domain.scenes import read_repository, repository
from tests.domain.test_segment_pages import _scene_with
from tests.factories import Factory

SEGMENTS = 5
KEYS = st.sampled_from([None, "k/a", "k/b", "k/c"])
SEQUENCES = st.integers(min_value=1, max_value=SEGMENTS)
STEPS = st.one_of(
    st.tuples(st.just("status"), SEQUENCES, st.sampled_from(["active", "hidden", "removed"])),
    st.tuples(st.just("thumbnail"), SEQUENCES, KEYS),
    st.tuples(st.just("move"), SEQUENCES, st.sampled_from([-40, 40])),  # days: another month
    st.tuples(st.just("withdraw"), st.just(0), st.none()),
    st.tuples(st.just("choose"), st.just(0), KEYS),
)

_STEP_SQL = {
    "status": "UPDATE segments SET status = :value WHERE scene_id = :scene AND sequence = :seq",
    "thumbnail": "UPDATE segments SET thumbnail_key = :value "
    "WHERE scene_id = :scene AND sequence = :seq",
    "move": "UPDATE segments SET created_at = created_at + make_interval(days => :value) "
    "WHERE scene_id = :scene AND sequence = :seq",
    "withdraw": "DELETE FROM segments WHERE scene_id = :scene AND sequence = "
    "(SELECT max(sequence) FROM segments WHERE scene_id = :scene)",
    "choose": "UPDATE scenes SET thumbnail_url = :value WHERE id = :scene",
}


def _defined_cover(segments: list[Any], chosen: str | None) -> uuid.UUID | None:
    coverable = [s for s in sorted(segments, key=lambda s: s.sequence) if s.status == "active"]
    coverable = [s for s in coverable if s.thumbnail_key is not None]
    picked = [s for s in coverable if chosen is not None and s.thumbnail_key == chosen]
    found = picked or coverable
    return found[0].id if found else None


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=st.lists(STEPS, max_size=12))
async def test_the_cover_read_from_cover_keys_is_the_defined_one(
    app: Any, factory: Factory, steps: list[tuple[str, int, Any]]
) -> None:
    scene_id = await _scene_with(app, factory, SEGMENTS)
    db = app.state.db
    for kind, sequence, value in steps:
        async with db.transaction() as session:
            params = {"scene": scene_id, "seq": sequence, "value": value}
            await session.execute(text(_STEP_SQL[kind]), params)

    async with db.reading() as session:
        segments = list(
            await session.execute(
                text(
                    "SELECT s.id, s.sequence, s.status, s.thumbnail_key, q.cover_key "
                    "FROM segments s JOIN segment_sequences q ON q.segment_id = s.id "
                    "WHERE s.scene_id = :scene"
                ),
                {"scene": scene_id},
            )
        )
        chosen = await session.scalar(
            text("SELECT thumbnail_url FROM scenes WHERE id = :scene"), {"scene": scene_id}
        )
        expected = _defined_cover(segments, chosen)
        covers = await repository.cover_segments(session, {scene_id: chosen})
    assert [s.cover_key for s in segments] == [
        s.thumbnail_key if s.status == "active" else None for s in segments
    ]
    assert covers.get(scene_id) == expected
    # The driver's statements (one scene; the public list) choose the same.
    row = await read_repository.scene_with_cover(db, scene_id, after=None)
    assert row is not None and row.cover_id == expected

"""What segment_sequences keeps for the hot reads, held to what it stands for.

A scene's cover read from the cover keys (migration 0014) is the cover its definition gives
from the segments themselves: the active segment showing the chosen thumbnail, else the first
active segment with a thumbnail, through any mix of moderation, new thumbnails, a move between
monthly partitions, withdrawn segments and chosen covers. A segment's media roles (0015) are
the kinds of its segment_media rows, whatever uses are added, dropped or moved."""

from __future__ import annotations

import uuid
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from domain.media import service as media_service
from domain.media.models import MediaRole
from domain.scenes import read_repository, repository, service
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


ROLE_STEPS = st.lists(
    st.tuples(
        st.sampled_from(["add", "drop", "move"]),
        st.integers(min_value=1, max_value=2),  # which of two segments
        st.sampled_from([role.value for role in MediaRole]),
        st.integers(min_value=0, max_value=2),  # position
    ),
    max_size=12,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=ROLE_STEPS)
async def test_a_segments_media_roles_are_its_media_rows_kinds(
    app: Any, factory: Factory, steps: list[tuple[str, int, str, int]]
) -> None:
    """segment_sequences.media_roles (migration 0015) is the sorted kinds of the segment's
    segment_media rows, whatever uses are added, dropped or moved to the other segment."""
    scene_id = await _scene_with(app, factory, 2)
    db = app.state.db
    claims = {sequence: segment for segment, sequence in (await _claims(db, scene_id)).items()}
    async with db.transaction() as session:  # the one object every use points at
        await session.execute(text(_ONE_OBJECT))
    for kind, sequence, role, position in steps:
        params: dict[str, Any] = {"segment": claims[sequence], "other": claims[3 - sequence]}
        params |= {"role": role, "position": position}
        async with db.transaction() as session:
            await session.execute(text(_ROLE_SQL[kind]), params)
    kept = await _claims(db, scene_id, "media_roles")
    async with db.reading() as session:
        used = await media_service.media_roles(session, list(claims.values()))
    assert kept == {s: sorted(used.get(s, ())) or None for s in claims.values()}
    page = await service.page_segment_rows(db, scene_id, None, limit=20, cursor=None, after=None)
    assert [row["roles"] for row in page.items] == [kept[claims[1]], kept[claims[2]]]


_ONE_OBJECT = (
    "INSERT INTO media_objects (sha256, key, size, content_type) VALUES "
    "(repeat('a', 64), 'objects/a', 1, 'video/mp4') ON CONFLICT DO NOTHING"
)
_ROLE_SQL = {
    "add": "INSERT INTO segment_media "
    "(segment_id, segment_created_at, role, position, object_sha256) "
    "SELECT segment_id, segment_created_at, :role, :position, repeat('a', 64) "
    "FROM segment_sequences WHERE segment_id = :segment ON CONFLICT DO NOTHING",
    "drop": "DELETE FROM segment_media WHERE segment_id = :segment AND role = :role",
    "move": "UPDATE segment_media SET segment_id = :other, segment_created_at = "
    "(SELECT segment_created_at FROM segment_sequences WHERE segment_id = :other) "
    "WHERE segment_id = :segment AND role = :role AND position = :position "
    "AND NOT EXISTS (SELECT FROM segment_media m WHERE m.segment_id = :other "
    "AND m.role = :role AND m.position = :position)",
}


async def _claims(db: Any, scene_id: uuid.UUID, column: str = "sequence") -> dict[uuid.UUID, Any]:
    """The scene's segment_sequences rows: segment_id -> `column`."""
    async with db.reading() as session:
        rows = await session.execute(
            text(f"SELECT segment_id, {column} FROM segment_sequences WHERE scene_id = :s"),
            {"s": scene_id},
        )
        return {row[0]: row[1] for row in rows}

"""A scene's segment pages, read through the window of sequences in segment_sequences: the same
pages as a plain keyset list, whatever is hidden where, against the real PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from domain.errors import InvalidInput
from domain.pagination import encode_cursor
from domain.scenes import repository
from domain.scenes.models import Segment, SegmentStatus
from tests.factories import Factory


async def _scene_with(app: Any, factory: Factory, count: int) -> uuid.UUID:
    owner = await factory.account()
    scene_id = uuid.UUID((await factory.scene(owner))["id"])
    # Written a second apart, in sequence order, as a scene's segments are.
    start = datetime.now(UTC) - timedelta(hours=1)
    async with app.state.db.transaction() as session:
        for sequence in range(1, count + 1):
            session.add(
                Segment(
                    scene_id=scene_id,
                    sequence=sequence,
                    text=f"Line {sequence}.",
                    created_at=start + timedelta(seconds=sequence),
                )
            )
    return scene_id


async def _set_status(app: Any, scene_id: uuid.UUID, sequences: set[int], status: str) -> None:
    async with app.state.db.transaction() as session:
        await session.execute(
            update(Segment)
            .where(Segment.scene_id == scene_id, Segment.sequence.in_(sequences))
            .values(status=status)
        )


async def _all_pages(app: Any, scene_id: uuid.UUID, limit: int) -> list[list[int]]:
    pages: list[list[int]] = []
    cursor = None
    async with app.state.db.reading() as session:
        while True:
            page = await repository.page_active_segments(
                session, scene_id, limit=limit, cursor=cursor
            )
            pages.append([segment.sequence for segment in page.items])
            cursor = page.next_cursor
            if cursor is None:
                return pages


async def test_pages_skip_what_is_not_active_wherever_it_lies(app: Any, factory: Factory) -> None:
    scene_id = await _scene_with(app, factory, 45)
    assert await _all_pages(app, scene_id, 20) == [
        list(range(1, 21)),
        list(range(21, 41)),
        list(range(41, 46)),
    ]
    # Hidden and removed segments inside the first window, at its end, and on the last page.
    await _set_status(app, scene_id, {2, 3, 21}, SegmentStatus.HIDDEN.value)
    await _set_status(app, scene_id, {44}, SegmentStatus.REMOVED.value)
    active = [n for n in range(1, 46) if n not in {2, 3, 21, 44}]
    assert await _all_pages(app, scene_id, 20) == [active[:20], active[20:40], active[40:]]
    assert await _all_pages(app, scene_id, 7) == [active[i : i + 7] for i in range(0, 41, 7)]


async def test_a_scene_without_segments_has_one_empty_page(app: Any, factory: Factory) -> None:
    scene_id = await _scene_with(app, factory, 0)
    assert await _all_pages(app, scene_id, 20) == [[]]


async def test_a_cursor_of_another_list_is_refused(app: Any, factory: Factory) -> None:
    scene_id = await _scene_with(app, factory, 3)
    foreign = encode_cursor([uuid.uuid4()])
    async with app.state.db.reading() as session:
        with pytest.raises(InvalidInput):
            await repository.page_active_segments(session, scene_id, limit=20, cursor=foreign)


async def test_a_windowed_page_carries_every_column_as_stored(app: Any, factory: Factory) -> None:
    # The page's partitions return each row as one composite value, spread into columns above.
    scene_id = await _scene_with(app, factory, 3)
    async with app.state.db.transaction() as session:
        await session.execute(
            update(Segment)
            .where(Segment.scene_id == scene_id, Segment.sequence == 2)
            .values(
                script={"shots": [{"text": "Fog.", "seconds": 2.5}]},
                duration=7.25,
                thumbnail_key="thumbs/2.jpg",
                file_size=12_345_678_901,
                stage_durations={"render": 1.5},
            )
        )
    columns = [c.key for c in Segment.__table__.c]
    async with app.state.db.reading() as session:
        page = await repository.page_active_segments(session, scene_id, limit=20, cursor=None)
        paged = [[getattr(s, key) for key in columns] for s in page.items]
        session.expunge_all()
        stored = (
            await session.scalars(
                select(Segment).where(Segment.scene_id == scene_id).order_by(Segment.sequence)
            )
        ).all()
    assert paged == [[getattr(s, key) for key in columns] for s in stored]
    assert paged[1][columns.index("script")] == {"shots": [{"text": "Fog.", "seconds": 2.5}]}

"""The segments page read on the driver (read_repository.page_active_segment_rows): the same
pages, cursors and columns as repository.page_active_segments through a session, including
when the window holds segments that are not active (the unbounded statement's turn)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from domain.errors import InvalidInput
from domain.pagination import encode_cursor
from domain.scenes import read_repository, repository
from domain.scenes.models import Segment, SegmentStatus
from tests.domain.test_segment_pages import _scene_with, _set_status
from tests.factories import Factory

_COLUMNS = [column.key for column in Segment.__table__.columns]


async def _both_walks(app: Any, scene_id: uuid.UUID, limit: int) -> tuple[list[Any], list[Any]]:
    """Every page of both, each as (rows as dicts, next cursor)."""
    walks: tuple[list[Any], list[Any]] = ([], [])
    for on_driver, walk in zip((False, True), walks, strict=True):
        cursor = None
        while True:
            if on_driver:
                page = await read_repository.page_active_segment_rows(
                    app.state.db, scene_id, limit=limit, cursor=cursor, after_lsn=None
                )
            else:
                async with app.state.db.reading() as session:
                    page = await repository.page_active_segments(
                        session, scene_id, limit=limit, cursor=cursor
                    )
            rows = [{key: getattr(row, key) for key in _COLUMNS} for row in page.items]
            walk.append((rows, page.next_cursor))
            cursor = page.next_cursor
            if cursor is None:
                break
    return walks


async def test_the_driver_reads_the_sessions_pages(app: Any, factory: Factory) -> None:
    scene_id = await _scene_with(app, factory, 23)
    in_session, on_driver = await _both_walks(app, scene_id, 10)
    assert len(on_driver) == 3
    assert on_driver == in_session
    # Not active inside the first window and on the last page: the unbounded statement reads.
    await _set_status(app, scene_id, {2, 3}, SegmentStatus.HIDDEN.value)
    await _set_status(app, scene_id, {22}, SegmentStatus.REMOVED.value)
    in_session, on_driver = await _both_walks(app, scene_id, 10)
    sequences = [[row["sequence"] for row in rows] for rows, _ in on_driver]
    active = [n for n in range(1, 24) if n not in {2, 3, 22}]
    assert sequences == [active[:10], active[10:20]]
    assert on_driver == in_session


async def test_no_segments_and_foreign_cursors(app: Any, factory: Factory) -> None:
    scene_id = await _scene_with(app, factory, 0)
    in_session, on_driver = await _both_walks(app, scene_id, 20)
    assert on_driver == in_session == [([], None)]
    with pytest.raises(InvalidInput):
        await read_repository.page_active_segment_rows(
            app.state.db, scene_id, limit=20, cursor=encode_cursor([uuid.uuid4()]), after_lsn=None
        )

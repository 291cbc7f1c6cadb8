"""The segments page read on the driver (read_repository.page_scene_segments): the scene's
visibility, the page and each segment's media kinds and author in one statement, with the
same pages, cursors and columns as repository.page_active_segments through a session,
including when the window holds segments that are not active (the unbounded statement's
turn, the one case of a second round trip)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from sqlalchemy import update

from domain.errors import InvalidInput, NotFound
from domain.pagination import encode_cursor
from domain.scenes import read_repository, repository, service
from domain.scenes.models import Scene, Segment, SegmentStatus
from domain.users.models import Role, User
from tests.domain.test_segment_pages import _scene_with, _set_status
from tests.factories import Factory
from tests.media_rows import attach_media


def _anyone(_: Any) -> bool:
    return True


def _field(row: Any, name: str) -> Any:
    """A column of the driver's record, or an attribute of the session's Segment."""
    return row[name] if isinstance(row, asyncpg.Record) else getattr(row, name)


@pytest.fixture
def round_trips(app: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int | None]]:
    """The statements the database ran (spied, still run): the WAL position each was to see."""
    db = app.state.db
    counted: list[int | None] = []
    read_rows, read_row = db.read_rows, db.read_row

    async def counting_rows(*args: Any, **kwargs: Any) -> Any:
        counted.append(kwargs["after"])
        return await read_rows(*args, **kwargs)

    async def counting_row(*args: Any, **kwargs: Any) -> Any:
        counted.append(kwargs["after"])
        return await read_row(*args, **kwargs)

    monkeypatch.setattr(db, "read_rows", counting_rows)
    monkeypatch.setattr(db, "read_row", counting_row)
    yield counted


async def _both_walks(
    app: Any, scene_id: uuid.UUID, limit: int, round_trips: list[int | None]
) -> tuple[list[Any], list[Any], list[int]]:
    """Every page of both, each as (rows as dicts, next cursor); the driver's round trips per
    page."""
    walks: tuple[list[Any], list[Any]] = ([], [])
    trips = []
    for on_driver, walk in zip((False, True), walks, strict=True):
        cursor = None
        while True:
            if on_driver:
                round_trips.clear()
                page = await read_repository.page_scene_segments(
                    app.state.db,
                    scene_id,
                    visible=_anyone,
                    limit=limit,
                    cursor=cursor,
                    after_lsn=None,
                )
                assert page is not None
                trips.append(len(round_trips))
            else:
                async with app.state.db.reading() as session:
                    page = await repository.page_active_segments(
                        session, scene_id, limit=limit, cursor=cursor
                    )
            fields = read_repository.SEGMENT_FIELDS
            rows = [{key: _field(row, key) for key in fields} for row in page.items]
            walk.append((rows, page.next_cursor))
            cursor = page.next_cursor
            if cursor is None:
                break
    return *walks, trips


async def test_the_driver_reads_the_sessions_pages(
    app: Any, factory: Factory, round_trips: list[int | None]
) -> None:
    scene_id = await _scene_with(app, factory, 23)
    in_session, on_driver, trips = await _both_walks(app, scene_id, 10, round_trips)
    assert len(on_driver) == 3
    assert on_driver == in_session
    # Each page is its window (the last one's is short, but all of it is active): one
    # statement each.
    assert trips == [1, 1, 1]
    # Not active inside the first window and on the last page: the unbounded statement reads.
    await _set_status(app, scene_id, {2, 3}, SegmentStatus.HIDDEN.value)
    await _set_status(app, scene_id, {22}, SegmentStatus.REMOVED.value)
    in_session, on_driver, trips = await _both_walks(app, scene_id, 10, round_trips)
    sequences = [[row["sequence"] for row in rows] for rows, _ in on_driver]
    active = [n for n in range(1, 24) if n not in {2, 3, 22}]
    assert sequences == [active[:10], active[10:20]]
    assert on_driver == in_session
    assert trips == [2, 2]


async def test_a_deep_page_of_a_long_scene_is_one_statement(
    app: Any, factory: Factory, round_trips: list[int | None]
) -> None:
    scene_id = await _scene_with(app, factory, 70)
    in_session, on_driver, trips = await _both_walks(app, scene_id, 20, round_trips)
    assert on_driver == in_session
    assert [[row["sequence"] for row in rows] for rows, _ in on_driver] == [
        list(range(n, min(n + 20, 71))) for n in (1, 21, 41, 61)
    ]
    assert trips == [1, 1, 1, 1]


async def test_no_segments_and_foreign_cursors(
    app: Any, factory: Factory, round_trips: list[int | None]
) -> None:
    scene_id = await _scene_with(app, factory, 0)
    in_session, on_driver, _ = await _both_walks(app, scene_id, 20, round_trips)
    assert on_driver == in_session == [([], None)]
    foreign = encode_cursor([uuid.uuid4()])
    with pytest.raises(InvalidInput):
        await read_repository.page_scene_segments(
            app.state.db, scene_id, visible=_anyone, limit=20, cursor=foreign, after_lsn=None
        )
    # No such scene (to this viewer) comes first: NotFound, not the cursor's 422.
    for missing, visible in ((uuid.uuid4(), _anyone), (scene_id, lambda _: False)):
        page = await read_repository.page_scene_segments(
            app.state.db, missing, visible=visible, limit=20, cursor=foreign, after_lsn=None
        )
        assert page is None


async def test_every_statement_sees_the_callers_writes(
    app: Any, factory: Factory, round_trips: list[int | None]
) -> None:
    scene_id = await _scene_with(app, factory, 3)
    await _set_status(app, scene_id, {2}, SegmentStatus.HIDDEN.value)  # the fallback's turn
    lsn = await app.state.db.write_lsn()
    page = await service.page_segment_rows(
        app.state.db, scene_id, None, limit=20, cursor=None, after=lsn
    )
    assert [row["sequence"] for row in page.items] == [1, 3]
    with pytest.raises(InvalidInput):
        await service.page_segment_rows(
            app.state.db, scene_id, None, limit=20, cursor="%%", after=lsn
        )
    assert round_trips == [lsn, lsn, lsn]


async def _set_scene(app: Any, scene_id: uuid.UUID, **values: Any) -> None:
    async with app.state.db.transaction() as session:
        await session.execute(update(Scene).where(Scene.id == scene_id).values(**values))


async def _page_for(app: Any, scene_id: uuid.UUID, viewer: User | None) -> list[int]:
    page = await service.page_segment_rows(
        app.state.db, scene_id, viewer, limit=20, cursor=None, after=None
    )
    return [row["sequence"] for row in page.items]


@pytest.mark.parametrize(
    "change",
    [{"status": "hidden"}, {"status": "removed"}, {"deleted_at": datetime.now(UTC)}],
)
async def test_a_scene_not_public_is_found_by_moderators_only(
    app: Any, factory: Factory, change: dict[str, Any]
) -> None:
    scene_id = await _scene_with(app, factory, 3)
    reader, moderator = User(role=Role.USER.value), User(role=Role.MODERATOR.value)
    for viewer in (None, reader, moderator):
        assert await _page_for(app, scene_id, viewer) == [1, 2, 3]
    await _set_scene(app, scene_id, **change)
    for viewer in (None, reader):
        with pytest.raises(NotFound):
            await _page_for(app, scene_id, viewer)
    assert await _page_for(app, scene_id, moderator) == [1, 2, 3]
    with pytest.raises(NotFound):
        await _page_for(app, uuid.uuid4(), moderator)


async def test_each_row_carries_its_media_kinds_and_author(app: Any, factory: Factory) -> None:
    author = await factory.account()
    scene_id = await _scene_with(app, factory, 3)
    async with app.state.db.transaction() as session:
        await session.execute(
            update(Segment)
            .where(Segment.scene_id == scene_id, Segment.sequence == 1)
            .values(user_id=uuid.UUID(author.id))
        )
    listed = await _page_rows(app, scene_id)
    # The second: chunks, an MP4, a thumbnail and captions; the third: chunks only.
    await attach_media(app, listed[1]["id"], chunks=[2.0, 2.0, 1.5], captions=True)
    await attach_media(app, listed[2]["id"], chunks=[2.0], files=False)
    listed = await _page_rows(app, scene_id)
    assert [sorted(row["roles"] or ()) for row in listed] == [
        [],
        ["captions", "chunk", "thumbnail", "video"],
        ["chunk"],
    ]
    assert [(row["author_username"], row["author_display_name"]) for row in listed] == [
        (author.username, None),
        (None, None),
        (None, None),
    ]


async def _page_rows(app: Any, scene_id: uuid.UUID) -> list[Any]:
    page = await read_repository.page_scene_segments(
        app.state.db, scene_id, visible=_anyone, limit=20, cursor=None, after_lsn=None
    )
    assert page is not None
    return list(page.items)

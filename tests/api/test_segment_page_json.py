"""The segments page's JSON is written from its rows without a pydantic model
(api.presenters.scenes.segment_page_response): the bytes must be those of
Page[SegmentOut].model_validate(...).model_dump_json() for the same rows, on rows the
database returned and on any rows of the columns' types."""

from __future__ import annotations

import uuid
from collections import namedtuple
from datetime import UTC, datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

import httpx
from asyncpg.pgproto.pgproto import UUID as DriverUUID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import update

from api.presenters.scenes import segment_fields, segment_page_response
from domain.media.models import MediaRole
from domain.pagination import Page as DomainPage
from domain.scenes import service
from domain.scenes.models import Segment
from domain.scenes.read_repository import SEGMENT_FIELDS
from schemas.common import Page
from schemas.scenes import SegmentOut
from tests.domain.test_segment_pages import _scene_with
from tests.factories import Factory
from tests.media_rows import attach_media

NAMED = 'Ana — été \U0001f600 "q"'
AWKWARD = 'Mara — été \U0001f600 "q" \\ \x1f \u2028'
Row = namedtuple(  # type: ignore[misc]
    "Row", [*SEGMENT_FIELDS, "roles", "author_username", "author_display_name"]
)


def _validated_bytes(page: DomainPage[Any], urls: Any) -> bytes:
    """What the route sent before: SegmentOut's fields of each row, validated and dumped."""
    items = []
    for record in page.items:  # the driver's records, or dicts of their columns
        row = SimpleNamespace(**dict(record))
        author = (row.author_username, row.author_display_name) if row.author_username else None
        items.append(segment_fields(row, urls, frozenset(row.roles or ()), author))
    body = {"items": items, "next_cursor": page.next_cursor}
    return Page[SegmentOut].model_validate(body).model_dump_json().encode()


async def test_a_page_read_from_the_database(
    app: Any, client: httpx.AsyncClient, factory: Factory
) -> None:
    named, plain = await factory.account(), await factory.account()
    response = await client.patch(
        "/v1/users/me", json={"display_name": NAMED}, headers=named.headers
    )
    assert response.status_code == 200, response.text
    scene_id = await _scene_with(app, factory, 5)
    values: list[dict[str, Any]] = [
        # The columns the database fills alone: no author, no bible, no size, duration 0.
        {},
        {"user_id": uuid.UUID(named.id), "text": AWKWARD, "duration": 7.25, "bible_version": 3,
         "resolution": "1280x720", "file_size": 12_345_678_901},
        {"user_id": uuid.UUID(plain.id), "duration": 0.1 + 0.2, "file_size": 0},
        {"user_id": uuid.UUID(named.id), "duration": 8.0},
        {"duration": 1e-7, "resolution": ""},
    ]  # fmt: skip
    async with app.state.db.transaction() as session:
        for sequence, changed in enumerate(values, 1):
            if changed:
                await session.execute(
                    update(Segment)
                    .where(Segment.scene_id == scene_id, Segment.sequence == sequence)
                    .values(**changed)
                )
    page = await service.page_segment_rows(
        app.state.db, scene_id, None, limit=4, cursor=None, after=None
    )
    await attach_media(app, page.items[1]["id"], chunks=[2.0, 5.25], captions=True)
    await attach_media(app, page.items[2]["id"], chunks=[], files=True)
    await attach_media(app, page.items[3]["id"], chunks=[1.0], files=False)
    urls = app.state.media_urls
    cursor = None
    for _ in range(2):  # a page of four, then one of one
        page = await service.page_segment_rows(
            app.state.db, scene_id, None, limit=4, cursor=cursor, after=None
        )
        assert bytes(segment_page_response(page, urls).body) == _validated_bytes(page, urls)
        cursor = page.next_cursor
    assert cursor is None
    first = (await client.get(f"/v1/scenes/{scene_id}/segments?limit=4")).json()
    assert [item["duration"] for item in first["items"]] == [0.0, 7.25, 0.1 + 0.2, 8.0]
    assert first["items"][1]["author_display_name"] == NAMED
    assert first["items"][1]["captions_url"] is not None
    assert first["items"][2]["hls_playlist_url"] is None
    assert first["items"][2]["thumbnail_url"] is not None
    assert first["items"][3]["video_url"] is None


# The driver's own UUID type (a subclass of uuid.UUID), as the rows carry them, or Python's.
_UUIDS = st.uuids() | st.uuids().map(lambda value: DriverUUID(str(value)))
_BIGINT = st.integers(min_value=-(2**63), max_value=2**63 - 1)
_ZONES = st.sampled_from(
    [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(-timedelta(hours=8))]
)
_ROWS = st.builds(
    Row,
    id=_UUIDS,
    scene_id=_UUIDS,
    sequence=st.integers(min_value=1, max_value=2**31 - 1),
    user_id=st.none() | _UUIDS,
    text=st.text(),
    duration=st.floats(),
    bible_version=st.none() | st.integers(min_value=-(2**31), max_value=2**31 - 1),
    created_at=st.datetimes(
        min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=_ZONES
    ),
    resolution=st.none() | st.text(max_size=20),
    file_size=st.none() | _BIGINT,
    roles=st.none() | st.lists(st.sampled_from([role.value for role in MediaRole]), unique=True),
    author_username=st.none() | st.text(min_size=1, max_size=32),
    author_display_name=st.none() | st.text(),
)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(_ROWS, max_size=5), next_cursor=st.none() | st.text(max_size=40))
async def test_any_rows_are_sent_as_the_model_sends_them(
    app: Any, rows: list[Any], next_cursor: str | None
) -> None:
    # An author's display name comes with a username only (the same joined row).
    rows = [r if r.author_username else r._replace(author_display_name=None) for r in rows]
    page = DomainPage(items=[r._asdict() for r in rows], next_cursor=next_cursor)
    urls = app.state.media_urls
    assert bytes(segment_page_response(page, urls).body) == _validated_bytes(page, urls)

"""Hot reads written from their rows without validation (api.presenters.wire): the bytes must be
the response model's own, `Model.model_validate(row).model_dump_json()`: on real rows of each
route, and for any values of the types the models' fields hold."""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from types import NoneType, SimpleNamespace, UnionType
from typing import Any, Literal, get_args, get_origin

import httpx
import pytest
from asyncpg.pgproto.pgproto import UUID as DriverUUID
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field
from sqlalchemy import text

from api.presenters.wire import WireFields, wire_response
from domain.ideas import service as ideas_service
from domain.jobs import service as jobs_service
from domain.scenes import read_repository
from domain.scenes import service as scenes_service
from infra.media_urls import MediaUrls
from infra.prepared import Prepared
from schemas.common import Page
from schemas.ideas import IdeaOut
from schemas.jobs import JobOut
from schemas.scenes import SceneOut
from tests.factories import Factory

# Non-ASCII, an astral character, quotes, a backslash (a title may not hold control characters).
AWKWARD = 'Mara — été \U0001f600 "q" \\ end'


def _model_bytes(model: type[BaseModel], content: Any) -> bytes:
    return model.model_validate(content).model_dump_json().encode()


async def _sql(factory: Factory, statement: str, **params: Any) -> None:
    async with factory.app.state.db.transaction() as session:
        await session.execute(text(statement), params)


# On real rows, through the routes


async def test_a_polled_job_is_its_models_bytes(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.account()
    scene = await factory.scene(owner)
    bare, done = await factory.job(owner, scene), await factory.job(owner, scene)
    await _sql(
        factory,
        "UPDATE jobs SET status = 'failed', stage = 'error', progress = 40, message = :m, "
        "result_data = CAST(:data AS jsonb), error_code = 'continuity_violation', "
        "error_message = :m, retryable = true, retry_count = 2, cancel_requested = true, "
        "started_at = now() - interval '1 minute', finished_at = now() WHERE id = :id",
        id=done["id"],
        m=AWKWARD,
        data='{"violations": [{"pointer": "/text", "message": "é", "rule": "r", "entity": null,'
        ' "start": 0, "end": 3, "weight": 0.30000000000000004, "big": 1e16}], "ok": true}',
    )
    db = factory.app.state.db
    for job in (bare, done):
        row = await jobs_service.get_for_caller(db, uuid.UUID(owner.id), uuid.UUID(job["id"]))
        # The fast path, and FastAPI's route (an id spelled without hyphens goes there).
        for spelled in (job["id"], job["id"].replace("-", "")):
            response = await client.get(f"/v1/jobs/{spelled}", headers=owner.headers)
            assert response.status_code == 200
            assert response.content == _model_bytes(JobOut, row)
            assert response.headers["content-type"] == "application/json"
    assert response.json()["result_data"]["violations"][0]["message"] == "é"
    assert (await client.get(f"/v1/jobs/{bare['id']}", headers=owner.headers)).json()[
        "result_data"
    ] is None


def _scene_content(row: Mapping[str, Any], urls: MediaUrls) -> dict[str, Any]:
    """A scene's columns and cover_id (a named tuple's, or a record's), made here as the
    contract says, not by the presenter under test."""
    cover = urls.segment_thumbnail(row["cover_id"]) if row["cover_id"] else None
    return {**row, "cover_url": cover, **urls.scene_links(row["id"])}


Scenes = tuple[dict[str, Any], list[dict[str, Any]]]


@pytest.fixture
async def scenes(factory: Factory) -> Scenes:
    """A topic and its four scenes: plain; covered; locked, odd floats; NaN duration, deleted."""
    owner = await factory.account()
    topic = await factory.topic()
    made = [await factory.scene(owner, await factory.idea(owner, topic)) for _ in range(4)]
    await factory.contributed_segment(made[1], owner, text=AWKWARD)
    await _sql(
        factory,
        "UPDATE scenes SET status = 'locked', locked_at = now(), total_duration = 1e16,"
        " title = :t WHERE id = :id",
        id=made[2]["id"],
        t=AWKWARD,
    )
    await _sql(
        factory,
        "UPDATE scenes SET total_duration = 'NaN', deleted_at = now() WHERE id = :id",
        id=made[3]["id"],
    )
    return topic, made


async def test_a_scene_is_its_models_bytes(
    client: httpx.AsyncClient, factory: Factory, scenes: Scenes
) -> None:
    _, made = scenes
    moderator = await factory.account("moderator")
    db, urls = factory.app.state.db, factory.app.state.media_urls
    for scene in made:
        row = await read_repository.scene_with_cover(db, uuid.UUID(scene["id"]), after=None)
        # Anonymous: the fast path; a moderator (who alone sees the deleted one): FastAPI's.
        for headers in ({}, moderator.headers) if row.deleted_at is None else (moderator.headers,):
            response = await client.get(f"/v1/scenes/{scene['id']}", headers=headers)
            assert response.status_code == 200
            assert response.content == _model_bytes(SceneOut, _scene_content(row._asdict(), urls))
    assert response.json()["total_duration"] is None  # NaN, as the model writes it
    first = await client.get(f"/v1/scenes/{made[1]['id']}")
    assert first.json()["cover_url"] is not None and first.json()["last_segment_at"] is not None


async def test_a_page_of_scenes_is_its_models_bytes(
    client: httpx.AsyncClient, factory: Factory, scenes: Scenes
) -> None:
    topic, _ = scenes
    db, urls = factory.app.state.db, factory.app.state.media_urls
    for limit in (2, 20):
        response = await client.get("/v1/scenes", params={"topic": topic["id"], "limit": limit})
        page = await scenes_service.list_scene_rows(
            db, topic=topic["id"], sort="new", limit=limit, cursor=None, after=None
        )
        items = [_scene_content(row, urls) for row in page.items]
        expected = {"items": items, "next_cursor": page.next_cursor}
        assert response.status_code == 200
        assert response.content == _model_bytes(Page[SceneOut], expected)
    assert len(response.json()["items"]) == 3  # the deleted one is not listed
    assert {item["cover_url"] is None for item in response.json()["items"]} == {True, False}


async def test_a_page_of_ideas_is_its_models_bytes(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.account()
    topic = await factory.topic()
    category = await factory.category(topic)
    await factory.idea(owner, topic, tags=[])
    await factory.idea(owner, topic, category_id=category["id"], tags=["fog", "Two  Words"])
    await factory.idea(owner, topic, title=AWKWARD, prompt=AWKWARD)
    where = ideas_service.list_filter(topic["id"], None, None)
    for limit in (2, 20):
        response = await client.get("/v1/ideas", params={"topic": topic["id"], "limit": limit})
        db = factory.app.state.db
        page = await ideas_service.list_idea_rows(
            db, None, where=where, sort="new", limit=limit, cursor=None, after=None
        )
        expected = {"items": [dict(row) for row in page.items], "next_cursor": page.next_cursor}
        assert response.status_code == 200
        assert response.content == _model_bytes(Page[IdeaOut], expected)
    items = response.json()["items"]
    assert [item["category_id"] is None for item in items] == [True, False, True]
    assert [item["tags"] for item in items] == [["mystery"], ["fog", "two words"], []]


# For any values of the fields' types

# Where float encoders differ, drawn often: non-finite, signed zero, exponents, long reprs.
_EDGES = [math.nan, math.inf, -math.inf, -0.0, 1e16, 1e-7, 0.1 + 0.2]
_FLOATS = st.sampled_from(_EDGES) | st.floats()
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | _FLOATS | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=10,
)
_ZONES = st.just(UTC) | st.builds(
    timezone, st.integers(-14 * 60, 14 * 60).map(lambda minutes: timedelta(minutes=minutes))
)
# As PostgreSQL's text holds them: any character but a lone surrogate.
_TEXT = st.text(st.characters(exclude_categories=["Cs"]))


def _values(annotation: Any) -> st.SearchStrategy[Any]:
    """Values of a field's type, as our rows carry them (UUIDs: the driver's or Python's)."""
    args = get_args(annotation)
    if isinstance(annotation, UnionType):
        return st.one_of(*(_values(arg) for arg in args))
    simple: dict[Any, st.SearchStrategy[Any]] = {
        NoneType: st.none(),
        uuid.UUID: st.uuids().flatmap(lambda u: st.sampled_from([u, DriverUUID(str(u))])),
        str: _TEXT,
        int: st.integers(),
        float: _FLOATS,
        bool: st.booleans(),
        datetime: st.datetimes(timezones=_ZONES),
    }
    if annotation in simple:
        return simple[annotation]
    if get_origin(annotation) is Literal:
        return st.sampled_from(args)
    if get_origin(annotation) is list:
        return st.lists(_values(args[0]), max_size=3)
    if get_origin(annotation) is dict:
        return st.dictionaries(st.text(), _JSON, max_size=3)
    raise AssertionError(f"no strategy for {annotation}")


def _rows(model: type[BaseModel]) -> st.SearchStrategy[SimpleNamespace]:
    fields = {name: _values(field.annotation) for name, field in model.model_fields.items()}
    return st.fixed_dictionaries(fields).map(lambda values: SimpleNamespace(**values))


@pytest.mark.parametrize("model", [JobOut, SceneOut, IdeaOut])
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_any_row_is_written_as_its_model_writes_it(model: Any, data: st.DataObject) -> None:
    fields = WireFields(model)
    row = data.draw(_rows(model))
    assert wire_response(fields.of(row)).body == _model_bytes(model, vars(row))
    rows = data.draw(st.lists(_rows(model), max_size=3))
    cursor = data.draw(st.none() | st.text())
    page = {"items": [fields.of(row) for row in rows], "next_cursor": cursor}
    expected = {"items": [vars(row) for row in rows], "next_cursor": cursor}
    assert wire_response(page).body == _model_bytes(Page[model], expected)


def test_only_models_written_as_their_fields_are_taken() -> None:
    class Aliased(BaseModel):
        from_: int = Field(serialization_alias="from")

    with pytest.raises(TypeError):
        WireFields(Aliased)
    with pytest.raises(ValueError, match="last fields"):
        WireFields(SceneOut, made=("export_url", "playlist_url"))
    assert WireFields(SceneOut, made=("playlist_url", "export_url")).names[-1] == "cover_url"


async def test_records_are_taken_only_with_the_fields_first_and_in_order(factory: Factory) -> None:
    fields = WireFields(IdeaOut)
    columns = ", ".join(f"NULL AS {name}" for name in fields.names)
    db = factory.app.state.db
    exact = await db.read_rows(Prepared(text(f"SELECT {columns}, 1 AS extra")), {})
    reordered = await db.read_rows(Prepared(text(f"SELECT 1 AS extra, {columns}")), {})
    assert fields.records([]) == []
    assert list(fields.records(exact)[0]) == list(fields.names)  # the extra column left out
    with pytest.raises(ValueError, match="are not the fields"):
        fields.records(reordered)

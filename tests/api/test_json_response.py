"""Hot routes send their response_model's JSON themselves (api.presenters.wire.wire_response):
the bytes must be those FastAPI sends for the same model, so skipping its validation changes
nothing a client can see (tests/api/test_wire_responses.py holds them to the model's own
model_dump_json on real rows)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel

from api.presenters.wire import wire_response
from schemas.common import Page
from schemas.ideas import IdeaOut
from schemas.scenes import SceneOut, SegmentOut

NOW = datetime(2026, 12, 7, 11, 0, 0, 123456, tzinfo=UTC)
# Non-ASCII, an astral character, quotes, a backslash, a control character, a line separator.
AWKWARD = 'Mara — été \U0001f600 "q" \\ \x1f \u2028'


def _fastapi_bytes(model: Page[SceneOut] | Page[IdeaOut] | Page[SegmentOut]) -> bytes:
    # What FastAPI does with a response_model: serialise in JSON mode, then JSONResponse.
    return bytes(JSONResponse(model.model_dump(mode="json", by_alias=True)).body)


def in_model_order(model: type[BaseModel], item: dict[str, Any]) -> dict[str, Any]:
    """The item's fields as a presenter gives them: all of the model's, in its order."""
    return {name: item.get(name, field.default) for name, field in model.model_fields.items()}


def test_a_page_of_scenes_is_sent_as_fastapi_would_send_it() -> None:
    ids = {name: uuid.uuid4() for name in ("id", "idea_id", "topic_id", "user_id")}
    scene = {**ids, "title": AWKWARD, "description": "Fog.", "status": "active",
             "bible_version": 1, "segment_count": 3, "total_duration": 0.1 + 0.2,
             "contributor_count": 1, "like_count": 0, "view_count": 7, "last_segment_at": None,
             "created_at": NOW, "updated_at": NOW, "cover_url": None,
             "playlist_url": "/v1/scenes/x/playlist.m3u8",
             "export_url": "https://cdn.example/v1/scenes/x/export.mp4"}  # fmt: skip
    body = {"items": [in_model_order(SceneOut, scene)] * 2, "next_cursor": "abc"}

    response = wire_response(body)

    assert bytes(response.body) == _fastapi_bytes(Page[SceneOut].model_validate(body))
    assert response.headers["content-type"] == "application/json"


def test_a_page_of_ideas_and_of_segments_too() -> None:
    idea = {"id": uuid.uuid4(), "user_id": uuid.uuid4(), "topic_id": uuid.uuid4(),
            "category_id": None, "title": AWKWARD, "prompt": "p", "tags": ["fog", "été"],
            "status": "active", "review_status": "approved", "like_count": 2, "scene_count": 0,
            "view_count": 1, "created_at": NOW, "updated_at": NOW}  # fmt: skip
    segment = {"id": uuid.uuid4(), "scene_id": uuid.uuid4(), "sequence": 1, "user_id": None,
               "text": AWKWARD, "duration": 12.5, "bible_version": None, "created_at": NOW,
               "hls_playlist_url": None, "video_url": "/v1/segments/x/video.mp4",
               "thumbnail_url": None, "file_size": 10**12}  # fmt: skip
    for model, item in ((IdeaOut, idea), (SegmentOut, segment)):
        body = {"items": [in_model_order(model, item)], "next_cursor": None}
        page = Page[model].model_validate(body)  # type: ignore[valid-type]
        assert bytes(wire_response(body).body) == _fastapi_bytes(page)

"""A scene's life through the API, part one: edit, lock, archive, and the cover. Real database,
no worker (tests/worker/test_scene_lock_e2e.py runs the jobs in flight; deletion, restore, purge
and withdrawal are in test_scene_deletion.py)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from domain.scenes.models import Scene
from domain.users.models import Role
from tests.api.scene_calls import cancel, continue_, job_status, patch, read
from tests.factories import Factory

# Editing and closing


async def test_the_owner_edits_title_description_and_status(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.account()
    scene = await factory.scene(owner)

    response = await patch(
        client, owner, scene["id"], {"title": "  The second bell ", "description": "Rain."}
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["title"], body["description"], body["status"]) == (
        "The second bell",
        "Rain.",
        "active",
    )
    assert body["topic_id"] == scene["topic_id"] and body["locked_at"] is None
    assert (await read(client, scene["id"])).json()["title"] == "The second bell"


async def test_locked_and_archived_scenes_take_no_continuations_until_unlocked(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.account()
    scene = await factory.scene(owner)

    for closed in ("locked", "archived"):
        body = (await patch(client, owner, scene["id"], {"status": closed})).json()
        assert body["status"] == closed and body["locked_at"] is not None
        refused = await continue_(client, owner, scene["id"])
        assert refused.status_code == 409, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        # Still public: in the list and readable.
        assert (await read(client, scene["id"])).status_code == 200
        bible = await client.put(
            f"/v1/scenes/{scene['id']}/bible",
            json={"data": (await client.get(f"/v1/scenes/{scene['id']}/bible")).json()["data"]},
            headers={**owner.headers, "If-Match": '"1"'},
        )
        assert bible.status_code == 409, bible.text

    reopened = (await patch(client, owner, scene["id"], {"status": "active"})).json()
    assert reopened["status"] == "active" and reopened["locked_at"] is None
    accepted = await continue_(client, owner, scene["id"])
    assert accepted.status_code == 202, accepted.text
    await cancel(client, owner, accepted.json()["id"])


async def test_locking_cancels_the_jobs_in_flight_only_when_the_owner_asks(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.account()
    scene = await factory.scene(owner)
    kept = (await continue_(client, owner, scene["id"])).json()

    await patch(client, owner, scene["id"], {"status": "locked"})
    assert await job_status(client, owner, kept["id"]) == "queued"
    # Locked again, now cancelling: the owner changed their mind.
    again = await patch(client, owner, scene["id"], {"status": "locked", "cancel_in_flight": True})
    assert again.status_code == 200, again.text
    assert await job_status(client, owner, kept["id"]) == "cancelled"

    await patch(client, owner, scene["id"], {"status": "active"})
    kept = (await continue_(client, owner, scene["id"])).json()
    dropped = (await continue_(client, owner, scene["id"])).json()
    response = await patch(
        client, owner, scene["id"], {"status": "archived", "cancel_in_flight": True}
    )
    assert response.status_code == 200, response.text
    assert await job_status(client, owner, kept["id"]) == "cancelled"
    assert await job_status(client, owner, dropped["id"]) == "cancelled"
    job = (await client.get(f"/v1/jobs/{dropped['id']}", headers=owner.headers)).json()
    assert job["message"] == "Cancelled: the scene was archived." and job["type"] == "continuation"


async def test_a_moderator_may_edit_but_a_moderation_status_is_not_the_owners(
    app: Any, client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, moderator = await factory.account(), await factory.account(Role.MODERATOR)
    scene = await factory.scene(owner)
    assert (await patch(client, moderator, scene["id"], {"status": "locked"})).status_code == 200
    async with app.state.db.transaction() as session:
        await session.execute(
            update(Scene).where(Scene.id == uuid.UUID(scene["id"])).values(status="hidden")
        )

    response = await patch(client, moderator, scene["id"], {"status": "active"})

    assert response.status_code == 409, response.text
    assert (await read(client, scene["id"], moderator)).json()["status"] == "hidden"


HOSTILE_PATCHES = [
    {"status": "hidden"},
    {"status": "removed"},
    {"status": "deleted"},
    {"status": None},
    {"status": 1},
    {"title": None},
    {"title": ""},
    {"title": "   "},
    {"title": "x" * 201},
    {"title": "two\nlines"},
    {"title": "nul\x00byte"},
    b'{"description": "\\ud800"}',
    b'{"title": "unclosed',
    {"description": "y" * 5001},
    {"description": None},
    {"cancel_in_flight": True},
    {"status": "active", "cancel_in_flight": True},
    {"status": "locked", "cancel_in_flight": "yes"},
    {"status": "locked", "cancel_in_flight": 1},
    {"cover_segment_id": "not-a-uuid"},
    {"cover_segment_id": str(uuid.uuid4())},
    {"cover_segment_id": 7},
    {"user_id": str(uuid.uuid4())},
    {"deleted_at": "2020-01-01T00:00:00Z"},
    {"like_count": 10_000},
    [],
    "locked",
]


@pytest.mark.parametrize("body", HOSTILE_PATCHES, ids=[repr(b)[:40] for b in HOSTILE_PATCHES])
async def test_hostile_patches_get_a_problem_and_change_nothing(
    client: httpx.AsyncClient, factory: Factory, body: Any
) -> None:
    owner = await factory.account()
    scene = await factory.scene(owner)
    before = (await read(client, scene["id"])).json()

    response = await patch(client, owner, scene["id"], body)

    assert response.status_code in (400, 422), response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert (await read(client, scene["id"])).json() == before


@pytest.mark.parametrize("path", ["/v1/scenes/not-a-uuid", "/v1/scenes/1%00"])
async def test_hostile_ids_are_a_problem(
    client: httpx.AsyncClient, factory: Factory, path: str
) -> None:
    owner = await factory.account()
    for method in ("PATCH", "DELETE"):
        response = await client.request(method, path, json={"title": "x"}, headers=owner.headers)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
    response = await client.post(f"{path}/restore", headers=owner.headers)
    assert response.status_code in (403, 422), response.text


# The cover


def cover(segment: dict[str, Any]) -> str:
    """A cover is the stable API URL of its segment's thumbnail, never a storage location."""
    return f"/v1/segments/{segment['id']}/thumbnail.jpg"


async def test_the_cover_is_the_chosen_segment_until_it_is_withdrawn(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, other = await factory.account(), await factory.account()
    scene = await factory.scene(owner)
    first = await factory.contributed_segment(scene, owner)
    second = await factory.contributed_segment(scene, other)
    assert (await read(client, scene["id"])).json()["cover_url"].endswith(cover(first))

    chosen = await patch(client, owner, scene["id"], {"cover_segment_id": second["id"]})
    assert chosen.status_code == 200, chosen.text
    assert chosen.json()["cover_url"].endswith(cover(second))
    listed = (await client.get("/v1/scenes", params={"topic": scene["topic_id"]})).json()
    assert listed["items"][0]["cover_url"].endswith(cover(second))

    withdrawn = await client.delete(f"/v1/segments/{second['id']}", headers=other.headers)
    assert withdrawn.status_code == 204, withdrawn.text
    assert (await read(client, scene["id"])).json()["cover_url"].endswith(cover(first))

    automatic = await patch(client, owner, scene["id"], {"cover_segment_id": first["id"]})
    assert automatic.json()["cover_url"].endswith(cover(first))
    cleared = await patch(client, owner, scene["id"], {"cover_segment_id": None})
    assert cleared.json()["cover_url"].endswith(cover(first))


async def test_a_cover_from_another_scene_is_refused(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.account()
    scene, elsewhere = await factory.scene(owner), await factory.scene(owner)
    foreign = await factory.contributed_segment(elsewhere, owner)

    response = await patch(client, owner, scene["id"], {"cover_segment_id": foreign["id"]})

    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["pointer"] == "/cover_segment_id"
    assert (await read(client, scene["id"])).json()["cover_url"] is None


async def test_a_cover_hidden_by_moderation_falls_back_to_the_first_segment(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, moderator = await factory.account(), await factory.account(Role.MODERATOR)
    scene = await factory.scene(owner)
    first = await factory.contributed_segment(scene, owner)
    second = await factory.contributed_segment(scene, owner)
    await patch(client, owner, scene["id"], {"cover_segment_id": second["id"]})
    flag = await client.post(
        "/v1/flags",
        json={"target_type": "segment", "target_id": second["id"], "reason": "spam"},
        headers=owner.headers,
    )
    assert flag.status_code == 201, flag.text

    hidden = await client.post(
        f"/v1/moderation/flags/{flag.json()['id']}/resolve",
        json={"action_taken": "hide"},
        headers=moderator.headers,
    )

    assert hidden.status_code == 200, hidden.text
    assert (await read(client, scene["id"])).json()["cover_url"].endswith(cover(first))

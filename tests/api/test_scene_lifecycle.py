"""A scene's life through the API: edit, lock, archive, delete, restore, purge; a segment
withdrawn; an idea restored. Real database, no worker (tests/worker/test_scene_lock_e2e.py runs
the jobs in flight)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from domain.ideas.models import Idea
from domain.scene_exports.models import SceneExport
from domain.scenes.models import Scene, SceneBible, Segment
from domain.scenes.purge import purge_deleted_scenes
from domain.users.models import Role
from tests.factories import Account, Factory, unique


async def read(client: httpx.AsyncClient, scene_id: str, who: Account | None = None) -> Any:
    return await client.get(f"/v1/scenes/{scene_id}", headers=who.headers if who else {})


async def patch(client: httpx.AsyncClient, who: Account, scene_id: str, body: Any) -> Any:
    if isinstance(body, bytes):  # what a JSON encoder would refuse to write
        headers = {**who.headers, "Content-Type": "application/json"}
        return await client.patch(f"/v1/scenes/{scene_id}", content=body, headers=headers)
    return await client.patch(f"/v1/scenes/{scene_id}", json=body, headers=who.headers)


async def continue_(client: httpx.AsyncClient, who: Account, scene_id: str) -> httpx.Response:
    return await client.post(
        f"/v1/scenes/{scene_id}/continuations",
        json={"text": "Mara climbs the bell tower."},
        headers={**who.headers, "Idempotency-Key": uuid.uuid4().hex},
    )


async def job_status(client: httpx.AsyncClient, who: Account, job_id: str) -> str:
    response = await client.get(f"/v1/jobs/{job_id}", headers=who.headers)
    return str(response.json()["status"])


async def cancel(client: httpx.AsyncClient, who: Account, job_id: str) -> None:
    await client.post(f"/v1/jobs/{job_id}/cancel", headers=who.headers)


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


async def test_the_cover_is_the_chosen_segment_until_it_is_withdrawn(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, other = await factory.account(), await factory.account()
    scene = await factory.scene(owner)
    first = await factory.contributed_segment(scene, owner)
    second = await factory.contributed_segment(scene, other)
    assert (await read(client, scene["id"])).json()["cover_url"].endswith(first["thumbnail_key"])

    chosen = await patch(client, owner, scene["id"], {"cover_segment_id": second["id"]})
    assert chosen.status_code == 200, chosen.text
    assert chosen.json()["cover_url"].endswith(second["thumbnail_key"])
    listed = (await client.get("/v1/scenes", params={"topic": scene["topic_id"]})).json()
    assert listed["items"][0]["cover_url"].endswith(second["thumbnail_key"])

    withdrawn = await client.delete(f"/v1/segments/{second['id']}", headers=other.headers)
    assert withdrawn.status_code == 204, withdrawn.text
    assert (await read(client, scene["id"])).json()["cover_url"].endswith(first["thumbnail_key"])

    automatic = await patch(client, owner, scene["id"], {"cover_segment_id": first["id"]})
    assert automatic.json()["cover_url"].endswith(first["thumbnail_key"])
    cleared = await patch(client, owner, scene["id"], {"cover_segment_id": None})
    assert cleared.json()["cover_url"].endswith(first["thumbnail_key"])


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


# Deleting, restoring, purging


async def _public_traces(
    client: httpx.AsyncClient, owner: Account, scene: dict[str, Any]
) -> dict[str, bool]:
    """Where the scene shows for the public and for its owner."""
    scene_id = scene["id"]
    in_list = any(
        item["id"] == scene_id
        for item in (await client.get("/v1/scenes", params={"topic": scene["topic_id"]})).json()[
            "items"
        ]
    )
    search = await client.get("/v1/search", params={"q": scene["title"], "type": "scene"})
    profile = await client.get(f"/v1/users/{owner.username}/scenes")
    return {
        "read": (await read(client, scene_id, owner)).status_code == 200,
        "list": in_list,
        "search": any(hit["id"] == scene_id for hit in search.json()["items"]),
        "profile": any(item["id"] == scene_id for item in profile.json()["items"]),
        "bible": (await client.get(f"/v1/scenes/{scene_id}/bible")).status_code == 200,
        "segments": (await client.get(f"/v1/scenes/{scene_id}/segments")).status_code == 200,
        "like": (await client.put(f"/v1/scenes/{scene_id}/like", headers=owner.headers)).status_code
        == 200,
        "view": (await client.post(f"/v1/scenes/{scene_id}/views")).status_code == 200,
        "continue": (await continue_(client, owner, scene_id)).status_code != 404,
    }


async def test_a_deleted_scene_is_gone_from_every_public_read_at_once_and_restored(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, moderator = await factory.account(), await factory.account(Role.MODERATOR)
    topic = await factory.topic()
    idea = await factory.idea(owner, topic)
    scene = await factory.scene(owner, idea, title=unique("Lanternfish "))
    await factory.contributed_segment(scene, owner)
    assert all((await _public_traces(client, owner, scene)).values())
    for job in (await client.get("/v1/users/me/jobs", headers=owner.headers)).json()["items"]:
        await cancel(client, owner, job["id"])

    deleted = await client.delete(f"/v1/scenes/{scene['id']}", headers=owner.headers)

    assert deleted.status_code == 204, deleted.text
    assert not any((await _public_traces(client, owner, scene)).values())
    seen = (await read(client, scene["id"], moderator)).json()
    assert seen["deleted_at"] is not None
    counted = await client.get(f"/v1/topics/{topic['slug']}")
    assert counted.json()["scene_count"] == 0
    assert (await client.get(f"/v1/ideas/{idea['id']}")).json()["scene_count"] == 0
    again = await client.delete(f"/v1/scenes/{scene['id']}", headers=owner.headers)
    assert again.status_code == 404

    restored = await client.post(f"/v1/scenes/{scene['id']}/restore", headers=moderator.headers)

    assert restored.status_code == 200, restored.text
    assert restored.json()["deleted_at"] is None
    traces = await _public_traces(client, owner, scene)
    assert all(traces.values()), traces
    assert (await client.get(f"/v1/topics/{topic['slug']}")).json()["scene_count"] == 1
    twice = await client.post(f"/v1/scenes/{scene['id']}/restore", headers=moderator.headers)
    assert twice.status_code == 409
    for job in (await client.get("/v1/users/me/jobs", headers=owner.headers)).json()["items"]:
        await cancel(client, owner, job["id"])


async def test_deleting_cancels_the_scenes_jobs(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.account()
    scene = await factory.scene(owner)
    job = (await continue_(client, owner, scene["id"])).json()

    await client.delete(f"/v1/scenes/{scene['id']}", headers=owner.headers)

    assert await job_status(client, owner, job["id"]) == "cancelled"


async def _age_deletion(app: Any, scene_id: str, days: int) -> None:
    async with app.state.db.transaction() as session:
        await session.execute(
            update(Scene)
            .where(Scene.id == uuid.UUID(scene_id))
            .values(deleted_at=datetime.now(UTC) - timedelta(days=days))
        )


async def test_past_the_window_a_scene_is_not_restored_and_the_cron_purges_it(
    app: Any, client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, moderator = await factory.account(), await factory.account(Role.MODERATOR)
    scene = await factory.scene(owner)
    await factory.contributed_segment(scene, owner)
    export_key = await factory.exported_segment(scene)
    await client.put(f"/v1/scenes/{scene['id']}/like", headers=owner.headers)
    kept = await factory.scene(owner)  # deleted recently: the purge leaves it
    await client.delete(f"/v1/scenes/{scene['id']}", headers=owner.headers)
    await client.delete(f"/v1/scenes/{kept['id']}", headers=owner.headers)
    await _age_deletion(app, scene["id"], 31)

    late = await client.post(f"/v1/scenes/{scene['id']}/restore", headers=moderator.headers)
    assert late.status_code == 409, late.text

    purged = await purge_deleted_scenes(app.state.db, retention_days=30)

    assert uuid.UUID(scene["id"]) in purged.scene_ids
    assert uuid.UUID(kept["id"]) not in purged.scene_ids
    assert export_key in purged.export_keys
    scene_id = uuid.UUID(scene["id"])
    async with app.state.db.session() as session:
        assert await session.get(Scene, scene_id) is None
        for model in (Segment, SceneBible, SceneExport):
            left = select(func.count()).select_from(model).where(model.scene_id == scene_id)
            assert await session.scalar(left) == 0, model
        assert await session.get(Scene, uuid.UUID(kept["id"])) is not None
    gone = await client.post(f"/v1/scenes/{scene['id']}/restore", headers=moderator.headers)
    assert gone.status_code == 404
    assert scene_id not in (await purge_deleted_scenes(app.state.db, retention_days=30)).scene_ids


# Withdrawing the last segment


async def test_a_contributor_withdraws_their_last_segment_and_the_bible_goes_back(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, other = await factory.account(), await factory.account()
    scene = await factory.scene(owner)
    first = await factory.contributed_segment(scene, owner)
    before_second = (await client.get(f"/v1/scenes/{scene['id']}/bible")).json()
    second = await factory.contributed_segment(scene, other)

    not_last = await client.delete(f"/v1/segments/{first['id']}", headers=owner.headers)
    not_theirs = await client.delete(f"/v1/segments/{second['id']}", headers=owner.headers)
    assert (not_last.status_code, not_theirs.status_code) == (409, 403)

    response = await client.delete(f"/v1/segments/{second['id']}", headers=other.headers)

    assert response.status_code == 204, response.text
    detail = (await read(client, scene["id"])).json()
    assert detail["segment_count"] == 1 and detail["contributor_count"] == 1
    assert detail["total_duration"] == pytest.approx(2.5)
    assert detail["bible_version"] == second["bible_version"] + 1
    head = (await client.get(f"/v1/scenes/{scene['id']}/bible")).json()
    assert head["data"] == {**before_second["data"], "version": head["version"]}
    versions = (await client.get(f"/v1/scenes/{scene['id']}/bible/versions")).json()["items"]
    assert versions[-1]["change_note"] == "Segment 2 withdrawn: its changes undone."
    segments = (await client.get(f"/v1/scenes/{scene['id']}/segments")).json()["items"]
    assert [s["id"] for s in segments] == [first["id"]]
    assert (
        await client.delete(f"/v1/segments/{second['id']}", headers=other.headers)
    ).status_code == 404
    # The sequence is free again for the next continuation.
    again = await factory.contributed_segment(scene, other)
    assert again["sequence"] == 2


async def test_withdrawing_waits_for_continuations_under_way(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.account()
    scene = await factory.scene(owner)
    segment = await factory.contributed_segment(scene, owner)
    job = (await continue_(client, owner, scene["id"])).json()

    refused = await client.delete(f"/v1/segments/{segment['id']}", headers=owner.headers)
    await cancel(client, owner, job["id"])
    allowed = await client.delete(f"/v1/segments/{segment['id']}", headers=owner.headers)

    assert (refused.status_code, allowed.status_code) == (409, 204)
    assert (await read(client, scene["id"])).json()["segment_count"] == 0


async def test_a_locked_scenes_segment_stays(client: httpx.AsyncClient, factory: Factory) -> None:
    owner = await factory.account()
    scene = await factory.scene(owner)
    segment = await factory.contributed_segment(scene, owner)
    await patch(client, owner, scene["id"], {"status": "locked"})

    response = await client.delete(f"/v1/segments/{segment['id']}", headers=owner.headers)

    assert response.status_code == 409, response.text
    assert (await read(client, scene["id"])).json()["segment_count"] == 1


# Ideas


async def test_a_moderator_restores_a_deleted_idea_within_the_window(
    app: Any, client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, moderator = await factory.account(), await factory.account(Role.MODERATOR)
    idea = await factory.idea(owner)
    await client.delete(f"/v1/ideas/{idea['id']}", headers=owner.headers)
    assert (await client.get(f"/v1/ideas/{idea['id']}")).status_code == 404

    restored = await client.post(f"/v1/ideas/{idea['id']}/restore", headers=moderator.headers)

    assert restored.status_code == 200, restored.text
    assert restored.json()["status"] == "active"
    assert (await client.get(f"/v1/ideas/{idea['id']}")).status_code == 200
    twice = await client.post(f"/v1/ideas/{idea['id']}/restore", headers=moderator.headers)
    assert twice.status_code == 409

    await client.delete(f"/v1/ideas/{idea['id']}", headers=owner.headers)
    async with app.state.db.transaction() as session:
        await session.execute(
            update(Idea)
            .where(Idea.id == uuid.UUID(idea["id"]))
            .values(deleted_at=datetime.now(UTC) - timedelta(days=31))
        )
    late = await client.post(f"/v1/ideas/{idea['id']}/restore", headers=moderator.headers)
    assert late.status_code == 409
    assert (await client.get(f"/v1/ideas/{idea['id']}")).status_code == 404


async def test_an_idea_removed_by_moderation_is_not_restored_here(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, moderator = await factory.account(), await factory.account(Role.MODERATOR)
    idea = await factory.idea_row(owner, status="removed")

    response = await client.post(f"/v1/ideas/{idea['id']}/restore", headers=moderator.headers)

    assert response.status_code == 409, response.text


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
    assert (await read(client, scene["id"])).json()["cover_url"].endswith(first["thumbnail_key"])


async def test_a_deleted_scenes_media_files_are_no_longer_served(
    app: Any, client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, moderator = await factory.account(), await factory.account(Role.MODERATOR)
    scene = await factory.scene(owner)
    segment = await factory.contributed_segment(scene, owner)
    await app.state.storage.put_bytes(segment["thumbnail_key"], b"\xff\xd8jpeg")
    url = f"/media/{segment['thumbnail_key']}"
    assert (await client.get(url)).status_code == 200

    await client.delete(f"/v1/scenes/{scene['id']}", headers=owner.headers)
    assert (await client.get(url)).status_code == 404

    await client.post(f"/v1/scenes/{scene['id']}/restore", headers=moderator.headers)
    assert (await client.get(url)).status_code == 200


@pytest.mark.parametrize("segment_id", ["not-a-uuid", "1", "%00", "0" * 37])
async def test_hostile_segment_and_restore_ids_are_a_problem(
    client: httpx.AsyncClient, factory: Factory, segment_id: str
) -> None:
    owner, moderator = await factory.account(), await factory.account(Role.MODERATOR)
    withdrawn = await client.delete(f"/v1/segments/{segment_id}", headers=owner.headers)
    restored = await client.post(f"/v1/ideas/{segment_id}/restore", headers=moderator.headers)
    scene = await client.post(f"/v1/scenes/{segment_id}/restore", headers=moderator.headers)
    for response in (withdrawn, restored, scene):
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"


async def test_unknown_targets_are_not_found(client: httpx.AsyncClient, factory: Factory) -> None:
    owner, moderator = await factory.account(), await factory.account(Role.MODERATOR)
    unknown = uuid.uuid4()
    assert (
        await client.delete(f"/v1/segments/{unknown}", headers=owner.headers)
    ).status_code == 404
    assert (await patch(client, owner, str(unknown), {"title": "x"})).status_code == 404
    assert (await client.delete(f"/v1/scenes/{unknown}", headers=owner.headers)).status_code == 404
    for kind in ("scenes", "ideas"):
        response = await client.post(f"/v1/{kind}/{unknown}/restore", headers=moderator.headers)
        assert response.status_code == 404, response.text

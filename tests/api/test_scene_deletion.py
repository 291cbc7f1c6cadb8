"""A scene's life through the API, part two: soft delete, restore, purge, the media of a deleted
scene, withdrawal of the last segment, and an idea's restore."""

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
from tests.api.scene_calls import cancel, continue_, job_status, patch, read
from tests.factories import Account, Factory, unique

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

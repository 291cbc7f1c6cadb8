"""Moderation decisions: claim leases, resolve and dismiss, bans, bulk, audit, automatic flags."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from domain.jobs.models import Job
from domain.moderation.models import ModerationActionRecord, ModerationFlag
from domain.scenes.models import Segment
from domain.users.models import Role
from tests.api.test_moderation import file_flag, walk_queue
from tests.factories import PASSWORD, Account, Factory
from tests.media_rows import attach_media

PROBLEM = "application/problem+json"


@pytest.fixture
async def moderator(factory: Factory) -> Account:
    return await factory.account(Role.MODERATOR)


@pytest.fixture
async def other_moderator(factory: Factory) -> Account:
    return await factory.account(Role.MODERATOR)


@pytest.fixture
async def reporter(factory: Factory) -> Account:
    return await factory.account()


async def act(
    client: httpx.AsyncClient, who: Account, flag_id: str, verb: str, body: Any = None
) -> httpx.Response:
    if body is None and verb == "resolve":
        body = {"action_taken": "none"}
    return await client.post(
        f"/v1/moderation/flags/{flag_id}/{verb}", json=body, headers=who.headers
    )


async def flags_of(factory: Factory, target_id: str) -> list[ModerationFlag]:
    async with factory.app.state.db.session() as session:
        rows = await session.scalars(
            select(ModerationFlag)
            .where(ModerationFlag.target_id == uuid.UUID(target_id))
            .order_by(ModerationFlag.created_at)
        )
        return list(rows)


async def audit_of(
    client: httpx.AsyncClient, moderator: Account, target_id: str
) -> list[dict[str, Any]]:
    response = await client.get(
        "/v1/moderation/actions", params={"target_id": target_id}, headers=moderator.headers
    )
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def expire_claims(factory: Factory, target_id: str) -> None:
    async with factory.app.state.db.transaction() as session:
        await session.execute(
            update(ModerationFlag)
            .where(ModerationFlag.target_id == uuid.UUID(target_id))
            .values(claim_expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )


# Claims


async def test_claim_is_a_lease_per_target(
    client: httpx.AsyncClient,
    factory: Factory,
    moderator: Account,
    other_moderator: Account,
    reporter: Account,
) -> None:
    author = await factory.account()
    idea = await factory.idea_row(author)
    elsewhere = await factory.idea_row(author)
    first = await file_flag(client, reporter, "idea", idea["id"])
    second = await file_flag(client, await factory.account(), "idea", idea["id"])

    claimed = await act(client, moderator, second["id"], "claim")
    assert claimed.status_code == 200, claimed.text
    body = claimed.json()
    assert body["status"] == "reviewing" and body["claimed_by"] == moderator.id
    expires = datetime.fromisoformat(body["claim_expires_at"])
    assert timedelta(minutes=14) < expires - datetime.now(UTC) <= timedelta(minutes=15)
    assert {(f.status, str(f.claimed_by)) for f in await flags_of(factory, idea["id"])} == {
        ("reviewing", moderator.id)
    }

    # Another moderator can neither take the lease nor decide while it is live.
    for verb in ("claim", "resolve", "dismiss"):
        refused = await act(
            client, other_moderator, first["id"], verb, {} if verb == "dismiss" else None
        )
        assert refused.status_code == 409, verb
        assert refused.headers["content-type"] == PROBLEM
        assert refused.json()["claimed_by"] == moderator.id

    # A flag filed meanwhile joins the claim; one on another target is not captured.
    late = await file_flag(client, await factory.account(), "idea", idea["id"])
    assert late["status"] == "reviewing"
    other = await file_flag(client, reporter, "idea", elsewhere["id"])
    assert other["status"] == "pending"

    again = await act(client, moderator, first["id"], "claim")
    assert again.status_code == 200
    assert datetime.fromisoformat(again.json()["claim_expires_at"]) >= expires

    await expire_claims(factory, idea["id"])
    pending, _ = await walk_queue(client, other_moderator, target_type="idea", limit=100)
    assert idea["id"] in {i["target_id"] for i in pending}  # an abandoned claim returns
    taken = await act(client, other_moderator, first["id"], "claim")
    assert taken.status_code == 200
    assert taken.json()["claimed_by"] == other_moderator.id
    assert (await act(client, moderator, first["id"], "resolve")).status_code == 409
    resolved = await act(client, other_moderator, late["id"], "resolve")
    assert resolved.status_code == 200
    assert sorted(resolved.json()["flag_ids"]) == sorted([first["id"], second["id"], late["id"]])


async def test_decided_flags_cannot_be_claimed_or_decided_again(
    client: httpx.AsyncClient, factory: Factory, moderator: Account, reporter: Account
) -> None:
    idea = await factory.idea_row(await factory.account())
    flag = await file_flag(client, reporter, "idea", idea["id"])
    assert (await act(client, moderator, flag["id"], "dismiss", {})).status_code == 200
    for verb in ("claim", "resolve", "dismiss"):
        response = await act(client, moderator, flag["id"], verb, {} if verb == "dismiss" else None)
        assert response.status_code == 409
        assert response.json()["flag_status"] == "dismissed"
    unknown = await act(client, moderator, str(uuid.uuid4()), "claim")
    assert unknown.status_code == 404
    malformed = await act(client, moderator, "nope", "claim")
    assert malformed.status_code == 422


# Resolve and dismiss


async def test_hiding_an_idea_resolves_every_flag_and_hides_it_everywhere(
    client: httpx.AsyncClient, factory: Factory, moderator: Account
) -> None:
    author = await factory.account()
    topic = await factory.topic_row()
    idea = await factory.idea_row(author, topic)
    reporters = [await factory.account() for _ in range(2)]
    flags = [await file_flag(client, r, "idea", idea["id"]) for r in reporters]
    listed = await client.get("/v1/ideas", params={"topic": topic["id"]})
    assert idea["id"] in {i["id"] for i in listed.json()["items"]}

    response = await act(
        client, moderator, flags[0]["id"], "resolve", {"action_taken": "hide", "notes": "Spam."}
    )
    assert response.status_code == 200, response.text
    decision = response.json()
    assert decision["outcome"] == "resolved" and decision["action_taken"] == "hide"
    assert sorted(decision["flag_ids"]) == sorted(f["id"] for f in flags)

    listed = await client.get("/v1/ideas", params={"topic": topic["id"]})
    assert idea["id"] not in {i["id"] for i in listed.json()["items"]}
    assert (await client.get(f"/v1/ideas/{idea['id']}")).status_code == 404
    for flag in await flags_of(factory, idea["id"]):
        assert flag.status == "resolved" and flag.action_taken == "hide"
        assert str(flag.resolved_by) == moderator.id and flag.resolved_at is not None
        assert flag.resolution_notes == "Spam."
    [entry] = await audit_of(client, moderator, idea["id"])
    assert entry["id"] == decision["action_id"]
    assert entry["action"] == "hide" and entry["moderator_id"] == moderator.id
    assert entry["flag_id"] == flags[0]["id"] and entry["notes"] == "Spam."
    # The reporter sees the outcome but not who decided.
    mine = await client.get(f"/v1/moderation/flags/{flags[1]['id']}", headers=reporters[1].headers)
    assert mine.json()["status"] == "resolved" and mine.json()["resolved_by"] is None


async def test_hidden_or_removed_scenes_leave_the_public_lists(
    client: httpx.AsyncClient, factory: Factory, moderator: Account, reporter: Account
) -> None:
    author = await factory.account()
    topic = await factory.topic_row()
    scenes = [
        await factory.scene(author, idea=await factory.idea_row(author, topic)) for _ in range(2)
    ]
    for scene, action in zip(scenes, ("hide", "remove"), strict=True):
        flag = await file_flag(client, reporter, "scene", scene["id"], "violence")
        response = await act(client, moderator, flag["id"], "resolve", {"action_taken": action})
        assert response.status_code == 200, response.text
        assert (await client.get(f"/v1/scenes/{scene['id']}")).status_code == 404
    listed = await client.get("/v1/scenes", params={"topic": topic["id"]})
    assert listed.status_code == 200 and listed.json()["items"] == []


async def test_a_hidden_segment_leaves_the_segments_and_the_playlist(
    client: httpx.AsyncClient, factory: Factory, moderator: Account, reporter: Account
) -> None:
    author = await factory.account()
    scene = await factory.scene(author, idea=await factory.idea_row(author))
    segments = []
    chunks = {}
    for sequence in (1, 2, 3):
        async with factory.app.state.db.transaction() as session:
            segment = Segment(
                scene_id=uuid.UUID(scene["id"]),
                sequence=sequence,
                user_id=uuid.UUID(author.id),
                text=f"Segment {sequence}: Mara rings the bell.",
                duration=4.0,
            )
            session.add(segment)
            await session.flush()
            segments.append(str(segment.id))
        chunks[sequence] = (await attach_media(factory.app, segment.id, chunks=[4.0]))["chunk"]

    flag = await file_flag(client, reporter, "segment", segments[1], "sexual")
    queue, _ = await walk_queue(client, moderator, target_type="segment", limit=100)
    [item] = [i for i in queue if i["target_id"] == segments[1]]
    assert item["target_summary"] == "Segment 2: Mara rings the bell."
    response = await act(client, moderator, flag["id"], "resolve", {"action_taken": "hide"})
    assert response.status_code == 200, response.text

    listed = await client.get(f"/v1/scenes/{scene['id']}/segments")
    assert [s["sequence"] for s in listed.json()["items"]] == [1, 3]
    playlist = await client.get(f"/v1/scenes/{scene['id']}/video.m3u8")
    uris = [line for line in playlist.text.splitlines() if not line.startswith("#")]
    assert [u.rsplit("/media/", 1)[1] for u in uris] == chunks[1] + chunks[3]
    hidden = f"/v1/segments/{segments[1]}"
    assert (await client.get(f"{hidden}/playlist.m3u8")).status_code == 404
    assert (await client.get(f"/media/{chunks[2][0]}")).status_code == 404
    # Nobody can flag what they cannot see.
    again = await client.post(
        "/v1/flags",
        json={"target_type": "segment", "target_id": segments[1], "reason": "spam"},
        headers=(await factory.account()).headers,
    )
    assert again.status_code == 404


async def test_a_removed_topic_leaves_the_topic_list(
    client: httpx.AsyncClient, factory: Factory, moderator: Account, reporter: Account
) -> None:
    topic = await factory.topic_row()
    flag = await file_flag(client, reporter, "topic", topic["id"], "off_topic")
    assert (
        await act(client, moderator, flag["id"], "resolve", {"action_taken": "remove"})
    ).status_code == 200
    slugs: set[str] = set()
    cursor = None
    while True:
        page = (
            await client.get(
                "/v1/topics", params={"limit": 100, **({"cursor": cursor} if cursor else {})}
            )
        ).json()
        slugs |= {t["slug"] for t in page["items"]}
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert topic["slug"] not in slugs
    # A topic has no author to ban.
    other = await factory.topic_row()
    flag = await file_flag(client, reporter, "topic", other["id"])
    refused = await act(client, moderator, flag["id"], "resolve", {"action_taken": "ban_user"})
    assert refused.status_code == 422
    assert [f.status for f in await flags_of(factory, other["id"])] == ["pending"]


async def test_dismiss_closes_every_open_flag_and_leaves_the_target(
    client: httpx.AsyncClient, factory: Factory, moderator: Account
) -> None:
    author = await factory.account()
    idea = await factory.idea_row(author)
    flags = [await file_flag(client, await factory.account(), "idea", idea["id"]) for _ in range(3)]
    response = await act(client, moderator, flags[2]["id"], "dismiss", {"notes": "Fine."})
    assert response.status_code == 200, response.text
    assert response.json()["outcome"] == "dismissed" and response.json()["action_taken"] is None
    stored = await flags_of(factory, idea["id"])
    assert {(f.status, f.action_taken, f.resolution_notes) for f in stored} == {
        ("dismissed", None, "Fine.")
    }
    assert (await client.get(f"/v1/ideas/{idea['id']}")).status_code == 200
    [entry] = await audit_of(client, moderator, idea["id"])
    assert entry["action"] == "dismiss" and entry["flag_id"] == flags[2]["id"]
    # Dismiss works without a body too.
    again = await file_flag(client, await factory.account(), "idea", idea["id"])
    bare = await client.post(
        f"/v1/moderation/flags/{again['id']}/dismiss", headers=moderator.headers
    )
    assert bare.status_code == 200


async def test_resolve_body_is_validated(
    client: httpx.AsyncClient, factory: Factory, moderator: Account, reporter: Account
) -> None:
    idea = await factory.idea_row(await factory.account())
    flag = await file_flag(client, reporter, "idea", idea["id"])
    for body in [
        {},
        {"action_taken": "delete"},
        {"action_taken": "hide", "notes": "\x00"},
        {"action_taken": "hide", "extra": True},
    ]:
        response = await act(client, moderator, flag["id"], "resolve", body)
        assert response.status_code == 422, body
    assert [f.status for f in await flags_of(factory, idea["id"])] == ["pending"]


async def test_nobody_decides_on_their_own_account_or_content_or_bans_their_peers(
    client: httpx.AsyncClient, factory: Factory, moderator: Account, reporter: Account
) -> None:
    own_idea = await factory.idea_row(moderator)
    flag = await file_flag(client, reporter, "idea", own_idea["id"])
    assert (await act(client, moderator, flag["id"], "dismiss", {})).status_code == 403
    assert (await act(client, moderator, flag["id"], "claim")).status_code == 403

    admin = await factory.account(Role.ADMIN)
    peer = await factory.account(Role.MODERATOR)
    for target in (admin, peer):
        flag = await file_flag(client, reporter, "user", target.id, "harassment")
        refused = await act(client, moderator, flag["id"], "resolve", {"action_taken": "ban_user"})
        assert refused.status_code == 403
    # An admin may suspend a moderator.
    allowed = await act(client, admin, flag["id"], "resolve", {"action_taken": "ban_user"})
    assert allowed.status_code == 200, allowed.text


# Bans


async def test_ban_user_suspends_the_author_and_cancels_their_jobs(
    client: httpx.AsyncClient, factory: Factory, moderator: Account, reporter: Account
) -> None:
    author = await factory.account()
    scene = await factory.scene(author, idea=await factory.idea_row(author))
    jobs = []
    for text in ("Mara rings the bell.", "The tide turns."):
        response = await client.post(
            f"/v1/scenes/{scene['id']}/continuations",
            json={"text": text},
            headers={**author.headers, "Idempotency-Key": uuid.uuid4().hex},
        )
        assert response.status_code == 202, response.text
        jobs.append(response.json()["id"])
    async with factory.app.state.db.transaction() as session:
        await session.execute(
            update(Job).where(Job.id == uuid.UUID(jobs[1])).values(status="final_ready")
        )

    flag = await file_flag(client, reporter, "scene", scene["id"], "hate")
    response = await act(client, moderator, flag["id"], "resolve", {"action_taken": "ban_user"})
    assert response.status_code == 200, response.text

    login = await client.post(
        "/v1/auth/login", json={"login": author.username, "password": PASSWORD}
    )
    assert login.status_code == 403
    refresh = await client.post("/v1/auth/refresh", json={"refresh_token": author.refresh_token})
    assert refresh.status_code == 401
    write = await client.post(
        "/v1/ideas",
        json={"topic_id": str(uuid.uuid4()), "title": "t", "prompt": "p"},
        headers=author.headers,
    )
    assert write.status_code == 403
    async with factory.app.state.db.session() as session:
        states = dict(
            (
                await session.execute(
                    select(Job.id, Job.status).where(Job.user_id == uuid.UUID(author.id))
                )
            ).all()
        )
        cancelled = await session.get(Job, (uuid.UUID(jobs[0]), await _created(session, jobs[0])))
    assert states == {uuid.UUID(jobs[0]): "cancelled", uuid.UUID(jobs[1]): "final_ready"}
    assert cancelled is not None and cancelled.cancel_requested
    assert cancelled.message == "Cancelled: account suspended"
    # The scene itself stays; the author's profile is gone.
    assert (await client.get(f"/v1/scenes/{scene['id']}")).status_code == 200
    assert (await client.get(f"/v1/users/{author.username}")).status_code == 404
    [entry] = await audit_of(client, moderator, scene["id"])
    assert entry["action"] == "ban_user"


async def _created(session: Any, job_id: str) -> datetime:
    return (
        await session.execute(select(Job.created_at).where(Job.id == uuid.UUID(job_id)))
    ).scalar_one()


async def test_hiding_a_user_bans_them(
    client: httpx.AsyncClient, factory: Factory, moderator: Account, reporter: Account
) -> None:
    target = await factory.account()
    flag = await file_flag(client, reporter, "user", target.id, "harassment")
    queue, _ = await walk_queue(client, moderator, target_type="user", limit=100)
    [item] = [i for i in queue if i["target_id"] == target.id]
    assert item["target_summary"] == target.username and item["target_status"] == "active"
    response = await act(client, moderator, flag["id"], "resolve", {"action_taken": "hide"})
    assert response.status_code == 200
    login = await client.post(
        "/v1/auth/login", json={"login": target.username, "password": PASSWORD}
    )
    assert login.status_code == 403


# Bulk


async def test_bulk_resolve_decides_each_target_once_and_skips_claimed_ones(
    client: httpx.AsyncClient,
    factory: Factory,
    moderator: Account,
    other_moderator: Account,
) -> None:
    author = await factory.account()
    ideas = [await factory.idea_row(author) for _ in range(3)]
    topic = await factory.topic_row()
    two = [
        await file_flag(client, await factory.account(), "idea", ideas[0]["id"]) for _ in range(2)
    ]
    single = await file_flag(client, await factory.account(), "idea", ideas[1]["id"])
    claimed = await file_flag(client, await factory.account(), "idea", ideas[2]["id"])
    on_topic = await file_flag(client, await factory.account(), "topic", topic["id"])
    assert (await act(client, other_moderator, claimed["id"], "claim")).status_code == 200
    unknown = str(uuid.uuid4())

    response = await client.post(
        "/v1/moderation/flags/bulk-resolve",
        json={
            "flag_ids": [
                two[0]["id"],
                single["id"],
                claimed["id"],
                unknown,
                two[1]["id"],
                on_topic["id"],
            ],
            "action_taken": "hide",
            "notes": "Spam wave.",
        },
        headers=moderator.headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["not_found"] == [unknown]
    results = {r["target_id"]: r for r in body["results"]}
    assert [r["target_id"] for r in body["results"]] == [
        ideas[0]["id"],
        ideas[1]["id"],
        ideas[2]["id"],
        topic["id"],
    ]
    assert results[ideas[0]["id"]]["outcome"] == "resolved"
    assert sorted(results[ideas[0]["id"]]["flag_ids"]) == sorted(f["id"] for f in two)
    assert results[ideas[1]["id"]]["outcome"] == "resolved"
    skipped = results[ideas[2]["id"]]
    assert skipped["outcome"] == "skipped" and skipped["skipped_because"] == "claimed"
    assert skipped["claimed_by"] == other_moderator.id
    assert results[topic["id"]]["outcome"] == "resolved"

    for idea in ideas[:2]:
        assert (await client.get(f"/v1/ideas/{idea['id']}")).status_code == 404
        assert len(await audit_of(client, moderator, idea["id"])) == 1
    assert (await client.get(f"/v1/ideas/{ideas[2]['id']}")).status_code == 200
    assert await audit_of(client, moderator, ideas[2]["id"]) == []
    assert [f.status for f in await flags_of(factory, ideas[2]["id"])] == ["reviewing"]

    # Repeating the call finds everything decided and changes nothing.
    again = await client.post(
        "/v1/moderation/flags/bulk-resolve",
        json={"flag_ids": [single["id"]], "action_taken": "remove"},
        headers=moderator.headers,
    )
    [result] = again.json()["results"]
    assert result["outcome"] == "skipped" and result["skipped_because"] == "already_decided"
    assert len(await audit_of(client, moderator, ideas[1]["id"])) == 1


async def test_bulk_refusals_leave_no_trace_and_the_rest_goes_through(
    client: httpx.AsyncClient, factory: Factory, moderator: Account, reporter: Account
) -> None:
    author = await factory.account()
    idea = await factory.idea_row(author)
    topic = await factory.topic_row()
    flags = [
        await file_flag(client, reporter, "topic", topic["id"]),
        await file_flag(client, reporter, "idea", idea["id"]),
    ]
    response = await client.post(
        "/v1/moderation/flags/bulk-resolve",
        json={"flag_ids": [f["id"] for f in flags], "action_taken": "ban_user"},
        headers=moderator.headers,
    )
    results = {r["target_type"]: r for r in response.json()["results"]}
    assert results["topic"]["outcome"] == "skipped"
    assert results["topic"]["skipped_because"] == "validation-error"
    assert results["idea"]["outcome"] == "resolved"
    assert [f.status for f in await flags_of(factory, topic["id"])] == ["pending"]
    assert await audit_of(client, moderator, topic["id"]) == []
    login = await client.post(
        "/v1/auth/login", json={"login": author.username, "password": PASSWORD}
    )
    assert login.status_code == 403


async def test_bulk_dismiss_and_bulk_limits(
    client: httpx.AsyncClient, factory: Factory, moderator: Account
) -> None:
    author = await factory.account()
    ideas = [await factory.idea_row(author) for _ in range(2)]
    flags = [await file_flag(client, await factory.account(), "idea", i["id"]) for i in ideas]
    response = await client.post(
        "/v1/moderation/flags/bulk-dismiss",
        json={"flag_ids": [f["id"] for f in flags], "notes": "Not spam."},
        headers=moderator.headers,
    )
    assert response.status_code == 200
    assert [r["outcome"] for r in response.json()["results"]] == ["dismissed", "dismissed"]
    for idea in ideas:
        [entry] = await audit_of(client, moderator, idea["id"])
        assert entry["action"] == "dismiss" and entry["notes"] == "Not spam."
    for body in [
        {"flag_ids": []},
        {"flag_ids": [str(uuid.uuid4()) for _ in range(101)]},
        {"flag_ids": ["nope"]},
    ]:
        refused = await client.post(
            "/v1/moderation/flags/bulk-dismiss", json=body, headers=moderator.headers
        )
        assert refused.status_code == 422


# The audit trail


async def test_audit_trail_is_newest_first_filtered_and_paginated(
    client: httpx.AsyncClient,
    factory: Factory,
    moderator: Account,
    other_moderator: Account,
) -> None:
    author = await factory.account()
    ideas = [await factory.idea_row(author) for _ in range(3)]
    decided = []
    for n, idea in enumerate(ideas):
        flag = await file_flag(client, await factory.account(), "idea", idea["id"])
        who = moderator if n != 1 else other_moderator
        response = await act(client, who, flag["id"], "dismiss", {"notes": f"n{n}"})
        decided.append(response.json()["action_id"])

    mine: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {
            "moderator_id": moderator.id,
            "limit": 1,
            **({"cursor": cursor} if cursor else {}),
        }
        page = (
            await client.get("/v1/moderation/actions", params=params, headers=moderator.headers)
        ).json()
        mine.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [e["id"] for e in mine] == [decided[2], decided[0]]
    assert [e["notes"] for e in mine] == ["n2", "n0"]
    by_type = await client.get(
        "/v1/moderation/actions",
        params={"target_type": "idea", "target_id": ideas[1]["id"]},
        headers=moderator.headers,
    )
    assert [e["moderator_id"] for e in by_type.json()["items"]] == [other_moderator.id]
    for params in [{"target_type": "comment"}, {"moderator_id": "x"}, {"cursor": "%%"}]:
        bad = await client.get("/v1/moderation/actions", params=params, headers=moderator.headers)
        assert bad.status_code == 422


# Automatic flags


async def test_a_mild_idea_is_held_and_flagged_automatically(
    client: httpx.AsyncClient, factory: Factory, moderator: Account
) -> None:
    author = await factory.account()
    idea = await factory.idea(author, prompt="The keeper calls the harbour master a bastard.")
    assert idea["review_status"] == "pending"
    [flag] = await flags_of(factory, idea["id"])
    assert flag.reporter_id is None and flag.status == "pending"
    assert flag.reason == "harassment"
    assert flag.description is not None and '"bastard"' in flag.description
    assert "mild" in flag.description
    [entry] = await audit_of(client, moderator, idea["id"])
    assert entry["action"] == "auto_flag" and entry["moderator_id"] is None

    queue, _ = await walk_queue(
        client, moderator, target_type="idea", reason="harassment", limit=100
    )
    [item] = [i for i in queue if i["target_id"] == idea["id"]]
    assert item["automatic_count"] == 1 and item["reporter_count"] == 0
    # A second automatic flag on the same target is fine (NULL reporters never collide).
    edited = await client.patch(
        f"/v1/ideas/{idea['id']}",
        json={"prompt": "Now the keeper calls him a jackass."},
        headers=author.headers,
    )
    assert edited.status_code == 200, edited.text
    assert len(await flags_of(factory, idea["id"])) == 2

    # Resolving with no action approves the held idea.
    response = await act(client, moderator, str(flag.id), "resolve", {"action_taken": "none"})
    assert response.status_code == 200
    assert len(response.json()["flag_ids"]) == 2
    stranger = await client.get(f"/v1/ideas/{idea['id']}")
    assert stranger.status_code == 200 and stranger.json()["review_status"] == "approved"


async def test_a_clean_idea_files_nothing_and_a_mild_scene_is_flagged(
    client: httpx.AsyncClient, factory: Factory, moderator: Account
) -> None:
    author = await factory.account()
    idea = await factory.idea(author)
    assert idea["review_status"] == "approved"
    assert await flags_of(factory, idea["id"]) == []
    scene = await factory.scene(
        author, idea=idea, description="Fog, and some bullshit about a bell."
    )
    [flag] = await flags_of(factory, scene["id"])
    assert flag.target_type == "scene" and flag.reporter_id is None
    assert flag.reason == "other" and '"bullshit"' in (flag.description or "")
    assert (await client.get(f"/v1/scenes/{scene['id']}")).status_code == 200


async def test_file_automatic_flag_helper_for_continuations(factory: Factory) -> None:
    from domain.moderation.service import file_automatic_flag
    from infra.providers.moderation import ContentVerdict

    author = await factory.account()
    scene = await factory.scene(author, idea=await factory.idea_row(author))
    job_id = uuid.uuid4()
    async with factory.app.state.db.transaction() as session:
        clean = await file_automatic_flag(
            session, "scene", uuid.UUID(scene["id"]), ContentVerdict("none")
        )
        assert clean is None
        for categories in (["self-harm/intent", "violence"], ["hate"]):
            verdict = ContentVerdict("mild", categories, [])
            flag = await file_automatic_flag(
                session,
                "scene",
                uuid.UUID(scene["id"]),
                verdict,
                context=f"Continuation job {job_id}.",
            )
            assert flag is not None
    stored = await flags_of(factory, scene["id"])
    assert sorted(f.reason for f in stored) == ["hate", "self_harm"]
    assert all(str(job_id) in (f.description or "") for f in stored)
    # The automatic check counts once, at its most severe reason.
    assert {f.score for f in stored} == {5.0}
    async with factory.app.state.db.session() as session:
        count = await session.scalar(
            select(func.count()).where(ModerationActionRecord.target_id == uuid.UUID(scene["id"]))
        )
    assert count == 2


async def test_a_flags_target_in_context_keeps_its_scene_idea_and_media_once_hidden(
    client: httpx.AsyncClient, factory: Factory, moderator: Account, reporter: Account
) -> None:
    author = await factory.account()
    idea = await factory.idea_row(author)
    scene = await factory.scene(author, idea=idea)
    async with factory.app.state.db.transaction() as session:
        segment = Segment(
            scene_id=uuid.UUID(scene["id"]),
            sequence=1,
            user_id=uuid.UUID(author.id),
            text="Mara rings the bell twice.",
            duration=4.0,
        )
        session.add(segment)
        await session.flush()
        segment_id = str(segment.id)
    await attach_media(factory.app, segment_id, chunks=[2.0, 2.0], files=False)
    flag = await file_flag(client, reporter, "segment", segment_id, "spam")
    url = f"/v1/moderation/flags/{flag['id']}/target"
    hidden = await act(client, moderator, flag["id"], "resolve", {"action_taken": "hide"})
    assert hidden.status_code == 200, hidden.text

    seen = (await client.get(url, headers=moderator.headers)).json()
    assert seen["exists"] is True and seen["status"] == "hidden"
    assert seen["text"] == "Mara rings the bell twice." and seen["sequence"] == 1
    assert (seen["scene_id"], seen["scene_title"]) == (scene["id"], scene["title"])
    assert seen["idea_id"] == idea["id"] and seen["idea_title"]
    assert (seen["author_id"], seen["author_username"]) == (author.id, author.username)
    assert seen["hls_playlist_url"].endswith(f"/v1/segments/{segment_id}/playlist.m3u8")
    assert seen["video_url"] is None and seen["thumbnail_url"] is None

    idea_flag = await file_flag(client, reporter, "idea", idea["id"], "spam")
    about_idea = await client.get(
        f"/v1/moderation/flags/{idea_flag['id']}/target", headers=moderator.headers
    )
    body = about_idea.json()
    assert body["text"].startswith("A keeper finds a letter") and body["tags"] == ["mystery"]
    assert body["scene_id"] is None and body["hls_playlist_url"] is None

    # The reporter filed the flag but reads no context; an unknown flag is 404 in words.
    assert (await client.get(url, headers=reporter.headers)).status_code == 403
    missing = await client.get(
        f"/v1/moderation/flags/{uuid.uuid4()}/target", headers=moderator.headers
    )
    assert missing.status_code == 404 and missing.headers["content-type"] == PROBLEM

"""Small factories: real rows through the real services and API."""

from __future__ import annotations

import copy
import hashlib
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from domain.users import service as users_service
from domain.users.models import Role
from infra.settings import ROOT

# The bytes of a ready export made without a worker (Factory.exported_segment).
STAND_IN_MP4 = b"mp4!"

PASSWORD = "correct horse battery staple"


def client_from(app: Any, address: str) -> httpx.AsyncClient:
    """A client of `app` whose requests come from `address` (views and throttles key on it)."""
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://storyloom.test")


def unique(prefix: str = "x") -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def minimal_bible() -> dict[str, Any]:
    return copy.deepcopy(MINIMAL_BIBLE)


MINIMAL_BIBLE: dict[str, Any] = {
    "version": 1,
    "characters": [
        {
            "entityId": "char_mara",
            "canonicalName": "Mara Hart",
            "aliases": ["Mara"],
            "description": "The ferry keeper.",
            "traits": ["stubborn"],
            "relationships": [],
            "introducedInSegment": 0,
            "isActive": True,
            "referenceAssets": {"portraitUrl": "https://assets.example/mara.png"},
        }
    ],
    "setting": {
        "primaryLocation": "The Old Docks",
        "timePeriod": "Late industrial era",
        "worldRules": ["The tide obeys the clock."],
        "locations": [{"name": "The Old Docks", "description": "Fog and rope."}],
    },
    "timeline": {"currentPoint": "The beginning", "majorEvents": []},
    "plotThreads": [{"id": "thread_1", "description": "Who rings the bell?", "status": "active"}],
    "styleGuide": {
        "tone": "melancholic",
        "genre": "gaslamp mystery",
        "visualStyle": "teal-orange",
        "narrativeStyle": "close third person",
    },
}


def large_bible() -> dict[str, Any]:
    # A copy of shared/fixtures/scene_bible.large.json, so the suite needs nothing outside the repo.
    path = ROOT / "tests" / "fixtures" / "scene_bible.large.json"
    return json.loads(path.read_text())


@dataclass
class Account:
    id: str
    username: str
    email: str
    role: str
    access_token: str
    refresh_token: str
    headers: dict[str, str] = field(default_factory=dict)


class Factory:
    def __init__(self, app: Any, client: httpx.AsyncClient) -> None:
        self.app = app
        self.client = client

    async def account(self, role: Role | str = Role.USER, *, banned: bool = False) -> Account:
        username = unique("u")
        email = f"{username}@example.com"
        async with self.app.state.db.transaction() as session:
            user = await users_service.create_user(
                session, email=email, username=username, password=PASSWORD, role=Role(role)
            )
            user_id = str(user.id)
        response = await self.client.post(
            "/v1/auth/login", json={"login": username, "password": PASSWORD}
        )
        assert response.status_code == 200, response.text
        tokens = response.json()
        if banned:
            async with self.app.state.db.transaction() as session:
                target = await session.get(type(user), user.id)
                await users_service.ban(session, target)
        return Account(
            id=user_id,
            username=username,
            email=email,
            role=str(Role(role)),
            access_token=tokens["access_token"],
            refresh_token=tokens["refresh_token"],
            headers={"Authorization": f"Bearer {tokens['access_token']}"},
        )

    async def topic(self, admin: Account | None = None, **fields: Any) -> dict[str, Any]:
        admin = admin or await self.account(Role.ADMIN)
        body = {"name": unique("Topic "), **fields}
        response = await self.client.post("/v1/topics", json=body, headers=admin.headers)
        assert response.status_code == 201, response.text
        return response.json()

    async def category(self, topic: dict[str, Any], admin: Account | None = None) -> dict[str, Any]:
        admin = admin or await self.account(Role.ADMIN)
        response = await self.client.post(
            f"/v1/topics/{topic['id']}/categories",
            json={"name": unique("Category ")},
            headers=admin.headers,
        )
        assert response.status_code == 201, response.text
        return response.json()

    async def idea(
        self, owner: Account, topic: dict[str, Any] | None = None, **fields: Any
    ) -> dict[str, Any]:
        topic = topic or await self.topic()
        body = {
            "topic_id": topic["id"],
            "title": unique("A lighthouse keeper "),
            "prompt": "A keeper finds a letter in a bottle that names her as the thief.",
            "tags": ["mystery"],
            **fields,
        }
        response = await self.client.post("/v1/ideas", json=body, headers=owner.headers)
        assert response.status_code == 201, response.text
        return response.json()

    async def scene(
        self, owner: Account, idea: dict[str, Any] | None = None, **fields: Any
    ) -> dict[str, Any]:
        idea = idea or await self.idea(owner)
        body = {
            "title": unique("The bell "),
            "description": "Fog rolls over the docks.",
            "bible": minimal_bible(),
            **fields,
        }
        response = await self.client.post(
            f"/v1/ideas/{idea['id']}/scenes", json=body, headers=owner.headers
        )
        assert response.status_code == 201, response.text
        return response.json()

    async def topic_row(self, **fields: Any) -> dict[str, Any]:
        """A topic inserted directly, for tests that need one without the topics API."""
        from domain.topics.models import Topic

        slug = unique("topic-")
        async with self.app.state.db.transaction() as session:
            topic = Topic(name=slug, slug=slug, **fields)
            session.add(topic)
            await session.flush()
            return {"id": str(topic.id), "slug": topic.slug, "name": topic.name}

    async def idea_row(
        self,
        owner: Account,
        topic: dict[str, Any] | None = None,
        *,
        review_status: str = "approved",
        status: str = "active",
    ) -> dict[str, Any]:
        """An idea inserted directly, with the review and content status the test needs."""
        from domain.ideas.models import Idea

        topic = topic or await self.topic_row()
        async with self.app.state.db.transaction() as session:
            idea = Idea(
                user_id=uuid.UUID(owner.id),
                topic_id=uuid.UUID(topic["id"]),
                title=unique("Idea "),
                prompt="A keeper finds a letter in a bottle that names her as the thief.",
                tags=["mystery"],
                status=status,
                review_status=review_status,
            )
            session.add(idea)
            await session.flush()
            return {"id": str(idea.id), "topic_id": topic["id"], "user_id": owner.id}

    async def proposal(self, owner: Account, **fields: Any) -> dict[str, Any]:
        """A pending topic proposal by `owner`."""
        body = {"name": unique("Proposal "), "description": "A topic worth having.", **fields}
        response = await self.client.post("/v1/topic-proposals", json=body, headers=owner.headers)
        assert response.status_code == 201, response.text
        return response.json()

    async def job(
        self, owner: Account, scene: dict[str, Any], text: str = "Mara rings the bell twice."
    ) -> dict[str, Any]:
        """A queued continuation job by `owner` on `scene` (counts toward the in-flight cap)."""
        headers = {**owner.headers, "Idempotency-Key": uuid.uuid4().hex}
        response = await self.client.post(
            f"/v1/scenes/{scene['id']}/continuations", json={"text": text}, headers=headers
        )
        assert response.status_code == 202, response.text
        return response.json()

    async def exported_segment(self, scene: dict[str, Any], text: str = "Mara waits.") -> str:
        """A segment inserted directly, with a ready export of the scene as it then stands.

        For tests of who may fetch an export, without a worker: the stored "MP4" is a stand-in.
        Returns the export's storage key.
        """
        from sqlalchemy import func, select

        from domain.media.store import object_key
        from domain.scene_exports.models import ExportStatus, SceneExport
        from domain.scene_exports.service import fingerprint
        from domain.scenes.models import Segment

        scene_id = uuid.UUID(scene["id"])
        async with self.app.state.db.transaction() as session:
            last = await session.scalar(
                select(func.max(Segment.sequence)).where(Segment.scene_id == scene_id)
            )
            segment = Segment(scene_id=scene_id, sequence=(last or 0) + 1, text=text)
            session.add(segment)
            await session.flush()
            ids = list(
                await session.scalars(
                    select(Segment.id)
                    .where(Segment.scene_id == scene_id, Segment.status == "active")
                    .order_by(Segment.sequence)
                )
            )
            export = SceneExport(
                scene_id=scene_id,
                fingerprint=fingerprint(ids),
                segment_ids=ids,
                status=ExportStatus.READY.value,
                size_bytes=4,
                duration=1.0,
            )
            export.storage_key = object_key(hashlib.sha256(STAND_IN_MP4).hexdigest(), ".mp4")
            session.add(export)
        await self.app.state.storage.put_bytes(export.storage_key, STAND_IN_MP4)
        return export.storage_key

    async def contributed_segment(
        self, scene: dict[str, Any], contributor: Account, text: str = "Mara rings the bell."
    ) -> dict[str, Any]:
        """A segment by `contributor` written as finalization writes one: the next sequence, a
        new bible version (the segment moves the timeline on), the scene's counters advanced.
        Returns the segment's id, sequence, bible version and thumbnail key."""
        from sqlalchemy import select

        from domain.scenes.models import Scene, SceneBible, Segment

        scene_id = uuid.UUID(scene["id"])
        async with self.app.state.db.transaction() as session:
            row = await session.scalar(select(Scene).where(Scene.id == scene_id).with_for_update())
            assert row is not None
            head = await session.scalar(
                select(SceneBible.data).where(
                    SceneBible.scene_id == scene_id, SceneBible.version == row.bible_version
                )
            )
            sequence, version = row.segment_count + 1, row.bible_version + 1
            data = copy.deepcopy(head)
            data["version"] = version
            data["timeline"]["currentPoint"] = f"After segment {sequence}"
            data["timeline"]["majorEvents"].append(
                {"segmentNumber": sequence, "event": text, "consequences": ["The bell rang."]}
            )
            session.add(SceneBible(scene_id=scene_id, version=version, data=data))
            job_id = uuid.uuid4()  # names the media prefix, as a real job's id does
            thumbnail = f"scenes/{scene_id}/segments/{job_id}/thumb.jpg"
            segment = Segment(
                scene_id=scene_id,
                job_id=job_id,
                user_id=uuid.UUID(contributor.id),
                sequence=sequence,
                text=text,
                duration=2.5,
                bible_version=version,
                thumbnail_key=thumbnail,
            )
            session.add(segment)
            await session.flush()
            row.segment_count = sequence
            row.bible_version = version
            row.total_duration = row.total_duration + 2.5
            row.contributor_count = len(
                set(
                    await session.scalars(
                        select(Segment.user_id).where(Segment.scene_id == scene_id)
                    )
                )
            )
            row.last_segment_at = segment.created_at
            return {
                "id": str(segment.id),
                "sequence": sequence,
                "bible_version": version,
                "thumbnail_key": thumbnail,
            }

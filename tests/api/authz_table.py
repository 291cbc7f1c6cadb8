"""The authorization matrix: for every route, the status each kind of caller gets.

One `Row` per (method, path template) of the app (more when a route answers differently for a
target in another state: `case` names it). `expect` lists six statuses in `ROLES` order:

    anonymous  no token
    owner      a plain user who owns the world's idea, scene, proposal, job and flag
    other      another plain user
    moderator  a moderator
    admin      an admin
    banned     a suspended user with a still-valid access token (403 where a user is required;
               public reads treat them as anonymous)

Every request carries a VALID body for its route, so the status reflects authorization and not
validation. By default a row's path is filled from the world's targets (`fill`, `on`) and sent
with its `json`/`params`; `call` builds anything else. Rows whose call changes or deletes its
target build a fresh target per role (`fresh_*` helpers).

A route the app serves without a row fails the matrix ("new route without an entry"); a row
for a route the app does not serve fails too, unless it is `planned` (a contract route another
area is still building: skipped until the route appears, then checked).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.api.webhook_targets import PUBLIC_TARGET
from tests.factories import PASSWORD, Account, Factory, minimal_bible, unique

ROLES = ("anonymous", "owner", "other", "moderator", "admin", "banned")


@dataclass
class World:
    """The targets every row works on, owned by `accounts["owner"]`."""

    factory: Factory
    client: httpx.AsyncClient
    accounts: dict[str, Account]
    topic: dict[str, Any]
    category: dict[str, Any]
    idea: dict[str, Any]
    pending_idea: dict[str, Any]
    scene: dict[str, Any]
    hidden_scene: dict[str, Any]
    proposal: dict[str, Any]
    job: dict[str, Any]
    done_job: dict[str, Any]
    flag: dict[str, Any] | None = None
    # A scene with a live segment that has media (chunks, MP4, thumbnail, captions).
    played_scene: dict[str, Any] = field(default_factory=dict)
    segment: dict[str, Any] = field(default_factory=dict)

    @property
    def owner(self) -> Account:
        return self.accounts["owner"]

    def caller(self, role: str) -> Account | None:
        return self.accounts.get(role)


@dataclass
class Call:
    path: str
    json: Any = None
    data: dict[str, str] | None = None
    params: dict[str, str] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    # Runs after the request, e.g. to cancel a job that would count against the in-flight cap.
    cleanup: Callable[[httpx.Response], Awaitable[None]] | None = None


Builder = Callable[[World, str], Awaitable[Call]]


# Which world target fills a path parameter; a row's `on` names another (e.g. `pending_idea`).
TARGET_OF = {
    "idea_id": "idea",
    "scene_id": "scene",
    "job_id": "job",
    "proposal_id": "proposal",
    "topic_id": "topic",
    "flag_id": "flag",
    "segment_id": "segment",
    "topic": "topic",
    "category": "category",
}


def fill(w: World, template: str, on: dict[str, str]) -> str:
    """`/v1/ideas/{idea_id}` -> `/v1/ideas/<the world's idea>`; slugs for topic and category."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "username":
            return w.owner.username
        if name == "version":
            return "1"
        target = getattr(w, on.get(name, TARGET_OF[name]))
        return target["slug"] if name in ("topic", "category") else target["id"]

    return re.sub(r"\{(\w+)\}", value, template)


@dataclass(frozen=True)
class Row:
    method: str
    path: str
    expect: str
    # How to build the request; by default the path filled from the world, with json/params.
    call: Builder | None = None
    json: Any = None
    params: dict[str, str] | None = None
    on: dict[str, str] = field(default_factory=dict)
    case: str = ""
    planned: bool = False

    def expected(self) -> dict[str, int]:
        codes = [int(code) for code in self.expect.split()]
        assert len(codes) == len(ROLES), f"{self.label}: expect needs {len(ROLES)} codes"
        return dict(zip(ROLES, codes, strict=True))

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}" + (f" [{self.case}]" if self.case else "")

    async def build(self, w: World, role: str) -> Call:
        if self.call is not None:
            return await self.call(w, role)
        body = self.json() if callable(self.json) else self.json
        return Call(fill(w, self.path, self.on), json=body, params=self.params)


# Builders for requests that need more than the world's targets.


async def _login(w: World, account: Account) -> dict[str, Any]:
    response = await w.client.post(
        "/v1/auth/login", json={"login": account.username, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    return response.json()


async def own_credentials(w: World, role: str) -> Call:
    """Each caller signs in as themselves; the anonymous caller knows the owner's password."""
    account = w.caller(role) or w.owner
    return Call("/v1/auth/login", json={"login": account.username, "password": PASSWORD})


async def own_credentials_form(w: World, role: str) -> Call:
    account = w.caller(role) or w.owner
    return Call("/v1/auth/token", data={"username": account.username, "password": PASSWORD})


async def _fresh_refresh_token(w: World, role: str) -> str:
    # Refresh tokens are single use, so every call gets its own; a banned holder signed in before
    # the ban (they can no longer sign in).
    if role == "banned":
        return (await w.factory.account(banned=True)).refresh_token
    return (await _login(w, w.caller(role) or w.owner))["refresh_token"]


async def fresh_refresh(w: World, role: str) -> Call:
    return Call("/v1/auth/refresh", json={"refresh_token": await _fresh_refresh_token(w, role)})


async def fresh_logout(w: World, role: str) -> Call:
    return Call("/v1/auth/logout", json={"refresh_token": await _fresh_refresh_token(w, role)})


async def registration(w: World, role: str) -> Call:
    name = unique("reg")
    return Call(
        "/v1/auth/register",
        json={"email": f"{name}@example.com", "username": name, "password": PASSWORD},
    )


async def _mailed_token(w: World, purpose: str) -> str:
    """A token as a mail would carry it, issued to a fresh account (tokens are single use)."""
    from domain.users import account_tokens
    from domain.users import repository as users
    from domain.users.models import TokenPurpose

    account = await w.factory.account()
    app = w.factory.app
    async with app.state.db.transaction() as session:
        user = await users.get(session, uuid.UUID(account.id))
        assert user is not None
        return await account_tokens.issue(session, app.state.settings, user, TokenPurpose(purpose))


async def reset_request(w: World, role: str) -> Call:
    # A fresh address per call: the per-address throttle is not what this row checks.
    return Call("/v1/auth/password-reset", json={"email": f"{unique('reset')}@example.com"})


async def fresh_reset_confirm(w: World, role: str) -> Call:
    token = await _mailed_token(w, "password_reset")
    return Call("/v1/auth/password-reset/confirm", json={"token": token, "password": PASSWORD})


async def fresh_verify_confirm(w: World, role: str) -> Call:
    return Call(
        "/v1/auth/verify-email/confirm", json={"token": await _mailed_token(w, "verify_email")}
    )


async def fresh_verify_request(w: World, role: str) -> Call:
    # Each account may be verified once: a fresh one of the role per call.
    return Call("/v1/auth/verify-email", headers=await _fresh_headers(w, role))


async def _fresh_headers(w: World, role: str) -> dict[str, str]:
    if role == "anonymous":
        return {}
    if role == "banned":
        return (await w.factory.account(banned=True)).headers
    kind = {"owner": "user", "other": "user"}.get(role, role)
    return (await w.factory.account(kind)).headers


async def fresh_account_delete(w: World, role: str) -> Call:
    # The world's accounts must outlive this row: each role deletes a fresh account of its own.
    return Call("/v1/users/me", headers=await _fresh_headers(w, role))


def unconfigured_oidc(step: str) -> Builder:
    # The suite's app configures no provider: every caller gets 404 (test_oidc_sign_in.py
    # drives the configured flow against a real provider).
    async def build(w: World, role: str) -> Call:
        return Call(f"/v1/auth/oidc/acme/{step}", params={"code": "c", "state": "s"})

    return build


async def fresh_login_code(w: World, role: str) -> Call:
    from infra.oidc import FlowStore

    app = w.factory.app
    account = await w.factory.account()
    code = await FlowStore(app.state.queue, app.state.settings.queue_name).new_login_code(
        account.id
    )
    return Call("/v1/auth/oidc/exchange", json={"code": code})


def new_idea_body(w: World) -> dict[str, Any]:
    return {
        "topic_id": w.topic["id"],
        "category_id": w.category["id"],
        "title": unique("The keeper "),
        "prompt": "A keeper finds a letter in a bottle that names her as the thief.",
        "tags": ["mystery"],
    }


async def new_idea(w: World, role: str) -> Call:
    return Call("/v1/ideas", json=new_idea_body(w))


def new_scene_on(idea_attr: str) -> Builder:
    async def build(w: World, role: str) -> Call:
        idea = getattr(w, idea_attr)
        body = {"title": unique("Scene "), "description": "Fog.", "bible": minimal_bible()}
        return Call(f"/v1/ideas/{idea['id']}/scenes", json=body)

    return build


# Builders that make a fresh target per call, for calls that change or delete it.


async def fresh_idea_patch(w: World, role: str) -> Call:
    idea = await w.factory.idea(w.owner, w.topic)
    return Call(f"/v1/ideas/{idea['id']}", json={"title": unique("Retitled ")})


async def fresh_idea_delete(w: World, role: str) -> Call:
    idea = await w.factory.idea(w.owner, w.topic)
    return Call(f"/v1/ideas/{idea['id']}")


async def fresh_bible_update(w: World, role: str) -> Call:
    idea = await w.factory.idea(w.owner, w.topic)
    scene = await w.factory.scene(w.owner, idea)
    return Call(
        f"/v1/scenes/{scene['id']}/bible",
        json={"data": minimal_bible(), "change_note": "Matrix edit."},
        headers={"If-Match": '"1"'},
    )


async def fresh_approve(w: World, role: str) -> Call:
    proposal = await w.factory.proposal(w.owner)
    return Call(f"/v1/topic-proposals/{proposal['id']}/approve", json={"promote": False})


async def fresh_reject(w: World, role: str) -> Call:
    proposal = await w.factory.proposal(w.owner)
    return Call(f"/v1/topic-proposals/{proposal['id']}/reject", json={"reason": "Too broad."})


def _cancel_as(w: World, account: Account | None, job_id: str) -> Callable[..., Awaitable[None]]:
    """Cancel the job afterwards (if still live), so the owner stays under the in-flight cap."""

    async def cleanup(_: httpx.Response) -> None:
        if account is None:
            return
        response = await w.client.post(f"/v1/jobs/{job_id}/cancel", headers=account.headers)
        assert response.status_code in (200, 409), response.text

    return cleanup


def fresh_failed_job(action: str) -> Builder:
    """A failed job of the owner per call; a requeued one is cancelled after (in-flight cap)."""

    async def build(w: World, role: str) -> Call:
        from tests.api.operations_support import failed_job

        job = await failed_job(w.factory, w.owner, w.scene)
        return Call(
            f"/v1/admin/jobs/{job['id']}/{action}", cleanup=_cancel_as(w, w.owner, job["id"])
        )

    return build


async def continuation(w: World, role: str) -> Call:
    caller = w.caller(role)

    async def cleanup(response: httpx.Response) -> None:
        if response.status_code == 202:
            await _cancel_as(w, caller, response.json()["id"])(response)

    return Call(
        f"/v1/scenes/{w.scene['id']}/continuations",
        json={"text": "Mara climbs the bell tower."},
        headers={"Idempotency-Key": uuid.uuid4().hex},
        cleanup=cleanup,
    )


async def fresh_cancel(w: World, role: str) -> Call:
    job = await w.factory.job(w.owner, w.scene)
    return Call(f"/v1/jobs/{job['id']}/cancel", cleanup=_cancel_as(w, w.owner, job["id"]))


def exported_scene(*, hidden: bool = False) -> Builder:
    """A fresh scene of the world's idea with one segment and its export ready."""

    async def build(w: World, role: str) -> Call:
        scene = await w.factory.scene(w.owner, w.idea)
        await w.factory.exported_segment(scene)
        if hidden:
            moderator = w.accounts["moderator"]
            flag = await w.client.post(
                "/v1/flags",
                json={"target_type": "scene", "target_id": scene["id"], "reason": "spam"},
                headers=w.owner.headers,
            )
            hide = await w.client.post(
                f"/v1/moderation/flags/{flag.json()['id']}/resolve",
                json={"action_taken": "hide"},
                headers=moderator.headers,
            )
            assert hide.status_code == 200, hide.text
        return Call(f"/v1/scenes/{scene['id']}/export.mp4")

    return build


# Moderation


async def create_flag(
    factory: Factory, reporter: Account, target: dict[str, Any]
) -> dict[str, Any]:
    body = {"target_type": "idea", "target_id": target["id"], "reason": "spam"}
    response = await factory.client.post("/v1/flags", json=body, headers=reporter.headers)
    assert response.status_code == 201, response.text
    return response.json()


async def new_flag(w: World, role: str) -> Call:
    # One open flag per reporter and target: every call reports a fresh idea.
    target = await w.factory.idea(w.accounts["other"], w.topic)
    return Call(
        "/v1/flags",
        json={"target_type": "idea", "target_id": target["id"], "reason": "spam"},
    )


def fresh_flag(action: str, body: dict[str, Any], *, bulk: bool = False) -> Builder:
    async def build(w: World, role: str) -> Call:
        target = await w.factory.idea(w.accounts["other"], w.topic)
        flag = await create_flag(w.factory, w.owner, target)
        if bulk:
            return Call(f"/v1/moderation/flags/{action}", json={"flag_ids": [flag["id"]], **body})
        return Call(f"/v1/moderation/flags/{flag['id']}/{action}", json=body)

    return build


# Notifications and webhooks


def webhook_body() -> dict[str, Any]:
    # A public literal address: registration checks it without DNS; nothing is sent here.
    return {"url": f"{PUBLIC_TARGET}{unique('hook-')}", "events": ["job.final_ready"]}


async def _owner_webhook(w: World) -> str:
    response = await w.client.post("/v1/webhooks", json=webhook_body(), headers=w.owner.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def fresh_webhook_delete(w: World, role: str) -> Call:
    return Call(f"/v1/webhooks/{await _owner_webhook(w)}")


async def webhook_deliveries(w: World, role: str) -> Call:
    # One endpoint for every role (an account may hold only so many).
    if getattr(w, "webhook_id", None) is None:
        w.webhook_id = await _owner_webhook(w)  # type: ignore[attr-defined]
    return Call(f"/v1/webhooks/{w.webhook_id}/deliveries")  # type: ignore[attr-defined]


EVERYONE_200 = "200 200 200 200 200 200"
USERS_200 = "401 200 200 200 200 403"
MODERATORS_200 = "401 403 403 200 200 403"
ADMINS_200 = "401 403 403 403 200 403"
CREATES = "401 201 201 201 201 403"
ADMINS_CREATE = "401 403 403 403 201 403"
OWNER_OR_MODERATOR = "401 200 404 200 200 403"
OWNER_ONLY = "401 200 403 403 403 403"

# The life of scenes and ideas; its builders need Call and World above.
from tests.api.authz_lifecycle import (  # noqa: E402
    fresh_idea_restore,
    fresh_scene_delete,
    fresh_scene_patch,
    fresh_scene_restore,
    fresh_segment_withdraw,
    hidden_scene_patch,
)

ROWS: tuple[Row, ...] = (
    # Operations
    Row("GET", "/", EVERYONE_200),
    Row("GET", "/healthz", EVERYONE_200),
    Row("GET", "/readyz", EVERYONE_200),
    Row("GET", "/v1/admin/partitions", ADMINS_200),
    Row("GET", "/v1/admin/events", ADMINS_200, params={"kind": "job.requeued"}),
    Row("GET", "/v1/admin/failed-jobs", ADMINS_200),
    Row("GET", "/v1/admin/stats", ADMINS_200),
    Row(
        "POST",
        "/v1/admin/jobs/{job_id}/requeue",
        "401 403 403 403 202 403",
        fresh_failed_job("requeue"),
    ),
    Row("POST", "/v1/admin/jobs/{job_id}/discard", ADMINS_200, fresh_failed_job("discard")),
    Row("GET", "/metrics", ADMINS_200),
    # Auth: the token a caller sends is irrelevant; the credentials in the body decide.
    Row("POST", "/v1/auth/register", "201 201 201 201 201 201", registration),
    Row("POST", "/v1/auth/login", "200 200 200 200 200 403", own_credentials),
    Row("POST", "/v1/auth/token", "200 200 200 200 200 403", own_credentials_form),
    Row("POST", "/v1/auth/refresh", "200 200 200 200 200 401", fresh_refresh),
    Row("POST", "/v1/auth/logout", "204 204 204 204 204 204", fresh_logout),
    Row("POST", "/v1/auth/password-reset", "202 202 202 202 202 202", reset_request),
    Row("POST", "/v1/auth/password-reset/confirm", "204 204 204 204 204 204", fresh_reset_confirm),
    Row("POST", "/v1/auth/verify-email", "401 202 202 202 202 403", fresh_verify_request),
    Row("POST", "/v1/auth/verify-email/confirm", "204 204 204 204 204 204", fresh_verify_confirm),
    Row("GET", "/v1/auth/oidc/providers", "200 200 200 200 200 200"),
    Row(
        "GET",
        "/v1/auth/oidc/{provider}/login",
        "404 404 404 404 404 404",
        unconfigured_oidc("login"),
    ),
    Row(
        "GET",
        "/v1/auth/oidc/{provider}/callback",
        "404 404 404 404 404 404",
        unconfigured_oidc("callback"),
    ),
    Row("POST", "/v1/auth/oidc/exchange", "200 200 200 200 200 200", fresh_login_code),
    # Users
    Row("GET", "/v1/users/me", USERS_200),
    Row("PATCH", "/v1/users/me", USERS_200, json={"bio": "Writes at night."}),
    Row("GET", "/v1/users/me/export", USERS_200),
    Row("DELETE", "/v1/users/me", "401 204 204 204 204 403", fresh_account_delete),
    Row("GET", "/v1/users/{username}", EVERYONE_200),
    Row("GET", "/v1/users/{username}/scenes", EVERYONE_200),
    Row("GET", "/v1/users/{username}/segments", EVERYONE_200),
    Row("GET", "/v1/users/me/jobs", USERS_200),
    # Topics, categories, proposals
    Row("GET", "/v1/topics", EVERYONE_200),
    Row("GET", "/v1/topics/{topic}", EVERYONE_200),
    Row("GET", "/v1/topics/{topic}/categories/{category}", EVERYONE_200),
    Row("POST", "/v1/topics", ADMINS_CREATE, json=lambda: {"name": unique("T ")}),
    Row("PATCH", "/v1/topics/{topic_id}", ADMINS_200, json={"description": "Curated."}),
    Row(
        "POST",
        "/v1/topics/{topic_id}/categories",
        ADMINS_CREATE,
        json=lambda: {"name": unique("C ")},
    ),
    Row(
        "POST",
        "/v1/topic-proposals",
        CREATES,
        json=lambda: {"name": unique("P "), "description": "Why."},
    ),
    Row("GET", "/v1/topic-proposals", MODERATORS_200),
    Row("GET", "/v1/topic-proposals/{proposal_id}", OWNER_OR_MODERATOR),
    Row("POST", "/v1/topic-proposals/{proposal_id}/approve", MODERATORS_200, fresh_approve),
    Row("POST", "/v1/topic-proposals/{proposal_id}/reject", MODERATORS_200, fresh_reject),
    # Ideas
    Row("POST", "/v1/ideas", CREATES, new_idea),
    Row("GET", "/v1/ideas", EVERYONE_200, params={"sort": "popular"}),
    Row("GET", "/v1/ideas/{idea_id}", EVERYONE_200),
    Row(
        "GET",
        "/v1/ideas/{idea_id}",
        "404 200 404 200 200 404",
        on={"idea_id": "pending_idea"},
        case="pending review",
    ),
    Row("PATCH", "/v1/ideas/{idea_id}", OWNER_ONLY, fresh_idea_patch),
    Row("DELETE", "/v1/ideas/{idea_id}", "401 204 403 204 204 403", fresh_idea_delete),
    Row("POST", "/v1/ideas/{idea_id}/restore", MODERATORS_200, fresh_idea_restore),
    Row("PUT", "/v1/ideas/{idea_id}/like", USERS_200),
    Row("DELETE", "/v1/ideas/{idea_id}/like", USERS_200),
    Row("POST", "/v1/ideas/{idea_id}/scenes", CREATES, new_scene_on("idea")),
    Row("GET", "/v1/ideas/{idea_id}/scenes", EVERYONE_200),
    Row(
        "GET",
        "/v1/ideas/{idea_id}/scenes",
        "404 200 404 200 200 404",
        on={"idea_id": "pending_idea"},
        case="pending review",
    ),
    Row(
        "POST",
        "/v1/ideas/{idea_id}/scenes",
        "401 201 404 404 404 403",
        new_scene_on("pending_idea"),
        case="pending review",
    ),
    # Search: public reads; a banned caller searches as a stranger.
    Row("GET", "/v1/search", EVERYONE_200, params={"q": "keeper", "type": "idea"}),
    # Scenes and their bible
    Row("GET", "/v1/scenes", EVERYONE_200, params={"sort": "active"}),
    Row("GET", "/v1/scenes/{scene_id}", EVERYONE_200),
    Row(
        "GET",
        "/v1/scenes/{scene_id}",
        "404 404 404 200 200 404",
        on={"scene_id": "hidden_scene"},
        case="hidden",
    ),
    Row("PATCH", "/v1/scenes/{scene_id}", "401 200 403 200 200 403", fresh_scene_patch),
    Row(
        "PATCH",
        "/v1/scenes/{scene_id}",
        "401 404 404 200 200 403",
        hidden_scene_patch,
        case="hidden",
    ),
    Row("DELETE", "/v1/scenes/{scene_id}", "401 204 403 204 204 403", fresh_scene_delete),
    Row("POST", "/v1/scenes/{scene_id}/restore", MODERATORS_200, fresh_scene_restore),
    # Only the contributor withdraws; moderators hide segments through moderation instead.
    Row("DELETE", "/v1/segments/{segment_id}", "401 204 403 403 403 403", fresh_segment_withdraw),
    Row("GET", "/v1/scenes/{scene_id}/bible", EVERYONE_200),
    Row("PUT", "/v1/scenes/{scene_id}/bible", "401 200 403 200 200 403", fresh_bible_update),
    Row("GET", "/v1/scenes/{scene_id}/bible/versions", EVERYONE_200),
    Row("GET", "/v1/scenes/{scene_id}/bible/versions/{version}", EVERYONE_200),
    Row("GET", "/v1/scenes/{scene_id}/bible/diff", EVERYONE_200, params={"from": "1", "to": "1"}),
    Row("GET", "/v1/scenes/{scene_id}/segments", EVERYONE_200),
    # Playback: only live content, for everyone; media files are redirects to where they are.
    *(
        Row("GET", f"/v1/scenes/{{scene_id}}/{name}", EVERYONE_200, on={"scene_id": "played_scene"})
        for name in ("playlist.m3u8", "video.m3u8", "captions.m3u8")
    ),
    Row(
        "GET",
        "/v1/scenes/{scene_id}/playlist.m3u8",
        "404 404 404 404 404 404",
        on={"scene_id": "hidden_scene"},
        case="hidden",
    ),
    *(
        Row("GET", f"/v1/segments/{{segment_id}}/{name}", EVERYONE_200)
        for name in ("playlist.m3u8", "video.m3u8", "captions.m3u8")
    ),
    *(
        Row("GET", f"/v1/segments/{{segment_id}}/{name}", "307 307 307 307 307 307")
        for name in ("video.mp4", "thumbnail.jpg", "captions.vtt")
    ),
    Row("GET", "/v1/captions/blank.vtt", EVERYONE_200),
    Row("GET", "/v1/scenes/{scene_id}/export.mp4", EVERYONE_200, exported_scene()),
    Row(
        "GET",
        "/v1/scenes/{scene_id}/export.mp4",
        "404 404 404 200 200 404",
        exported_scene(hidden=True),
        case="hidden",
    ),
    # The world's scene has no segment yet: nothing to export, for anyone.
    Row("GET", "/v1/scenes/{scene_id}/export.mp4", "404 404 404 404 404 404", case="empty"),
    Row("PUT", "/v1/scenes/{scene_id}/like", USERS_200),
    Row("DELETE", "/v1/scenes/{scene_id}/like", USERS_200),
    Row("POST", "/v1/scenes/{scene_id}/views", EVERYONE_200),
    # Continuations and jobs
    Row("POST", "/v1/scenes/{scene_id}/continuations", "401 202 202 202 202 403", continuation),
    Row("GET", "/v1/jobs/{job_id}", OWNER_OR_MODERATOR),
    # A terminal job, so the stream sends one event and ends.
    Row("GET", "/v1/jobs/{job_id}/events", OWNER_OR_MODERATOR, on={"job_id": "done_job"}),
    Row("POST", "/v1/jobs/{job_id}/cancel", "401 200 404 403 403 403", fresh_cancel),
    # Moderation
    Row("POST", "/v1/flags", CREATES, new_flag),
    Row("GET", "/v1/moderation/flags", MODERATORS_200, params={"status": "pending"}),
    Row("GET", "/v1/moderation/flags/{flag_id}", OWNER_OR_MODERATOR),
    Row("GET", "/v1/moderation/flags/{flag_id}/target", MODERATORS_200),
    Row("POST", "/v1/moderation/flags/{flag_id}/claim", MODERATORS_200, fresh_flag("claim", {})),
    Row(
        "POST",
        "/v1/moderation/flags/{flag_id}/resolve",
        MODERATORS_200,
        fresh_flag("resolve", {"action_taken": "none", "notes": "Fine."}),
    ),
    Row(
        "POST",
        "/v1/moderation/flags/{flag_id}/dismiss",
        MODERATORS_200,
        fresh_flag("dismiss", {"notes": "Not spam."}),
    ),
    Row(
        "POST",
        "/v1/moderation/flags/bulk-resolve",
        MODERATORS_200,
        fresh_flag("bulk-resolve", {"action_taken": "none"}, bulk=True),
    ),
    Row(
        "POST",
        "/v1/moderation/flags/bulk-dismiss",
        MODERATORS_200,
        fresh_flag("bulk-dismiss", {"notes": "Duplicates."}, bulk=True),
    ),
    Row("GET", "/v1/moderation/actions", MODERATORS_200),
    Row("GET", "/v1/moderation/deleted", MODERATORS_200, params={"type": "scene"}),
    # Notifications and webhooks: each caller's own; another's endpoint is as good as absent.
    Row("GET", "/v1/notifications", USERS_200),
    Row("POST", "/v1/notifications/read", USERS_200, json={}),
    Row("POST", "/v1/webhooks", CREATES, json=webhook_body),
    Row("GET", "/v1/webhooks", USERS_200),
    Row("DELETE", "/v1/webhooks/{webhook_id}", "401 204 404 404 404 403", fresh_webhook_delete),
    Row(
        "GET",
        "/v1/webhooks/{webhook_id}/deliveries",
        "401 200 404 404 404 403",
        webhook_deliveries,
    ),
)

"""Flags, the moderation queue, decisions and the audit trail."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Query, Request, Response, status

from api.deps import CurrentUser, ModeratorUser, ReadSessionDep, SessionDep, SettingsDep
from api.errors import problem_responses
from api.presenters.moderation import action_out, decision_out, flag_out
from domain.media import service as media_service
from domain.moderation import context, reads, service
from domain.pagination import DEFAULT_LIMIT, MAX_LIMIT
from schemas.common import Page
from schemas.moderation import (
    ActionOut,
    BulkDismissIn,
    BulkOut,
    BulkResolveIn,
    DecisionOut,
    DeletedOut,
    DeletedType,
    DismissIn,
    FlagIn,
    FlagOut,
    FlagReason,
    FlagStatus,
    QueueFlag,
    QueueItem,
    ResolveIn,
    TargetContextOut,
    TargetType,
)

router = APIRouter(tags=["moderation"])

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
Cursor = Annotated[str | None, Query(max_length=512)]


@router.post(
    "/v1/flags",
    status_code=status.HTTP_201_CREATED,
    response_model=FlagOut,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def create_flag(
    body: FlagIn, user: CurrentUser, session: SessionDep, response: Response
) -> FlagOut:
    """Flag content for moderators; a second open flag on the same target is 409 with its id."""
    flag = await service.file_flag(session, user, **body.model_dump())
    response.headers["Location"] = f"/v1/moderation/flags/{flag.id}"
    return flag_out(flag, user)


@router.get(
    "/v1/moderation/flags",
    response_model=Page[QueueItem],
    responses=problem_responses(401, 403, 422),
)
async def list_queue(
    moderator: ModeratorUser,
    session: ReadSessionDep,
    flag_status: Annotated[FlagStatus, Query(alias="status")] = "pending",
    target_type: TargetType | None = None,
    reason: FlagReason | None = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[QueueItem]:
    """The queue: flagged targets, highest priority first, each with its flags."""
    page = await reads.list_queue(
        session,
        status=flag_status,
        target_type=target_type,
        reason=reason,
        limit=limit,
        cursor=cursor,
    )
    items = [
        QueueItem.model_validate(
            {**vars(item), "flags": [QueueFlag.model_validate(f) for f in item.flags]}
        )
        for item in page.items
    ]
    return Page[QueueItem](items=items, next_cursor=page.next_cursor)


@router.get(
    "/v1/moderation/flags/{flag_id}",
    response_model=FlagOut,
    responses=problem_responses(401, 403, 404, 422),
)
async def read_flag(flag_id: uuid.UUID, user: CurrentUser, session: ReadSessionDep) -> FlagOut:
    """One flag, for moderators and for the user who filed it."""
    return flag_out(await service.get_flag(session, flag_id, user), user)


@router.get(
    "/v1/moderation/flags/{flag_id}/target",
    response_model=TargetContextOut,
    responses=problem_responses(401, 403, 404, 422),
)
async def flag_target(
    flag_id: uuid.UUID, moderator: ModeratorUser, session: ReadSessionDep, request: Request
) -> TargetContextOut:
    """The flag's target in context: its text, its idea or scene, a segment's media."""
    ctx = await context.for_flag(session, flag_id, moderator)
    fields = {k: v for k, v in vars(ctx).items() if k != "media_segment_id"}
    if (segment_id := ctx.media_segment_id) is not None:
        roles = await media_service.media_roles(session, [segment_id])
        links = request.app.state.media_urls.segment_links(segment_id, roles.get(segment_id, set()))
        fields.update({k: links[k] for k in ("hls_playlist_url", "video_url", "thumbnail_url")})
    return TargetContextOut.model_validate(fields)


@router.post(
    "/v1/moderation/flags/bulk-resolve",
    response_model=BulkOut,
    responses=problem_responses(401, 403, 422),
)
async def bulk_resolve(
    body: BulkResolveIn, moderator: ModeratorUser, session: SessionDep
) -> BulkOut:
    """Resolve the targets of up to 100 flags with one action; claimed targets are skipped."""
    outcome = await service.bulk_decide(
        session, moderator, body.flag_ids, body.action_taken, body.notes
    )
    return BulkOut(results=[decision_out(d) for d in outcome.results], not_found=outcome.not_found)


@router.post(
    "/v1/moderation/flags/bulk-dismiss",
    response_model=BulkOut,
    responses=problem_responses(401, 403, 422),
)
async def bulk_dismiss(
    body: BulkDismissIn, moderator: ModeratorUser, session: SessionDep
) -> BulkOut:
    """Dismiss the targets of up to 100 flags; claimed targets are skipped."""
    outcome = await service.bulk_decide(session, moderator, body.flag_ids, None, body.notes)
    return BulkOut(results=[decision_out(d) for d in outcome.results], not_found=outcome.not_found)


@router.post(
    "/v1/moderation/flags/{flag_id}/claim",
    response_model=FlagOut,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def claim_flag(flag_id: uuid.UUID, moderator: ModeratorUser, session: SessionDep) -> FlagOut:
    """Take a 15-minute lease on the flag's target (or extend yours); 409 if another holds it."""
    return flag_out(await service.claim(session, moderator, flag_id), moderator)


@router.post(
    "/v1/moderation/flags/{flag_id}/resolve",
    response_model=DecisionOut,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def resolve_flag(
    flag_id: uuid.UUID, body: ResolveIn, moderator: ModeratorUser, session: SessionDep
) -> DecisionOut:
    """Apply the action to the flag's target and resolve every open flag on it."""
    decision = await service.resolve(session, moderator, flag_id, body.action_taken, body.notes)
    return decision_out(decision)


@router.post(
    "/v1/moderation/flags/{flag_id}/dismiss",
    response_model=DecisionOut,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def dismiss_flag(
    flag_id: uuid.UUID,
    moderator: ModeratorUser,
    session: SessionDep,
    body: Annotated[DismissIn | None, Body()] = None,
) -> DecisionOut:
    """Dismiss every open flag on the flag's target; the target is left as it is."""
    notes = body.notes if body is not None else None
    return decision_out(await service.dismiss(session, moderator, flag_id, notes))


@router.get(
    "/v1/moderation/actions",
    response_model=Page[ActionOut],
    responses=problem_responses(401, 403, 422),
)
async def list_actions(
    moderator: ModeratorUser,
    session: ReadSessionDep,
    target_type: TargetType | None = None,
    target_id: uuid.UUID | None = None,
    moderator_id: uuid.UUID | None = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[ActionOut]:
    """The audit trail, newest first: who decided what on which target, when."""
    page = await reads.list_actions(
        session,
        target_type=target_type,
        target_id=target_id,
        moderator_id=moderator_id,
        limit=limit,
        cursor=cursor,
    )
    return Page[ActionOut](items=[action_out(a) for a in page.items], next_cursor=page.next_cursor)


@router.get(
    "/v1/moderation/deleted",
    response_model=Page[DeletedOut],
    responses=problem_responses(401, 403, 422),
)
async def list_deleted(
    moderator: ModeratorUser,
    session: ReadSessionDep,
    settings: SettingsDep,
    deleted_type: Annotated[DeletedType, Query(alias="type")],
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[DeletedOut]:
    """Deleted scenes or ideas still restorable (DELETED_RETENTION_DAYS), newest deleted first."""
    page = await reads.list_deleted(
        session,
        deleted_type,
        retention_days=settings.deleted_retention_days,
        limit=limit,
        cursor=cursor,
    )
    items = [DeletedOut.model_validate(vars(item)) for item in page.items]
    return Page[DeletedOut](items=items, next_cursor=page.next_cursor)

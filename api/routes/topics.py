"""Topics, their categories, and topic proposals."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from api.deps import AdminUser, CurrentUser, ModeratorUser, OptionalUser, ReadSessionDep, SessionDep
from api.errors import problem_responses
from api.presenters.topics import topic_detail
from domain.pagination import DEFAULT_LIMIT, MAX_LIMIT
from domain.topics import service
from schemas.common import Page
from schemas.topics import (
    ApproveIn,
    CategoryIn,
    CategoryOut,
    ProposalIn,
    ProposalOut,
    ProposalStatus,
    RejectIn,
    TopicDetail,
    TopicIn,
    TopicOut,
    TopicPatch,
)

router = APIRouter(tags=["topics"])

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
Cursor = Annotated[str | None, Query(max_length=512)]


@router.get("/v1/topics", response_model=Page[TopicOut], responses=problem_responses(422))
async def list_topics(
    session: ReadSessionDep, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> Page[TopicOut]:
    """Active topics by display order."""
    page = await service.list_topics(session, limit=limit, cursor=cursor)
    return Page[TopicOut](
        items=[TopicOut.model_validate(t) for t in page.items], next_cursor=page.next_cursor
    )


@router.get(
    "/v1/topics/{topic}", response_model=TopicDetail, responses=problem_responses(401, 404, 422)
)
async def read_topic(topic: str, session: ReadSessionDep, viewer: OptionalUser) -> TopicDetail:
    """One topic, by slug (or id), with its categories."""
    return topic_detail(await service.get_topic(session, topic, viewer))


@router.get(
    "/v1/topics/{topic}/categories/{category}",
    response_model=CategoryOut,
    responses=problem_responses(401, 404, 422),
)
async def read_category(
    topic: str, category: str, session: ReadSessionDep, viewer: OptionalUser
) -> CategoryOut:
    """One category of a topic, by the topic's slug (or id) and the category's slug."""
    return CategoryOut.model_validate(await service.get_category(session, topic, category, viewer))


@router.post(
    "/v1/topics",
    status_code=status.HTTP_201_CREATED,
    response_model=TopicOut,
    responses=problem_responses(401, 403, 409, 422),
)
async def create_topic(
    body: TopicIn, _: AdminUser, session: SessionDep, response: Response
) -> TopicOut:
    """Create a curated topic; the slug is derived from the name when absent."""
    topic = await service.create_topic(session, **body.model_dump())
    response.headers["Location"] = f"/v1/topics/{topic.slug}"
    return TopicOut.model_validate(topic)


@router.patch(
    "/v1/topics/{topic_id}",
    response_model=TopicOut,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def update_topic(
    topic_id: uuid.UUID, body: TopicPatch, _: AdminUser, session: SessionDep
) -> TopicOut:
    """Change a topic's name, slug, description, order or activity; fields left out stay."""
    topic = await service.update_topic(session, topic_id, body.model_dump(exclude_unset=True))
    return TopicOut.model_validate(topic)


@router.post(
    "/v1/topics/{topic_id}/categories",
    status_code=status.HTTP_201_CREATED,
    response_model=CategoryOut,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def create_category(
    topic_id: uuid.UUID, body: CategoryIn, _: AdminUser, session: SessionDep, response: Response
) -> CategoryOut:
    """Add a category to a topic; its slug is unique within the topic."""
    topic, category = await service.create_category(session, topic_id, **body.model_dump())
    response.headers["Location"] = f"/v1/topics/{topic.slug}/categories/{category.slug}"
    return CategoryOut.model_validate(category)


@router.post(
    "/v1/topic-proposals",
    status_code=status.HTTP_201_CREATED,
    response_model=ProposalOut,
    tags=["topic proposals"],
    responses=problem_responses(401, 403, 422),
)
async def propose_topic(
    body: ProposalIn, user: CurrentUser, session: SessionDep, response: Response
) -> ProposalOut:
    """Propose a new topic; it waits, `pending`, for a moderator."""
    proposal = await service.propose_topic(
        session, user, name=body.name, description=body.description
    )
    response.headers["Location"] = f"/v1/topic-proposals/{proposal.id}"
    return ProposalOut.model_validate(proposal)


@router.get(
    "/v1/topic-proposals",
    response_model=Page[ProposalOut],
    tags=["topic proposals"],
    responses=problem_responses(401, 403, 422),
)
async def list_proposals(
    _: ModeratorUser,
    session: ReadSessionDep,
    status_filter: Annotated[ProposalStatus | None, Query(alias="status")] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[ProposalOut]:
    """Topic proposals, newest first, optionally of one status."""
    page = await service.list_proposals(session, status=status_filter, limit=limit, cursor=cursor)
    return Page[ProposalOut](
        items=[ProposalOut.model_validate(p) for p in page.items], next_cursor=page.next_cursor
    )


@router.get(
    "/v1/topic-proposals/{proposal_id}",
    response_model=ProposalOut,
    tags=["topic proposals"],
    responses=problem_responses(401, 403, 404, 422),
)
async def read_proposal(
    proposal_id: uuid.UUID, user: CurrentUser, session: ReadSessionDep
) -> ProposalOut:
    """One proposal, for its author or a moderator."""
    return ProposalOut.model_validate(await service.get_proposal(session, proposal_id, user))


@router.post(
    "/v1/topic-proposals/{proposal_id}/approve",
    response_model=ProposalOut,
    tags=["topic proposals"],
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def approve_proposal(
    proposal_id: uuid.UUID,
    moderator: ModeratorUser,
    session: SessionDep,
    body: ApproveIn | None = None,
) -> ProposalOut:
    """Approve a pending proposal; with `promote`, a new topic is created from it."""
    promote = body.promote if body is not None else False
    proposal = await service.approve_proposal(session, proposal_id, moderator, promote=promote)
    return ProposalOut.model_validate(proposal)


@router.post(
    "/v1/topic-proposals/{proposal_id}/reject",
    response_model=ProposalOut,
    tags=["topic proposals"],
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def reject_proposal(
    proposal_id: uuid.UUID, body: RejectIn, moderator: ModeratorUser, session: SessionDep
) -> ProposalOut:
    """Reject a pending proposal with a reason."""
    proposal = await service.reject_proposal(session, proposal_id, moderator, reason=body.reason)
    return ProposalOut.model_validate(proposal)

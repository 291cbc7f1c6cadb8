"""Search endpoint."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import TypeAdapter

from api.deps import ReadSessionDep
from api.errors import problem_responses
from domain.pagination import DEFAULT_LIMIT, MAX_LIMIT
from domain.search import service
from schemas.common import Page
from schemas.search import SearchHitOut, SearchText, SearchType

router = APIRouter(prefix="/v1/search", tags=["search"])

# Ids (UUIDs) and slugs both fit; anything else can match nothing.
REF_PATTERN = r"^[A-Za-z0-9-]{1,100}$"
_HIT = TypeAdapter(SearchHitOut)


@router.get("", response_model=Page[SearchHitOut], responses=problem_responses(422))
async def search(
    session: ReadSessionDep,
    q: Annotated[
        SearchText,  # type: ignore[valid-type]
        Query(description='Words to find; "phrases", -exclusions and `or` work; typos too.'),
    ],
    kind: Annotated[SearchType, Query(alias="type")] = "idea",
    topic: Annotated[str | None, Query(pattern=REF_PATTERN, description="Id or slug.")] = None,
    category: Annotated[str | None, Query(pattern=REF_PATTERN, description="Id or slug.")] = None,
    tag: Annotated[list[str] | None, Query(description="Repeatable; all must match.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> Page[SearchHitOut]:
    """Public ideas, scenes or accounts matching q, most relevant (and liked) first."""
    page = await service.search(
        session,
        q=q,
        kind=kind,
        topic=topic,
        category=category,
        tags=tag or [],
        limit=limit,
        cursor=cursor,
    )
    items = [_HIT.validate_python(hit, from_attributes=True) for hit in page.items]
    return Page[SearchHitOut](items=items, next_cursor=page.next_cursor)

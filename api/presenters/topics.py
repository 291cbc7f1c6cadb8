"""Topics with their categories on the wire."""

from __future__ import annotations

from domain.topics.service import TopicWithCategories
from schemas.topics import CategoryOut, TopicDetail, TopicOut


def topic_detail(found: TopicWithCategories) -> TopicDetail:
    return TopicDetail.model_validate(
        {
            **TopicOut.model_validate(found.topic).model_dump(),
            "categories": [CategoryOut.model_validate(c) for c in found.categories],
        }
    )

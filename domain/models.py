"""Every ORM model, imported once so that the metadata is complete (alembic, tests)."""

from domain.base import Base
from domain.catalogue.models import Category, Idea, Topic, TopicProposal
from domain.engagement.models import Like, SceneView
from domain.jobs.models import Job, JobIdempotencyKey
from domain.moderation.models import ModerationActionRecord, ModerationFlag
from domain.scenes.models import Scene, SceneBible, SceneSummary, Segment, SegmentSequence
from domain.users.models import OAuthAccount, RefreshToken, User

__all__ = [
    "Base",
    "Category",
    "Idea",
    "Job",
    "JobIdempotencyKey",
    "Like",
    "ModerationActionRecord",
    "ModerationFlag",
    "OAuthAccount",
    "RefreshToken",
    "Scene",
    "SceneBible",
    "SceneSummary",
    "SceneView",
    "Segment",
    "SegmentSequence",
    "Topic",
    "TopicProposal",
    "User",
]

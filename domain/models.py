"""Every ORM model, imported once so that the metadata is complete (alembic, tests)."""

from domain.base import Base
from domain.engagement.models import Like, SceneView
from domain.ideas.models import Idea
from domain.jobs.models import Job, JobIdempotencyKey
from domain.media.models import MediaObject, SegmentMedia
from domain.moderation.models import ModerationActionRecord, ModerationFlag
from domain.notifications.models import Notification
from domain.operations.models import ProviderCall, SystemEvent
from domain.partitions.models import PartitionArchive
from domain.scene_exports.models import SceneExport
from domain.scenes.models import Scene, SceneBible, SceneSummary, Segment, SegmentSequence
from domain.search.models import SearchWord
from domain.topics.models import Category, Topic, TopicProposal
from domain.users.models import AccountToken, OAuthAccount, RefreshToken, User
from domain.webhooks.models import WebhookDelivery, WebhookEndpoint

__all__ = [
    "AccountToken",
    "Base",
    "Category",
    "Idea",
    "Job",
    "JobIdempotencyKey",
    "Like",
    "MediaObject",
    "ModerationActionRecord",
    "ModerationFlag",
    "Notification",
    "OAuthAccount",
    "PartitionArchive",
    "ProviderCall",
    "RefreshToken",
    "Scene",
    "SceneBible",
    "SceneExport",
    "SceneSummary",
    "SceneView",
    "SearchWord",
    "Segment",
    "SegmentMedia",
    "SegmentSequence",
    "SystemEvent",
    "Topic",
    "TopicProposal",
    "User",
    "WebhookDelivery",
    "WebhookEndpoint",
]

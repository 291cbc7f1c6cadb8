"""Flags, decisions and the audit trail on the wire."""

from __future__ import annotations

from domain.moderation import service
from domain.moderation.models import ModerationActionRecord, ModerationFlag
from domain.users.models import User
from schemas.moderation import ActionOut, DecisionOut, FlagOut


def flag_out(flag: ModerationFlag, viewer: User) -> FlagOut:
    out = FlagOut.model_validate(flag)
    if not service.is_moderator(viewer):
        # Reporters learn what happened, not which moderator did it.
        out = out.model_copy(update={"score": None, "claimed_by": None, "resolved_by": None})
    return out


def decision_out(decision: service.Decision) -> DecisionOut:
    return DecisionOut.model_validate(decision)


def action_out(record: ModerationActionRecord) -> ActionOut:
    return ActionOut.model_validate(record)

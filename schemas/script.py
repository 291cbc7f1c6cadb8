"""The structured script a continuation is expanded into, and the bible delta it carries.

Script expansion (local or OpenAI) produces it, continuity validation checks it against the
bible, the video provider renders it, and finalization applies its delta to the bible.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ScriptModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DialogueLine(ScriptModel):
    character: str = Field(max_length=200, description="Canonical name or alias of the speaker.")
    line: str = Field(max_length=2000)


class Shot(ScriptModel):
    setting: str = Field(max_length=200, description="A location of the bible, or a new one.")
    characters: list[str] = Field(
        default_factory=list, max_length=50, description="Names present and acting in the shot."
    )
    action: str = Field(max_length=4000)
    dialogue: list[DialogueLine] = Field(default_factory=list, max_length=100)
    duration: float = Field(gt=0, le=60, description="Seconds.")


class NewCharacter(ScriptModel):
    # The design's entity id pattern (scene_bible.schema.json), at most 64 characters.
    entityId: str = Field(pattern=r"^char_[a-z0-9]{1,59}$")  # noqa: N815 - bible's casing
    canonicalName: str = Field(min_length=1, max_length=200)  # noqa: N815
    aliases: list[str] = Field(default_factory=list, max_length=50)
    description: str = Field("", max_length=10000)


class TimelineEvent(ScriptModel):
    event: str = Field(max_length=10000)
    consequences: list[str] = Field(default_factory=list, max_length=50)


class ThreadChange(ScriptModel):
    id: str = Field(min_length=1, max_length=200)
    status: Literal["active", "resolved", "abandoned"]  # the design's statuses
    description: str | None = Field(None, max_length=10000)


class BibleDelta(ScriptModel):
    new_characters: list[NewCharacter] = Field(default_factory=list, max_length=50)
    events: list[TimelineEvent] = Field(default_factory=list, max_length=50)
    thread_changes: list[ThreadChange] = Field(default_factory=list, max_length=50)
    current_point: str | None = Field(None, max_length=1000)


class Script(ScriptModel):
    title: str = Field("", max_length=200)
    shots: list[Shot] = Field(min_length=1, max_length=60)
    bible_delta: BibleDelta = Field(default_factory=BibleDelta)

    @property
    def duration(self) -> float:
        return sum(shot.duration for shot in self.shots)

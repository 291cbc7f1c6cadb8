"""Which voice speaks a line: the narrator's, or a character's own, stable for the whole scene.

A character's voice is derived from the bible's character entry: its `entityId`, hashed, in the
register its description's pronouns suggest; or, when its `referenceAssets.voiceAnchorUrl` could
be fetched and heard (`anchor.py`), the recording's hash in the register of its own pitch, so an
editor can re-cast a voice. The bible keeps the entry for the life of the scene, so every
segment of a scene gives the same character the same voice without storing anything else.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from infra.speech.anchor import AnchorVoice

NARRATOR = "narrator"
_SHE = re.compile(r"\b(she|her|hers|herself|woman|girl|queen|mother|sister|lady)\b", re.I)
_HE = re.compile(r"\b(he|him|his|himself|man|boy|king|father|brother|lord)\b", re.I)


@dataclass(frozen=True)
class Voice:
    """An engine-neutral voice: a stable seed, a register, and the pitch and pace offsets."""

    key: str  # "narrator" or the character's seed
    register: str  # "low" | "high" | "any": read from the description's pronouns
    variant: int  # 0..2**16-1, from the seed: engines pick their voice and shifts from it

    @property
    def is_narrator(self) -> bool:
        return self.key == NARRATOR

    def pick(self, choices: int, salt: str = "") -> int:
        """A stable index into an engine's table of `choices` voices or shifts."""
        digest = hashlib.sha256(f"{self.key}|{salt}".encode()).digest()
        return int.from_bytes(digest[:4], "big") % max(choices, 1)


NARRATOR_VOICE = Voice(NARRATOR, "any", 0)


def _register(description: str) -> str:
    she, he = len(_SHE.findall(description)), len(_HE.findall(description))
    if she > he:
        return "high"
    if he > she:
        return "low"
    return "any"


@dataclass(frozen=True)
class CastMember:
    name: str
    entity_id: str
    aliases: tuple[str, ...]
    portrait_url: str | None
    voice: Voice


def _member(entry: Mapping[str, Any], anchors: Mapping[str, AnchorVoice]) -> CastMember | None:
    name, entity_id = entry.get("canonicalName"), entry.get("entityId")
    if not isinstance(name, str) or not isinstance(entity_id, str):
        return None
    assets = entry.get("referenceAssets") or {}
    anchor = anchors.get(str(assets.get("voiceAnchorUrl"))) if isinstance(assets, Mapping) else None
    portrait = assets.get("portraitUrl") if isinstance(assets, Mapping) else None
    register = _register(str(entry.get("description") or ""))
    if anchor is not None:
        register = register if anchor.register == "any" else anchor.register
        voice = Voice(anchor.key, register, anchor.variant)
    else:
        seed = f"id:{entity_id}"
        digest = hashlib.sha256(seed.encode()).digest()
        voice = Voice(seed, register, digest[0] << 8 | digest[1])
    aliases = tuple(a for a in entry.get("aliases") or () if isinstance(a, str))
    return CastMember(
        name, entity_id, aliases, portrait if isinstance(portrait, str) else None, voice
    )


def _norm(name: str) -> str:
    return " ".join(name.casefold().split())


class Cast:
    """The scene's characters by every name they go by, each with its voice."""

    def __init__(
        self, entries: Iterable[Mapping[str, Any]], anchors: Mapping[str, AnchorVoice] | None = None
    ) -> None:
        """`anchors`: the voices heard in the voice anchors, by URL (`anchor.anchor_voices`)."""
        self._by_name: dict[str, CastMember] = {}
        for entry in entries:
            member = _member(entry, anchors or {})
            if member is None:
                continue
            for name in (member.name, *member.aliases):
                # The canonical name wins over another character's alias (aliases may repeat).
                if name == member.name or _norm(name) not in self._by_name:
                    self._by_name[_norm(name)] = member

    @classmethod
    def of(
        cls,
        bible: Mapping[str, Any] | None,
        script_new: Iterable[Any] = (),
        anchors: Mapping[str, AnchorVoice] | None = None,
    ) -> Cast:
        """The bible's characters, and those the script introduces (ids the bible will keep)."""
        entries: list[Mapping[str, Any]] = list((bible or {}).get("characters") or [])
        for new in script_new:
            entries.append(
                {
                    "entityId": new.entityId,
                    "canonicalName": new.canonicalName,
                    "aliases": list(new.aliases),
                    "description": new.description,
                }
            )
        return cls(entries, anchors)

    def member(self, name: str) -> CastMember:
        """The character called `name`; a stranger gets a voice from the name itself."""
        found = self._by_name.get(_norm(name))
        if found is not None:
            return found
        seed = f"name:{_norm(name)}"
        digest = hashlib.sha256(seed.encode()).digest()
        return CastMember(name, seed, (), None, Voice(seed, "any", digest[0] << 8 | digest[1]))

    def voice(self, name: str) -> Voice:
        return self.member(name).voice

    def appearing(self, shots: Iterable[Any]) -> list[CastMember]:
        """The characters the shots show or give lines to, in order of first appearance."""
        members: dict[str, CastMember] = {}
        for shot in shots:
            for name in (*shot.characters, *(line.character for line in shot.dialogue)):
                member = self.member(name)
                members.setdefault(member.entity_id, member)
        return list(members.values())

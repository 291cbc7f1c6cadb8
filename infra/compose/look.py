"""The look of a scene from its bible: a palette from the style guide, a setting from words.

Everything here is deterministic: the same style guide, location and time period always give
the same colours and the same procedural scene, segment after segment.
"""

from __future__ import annotations

import colorsys
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

RGB = tuple[int, int, int]


@dataclass(frozen=True)
class Palette:
    backgrounds: tuple[str, ...]
    text: str
    accent: str


# Checked in order against the style guide text; the first palette whose keyword appears wins.
_KEYWORD_PALETTES: tuple[tuple[tuple[str, ...], Palette], ...] = (
    (
        ("noir", "black and white", "black-and-white", "monochrome"),
        Palette(("#101010", "#1b1b1b", "#262626"), "#e6e6e6", "#b8b8b8"),
    ),
    (("teal", "orange"), Palette(("#0f3b40", "#16474c", "#2a2119"), "#f2efe6", "#f0a35e")),
    (
        ("neon", "cyberpunk", "synthwave"),
        Palette(("#14062b", "#1d0b3a", "#07202e"), "#e9f7ff", "#ff4fd8"),
    ),
    (
        ("sepia", "vintage", "warm"),
        Palette(("#3b2a1a", "#4a3522", "#2e2015"), "#f4e7d1", "#e0b36a"),
    ),
    (
        ("pastel", "watercolor", "whimsical"),
        Palette(("#f3e6ee", "#e4eef3", "#eef3e4"), "#2b2b2b", "#8a4f7d"),
    ),
    (
        ("desaturated", "grey", "gray", "bleak"),
        Palette(("#2b2f33", "#363a3e", "#23272a"), "#e4e4e0", "#a9b4bd"),
    ),
)


def _hex(r: float, g: float, b: float) -> str:
    return "#" + "".join(f"{round(c * 255):02x}" for c in (r, g, b))


def rgb(hex_color: str) -> RGB:
    value = int(hex_color[1:7], 16)
    return (value >> 16 & 255, value >> 8 & 255, value & 255)


def palette_for(style: Mapping[str, Any]) -> Palette:
    """A deterministic palette from the style guide: keywords first, else a hash of its text."""
    text = " ".join(
        str(style.get(k) or "") for k in ("visualStyle", "tone", "genre", "narrativeStyle")
    ).lower()
    for keywords, palette in _KEYWORD_PALETTES:
        if any(word in text for word in keywords):
            return palette
    hue = int.from_bytes(hashlib.sha256(text.encode()).digest()[:2], "big") / 65535
    backgrounds = tuple(
        _hex(*colorsys.hls_to_rgb((hue + shift) % 1.0, light, 0.45))
        for shift, light in ((0.0, 0.16), (0.04, 0.21), (-0.04, 0.12))
    )
    accent = _hex(*colorsys.hls_to_rgb((hue + 0.5) % 1.0, 0.68, 0.7))
    return Palette(backgrounds, "#f2efe6", accent)


# Landforms by the words of a location; the first group with a match wins.
_TERRAINS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "interior",
        (
            "room",
            "hall",
            "kitchen",
            "office",
            "library",
            "tavern",
            "inn",
            "house",
            "chamber",
            "cabin",
            "bar",
            "shop",
            "church",
            "cellar",
            "study",
            "bedroom",
            "interior",
            "lab",
        ),
    ),
    (
        "water",
        (
            "dock",
            "sea",
            "harbor",
            "harbour",
            "river",
            "lake",
            "beach",
            "shore",
            "tide",
            "port",
            "pier",
            "bay",
            "ocean",
            "canal",
            "ship",
            "boat",
        ),
    ),
    (
        "city",
        (
            "street",
            "city",
            "alley",
            "market",
            "tower",
            "station",
            "town",
            "square",
            "roof",
            "bridge",
            "district",
            "avenue",
            "plaza",
            "village",
        ),
    ),
    ("forest", ("forest", "wood", "garden", "park", "grove", "jungle", "orchard", "glade")),
)
_TIMES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("night", ("night", "midnight", "moon", "dark", "star")),
    ("dusk", ("dusk", "evening", "sunset", "twilight")),
    ("dawn", ("dawn", "morning", "sunrise", "daybreak")),
)
_SKIES: dict[str, tuple[RGB, RGB, RGB]] = {
    # top of the sky, horizon, light (sun or moon)
    "night": ((8, 12, 32), (38, 48, 86), (235, 235, 215)),
    "dusk": ((48, 36, 88), (236, 128, 84), (255, 196, 120)),
    "dawn": ((92, 120, 180), (246, 190, 150), (255, 236, 190)),
    "day": ((70, 130, 200), (190, 220, 240), (255, 250, 225)),
}


@dataclass(frozen=True)
class SceneLook:
    """What the background painter needs: the land, the hour, the era, colours and a seed."""

    terrain: str
    time_of_day: str
    era: str
    palette: Palette
    seed: int

    @property
    def sky(self) -> tuple[RGB, RGB, RGB]:
        return _SKIES[self.time_of_day]


def _first(words: str, groups: tuple[tuple[str, tuple[str, ...]], ...], default: str) -> str:
    for name, keys in groups:
        if any(key in words for key in keys):
            return name
    return default


def _era(period: str) -> str:
    text = period.lower()
    if any(k in text for k in ("future", "space", "cyber", "sci-fi", "2100", "2200", "2300")):
        return "future"
    old = ("medieval", "ancient", "middle ages", "fantasy", "castle", "victorian", "1800", "19th")
    if any(k in text for k in old):
        return "old"
    return "modern"


def scene_look(
    location: str, setting: Mapping[str, Any], style: Mapping[str, Any], moment: str = ""
) -> SceneLook:
    """A shot's look from its location (and the bible's description of it) and the action."""
    described = ""
    for entry in setting.get("locations") or ():
        if isinstance(entry, Mapping) and str(entry.get("name", "")).lower() == location.lower():
            described = str(entry.get("description") or "")
    words = f"{location} {described}".lower()
    period = str(setting.get("timePeriod") or "")
    time_words = f"{moment} {described} {location} {period}".lower()
    seed_text = f"{location.lower()}|{period.lower()}|{style.get('visualStyle', '')}"
    return SceneLook(
        terrain=_first(words, _TERRAINS, "hills"),
        time_of_day=_first(time_words, _TIMES, "day"),
        era=_era(period),
        palette=palette_for(style),
        seed=int.from_bytes(hashlib.sha256(seed_text.encode()).digest()[:4], "big"),
    )


def scene_context(bible: Mapping[str, Any] | None) -> dict[str, Any]:
    """What of the bible a render uses: the characters (voices, portraits) and the setting."""
    bible = bible or {}
    return {
        "characters": list(bible.get("characters") or []),
        "setting": bible.get("setting") or {},
    }


def colour_of(seed: str) -> RGB:
    """A character's own colour: a hue from its voice seed, bright enough for white initials."""
    hue = int.from_bytes(hashlib.sha256(seed.encode()).digest()[:2], "big") / 65535
    r, g, b = colorsys.hls_to_rgb(hue, 0.45, 0.55)
    return (round(r * 255), round(g * 255), round(b * 255))

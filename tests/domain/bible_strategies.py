"""Hypothesis strategies: valid scene bibles, and changes to them.

A generated bible breaks no rule: ids and names are drawn unique (names case-insensitively, so
no alias collides with anything), relationships target existing characters, segment numbers
never decrease and never pass the scene's segment count. It has the design's variety: optional
fields absent, `consequences` as a string or a list, and fields the schema does not name.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import strategies as st

FIRST = ["Mara", "Theo", "Iris", "Noor", "Elias", "Saoirse", "Kenji", "Ada", "Lena", "Orin"]
LAST = ["Hart", "Nakamura", "Petrov", "Moreau", "Vance", "Szabo", "Okafor", "Kaur"]
# Every name a bible may hold, unique case-insensitively; aliases come from the same pool.
NAMES = [f"{first} {last}" for first in FIRST for last in LAST] + [
    f"the {word} keeper" for word in ("ferry", "tide", "vault", "ash", "key", "salt")
]
STATUSES = ["active", "resolved", "abandoned"]

words = st.text(alphabet=st.sampled_from("abcdefghij KLMNOP.,'-"), min_size=0, max_size=24).map(
    str.strip
)
entity_ids = st.from_regex(r"char_[a-z0-9]{1,10}", fullmatch=True)
thread_ids = st.from_regex(r"[A-Za-z0-9_ -]{1,12}", fullmatch=True)
# Values of fields the schema does not name: any JSON, kept as sent.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | words,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(words, inner, max_size=3),
    max_leaves=6,
)


def _full(draw: st.DrawFn, item: dict[str, Any], *fields: str) -> dict[str, Any]:
    return item


def _sparse(draw: st.DrawFn, item: dict[str, Any], *fields: str) -> dict[str, Any]:
    """`item` less some of `fields` (the design makes them optional), plus maybe an extra."""
    for name in fields:
        if draw(st.integers(0, 4)) == 0:
            item.pop(name, None)
    if draw(st.integers(0, 5)) == 0:
        item["x-" + draw(words)] = draw(json_values)
    return item


def _case(draw: st.DrawFn, name: str) -> str:
    return draw(st.sampled_from([name, name.upper(), name.lower()]))


@st.composite
def scenes(
    draw: st.DrawFn, max_characters: int = 6, *, sparse: bool = False, max_segments: int = 40
) -> tuple[dict[str, Any], int]:
    """A valid bible and the scene's segment count.

    `sparse`: the design's variety (optional fields left out, extra fields, consequences as a
    string); otherwise every field is there, as in a stored bible with its defaults.
    """
    _optional = _sparse if sparse else _full  # noqa: N806
    segment_count = draw(st.integers(0, max_segments))
    count = draw(st.integers(1, max_characters))
    ids = draw(st.lists(entity_ids, min_size=count, max_size=count, unique=True))
    names = draw(st.permutations(NAMES))
    characters = []
    for i, entity_id in enumerate(ids):
        alias_count = draw(st.integers(0, 2))
        aliases = [_case(draw, n) for n in names[count + 2 * i : count + 2 * i + alias_count]]
        characters.append(
            _optional(
                draw,
                {
                    "entityId": entity_id,
                    "canonicalName": _case(draw, names[i]),
                    "aliases": aliases,
                    "description": draw(words),
                    "traits": draw(st.lists(words.filter(bool), max_size=2)),
                    "relationships": [
                        {
                            "targetEntityId": target,
                            "relationshipType": draw(st.sampled_from(["ally", "rival"])),
                        }
                        for target in draw(st.lists(st.sampled_from(ids), max_size=2))
                    ],
                    "introducedInSegment": draw(st.integers(0, segment_count)),
                    "isActive": draw(st.booleans()),
                    "referenceAssets": {"portraitUrl": f"https://assets.example/{entity_id}.png"},
                },
                "aliases",
                "description",
                "traits",
                "relationships",
                "introducedInSegment",
                "isActive",
                "referenceAssets",
            )
        )
    numbers = sorted(draw(st.lists(st.integers(0, segment_count), max_size=6)))
    events = [
        _optional(
            draw,
            {
                "segmentNumber": n,
                "event": f"event {i}: {draw(words)}",
                "consequences": draw(
                    st.lists(words, max_size=2) | (words if sparse else st.nothing())
                ),
            },
            "segmentNumber",
            "consequences",
        )
        for i, n in enumerate(numbers)
    ]
    threads = draw(st.lists(thread_ids, max_size=4, unique=True))
    bible = {
        "version": draw(st.integers(1, 9)),
        "characters": characters,
        "setting": {
            "primaryLocation": "The Old Docks",
            "timePeriod": draw(words),
            "worldRules": draw(st.lists(words, max_size=2)),
            "locations": [
                {"name": f"Place {n}", "description": draw(words)}
                for n in draw(st.lists(st.integers(0, 20), max_size=3, unique=True))
            ],
        },
        "timeline": {"currentPoint": f"Segment {segment_count}", "majorEvents": events},
        "plotThreads": [
            _optional(
                draw,
                {"id": tid, "description": draw(words), "status": draw(st.sampled_from(STATUSES))},
                "description",
                "status",
            )
            for tid in threads
        ],
        "styleGuide": {"tone": draw(words), "genre": "mystery", "visualStyle": "teal-orange"},
    }
    # The design requires only characters, setting and timeline.
    for name in ("version", "plotThreads", "styleGuide"):
        if sparse and draw(st.integers(0, 5)) == 0:
            bible.pop(name)
    return bible, segment_count


def unused_name(bible: dict[str, Any]) -> str:
    taken = {c["canonicalName"].casefold() for c in bible["characters"]}
    taken |= {a.casefold() for c in bible["characters"] for a in c.get("aliases", [])}
    return next(n for n in NAMES if n.casefold() not in taken)


def unused_id(bible: dict[str, Any], stem: str = "char_new") -> str:
    taken = {c["entityId"] for c in bible["characters"]}
    return next(f"{stem}{n}" for n in range(1000) if f"{stem}{n}" not in taken)


# Edits for random changes: each takes (bible, draw) and changes the bible in place. Some keep
# it valid, some break a rule or the schema: validate_change must agree with validate_bible.
def _edit_description(b: dict[str, Any], draw: st.DrawFn) -> None:
    draw(st.sampled_from(b["characters"]))["description"] = draw(words)


def _toggle_active(b: dict[str, Any], draw: st.DrawFn) -> None:
    c = draw(st.sampled_from(b["characters"]))
    c["isActive"] = not c.get("isActive", True)


def _rename(b: dict[str, Any], draw: st.DrawFn) -> None:
    names = [c["canonicalName"] for c in b["characters"]] + [unused_name(b)]
    draw(st.sampled_from(b["characters"]))["canonicalName"] = draw(st.sampled_from(names)).upper()


def _add_alias(b: dict[str, Any], draw: st.DrawFn) -> None:
    pool = [n for c in b["characters"] for n in [c["canonicalName"], *c.get("aliases", [])]]
    draw(st.sampled_from(b["characters"])).setdefault("aliases", []).append(
        draw(st.sampled_from([*pool, unused_name(b)]))
    )


def _add_character(b: dict[str, Any], draw: st.DrawFn) -> None:
    ids = [c["entityId"] for c in b["characters"]]
    b["characters"].append(
        {
            "entityId": draw(st.sampled_from([*ids, unused_id(b)])),
            "canonicalName": draw(
                st.sampled_from([c["canonicalName"] for c in b["characters"]] + [unused_name(b)])
            ),
            "introducedInSegment": draw(st.integers(0, 45)),
            "isActive": True,
        }
    )


def _remove_character(b: dict[str, Any], draw: st.DrawFn) -> None:
    b["characters"].pop(draw(st.integers(0, len(b["characters"]) - 1)))


def _relate(b: dict[str, Any], draw: st.DrawFn) -> None:
    target = draw(st.sampled_from([c["entityId"] for c in b["characters"]] + ["char_ghost"]))
    draw(st.sampled_from(b["characters"])).setdefault("relationships", []).append(
        {"targetEntityId": target, "relationshipType": "ally"}
    )


def _add_event(b: dict[str, Any], draw: st.DrawFn) -> None:
    events = b["timeline"].setdefault("majorEvents", [])
    events.insert(
        draw(st.integers(0, len(events))),
        {"segmentNumber": draw(st.integers(0, 45)), "event": draw(words)},
    )


def _remove_event(b: dict[str, Any], draw: st.DrawFn) -> None:
    events = b["timeline"].setdefault("majorEvents", [])
    if events:
        events.pop(draw(st.integers(0, len(events) - 1)))


def _thread(b: dict[str, Any], draw: st.DrawFn) -> None:
    threads = b.setdefault("plotThreads", [])
    if threads and draw(st.booleans()):
        draw(st.sampled_from(threads))["status"] = draw(st.sampled_from(STATUSES))
    else:
        ids = [t["id"] for t in threads]
        threads.append(
            {"id": draw(st.sampled_from([*ids, "t-new"])), "description": "", "status": "active"}
        )


def _break_type(b: dict[str, Any], draw: st.DrawFn) -> None:
    c = draw(st.sampled_from(b["characters"]))
    field = draw(st.sampled_from(["isActive", "introducedInSegment", "entityId", "aliases"]))
    # A look-alike (True for 1, 0 for False) is equal in Python and still the wrong type.
    current = c.get(field)
    if isinstance(current, bool):
        lookalike: Any = int(current)
    else:
        lookalike = bool(current) if current in (0, 1) else 1
    c[field] = draw(st.sampled_from([lookalike, lookalike, 1, True, "yes", None, "", [], 1.0]))


def _reorder_characters(b: dict[str, Any], draw: st.DrawFn) -> None:
    b["characters"] = draw(st.permutations(b["characters"]))


def _duplicate_character(b: dict[str, Any], draw: st.DrawFn) -> None:
    b["characters"].append(copy.deepcopy(draw(st.sampled_from(b["characters"]))))


def _style(b: dict[str, Any], draw: st.DrawFn) -> None:
    b.setdefault("styleGuide", {})[draw(st.sampled_from(["tone", "extra"]))] = draw(words)


EDITS = [
    _edit_description,
    _toggle_active,
    _rename,
    _add_alias,
    _add_character,
    _remove_character,
    _relate,
    _add_event,
    _remove_event,
    _thread,
    _break_type,
    _break_type,  # twice: type breaks hide behind equality, so look for them harder
    _reorder_characters,
    _duplicate_character,
    _style,
]


@st.composite
def changes(draw: st.DrawFn, bible: dict[str, Any]) -> dict[str, Any]:
    """A copy of `bible` with a few random edits (never touching `bible` itself).

    Half the time unchanged items are shared with `bible` afterwards, as `apply_delta` shares
    them, so both the identity and the equality paths of `validate_change` are exercised.
    """
    changed = copy.deepcopy(bible)
    edits = draw(st.lists(st.sampled_from(EDITS), min_size=1, max_size=3))
    # A broken type goes last: the other edits expect well-typed characters.
    for edit in sorted(edits, key=lambda e: e is _break_type):
        if changed["characters"]:
            edit(changed, draw)
    if draw(st.booleans()):
        _reshare(bible, changed)
    return changed


def _reshare(bible: dict[str, Any], changed: dict[str, Any]) -> None:
    for path in (
        ("characters",),
        ("setting", "locations"),
        ("timeline", "majorEvents"),
        ("plotThreads",),
    ):
        old, new = bible, changed
        for key in path:
            old, new = old.get(key, {}), new.get(key, {}) if isinstance(new, dict) else {}
        if not (isinstance(old, list) and isinstance(new, list)):
            continue
        for i in range(min(len(old), len(new))):
            # json, not ==: True == 1 would hide a broken type behind a valid item.
            if json.dumps(old[i], sort_keys=True) == json.dumps(new[i], sort_keys=True):
                new[i] = old[i]

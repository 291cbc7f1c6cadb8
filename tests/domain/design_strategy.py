"""Documents drawn from a JSON Schema: the subset of draft-07 the design's bible schema uses.

It walks the schema itself (type, properties, required, items, pattern, enum), so what it
generates follows the design and nothing of ours: every optional property present or absent,
unknown properties on every object (the design never forbids them), any string where the design
says string. Text leaves out only what no stored bible may hold (NUL and lone surrogates, which
jsonb cannot store; see docs/SCHEMA.md): other control characters are drawn too.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

# Any character UTF-8 can carry but NUL, with the C0 and C1 controls drawn often.
TEXT = st.text(
    st.characters(codec="utf-8", min_codepoint=1)
    | st.characters(min_codepoint=1, max_codepoint=0x9F),
    max_size=16,
)
ANY_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=5,
)


def from_schema(node: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values valid under `node` (no `$ref`, no combinators: the design uses neither)."""
    if "enum" in node:
        return st.sampled_from(node["enum"])
    kind = node.get("type")
    if kind == "object":
        return _object(node)
    if kind == "array":
        return st.lists(from_schema(node.get("items", {})), max_size=4)
    if kind == "string":
        if "pattern" in node:
            # JSON Schema's anchors are the whole string's: generate the body, fully matched.
            body = node["pattern"].removeprefix("^").removesuffix("$")
            return st.from_regex(body, fullmatch=True)
        return TEXT
    if kind == "integer":
        return st.integers()
    if kind == "boolean":
        return st.booleans()
    if kind is None:
        return ANY_JSON
    raise NotImplementedError(f"type {kind!r}")


@st.composite
def _object(draw: st.DrawFn, node: dict[str, Any]) -> dict[str, Any]:
    properties = node.get("properties", {})
    required = set(node.get("required", ()))
    known = {
        name: draw(from_schema(sub))
        for name, sub in properties.items()
        if name in required or draw(st.booleans())
    }
    unknown = draw(
        st.dictionaries(TEXT.filter(lambda key: key not in properties), ANY_JSON, max_size=2)
    )
    return {**unknown, **known}


def carried(sent: Any, got: Any) -> bool:
    """Every field of `sent` is in `got` with the same value and JSON type (`got` may add)."""
    if isinstance(sent, dict):
        return isinstance(got, dict) and all(
            k in got and carried(v, got[k]) for k, v in sent.items()
        )
    if isinstance(sent, list):
        return (
            isinstance(got, list)
            and len(sent) == len(got)
            and all(carried(a, b) for a, b in zip(sent, got, strict=True))
        )
    # True == 1 and 1 == 1.0 in Python: a boolean must stay a boolean, a string a string.
    return sent == got and isinstance(sent, bool) == isinstance(got, bool)

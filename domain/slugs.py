"""URL slugs: `^[a-z0-9]+(-[a-z0-9]+)*$`, derived from names, kept unique by suffixing.

Pure functions; the caller asks its repository which candidates are taken.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

MAX_SLUG_LENGTH = 100
SLUG_PATTERN = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")

# Letters that NFKD does not decompose into an ASCII base letter plus accents.
_TRANSLITERATION = str.maketrans(
    {
        "ß": "ss",
        "æ": "ae",
        "œ": "oe",
        "ø": "o",
        "ł": "l",
        "đ": "d",
        "ð": "d",
        "þ": "th",
        "ı": "i",
        "ħ": "h",
        "ŧ": "t",
        "&": " and ",
    }
)
_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def slugify(name: str, *, fallback: str = "item", max_length: int = MAX_SLUG_LENGTH) -> str:
    """`"Crème Brûlée & Co."` -> `"creme-brulee-and-co"`; `fallback` when nothing ASCII is left."""
    text = name.lower().translate(_TRANSLITERATION)
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = _truncate(_NON_ALNUM.sub("-", ascii_text).strip("-"), max_length)
    return slug or fallback


def is_slug(value: str) -> bool:
    return len(value) <= MAX_SLUG_LENGTH and SLUG_PATTERN.fullmatch(value) is not None


def candidates(base: str, *, start: int = 1, count: int = 20) -> list[str]:
    """`base`, then `base-2`, `base-3`, ... (the base shortened so each fits the length limit)."""
    return list(_numbered(base, start, count))


def _numbered(base: str, start: int, count: int) -> Iterator[str]:
    for n in range(start, start + count):
        if n == 1:
            yield _truncate(base, MAX_SLUG_LENGTH)
            continue
        suffix = f"-{n}"
        yield _truncate(base, MAX_SLUG_LENGTH - len(suffix)) + suffix


def _truncate(slug: str, max_length: int) -> str:
    # Cutting mid-slug can leave a trailing hyphen, which the pattern forbids.
    return slug[:max_length].rstrip("-")

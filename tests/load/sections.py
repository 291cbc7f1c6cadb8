"""docs/LOAD.md is made of marked sections, each rewritten by its own command."""

from __future__ import annotations

import re
from pathlib import Path


def write_section(document: Path, section: str, begin: str, end: str) -> None:
    """Replace the document's section between the `begin` and `end` markers, or append it."""
    text = document.read_text() if document.exists() else ""
    pattern = re.compile(re.escape(begin) + ".*?" + re.escape(end) + "\n?", re.S)
    text = (
        pattern.sub(lambda _: section, text)
        if pattern.search(text)
        else text.rstrip() + "\n\n" + section
    )
    document.write_text(text.lstrip("\n"))

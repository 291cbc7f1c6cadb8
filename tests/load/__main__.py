"""`python -m tests.load`: run the load test and rewrite its section of docs/LOAD.md (the
drills' sections stay); exit 1 on any error."""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path

from tests.load.runner import BEGIN, END, ROOT, load_settings, run, shape_from_env
from tests.load.sections import write_section
from tests.scratch import scratch_database


def main() -> int:
    document = Path(os.environ.get("LOAD_DOCUMENT", ROOT / "docs" / "LOAD.md"))
    with scratch_database("load") as url, tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        report, errors = asyncio.run(run(shape_from_env(), load_settings(url, root), root))
    write_section(document, report, BEGIN, END)
    print(f"wrote {document} ({errors} errors)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())

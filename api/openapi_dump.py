"""Print the app's OpenAPI document as JSON: the source of web/src/api/schema.d.ts."""

from __future__ import annotations

import json
import sys

from api.app import create_app
from infra.settings import Settings


def openapi_json() -> str:
    """The document as stable, sorted JSON (a regeneration diff shows only real changes)."""
    app = create_app(Settings(STORYLOOM_ENV="development", LOG_LEVEL="WARNING"))
    return json.dumps(app.openapi(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    sys.stdout.write(openapi_json())

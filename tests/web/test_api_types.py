"""web/src/api/schema.d.ts is generated from the app's OpenAPI document: it may not drift."""

from __future__ import annotations

from pathlib import Path

from api.openapi_dump import openapi_json
from tests.web.support import WEB, npm_tool, run


def test_generated_types_match_the_openapi_document(tmp_path: Path) -> None:
    document = tmp_path / "openapi.json"
    document.write_text(openapi_json())
    fresh = tmp_path / "schema.d.ts"
    result = run([str(npm_tool("openapi-typescript")), str(document), "-o", str(fresh)])
    assert result.returncode == 0, result.stderr
    committed = (WEB / "src" / "api" / "schema.d.ts").read_text()
    assert fresh.read_text() == committed, (
        "web/src/api/schema.d.ts is stale: run `make web-schema` and commit it"
    )

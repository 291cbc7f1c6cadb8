"""docs/LOAD.md's sections: each command rewrites its own and leaves the others as they are."""

from __future__ import annotations

from pathlib import Path

from tests.load.sections import write_section

LOAD = ("<!-- load-test -->", "<!-- /load-test -->")
DRILL = ("<!-- webhook-drill -->", "<!-- /webhook-drill -->")


def section(markers: tuple[str, str], body: str) -> str:
    return f"{markers[0]}\n{body}\n{markers[1]}\n"


def test_a_section_is_replaced_in_place_and_the_others_stay(tmp_path: Path) -> None:
    document = tmp_path / "LOAD.md"
    document.write_text(section(LOAD, "# Load test\nold figures") + "\n" + section(DRILL, "drill"))

    write_section(document, section(LOAD, "# Load test\nnew figures"), *LOAD)

    assert document.read_text() == (
        section(LOAD, "# Load test\nnew figures") + "\n" + section(DRILL, "drill")
    )


def test_a_missing_section_is_appended_and_a_missing_document_made(tmp_path: Path) -> None:
    document = tmp_path / "LOAD.md"
    write_section(document, section(DRILL, "drill"), *DRILL)
    assert document.read_text() == section(DRILL, "drill")

    write_section(document, section(LOAD, "load"), *LOAD)
    assert document.read_text() == section(DRILL, "drill") + "\n" + section(LOAD, "load")

"""Bible portraits and style frames: read only from the allowed directory, drawn into shots."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image

from infra.compose.assets import ReferenceAssets
from infra.compose.frames import initials
from infra.providers.local_video import LocalVideoRenderer
from schemas.script import DialogueLine, Script, Shot
from tests.factories import minimal_bible
from tests.infra.media_checks import difference, frame_at

BASE = "https://assets.storyloom.test/refs"


def test_only_urls_under_the_base_map_to_files_inside_the_directory(tmp_path: Path) -> None:
    inside = tmp_path / "refs"
    inside.mkdir()
    Image.new("RGB", (8, 8), (255, 0, 0)).save(inside / "mara.png")
    (tmp_path / "secret.png").write_bytes((inside / "mara.png").read_bytes())
    (inside / "broken.png").write_bytes(b"not an image")
    assets = ReferenceAssets(BASE, inside)
    assert assets.path_of(f"{BASE}/mara.png") == (inside / "mara.png").resolve()
    assert assets.image(f"{BASE}/mara.png").getpixel((0, 0)) == (255, 0, 0)  # type: ignore[union-attr]
    for refused in (
        f"{BASE}/../secret.png",
        f"{BASE}/%2e%2e/secret.png",
        f"{BASE}/missing.png",
        "https://elsewhere.test/refs/mara.png",
        f"{BASE}x/mara.png",
        None,
    ):
        assert assets.path_of(refused) is None, refused
    assert assets.image(f"{BASE}/broken.png") is None
    assert ReferenceAssets().path_of(f"{BASE}/mara.png") is None  # nothing allowed by default


def test_initials_of_names() -> None:
    assert initials("Mara Hart") == "MH"
    assert initials("jonah") == "J"
    assert initials("🙂") == "?"


async def test_a_readable_style_frame_and_portrait_are_what_the_shot_shows(tmp_path: Path) -> None:
    refs = tmp_path / "refs"
    refs.mkdir()
    Image.new("RGB", (640, 360), (20, 200, 40)).save(refs / "frame.png")
    Image.new("RGB", (64, 64), (250, 20, 200)).save(refs / "portrait.png")
    bible = minimal_bible()
    bible["characters"][0]["referenceAssets"] = {
        "styleFrameUrl": f"{BASE}/frame.png",
        "portraitUrl": f"{BASE}/portrait.png",
    }
    script = Script(
        shots=[
            Shot(
                setting="The Old Docks",
                characters=["Mara Hart"],
                action="",
                dialogue=[DialogueLine(character="Mara Hart", line="It is green out here.")],
                duration=2.0,
            )
        ]
    )
    size: dict[str, Any] = {"width": 320, "height": 180, "fps": 12}
    drawn = LocalVideoRenderer(**size)
    given = LocalVideoRenderer(**size, assets=ReferenceAssets(BASE, refs))
    plain = await drawn.wait(await drawn.submit(script, {}, tmp_path / "a", bible=bible))
    styled = await given.wait(await given.submit(script, {}, tmp_path / "b", bible=bible))
    a = frame_at(plain.mp4, 0.5, tmp_path / "a.png")
    b = frame_at(styled.mp4, 0.5, tmp_path / "b.png")
    corner = b.crop((0, 0, 40, 30)).resize((1, 1)).getpixel((0, 0))
    assert isinstance(corner, tuple)
    assert corner[1] > 120 and corner[1] > corner[0] + 60  # the green style frame (tinted)
    centre = b.crop((150, 100, 170, 116)).resize((1, 1)).getpixel((0, 0))
    assert isinstance(centre, tuple)
    assert centre[0] > 150 and centre[2] > 120 and centre[1] < 100  # the magenta portrait
    assert difference(a, b) > 10

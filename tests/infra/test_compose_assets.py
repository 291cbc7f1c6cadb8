"""Bible portraits and style frames: read from the allowed directory or fetched safely, drawn
into shots."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from PIL import Image

from infra.compose.assets import ReferenceAssets
from infra.compose.frames import initials
from infra.providers.local_video import LocalVideoRenderer
from infra.settings import Settings
from schemas.script import DialogueLine, Script, Shot
from tests.factories import minimal_bible
from tests.infra.asset_server import serving
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


def _png(size: tuple[int, int], colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()


FRAME = _png((640, 360), (20, 200, 40))
PORTRAIT = _png((64, 64), (250, 20, 200))
SCRIPT = Script(
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
SIZE: dict[str, Any] = {"width": 320, "height": 180, "fps": 12}


async def _shows_frame_and_portrait(
    given: LocalVideoRenderer, bible: dict[str, Any], tmp_path: Path
) -> None:
    """The green style frame in the corner and the magenta portrait in the middle of the shot."""
    drawn = LocalVideoRenderer(**SIZE)
    plain = await drawn.wait(await drawn.submit(SCRIPT, {}, tmp_path / "a", bible=bible))
    styled = await given.wait(await given.submit(SCRIPT, {}, tmp_path / "b", bible=bible))
    a = frame_at(plain.mp4, 0.5, tmp_path / "a.png")
    b = frame_at(styled.mp4, 0.5, tmp_path / "b.png")
    corner = b.crop((0, 0, 40, 30)).resize((1, 1)).getpixel((0, 0))
    assert isinstance(corner, tuple)
    assert corner[1] > 120 and corner[1] > corner[0] + 60  # the green style frame (tinted)
    centre = b.crop((150, 100, 170, 116)).resize((1, 1)).getpixel((0, 0))
    assert isinstance(centre, tuple)
    assert centre[0] > 150 and centre[2] > 120 and centre[1] < 100  # the magenta portrait
    assert difference(a, b) > 10


async def test_a_readable_style_frame_and_portrait_are_what_the_shot_shows(tmp_path: Path) -> None:
    refs = tmp_path / "refs"
    refs.mkdir()
    (refs / "frame.png").write_bytes(FRAME)
    (refs / "portrait.png").write_bytes(PORTRAIT)
    bible = minimal_bible()
    bible["characters"][0]["referenceAssets"] = {
        "styleFrameUrl": f"{BASE}/frame.png",
        "portraitUrl": f"{BASE}/portrait.png",
    }
    await _shows_frame_and_portrait(
        LocalVideoRenderer(**SIZE, assets=ReferenceAssets(BASE, refs)), bible, tmp_path
    )


async def test_remote_images_are_fetched_safely_into_the_render(tmp_path: Path) -> None:
    bible = minimal_bible()
    with serving("127.0.0.1", {"/f.png": FRAME, "/p.png": PORTRAIT}) as server:
        bible["characters"][0]["referenceAssets"] = {
            "styleFrameUrl": server.url("/f.png"),
            "portraitUrl": server.url("/p.png"),
        }
        loopback = Settings(ASSET_FETCH_ALLOWED_NETWORKS="127.0.0.1/32")
        allowed = LocalVideoRenderer(**SIZE, assets=ReferenceAssets.from_settings(loopback))
        await _shows_frame_and_portrait(allowed, bible, tmp_path)
        fetched = sorted(path for path, _ in server.requests)
        assert fetched == ["/f.png", "/p.png"]  # once each, for the one render
        assert not (tmp_path / "b" / "parts").exists()  # noqa: ASYNC240 - copies went with the parts

        # By default a loopback address is refused: the render draws its own, unasked.
        refused = ReferenceAssets.from_settings(Settings())
        assert refused.limits is not None and refused.limits.allowed_networks == ()
        assets = await refused.fetching(bible, ["char_mara"], tmp_path / "c")
        assert assets.image(server.url("/p.png")) is None
        assert len(server.requests) == 2

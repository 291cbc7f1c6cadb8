"""The procedural look of a shot: the background follows the setting, the figures the cast."""

from __future__ import annotations

from itertools import combinations
from typing import Any

from PIL import Image, ImageStat

from infra.compose.frames import Figure, background, place_figures
from infra.compose.look import colour_of, scene_look
from tests.factories import minimal_bible
from tests.infra.media_checks import difference

BIBLE = minimal_bible()
SETTING: dict[str, Any] = BIBLE["setting"]
STYLE: dict[str, Any] = BIBLE["styleGuide"]
SIZE = (320, 180)
GREY = (60, 60, 60)
ACCENT = (255, 0, 255)  # a colour neither the backdrop nor an avatar has


def drawn(location: str, period: str | None = None, moment: str = "") -> Image.Image:
    setting = SETTING if period is None else {**SETTING, "timePeriod": period}
    return background(scene_look(location, setting, STYLE, moment), SIZE)


def test_the_same_setting_gives_the_same_background() -> None:
    assert difference(drawn("The Old Docks"), drawn("The Old Docks")) == 0


def test_another_location_gives_another_background() -> None:
    docks, tower, hill = drawn("The Old Docks"), drawn("The Bell Tower"), drawn("A quiet hill")
    for a, b in combinations((docks, tower, hill), 2):
        assert difference(a, b) > 10


def test_another_time_period_gives_another_background() -> None:
    periods = ("Late industrial era", "Medieval", "Far future, a space colony")
    towers = [drawn("The Bell Tower", period) for period in periods]
    for a, b in combinations(towers, 2):
        assert difference(a, b) > 5  # the skyline's buildings change with the era
    # Elsewhere the period still reseeds the scene: never the same picture.
    assert difference(drawn("The Old Docks", periods[0]), drawn("The Old Docks", periods[2])) > 0.5
    # And the hour in the action changes the sky.
    assert difference(drawn("The Old Docks"), drawn("The Old Docks", moment="At midnight.")) > 30


def _plain() -> Image.Image:
    return Image.new("RGB", SIZE, GREY)


def _pixels(image: Image.Image) -> list[tuple[int, int, int]]:
    data = image.tobytes()
    return [(data[i], data[i + 1], data[i + 2]) for i in range(0, len(data), 3)]


def _near(a: tuple[int, ...], b: tuple[int, ...], tolerance: int) -> bool:
    return all(abs(x - y) <= tolerance for x, y in zip(a, b, strict=True))


def test_an_avatar_is_drawn_in_the_characters_own_colour() -> None:
    w, h = SIZE
    for seed in ("id:char_mara", "id:char_jonah"):
        colour = colour_of(seed)
        image = _plain()
        place_figures(image, [Figure("Mara Hart", colour)], None, ACCENT, int(w * 0.86))
        diameter = int(h * 0.27)
        # The disc's centre holds the initials: below them, the face is the character's colour.
        centre = image.getpixel((w // 2, int(h * 0.6 + diameter * 0.3)))
        assert isinstance(centre, tuple) and _near(centre, colour, 12), (centre, colour)
    assert colour_of("id:char_mara") != colour_of("id:char_jonah")


def test_the_speaker_is_larger_ringed_and_named_and_the_others_dimmed() -> None:
    w, h = SIZE
    figures = [Figure("Mara Hart", (40, 160, 90)), Figure("Jonah Reyes", (50, 90, 200))]
    quiet, talking = _plain(), _plain()
    place_figures(quiet, figures, None, ACCENT, int(w * 0.86))
    place_figures(talking, figures, "Mara Hart", ACCENT, int(w * 0.86))

    def accent_pixels(image: Image.Image, box: tuple[int, int, int, int]) -> int:
        return sum(1 for pixel in _pixels(image.crop(box)) if _near(pixel, ACCENT, 30))

    # The speaker's disc is larger: its ring reaches a few pixels past the middle.
    left, right = (0, 0, w // 2 + 4, h), (w // 2 + 4, 0, w, h)
    # Mara (left) is ringed and named in the accent colour; Jonah (right) is not.
    assert accent_pixels(quiet, left) == 0
    assert accent_pixels(talking, left) > 200
    assert accent_pixels(talking, right) == 0
    # Jonah's face (below his initials) is dimmed to about two thirds while Mara speaks.
    d, gap = int(h * 0.27), h * 0.04
    jonah_x, face_y = int((w - 2 * d - gap) / 2 + 1.5 * d + gap), int(h * 0.6 + d * 0.3)
    face = (jonah_x - 4, face_y - 2, jonah_x + 4, face_y + 2)
    before = sum(ImageStat.Stat(quiet.crop(face)).mean)
    after = sum(ImageStat.Stat(talking.crop(face)).mean)
    assert 0.55 * before < after < 0.75 * before, (before, after)

    # Mara's disc is drawn larger: it covers more of the backdrop than when nobody speaks.
    def covered(image: Image.Image) -> int:
        return sum(1 for pixel in _pixels(image.crop(left)) if pixel != GREY)

    assert covered(talking) > covered(quiet) * 1.15

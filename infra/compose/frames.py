"""Pillow draws each shot once, larger than the frame, for ffmpeg's camera to move over.

A still is the setting (the style frame when the bible has a readable one, else a procedural
scene: sky, light, land, silhouettes), then the characters present as portraits (their own
picture, else an avatar in their colour with their initials), the one speaking ringed and named.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont, ImageOps

from infra.compose.look import RGB, SceneLook, rgb
from infra.media import find_font, wrap

# The still is this much larger than the frame: the camera's room to pan and zoom.
OVERSCAN = 1.12


@dataclass(frozen=True)
class Figure:
    """A character in the shot: name, own colour, and a portrait if one could be read."""

    name: str
    colour: RGB
    portrait: Image.Image | None = None


@lru_cache(maxsize=32)
def font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(find_font(bold=bold), size)


def _mix(a: RGB, b: RGB, t: float) -> RGB:
    return (
        round(a[0] + (b[0] - a[0]) * t),
        round(a[1] + (b[1] - a[1]) * t),
        round(a[2] + (b[2] - a[2]) * t),
    )


def _gradient(size: tuple[int, int], top: RGB, bottom: RGB) -> Image.Image:
    """A vertical gradient, drawn one pixel wide and stretched: fast at any size."""
    column = Image.new("RGB", (1, 256))
    column.putdata([_mix(top, bottom, y / 255) for y in range(256)])
    return column.resize(size, Image.Resampling.BILINEAR)


def _ridge(rng: random.Random, width: int, base: int, amplitude: float, waves: int) -> list:
    phases = [rng.uniform(0, math.tau) for _ in range(3)]
    points = []
    for x in range(0, width + 16, 16):
        u = x / width * math.tau
        y = sum(math.sin(u * (k + 1) * waves / 2 + p) / (k + 1) for k, p in enumerate(phases))
        points.append((x, base - amplitude * y))
    return points


def _glow(image: Image.Image, centre: tuple[int, int], radius: int, colour: RGB) -> None:
    layer = Image.new("RGBA", (radius * 4, radius * 4), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    for step in range(8, 0, -1):
        r = radius * (1 + step / 8)
        alpha = int(10 + (8 - step) * 4)
        c = radius * 2
        draw.ellipse((c - r, c - r, c + r, c + r), fill=(*colour, alpha))
    draw.ellipse((radius, radius, radius * 3, radius * 3), fill=(*colour, 255))
    image.paste(layer, (centre[0] - radius * 2, centre[1] - radius * 2), layer)


def _land(
    draw: ImageDraw.ImageDraw, look: SceneLook, size: tuple[int, int], rng: random.Random
) -> None:
    w, h = size
    horizon = int(h * 0.62)
    top, low, light = look.sky
    dark = _mix(low, (10, 10, 14), 0.75)
    night = look.time_of_day == "night"
    if look.terrain == "water":
        for i in range(40):
            y = horizon + int((h - horizon) * (i / 40) ** 1.6)
            x = rng.randint(0, w)
            length = rng.randint(w // 30, w // 8)
            draw.line((x, y, x + length, y), fill=_mix(low, light, 0.35), width=2)
        deck = horizon + int(h * 0.08)
        draw.rectangle((0, deck, int(w * 0.38), deck + int(h * 0.03)), fill=dark)
        for x in range(0, int(w * 0.38), max(w // 24, 8)):
            draw.rectangle((x, deck, x + max(w // 160, 3), h), fill=dark)
        return
    if look.terrain == "city":
        x = 0
        while x < w:
            bw = rng.randint(w // 22, w // 9)
            bh = rng.randint(int(h * 0.12), int(h * (0.5 if look.era == "future" else 0.34)))
            draw.rectangle((x, horizon - bh, x + bw, h), fill=dark)
            if look.era == "old":
                draw.polygon(
                    [
                        (x, horizon - bh),
                        (x + bw / 2, horizon - bh - bw * 0.7),
                        (x + bw, horizon - bh),
                    ],
                    fill=dark,
                )
            if look.era == "future":
                draw.line(
                    (x + bw / 2, horizon - bh, x + bw / 2, horizon - bh - h * 0.06),
                    fill=dark,
                    width=3,
                )
            lit = (
                _mix(light, (255, 190, 90), 0.5)
                if night or look.time_of_day == "dusk"
                else _mix(low, (255, 255, 255), 0.3)
            )
            for wy in range(horizon - bh + 10, h, max(h // 36, 6)):
                for wx in range(x + 6, x + bw - 6, max(w // 90, 6)):
                    if rng.random() < (0.35 if night else 0.15):
                        draw.rectangle((wx, wy, wx + 3, wy + 4), fill=lit)
            x += bw + rng.randint(0, w // 60)
        return
    if look.terrain == "interior":
        wall = rgb(look.palette.backgrounds[1])
        draw.rectangle((0, 0, w, h), fill=_mix(wall, (120, 110, 95), 0.35))
        floor_y = int(h * 0.7)
        draw.rectangle((0, floor_y, w, h), fill=_mix(wall, (40, 28, 20), 0.6))
        wx0, wy0 = int(w * rng.uniform(0.08, 0.55)), int(h * 0.16)
        window = (wx0, wy0, wx0 + int(w * 0.28), wy0 + int(h * 0.32))
        draw.rectangle(window, fill=_mix(top, low, 0.5))
        draw.rectangle(window, outline=(40, 30, 24), width=max(w // 160, 4))
        mid = (window[0] + window[2]) // 2
        draw.line((mid, window[1], mid, window[3]), fill=(40, 30, 24), width=max(w // 240, 3))
        for _ in range(3):
            fx = rng.randint(int(w * 0.05), int(w * 0.85))
            draw.rectangle(
                (fx, int(h * 0.2), fx + w // 14, int(h * 0.3)), outline=(60, 45, 30), width=4
            )
        return
    # hills, forest, desert: layered ridges, nearest darkest
    layers = 3
    for layer in range(layers):
        t = (layer + 1) / layers
        colour = _mix(low, dark if look.terrain != "desert" else (150, 110, 60), t)
        base = horizon + int(h * 0.1 * layer)
        ridge = _ridge(rng, w, base, h * 0.05 * (1.5 - t / 2), 2 + layer)
        draw.polygon([*ridge, (w, h), (0, h)], fill=colour)
        if look.terrain == "forest":
            for _ in range(14 + 6 * layer):
                tx = rng.randint(0, w)
                th = h * rng.uniform(0.08, 0.16) * (0.6 + t)
                ty = base + rng.uniform(-h * 0.03, h * 0.03)
                draw.polygon([(tx - th * 0.3, ty), (tx, ty - th), (tx + th * 0.3, ty)], fill=colour)


def background(look: SceneLook, size: tuple[int, int]) -> Image.Image:
    """A procedural scene for the look: sky, light, land and silhouettes, tinted by the palette."""
    w, h = size
    rng = random.Random(look.seed)
    top, low, light = look.sky
    image = _gradient(size, top, low)
    draw = ImageDraw.Draw(image)
    if look.time_of_day == "night":
        for _ in range(160):
            x, y = rng.randint(0, w), rng.randint(0, int(h * 0.55))
            draw.point((x, y), fill=(230, 230, 240))
    if look.terrain != "interior":
        lx = int(w * rng.uniform(0.15, 0.85))
        ly = int(h * (0.5 if look.time_of_day in ("dusk", "dawn") else 0.22))
        _glow(image, (lx, ly), max(int(h * 0.045), 4), light)
        draw = ImageDraw.Draw(image)
    _land(draw, look, size, rng)
    return finish(image, look)


def finish(image: Image.Image, look: SceneLook) -> Image.Image:
    """The palette's tint (grey for a monochrome style) and a darker floor for the portraits."""
    tints = [rgb(c) for c in look.palette.backgrounds]
    if all(r == g == b for r, g, b in tints):
        image = ImageOps.grayscale(image).convert("RGB")
    tinted = Image.blend(image, Image.new("RGB", image.size, tints[0]), 0.25)
    shade = _gradient((1, 64), (0, 0, 0), (0, 0, 0)).convert("L")
    shade.putdata([int(150 * max(0.0, (y / 63 - 0.55) / 0.45)) for y in range(64)])
    mask = shade.resize(image.size, Image.Resampling.BILINEAR)
    return Image.composite(Image.new("RGB", image.size, (0, 0, 0)), tinted, mask)


def cover(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """`image` scaled to fill `size`, centred, cropped."""
    return ImageOps.fit(image, size, Image.Resampling.BILINEAR)


def initials(name: str) -> str:
    words = [w for w in name.replace("-", " ").split() if w[:1].isalnum()]
    return "".join(w[0] for w in words[:2]).upper() or "?"


@lru_cache(maxsize=64)
def _disc_mask(diameter: int) -> Image.Image:
    mask = Image.new("L", (diameter, diameter), 0)
    ImageDraw.Draw(mask).ellipse((0, 0, diameter - 1, diameter - 1), fill=255)
    return mask


def _avatar(figure: Figure, diameter: int) -> Image.Image:
    if figure.portrait is not None:
        return cover(figure.portrait, (diameter, diameter))
    face = _gradient((diameter, diameter), _mix(figure.colour, (255, 255, 255), 0.2), figure.colour)
    draw = ImageDraw.Draw(face)
    text = initials(figure.name)
    face_font = font(max(int(diameter * 0.38), 8), bold=True)
    draw.text((diameter / 2, diameter / 2), text, font=face_font, fill=(255, 255, 255), anchor="mm")
    return face


def place_figures(
    image: Image.Image,
    figures: Sequence[Figure],
    speaker: str | None,
    accent: RGB,
    safe_width: int,
) -> None:
    """Portraits in a row across the middle; the speaker larger, ringed and named."""
    if not figures:
        return
    w, h = image.size
    shown = list(figures[:6])
    gap = h * 0.04
    diameter = int(min(h * 0.27, (safe_width - gap * (len(shown) - 1)) / len(shown)))
    row = diameter * len(shown) + gap * (len(shown) - 1)
    x = (w - row) / 2
    centre_y = h * 0.6
    ring = max(int(h * 0.008), 2)
    for figure in shown:
        talking = speaker is not None and figure.name == speaker
        d = int(diameter * (1.12 if talking else 1.0))
        left, top = int(x + (diameter - d) / 2), int(centre_y - d / 2)
        face = _avatar(figure, d)
        if speaker is not None and not talking:
            face = Image.blend(face, Image.new("RGB", face.size, (0, 0, 0)), 0.35)
        draw = ImageDraw.Draw(image)
        outline = accent if talking else (235, 235, 235)
        width = ring * (2 if talking else 1)
        draw.ellipse((left - width, top - width, left + d + width, top + d + width), fill=outline)
        image.paste(face, (left, top), _disc_mask(d))
        if talking:
            tag_font = font(max(int(h * 0.035), 8), bold=True)
            label = figure.name
            box = draw.textbbox((0, 0), label, font=tag_font)
            tw, th = box[2] - box[0], box[3] - box[1]
            tx, ty = left + d / 2 - tw / 2, top + d + ring * 3
            pad = th * 0.4
            draw.rounded_rectangle(
                (tx - pad, ty - pad, tx + tw + pad, ty + th + pad * 1.6),
                radius=pad,
                fill=accent,
            )
            draw.text((tx, ty), label, font=tag_font, fill=(16, 16, 16))
        x += diameter + gap


def lower_third(size: tuple[int, int], speaker: str, line: str, accent: RGB) -> Image.Image:
    """A burned-in caption strip (RGBA) for the bottom of the frame: the name, then the line."""
    w, h = size
    strip = Image.new("RGBA", (w, int(h * 0.24)), (0, 0, 0, 0))
    draw = ImageDraw.Draw(strip)
    name_font, line_font = font(max(int(h * 0.036), 8), bold=True), font(max(int(h * 0.042), 8))
    columns = max(int(w * 0.84 / (line_font.size * 0.55)), 8)
    text = wrap(line, columns, 2)
    draw.rounded_rectangle(
        (int(w * 0.05), int(h * 0.01), int(w * 0.95), strip.height - int(h * 0.03)),
        radius=int(h * 0.015),
        fill=(0, 0, 0, 150),
    )
    draw.text((int(w * 0.08), int(h * 0.025)), speaker, font=name_font, fill=(*accent, 255))
    draw.multiline_text(
        (int(w * 0.08), int(h * 0.075)), text, font=line_font, fill=(255, 255, 255, 255), spacing=4
    )
    return strip

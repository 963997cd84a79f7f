"""Logos to paste on photos: built-in rendered ones (text, emblems, badges) and user PNG/SVG files.

A `Logo` is an RGBA array (straight alpha). Built-in logos use Pillow's bundled scalable font
(`ImageFont.load_default(size=...)`) and the emblem shapes of `inpaint_core.training.holes`, with
faux bold (stroke), italic (shear), two-tone outlines and badges, so that one font still gives
varied marks.
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from inpaint_core.errors import ImageInputError
from inpaint_core.training.holes import draw_emblem, random_word

LOGO_SUFFIXES = {".png", ".webp", ".svg"}
_RENDER_SIZE = 96  # font size of built-in logos before they are scaled to their place


@dataclass
class Logo:
    """An RGBA logo (H, W, 4) uint8 with straight alpha, and the label for its annotation."""

    rgba: np.ndarray
    label: str
    kind: str  # "text", "emblem", "emblem+text", "badge", "plate", "sticker", "watermark", "file"
    opacity: float | None = None  # None: the compositor picks one; else pasted at this opacity


def random_colour(rng: np.random.Generator) -> tuple[int, int, int]:
    """White, black or a saturated hue: the colours logos are usually printed in."""
    pick = rng.random()
    if pick < 0.2:
        return (255, 255, 255)
    if pick < 0.35:
        return (int(rng.integers(0, 40)),) * 3  # type: ignore[return-value]
    r, g, b = colorsys.hsv_to_rgb(rng.random(), rng.uniform(0.55, 1.0), rng.uniform(0.55, 1.0))
    return (round(r * 255), round(g * 255), round(b * 255))


def _contrast(colour: tuple[int, int, int]) -> tuple[int, int, int]:
    return (20, 20, 20) if sum(colour) > 382 else (245, 245, 245)


def _crop_to_alpha(image: Image.Image) -> Image.Image:
    box = image.getchannel("A").getbbox()
    return image.crop(box) if box else image


def _text_layer(text: str, colour: tuple[int, ...], rng: np.random.Generator) -> Image.Image:
    """The word on a transparent canvas: faux bold, optional outline in a second colour."""
    font = ImageFont.load_default(size=_RENDER_SIZE)
    two_tone = rng.random() < 0.25
    stroke = int(rng.integers(0, 4)) + (3 if two_tone else 0)  # faux bold, plus room for an outline
    outline = _contrast(colour[:3]) if two_tone else colour  # type: ignore[arg-type]
    left, top, right, bottom = font.getbbox(text, stroke_width=stroke)
    canvas = Image.new("RGBA", (int(right - left) + 8, int(bottom - top) + 8), (0, 0, 0, 0))
    ImageDraw.Draw(canvas).text(
        (4 - left, 4 - top), text, font=font, fill=colour, stroke_width=stroke, stroke_fill=outline
    )
    if rng.random() < 0.3:  # italic: shear to the right
        shear = rng.uniform(0.15, 0.3)
        extra = int(canvas.height * shear) + 1
        canvas = canvas.transform(
            (canvas.width + extra, canvas.height),
            Image.Transform.AFFINE,
            (1, shear, -extra, 0, 1, 0),
            resample=Image.Resampling.BICUBIC,
        )
    return _crop_to_alpha(canvas)


def _emblem_layer(
    colour: tuple[int, ...], rng: np.random.Generator, size: int = _RENDER_SIZE
) -> Image.Image:
    canvas = Image.new("RGBA", (size + 2, size + 2), (0, 0, 0, 0))
    draw_emblem(ImageDraw.Draw(canvas), 1, 1, size, rng, fill=colour)
    return _crop_to_alpha(canvas)


def _beside(first: Image.Image, second: Image.Image, *, stacked: bool) -> Image.Image:
    gap = _RENDER_SIZE // 5
    if stacked:
        size = (max(first.width, second.width), first.height + gap + second.height)
        canvas = Image.new("RGBA", size, (0, 0, 0, 0))
        canvas.alpha_composite(first, ((size[0] - first.width) // 2, 0))
        canvas.alpha_composite(second, ((size[0] - second.width) // 2, first.height + gap))
    else:
        size = (first.width + gap + second.width, max(first.height, second.height))
        canvas = Image.new("RGBA", size, (0, 0, 0, 0))
        canvas.alpha_composite(first, (0, (size[1] - first.height) // 2))
        canvas.alpha_composite(second, (first.width + gap, (size[1] - second.height) // 2))
    return canvas


def _badge(text: str, colour: tuple[int, int, int], rng: np.random.Generator) -> Image.Image:
    """Text knocked out of (or printed on) a filled rounded rectangle or ellipse."""
    knockout = rng.random() < 0.3  # letters cut out of the badge instead of printed on it
    words = _text_layer(text, (255, 255, 255), np.random.default_rng(int(rng.integers(1 << 31))))
    pad = _RENDER_SIZE // 3
    size = (words.width + 2 * pad, words.height + 2 * pad)
    canvas = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(canvas)
    if rng.random() < 0.5:
        draw.rounded_rectangle((0, 0, size[0] - 1, size[1] - 1), radius=pad, fill=colour)
    else:
        draw.ellipse((0, 0, size[0] - 1, size[1] - 1), fill=colour)
    stamp = np.asarray(words.getchannel("A"))
    if knockout:
        alpha = np.asarray(canvas.getchannel("A")).copy()
        region = alpha[pad : pad + words.height, pad : pad + words.width]
        region[:] = (region.astype(np.int32) * (255 - stamp.astype(np.int32)) // 255).astype(
            np.uint8
        )
        canvas.putalpha(Image.fromarray(alpha))
    else:
        ink_layer = Image.new("RGBA", words.size, _contrast(colour) + (255,))
        ink_layer.putalpha(Image.fromarray(stamp))
        canvas.alpha_composite(ink_layer, (pad, pad))
    return canvas


def builtin_logo(rng: np.random.Generator) -> Logo:
    """One rendered logo: a word, an emblem, an emblem with a word, or a badge."""
    colour = random_colour(rng)
    text = random_word(rng)
    if rng.random() < 0.5:
        text = text.upper()
    pick = rng.random()
    if pick < 0.35:
        return Logo(np.asarray(_text_layer(text, colour, rng)), "synthetic_text", "text")
    if pick < 0.5:
        return Logo(np.asarray(_emblem_layer(colour, rng)), "synthetic_emblem", "emblem")
    if pick < 0.8:
        second = colour if rng.random() < 0.6 else random_colour(rng)
        image = _beside(
            _emblem_layer(colour, rng), _text_layer(text, second, rng), stacked=rng.random() < 0.3
        )
        return Logo(np.asarray(image), "synthetic_emblem_text", "emblem+text")
    return Logo(np.asarray(_badge(text, colour, rng)), "synthetic_badge", "badge")


BADGE_STYLES = ("plate", "sticker", "watermark")


def _plate(text: str, colour: tuple[int, int, int], rng: np.random.Generator) -> Image.Image:
    """An opaque filled rounded box with lettering (a price tag, a channel badge): nothing of
    the photo shows through it, so a fill must repaint the whole box."""
    ink = _contrast(colour)
    words = _text_layer(text, ink, np.random.default_rng(int(rng.integers(1 << 31))))
    pad_x = int(_RENDER_SIZE * rng.uniform(0.2, 0.6))
    pad_y = int(_RENDER_SIZE * rng.uniform(0.12, 0.4))
    emblem = _emblem_layer(ink, rng, size=words.height) if rng.random() < 0.3 else None
    inner_w = words.width + (emblem.width + pad_x // 2 if emblem else 0)
    size = (inner_w + 2 * pad_x, words.height + 2 * pad_y)
    canvas = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(canvas)
    radius = int(min(size) * rng.uniform(0.0, 0.5))
    border = int(rng.integers(3, 9)) if rng.random() < 0.4 else 0
    draw.rounded_rectangle((0, 0, size[0] - 1, size[1] - 1), radius=radius, fill=colour,
                           outline=ink if border else None, width=border)
    x = pad_x
    if emblem is not None:
        canvas.alpha_composite(emblem, (x, (size[1] - emblem.height) // 2))
        x += emblem.width + pad_x // 2
    canvas.alpha_composite(words, (x, pad_y))
    return canvas


def _sticker(text: str, colour: tuple[int, int, int], rng: np.random.Generator) -> Image.Image:
    """An opaque round or rounded sticker: a light rim, a coloured face with an emblem or a word,
    and a soft translucent drop shadow."""
    ink = _contrast(colour)
    if rng.random() < 0.5:
        face = _emblem_layer(ink, rng, size=int(_RENDER_SIZE * 1.2))
    else:
        face = _text_layer(text[:4], ink, np.random.default_rng(int(rng.integers(1 << 31))))
    side = int(max(face.size) * rng.uniform(1.3, 1.6))
    rim = max(4, side // int(rng.integers(10, 20)))
    shadow = max(3, side // 25)
    size = (side + 2 * rim + 3 * shadow, side + 2 * rim + 3 * shadow)
    round_face = rng.random() < 0.6
    shape = ImageDraw.Draw
    body = Image.new("RGBA", size, (0, 0, 0, 0))
    outer = (0, 0, side + 2 * rim - 1, side + 2 * rim - 1)
    inner = (rim, rim, side + rim - 1, side + rim - 1)
    rim_colour = (250, 250, 248) if sum(colour) < 600 else (30, 30, 30)
    for box, fill in ((outer, rim_colour), (inner, colour)):
        if round_face:
            shape(body).ellipse(box, fill=fill)
        else:
            shape(body).rounded_rectangle(box, radius=side // 6, fill=fill)
    body.alpha_composite(face, (rim + (side - face.width) // 2, rim + (side - face.height) // 2))
    alpha = np.asarray(body.getchannel("A")).astype(np.float32)
    shade = np.zeros_like(alpha)
    shade[2 * shadow :, 2 * shadow :] = alpha[: -2 * shadow, : -2 * shadow] * 0.45
    shade = cv2.GaussianBlur(shade, (0, 0), shadow)
    canvas = Image.new("RGBA", size, (0, 0, 0, 0))
    canvas.putalpha(Image.fromarray(np.clip(shade, 0, 255).astype(np.uint8)))
    canvas.alpha_composite(body)
    return _crop_to_alpha(canvas)


def _watermark(text: str, rng: np.random.Generator) -> Image.Image:
    """Translucent lettering with an outline in the opposite tone (a photographer's or a TV
    channel's mark); the compositor pastes it at Logo.opacity."""
    light = rng.random() < 0.7
    fill = (255, 255, 255) if light else (15, 15, 15)
    outline = (15, 15, 15) if light else (245, 245, 245)
    font = ImageFont.load_default(size=_RENDER_SIZE)
    words = ("\u00a9 " if rng.random() < 0.3 else "") + text
    stroke = int(rng.integers(3, 7))
    left, top, right, bottom = font.getbbox(words, stroke_width=stroke)
    canvas = Image.new("RGBA", (int(right - left) + 8, int(bottom - top) + 8), (0, 0, 0, 0))
    ImageDraw.Draw(canvas).text((4 - left, 4 - top), words, font=font, fill=fill,
                                stroke_width=stroke, stroke_fill=outline)
    return _crop_to_alpha(canvas)


def badge_logo(rng: np.random.Generator, style: str | None = None) -> Logo:
    """One logo of the badge styles that force a whole box to be repainted (or, for a
    watermark, corrected through): "plate", "sticker" or "watermark" (None: one at random,
    40 / 30 / 30 %)."""
    if style is None:
        pick = rng.random()
        style = "plate" if pick < 0.4 else "sticker" if pick < 0.7 else "watermark"
    if style not in BADGE_STYLES:
        raise ValueError(f"unknown badge style {style!r}; choose one of {BADGE_STYLES}")
    colour = random_colour(rng)
    text = random_word(rng)
    if rng.random() < 0.6:
        text = text.upper()
    if style == "plate":
        return Logo(np.asarray(_plate(text, colour, rng)), "badge_plate", "plate", 1.0)
    if style == "sticker":
        return Logo(np.asarray(_sticker(text, colour, rng)), "badge_sticker", "sticker", 1.0)
    opacity = float(rng.uniform(0.3, 0.65))
    return Logo(np.asarray(_watermark(text, rng)), "badge_watermark", "watermark", opacity)


def load_logo_file(path: str | Path, *, render_width: int = 512) -> Logo:
    """A PNG/WebP (its alpha kept; opaque files stay opaque) or an SVG rendered with cairosvg."""
    path = Path(path)
    try:
        if path.suffix.lower() == ".svg":
            image = _render_svg(path, render_width)
        else:
            with Image.open(path) as opened:
                image = opened.convert("RGBA")
    except (OSError, ValueError) as exc:
        raise ImageInputError(f"cannot read logo {path}: {exc}") from exc
    image = _crop_to_alpha(image)
    if image.getchannel("A").getbbox() is None:
        raise ImageInputError(f"logo {path} is fully transparent")
    return Logo(np.asarray(image), path.stem, "file")


def _render_svg(path: Path, width: int) -> Image.Image:
    import io

    try:
        import cairosvg
    except (ImportError, OSError) as exc:  # OSError: the cairo C library is missing
        raise ImageInputError(
            f"SVG logos need cairosvg and libcairo ({exc}); use a PNG instead"
        ) from exc
    png = cairosvg.svg2png(url=str(path), output_width=width)
    with Image.open(io.BytesIO(png)) as opened:
        return opened.convert("RGBA")


def load_logo_folder(folder: str | Path) -> list[Logo]:
    """Every PNG/WebP/SVG logo in a folder (not recursive), sorted by name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ImageInputError(f"logo folder not found: {folder}")
    logos = [
        load_logo_file(p) for p in sorted(folder.iterdir()) if p.suffix.lower() in LOGO_SUFFIXES
    ]
    if not logos:
        raise ImageInputError(f"no .png, .webp or .svg logos in {folder}")
    return logos

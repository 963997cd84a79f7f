"""The mask flags shared by `unbrand run` and `unbrand submit`: --mask-mode, and the
fixed-position watermark flags --box, --mask, --scale-with-image, --reference-size, --anchor,
--keep-aspect. Both commands turn them into batch options with `batch_mask_options`."""

from __future__ import annotations

from enum import Enum

from inpaint_core.masks.fixed import Anchor
from inpaint_core.masks.modes import MaskMode
from scheduler.options import BatchOptions, batch_options
from scheduler.settings import Settings

MASK_MODE_HELP = (
    "How boxes become the region to remove. 'box' (default): the whole box may change; the "
    "shipped model repaints the pixels it takes for logo and keeps and corrects the box's "
    "background. 'refine': only the logo's pixels inside each box may change (grown by 3 px; a "
    "box it is unsure of is used whole). 'whole': every pixel of every box is repainted from "
    "the surroundings (for a rectangle that must go entirely). 'box' and 'whole' first grow a "
    "tight box by up to 3 px where the logo's colour bleeds out of it (JPEG)."
)
BOX_HELP = (
    "A fixed-position watermark to remove from EVERY image: x1,y1,x2,y2 in pixels (0-based, end "
    "exclusive) or as fractions of the width/height (all four in 0..1 with a decimal point, e.g. "
    "0.8,0.9,1.0,1.0); repeat for several. With it SOURCE may be a plain folder of images."
)
MASK_HELP = (
    "A mask image (nonzero = remove) applied to EVERY image, placed like the boxes; "
    "its own size is its reference size."
)
SCALE_HELP = (
    "Scale the fixed pixel boxes and mask with each image's size "
    "(pixel boxes need --reference-size or --mask)."
)
REFERENCE_HELP = "WIDTHxHEIGHT of the image the fixed pixel boxes were measured on, e.g. 1920x1080."
ANCHOR_HELP = (
    "The corner (or centre) the fixed pixel boxes and mask keep their distance to on images "
    "of another size."
)
KEEP_ASPECT_HELP = "With --scale-with-image, scale both axes by the smaller of the two ratios."


def batch_mask_options(
    *,
    mask_mode: MaskMode | str = MaskMode.box,
    boxes: list[str] | None = None,
    mask: str | None = None,
    scale_with_image: bool = False,
    reference_size: str | None = None,
    anchor: Anchor | str = Anchor.top_left,
    keep_aspect: bool = False,
    jpeg_quality: int | None = None,
    min_confidence: float | None = None,
    settings: Settings | None = None,
) -> BatchOptions:
    """The batch options for the flags (and --quality); ConfigError (exit 2 under
    errors_to_exit) on a bad value."""
    return batch_options(mask_mode=_value(mask_mode), boxes=boxes or (), mask=mask,
                         reference_size=reference_size, scale_with_image=scale_with_image,
                         keep_aspect=keep_aspect, anchor=_value(anchor),
                         jpeg_quality=jpeg_quality, min_confidence=min_confidence,
                         settings=settings)


def _value(choice: Enum | str) -> str:
    return str(choice.value) if isinstance(choice, Enum) else str(choice)

"""Colour that a logo bleeds just outside a tight box, and how far to grow the box to cover it.

Annotated boxes are often pixel-tight (OpenLogo's are), but a JPEG's chroma subsampling and
its block transform smear a logo's colour one to three pixels beyond its edge. Every fill
starts from the pixels around the hole, so a fringe left outside the box is carried inward:
a magenta badge in a tight box comes back as a magenta smudge. For each side of a box this
module compares the pixel lines just outside it with the box's own edge line and with the
surroundings a few pixels further out, and grows that side over the lines whose chroma is
pulled towards the box's edge chroma (JPEG bleeds chroma most: a green badge's fringe can be
darker than both the badge and the background, yet as green as the badge; an RGB test as
well grew more sides and cost PSNR for no less logo colour, bench/RESULTS-removal.md). A side
whose edge looks like its surroundings (a box with a margin, or a logo that does not reach
that side), or where the difference fades slowly like a gradient of the photo, is left alone.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

MAX_GROW = 3  # pixels a side may grow at most
FAR = (6, 9)  # the surroundings: lines this many pixels outside the box (start, end exclusive)
# chroma distance ((Cb, Cr) of BT.601) from the box's edge line to its surroundings that marks
# a logo edge; a side counts when at least MIN_SHARE of its pixels are such edges
CONTRAST = 12.0
MIN_SHARE = 0.25
PULL = 0.2  # a line this far (0 = surroundings, 1 = the box's edge) towards the edge is bleed
# ... or a line still this far from the surroundings in (Cb, Cr) along the step: a strong step
# leaves a visible line at a small share (the demo's green SOLACE badge on dark skin: 20 % of a
# 52-unit step, 10 units, showed as a green line above and below its box)
VISIBLE = 5.0
# bleed fades within a few pixels: at an edge pixel that is bleed, the line MAX_GROW + 2 out is
# this close to the surroundings, which a smooth gradient across the box's edge (a natural
# photo) or an edge of the photo just outside the box is not. A side grows when a run of such
# fading edge pixels spans at least MIN_FADING of it: a round mark touches its box's side over a
# short arc only, beside which the side may cross the photo's own structure (a run, because
# scattered pixels of a textured photo fade by chance: 27 instead of 15 sides of 292 grew on
# boxes with a margin when any 10 % counted)
SETTLED = 0.1
MIN_FADING = 0.1
# medians over a few pixels mean nothing: a side needs MIN_STRONG edge pixels with a chroma
# step, and a fading run at least MIN_RUN long. On the 8-12 px sides of small boxes in noise a
# run of 10 % is one pixel, and medians over the 3-6 strong pixels there grew 3 of 12 test boxes
MIN_STRONG = 10
MIN_RUN = 6
_CHROMA = np.array(  # RGB -> (Cb, Cr) without the offset of 128
    [[-0.168736, 0.5], [-0.331264, -0.418688], [0.5, -0.081312]], dtype=np.float32
)


def _side_lines(rgb: np.ndarray, box: tuple[int, int, int, int], side: str) -> list[np.ndarray]:
    """Lines parallel to one side: index 0 is the box's own edge line, index d (>= 1) the line
    d pixels outside it; each (n, 3) float32; lines that leave the image are cut off the list."""
    x1, y1, x2, y2 = box
    if side in ("left", "right"):  # the columns of the image are the rows of its transpose
        rgb, (x1, y1, x2, y2) = rgb.transpose(1, 0, 2), (y1, x1, y2, x2)
    edge, outward = (y1, -1) if side in ("top", "left") else (y2 - 1, 1)
    lines = []
    for d in range(FAR[1]):
        row = edge + outward * d
        if not 0 <= row < rgb.shape[0]:
            break
        lines.append(rgb[row, x1:x2].astype(np.float32))
    return lines


def _grow_in_chroma(lines: list[np.ndarray]) -> int:
    """How many lines outside the edge have chroma pulled towards the edge's."""
    lines = [line @ _CHROMA for line in lines]  # (n, 2) each
    edge = lines[0]
    far = np.mean(lines[FAR[0] : FAR[1]], axis=0)
    step = edge - far
    strong = np.linalg.norm(step, axis=1) > CONTRAST
    if strong.mean() < MIN_SHARE or strong.sum() < MIN_STRONG:
        return 0
    step, far = step[strong], far[strong]
    # per strong pixel of the edge, the share of its contrast left d lines out
    shares = [np.sum((lines[d][strong] - far) * step, axis=1) / np.sum(step * step, axis=1)
              for d in range(MAX_GROW + 3)]
    bleeding = np.ones(len(step), bool)  # the edge pixels whose pull decides the growth
    if np.median(shares[MAX_GROW + 2]) > SETTLED:
        # not faded along the side as a whole: a gradient or an edge of the photo just outside,
        # unless a run of the side fades like bleed (a round mark touching its box)
        bleeding = shares[MAX_GROW + 2] <= SETTLED
        along = np.zeros(len(edge), bool)  # where those pixels lie along the side
        along[strong] = bleeding
        if _longest_run(along) < max(MIN_FADING * len(edge), MIN_RUN):
            return 0
    size = np.linalg.norm(step, axis=1)[bleeding]
    grow = 0
    for d in range(1, MAX_GROW + 1):
        share = shares[d][bleeding]
        if (float(np.median(share)) <= PULL
                and float(np.median(share * size)) <= VISIBLE):
            break
        grow = d
    return grow


def _longest_run(flags: np.ndarray) -> int:
    """The most consecutive True values in a 1-D bool array."""
    if not flags.any():
        return 0
    padded = np.concatenate(([0], flags.astype(np.int8), [0]))
    edges = np.flatnonzero(np.diff(padded))  # run starts and ends, alternating
    return int((edges[1::2] - edges[::2]).max())


def side_bleed(rgb: np.ndarray, box: tuple[int, int, int, int], side: str) -> int:
    """Pixels (0..MAX_GROW) by which one side of `box` should grow to cover the logo's bleed."""
    lines = _side_lines(rgb, box, side)
    if len(lines) < FAR[1]:  # too close to the image border to see the surroundings
        return 0
    return _grow_in_chroma(lines)


def grow_for_bleed(
    rgb: np.ndarray, boxes: Sequence[Sequence[int]]
) -> list[tuple[int, int, int, int]]:
    """Each box (x1, y1, x2, y2, end exclusive) grown on the sides where its logo bleeds out."""
    height, width = rgb.shape[:2]
    grown = []
    for box in boxes:
        x1, y1, x2, y2 = (int(v) for v in box)
        x1, x2 = max(0, min(x1, width)), max(0, min(x2, width))
        y1, y2 = max(0, min(y1, height)), max(0, min(y2, height))
        if x2 <= x1 or y2 <= y1:
            grown.append((x1, y1, x2, y2))
            continue
        clipped = (x1, y1, x2, y2)
        grown.append(
            (
                x1 - side_bleed(rgb, clipped, "left"),
                y1 - side_bleed(rgb, clipped, "top"),
                x2 + side_bleed(rgb, clipped, "right"),
                y2 + side_bleed(rgb, clipped, "bottom"),
            )
        )
    return grown

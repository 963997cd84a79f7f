"""Connected components of a mask, labelled once, on the tiles that hold its pixels only.

A hi-res photo's fill region is a few logos on a 12-megapixel frame; labelling the whole frame
(cv2.connectedComponentsWithStats) costs ~50-150 ms on a loaded 2-core machine, and the planner,
the "refine" prefill and the critic each needed the same labels. `label_components` labels
once and the Inpainter passes the result along (`find_regions`, `logo_pixels`,
`region_windows` take it as `components`).

It cuts the frame into tiles first (an XY cut): runs of rows holding mask pixels, then, inside
each, runs of columns; a run is split by at least one empty row or column, so no 8-connected
component crosses tiles, and each tile is labelled on its own. The components are the ones
labelling the whole frame finds, in raster order of their first pixel (OpenCV's own order
follows its 2x2-block scan; no caller depends on it). Torch-free.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

Box = tuple[int, int, int, int]  # x1, y1, x2, y2 (end exclusive)
MAX_RUNS = 64  # more runs than this in a band (a speckled mask): the band is labelled whole


@dataclass(frozen=True)
class Component:
    """One 8-connected component of a mask."""

    box: Box  # its bounding box in the mask's coordinates
    area: int  # its pixel count
    pixels: np.ndarray  # (y2 - y1, x2 - x1) bool: its pixels inside its box

    @property
    def stats(self) -> tuple[int, int, int, int, int]:
        """(x, y, w, h, area), like a row of OpenCV's stats."""
        x1, y1, x2, y2 = self.box
        return x1, y1, x2 - x1, y2 - y1, self.area


def _runs(occupied: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) of each run of True in a 1-D bool array."""
    edges = np.flatnonzero(np.diff(np.concatenate(([0], occupied.view(np.int8), [0]))))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def _tiles(mask: np.ndarray) -> list[Box]:
    """Tiles (x1, y1, x2, y2) that together hold every mask pixel, separated by empty lines."""
    tiles = []
    bands = _runs(mask.any(axis=1))
    if len(bands) > MAX_RUNS:
        bands = [(bands[0][0], bands[-1][1])]
    for y1, y2 in bands:
        columns = _runs(mask[y1:y2].any(axis=0))
        if len(columns) > MAX_RUNS:
            columns = [(columns[0][0], columns[-1][1])]
        for x1, x2 in columns:
            rows = _runs(mask[y1:y2, x1:x2].any(axis=1))  # a column run may leave rows empty
            if len(rows) > MAX_RUNS:
                rows = [(rows[0][0], rows[-1][1])]
            tiles.extend((x1, y1 + a, x2, y1 + b) for a, b in rows)
    return tiles


def label_components(mask: np.ndarray) -> list[Component]:
    """The 8-connected components of a (H, W) mask (nonzero = set), in raster order of their
    first pixel."""
    mask = np.asarray(mask).astype(bool, copy=False)
    found = []
    for tx1, ty1, tx2, ty2 in _tiles(mask):
        tile = mask[ty1:ty2, tx1:tx2].astype(np.uint8)
        count, labels, stats, _ = cv2.connectedComponentsWithStats(tile, connectivity=8)
        for label in range(1, count):
            x, y, w, h, area = (int(v) for v in stats[label])
            pixels = labels[y : y + h, x : x + w] == label
            box = (tx1 + x, ty1 + y, tx1 + x + w, ty1 + y + h)
            first = int(np.argmax(pixels[0]))  # the first pixel of its top row
            found.append((box[1], box[0] + first, Component(box, area, pixels)))
    found.sort(key=lambda item: (item[0], item[1]))
    return [component for _, _, component in found]


def component_boxes(components: list[Component]) -> list[Box]:
    """The bounding boxes of `components`."""
    return [component.box for component in components]

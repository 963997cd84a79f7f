"""What a person sees where a logo was: the repainted pixels carry the photo's detail."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from inpaint_core import Inpainter
from inpaint_core.evaluation.metrics import psnr, texture_ratio
from inpaint_core.inference.patchmatch import patchmatch_available
from inpaint_core.inference.prefill import telea
from inpaint_core.inference.remove import remove
from inpaint_core.masks.refine import refine_mask

DEMO = Path(__file__).resolve().parents[3] / "demo" / "JPEGImages"


def _detail(image: np.ndarray, where: np.ndarray) -> float:
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return float(np.abs(cv2.Laplacian(grey, cv2.CV_32F))[where].mean())


@pytest.mark.skipif(not patchmatch_available(), reason="pypatchmatch not installed")
def test_a_repainted_ring_band_is_as_detailed_as_the_grass_around_it() -> None:
    """The demo's lighthouse emblem (a 7-px ring and a triangle over grass, fence and rock):
    the repainted band kept the network's smooth fill within 3-7 px of its edges, so it traced
    a blurred circle through the grass (detail 0.40 of the box's surroundings'). The grain now
    reaches the whole band (0.73)."""
    image = np.asarray(Image.open(DEMO / "demo_04_kodim21.jpg").convert("RGB"))
    box = [163, 278, 232, 347]
    x1, y1, x2, y2 = box
    around = np.zeros(image.shape[:2], bool)
    around[y1 - 16 : y2 + 16, x1 - 16 : x2 + 16] = True
    around[y1:y2, x1:x2] = False
    painted, _ = refine_mask(image, [box])
    inside = cv2.erode(painted.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    out = remove(Inpainter.load(precision="fp32", critic=None), image, boxes=[box]).output
    outside = np.ones(image.shape[:2], bool)
    outside[y1 - 8 : y2 + 8, x1 - 8 : x2 + 8] = False  # the box, grown where the ring bled
    assert np.array_equal(out[outside], image[outside])
    ratio = _detail(out, inside) / _detail(image, around)
    assert 0.6 < ratio < 1.3, ratio


# patches of the lighthouse photo that hold no logo: rocks, surf, cloud, grass and rock
CLEAN_BOXES = ([280, 350, 340, 400], [330, 420, 400, 460], [380, 150, 440, 190],
               [20, 320, 80, 370])


@pytest.mark.skipif(not patchmatch_available(), reason="pypatchmatch not installed")
def test_the_shipped_model_repaints_clean_patches_closer_and_more_detailed_than_telea() -> None:
    """Pure inpainting of real photo content (each box repainted whole, the truth known): the
    shipped path beats Telea on PSNR and keeps the patch's detail, which Telea smooths away."""
    image = np.asarray(Image.open(DEMO / "demo_04_kodim21.jpg").convert("RGB"))
    inpainter = Inpainter.load(precision="fp32", critic=None)
    scores: dict[str, list[tuple[float, float]]] = {"telea": [], "model": []}
    for x1, y1, x2, y2 in CLEAN_BOXES:
        box = np.zeros(image.shape[:2], bool)
        box[y1:y2, x1:x2] = True
        fills = {
            "telea": telea(image, box),  # the Telea baseline of the benchmarks
            "model": remove(inpainter, image, boxes=[[x1, y1, x2, y2]], mode="whole").output,
        }
        for name, out in fills.items():
            scores[name].append((psnr(image, out, box), texture_ratio(image, out, box)))
    (telea_db, telea_detail), (model_db, model_detail) = (
        np.mean(scores[name], axis=0) for name in ("telea", "model"))
    # measured (fp32, 2026-11-30): Telea 19.37 dB, texture 0.16; shipped 19.78 dB, 0.78; the
    # smooth path without grain 20.25 dB but 0.16, which the texture check refuses
    assert model_db >= telea_db + 0.3, scores
    assert model_detail >= 0.5 > telea_detail, scores


@pytest.mark.skipif(not patchmatch_available(), reason="pypatchmatch not installed")
def test_a_logos_fill_does_not_depend_on_the_other_logos_of_the_photo() -> None:
    """The demo's mountain photo: the NORDWAVE badge's crop also holds part of the ring emblem
    lower down. PatchMatch ran on a window around every hole of the crop, so with the other
    logos in the request it ran at a third of the scale and the badge became a smooth band over
    the treeline (mean difference 25 grey levels from the badge removed alone, detail 0.79
    of its surroundings' instead of 1.25). Its window now follows the crop's own logo."""
    image = np.asarray(Image.open(DEMO / "demo_02_kodim13.jpg").convert("RGB"))
    boxes = [[124, 332, 329, 357], [286, 70, 463, 110], [106, 200, 177, 271]]
    x1, y1, x2, y2 = boxes[1]
    inside = np.zeros(image.shape[:2], bool)
    inside[y1 + 2 : y2 - 2, x1 + 2 : x2 - 2] = True
    around = np.zeros(image.shape[:2], bool)
    around[y1 - 16 : y2 + 16, x1 - 16 : x2 + 16] = True
    around[y1:y2, x1:x2] = False
    inpainter = Inpainter.load(precision="fp32", critic=None)
    alone = remove(inpainter, image, boxes=[boxes[1]]).output
    together = remove(inpainter, image, boxes=boxes).output
    difference = np.abs(alone.astype(np.float32) - together.astype(np.float32))[inside].mean()
    assert difference < 2.0, difference
    detail = _detail(together, inside) / _detail(image, around)
    assert detail > 0.9, detail

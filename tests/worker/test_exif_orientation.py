"""VOC boxes on photos with an EXIF orientation (issue #18 item 12), through the embedded
runner: the annotation's <size> says whether its boxes were drawn on the pixels as stored or
on the photo as displayed; boxes drawn on the stored pixels are moved, so the logo goes; a
<size> that fits neither fails that job with both sizes in the reason."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa
from PIL import Image

from scheduler.settings import get_settings
from tests.faults.odd import voc
from tests.fixtures.images import logo_scene

# orientation -> the transpose that turns the displayed photo back into its stored pixels
# (the inverse of what a viewer applies; 6 and 8 undo each other, the others themselves)
TO_STORED = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
             4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
             6: Image.Transpose.ROTATE_90, 7: Image.Transpose.TRANSVERSE,
             8: Image.Transpose.ROTATE_270}


def bounding_box(mask: np.ndarray) -> list[int]:
    rows, cols = np.nonzero(mask)
    return [int(cols.min()), int(rows.min()), int(cols.max()) + 1, int(rows.max()) + 1]


def write_case(root: Path, image_id: str, orientation: int, frame: str) -> np.ndarray:
    """A JPEG whose displayed view is logo_scene() and its annotation with <size> and box in
    `frame` ("stored", "upright" or "wrong": a size of neither); returns the logo's mask on
    the displayed photo."""
    upright, logo, _ = logo_scene()
    shown_box = bounding_box(logo)
    image, shape = Image.fromarray(upright), Image.fromarray(logo.astype(np.uint8) * 255)
    if orientation != 1:
        image, shape = image.transpose(TO_STORED[orientation]), shape.transpose(
            TO_STORED[orientation])
    exif = image.getexif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=95, exif=exif.tobytes())
    (root / "JPEGImages" / f"{image_id}.jpg").write_bytes(buffer.getvalue())
    if frame == "stored":
        size, box = image.size, bounding_box(np.asarray(shape) > 127)
    elif frame == "upright":
        size, box = (upright.shape[1], upright.shape[0]), shown_box
    else:
        size, box = (upright.shape[1] + 40, upright.shape[0] + 40), shown_box
    (root / "Annotations" / f"{image_id}.xml").write_bytes(voc(f"{image_id}.jpg", size, box))
    return logo


CASES = [  # (orientation, frame the annotation was drawn on)
    *((o, "stored") for o in range(5, 9)),  # <size> = stored, width and height swapped
    *((o, "upright") for o in range(2, 9)),  # <size> = displayed (for 2-4 also = stored)
    (1, "wrong"), (3, "wrong"), (6, "wrong"),
]


def test_boxes_follow_the_frame_the_annotation_size_names(tmp_path: Path,
                                                          tiny_inpainter: Any) -> None:
    from worker.runner import run_embedded

    root = tmp_path / "voc"
    (root / "JPEGImages").mkdir(parents=True)
    (root / "Annotations").mkdir()
    logos = {f"o{o}-{frame}": write_case(root, f"o{o}-{frame}", o, frame) for o, frame in CASES}

    summary = run_embedded(str(root), out_dir=tmp_path / "out", inpainter=tiny_inpainter,
                           settings=get_settings())

    engine = sa.create_engine(summary.db_url)
    with engine.connect() as conn:
        rows = {Path(r["input_uri"]).stem: dict(r)
                for r in conn.execute(sa.text("SELECT * FROM jobs")).mappings()}
    engine.dispose()
    upright, _, _ = logo_scene()
    for orientation, frame in CASES:
        image_id = f"o{orientation}-{frame}"
        row = rows[image_id]
        if frame == "wrong":
            assert row["status"] == "failed", image_id
            assert row["error"].startswith("bad dataset entry: the annotation is for a 200x160 "
                                           "image but the image is "), row["error"]
            if orientation in (6,):
                assert "as displayed (EXIF orientation 6), 120x160 as stored" in row["error"]
            continue
        assert row["status"] == "done", (image_id, row["error"])
        metrics = row["metrics"] if isinstance(row["metrics"], dict) else json.loads(
            row["metrics"])
        assert metrics["exif_orientation"] == orientation
        assert metrics["annotation_frame"] == (frame if orientation >= 5 else "either")
        with Image.open(row["output_uri"].removeprefix("file://")) as out:
            assert out.size == (160, 120)  # written upright
            output = np.asarray(out.convert("RGB")).astype(float)
        logo = logos[image_id]
        inside = np.abs(output[logo] - upright[logo]).mean()
        far = np.ones_like(logo)
        x1, y1, x2, y2 = bounding_box(logo)
        far[max(y1 - 12, 0):y2 + 12, max(x1 - 12, 0):x2 + 12] = False
        outside = np.abs(output[far] - upright[far]).mean()
        assert inside > 40, (image_id, inside)  # the logo was repainted, not left in place
        assert outside < 4, (image_id, outside)  # and nothing else was

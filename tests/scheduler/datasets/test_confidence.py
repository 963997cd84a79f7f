"""find-logo's <confidence> in OpenLogo annotations: parsed, and a minimum drops what is below."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from inpaint_core.masks.voc import VocError, parse_voc
from scheduler.datasets import read_dataset
from scheduler.errors import DatasetError


def _object(name: str, box: tuple[int, int, int, int], confidence: str | None) -> str:
    extra = f"<confidence>{confidence}</confidence>" if confidence is not None else ""
    return (f"<object><name>{name}</name>{extra}<bndbox><xmin>{box[0]}</xmin><ymin>{box[1]}"
            f"</ymin><xmax>{box[2]}</xmax><ymax>{box[3]}</ymax></bndbox></object>")


@pytest.fixture
def found(tmp_path: Path) -> Path:
    """What find-logo writes: three images, objects with and without confidence."""
    root = tmp_path / "found"
    (root / "JPEGImages").mkdir(parents=True)
    (root / "Annotations").mkdir()
    objects = {
        "sure": [_object("acme", (1, 1, 10, 10), "0.97")],
        "mixed": [_object("acme", (1, 1, 10, 10), "0.55"), _object("acme", (20, 20, 30, 30),
                                                                   "0.9")],
        "doubtful": [_object("acme", (1, 1, 10, 10), "0.51")],
        "manual": [_object("acme", (5, 5, 15, 15), None)],
    }
    for image_id, objs in objects.items():
        Image.fromarray(np.zeros((40, 40, 3), np.uint8)).save(root / "JPEGImages" /
                                                               f"{image_id}.jpg")
        (root / "Annotations" / f"{image_id}.xml").write_text(
            f"<annotation><filename>{image_id}.jpg</filename><size><width>40</width>"
            f"<height>40</height></size>{''.join(objs)}</annotation>")
    return root


def test_confidence_is_parsed_when_present() -> None:
    xml = f"<annotation>{_object('a', (1, 2, 3, 4), '0.8125')}{_object('b', (1, 2, 3, 4), None)}"
    annotation = parse_voc((xml + "</annotation>").encode())
    assert [o.confidence for o in annotation.objects] == [0.8125, None]
    with pytest.raises(VocError, match="confidence"):
        parse_voc(f"<annotation>{_object('a', (1, 2, 3, 4), 'high')}</annotation>".encode())


def test_min_confidence_drops_objects_and_images_left_empty(found: Path) -> None:
    everything = {i.rel_path: i.boxes for i in read_dataset(str(found))}
    assert len(everything) == 4 and len(everything["JPEGImages/mixed.jpg"]) == 2
    strict = {i.rel_path: i.boxes for i in read_dataset(str(found), min_confidence=0.6)}
    assert strict == {
        "JPEGImages/sure.jpg": [[0, 0, 10, 10]],
        "JPEGImages/mixed.jpg": [[19, 19, 30, 30]],  # the 0.55 box is gone
        "JPEGImages/manual.jpg": [[4, 4, 15, 15]],  # no confidence: kept
    }


def test_min_confidence_needs_an_openlogo_dataset(tmp_path: Path) -> None:
    manifest = tmp_path / "m.csv"
    manifest.write_text("image,boxes\na.jpg,1 1 5 5\n")
    with pytest.raises(DatasetError, match="min confidence"):
        list(read_dataset(str(manifest), min_confidence=0.5))


def test_submit_min_confidence_passes_through(sqlite_url: str, found: Path, tmp_path: Path
                                              ) -> None:
    from typer.testing import CliRunner

    from scheduler.db.migrate import upgrade
    from unbrand.cli.app import make_app

    upgrade(sqlite_url)
    args = ["submit", str(found), "--output", str(tmp_path / "o"), "--db", sqlite_url,
            "--dry-run"]
    env = {"UNBRAND_BROKER_URL": ""}
    every = CliRunner().invoke(make_app(), args, env=env)
    strict = CliRunner().invoke(make_app(), [*args, "--min-confidence", "0.6"], env=env)
    assert every.exit_code == 0 and strict.exit_code == 0, every.output + strict.output
    assert "would insert 4 new jobs" in every.output
    assert "would insert 3 new jobs" in strict.output

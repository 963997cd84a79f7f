"""bench/bench_findlogo.py's offline tools: `recue` computes a features file's cues again at its
poses exactly as the search judged them, and `assess` rescores, selects and matches them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from inpaint_core.evaluation.findlogo_bench import BenchSpec, make_findlogo_benchmark

SCRIPT = Path(__file__).resolve().parents[3] / "bench" / "bench_findlogo.py"


def _bench(*args: str) -> str:
    done = subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True,
                          check=False, timeout=600)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def features(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("fl")
    photos = root / "photos"
    photos.mkdir()
    rng = np.random.default_rng(1)
    for index in range(2):  # smooth colour ramps with noise: a little texture, fast to search
        ys, xs = np.mgrid[0:240, 0:320]
        ramp = np.dstack([60 + xs / 4, 90 + ys / 3, 140 - xs / 5]) + rng.normal(0, 6, (240, 320, 3))
        Image.fromarray(np.clip(ramp, 0, 255).astype(np.uint8)).save(photos / f"p{index}.png")
    bench = root / "bench"
    make_findlogo_benchmark(photos, bench, spec=BenchSpec(count=3, seed=5, side=320))
    out = root / "features.jsonl"
    _bench("features", "--benchmark", str(bench), "--out", str(out), "--max-angle", "0")
    return bench, out


def test_recue_gives_back_the_cues_and_logits_of_the_search(features, tmp_path) -> None:
    bench, found = features
    again = tmp_path / "again.jsonl"
    _bench("recue", str(found), "--benchmark", str(bench), "--out", str(again))
    before = [json.loads(line) for line in found.read_text().splitlines()]
    after = [json.loads(line) for line in again.read_text().splitlines()]
    assert len(before) == len(after) > 0
    assert any(row["hit"] for row in before)  # the set has finds to judge
    for old, new in zip(before, after, strict=True):
        assert new["pose"] == old["pose"] and new["hit"] == old["hit"]
        for key in ("edge", "outline_worst", "separate_worst", "contrast", "logit"):
            assert new[key] == pytest.approx(old[key], abs=1e-5), key


def _sweep(text: str) -> dict[float, int]:
    """threshold -> hits of `assess`'s sweep lines ("  +0.5: 3 (2 + 1) / 1 / 0")."""
    rows = [line.split(":") for line in text.splitlines() if line.startswith(("  +", "  -"))]
    return {float(t): int(rest.split()[0]) for t, rest in rows}


def test_assess_rescores_with_the_shipped_model_or_a_given_one(features) -> None:
    from inpaint_core.masks import findlogo_verify as verify

    bench, found = features
    rows = [json.loads(line) for line in found.read_text().splitlines()]
    hit_logits = [row["logit"] for row in rows if row["hit"]]
    shipped = _sweep(_bench("assess", str(found), "--benchmark", str(bench)))
    assert len(shipped) == 13 and max(shipped.values()) > 0
    for threshold, hits in shipped.items():
        assert hits == sum(v >= threshold for v in hit_logits), threshold
    # the shipped weights given by hand (the blur penalty's too) with the intercept one higher:
    # every log-odds + 1
    model = ",".join(f"{k}={w}" for k, w in zip(verify.MODEL_CUES, verify.WEIGHTS, strict=True))
    model += f",blur={-verify.BLUR_WEIGHT}"
    raised = _sweep(_bench("assess", str(found), "--benchmark", str(bench), "--model",
                           f"{model},intercept={verify.INTERCEPT + 1}"))
    for threshold, hits in raised.items():
        assert hits == sum(v + 1 >= threshold for v in hit_logits), threshold
    nothing = _bench("assess", str(found), "--benchmark", str(bench), "--model",
                     "edge=0,intercept=-100")
    assert set(_sweep(nothing).values()) == {0} and "recall 0.000 (0 of" in nothing


@pytest.mark.skipif(not (SCRIPT.parents[1] / ".git").exists(), reason="needs the git history")
def test_speed_times_a_baseline_commit_beside_the_working_tree(features) -> None:
    """`speed --baseline REF`: per logo, both versions' seconds, CPU seconds per megapixel
    and the ratio of CPU after to before."""
    bench, _ = features
    out = _bench("speed", "--benchmark", str(bench), "--limit", "2", "--baseline", "HEAD")
    names = json.loads((bench / "findlogo.json").read_text())["targets"]
    rows = [line for line in out.splitlines() if line.startswith("| ") and "logo" not in line]
    assert [row.split("|")[1].strip() for row in rows] == names
    for row in rows:
        cells = [float(cell) for cell in row.strip("|").split("|")[1:]]
        assert len(cells) == 7 and all(value > 0 for value in cells)
        # 320 x 240 photos: 0.0768 MP; the seconds are printed to 0.001, per MP to 0.01
        assert cells[2] == pytest.approx(cells[1] / 0.0768, abs=0.0006 / 0.0768 + 0.006)


def test_errors_lists_every_target_the_threshold_misses(features, tmp_path) -> None:
    """`errors` ends with one line per missed target: how it was pasted and the best candidate
    on it or none; with every log-odds lowered below the threshold, every target is missed."""
    bench, found = features
    manifest = json.loads((bench / "findlogo.json").read_text())
    targets = [(item["id"], paste["logo"]) for item in manifest["images"]
               for paste in item["pastes"] if paste["role"] == "target"]
    out = _bench("errors", str(found), "--benchmark", str(bench))
    hits = int(next(line for line in out.splitlines() if line.startswith("fixed:")).split()[1])
    missed = [line for line in out.splitlines() if line.startswith("  missed ")]
    assert len(missed) == len(targets) - hits and hits > 0
    rows = [json.loads(line) for line in found.read_text().splitlines()]
    lowered = tmp_path / "lowered.jsonl"
    lowered.write_text("".join(json.dumps({**row, "logit": -50.0}) + "\n" for row in rows))
    out = _bench("errors", str(lowered), "--benchmark", str(bench))
    missed = [line for line in out.splitlines() if line.startswith("  missed ")]
    assert sorted(tuple(line.split()[1:3]) for line in missed) == sorted(targets)
    on_target = {(row["id"], row["logo"]) for row in rows if row["hit"]}
    for line in missed:
        key = tuple(line.split()[1:3])
        assert ("best logit -50.00" in line) == (key in on_target), line
        assert ("no candidate on it" in line) == (key not in on_target), line

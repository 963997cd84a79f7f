"""find-logo measured on a `unbrand make-benchmark --kind find-logo` folder: before and after.

    .venv/bin/python bench/bench_findlogo.py run --benchmark B [--limit N] [--max-angle 30]
        [--before] [--write]
    .venv/bin/python bench/bench_findlogo.py features --benchmark B --out F.jsonl [--max-angle 30]
    .venv/bin/python bench/bench_findlogo.py fit F.jsonl [F2.jsonl ...]

run: every image of B is searched for every target logo of B (B/logos/*.png, all at once, as
`unbrand find-logo --logo ...` would), by the matcher of main commit 1a9fc00 (`--before`, read
from git: default threshold 0.40, or 0.5 with the rotation search as its README advised) and by
the current one (candidates of all images, thresholds calibrated per logo on those images, as
find-logo does). A detection is a hit when its box has IoU >= 0.5 with a not yet matched pasted
target of the same logo, best confidence first; anything else is a false detection (a distractor,
another target, background). Printed per method: precision, recall, false detections per 100
photos without a target, seconds per image, then per logo shape and for upright / rotated,
small (< 8 % of the width) / larger pastes.

features / fit: the cue values of every verified candidate with its label (hit or not), and the
logistic regression on them whose weights findlogo_verify uses. Fit only on benchmarks built from
train-photos shards (never on the evaluation photos).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from inpaint_core.masks import findlogo_verify as verify  # noqa: E402
from inpaint_core.masks.findlogo import (  # noqa: E402
    DEFAULT_THRESHOLD,
    Detection,
    FinderConfig,
    LogoFinder,
    angle_steps,
    box_iou,
    load_logo,
    select,
)
from inpaint_core.masks.findlogo_calibrate import calibrate, threshold_values  # noqa: E402

MATCH_IOU = 0.5
BEFORE_COMMIT = "1a9fc00"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    run = sub.add_parser("run", help="precision, recall, speed: before and after")
    run.add_argument("--benchmark", required=True)
    run.add_argument("--limit", type=int, default=None)
    run.add_argument("--max-angle", type=float, default=0.0)
    run.add_argument("--before", action="store_true", help="also run the matcher of 1a9fc00")
    run.add_argument("--no-after", dest="after", action="store_false",
                     help="only the matcher of 1a9fc00 (with --before)")
    run.add_argument("--write", type=Path, default=None, help="append the text to this file")
    features = sub.add_parser("features", help="cue values and labels of every candidate")
    features.add_argument("--benchmark", required=True)
    features.add_argument("--out", required=True, type=Path)
    features.add_argument("--limit", type=int, default=None)
    features.add_argument("--max-angle", type=float, default=30.0)
    features.add_argument("--skip", type=int, default=0, help="leave out the first N images")
    speed = sub.add_parser("speed", help="seconds per image for one logo at a time")
    speed.add_argument("--benchmark", required=True)
    speed.add_argument("--limit", type=int, default=10)
    speed.add_argument("--max-angle", type=float, default=0.0)
    speed.add_argument("--before", action="store_true", help="also time the matcher of 1a9fc00")
    crop = sub.add_parser("crop", help="a logo file cut from one photo of an OpenLogo dataset")
    crop.add_argument("--dataset", required=True, type=Path)
    crop.add_argument("--image", required=True, help="image id")
    crop.add_argument("--label", required=True, help="the object's class name")
    crop.add_argument("--out", required=True, type=Path, help="PNG to write")
    fit = sub.add_parser("fit", help="logistic regression of the cues")
    fit.add_argument("files", nargs="+", type=Path)
    return parser.parse_args()


class Clock:
    """Wall and process CPU time since creation (CPU time: this process's threads together,
    less sensitive to other work on a shared machine than the wall clock)."""

    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def per_image(self, count: int) -> tuple[float, float]:
        count = max(count, 1)
        return ((time.perf_counter() - self.wall) / count,
                (time.process_time() - self.cpu) / count)


def load_benchmark(folder: Path, limit: int | None) -> tuple[list[Any], list[dict[str, Any]]]:
    manifest = json.loads((folder / "findlogo.json").read_text())
    templates = [load_logo(folder / "logos" / f"{name}.png") for name in manifest["targets"]]
    return templates, manifest["images"][:limit]


def read_image(folder: Path, item: dict[str, Any]) -> np.ndarray:
    with Image.open(folder / "JPEGImages" / f"{item['id']}.jpg") as opened:
        return np.asarray(opened.convert("RGB"))


def match(found: list[Detection], item: dict[str, Any]) -> tuple[list[bool], list[dict]]:
    """Per detection (in the given order): hit or not; and the targets left unmatched."""
    left = [p for p in item["pastes"] if p["role"] == "target"]
    hits = []
    for det in found:
        pick = next((p for p in left if p["logo"] == det.name
                     and box_iou(p["box"], det.box) >= MATCH_IOU), None)
        hits.append(pick is not None)
        if pick is not None:
            left.remove(pick)
    return hits, left


def cpu_name() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        name = next(line.split(":", 1)[1].strip() for line in out.splitlines()
                    if line.startswith("Model name"))
    except (OSError, subprocess.CalledProcessError, StopIteration):
        name = platform.processor() or "unknown CPU"
    return f"{name}, {os.cpu_count()} cores"


def load_before() -> Any:
    """The find-logo matcher of commit BEFORE_COMMIT, imported from git."""
    source = subprocess.run(["git", "-C", str(REPO), "show",
                             f"{BEFORE_COMMIT}:inpaint_core/masks/findlogo.py"],
                            capture_output=True, text=True, check=True).stdout
    path = Path(tempfile.mkdtemp()) / "findlogo_before.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("findlogo_before", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def run_before(folder: Path, items: list[dict], max_angle: float) -> tuple[list, float]:
    old = load_before()
    templates = [old.load_logo(folder / "logos" / f"{p.stem}.png")
                 for p in sorted((folder / "logos").glob("*.png"))]
    threshold = 0.5 if max_angle else 0.40  # its README's advice for tilted logos, its default
    config = old.FinderConfig(threshold=threshold, angles=old.angle_steps(max_angle))
    found, clock = [], Clock()
    for item in items:
        found.append([Detection(d.name, d.box, d.score, d.scale, d.angle, confidence=d.score)
                      for d in old.find_logos(read_image(folder, item), templates, config)])
    return found, clock.per_image(len(items))


def run_after(folder: Path, items: list[dict], templates: list, max_angle: float
              ) -> tuple[list, dict, float]:
    config = FinderConfig(angles=angle_steps(max_angle))
    finder = LogoFinder(templates, config)
    candidates, clock = [], Clock()
    for item in items:
        candidates.append(finder.candidates(read_image(folder, item)))
    thresholds = calibrate(candidates, [t.name for t in templates])
    return candidates, thresholds, clock.per_image(len(items))


def score(items: list[dict], found: list[list[Detection]]) -> dict[str, Any]:
    """Per group (all, each logo, upright / rotated, small / larger): [pasted, found, false]."""
    table: dict[str, list[int]] = {}
    empty = empty_false = 0

    def add(group: str, column: int) -> None:
        table.setdefault(group, [0, 0, 0])[column] += 1

    for item, dets in zip(items, found, strict=True):
        hits, missed = match(dets, item)
        targets = [p for p in item["pastes"] if p["role"] == "target"]
        empty += not targets
        for paste in targets:
            for group in ("all", f"logo {paste['logo']}",
                          "rotated 5-30 deg" if paste["angle"] else "upright",
                          "small (< 8 % wide)" if paste["width_share"] < 0.08 else "8-25 % wide"):
                add(group, 0)
                if paste not in missed:
                    add(group, 1)
        for det, hit in zip(dets, hits, strict=True):
            if not hit:
                add("all", 2)
                add(f"logo {det.name}", 2)
                empty_false += not targets
    return {"table": table, "empty": empty, "empty_false": empty_false}


def report(label: str, counts: dict[str, Any], seconds: tuple[float, float]) -> list[str]:
    table = counts["table"]
    pasted, hit, false = table.get("all", [0, 0, 0])
    per_100 = 100 * counts["empty_false"] / max(counts["empty"], 1)
    lines = [f"{label}: precision {hit / max(hit + false, 1):.3f} ({hit} of {hit + false} "
             f"detections), recall {hit / max(pasted, 1):.3f} ({hit} of {pasted}), "
             f"{counts['empty_false']} false on {counts['empty']} photos without a target "
             f"({per_100:.1f} per 100); per image {seconds[0]:.2f} s wall, "
             f"{seconds[1]:.2f} s CPU",
             "  | group | pasted | found | recall | false detections |", "  |---|---|---|---|---|"]
    for group in sorted(g for g in table if g != "all"):
        p, h, f = table[group]
        recall = f"{h / p:.2f}" if p else "-"
        shown = f if group.startswith("logo") else ""
        lines.append(f"  | {group} | {p} | {h} | {recall} | {shown} |")
    return lines


def bench_run(args: argparse.Namespace) -> str:
    folder = Path(args.benchmark)
    templates, items = load_benchmark(folder, args.limit)
    lines = [f"{len(items)} images of {folder}, {len(templates)} logos searched at once "
             f"({', '.join(t.name for t in templates)}), max angle {args.max_angle:g}; "
             f"CPU: {cpu_name()}", ""]
    if args.before:
        found, seconds = run_before(folder, items, args.max_angle)
        lines += report(f"before ({BEFORE_COMMIT})", score(items, found), seconds) + [""]
    if args.after:
        lines += _after_lines(folder, items, templates, args.max_angle)
    text = "\n".join(lines)
    if args.write:
        with args.write.open("a") as out:
            out.write(f"\n`{' '.join(['python', *sys.argv])}`\n\n```\n{text}\n```\n")
    return text


def _after_lines(folder: Path, items: list[dict], templates: list, max_angle: float
                 ) -> list[str]:
    candidates, thresholds, seconds = run_after(folder, items, templates, max_angle)
    config = FinderConfig(angles=angle_steps(max_angle))
    plain = [select(c, {t.name: DEFAULT_THRESHOLD for t in templates}, config)
             for c in candidates]
    lines = report(f"after, one threshold for every logo (log-odds {DEFAULT_THRESHOLD:g}, "
                   "no calibration)", score(items, plain), seconds) + [""]
    tuned = [select(c, threshold_values(thresholds), config) for c in candidates]
    lines += report("after, calibrated per logo (find-logo's default)", score(items, tuned),
                    seconds)
    return lines + ["", "thresholds (log-odds): " + ", ".join(
        f"{k} {t.value:.2f}" for k, t in sorted(thresholds.items()))]

def dump_features(args: argparse.Namespace) -> str:
    folder = Path(args.benchmark)
    templates, items = load_benchmark(folder, args.limit)
    items = items[args.skip :]
    finder = LogoFinder(templates, FinderConfig(angles=angle_steps(args.max_angle)))
    rows, started = [], time.perf_counter()
    for item in items:
        candidates = finder.candidates(read_image(folder, item))
        hits, _ = match(candidates, item)
        empty = not any(p["role"] == "target" for p in item["pastes"])
        rows += [{"id": item["id"], "logo": c.name, "hit": hit, "empty": empty,
                  "logit": c.logit, "box": list(c.box), "angle": c.angle, **c.cues}
                 for c, hit in zip(candidates, hits, strict=True)]
    args.out.write_text("".join(json.dumps(row) + "\n" for row in rows))
    seconds = (time.perf_counter() - started) / max(len(items), 1)
    return f"{len(rows)} candidates of {len(items)} images, {seconds:.2f} s per image"


def fit(args: argparse.Namespace) -> str:
    rows = [json.loads(line) for path in args.files for line in path.read_text().splitlines()]
    x = np.array([[row[name] for name in verify.MODEL_CUES] for row in rows])
    y = np.array([float(row["hit"]) for row in rows])
    design = np.hstack([x, np.ones((len(x), 1))])
    weights = np.zeros(design.shape[1])
    for _ in range(50):  # Newton steps (IRLS) with a small ridge
        p = 1 / (1 + np.exp(-design @ weights))
        gradient = design.T @ (y - p) - 1e-3 * weights
        hessian = (design * (p * (1 - p))[:, None]).T @ design + 1e-3 * np.eye(len(weights))
        weights += np.linalg.solve(hessian, gradient)
    named = ", ".join(f"{n} {w:.2f}" for n, w in zip(verify.MODEL_CUES, weights, strict=False))
    return (f"{len(rows)} candidates, {int(y.sum())} hits; weights {named}, "
            f"intercept {weights[-1]:.2f}")


def bench_speed(args: argparse.Namespace) -> str:
    """Per logo searched alone: wall and CPU seconds per image, after and (--before) before."""
    folder = Path(args.benchmark)
    templates, items = load_benchmark(folder, args.limit)
    images = [read_image(folder, item) for item in items]
    megapixels = np.mean([image.shape[0] * image.shape[1] / 1e6 for image in images])
    lines = [f"{len(images)} images of {folder} ({megapixels:.2f} MP on average), one logo at a "
             f"time, max angle {args.max_angle:g}; CPU: {cpu_name()}",
             "| logo | after: s wall | after: s CPU | before: s wall | before: s CPU |",
             "|---|---|---|---|---|"]
    old = load_before() if args.before else None
    for template in templates:
        finder = LogoFinder([template], FinderConfig(angles=angle_steps(args.max_angle)))
        finder.candidates(images[0])  # the first image builds the template cache
        clock = Clock()
        for image in images:
            finder.candidates(image)
        after = clock.per_image(len(images))
        before = _time_before(old, folder, template.name, images, args.max_angle)
        lines.append(f"| {template.name} | {after[0]:.2f} | {after[1]:.2f} | {before} |")
    return "\n".join(lines)


def _time_before(old: Any, folder: Path, name: str, images: list, max_angle: float) -> str:
    if old is None:
        return "- | -"
    template = old.load_logo(folder / "logos" / f"{name}.png")
    config = old.FinderConfig(threshold=0.5 if max_angle else 0.4,
                              angles=old.angle_steps(max_angle))
    clock = Clock()
    for image in images:
        old.find_logos(image, [template], config)
    wall, cpu = clock.per_image(len(images))
    return f"{wall:.2f} | {cpu:.2f}"


def crop_logo(args: argparse.Namespace) -> str:
    """The first `label` box of the image, with alpha from the refined logo mask
    (inpaint_core.masks.refine: the box's pixels that look like logo, not background)."""
    from inpaint_core.masks.refine import refine_mask
    from inpaint_core.masks.voc import read_voc

    voc = read_voc(args.dataset / "Annotations" / f"{args.image}.xml")
    box = next(o.box for o in voc.objects if o.label == args.label)
    with Image.open(args.dataset / "JPEGImages" / voc.filename) as opened:
        rgb = np.asarray(opened.convert("RGB"))
    mask, infos = refine_mask(rgb, [box], margin=1)
    x1, y1, x2, y2 = box
    alpha = (mask[y1:y2, x1:x2] * 255).astype(np.uint8)
    if infos[0]["fell_back"]:
        alpha[:] = 255  # the refinement was unsure: the whole box
    rgba = np.dstack([rgb[y1:y2, x1:x2], alpha])
    Image.fromarray(rgba, "RGBA").save(args.out)
    return f"{args.out}: {x2 - x1}x{y2 - y1} px from {args.image}, {infos[0]['method']}"


def main() -> None:
    args = parse_args()
    if args.what == "crop":
        print(crop_logo(args))
    elif args.what == "speed":
        print(bench_speed(args))
    elif args.what == "features":
        print(dump_features(args))
    elif args.what == "fit":
        print(fit(args))
    else:
        print(bench_run(args))


if __name__ == "__main__":
    main()

"""find-logo measured on a `unbrand make-benchmark --kind find-logo` folder: before and after.

    .venv/bin/python bench/bench_findlogo.py run --benchmark B [--limit N] [--max-angle 30]
        [--baseline REF ...] [--before] [--write] [--learned]
    .venv/bin/python bench/bench_findlogo.py features --benchmark B --out F.jsonl [--max-angle 30]
        [--learned]
    .venv/bin/python bench/bench_findlogo.py errors F.jsonl --benchmark B
    .venv/bin/python bench/bench_findlogo.py recue F.jsonl --benchmark B --out F2.jsonl [--learned]
    .venv/bin/python bench/bench_findlogo.py fit F.jsonl[:B] [F2.jsonl[:B2] ...] [--cues C,...]
    .venv/bin/python bench/bench_findlogo.py assess F.jsonl --benchmark B [--model C=W,...]
    .venv/bin/python bench/bench_findlogo.py speed --benchmark B [--limit N] [--max-angle 30]
        [--baseline REF] [--before]

run: every image of B is searched for every target logo of B (B/logos/*.png, all at once, as
`unbrand find-logo --logo ...` would), by the matcher of main commit 1a9fc00 (`--before`, read
from git: default threshold 0.40, or 0.5 with the rotation search as its README advised), by
the find-logo of each `--baseline` commit (its findlogo*.py modules imported from git beside
the working tree's; the versions take turns image by image, so their CPU seconds compare under
the same load) and by the working tree's (candidates of all images, thresholds calibrated per
logo on those images, as find-logo does). Without --max-angle each version searches the angles
of its own default settings. A detection is a hit when its box has IoU >= 0.5 with a not yet
matched pasted target of the same logo, best confidence first; anything else is a false
detection (a distractor, another target, background). Printed per method: precision, recall,
false detections per 100 photos without a target, seconds per image, then per logo shape and
for upright / rotated, small (< 8 % of the width) / larger pastes.

errors: every false detection of a `features` file (fixed threshold and calibrated), with
its logo, log-odds, cues and what it lies on: a duplicate of a find, misplaced on its target,
another logo's target, a distractor or the photo; then every target the fixed threshold misses,
with how it was pasted and the best candidate on it (log-odds, angle, cues) or none.

features / fit: the cue values of every verified candidate with its label (hit or not) and the
pose it was judged at, and the logistic regression on them whose weights findlogo_verify uses.
Fit only on benchmarks built from train-photos shards (never on the evaluation photos).
recue: the cues of a features file computed again at its poses by the working tree's verifier
(the learned one's `net` too where the file has it, or with --learned; seconds, where
`features` searches for minutes). assess: a features file's candidates rescored
by a model (the shipped one by default), selected and matched as `run` does, with a sweep of the
threshold: a new cue is judged on the tuning sets without searching again.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from inpaint_core.masks import findlogo  # noqa: E402
from inpaint_core.masks import findlogo_verify as verify  # noqa: E402
from inpaint_core.masks.findlogo import (  # noqa: E402
    DEFAULT_THRESHOLD,
    TILTED_PENALTY,
    Detection,
    FinderConfig,
    LogoFinder,
    angle_steps,
    box_iou,
    load_logo,
    select,
)
from inpaint_core.masks.findlogo_calibrate import calibrate, threshold_values  # noqa: E402
from inpaint_core.masks.findlogo_search import Pose, Pyramid, TemplateCache  # noqa: E402

MATCH_IOU = 0.5
FIT_RIDGE = 1e-2
BEFORE_COMMIT = "1a9fc00"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    run = sub.add_parser("run", help="precision, recall, speed: before and after")
    run.add_argument("--benchmark", required=True)
    run.add_argument("--limit", type=int, default=None)
    run.add_argument("--max-angle", type=float, default=None,
                     help="rotation search up to this; default: each version's own default")
    run.add_argument("--before", action="store_true", help="also run the matcher of 1a9fc00")
    run.add_argument("--baseline", action="append", default=[], metavar="REF",
                     help="also run the find-logo of this git commit, image by image beside "
                     "the working tree's (repeatable)")
    run.add_argument("--no-after", dest="after", action="store_false",
                     help="leave out the working tree's find-logo")
    run.add_argument("--write", type=Path, default=None, help="append the text to this file")
    run.add_argument("--learned", action="store_true",
                     help="the working tree's find-logo with the learned verifier")
    features = sub.add_parser("features", help="cue values and labels of every candidate")
    features.add_argument("--benchmark", required=True)
    features.add_argument("--out", required=True, type=Path)
    features.add_argument("--limit", type=int, default=None)
    features.add_argument("--max-angle", type=float, default=30.0)
    features.add_argument("--skip", type=int, default=0, help="leave out the first N images")
    features.add_argument("--learned", action="store_true", help="with the learned verifier")
    speed = sub.add_parser("speed", help="seconds per image for one logo at a time")
    speed.add_argument("--benchmark", required=True)
    speed.add_argument("--limit", type=int, default=10)
    speed.add_argument("--max-angle", type=float, default=0.0)
    speed.add_argument("--before", action="store_true", help="also time the matcher of 1a9fc00")
    speed.add_argument("--baseline", default=None, metavar="REF",
                       help="also time the find-logo of this git commit, image by image beside "
                       "the working tree's")
    crop = sub.add_parser("crop", help="a logo file cut from one photo of an OpenLogo dataset")
    crop.add_argument("--dataset", required=True, type=Path)
    crop.add_argument("--image", required=True, help="image id")
    crop.add_argument("--label", required=True, help="the object's class name")
    crop.add_argument("--out", required=True, type=Path, help="PNG to write")
    errors = sub.add_parser("errors", help="every false detection of a features file (logo, "
                            "threshold, what it lies on) and every missed target")
    errors.add_argument("features", type=Path, help="written by `features`")
    errors.add_argument("--benchmark", required=True)
    again = sub.add_parser("recue", help="a features file's cues computed again at its poses")
    again.add_argument("features", type=Path, help="written by `features`")
    again.add_argument("--benchmark", required=True)
    again.add_argument("--out", required=True, type=Path)
    again.add_argument("--learned", action="store_true",
                       help="add the learned verifier's cue (net) to a file without it")
    fit = sub.add_parser("fit", help="logistic regression of the cues")
    fit.add_argument("files", nargs="+", metavar="F.jsonl[:BENCHMARK]",
                     help="features files; with the benchmark named, duplicates are left out")
    fit.add_argument("--cues", default=",".join(verify.MODEL_CUES),
                     help="comma-separated cues of the model (default: the shipped model's)")
    fit.add_argument("--fixed", default="", metavar="CUE=W,...",
                     help="cues whose weight is given, not fitted")
    assess = sub.add_parser("assess", help="precision and recall of a features file rescored "
                            "by a model given here (no search again; tilted penalty kept)")
    assess.add_argument("features", type=Path, help="written by `features`")
    assess.add_argument("--benchmark", required=True)
    assess.add_argument("--model", default=None, metavar="CUE=W,...,intercept=B",
                        help="weights of a linear model of the cues; default: the shipped "
                        "verifier (its model and blur penalty)")
    assess.add_argument("--tilted-penalty", type=float, default=None,
                        help="log-odds a tilted candidate pays; default: what the search gave")
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


@dataclass
class Version:
    """One find-logo to measure: its modules (findlogo, findlogo_calibrate) and a label."""

    label: str
    finder: Any  # the findlogo module
    calibration: Any  # the findlogo_calibrate module
    learned: bool = False  # with the learned verifier (the working tree's --learned)


def load_version(ref: str) -> Version:
    """The find-logo modules of git commit `ref`, imported as a package of their own (their
    imports of each other rewritten), to run beside the working tree's in one process."""
    sha = _git("rev-parse", "--short=10", ref).strip()
    package = f"findlogo_{sha}"
    folder = Path(tempfile.mkdtemp()) / package
    folder.mkdir()
    (folder / "__init__.py").write_text("")
    for path in _git("ls-tree", "--name-only", ref, "inpaint_core/masks/").split():
        name = Path(path).name
        if name.startswith("findlogo") and name.endswith(".py"):
            text = _git("show", f"{ref}:{path}")
            text = text.replace("from inpaint_core.masks import findlogo",
                                f"from {package} import findlogo")
            (folder / name).write_text(text.replace("inpaint_core.masks.findlogo",
                                                    f"{package}.findlogo"))
    sys.path.insert(0, str(folder.parent))
    return Version(f"before ({ref} = {sha})", importlib.import_module(f"{package}.findlogo"),
                   importlib.import_module(f"{package}.findlogo_calibrate"))


def working_tree(label: str, learned: bool = False) -> Version:
    """The working tree's find-logo, as a Version beside those loaded from git."""
    return Version(label, sys.modules[LogoFinder.__module__], sys.modules[calibrate.__module__],
                   learned)


def _git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True,
                          check=True).stdout


def finder_config(version: Version, max_angle: float | None) -> Any:
    """The version's default settings, or its rotation search up to `max_angle`."""
    module = version.finder
    extra = {"learned": True} if version.learned else {}
    if max_angle is None:
        return module.FinderConfig(**extra)
    return module.FinderConfig(angles=module.angle_steps(max_angle), **extra)


def make_finder(version: Version, folder: Path, names: list[str], max_angle: float | None
                ) -> Any:
    """The version's LogoFinder for the logos `names` of benchmark `folder`."""
    module = version.finder
    return module.LogoFinder([module.load_logo(folder / "logos" / f"{n}.png") for n in names],
                             finder_config(version, max_angle))


def run_versions(folder: Path, items: list[dict], names: list[str], versions: list[Version],
                 max_angle: float | None) -> list[tuple[list, dict, tuple[float, float]]]:
    """Per version: the candidates of every image, the thresholds calibrated on them and the
    (wall, CPU) seconds per image; the versions take turns on each image, so a load on the
    machine weighs on all alike."""
    finders = [make_finder(v, folder, names, max_angle) for v in versions]
    found: list[list] = [[] for _ in versions]
    spent = np.zeros((len(versions), 2))
    for item in items:
        image = read_image(folder, item)
        for k, finder in enumerate(finders):
            wall, cpu = time.perf_counter(), time.process_time()
            found[k].append(finder.candidates(image))
            spent[k] += (time.perf_counter() - wall, time.process_time() - cpu)
    count = max(len(items), 1)
    return [(cands, v.calibration.calibrate(cands, names), tuple(spent[k] / count))
            for k, (v, cands) in enumerate(zip(versions, found, strict=True))]


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
    names = [t.name for t in templates]
    versions = [load_version(ref) for ref in args.baseline]
    if args.after:
        label = "after (working tree" + (", --learned)" if args.learned else ")")
        versions.append(working_tree(label, args.learned))
    angles = "; ".join(f"{v.label}: angles {finder_config(v, args.max_angle).angles}"
                       for v in versions)
    lines = [f"{len(items)} images of {folder}, {len(templates)} logos searched at once "
             f"({', '.join(names)}); {angles}; CPU: {cpu_name()}; load average "
             f"{' '.join(f'{v:.1f}' for v in os.getloadavg())} at the start", ""]
    if args.before:
        found, seconds = run_before(folder, items, args.max_angle or 0.0)
        lines += report(f"before ({BEFORE_COMMIT})", score(items, found), seconds) + [""]
    results = run_versions(folder, items, names, versions, args.max_angle)
    for version, (candidates, thresholds, seconds) in zip(versions, results, strict=True):
        lines += _version_lines(version, items, names, candidates, thresholds, seconds)
    text = "\n".join(lines)
    if args.write:
        with args.write.open("a") as out:
            out.write(f"\n`{' '.join(['python', *sys.argv])}`\n\n```\n{text}\n```\n")
    return text


def _version_lines(version: Version, items: list[dict], names: list[str], candidates: list,
                   thresholds: dict, seconds: tuple[float, float]) -> list[str]:
    module = version.finder
    fixed = module.DEFAULT_THRESHOLD
    plain = [module.select(c, dict.fromkeys(names, fixed)) for c in candidates]
    lines = report(f"{version.label}, one threshold for every logo (log-odds {fixed:g}, "
                   "no calibration)", score(items, plain), seconds) + [""]
    values = version.calibration.threshold_values(thresholds)
    tuned = [module.select(c, values) for c in candidates]
    lines += report(f"{version.label}, calibrated per logo (find-logo's default)",
                    score(items, tuned), seconds)
    return lines + ["", "thresholds (log-odds): " + ", ".join(
        f"{k} {t.value:.2f}" for k, t in sorted(thresholds.items())), ""]


def dump_features(args: argparse.Namespace) -> str:
    folder = Path(args.benchmark)
    templates, items = load_benchmark(folder, args.limit)
    items = items[args.skip :]
    finder = LogoFinder(templates, FinderConfig(angles=angle_steps(args.max_angle),
                                                learned=args.learned))
    rows, started = [], time.perf_counter()
    for item in items:
        image = read_image(folder, item)
        found = [(c, {**dataclasses.asdict(pose), "factor": finder.work_factor(image.shape)})
                 for c, pose in finder.posed_candidates(image)]
        candidates = [c for c, _ in found]
        hits, _ = match(candidates, item)
        empty = not any(p["role"] == "target" for p in item["pastes"])
        rows += [{"id": item["id"], "logo": c.name, "hit": hit, "empty": empty,
                  "logit": c.logit, "box": list(c.box), "angle": c.angle, **c.cues,
                  "pose": pose}
                 for (c, pose), hit in zip(found, hits, strict=True)]
    args.out.write_text("".join(json.dumps(row, default=_plain) + "\n" for row in rows))
    seconds = (time.perf_counter() - started) / max(len(items), 1)
    return f"{len(rows)} candidates of {len(items)} images, {seconds:.2f} s per image"


def _plain(value: Any) -> Any:
    """numpy scalars (a pose's integer fields) as JSON numbers."""
    return value.item()


def recue(args: argparse.Namespace) -> str:
    """A features file's cues computed again by the working tree's verifier at the same poses
    (the search is not run again); labels, boxes and the tilted penalty kept."""
    folder = Path(args.benchmark)
    templates, items = load_benchmark(folder, None)
    by_id = {item["id"]: item for item in items}
    cache = TemplateCache(templates)
    rows = [json.loads(line) for line in args.features.read_text().splitlines()]
    out, current, pyramid = [], None, None
    for row in rows:
        if row["id"] != current:
            current = row["id"]
            rgb = read_image(folder, by_id[current])
            pyramid = Pyramid(findlogo._resized(rgb, row["pose"]["factor"]))
        fields = {k: v for k, v in row["pose"].items() if k != "factor"}
        pose = Pose(**fields)
        values = findlogo._pose_cues(pyramid, cache, pose, int(pose.extra.get("level", 0)),
                                     args.learned or "net" in row)
        out.append({**row, **values, "logit": verify.logit(values) - _penalty(row["angle"])})
    args.out.write_text("".join(json.dumps(row, default=_plain) + "\n" for row in out))
    return f"{len(out)} candidates of {len({row['id'] for row in out})} images recued"


def _overlap(a: list[int] | tuple, b: list[int] | tuple) -> float:
    """Intersection over the smaller box's area."""
    iw = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return iw * ih / max(smaller, 1)


def cause(det: Detection, item: dict[str, Any], hits: list[Detection]) -> str:
    """What a false detection lies on: a found target of its logo (a duplicate), a missed one
    (misplaced), another logo's target, a distractor, or the photo."""
    for paste in item["pastes"]:
        if _overlap(det.box, paste["box"]) < 0.3:
            continue
        if paste["role"] == "distractor":
            return f"distractor {paste['logo']}"
        if paste["logo"] != det.name:
            return "another target"
        found = any(box_iou(h.box, paste["box"]) >= MATCH_IOU for h in hits)
        return "duplicate of a find" if found else "misplaced on its target"
    return "photo"


def read_features(path: Path, folder: Path) -> tuple[list[str], list[dict], list[list]]:
    """The target names, the images (from the first to the last of the file) and each one's
    candidates, rebuilt from a `features` file."""
    manifest = json.loads((folder / "findlogo.json").read_text())
    by_id: dict[str, list[Detection]] = {}
    for line in path.read_text().splitlines():
        row = json.loads(line)
        cues = {k: row[k] for k in (*verify.CUES, "size") if k in row}
        cues["blur"] = verify.blur(cues)
        by_id.setdefault(row["id"], []).append(Detection(
            row["logo"], tuple(row["box"]), row["edge"], 1.0, row["angle"], row["logit"], 0.0,
            cues))
    ids = [item["id"] for item in manifest["images"]]
    first, last = min(ids.index(i) for i in by_id), max(ids.index(i) for i in by_id)
    items = manifest["images"][first : last + 1]
    return manifest["targets"], items, [by_id.get(item["id"], []) for item in items]


def list_errors(args: argparse.Namespace) -> str:
    """Every false detection, fixed threshold and calibrated, with its cause and cues."""
    names, items, candidates = read_features(args.features, Path(args.benchmark))
    thresholds = threshold_values(calibrate(candidates, names))
    lines = [f"{len(items)} images of {args.benchmark}; thresholds: " + ", ".join(
        f"{k} {v:.2f}" for k, v in sorted(thresholds.items()) if v != DEFAULT_THRESHOLD)]
    missed: list[str] = []
    for label, values in (("fixed", {n: DEFAULT_THRESHOLD for n in names}),
                          ("calibrated", thresholds)):
        tally: dict[str, int] = {}
        hit_count = 0
        for item, found in zip(items, candidates, strict=True):
            chosen = select(found, values)
            marks, left = match(chosen, item)
            if label == "fixed":  # the targets the fixed threshold misses, listed at the end
                missed += [_missed(item, paste, found) for paste in left]
            hits = [d for d, hit in zip(chosen, marks, strict=True) if hit]
            hit_count += len(hits)
            for det, hit in zip(chosen, marks, strict=True):
                if hit:
                    continue
                why = cause(det, item, hits)
                tally[f"{det.name}: {why}"] = tally.get(f"{det.name}: {why}", 0) + 1
                cues = " ".join(f"{k} {det.cues.get(k, 0):.2f}" for k in verify.MODEL_CUES)
                lines.append(f"  {label} {item['id']} {det.name} {why}: logit {det.logit:.2f} "
                             f"conf {det.confidence:.2f} size {det.cues.get('size', 0):.0f} "
                             f"angle {det.angle:g} | {cues}")
        false = sum(tally.values())
        lines.append(f"{label}: {hit_count} hits, {false} false: " + ", ".join(
            f"{k} {v}" for k, v in sorted(tally.items())))
    return "\n".join(lines + missed)


def _missed(item: dict[str, Any], paste: dict[str, Any], found: list[Detection]) -> str:
    """A target the fixed threshold misses: how it was pasted, and the best candidate of its
    logo on it (IoU >= MATCH_IOU) with its cues, or that the search gave none."""
    on = [d for d in found if d.name == paste["logo"] and box_iou(d.box, paste["box"]) >= MATCH_IOU]
    how = (f"  missed {item['id']} {paste['logo']} {paste['width_share']:.1%} wide, "
           f"angle {paste['angle']:g}, opacity {paste['opacity']:.2f}, {paste['colour']}: ")
    if not on:
        return how + "no candidate on it"
    best = max(on, key=lambda d: d.logit)
    cues = " ".join(f"{k} {best.cues.get(k, 0):.2f}" for k in (*verify.MODEL_CUES, "sharp"))
    return how + f"best logit {best.logit:.2f} at angle {best.angle:.1f} | {cues}"


def fit(args: argparse.Namespace) -> str:
    """Logistic regression (Newton steps, a small ridge) of hit on the cues. With a file's
    benchmark named (F.jsonl:BENCHMARK), candidates that are not the hit but lie on a target of
    their own logo (duplicates, which selection suppresses) are left out."""
    names = tuple(args.cues.split(","))
    rows = []
    for spec in args.files:
        path, _, folder = str(spec).partition(":")
        found = [json.loads(line) for line in Path(path).read_text().splitlines()]
        if folder:
            manifest = json.loads((Path(folder) / "findlogo.json").read_text())
            targets = {item["id"]: [p for p in item["pastes"] if p["role"] == "target"]
                       for item in manifest["images"]}
            found = [row for row in found if row["hit"] or not any(
                p["logo"] == row["logo"] and box_iou(row["box"], p["box"]) >= 0.3
                for p in targets[row["id"]])]
        rows += [{**row, "blur": verify.blur(row)} for row in found]
    fixed = {k: float(v) for k, v in (pair.split("=") for pair in args.fixed.split(",") if pair)}
    x = np.array([[row[name] for name in names] for row in rows])
    offset = np.array([sum(w * row[k] for k, w in fixed.items()) for row in rows])
    y = np.array([float(row["hit"]) for row in rows])
    design = np.hstack([x, np.ones((len(x), 1))])
    weights = np.zeros(design.shape[1])
    weights[-1] = -float(offset.mean()) - 5.0  # start where few candidates are called logos
    for _ in range(60):
        p = 1 / (1 + np.exp(-np.clip(design @ weights + offset, -30, 30)))
        gradient = design.T @ (y - p) - FIT_RIDGE * weights
        hessian = (design * (p * (1 - p))[:, None]).T @ design + FIT_RIDGE * np.eye(len(weights))
        weights += np.clip(np.linalg.solve(hessian, gradient), -5.0, 5.0)
    named = ",".join(f"{n}={w:.2f}" for n, w in
                     [*zip(names, weights, strict=False), *fixed.items()])
    return (f"{len(rows)} candidates, {int(y.sum())} hits; model (for assess --model): "
            f"{named},intercept={weights[-1]:.2f}")


def assess(args: argparse.Namespace) -> str:
    """A features file's candidates rescored by another model, then selected and matched as
    `run` does, with one fixed threshold and calibrated."""
    model = None  # the shipped verify.logit
    if args.model:
        model = {k: float(v) for k, v in (pair.split("=") for pair in args.model.split(","))}
    names, items, candidates = read_features(args.features, Path(args.benchmark))
    rescored = [[_rescored(det, model, args.tilted_penalty) for det in dets]
                for dets in candidates]
    fixed = [select(dets, dict.fromkeys(names, DEFAULT_THRESHOLD)) for dets in rescored]
    values = threshold_values(calibrate(rescored, names))
    tuned = [select(dets, values) for dets in rescored]
    sweep = ["threshold sweep (one threshold for every logo): log-odds: hits (upright + "
             "tilted) / false / false on photos without a target"]
    for threshold in np.arange(-2.0, 4.01, 0.5):
        counts = score(items, [select(dets, dict.fromkeys(names, threshold))
                               for dets in rescored])
        _, hit, false = counts["table"].get("all", [0, 0, 0])
        upright = counts["table"].get("upright", [0, 0, 0])[1]
        sweep.append(f"  {threshold:+.1f}: {hit} ({upright} + {hit - upright}) / {false} / "
                     f"{counts['empty_false']}")
    shown = model or "shipped (findlogo_verify.logit)"
    return "\n".join([f"{len(items)} images of {args.benchmark}, model {shown}", "", *sweep,
                      "", *report("one threshold", score(items, fixed), (0.0, 0.0)), "",
                      *report("calibrated", score(items, tuned), (0.0, 0.0)), "",
                      "thresholds: " + ", ".join(f"{k} {v:.2f}" for k, v in sorted(values.items())
                                                 if v != DEFAULT_THRESHOLD)])


def _penalty(angle: float, tilted: float = TILTED_PENALTY) -> float:
    """What find-logo takes off a candidate at this angle (default angles: 10 degree steps)."""
    return tilted if abs(angle) > FinderConfig().search().angle_step / 2 else 0.0


def _rescored(det: Detection, model: dict[str, float] | None, tilted: float | None
              ) -> Detection:
    """`det` scored by a linear model of its cues (None: the shipped verify.logit), less the
    tilted penalty."""
    penalty = _penalty(det.angle, TILTED_PENALTY if tilted is None else tilted)
    if model is None:
        logit = verify.logit(det.cues) - penalty
    else:
        logit = model["intercept"] + sum(w * det.cues[k] for k, w in model.items()
                                         if k != "intercept") - penalty
    return Detection(det.name, det.box, det.score, det.scale, det.angle, logit,
                     verify.probability(logit - DEFAULT_THRESHOLD), det.cues)


def bench_speed(args: argparse.Namespace) -> str:
    """Per logo searched alone: wall and CPU seconds per image and CPU seconds per megapixel,
    after and (--before) before; with --baseline, that commit's find-logo timed image by image
    beside the working tree's (the two take turns, so a load on the machine weighs on both)."""
    folder = Path(args.benchmark)
    templates, items = load_benchmark(folder, args.limit)
    images = [read_image(folder, item) for item in items]
    megapixels = float(np.mean([image.shape[0] * image.shape[1] / 1e6 for image in images]))
    versions = [working_tree("after")]
    if args.baseline:
        versions.append(load_version(args.baseline))
    lines = [f"{len(images)} images of {folder} ({megapixels:.2f} MP on average), one logo at a "
             f"time, max angle {args.max_angle:g}; CPU: {cpu_name()}",
             "| logo | after: s wall | after: s CPU | after: CPU s per MP | before: s wall | "
             "before: s CPU | before: CPU s per MP | CPU after / before |",
             "|---|---|---|---|---|---|---|---|"]
    old = load_before() if args.before else None
    for template in templates:
        finders = [make_finder(v, folder, [template.name], args.max_angle) for v in versions]
        spent = np.zeros((len(finders), 2))
        for finder in finders:
            finder.candidates(images[0])  # the first image builds the template cache
        for image in images:
            for k, finder in enumerate(finders):
                clock = Clock()
                finder.candidates(image)
                spent[k] += clock.per_image(1)
        wall, cpu = spent[0] / len(images)
        if len(finders) > 1:
            then = spent[1] / len(images)
            before = (f"{then[0]:.3f} | {then[1]:.3f} | {then[1] / megapixels:.2f} | "
                      f"{cpu / then[1]:.2f}")
        else:
            before = _time_before(old, folder, template.name, images, args.max_angle,
                                  megapixels)
        lines.append(f"| {template.name} | {wall:.3f} | {cpu:.3f} | {cpu / megapixels:.2f} | "
                     f"{before} |")
    return "\n".join(lines)


def _time_before(old: Any, folder: Path, name: str, images: list, max_angle: float,
                 megapixels: float) -> str:
    if old is None:
        return "- | - | - | -"
    template = old.load_logo(folder / "logos" / f"{name}.png")
    config = old.FinderConfig(threshold=0.5 if max_angle else 0.4,
                              angles=old.angle_steps(max_angle))
    clock = Clock()
    for image in images:
        old.find_logos(image, [template], config)
    wall, cpu = clock.per_image(len(images))
    return f"{wall:.3f} | {cpu:.3f} | {cpu / megapixels:.2f} | -"


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
    elif args.what == "errors":
        print(list_errors(args))
    elif args.what == "fit":
        print(fit(args))
    elif args.what == "recue":
        print(recue(args))
    elif args.what == "assess":
        print(assess(args))
    else:
        print(bench_run(args))


if __name__ == "__main__":
    main()

"""Samples and training loop of find-logo's learned verifier (masks/findlogo_net.py).

Samples come from `unbrand make-benchmark --kind find-logo` folders built from training photos:
for each image one logo is searched as find-logo searches it (a logo pasted in the image most
of the time, another one else), and every candidate the search verifies becomes a sample,
labelled by whether it lies on a paste of that logo (IoU >= 0.5). Candidates that overlap a
paste of their logo without matching it (a second pose on one mark) are left out, as the
logistic fit of findlogo_verify leaves them out. Each pasted mark of the searched logo also
gives a positive at the pose the fine search finds from its true box, so every mark counts
even where the coarse search ranked it too low. `collect_partial` adds, per photo, one logo
pasted whole and the same logo with part of it cut away (a negative judged with the whole
silhouette): every part of a silhouette must be printed for it to be the logo.

    samples = collect(folder, limit=None, seed=0)          # Samples (inputs, labels, ...)
    cuts = collect_partial(photos, logos, seed=0)          # whole and partly cut pastes
    verifier, record = fit_verifier([samples, cuts], epochs=12)
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from inpaint_core.evaluation.findlogo_bench import (
    COLOUR_ODDS,
    COLOURS,
    OPACITY,
    WIDTH_SHARE,
    paste_mark,
    recolour,
    scaled_photo,
    transform_mark,
)
from inpaint_core.masks import findlogo
from inpaint_core.masks.findlogo import FinderConfig, LogoFinder, box_iou, pose_net_input
from inpaint_core.masks.findlogo_net import NetConfig, PatchVerifier
from inpaint_core.masks.findlogo_search import Pose, Pyramid, SearchConfig, TemplateCache, refine
from inpaint_core.masks.findlogo_templates import load_logo

MATCH_IOU = 0.5  # a candidate on a paste of its logo at this IoU is the mark
SAME_MARK_IOU = 0.3  # ... and one that overlaps it this much without matching is left out
SEARCH_PRESENT = 0.7  # share of images searched for a logo that is pasted in them
KEPT = (0.3, 0.7)  # share of a partial mark's alpha that is pasted


@dataclass
class Samples:
    """Network inputs with their labels; `image` names the source image of each (for splits)."""

    inputs: np.ndarray  # (N, CHANNELS, SIDE, SIDE) float16
    labels: np.ndarray  # (N,) float32, 1 = a pasted mark
    image: np.ndarray  # (N,) str

    def save(self, path: Path) -> None:
        np.savez(path, inputs=self.inputs, labels=self.labels, image=self.image)

    @classmethod
    def load(cls, path: Path) -> Samples:
        with np.load(path) as data:
            return cls(data["inputs"], data["labels"], data["image"])


def collect(folder: Path, limit: int | None = None, seed: int = 0,
            progress: Callable[[int, int], None] | None = None) -> Samples:
    """Samples of the first `limit` images of a find-logo benchmark folder."""
    manifest = json.loads((folder / "findlogo.json").read_text())
    logos = {name: load_logo(folder / "logos" / f"{name}.png") for name in manifest["targets"]}
    rng = np.random.default_rng(seed)
    inputs, labels, names = [], [], []
    items = manifest["images"][:limit]
    for count, item in enumerate(items, 1):
        with Image.open(folder / "JPEGImages" / f"{item['id']}.jpg") as opened:
            rgb = np.asarray(opened.convert("RGB"))
        pasted = sorted({p["logo"] for p in item["pastes"] if p["role"] == "target"})
        if pasted and rng.random() < SEARCH_PRESENT:
            name = pasted[int(rng.integers(len(pasted)))]
        else:
            name = sorted(logos)[int(rng.integers(len(logos)))]
        marks = [p["box"] for p in item["pastes"] if p["role"] == "target" and p["logo"] == name]
        for values, label in image_samples(rgb, logos[name], marks, angles_of(item, name)):
            inputs.append(values.astype(np.float16))
            labels.append(label)
            names.append(item["id"])
        if progress is not None:
            progress(count, len(items))
    return Samples(np.stack(inputs), np.asarray(labels, np.float32), np.asarray(names))


def angles_of(item: dict, name: str) -> list[float]:
    return [p["angle"] for p in item["pastes"] if p["role"] == "target" and p["logo"] == name]


def image_samples(rgb: np.ndarray, logo: findlogo.LogoTemplate, marks: Sequence[Sequence[int]],
                  angles: Sequence[float]) -> list[tuple[np.ndarray, float]]:
    """(input, label) of every candidate the search verifies for `logo` in `rgb`, and of the
    fine pose found from each mark's true box (`marks`: its pasted boxes, `angles` theirs)."""
    finder = LogoFinder([logo], FinderConfig(learned=False))
    factor = finder.work_factor(rgb.shape)
    pyramid = Pyramid(findlogo._resized(rgb, factor))
    cache = TemplateCache(finder.templates)
    found = []
    for detection, pose in finder.posed_candidates(rgb):
        hit = any(box_iou(detection.box, m) >= MATCH_IOU for m in marks)
        if not hit and any(box_iou(detection.box, m) >= SAME_MARK_IOU for m in marks):
            continue
        found.append((pose_net_input(pyramid, cache, pose), float(hit)))
    search = finder.config.search()
    for box, angle in zip(marks, angles, strict=True):
        pose = _pose_from_box(cache, box, angle, factor, search)
        fine = refine(pyramid, cache, pose, search)
        if fine.score > -1.0 and box_iou([v / factor for v in fine.box()], box) >= MATCH_IOU:
            found.append((pose_net_input(pyramid, cache, fine), 1.0))
    return found


def _pose_from_box(cache: TemplateCache, box: Sequence[int], angle: float, factor: float,
                   search: SearchConfig) -> Pose:
    """The coarse pose a search would start from for a mark with this box: the searched angle
    nearest the mark's, the size whose rotated box is as wide."""
    turn = min(search.angles, key=lambda a: abs(a - angle))
    unit_w, _ = cache.size_at(0, turn, 1.0)
    x1, y1, x2, y2 = (v * factor for v in box)
    return Pose(0, (x2 - x1) / unit_w, turn, x1, y1, x2 - x1, y2 - y1)


def collect_partial(photos: Sequence[Path], logos: Sequence[findlogo.LogoTemplate],
                    seed: int = 0, side: int = 1024,
                    progress: Callable[[int, int], None] | None = None) -> Samples:
    """Per photo, one logo pasted whole (a positive) and the same logo with part of it cut away
    (a negative, judged with the whole silhouette at the pose the fine search finds from the
    whole mark's box). Teaches that every part of the silhouette must be printed: a logo of a
    disc and a word is not the photo's own disc beside plain wall."""
    rng = np.random.default_rng(seed)
    inputs, labels, names = [], [], []
    for count, path in enumerate(photos, 1):
        rgb = scaled_photo(path, side)
        logo = logos[int(rng.integers(len(logos)))]
        for whole in (True, False):
            values = _pasted_sample(rgb, logo, whole, rng)
            if values is not None:
                inputs.append(values.astype(np.float16))
                labels.append(float(whole))
                names.append(f"partial/{path.name}")
        if progress is not None:
            progress(count, len(photos))
    return Samples(np.stack(inputs), np.asarray(labels, np.float32), np.asarray(names))


def _pasted_sample(rgb: np.ndarray, logo: findlogo.LogoTemplate, whole: bool,
                   rng: np.random.Generator) -> np.ndarray | None:
    """The input at the refined pose of `logo` pasted into a copy of `rgb` (with part of its
    alpha cut away by a line through it unless `whole`); None where it does not fit."""
    height, width = rgb.shape[:2]
    rgba = np.dstack([logo.rgb, np.rint(logo.alpha * 255).astype(np.uint8)])
    colour = str(rng.choice(COLOURS, p=COLOUR_ODDS))
    angle = float(rng.choice([0.0, 0.0, -10.0, 10.0, -20.0, 20.0, -30.0, 30.0]))
    share = float(np.exp(rng.uniform(*np.log(WIDTH_SHARE))))
    full = transform_mark(recolour(rgba, colour, rng), max(8, round(share * width)), angle)
    if full.shape[0] >= height or full.shape[1] >= width or (full[:, :, 3] > 24).sum() < 30:
        return None
    mark = full if whole else _cut(full, rng)
    x = int(rng.integers(0, width - full.shape[1]))
    y = int(rng.integers(0, height - full.shape[0]))
    image = rgb.astype(np.float32)
    paste_mark(image, mark, x, y, float(rng.uniform(*OPACITY)))
    pasted = np.clip(np.rint(image), 0, 255).astype(np.uint8)
    rows, cols = np.nonzero(full[:, :, 3] > 24)
    box = [x + int(cols.min()), y + int(rows.min()), x + int(cols.max()) + 1,
           y + int(rows.max()) + 1]
    finder = LogoFinder([logo], FinderConfig(learned=False))
    search = finder.config.search()
    pyramid, cache = Pyramid(pasted), TemplateCache(finder.templates)
    fine = refine(pyramid, cache, _pose_from_box(cache, box, angle, 1.0, search), search)
    if fine.score <= -1.0:
        return None
    return pose_net_input(pyramid, cache, fine)


def _cut(mark: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """`mark` (RGBA) with the alpha on one side of a random line through it removed, the line
    placed so that KEPT of the alpha stays."""
    alpha = mark[:, :, 3].astype(np.float32)
    yy, xx = np.mgrid[: alpha.shape[0], : alpha.shape[1]].astype(np.float32)
    turn = rng.uniform(0, np.pi)
    along = xx * np.cos(turn) + yy * np.sin(turn)
    weights = alpha.ravel() / alpha.sum()
    order = np.argsort(along.ravel())
    cut = along.ravel()[order][np.searchsorted(np.cumsum(weights[order]), rng.uniform(*KEPT))]
    out = mark.copy()
    out[:, :, 3] = np.where(along <= cut, mark[:, :, 3], 0)
    return out


def augment(batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """The same flip / quarter turn for image and silhouette (a mark stays a mark), and the
    photo channels negated or reordered (a logo's colour says nothing)."""
    n = batch.shape[0]
    if torch.rand(1, generator=generator).item() < 0.5:
        batch = batch.flip(3)
    batch = torch.rot90(batch, int(torch.randint(4, (1,), generator=generator)), dims=(2, 3))
    sign = torch.where(torch.rand(n, 1, 1, 1, generator=generator) < 0.5, -1.0, 1.0)
    order = torch.randperm(3, generator=generator)
    return torch.cat([batch[:, order] * sign, batch[:, 3:]], dim=1)


def fit_verifier(parts: Sequence[Samples], epochs: int = 8, batch: int = 128, lr: float = 1e-3,
                 seed: int = 0, holdout: float = 0.1, config: NetConfig | None = None,
                 log: Callable[[str], None] = print) -> tuple[PatchVerifier, dict]:
    """Trains a verifier (positives weighted up to balance the classes); a `holdout` share of
    the image names, drawn at random, is kept out for the validation figures. Returns it and
    its record."""
    inputs = np.concatenate([p.inputs for p in parts])
    labels = np.concatenate([p.labels for p in parts])
    names = np.concatenate([p.image for p in parts])
    rng = np.random.default_rng(seed)
    unique = np.unique(names)
    held = set(rng.choice(unique, max(1, round(holdout * len(unique))), replace=False))
    is_val = np.array([n in held for n in names])
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    verifier = PatchVerifier(config)
    module = verifier.module
    module.train()
    train_x, train_y = torch.from_numpy(inputs[~is_val]), torch.from_numpy(labels[~is_val])
    positives = float(train_y.sum())
    weight = torch.tensor((len(train_y) - positives) / max(positives, 1.0))
    optimiser = torch.optim.Adam(module.parameters(), lr=lr)
    steps = epochs * (len(train_y) // batch)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, lr, total_steps=max(steps, 1))
    record: dict = {"samples": int(len(labels)), "positives": int(labels.sum()),
                    "validation_images": len(held), "epochs": []}
    started = time.perf_counter()
    for epoch in range(epochs):
        order = torch.randperm(len(train_y), generator=generator)
        total = 0.0
        for start in range(0, len(order) - batch + 1, batch):
            pick = order[start : start + batch]
            x = augment(train_x[pick].float(), generator)
            loss = torch.nn.functional.binary_cross_entropy_with_logits(
                module(x)[:, 0], train_y[pick], pos_weight=weight)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            total += float(loss.detach()) * len(pick)
        module.eval()
        figures = _validation(verifier, inputs[is_val], labels[is_val])
        module.train()
        figures.update(epoch=epoch + 1, train_loss=total / max(len(order), 1),
                       seconds=round(time.perf_counter() - started, 1))
        record["epochs"].append(figures)
        log(json.dumps(figures))
    module.eval()
    return verifier, record


def _validation(verifier: PatchVerifier, inputs: np.ndarray, labels: np.ndarray) -> dict:
    """Held-out figures: the share of marks scored above the 99th percentile of the others
    (what a threshold keeping 1 % of false candidates would find), and the rank AUC."""
    if len(labels) == 0 or labels.min() == labels.max():
        return {}
    scores = np.concatenate([verifier.score(inputs[i : i + 512].astype(np.float32))
                             for i in range(0, len(inputs), 512)])
    marks, others = scores[labels > 0.5], scores[labels < 0.5]
    cut = float(np.quantile(others, 0.99))
    ranks = np.argsort(np.argsort(scores)) + 1
    auc = (ranks[labels > 0.5].sum() - len(marks) * (len(marks) + 1) / 2) / (
        len(marks) * len(others))
    return {"val_marks": int(len(marks)), "val_others": int(len(others)),
            "recall_at_1pct": round(float(np.mean(marks > cut)), 4), "auc": round(float(auc), 4)}

"""Train find-logo's learned verifier (inpaint_core/masks/findlogo_net.py).

    # samples: find-logo benchmarks built from TRAINING photos only (never the reserved sets)
    .venv/bin/python scripts/train_findlogo_net.py collect --benchmark VTRAIN --out v.npz
    .venv/bin/python scripts/train_findlogo_net.py partial --photos DIR [DIR ...] \
        --logos VTRAIN/logos --count 1200 --out p.npz
    .venv/bin/python scripts/train_findlogo_net.py train v.npz [w.npz ...] --out net.safetensors \\
        [--epochs 8]

`collect` searches each image for one logo as find-logo does and keeps every verified
candidate (labelled by the pasted marks) plus each mark at the fine pose found from its box;
`partial` pastes one logo whole and once with part of it cut away into each photo (a positive
and a negative at the fine pose found from the whole mark's box);
`train` fits the network, prints held-out figures per epoch (images kept out by name) and
writes fp16 safetensors with a JSON card beside them. The shipped weights' recipe is in
inpaint_core/weights/findlogo-net.json and bench/RESULTS-masks-find.md; the training marks are
drawn by scripts/findlogo_marks.py, free-licence photos and wallpapers written by
scripts/free_photos.py (RESULTS-masks-find.md, "Seventh pass": a verifier from those alone).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from datetime import UTC, datetime
from pathlib import Path

from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from inpaint_core.masks.findlogo_templates import load_logo  # noqa: E402
from inpaint_core.training.data import list_photos  # noqa: E402
from inpaint_core.training.findlogo_net_train import (  # noqa: E402
    Samples,
    collect,
    collect_partial,
    fit_verifier,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    gather = sub.add_parser("collect", help="samples of a find-logo benchmark folder")
    gather.add_argument("--benchmark", required=True, type=Path)
    gather.add_argument("--out", required=True, type=Path, help=".npz to write")
    gather.add_argument("--limit", type=int, default=None, help="the first N images only")
    gather.add_argument("--seed", type=int, default=0, help="which logo each image is searched for")
    partial = sub.add_parser("partial", help="whole and partly cut pastes into photos")
    partial.add_argument("--photos", required=True, nargs="+", action="extend", type=Path,
                         help="photo folders (repeatable)")
    partial.add_argument("--logos", required=True, type=Path, help="folder of logo PNGs")
    partial.add_argument("--count", type=int, default=1200, help="photos used (drawn at random)")
    partial.add_argument("--out", required=True, type=Path, help=".npz to write")
    partial.add_argument("--seed", type=int, default=0)
    train = sub.add_parser("train", help="fit the network on collected samples")
    train.add_argument("samples", nargs="+", type=Path, help=".npz files written by collect")
    train.add_argument("--out", required=True, type=Path, help=".safetensors to write")
    train.add_argument("--epochs", type=int, default=8)
    train.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.command in ("collect", "partial"):
        bar = tqdm(desc="images", unit="img")

        def advance(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        if args.command == "collect":
            samples = collect(args.benchmark, args.limit, args.seed, advance)
        else:
            photos = list_photos(args.photos)
            chosen = random.Random(args.seed).sample(photos, min(args.count, len(photos)))
            logos = [load_logo(p) for p in sorted(args.logos.glob("*.png"))]
            samples = collect_partial(chosen, logos, args.seed, progress=advance)
        bar.close()
        samples.save(args.out)
        print(f"{len(samples.labels)} samples, {int(samples.labels.sum())} marks -> {args.out}")
        return
    parts = [Samples.load(path) for path in args.samples]
    verifier, record = fit_verifier(parts, epochs=args.epochs, seed=args.seed)
    card = {"format": "unbrand-findlogo-net/1", "trained": datetime.now(UTC).isoformat(
        timespec="seconds"), "samples_from": [str(p) for p in args.samples],
        "epochs": args.epochs, "seed": args.seed, "record": record}
    verifier.save(args.out, card)
    print(json.dumps(record["epochs"][-1]))


if __name__ == "__main__":
    main()

"""Build a training set of photos whose licences all allow commercial use (issue #16, item 5:
weights users may use on their own catalogue; none are trained from it yet, see
bench/RESULTS-removal.md, "Free-licence weights").

Every photo comes from a Debian `main` package (DFSG-free) or from Kodak24 (unrestricted):
- gcompris-qt-data: the photos of the `erase` and `explore_*` activities (GCompris' own under
  GPL-3+, Wikimedia Commons photos under CC-BY-SA 2.0-4.0, CC-BY, GFDL-1.2 without invariant
  sections, public domain; the package's debian/copyright names each file). They sit inside Qt
  resource files as WebP and are cut out by their RIFF headers;
- lxqt-themes: the ten photographic wallpapers (LGPL-2.1+);
- python3-skimage: astronaut (NASA, public domain), chelsea, coffee, rocket, brick (CC0);
- Kodak24 from train-photos shards 0-2 (unrestricted; shard 3 stays held out).
Never `mate-backgrounds`, `lomiri-wallpapers*` or `plasma-workspace-wallpapers`: those are
reserved for evaluation.

With `--wallpapers`, the packaged wallpapers of gnome-backgrounds, ukui-wallpapers, desktop-base
and debian-edu-artwork-* instead, one file each at long side 1,024 (find-logo's training photos:
renders, gradients and macro photos like the evaluation's wallpapers); their SVGs are drawn by
`rsvg-convert` (librsvg2-bin, `--rsvg`).

Each photo is written at long side <= 512 px; photos at least 1,500 px wide also give two
512x384 tiles at long side 1,024 (closer views of the same scene). JPEG q88, like train-photos.
MANIFEST.csv lists file, source package and version, and licence.

    apt-get (download only, no root needed) and dpkg-deb must be on PATH.
    .venv/bin/python scripts/free_photos.py --out free-photos [--data ../shared/data]
    .venv/bin/python scripts/free_photos.py --wallpapers --out free-walls [--rsvg rsvg-convert]
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import re
import shutil
import struct
import subprocess
import tempfile
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data"
RESERVED = ("mate-backgrounds", "lomiri-wallpapers", "plasma-workspace-wallpapers")
GCOMPRIS = "gcompris-qt-data"
GCOMPRIS_RESOURCES = ("erase", "explore_farm_animals", "explore_monuments",
                      "explore_world_animals", "explore_world_music")
LXQT = ("Valendas", "after-the-rain", "appleflower", "beam", "butterfly", "cloud", "drop",
        "flowers", "fog", "this-is-not-windows")
SKIMAGE = ("astronaut", "brick", "chelsea", "coffee", "rocket")
LICENCES = {
    GCOMPRIS: "GPL-3+ / CC-BY-SA 2.0-4.0 / CC-BY / GFDL-1.2 (no invariant sections) / "
              "public domain, per file in gcompris-qt-data's debian/copyright",
    "lxqt-themes": "LGPL-2.1+",
    "python3-skimage": "CC0 / public domain (astronaut: NASA)",
    "kodak24": "unrestricted",
}
WALLPAPERS = {
    "gnome-backgrounds": "CC-BY-SA 3.0 / CC-BY-SA 2.0 / CC-BY 2.0 / GPL-2+, per file in "
                         "gnome-backgrounds' debian/copyright",
    "ukui-wallpapers": "CC-BY-SA-3.0",
    "desktop-base": "GPL-2+ / GPL-2 / GPL-3+ / CC-BY-SA-3.0, per theme in desktop-base's "
                    "debian/copyright",
    **{f"debian-edu-artwork-{theme}": "GPL-2+" for theme in
       ("buster", "emerald", "homeworld", "softwaves", "spacefun")},
}
WALLPAPER_SIDE = 1024
MIN_SIDE = 256  # as train-photos: short side at least 256 px
JPEG_QUALITY = 88


def fetch_package(name: str, work: Path) -> tuple[Path, str]:
    """Download and unpack one Debian package; (unpacked root, version)."""
    if name.startswith(RESERVED):
        raise SystemExit(f"{name} is reserved for evaluation")
    subprocess.run(["apt-get", "download", name], cwd=work, check=True, capture_output=True)
    deb = next(work.glob(f"{name}_*.deb"))
    root = work / name
    subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    return root, deb.stem.split("_")[1]


def webp_images(blob: bytes) -> list[Image.Image]:
    """The WebP images stored inside a Qt resource file, in file order."""
    found = []
    for match in re.finditer(rb"RIFF(....)WEBPVP8", blob, re.S):
        length = struct.unpack("<I", match.group(1))[0] + 8
        try:
            image = Image.open(io.BytesIO(blob[match.start():match.start() + length]))
            image.load()
        except OSError:
            continue
        found.append(image.convert("RGB"))
    return found


def gcompris_photos(root: Path) -> list[tuple[str, Image.Image]]:
    rcc = next(root.rglob("rcc"))
    picked = []
    for resource in GCOMPRIS_RESOURCES:
        images = webp_images((rcc / f"{resource}.rcc").read_bytes())
        photos = [im for im in images if min(im.size) >= MIN_SIDE]
        picked += [(f"{resource}_{i:03d}", im) for i, im in enumerate(photos)]
    return picked


def named_files(root: Path, stems: tuple[str, ...]) -> list[tuple[str, Image.Image]]:
    files = {p.stem: p for p in root.rglob("*") if p.suffix.lower() in (".jpg", ".png")}
    return [(stem, Image.open(files[stem]).convert("RGB")) for stem in stems]


def write_photo(out: Path, tag: str, image: Image.Image, rng: random.Random) -> list[str]:
    """The photo at long side <= 512 and, for large ones, two closer 512x384 tiles."""
    written = []
    small = image.copy()
    small.thumbnail((512, 512), Image.Resampling.LANCZOS)
    if min(small.size) >= MIN_SIDE:
        small.save(out / f"{tag}.jpg", quality=JPEG_QUALITY)
        written.append(f"{tag}.jpg")
    if max(image.size) >= 1500:
        mid = image.copy()
        mid.thumbnail((1024, 1024), Image.Resampling.LANCZOS)
        width, height = mid.size
        for k in range(2):
            x, y = rng.randint(0, max(0, width - 512)), rng.randint(0, max(0, height - 384))
            tile = mid.crop((x, y, min(width, x + 512), min(height, y + 384)))
            tile.save(out / f"{tag}_t{k}.jpg", quality=JPEG_QUALITY)
            written.append(f"{tag}_t{k}.jpg")
    return written


def wallpaper_files(package: str, root: Path) -> list[Path]:
    """The package's wallpapers: every file of gnome's and ukui's folders; of a desktop-base
    theme only its `wallpaper` (not `-withlogo`, not the lock screen), at 1920x1080."""
    if package in ("gnome-backgrounds", "ukui-wallpapers"):
        folder = next(root.glob("usr/share/backgrounds*"))
        return sorted(p for p in folder.rglob("*") if p.suffix in (".jpg", ".png", ".webp", ".svg"))
    return sorted(root.glob("usr/share/desktop-base/*-theme/wallpaper/contents/images/1920x1080.*"))


def draw_wallpaper(path: Path, rsvg: str, work: Path) -> Image.Image:
    if path.suffix != ".svg":
        return Image.open(path).convert("RGB")
    png = work / "drawn.png"
    subprocess.run([rsvg, "-w", str(WALLPAPER_SIDE), "-o", str(png), str(path)], check=True)
    return Image.open(png).convert("RGB")


def write_wallpapers(out: Path, rsvg: str) -> list[tuple[str, str, str, str]]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for package, licence in WALLPAPERS.items():
            root, version = fetch_package(package, work)
            for path in wallpaper_files(package, root):
                image = draw_wallpaper(path, rsvg, work)
                image.thumbnail((WALLPAPER_SIDE, WALLPAPER_SIDE), Image.Resampling.LANCZOS)
                # a theme's wallpaper lies in <theme>/wallpaper/contents/images/
                theme = path.parents[3].name if package.startswith(("desktop", "debian")) \
                    else path.stem
                name = f"{package.split('-')[0]}_{theme}.jpg"
                image.save(out / name, quality=JPEG_QUALITY)
                rows.append((name, package, version, licence))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for the photos")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data folder")
    parser.add_argument("--wallpapers", action="store_true",
                        help="free packaged wallpapers at long side 1,024 instead of photos")
    parser.add_argument("--rsvg", default="rsvg-convert", help="rsvg-convert, for SVG wallpapers")
    args = parser.parse_args()
    shutil.rmtree(args.out, ignore_errors=True)
    args.out.mkdir(parents=True)
    if args.wallpapers:
        rows = write_wallpapers(args.out, args.rsvg)
        write_manifest(args.out, rows)
        print(f"{len(rows)} wallpapers in {args.out}")
        return
    rng = random.Random(0)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        sources = []
        for package, pick in ((GCOMPRIS, gcompris_photos),
                              ("lxqt-themes", lambda r: named_files(r, LXQT)),
                              ("python3-skimage", lambda r: named_files(r, SKIMAGE))):
            root, version = fetch_package(package, work)
            sources += [(package, version, tag, im) for tag, im in pick(root)]
        for path in sorted((args.data / "train-photos").glob("shard-[012]/kodak24_*.jpg")):
            sources.append(("kodak24", "train-photos", path.stem, Image.open(path).convert("RGB")))
        for package, version, tag, image in sources:
            prefix = "kodak" if package == "kodak24" else package.split("-")[0]
            for name in write_photo(args.out, f"{prefix}_{tag}", image, rng):
                rows.append((name, package, version, LICENCES[package]))
    write_manifest(args.out, rows)
    print(f"{len(sources)} source photos -> {len(rows)} training photos in {args.out}")


def write_manifest(out: Path, rows: list[tuple[str, str, str, str]]) -> None:
    with (out / "MANIFEST.csv").open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(("file", "source", "version", "licence"))
        writer.writerows(rows)


if __name__ == "__main__":
    main()

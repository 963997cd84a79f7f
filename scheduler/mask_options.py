"""The mask options of a batch: how boxes become masks, and fixed-position watermarks.

They live in `batches.options` and the worker reads them for every job of the batch:

    options["mask_mode"]  "box" (the default: the whole boxes; a model with the "refine" prefill
                          keeps what of a box is not logo), "refine" (only the logo's pixels
                          inside each box, inpaint_core.masks.refine; a box it is unsure of is used
                          whole) or "whole" (every pixel of every box repainted)
    options["fixed"]      an inpaint_core.masks.fixed spec plus "mask_uri" (a mask image every worker
                          can read, or None), applied to every image; absent without --box / --mask

A batch keeps the options it was created with: submitting the same batch again with other mask
options is refused (see `mask_options_differ`).

Torch-free. inpaint_core's numpy-only fixedmask and imageio are imported inside
`fixed_option`, so importing the control plane stays light.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from inpaint_core.errors import ImageInputError
from inpaint_core.masks.modes import MaskMode, mask_mode
from scheduler.errors import ConfigError, StorageError
from scheduler.settings import Settings
from scheduler.storage import open_storage

DEFAULT_MASK_MODE = MaskMode.box.value


def check_mask_mode(mode: str) -> str:
    """`mode` when it is a known mask mode, else ConfigError naming the choices."""
    try:
        return mask_mode(mode).value
    except ImageInputError as exc:
        raise ConfigError(str(exc)) from exc


def fixed_option(
    *,
    boxes: Sequence[str] = (),
    mask: str | None = None,
    reference_size: str | None = None,
    scale_with_image: bool = False,
    keep_aspect: bool = False,
    anchor: str = "top-left",
    settings: Settings | None = None,
) -> dict[str, Any] | None:
    """The validated `options["fixed"]` for the command-line values, None without --box / --mask.

    The mask is read once here (a local path is made absolute, s3:// stays as given) so that a
    bad value fails before any job exists. Raises ConfigError with the reason.
    """
    from inpaint_core.errors import ImageInputError
    from inpaint_core.masks.fixed import spec_from_args

    if not boxes and not mask:
        _refuse_orphans(reference_size, scale_with_image, keep_aspect, anchor)
        return None
    mask_uri = _mask_location(mask) if mask else None
    mask_size = _mask_size(mask_uri, settings) if mask_uri else None
    try:
        spec = spec_from_args(list(boxes), reference_size=reference_size, mask_size=mask_size,
                              scale_with_image=scale_with_image, keep_aspect=keep_aspect,
                              anchor=anchor)
    except ImageInputError as exc:
        raise ConfigError(str(exc)) from exc
    return {**spec, "mask_uri": mask_uri}


def _refuse_orphans(reference_size: str | None, scale: bool, keep_aspect: bool,
                    anchor: str) -> None:
    given = [name for name, on in (("--reference-size", bool(reference_size)),
                                   ("--scale-with-image", scale), ("--keep-aspect", keep_aspect),
                                   ("--anchor", anchor != "top-left")) if on]
    if given:
        raise ConfigError(f"{', '.join(given)} only apply to fixed boxes: add --box or --mask")


def _mask_location(mask: str) -> str:
    from scheduler.submit import normalise_location

    return normalise_location(mask, folder=False)


def _mask_size(uri: str, settings: Settings | None) -> tuple[int, int]:
    """(width, height) of the fixed mask at `uri`; ConfigError when it cannot be used."""
    from inpaint_core.errors import ImageInputError
    from inpaint_core.masks.imageio import decode_mask

    try:
        storage, key = open_storage(uri, settings=settings)
        data = storage.read_bytes(key)
    except StorageError as exc:
        raise ConfigError(f"cannot read the fixed mask {uri}: {exc}") from exc
    try:
        values = decode_mask(data)
    except ImageInputError as exc:
        raise ConfigError(f"the fixed mask {uri} is not a usable image: {exc}") from exc
    if not values.any():
        raise ConfigError(f"the fixed mask {uri} has no nonzero pixel: it would remove nothing")
    return int(values.shape[1]), int(values.shape[0])


def mask_options(*, mask_mode: str = DEFAULT_MASK_MODE,
                 fixed: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The batch options for a mask mode and an optional fixed spec."""
    options: dict[str, Any] = {"mask_mode": check_mask_mode(mask_mode)}
    if fixed:
        options["fixed"] = dict(fixed)
    return options


def _mask_key(options: Mapping[str, Any] | None) -> tuple[str, Any]:
    options = options or {}
    return options.get("mask_mode") or DEFAULT_MASK_MODE, options.get("fixed") or None


def mask_options_differ(stored: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> str:
    """What differs between two batches' mask options ("" when nothing does)."""
    (old_mode, old_fixed), (new_mode, new_fixed) = _mask_key(stored), _mask_key(new)
    changes = []
    if old_mode != new_mode:
        changes.append(f"mask mode {old_mode!r} -> {new_mode!r}")
    if old_fixed != new_fixed:
        changes.append("fixed boxes / mask " + ("added" if old_fixed is None else
                                                "removed" if new_fixed is None else "changed"))
    return ", ".join(changes)

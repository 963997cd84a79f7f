"""The typed options of a batch and the mask spec of a job, validated once at submit and stored
as JSON (`batches.options`, `jobs.mask_spec`); workers read them back with `load`.

    BatchOptions   mask_mode   "box" | "refine" | "whole" (inpaint_core/masks/modes.py)
                   fixed       a fixed-position watermark for every image
                               (inpaint_core/masks/fixed.py spec + "mask_uri"), or None
                   jpeg_quality   1-100 for JPEG/WebP outputs, or None: near the source's
                               own (inpaint_core/masks/imagemeta.py)
                   queue, split, classes   how the batch was submitted
                   embedded    True for `unbrand run` batches (never published to a broker)
    MaskSpec       boxes (0-based, end exclusive), mask_uri, truth_uri, labels, rel_path,
                   warnings of the dataset reader, distinct_output (output key with a
                   digest), annotated_size (the VOC <size> the boxes were drawn on)

A batch keeps the mask options and output quality it was created with: submitting it again
with others is refused (`BatchOptions.mask_differences`). Keys that older versions stored and
nothing reads any more (e.g. "output_format", "quality") are ignored when a row is loaded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from inpaint_core.errors import ImageInputError
from inpaint_core.masks.boxes import BoxError, check_boxes
from inpaint_core.masks.fixed import spec_from_args, validate_fixed_spec
from inpaint_core.masks.imageio import decode_mask
from inpaint_core.masks.modes import DEFAULT_MASK_MODE, MaskMode
from scheduler.errors import ConfigError, DatasetError, StorageError
from scheduler.settings import Settings
from scheduler.storage import normalise_location, open_storage


def _one_line(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'value'}: {e['msg']}"
                     for e in exc.errors())


class BatchOptions(BaseModel):
    """How every job of a batch is processed (see the module docstring)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    mask_mode: MaskMode = DEFAULT_MASK_MODE
    fixed: dict[str, Any] | None = None
    jpeg_quality: int | None = Field(default=None, ge=1, le=100)
    # OpenLogo objects with a lower <confidence> (find-logo's) are not removed; read at submit,
    # so a rerun with another value resumes the same batch (it is no mask option)
    min_confidence: float | None = Field(default=None, ge=0.0, le=1.0)
    queue: str | None = None
    split: str | None = None
    classes: list[str] | None = None
    embedded: bool = False  # run in-process by `unbrand run`: never published to a broker

    @field_validator("fixed")
    @classmethod
    def _check_fixed(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if not value:
            return None
        mask_uri = value.get("mask_uri")
        if mask_uri is not None and not isinstance(mask_uri, str):
            raise ValueError(f"mask_uri must be a string, got {mask_uri!r}")
        try:
            spec = validate_fixed_spec({k: v for k, v in value.items() if k != "mask_uri"})
        except ImageInputError as exc:
            raise ValueError(str(exc)) from exc
        return {**spec, "mask_uri": mask_uri}

    @classmethod
    def load(cls, raw: Mapping[str, Any] | None) -> BatchOptions:
        """Options as stored in `batches.options`; DatasetError when they are unusable."""
        try:
            return cls.model_validate(dict(raw or {}))
        except ValidationError as exc:
            raise DatasetError(f"the batch's options are unusable: {_one_line(exc)}") from exc

    def stored(self) -> dict[str, Any]:
        """The JSON stored in `batches.options`: the mask mode and every value not a default."""
        return {"mask_mode": str(self.mask_mode),
                **self.model_dump(mode="json", exclude_defaults=True)}

    def mask_differences(self, other: BatchOptions) -> str:
        """What differs between two batches' mask options ("" when nothing does)."""
        changes = []
        if self.mask_mode != other.mask_mode:
            changes.append(f"mask mode {str(self.mask_mode)!r} -> {str(other.mask_mode)!r}")
        if self.fixed != other.fixed:
            changes.append("fixed boxes / mask " + ("added" if self.fixed is None else
                                                    "removed" if other.fixed is None else
                                                    "changed"))
        if self.jpeg_quality != other.jpeg_quality:
            changes.append(f"--quality {self.jpeg_quality or 'source'} -> "
                           f"{other.jpeg_quality or 'source'}")
        return ", ".join(changes)


class MaskSpec(BaseModel):
    """What one job removes and where its image sits in the dataset."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    boxes: list[list[int]] | None = None
    mask_uri: str | None = None
    truth_uri: str | None = None
    labels: list[str] = []
    rel_path: str | None = None  # POSIX path inside the dataset, for the output key
    warnings: list[str] = []
    # the output key carries a digest of rel_path: another input's key differs only in case
    # or equals this one's converted name (scheduler/storage/uri.py output_name)
    distinct_output: bool = False
    # [width, height] the annotation says its boxes were drawn on (VOC <size>); the worker
    # compares it with the image as stored and as displayed (EXIF orientation)
    annotated_size: list[int] | None = None

    @field_validator("boxes", mode="before")
    @classmethod
    def _check_boxes(cls, value: Any) -> list[list[int]] | None:
        if value is None:
            return None
        try:
            return check_boxes(value)
        except BoxError as exc:
            raise ValueError(str(exc)) from exc

    @field_validator("annotated_size")
    @classmethod
    def _check_size(cls, value: list[int] | None) -> list[int] | None:
        if value is not None and (len(value) != 2 or min(value) < 1):
            raise ValueError(f"annotated_size must be [width, height] > 0, got {value!r}")
        return value

    @classmethod
    def load(cls, raw: Mapping[str, Any] | None) -> MaskSpec:
        """A spec as stored in `jobs.mask_spec`; DatasetError naming what is wrong."""
        try:
            return cls.model_validate(dict(raw or {}))
        except ValidationError as exc:
            raise DatasetError(_one_line(exc)) from exc

    def stored(self) -> dict[str, Any]:
        """The JSON stored in `jobs.mask_spec`."""
        return self.model_dump(mode="json", exclude_defaults=True)


def batch_options(
    *,
    mask_mode: MaskMode | str = DEFAULT_MASK_MODE,
    boxes: Sequence[str] = (),
    mask: str | None = None,
    reference_size: str | None = None,
    scale_with_image: bool = False,
    keep_aspect: bool = False,
    anchor: str = "top-left",
    jpeg_quality: int | None = None,
    min_confidence: float | None = None,
    settings: Settings | None = None,
) -> BatchOptions:
    """The options for command-line values (fixed --box / --mask and the rest, --quality); the
    fixed mask is read once here so a bad value fails before any job exists. ConfigError
    otherwise."""
    try:
        mode = MaskMode(mask_mode)
    except ValueError:
        choices = ", ".join(m.value for m in MaskMode)
        raise ConfigError(f"unknown mask mode {mask_mode!r}; use one of {choices}") from None
    fixed = fixed_watermark(boxes=boxes, mask=mask, reference_size=reference_size,
                            scale_with_image=scale_with_image, keep_aspect=keep_aspect,
                            anchor=anchor, settings=settings)
    if jpeg_quality is not None and not 1 <= jpeg_quality <= 100:
        raise ConfigError(f"--quality must be 1-100, got {jpeg_quality}")
    if min_confidence is not None and not 0.0 <= min_confidence <= 1.0:
        raise ConfigError(f"--min-confidence must be 0-1, got {min_confidence}")
    return BatchOptions(mask_mode=mode, fixed=fixed, jpeg_quality=jpeg_quality,
                        min_confidence=min_confidence)


def fixed_watermark(
    *,
    boxes: Sequence[str] = (),
    mask: str | None = None,
    reference_size: str | None = None,
    scale_with_image: bool = False,
    keep_aspect: bool = False,
    anchor: str = "top-left",
    settings: Settings | None = None,
) -> dict[str, Any] | None:
    """The validated fixed spec (plus "mask_uri") for the command-line values; None without
    --box / --mask. A local mask path is made absolute, an s3:// URI stays as given."""
    if not boxes and not mask:
        _refuse_orphans(reference_size, scale_with_image, keep_aspect, anchor)
        return None
    mask_uri = normalise_location(mask, folder=False) if mask else None
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


def _mask_size(uri: str, settings: Settings | None) -> tuple[int, int]:
    """(width, height) of the fixed mask at `uri`; ConfigError when it cannot be used."""
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

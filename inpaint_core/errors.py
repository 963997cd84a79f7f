"""Errors raised by inpaint_core.

    InpaintError
    ├── CheckpointError        a weights file is missing, unreadable, truncated or does not fit
    │                          the config
    │   └── NoDefaultWeightsError   the shipped default weights are not present
    ├── ImageInputError        an image or mask cannot be read or used (bad file, bad mode,
    │                          mismatch)
    │   └── ImageTooLargeError      more pixels than the configured limit (decompression-bomb guard)
    └── DeviceError            the requested device or precision is not available
"""

from __future__ import annotations


class InpaintError(Exception):
    """Base of every error raised by inpaint_core."""


class CheckpointError(InpaintError):
    """A checkpoint file cannot be used."""


class NoDefaultWeightsError(CheckpointError):
    """The default weights shipped with the package are missing."""


class ImageInputError(InpaintError):
    """An image or mask cannot be read or does not fit the request."""


class ImageTooLargeError(ImageInputError):
    """The image has more pixels than the configured limit."""


class DeviceError(InpaintError):
    """The requested device or precision cannot be used here."""

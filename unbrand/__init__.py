"""unbrand: batch logo removal. This package is the command line (`unbrand.cli`), the one layer
that may import all three others: scheduler (control plane), worker (data plane) and
inpaint_core (the model). See docs/architecture.md."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

import inpaint_core  # noqa: F401  (sets OpenMP's wait policy before anything loads torch)

try:
    __version__ = version("unbrand")
except PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"

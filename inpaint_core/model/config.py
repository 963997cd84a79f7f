"""Hyperparameters of the AOT-GAN generator, stored in every checkpoint."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

PREFILLS = ("white", "telea", "refine")


@dataclass(frozen=True)
class AOTConfig:
    """Shape of an AOT generator; `AOTConfig.reference()` matches the authors' G0000000.pt."""

    # channels after the 7x7 stem; the encoder doubles twice, so the middle has 4*width
    width: int = 64
    blocks: int = 8  # number of AOT blocks in the middle
    # dilation of each branch; 4*width must divide by len(rates)
    rates: tuple[int, ...] = (1, 2, 4, 8)
    # side of the square crops the weights were trained on; the planner aims holes at it
    work_size: int = 512
    name: str = "reference"
    # what the generator sees in the hole: "white" (the paper's +1), "telea" (OpenCV's Telea
    # fill of the hole, a classical first guess that the network refines) or "refine" (inside
    # a hole made of whole boxes only the pixels that look like logo are Telea-filled, the rest
    # of the box stays as photographed; the mask channel is still the whole box, so the
    # network may correct any pixel of it; needs residual=True)
    prefill: str = "white"
    # False (the paper's): the network paints the whole output (tanh). True: it predicts a
    # correction added to its input, so a prefilled hole is kept unless the network improves it
    residual: bool = False

    def __post_init__(self) -> None:
        if self.width < 1 or self.blocks < 1 or not self.rates:
            raise ValueError(f"invalid AOTConfig: {self}")
        if (4 * self.width) % len(self.rates):
            raise ValueError(f"4*width={4 * self.width} does not split into "
                             f"{len(self.rates)} branches")
        if self.prefill not in PREFILLS:
            raise ValueError(f"prefill must be one of {PREFILLS}, got {self.prefill!r}")
        if self.prefill == "refine" and not self.residual:
            raise ValueError('prefill "refine" needs residual=True (the box keeps its own pixels)')
        if self.work_size % 4:
            raise ValueError(f"work_size must be a multiple of 4, got {self.work_size}")
        object.__setattr__(self, "rates", tuple(int(r) for r in self.rates))

    @classmethod
    def reference(cls) -> AOTConfig:
        """The paper's configuration: 15,200,835 parameters, 583 GFLOP at 512x512."""
        return cls()

    @classmethod
    def lite(cls) -> AOTConfig:
        """A CPU-friendly variant: half width, half the blocks (about 1/8 of the reference cost)."""
        return cls(width=32, blocks=4, rates=(1, 2, 4, 8), work_size=256, name="lite")

    @classmethod
    def named(cls, name: str) -> AOTConfig:
        presets = {"reference": cls.reference, "lite": cls.lite}
        if name not in presets:
            raise ValueError(f"unknown config {name!r}; choose one of {sorted(presets)}")
        return presets[name]()

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["rates"] = list(self.rates)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AOTConfig:
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown AOTConfig fields: {sorted(unknown)}")
        kwargs = dict(data)
        if "rates" in kwargs:
            kwargs["rates"] = tuple(kwargs["rates"])
        return cls(**kwargs)

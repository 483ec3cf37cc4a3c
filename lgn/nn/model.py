"""A complete classifier of one model family: encoder, hidden layers, GroupSum head."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

import torch
from torch import nn

from lgn import model_defaults as defaults
from lgn.nn.conv import LogicConv2d, OrPool2d
from lgn.nn.encoder import ThresholdEncoder, even_thresholds
from lgn.nn.families import FAMILIES, LEARNED_FAMILIES, LOCAL_FAMILIES, OPTIONS, SIZES, family_of
from lgn.nn.groupsum import GroupSum
from lgn.nn.logic import WIRINGS as GATE_WIRINGS
from lgn.nn.mapping import freeze_wiring
from lgn.nn.patches import input_positions, patch_connections, patch_mask, unit_positions

#: How layers are wired at initialisation: gate layers ``random`` or ``unique`` (see
#: :func:`~lgn.nn.logic.random_connections`), the sparse and dendritic families draw every input
#: uniformly for both; ``local`` draws every input (and every candidate) from a patch of the image
#: around the unit (:mod:`lgn.nn.patches`) for the families with sparse wiring
#: (:data:`~lgn.nn.families.LOCAL_FAMILIES`).
WIRINGS: tuple[str, ...] = (*GATE_WIRINGS, "local")
CONV_KERNEL, CONV_DEPTH = 3, 3  # the paper's kernels: 3x3 windows, trees of 8 leaves
#: What ``--candidates all`` may spend on its scores (with their gradients and optimizer state).
MAX_POOL_BYTES = 8 * 2**30
#: GroupSum temperatures training accepts: a group of up to thousands of bits over tau must stay
#: a logit that float32's softmax can learn from.
TAU_RANGE = (1e-3, 1e6)


@dataclass(frozen=True)
class LogicNetConfig:
    """Everything needed to rebuild a :class:`LogicNet` before loading its ``state_dict``."""

    num_features: int
    num_classes: int
    widths: tuple[int, ...]
    thresholds_per_feature: int = defaults.THRESHOLDS
    feature_range: tuple[float, float] = (0.0, 1.0)
    tau: float = defaults.TAU
    residual_init: float | None = None
    wiring: str = defaults.WIRING
    grad_factor: float = defaults.GRAD_FACTOR
    candidates: int = defaults.CANDIDATES
    seed: int = 0
    family: str = defaults.FAMILY        # a name in lgn.nn.families.FAMILIES
    family_options: dict[str, int] = field(default_factory=dict)  # the family's own (Family.options); others default
    image_shape: tuple[int, int] | None = None  # (rows, cols) of the pixels (each of adjacent channels), for local wiring
    window: int = defaults.WINDOW        # local wiring: side of the square patch a unit reads
    conv: tuple[int, ...] = ()     # convolutional blocks before the layers: kernels per block (logic trees + OR pooling)

    def option(self, name: str) -> int:
        """The value of ``name``, an option of this model's family (:attr:`Family.options`):
        ``family_options``' or its default; KeyError for an option the family does not have."""
        spec = FAMILIES[self.family].option_specs.get(name)
        if spec is None:
            raise KeyError(f"{name} is no option of the {self.family} family")
        return self.family_options.get(name, spec.default)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "LogicNetConfig":
        """The config ``to_dict`` wrote; keys of older versions that no field takes are ignored,
        but for the family options they kept as fields of their own (``lut_inputs``, ``tiles``)."""
        d = migrate_family_options(d, {f.name for f in fields(cls)})
        d["widths"] = tuple(d["widths"])
        d["feature_range"] = tuple(d["feature_range"])
        if d.get("image_shape") is not None:
            d["image_shape"] = tuple(d["image_shape"])
        d["conv"] = tuple(d.get("conv", ()))
        return cls(**d)

    def training_bytes(self, batch_size: int) -> int:
        """A lower bound on the memory training takes: each layer's activations, their gradients
        and what autograd keeps, per sample of a batch, and four copies (value, gradient, Adam's
        two moments) of at least 16 parameters per unit."""
        units = self.num_features * self.thresholds_per_feature + sum(self.widths)
        return 4 * (3 * batch_size * units + 4 * 16 * sum(self.widths))

    def _check_image(self, what: str) -> None:
        if self.image_shape is None or self.num_features % (self.image_shape[0] * self.image_shape[1]):
            raise ValueError(f"{what} need the {self.num_features} features laid out as an image, "
                             f"got image shape {self.image_shape}")

    def _pooled_images(self) -> list[tuple[int, int]]:
        """The image each convolutional block leaves after its 2x2 pooling."""
        images, (rows, cols) = [], self.image_shape
        for _ in self.conv:
            rows, cols = (rows - CONV_KERNEL + 1) // 2, (cols - CONV_KERNEL + 1) // 2
            images.append((rows, cols))
        return images

    def layer_image(self) -> tuple[int, int, int]:
        """``(rows, cols, bits per pixel)`` of the image the first layer reads: the encoded pixels,
        or the last convolutional block's pooled image (a bit per kernel)."""
        if self.conv:
            return (*self._pooled_images()[-1], self.conv[-1])
        rows, cols = self.image_shape[:2]
        return rows, cols, self.num_features // (rows * cols) * self.thresholds_per_feature

    def layer_inputs(self) -> int:
        """Bits the first layer reads: the encoded features, or the last convolutional block's
        pooled image (a bit per kernel and position)."""
        if not self.conv:
            return self.num_features * self.thresholds_per_feature
        rows, cols = self._pooled_images()[-1]
        return rows * cols * self.conv[-1]

    def validate(self) -> None:
        if not self.widths:
            raise ValueError("a logic net needs at least one gate layer")
        if any(w < 1 for w in self.widths):
            raise ValueError(f"layer widths must be positive, got {list(self.widths)}")
        if self.widths[-1] % self.num_classes:
            raise ValueError(f"the last layer's width {self.widths[-1]} must be a multiple of the "
                             f"{self.num_classes} classes (GroupSum splits it evenly)")
        if self.thresholds_per_feature < 1:
            raise ValueError("thresholds_per_feature must be at least 1")
        if self.family not in FAMILIES:
            raise ValueError(f"unknown model family {self.family!r}; choose one of {', '.join(FAMILIES)}")
        family = FAMILIES[self.family]
        owned = family.option_specs
        for name, value in self.family_options.items():
            if name not in owned:
                raise ValueError(f"{OPTIONS[name].flag if name in OPTIONS else name} is no option of the "
                                 f"{self.family} family")
            owned[name].check(value)
        family.check(self)
        if self.wiring not in WIRINGS:
            raise ValueError(f"unknown wiring {self.wiring!r}; choose one of {', '.join(WIRINGS)}")
        if self.wiring == "local":
            if self.family not in LOCAL_FAMILIES:
                raise ValueError(f"local wiring is for the {', '.join(LOCAL_FAMILIES[:-1])} and "
                                 f"{LOCAL_FAMILIES[-1]} families, "
                                 f"not {self.family!r}")
            self._check_image("local wiring")
            if self.window < 1:
                raise ValueError("the local wiring window must be at least 1")
        if self.conv:
            self._check_image("convolutional blocks")
            for n, (channels, (rows, cols)) in enumerate(zip(self.conv, self._pooled_images())):
                if channels < 1 or min(rows, cols) < 1:
                    raise ValueError(f"convolutional block {n + 1} ({channels} kernels) leaves no image: "
                                     f"{self.image_shape} is too small for {len(self.conv)} blocks")
        if self.wiring == "local":
            rows, cols, _ = self.layer_image()
            what = "pooled image of the last convolutional block" if self.conv else "image"
            if self.window > max(rows, cols):
                raise ValueError(f"the {self.window}x{self.window} window is larger than the {rows}x{cols} "
                                 f"{what}: give --window at most {max(rows, cols)}")
        smallest = min((self.layer_inputs(), *self.widths[:-1]))
        if self.candidates > smallest:
            raise ValueError(f"--candidates {self.candidates} is more than the {smallest} inputs a layer can choose "
                             "among: give fewer, or all")
        if self.candidates < 0 or (self.candidates == 0 and family.learned_pins is None):
            raise ValueError(f"--candidates must be at least 1 (all, every input of the pool, is for the "
                             f"{' and '.join(LEARNED_FAMILIES)} families)")
        if self.candidates == 0:  # one float score per pin and input, with its gradient and Adam's two moments
            pins = family.learned_pins(self)
            widths = (self.layer_inputs(), *self.widths)
            size = 16 * pins * sum(i * o for i, o in zip(widths, widths[1:]))
            if size > MAX_POOL_BYTES:
                raise ValueError(f"--candidates all keeps a score per pin and input: {size / 2**30:.1f} GiB for these "
                                 f"widths, over the {MAX_POOL_BYTES / 2**30:.0f} GiB lgn allows; use --candidates K or "
                                 f"narrower layers")
        if not self.tau > 0 or not self.grad_factor > 0:
            raise ValueError("tau and grad_factor must be positive")
        if not TAU_RANGE[0] <= self.tau <= TAU_RANGE[1]:
            raise ValueError(f"--tau {self.tau:g} is outside {TAU_RANGE[0]:g} to {TAU_RANGE[1]:g}: the class scores "
                             f"over tau are the logits, which then saturate the softmax or vanish; difflogic's "
                             f"models use 1 to 100")


def migrate_family_options(d: dict, known: set[str]) -> dict:
    """``d`` (a config's or training options' dict) with the family options older versions
    kept as keys of their own moved into ``family_options`` (those of ``d``'s family), and
    the keys no field in ``known`` takes dropped."""
    family = FAMILIES.get(d.get("family", defaults.FAMILY))
    owned = family.option_specs if family else {}
    moved = {k: v for k, v in d.items() if k in owned and k not in known}
    d = {k: v for k, v in d.items() if k in known}
    d["family_options"] = {**moved, **d.get("family_options", {})}
    return d


class LogicNet(nn.Module):
    """``raw features -> ThresholdEncoder -> [convolutional blocks] -> layers -> GroupSum`` (class
    scores), the layers those of the config's family (:data:`~lgn.nn.families.FAMILIES`: e.g.
    :class:`~lgn.nn.logic.LogicLayer` for ``logic``, :class:`~lgn.nn.lookup.LookupLayer` for ``lut``).

    Batch-first at both ends, ``(batch, num_features) -> (batch, num_classes)``; the layers in
    between run feature-major (see :mod:`lgn.nn.logic`).
    """

    def __init__(self, config: LogicNetConfig) -> None:
        super().__init__()
        config.validate()
        self.config = config
        generator = torch.Generator().manual_seed(config.seed)
        self.encoder = ThresholdEncoder(even_thresholds(
            config.num_features, config.thresholds_per_feature, *config.feature_range))
        blocks = self._conv_blocks(generator)
        widths = (blocks[-1].out_features if blocks else self.encoder.out_features, *config.widths)
        family = FAMILIES[config.family]
        wiring = self._local_wiring(generator) if config.wiring == "local" else [None] * len(config.widths)
        self.layers = nn.Sequential(*blocks, *(family.build(config, i, o, c, generator)
                                               for i, o, c in zip(widths, widths[1:], wiring)))
        self.head = GroupSum(config.num_classes, config.tau)

    def _conv_blocks(self, generator: torch.Generator) -> list[nn.Module]:
        """Per entry of ``conv``: a :class:`LogicConv2d` of that many kernels (3x3 windows, trees
        of depth 3 over 2 channels) and a 2x2 :class:`OrPool2d`, the first over the encoded pixels."""
        config, blocks = self.config, []
        if not config.conv:
            return blocks
        image = config.image_shape
        channels = self.encoder.out_features // (image[0] * image[1])
        for kernels in config.conv:
            conv = LogicConv2d(channels, kernels, image, generator=generator, kernel=CONV_KERNEL, depth=CONV_DEPTH,
                               residual_init=config.residual_init)
            pool = OrPool2d(kernels, conv.out_image)
            blocks += [conv, pool]
            image, channels = pool.out_image, kernels
        return blocks

    def _local_wiring(self, generator: torch.Generator) -> list[torch.Tensor]:
        """Each layer's connections drawn from patches of the image (:mod:`lgn.nn.patches`): per
        unit the family's ``local_pins`` shape, or the patch itself where a layer learns its
        inputs among the whole pool (``candidates = 0``)."""
        config = self.config
        rows, cols, bits = config.layer_image()  # a pixel's bits are adjacent features
        shape, per_unit = (rows, cols), FAMILIES[config.family].local_pins(config)
        sources, wiring = input_positions(shape, bits), []
        for n, width in enumerate(config.widths):
            units = unit_positions(width, shape, config.num_classes if n == len(config.widths) - 1 else 1)
            if config.candidates == 0:
                wiring.append(patch_mask(sources, units, shape, config.window))
            else:
                wiring.append(patch_connections(sources, units, shape, config.window, per_unit, generator))
            sources = units
        return wiring

    def freeze_wiring(self) -> int:
        """Fix every learned connection at the input it reads once hardened and stop learning it
        (:func:`~lgn.nn.mapping.freeze_wiring`); returns how many layers had learned connections."""
        return sum(freeze_wiring(layer) for layer in self.layers)

    def sizes(self) -> dict[str, int]:
        """The model's :data:`~lgn.nn.families.SIZES`: convolutions' gates counted at every
        position they slide to, every other layer as its family counts it."""
        total = dict.fromkeys(SIZES, 0)
        for layer in self.layers:
            conv = isinstance(layer, (LogicConv2d, OrPool2d))
            for key, n in ({"gates": layer.num_gates} if conv else family_of(layer).sizes(layer)).items():
                total[key] += n
        return total

    @property
    def num_gates(self) -> int:
        """Logic gates, convolutions counted at every position they slide to (0 for other families)."""
        return self.sizes()["gates"]

    @property
    def num_luts(self) -> int:
        """Lookup-table nodes (0 for other families)."""
        return self.sizes()["lut_nodes"]

    @property
    def num_units(self) -> int:
        """Threshold units once hardened: a binary neuron is one, a dendritic neuron one per
        branch and one for its soma (0 for gate and lookup-table networks)."""
        return self.sizes()["threshold_units"]

    @property
    def weight_bits(self) -> int:
        """Distinct ±1 weights a folded engine would store: a tiled layer's tile once (0 for logic gates)."""
        return self.sizes()["weight_bits"]

    def describe(self) -> str:
        """``"6000 gates"``, ``"800 LUT4 nodes"``, ``"1512 binary neurons"`` or ``"200 dendritic
        neurons (1000 threshold units)"``: the model's size in its own units."""
        dense = [layer for layer in self.layers if not isinstance(layer, (LogicConv2d, OrPool2d))]
        family = FAMILIES[self.config.family]
        size = f"{sum(layer.out_features for layer in dense)} {family.unit(self.config, self.sizes())}"
        convs = [layer for layer in self.layers if isinstance(layer, (LogicConv2d, OrPool2d))]
        if convs:
            size += (f" after {len(self.config.conv)} convolutional blocks ({sum(c.num_gates for c in convs)} gates "
                     "unrolled)")
        return size

    #: Train on the hardened bits: each layer's output rounded to 0 or 1 going forward, its
    #: relaxed gradient going back (a straight-through estimator); see ``lgn train --hard-forward``.
    straight_through: bool = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bits = self.encoder(x).t().contiguous()
        if self.training and self.straight_through:
            for layer in self.layers:
                soft = layer(bits)
                bits = soft + ((soft > 0.5).to(soft.dtype) - soft).detach()
        else:
            bits = self.layers(bits)
        return self.head(bits.t())

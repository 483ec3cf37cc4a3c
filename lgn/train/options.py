"""Training options and the named presets ``lgn train --preset`` starts from."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import TYPE_CHECKING

from lgn import model_defaults as defaults

if TYPE_CHECKING:
    from lgn.nn.model import LogicNetConfig
    from lgn.data import Dataset


@dataclass(frozen=True)
class TrainOptions:
    """Everything that decides what ``lgn train`` produces (with the seed, bit for bit)."""

    preset: str = "digits"
    dataset: str = "digits"
    family: str = defaults.FAMILY       # a name in lgn.nn.families.FAMILIES
    family_options: dict[str, int] = field(default_factory=dict)  # the family's own (lut_inputs, tiles, ...)
    widths: tuple[int, ...] = (1500, 1500)
    thresholds: int = defaults.THRESHOLDS  # input bits per feature (thermometer code)
    encoding: str = "auto"       # thresholds "even" over the feature range or at the training data's "quantile"s; auto: even for images
    tau: float = defaults.TAU    # GroupSum temperature
    wiring: str = defaults.WIRING  # "unique" or "random" connections; "local" (logic, sparse, dendritic): image patches
    window: int = defaults.WINDOW  # local wiring: side of the square image patch each unit reads
    residual_init: float | None = None
    grad_factor: float = defaults.GRAD_FACTOR
    candidates: int = defaults.CANDIDATES  # learned connections: inputs each pin chooses among (1: fixed wiring; 0: the whole pool)
    conv: tuple[int, ...] = ()   # convolutional blocks before the layers: kernels per block
    freeze_wiring: int | None = None  # after this epoch the learned connections stay at their argmax
    hard_forward: int | None = None   # after this epoch: wiring frozen, training on rounded bits (straight-through)
    shift: int = 0               # images: training samples moved by up to this many pixels at random
    epochs: int = 80
    batch_size: int = 64
    lr: float = 0.01
    schedule: str = "constant"   # learning rate: "constant" or "cosine" (annealed to 0)
    seed: int = 0

    def to_dict(self) -> dict:
        return asdict(self)

    def model_config(self, ds: Dataset) -> LogicNetConfig:
        """The architecture these options give on ``ds`` (checked when a :class:`LogicNet` is built)."""
        from lgn.nn.model import LogicNetConfig

        return LogicNetConfig(ds.num_features, ds.num_classes, tuple(self.widths), self.thresholds, ds.feature_range,
                              self.tau, self.residual_init, self.wiring, self.grad_factor, self.candidates,
                              seed=self.seed, family=self.family, family_options=dict(self.family_options),
                              image_shape=ds.image_shape, window=self.window, conv=tuple(self.conv))

    @classmethod
    def from_dict(cls, d: dict) -> "TrainOptions":
        """The options ``to_dict`` wrote, older versions' included (:func:`~lgn.nn.model.migrate_family_options`)."""
        from lgn.nn.model import migrate_family_options

        d = migrate_family_options(d, {f.name for f in fields(cls)})
        if "widths" in d:
            d["widths"] = tuple(d["widths"])
        if "conv" in d:
            d["conv"] = tuple(d["conv"])
        return cls(**d)


PRESETS: dict[str, TrainOptions] = {
    # Embedded sklearn digits: seconds per epoch, the demo's model. Gates on 5x5 patches: randomly
    # wired, the combinational network did not route on the UP5K once Yosys mapped it for the UP5K.
    "digits": TrainOptions(thresholds=4, tau=15.0, wiring="local", window=5),
    # MNIST for the iCE40UP5K (5,280 logic cells) with its UART top, pipelined: 5K gates, a 1000-bit
    # head, one threshold per pixel (every input bit costs the UP5K a logic cell in the input register),
    # every gate's candidates on a 9x9 patch: randomly wired, the same network routes at 20-34 MHz there.
    "mnist-xs": TrainOptions(preset="mnist-xs", dataset="mnist", widths=(2000, 2000, 1000), thresholds=1,
                             tau=4.0, wiring="local", window=9, candidates=4, epochs=20, batch_size=256, lr=0.1),
    # The best MNIST model that fits the iCE40UP5K behind its UART top: gates learning each input over
    # their whole 9x9 patch (--candidates all), which leaves a sparse netlist (2,126 of 6,800 gates after
    # the passes) and a narrower head (800 bits) than mnist-xs: 97.27% after 60 epochs on an H200 (about 2
    # minutes), 97.10% on one CPU thread (76 min); 2,833 LUT4 / 1,961 FF (72% of the cells), 47.6 MHz.
    "mnist-up5k": TrainOptions(preset="mnist-up5k", dataset="mnist", widths=(3000, 3000, 800), thresholds=1,
                               tau=4.0, wiring="local", window=9, candidates=0, epochs=60, batch_size=256, lr=0.1,
                               schedule="cosine"),
    # Lookup-table networks: 4-input tables (one LUT4 each), 4 candidates per pin. On digits (the demo's
    # model) 96.11% with 700 tables; wired from 5x5 patches, 95.28%.
    "digits-lut": TrainOptions(preset="digits-lut", family="lut", family_options={"lut_inputs": 4}, widths=(400, 300), thresholds=3,
                               tau=4.0, candidates=4, epochs=30, lr=0.05, schedule="cosine"),
    # On MNIST, from 9x9 patches: 96.09% with 4,000 tables.
    "mnist-lut": TrainOptions(preset="mnist-lut", dataset="mnist", family="lut", family_options={"lut_inputs": 4}, widths=(2000, 1000, 1000),
                              thresholds=1, tau=10.0, wiring="local", window=9, candidates=4, epochs=8, batch_size=256,
                              lr=0.05, schedule="cosine"),
    # At most 8,000 nodes: 6-input tables (8,000 LUT6 nodes) from 9x9 patches, training images moved by
    # up to a pixel: 98.94% after 30 epochs, 11 minutes on this 2-core CPU (unshifted, the network
    # reaches 100% on the training set by epoch 13 and stops at 98.27%).
    "mnist-8k": TrainOptions(preset="mnist-8k", dataset="mnist", family="lut", family_options={"lut_inputs": 6}, widths=(4000, 2000, 2000),
                             thresholds=1, tau=10.0, wiring="local", window=9, candidates=4, shift=1, epochs=30,
                             batch_size=256, lr=0.05, schedule="cosine"),
    # For the ECP5-85F: 4-input tables (one LUT4 each), every input learned over its 9x9 patch, images
    # moved by up to a pixel: 98.37% after 20 epochs (30 minutes on this 2-core CPU); the passes leave
    # 3,685 of the 11,000 tables, 6,379 LUT4 / 5,791 FF out of context at 150.2 MHz (150.9 on nextpnr seed 2).
    "mnist-ecp5": TrainOptions(preset="mnist-ecp5", dataset="mnist", family="lut", family_options={"lut_inputs": 4},
                               widths=(6000, 4000, 1000), thresholds=1, tau=8.0, wiring="local", window=9,
                               candidates=0, shift=1, epochs=20, batch_size=256, lr=0.05, schedule="cosine"),
    # MNIST with at most 16K gates; two thresholds per pixel, learned connections (4 candidates per
    # pin): fixed random wiring of the same size plateaus near 95% here.
    "mnist-s": TrainOptions(preset="mnist-s", dataset="mnist", widths=(4000, 4000, 4000, 4000), thresholds=2,
                            tau=8.0, candidates=4, epochs=16, batch_size=256, lr=0.1),
    # Binary neurons (XnorLinear + BatchNorm folded into thresholds) on digits, small enough to
    # unroll: 164 neurons over 14,592 weight bits; seconds per epoch.
    "digits-bnn": TrainOptions(preset="digits-bnn", family="binary", widths=(64, 100), thresholds=2, tau=4.0,
                               epochs=30, lr=0.01, schedule="cosine"),
    # MNIST with binary neurons, 3 layers (512, 512, 1000) over one threshold per pixel: 1,175,552
    # weight bits, too many to unroll; cosine-annealed Adam (a constant rate plateaus near 97%).
    "mnist-bnn": TrainOptions(preset="mnist-bnn", dataset="mnist", family="binary", widths=(512, 512, 1000),
                              thresholds=1, tau=8.0, epochs=15, batch_size=128, lr=0.005, schedule="cosine"),
    # mnist-bnn with every layer's weights one tile used 4 times: 4x fewer weight bits.
    "mnist-tbn4": TrainOptions(preset="mnist-tbn4", dataset="mnist", family="tiled", family_options={"tiles": 4}, widths=(512, 512, 1000),
                               thresholds=1, tau=8.0, epochs=15, batch_size=128, lr=0.005, schedule="cosine"),
    "digits-tbn4": TrainOptions(preset="digits-tbn4", family="tiled", family_options={"tiles": 4}, widths=(64, 100), thresholds=2,
                                tau=4.0, epochs=30, lr=0.01, schedule="cosine"),
    # Logic dendritic neurons on digits: 4 branches of 6 synapses each (AND branches, OR soma), each
    # neuron's synapses on a 5x5 patch of the image (or of the layer below, laid over it).
    "digits-dendrite": TrainOptions(preset="digits-dendrite", family="dendritic", widths=(400, 500), thresholds=2,
                                    tau=8.0, family_options={"branches": 4, "synapses": 6}, wiring="local", window=5, epochs=30, lr=0.02,
                                    schedule="cosine"),
    # Logic dendritic neurons on MNIST: 2000 neurons, 10,000 threshold units (~35 s per epoch here),
    # on 7x7 patches: randomly wired, the same network does not route on the ECP5-85F.
    "mnist-dendrite": TrainOptions(preset="mnist-dendrite", dataset="mnist", family="dendritic", widths=(1000, 1000),
                                   thresholds=1, tau=10.0, family_options={"branches": 4, "synapses": 6}, wiring="local", window=7,
                                   epochs=15, batch_size=256, lr=0.02, schedule="cosine"),
    # The dendritic presets' baselines: plain binary threshold units as many as theirs (a neuron's
    # branches and soma count), each reading as many inputs as a branch, from patches as large.
    "digits-sparse": TrainOptions(preset="digits-sparse", family="sparse", widths=(2000, 2500), thresholds=2,
                                  tau=8.0, family_options={"synapses": 6}, wiring="local", window=5, epochs=30, lr=0.01, schedule="cosine"),
    "mnist-sparse": TrainOptions(preset="mnist-sparse", dataset="mnist", family="sparse", widths=(5000, 5000),
                                 thresholds=1, tau=10.0, family_options={"synapses": 6}, wiring="local", window=7, epochs=15,
                                 batch_size=256, lr=0.01, schedule="cosine"),
    # Convolutional: one block of 24 logic-tree kernels (3x3 windows over 3 thresholds per pixel, OR
    # pooling: 125,736 gates unrolled) and 6-input tables laid over its 13x13 pooled image, each from a
    # 5x5 patch of it, images moved by up to a pixel, every gate and table starting near pass-through
    # (the paper's residual initialisation): 98.74% after 20 epochs, 21 minutes on one thread of this
    # CPU beside other jobs (98.31% without it). Streamed (`lgn compile --stream`), a
    # pixel per clock; too large for the iCE40UP5K and the ECP5-25F (a LUT6 costs about four LUT4).
    "mnist-conv": TrainOptions(preset="mnist-conv", dataset="mnist", conv=(24,), family="lut",
                               family_options={"lut_inputs": 6}, widths=(4000, 2000, 2000), thresholds=3, tau=10.0,
                               wiring="local", window=5, candidates=4, shift=1, residual_init=2.0, epochs=20,
                               batch_size=256, lr=0.05, schedule="cosine"),
    # mnist-conv for the ECP5-25F (the OrangeCrab): 28 kernels (146,692 gates unrolled, under the paper's
    # 147K), then 6-input tables over 5x5 patches, each pin choosing among 16 candidates: 98.51% (2,000 /
    # 1,000 / 1,000 tables at tau 8: 98.44%); streamed, it routes on the 25F at 72% with `lgn synth
    # --placer static` (docs/conv.md). 5,000 tables (98.51% too) do not place there.
    "mnist-conv-25f": TrainOptions(preset="mnist-conv-25f", dataset="mnist", conv=(28,), family="lut",
                                   family_options={"lut_inputs": 6}, widths=(2250, 1120, 1120), thresholds=3,
                                   tau=9.0, wiring="local", window=5, candidates=16, shift=1, residual_init=2.0,
                                   epochs=20, batch_size=256, lr=0.05, schedule="cosine"),
    # CIFAR-10 after the small LogicTreeNet of Petersen et al. (NeurIPS 2024; k = 32, 3 thresholds per
    # colour channel, residual initialisation, tau 20), for a GPU (`--device cuda`) and the data at hand:
    # not trained here (no GPU, no CIFAR-10 on this machine). Windows are valid (no padding), so three
    # blocks of k, 4k and 16k kernels take the 32x32 image to 2x2 (the paper's four padded blocks of up
    # to 32k end at 2x2 too); then dense gates of 1280k, 640k and 320k as published.
    "cifar10-s": TrainOptions(preset="cifar10-s", dataset="cifar10", conv=(32, 128, 512),
                              widths=(40960, 20480, 10240), thresholds=3, tau=20.0, residual_init=5.0,
                              epochs=100, batch_size=128, lr=0.02, schedule="cosine"),
    # MNIST with at most 64K gates (~42 min here with `--processes 2`).
    "mnist-m": TrainOptions(preset="mnist-m", dataset="mnist", widths=(16000, 16000, 16000, 16000), thresholds=2,
                            tau=16.0, candidates=4, epochs=15, batch_size=256, lr=0.1),
}


def resolve(preset: str, overrides: dict) -> TrainOptions:
    """The options of ``preset`` with every non-``None`` value of ``overrides`` replacing its field
    (a family's option, such as ``lut_inputs``, its entry of ``family_options``).

    A preset's local wiring and its family options go with its family: a family chosen over it
    keeps only the options it has, and a dense family (binary, tiled) gets the default wiring
    unless ``overrides`` ask for local wiring themselves. An option of another family's own
    (``--tiles`` for gates) is an :class:`LgnError`: it would do nothing."""
    from lgn.errors import LgnError
    from lgn.nn.families import FAMILIES, LOCAL_FAMILIES, OPTIONS

    given = {k: v for k, v in overrides.items() if v is not None}
    asked = {k: given.pop(k) for k in list(given) if k in OPTIONS}
    opts = replace(PRESETS[preset], **given)
    owned = FAMILIES[opts.family].option_specs
    for name in sorted(asked):
        if name not in owned:
            owners = [f.name for f in FAMILIES.values() if name in f.option_specs]
            flag = OPTIONS[name].flag
            raise LgnError(f"{flag} is an option of the {' and '.join(owners)} family, and this model's family is "
                           f"{opts.family}", f"drop {flag}, or pick --family {owners[0]}")
    kept = {k: v for k, v in opts.family_options.items() if k in owned}
    opts = replace(opts, family_options={**kept, **asked})
    if opts.wiring == "local" and opts.family not in LOCAL_FAMILIES and overrides.get("wiring") is None:
        opts = replace(opts, wiring=TrainOptions.wiring)
    return opts

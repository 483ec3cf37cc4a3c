"""Model families: one record each, the way :mod:`lgn.ir.ops` is one table for the 16 gates.

A record says how a width in ``LogicNetConfig.widths`` becomes a torch layer of the family, how a
locally wired layer draws its connections from image patches, how a trained layer lowers to IR
layers, and how the CLI describes it. :class:`~lgn.nn.model.LogicNet`, :func:`lgn.harden.harden`
and the CLI read this table and nothing else about families; adding a family adds a record here
and its layer module beside this one.

Its lowerings make this, with :mod:`lgn.harden`, one of the two modules that know both torch and
the IR.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import numpy as np
import torch
from torch import nn

from lgn.ir import tables
from lgn.ir.netlist import LutLayer, ThresholdLayer
from lgn.ir.conv import ConvTrees, OrPool
from lgn.nn.binary import SparseXnorLinear, TiledLinear, XnorLinear
from lgn.nn.conv import LogicConv2d, OrPool2d
from lgn.nn.dendritic import DendriticLinear
from lgn.nn.logic import LogicLayer
from lgn.nn.lookup import LookupLayer

if TYPE_CHECKING:
    from lgn.nn.model import LogicNetConfig

#: What report.json counts of a model, each family adding to those it has: two-input gates (of a
#: convolution at every position), lookup-table nodes, threshold units once hardened, and the
#: distinct ±1 weights a folded engine stores.
SIZES = ("gates", "lut_nodes", "threshold_units", "weight_bits")

#: ``(config, in_features, out_features, wiring, generator)``: ``wiring`` is the layer's local
#: connections (or, for a learned pool, its allowed-input mask), None for the family's own draw.
LayerBuilder = Callable[["LogicNetConfig", int, int, "torch.Tensor | None", torch.Generator], nn.Module]


@dataclass(frozen=True)
class Option:
    """An integer option of a family's own, ``--name-with-dashes`` on the command line.

    Members
    -------
    name, default, help, metavar:
        Its key in ``family_options``, its value when not given, and the CLI's description.
    most:
        The largest value it takes (None: any); every option is at least 1.
    """

    name: str
    default: int
    help: str
    metavar: str = "N"
    most: int | None = None

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def check(self, value: int) -> None:
        """ValueError unless ``value`` lies in this option's range."""
        if not isinstance(value, int) or value < 1 or (self.most is not None and value > self.most):
            span = f"1..{self.most}" if self.most is not None else "1 or more"
            raise ValueError(f"{self.flag} must be an integer in {span}, got {value!r}")


@dataclass(frozen=True)
class Family:
    """One model family.

    Members
    -------
    name, help:
        The ``--family`` value and its one-line description.
    layer_type:
        The torch layer class every width becomes.
    build:
        A :data:`LayerBuilder`.
    lower:
        A trained layer's IR layers (gate layers as ``(op, a, b)``, each reading the previous IR
        layer's outputs; see :func:`lgn.ir.netlist.feed_forward`).
    local_pins:
        Per unit, the shape of the connections local wiring draws from its patch (None: a dense
        family, which local wiring does not apply to).
    unit:
        What a layer's ``out_features`` counts, for :meth:`LogicNet.describe`, given the config
        and the model's :data:`SIZES`.
    sizes:
        A trained layer's contribution to the model's :data:`SIZES` (those it has).
    options:
        The family's own options (:class:`Option`: ``lut_inputs``, ``tiles``, ...), which a model keeps
        in ``LogicNetConfig.family_options``; the CLI offers each as a flag and refuses it for
        other families.
    learned_pins:
        Inputs per unit that can learn their source (``--candidates``, ``all`` among the whole
        pool), or None for a family whose connections stay as drawn.
    probabilities:
        Whether its relaxed outputs are probabilities of a 1, which ``--hard-forward`` rounds
        (:attr:`LogicNet.straight_through`).
    check:
        Raises ValueError when a config's widths or options do not fit the family (beyond each
        option's own range).
    """

    name: str
    help: str
    layer_type: type
    build: LayerBuilder
    lower: Callable[[nn.Module], list]
    local_pins: Callable[["LogicNetConfig"], tuple[int, ...]] | None
    unit: Callable[["LogicNetConfig", dict[str, int]], str]
    sizes: Callable[[nn.Module], dict[str, int]]
    options: tuple[Option, ...] = ()
    learned_pins: Callable[["LogicNetConfig"], int] | None = None
    probabilities: bool = False
    check: Callable[["LogicNetConfig"], None] = lambda config: None

    @property
    def option_specs(self) -> dict[str, Option]:
        """:attr:`options` by name."""
        return {o.name: o for o in self.options}


def _pins_first(conn: torch.Tensor | None) -> torch.Tensor | None:
    """Patch connections ``(units, pins, candidates)`` as a gate or table layer takes them:
    ``(pins, units[, candidates])``, the candidate axis dropped when there is one."""
    return None if conn is None else conn.movedim(1, 0).squeeze(-1)


def _logic(config, i, o, conn, generator):
    wiring = {"allowed": conn} if config.candidates == 0 else {"connections": _pins_first(conn)}
    return LogicLayer(i, o, generator=generator, wiring=config.wiring, residual_init=config.residual_init,
                      grad_factor=config.grad_factor, candidates=config.candidates, **wiring)


def _lut(config, i, o, conn, generator):
    wiring = {"allowed": conn} if config.candidates == 0 else {"connections": _pins_first(conn)}
    return LookupLayer(i, o, config.option("lut_inputs"), generator=generator, residual_init=config.residual_init,
                       candidates=config.candidates, **wiring)


def _lower_gates(layer: LogicLayer) -> list:
    return [(layer.hardened_ops().cpu().numpy(), *layer.hardened_connections().detach().cpu().numpy())]


def _lower_tables(layer: LookupLayer) -> list:
    src = layer.hardened_connections().t().contiguous().cpu().numpy().astype(np.int32)
    return [LutLayer(src, tables.pack(layer.hardened_tables().cpu().numpy()))]


def _lower_neurons(layer: XnorLinear) -> list:
    """Binary, tiled and sparse neurons: one threshold unit each (:meth:`XnorLinear.fold`)."""
    w, t = (v.cpu().numpy() for v in layer.fold())
    out, fan_in = w.shape
    return [ThresholdLayer(np.arange(0, out * fan_in + 1, fan_in, dtype=np.int32),
                           layer.sources().cpu().numpy().reshape(-1).astype(np.int32), w.reshape(-1).astype(np.uint8),
                           t.astype(np.int32))]


def _lower_dendrites(layer: DendriticLinear) -> list:
    """A layer of AND branches and a layer of OR somas (:meth:`DendriticLinear.hardened`)."""
    units, branch_of = layer.hardened()
    branches = ThresholdLayer.from_units((src.cpu().numpy(), w.cpu().numpy(), t) for src, w, t in units)
    somas = ThresholdLayer.from_units((row.numpy(), np.ones(len(row), np.uint8), 1) for row in branch_of)
    return [branches, somas]


_LUT_INPUTS = Option("lut_inputs", 4, "lut family: inputs per table, 1..6 (4: one LUT4)", "K", most=6)
_TILES = Option("tiles", 1, "tiled family: copies of each layer's tile", "P")
_BRANCHES = Option("branches", 4, "dendritic family: branches per neuron")
_SYNAPSES = Option("synapses", 6, "dendritic family: synapses per branch; sparse: inputs per neuron")


def _check_tiles(config: LogicNetConfig) -> None:
    tiles = config.option("tiles")
    if any(w % tiles for w in config.widths):
        raise ValueError(f"every layer width must be a multiple of tiles = {tiles}")


def _neurons(layer: XnorLinear) -> dict[str, int]:
    return {"threshold_units": layer.out_features, "weight_bits": layer.weight_bits}


_FAMILIES = (
    Family("logic", "gate layers (difflogic's 16-gate softmax per node)", LogicLayer, _logic, _lower_gates,
           lambda c: (2, c.candidates), lambda c, n: "gates", lambda layer: {"gates": layer.out_features},
           learned_pins=lambda c: 2, probabilities=True),
    Family("lut", "layers of --lut-inputs-input lookup tables", LookupLayer, _lut, _lower_tables,
           lambda c: (c.option("lut_inputs"), c.candidates), lambda c, n: f"LUT{c.option('lut_inputs')} nodes",
           lambda layer: {"lut_nodes": layer.out_features}, (_LUT_INPUTS,),
           learned_pins=lambda c: c.option("lut_inputs"), probabilities=True),
    Family("binary", "XNOR-popcount neurons with BatchNorm", XnorLinear,
           lambda c, i, o, _, g: XnorLinear(i, o, g), _lower_neurons, None, lambda c, n: "binary neurons", _neurons),
    Family("tiled", "binary neurons whose weights are one tile reused --tiles times", TiledLinear,
           lambda c, i, o, _, g: TiledLinear(i, o, c.option("tiles"), g), _lower_neurons, None,
           lambda c, n: "binary neurons", _neurons, (_TILES,), check=_check_tiles),
    Family("sparse", "binary neurons of --synapses random inputs each", SparseXnorLinear,
           lambda c, i, o, conn, g: SparseXnorLinear(i, o, c.option("synapses"), g, conn), _lower_neurons,
           lambda c: (c.option("synapses"),), lambda c, n: "binary neurons", _neurons, (_SYNAPSES,)),
    Family("dendritic", "AND branches of --synapses literals, OR somas of --branches branches", DendriticLinear,
           lambda c, i, o, conn, g: DendriticLinear(i, o, c.option("branches"), c.option("synapses"), g, conn),
           _lower_dendrites,
           lambda c: (c.option("branches"), c.option("synapses")),  # a neuron's branches all read its own patch
           lambda c, n: f"dendritic neurons ({n['threshold_units']} threshold units)",
           lambda layer: {"threshold_units": layer.out_features * (layer.branches + 1)},  # its branches and soma
           (_BRANCHES, _SYNAPSES)),
)

#: The families by name, in the CLI's order.
FAMILIES: dict[str, Family] = {f.name: f for f in _FAMILIES}
#: Every family's options by name, for the CLI (an option two families share appears once).
OPTIONS: dict[str, Option] = {o.name: o for f in _FAMILIES for o in f.options}
#: The families whose units learn their inputs, which ``--candidates all`` applies to.
LEARNED_FAMILIES: tuple[str, ...] = tuple(f.name for f in _FAMILIES if f.learned_pins is not None)
#: The families whose forward pass ``--hard-forward`` rounds to bits.
STRAIGHT_THROUGH_FAMILIES: tuple[str, ...] = tuple(f.name for f in _FAMILIES if f.probabilities)
#: The families with sparse wiring, which ``--wiring local`` applies to.
LOCAL_FAMILIES: tuple[str, ...] = tuple(f.name for f in _FAMILIES if f.local_pins is not None)


def family_of(layer: nn.Module) -> Family:
    """The family of a torch layer; TypeError for a module of none."""
    # the most derived class first: TiledLinear and SparseXnorLinear are XnorLinears
    for family in sorted(_FAMILIES, key=lambda f: -len(f.layer_type.__mro__)):
        if isinstance(layer, family.layer_type):
            return family
    raise TypeError(f"{type(layer).__name__} is no layer of an lgn model family")


def conv_stage(layer: LogicConv2d | OrPool2d) -> ConvTrees | OrPool:
    """The IR stage of a trained convolutional layer, its sharing kept (:mod:`lgn.ir.conv`)."""
    if isinstance(layer, OrPool2d):
        return OrPool(tuple(layer.image), layer.channels).validate()
    leaves = layer.leaf_offsets.permute(1, 2, 0).cpu().numpy().astype(np.int32)  # (kernels, leaves, 3)
    tree = np.concatenate([op.cpu().numpy() for op in layer.hardened_ops()], 1).astype(np.uint8)
    return ConvTrees(tuple(layer.image), layer.in_channels, layer.kernel, leaves, tree).validate()


def _lower_conv(layer: LogicConv2d | OrPool2d) -> list:
    """A convolutional layer unrolled position by position (:meth:`ConvTrees.unroll`, :meth:`OrPool.unroll`)."""
    return conv_stage(layer).unroll()


#: Layers that are no family of their own but lower to gate layers: the convolutional blocks.
_SHARED_LOWERINGS: dict[type, Callable[[nn.Module], list]] = dict.fromkeys((LogicConv2d, OrPool2d), _lower_conv)


def lowerable(layer: nn.Module) -> bool:
    """Whether :func:`lower` takes ``layer``."""
    return type(layer) in _SHARED_LOWERINGS or any(isinstance(layer, f.layer_type) for f in _FAMILIES)


def lower(layer: nn.Module) -> list:
    """The IR layers of one trained torch layer of any family, or of a convolutional block."""
    if type(layer) in _SHARED_LOWERINGS:
        return _SHARED_LOWERINGS[type(layer)](layer)
    return family_of(layer).lower(layer)

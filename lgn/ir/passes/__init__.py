"""Optimising passes: IR in, IR out, each computing the same class scores as its input.

Like a Yosys script, the default pipeline is a short list of small passes run to a fixed point:

- :func:`constprop` folds constant gates and threshold units into their readers,
- :func:`bypass` folds buffers and inverters into their readers,
- :func:`strash` merges nodes computing the same function of the same bits,
- :func:`dce` removes what no class score depends on.

The first three only rewire; ``dce`` is the one that removes nodes.
"""

from __future__ import annotations

from typing import Callable

from lgn.ir.netlist import Netlist
from lgn.ir.passes.bypass import bypass
from lgn.ir.passes.common import PassReport
from lgn.ir.passes.constprop import constprop
from lgn.ir.passes.dce import dce
from lgn.ir.passes.strash import strash

Pass = Callable[[Netlist], tuple[Netlist, PassReport]]

PASSES: dict[str, Pass] = {"constprop": constprop, "bypass": bypass, "strash": strash, "dce": dce}
DEFAULT: tuple[str, ...] = ("constprop", "bypass", "strash", "dce")
MAX_ROUNDS = 8


def run(net: Netlist, names: tuple[str, ...] = DEFAULT) -> tuple[Netlist, list[PassReport]]:
    """Apply the passes ``names`` in order, repeated while a round still removes nodes."""
    unknown = [n for n in names if n not in PASSES]
    if unknown:
        raise ValueError(f"unknown pass {unknown[0]!r}; choose from {', '.join(PASSES)}")
    reports: list[PassReport] = []
    for _ in range(MAX_ROUNDS):
        before = net.num_nodes
        for name in names:
            net, rep = PASSES[name](net)
            reports.append(rep)
        if net.num_nodes == before:
            break
    return net, reports


__all__ = ["DEFAULT", "PASSES", "PassReport", "bypass", "constprop", "dce", "run", "strash"]

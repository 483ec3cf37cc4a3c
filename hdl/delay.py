"""Register chains that keep values in step through a pipeline."""

from __future__ import annotations

from amaranth.hdl import Module, Signal, Value


def delayed_name(name: str, k: int) -> str:
    """The name of register ``k`` (0 first) of the chain :func:`delay` builds for ``name``."""
    return f"{name}_d{k}"


def delay(m: Module, value: Value, cycles: int, name: str) -> Value:
    """``value`` seen ``cycles`` clock cycles later (``value`` itself when ``cycles`` is 0).

    Like every pipeline register lgn builds, these have no reset: a pipeline flushes itself in
    :attr:`latency` cycles, and a reset would route to every flip-flop (on a nearly full UP5K,
    the difference between routing and not).
    """
    for k in range(cycles):
        reg = Signal(len(value), name=delayed_name(name, k), reset_less=True)
        m.d.sync += reg.eq(value)
        value = reg
    return value

"""Register chains that keep values in step through a pipeline."""

from __future__ import annotations

from amaranth.hdl import Module, Signal, Value


def delay(m: Module, value: Value, cycles: int, name: str) -> Value:
    """``value`` seen ``cycles`` clock cycles later (``value`` itself when ``cycles`` is 0)."""
    for k in range(cycles):
        reg = Signal(len(value), name=f"{name}_d{k}")
        m.d.sync += reg.eq(value)
        value = reg
    return value

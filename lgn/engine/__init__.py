"""A fast CPU engine for hardened netlists.

:func:`build` turns a netlist into a compiled, bit-sliced C function (see :mod:`.codegen`) and
loads it; where no C compiler is found it falls back to the numpy reference executor. Either
way :meth:`Engine.run` returns exactly what :func:`lgn.ir.executor.run` returns.
"""

from __future__ import annotations

import ctypes
import time
from dataclasses import dataclass

import numpy as np

from lgn.errors import LgnError
from lgn.ir import executor
from lgn.ir.executor import Prediction
from lgn.ir.netlist import Netlist

BACKENDS = ("auto", "c", "numpy")


@dataclass
class Engine:
    """A netlist ready to run. ``backend`` is ``"c"`` or ``"numpy"``; ``build_s`` the time to build it."""

    net: Netlist
    backend: str
    build_s: float
    cached: bool = False
    _fn: object = None

    def run(self, raw: np.ndarray) -> Prediction:
        """Class scores and classes for ``(n, num_features)`` raw samples, on one core."""
        x = np.ascontiguousarray(raw, dtype=np.float32)
        if x.ndim != 2 or x.shape[1] != self.net.inputs.num_features:
            raise ValueError(f"expected samples with {self.net.inputs.num_features} features, "
                             f"got an array of shape {x.shape}")
        if self._fn is None:
            return executor.run(self.net, x)
        n = len(x)
        scores = np.empty((n, self.net.head.num_classes), dtype=np.int32)
        classes = np.empty(n, dtype=np.int64)
        if self._fn(x.ctypes.data, n, scores.ctypes.data, classes.ctypes.data) != 0:
            raise MemoryError("the engine could not allocate its working memory")
        return Prediction(scores.astype(np.int64), classes)


def build(net: Netlist, backend: str = "auto") -> Engine:
    """An :class:`Engine` for ``net``: compiled C (``"c"``), numpy (``"numpy"``), or C when a
    compiler is available and numpy otherwise (``"auto"``)."""
    from lgn.engine import codegen
    from lgn.engine.native import compiler, shared_library

    if backend not in BACKENDS:
        raise LgnError(f"unknown engine backend {backend!r}", f"choose one of {', '.join(BACKENDS)}")
    start = time.perf_counter()
    cc = compiler() if backend != "numpy" else None
    if cc is None:
        if backend == "c":
            raise LgnError("no C compiler found for the compiled engine", "install gcc or clang, set $CC, "
                           "or use the numpy backend")
        return Engine(net, "numpy", time.perf_counter() - start)
    path, cached = shared_library(codegen.generate(net), cc)
    fn = ctypes.CDLL(str(path)).lgn_run
    fn.argtypes = [ctypes.c_void_p, ctypes.c_int64, ctypes.c_void_p, ctypes.c_void_p]
    fn.restype = ctypes.c_int
    return Engine(net, "c", time.perf_counter() - start, cached, fn)

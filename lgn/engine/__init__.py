"""A fast CPU engine for hardened netlists.

:func:`build` turns a netlist into a program for a bit-sliced C kernel (see :mod:`.codegen`),
compiled once per machine with the system C compiler and cached, so building an engine for a
new network costs no compiler time. Where no compiler is found it falls back to the numpy
reference executor. Either way :meth:`Engine.run` returns exactly what
:func:`lgn.ir.executor.run` returns.
"""

from __future__ import annotations

import ctypes
import time
from dataclasses import dataclass, field
from importlib import resources

import numpy as np

from lgn.errors import LgnError
from lgn.ir import executor
from lgn.ir.executor import Prediction
from lgn.ir.netlist import Netlist

BACKENDS = ("auto", "c", "numpy")

_P32, _PF = ctypes.POINTER(ctypes.c_int32), ctypes.POINTER(ctypes.c_float)


class _Program(ctypes.Structure):
    """The kernel's ``program`` struct (kernel.c)."""

    _fields_ = [(name, ctypes.c_int32) for name in ("num_features", "num_classes", "num_slots", "num_runs",
                                                    "num_ranks")] + \
               [(name, _P32) for name in ("run_op", "run_start", "a", "b", "c", "d", "e", "enc_feature",
                                          "enc_slot", "rank_start")] + \
               [("rank_threshold", _PF), ("plane_slot", _P32), ("plane_start", _P32)]


@dataclass
class Engine:
    """A netlist ready to run: ``backend`` is ``"c"`` or ``"numpy"``, ``build_s`` the seconds it took."""

    net: Netlist
    backend: str
    build_s: float
    _kernel: object = None
    _program: object = None
    _keep: list = field(default_factory=list)  # the arrays the C struct points into

    def run(self, raw: np.ndarray) -> Prediction:
        """Class scores and classes for ``(n, num_features)`` raw samples, on one core."""
        x = executor.samples(self.net.inputs, raw)
        if self._kernel is None:
            return executor.run(self.net, x)
        n = len(x)
        scores = np.empty((n, self.net.head.num_classes), dtype=np.int32)
        classes = np.empty(n, dtype=np.int64)
        if self._kernel(ctypes.byref(self._program), x.ctypes.data, n, scores.ctypes.data, classes.ctypes.data):
            raise MemoryError("the engine could not allocate its working memory")
        return Prediction(scores.astype(np.int64), classes)


def kernel(cc: str):
    """The compiled kernel's ``lgn_run`` (compiled on first use, then cached)."""
    from lgn.engine.native import shared_library

    path, _ = shared_library(resources.files("lgn.engine").joinpath("kernel.c").read_text(), cc)
    fn = ctypes.CDLL(str(path)).lgn_run
    fn.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64, ctypes.c_void_p, ctypes.c_void_p]
    fn.restype = ctypes.c_int
    return fn


def build(net: Netlist, backend: str = "auto") -> Engine:
    """An :class:`Engine` for ``net``: the C kernel (``"c"``), numpy (``"numpy"``), or the kernel
    when a C compiler is available and numpy otherwise (``"auto"``)."""
    from lgn.engine.codegen import compile_program
    from lgn.engine.native import compiler

    if backend not in BACKENDS:
        raise LgnError(f"unknown engine backend {backend!r}", f"choose one of {', '.join(BACKENDS)}")
    start = time.perf_counter()
    cc = compiler() if backend != "numpy" else None
    if cc is None:
        if backend == "c":
            raise LgnError("no C compiler found for the compiled engine",
                           "install gcc or clang, set $CC, or use the numpy backend")
        return Engine(net, "numpy", time.perf_counter() - start)
    fn = kernel(cc)
    prog = compile_program(net)
    keep = [prog.run_op, prog.run_start, prog.a, prog.b, prog.c, prog.d, prog.e, prog.enc_feature, prog.enc_slot,
            prog.rank_start, prog.rank_threshold, prog.plane_slot, prog.plane_start]
    pointers = [arr.ctypes.data_as(_PF if arr.dtype == np.float32 else _P32) for arr in keep]
    struct = _Program(prog.num_features, prog.num_classes, prog.num_slots, len(prog.run_op),
                      len(prog.rank_threshold), *pointers)
    return Engine(net, "c", time.perf_counter() - start, fn, struct, keep)

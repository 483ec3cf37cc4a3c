"""Compiled CPU kernels of training (``cpu_kernels.c``): :class:`~lgn.nn.lookup.LookupLayer`'s
relaxation, the score gradient of a :class:`~lgn.nn.mapping.LearnedMapping` over patches, and the
logic trees of a :class:`~lgn.nn.conv.LogicConv2d`.

torch's autograd of the multilinear read (:func:`lgn.nn.lookup.multilinear`) keeps every
interpolation level of every node and sample (63 values per sample for a 6-input table) and
zero-fills a gradient per slice; a pin's candidate mixture gathers, scales and scatters one
``(nodes, batch)`` tensor per candidate. On CPUs both are memory-bound and make LUT6 networks
train slowly. The kernels compute the same sums with a block of samples of one node in L1 (the
backward recomputes the levels) and read the candidates in place; the rows are split among
torch's intra-op threads (ctypes releases the GIL), and every output is a sum in one fixed order
whatever the split. A convolution's trees are evaluated whole for a block of columns (position x
sample) in L1, where torch writes and reads every level of every kernel at every position. They agree with the torch definitions to float rounding, in value and gradient
(``tests/test_nn.py``); ``bench/kernel_train_speed.py`` measures the two. Where no C compiler works,
:func:`available` is False and the layer keeps the torch definitions; ``LGN_CPU_KERNELS=0`` asks
for them too.
"""

from __future__ import annotations

import ctypes
import functools
import os
from concurrent.futures import ThreadPoolExecutor
from importlib import resources

import torch

_FLAGS = ("-O3", "-march=native", "-shared", "-fPIC", "-std=gnu11")


@functools.cache
def _library() -> ctypes.CDLL | None:
    """The compiled kernels, or None without a working C compiler."""
    from lgn.engine.native import compiler, shared_library
    from lgn.errors import ToolError

    cc = compiler()
    if cc is None:
        return None
    try:
        path, _ = shared_library(resources.files("lgn.nn").joinpath("cpu_kernels.c").read_text(), cc, _FLAGS)
    except ToolError:
        return None
    lib = ctypes.CDLL(str(path))
    i64, ptr = ctypes.c_int64, ctypes.c_void_p
    lib.lgn_multilinear_forward.argtypes = [ctypes.c_int, i64, i64, i64, i64, ptr, ptr, ptr]
    lib.lgn_multilinear_backward.argtypes = [ctypes.c_int, i64, i64, i64, i64, ptr, ptr, ptr, ptr, ptr]
    lib.lgn_mix_forward.argtypes = [i64, i64, i64, i64, ptr, ptr, ptr, ptr]
    lib.lgn_gather_dot.argtypes = [i64, i64, i64, i64, i64, ptr, ptr, ptr, ptr]
    lib.lgn_mix_backward_inputs.argtypes = [i64, i64, i64, i64, ptr, ptr, ptr, ptr, ptr]
    lib.lgn_tree_forward.argtypes = [ctypes.c_int, i64, i64, i64, i64, ptr, ptr, ptr, ptr]
    lib.lgn_tree_backward.argtypes = [ctypes.c_int, i64, i64, i64, i64, ptr, ptr, ptr, ptr, ptr, ptr]
    return lib


def available(*tensors: torch.Tensor) -> bool:
    """Whether the kernels take these tensors: float32 (or integer indices) on the CPU, a C
    compiler that built them, and ``LGN_CPU_KERNELS`` is not ``0``."""
    return (os.environ.get("LGN_CPU_KERNELS", "1") != "0"
            and all(t.device.type == "cpu" and t.dtype in (torch.float32, torch.int64) for t in tensors)
            and _library() is not None)


@functools.cache
def _pool(threads: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(threads, thread_name_prefix="lgn-lut")


def _split(fn, rows: int, head: tuple, *tail, grain: int = 64) -> None:
    """``fn(*head, lo, hi, *tail)`` over ``[0, rows)``, one contiguous range of at least ``grain``
    rows per torch thread."""
    threads = max(1, min(torch.get_num_threads(), rows // grain))
    if threads == 1:
        fn(*head, 0, rows, *tail)
        return
    bounds = [rows * t // threads for t in range(threads + 1)]
    for job in [_pool(threads).submit(fn, *head, lo, hi, *tail) for lo, hi in zip(bounds, bounds[1:])]:
        job.result()


def _ptr(*tensors: torch.Tensor) -> list[int]:
    return [t.data_ptr() for t in tensors]


def _check_index(index: torch.Tensor, inputs: int) -> None:
    """The kernels read rows through ``index`` unchecked: an index out of range (a damaged
    checkpoint's wiring) is the IndexError torch's own gather would raise, not a wild read."""
    if index.numel() and (int(index.min()) < 0 or int(index.max()) >= inputs):
        raise IndexError(f"an input index outside 0..{inputs - 1} (the layer's wiring is damaged)")


class _Multilinear(torch.autograd.Function):
    @staticmethod
    def forward(ctx, pins: torch.Tensor, entries: torch.Tensor) -> torch.Tensor:
        pins, entries = pins.contiguous(), entries.contiguous()
        k, nodes, batch = pins.shape
        y = pins.new_empty(nodes, batch)
        _split(_library().lgn_multilinear_forward, nodes, (k, nodes, batch), *_ptr(pins, entries, y))
        ctx.save_for_backward(pins, entries)
        return y

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        pins, entries = ctx.saved_tensors
        grad = grad.contiguous()  # held here: the kernel reads it through a raw pointer
        k, nodes, batch = pins.shape
        grad_pins, grad_entries = torch.empty_like(pins), torch.empty_like(entries)
        _split(_library().lgn_multilinear_backward, nodes, (k, nodes, batch),
               *_ptr(pins, entries, grad, grad_pins, grad_entries))
        return grad_pins, grad_entries


def multilinear(pins: torch.Tensor, entries: torch.Tensor) -> torch.Tensor:
    """:func:`lgn.nn.lookup.multilinear`: ``(out, batch)`` tables ``entries`` ``(out, 2**k)`` read
    at the pin values ``pins`` ``(k, out, batch)``."""
    return _Multilinear.apply(pins, entries)


class _Mix(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, candidates: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        x, candidates, weights = x.contiguous(), candidates.contiguous(), weights.contiguous()
        _check_index(candidates, x.shape[0])
        *rows, c = candidates.shape
        batch = x.shape[1]
        pins = x.new_empty(*rows, batch)
        _split(_library().lgn_mix_forward, pins.numel() // batch, (c, batch), *_ptr(x, candidates, weights, pins))
        ctx.save_for_backward(x, candidates, weights)
        return pins

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        x, candidates, weights = ctx.saved_tensors
        lib, grad = _library(), grad.contiguous()
        c, batch, inputs = candidates.shape[-1], x.shape[1], x.shape[0]
        grad_x = grad_w = None
        if ctx.needs_input_grad[2]:
            grad_w = gather_dot(x, candidates, grad)
        if ctx.needs_input_grad[0]:
            order = torch.sort(candidates.reshape(-1), stable=True).indices
            start = torch.zeros(inputs + 1, dtype=torch.int64)
            torch.cumsum(torch.bincount(candidates.reshape(-1), minlength=inputs), 0, out=start[1:])
            grad_x = torch.empty_like(x)
            _split(lib.lgn_mix_backward_inputs, inputs, (c, batch), *_ptr(order, start, weights, grad, grad_x))
        return grad_x, None, grad_w


def gather_dot(x: torch.Tensor, index: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
    """``(*rows, c)``: ``out[..., j] = sum_b grad[..., b] * x[index[..., j], b]`` for ``x``
    ``(inputs, batch)``, ``grad`` ``(*rows, batch)`` and ``index`` ``(*rows, c)``, or the trailing
    part of it broadcast over the leading rows (no autograd)."""
    x, index, grad = x.contiguous(), index.contiguous(), grad.contiguous()
    _check_index(index, x.shape[0])
    batch, c = x.shape[1], index.shape[-1]
    rows = grad.numel() // batch
    out = x.new_empty(*grad.shape[:-1], c)
    _split(_library().lgn_gather_dot, rows, (c, batch), index.numel() // c, *_ptr(x, index, grad, out))
    return out


def mix(x: torch.Tensor, candidates: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """``(*rows, batch)``: ``sum_j weights[..., j] * x[candidates[..., j]]`` for inputs ``x``
    ``(inputs, batch)``, candidate indices and their weights ``(*rows, c)``."""
    return _Mix.apply(x, candidates, weights)


TREE_CHUNK = 1024  # columns per chunk of the tree kernels (CHUNK in cpu_kernels.c)
TREE_MAX_DEPTH = 6  # MAXD in cpu_kernels.c


class _Trees(torch.autograd.Function):
    @staticmethod
    def forward(ctx, win: torch.Tensor, leaves: torch.Tensor, coef: torch.Tensor) -> torch.Tensor:
        win, leaves, coef = win.contiguous(), leaves.contiguous(), coef.contiguous()
        _check_index(leaves, win.shape[0])
        (kernels, count), columns = leaves.shape, win.shape[1]
        depth = count.bit_length() - 1
        y = win.new_empty(kernels, columns)
        _split(_library().lgn_tree_forward, -(-columns // TREE_CHUNK), (depth, kernels, columns),
               *_ptr(win, leaves, coef, y), grain=1)
        ctx.save_for_backward(win, leaves, coef)
        return y

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        win, leaves, coef = ctx.saved_tensors
        grad = grad.contiguous()
        (kernels, count), columns = leaves.shape, win.shape[1]
        chunks = -(-columns // TREE_CHUNK)
        grad_win = torch.zeros_like(win)
        part = coef.new_empty(chunks, *coef.shape)
        _split(_library().lgn_tree_backward, chunks, (count.bit_length() - 1, kernels, columns),
               *_ptr(win, leaves, coef, grad, grad_win, part), grain=1)
        return grad_win, None, part.sum(0)


def trees(win: torch.Tensor, leaves: torch.Tensor, coef: torch.Tensor) -> torch.Tensor:
    """``(kernels, columns)``: each kernel's relaxed tree of two-input gates over ``win``
    ``(rows, columns)``, leaf ``j`` of kernel ``k`` reading row ``leaves[k, j]`` (``(kernels,
    2**depth)``, depth at most :data:`TREE_MAX_DEPTH`), gate coefficients ``coef`` ``(kernels,
    2**depth - 1, 4)`` level by level from the leaves, gate ``i`` of a level reading the level
    below's nodes ``2i`` (pin a) and ``2i + 1`` (pin b)."""
    return _Trees.apply(win, leaves, coef)

"""Convolutional logic layers (Petersen et al., NeurIPS 2024): logic-tree kernels and OR pooling.

Activations are feature-major like every lgn layer, ``(features, batch)``, and an image's
features are laid out pixel-major, each pixel's channels adjacent (bit ``(row * cols + col) *
channels + c``), as :class:`~lgn.nn.encoder.ThresholdEncoder` lays out the thresholds of an
image's pixels: a convolution's input channels are a pixel's encoded bits.

A kernel is a binary tree of two-input gates of depth ``depth`` whose ``2**depth`` leaves read
fixed offsets of a ``kernel x kernel`` window over a group of ``group`` input channels drawn for
its output channel; the tree's gates and wiring are shared by every window position (valid
windows, stride 1). :class:`OrPool2d` ORs each 2x2 block (stride 2), relaxed as their maximum.
Hardened, both are plain gate layers, position by position (:func:`lgn.nn.families.lower`).
"""

from __future__ import annotations

import torch
from torch import nn

from lgn.ir import ops
from lgn.ir.conv import tree_levels
from lgn.nn import cpu_kernels
from lgn.nn.logic import GATE_COEFFICIENTS, GateMixture


def _slots(bits: int) -> list[int]:
    """The node each slot of a tree level of ``2**bits`` nodes holds: node ``i`` at the slot of
    its bits reversed, so that the level above's pin-a nodes (even ``i``) fill the first half in
    that level's own slot order and its pin-b nodes (odd ``i``) the second."""
    return [int(format(i, f"0{bits}b")[::-1], 2) if bits else 0 for i in range(1 << bits)]


class LogicConv2d(nn.Module):
    """Logic-tree kernels over an image of ``in_channels`` bits per pixel.

    Parameters
    ----------
    in_channels, out_channels:
        Bits per input pixel; kernels, one output bit per output pixel each.
    image:
        ``(rows, cols)`` of the input; the output is ``(rows - kernel + 1, cols - kernel + 1)``.
    kernel, depth, group:
        The window's side, the tree's depth (``2**depth`` leaves, ``2**depth - 1`` gates) and the
        input channels each kernel reads.
    residual_init:
        Start every gate near pass-through A with this logit (the paper's residual initialisation),
        else Gaussian logits.
    """

    def __init__(self, in_channels: int, out_channels: int, image: tuple[int, int], *, generator: torch.Generator,
                 kernel: int = 3, depth: int = 3, group: int = 2, residual_init: float | None = None) -> None:
        super().__init__()
        rows, cols = image
        if kernel > min(rows, cols) or depth < 1 or not 1 <= group <= in_channels:
            raise ValueError(f"a {kernel}x{kernel} kernel of depth {depth} over {group} of {in_channels} channels "
                             f"does not fit a {rows}x{cols} image")
        self.in_channels, self.out_channels, self.image = in_channels, out_channels, (rows, cols)
        self.kernel, self.depth = kernel, depth
        self.out_image = (rows - kernel + 1, cols - kernel + 1)
        self.in_features = rows * cols * in_channels
        self.out_features = self.out_image[0] * self.out_image[1] * out_channels
        leaves = 1 << depth
        # each kernel's leaves: a channel of its group and an offset in the window
        groups = torch.stack([torch.randperm(in_channels, generator=generator)[:group] for _ in range(out_channels)])
        channel = groups.gather(1, torch.randint(group, (out_channels, leaves), generator=generator))
        dy = torch.randint(kernel, (out_channels, leaves), generator=generator)
        dx = torch.randint(kernel, (out_channels, leaves), generator=generator)
        self.register_buffer("leaf_offsets", torch.stack([dy, dx, channel]))  # (3, out_channels, leaves)
        gates = leaves - 1
        if residual_init is None:
            logits = torch.randn(out_channels, gates, ops.NUM_OPS, generator=generator)
        else:
            logits = torch.zeros(out_channels, gates, ops.NUM_OPS)
            logits[..., ops.NAMES.index("A")] = residual_init
        self.logits = nn.Parameter(logits)  # the gates level by level from the leaves (:meth:`levels`)
        self.register_buffer("coefficients", GATE_COEFFICIENTS.clone(), persistent=False)
        # the window row each leaf reads, on the layer's device: derived from leaf_offsets, so
        # derived again whenever a state_dict replaces them
        self.register_buffer("_leaf_rows", self._rows(), persistent=False)
        self.register_load_state_dict_post_hook(lambda module, _: setattr(module, "_leaf_rows", module._rows()))

    @property
    def num_gates(self) -> int:
        """Gates once unrolled: the tree at every position."""
        return self.out_features * ((1 << self.depth) - 1)

    def _rows(self) -> torch.Tensor:
        """``(out_channels, 2**depth)``: the row of :meth:`_windows` each leaf reads."""
        dy, dx, channel = self.leaf_offsets
        return ((dy * self.kernel + dx) * self.in_channels + channel).contiguous()

    def _windows(self, x: torch.Tensor) -> torch.Tensor:
        """``(kernel**2 * in_channels, positions * batch)``: row ``(dy * kernel + dx) * in_channels
        + c`` holds bit ``c`` of pixel ``(dy, dx)`` of every window, windows in raster order."""
        (rows, cols), (out_rows, out_cols) = self.image, self.out_image
        image = x.view(rows, cols, self.in_channels, -1)
        shifted = torch.stack([image[dy:dy + out_rows, dx:dx + out_cols]
                               for dy in range(self.kernel) for dx in range(self.kernel)])
        return shifted.permute(0, 3, 1, 2, 4).reshape(self.kernel ** 2 * self.in_channels, -1)

    def levels(self) -> list[torch.Tensor]:
        """The gates' logits level by level from the leaves: level ``l`` has ``2**(depth-1-l)``
        gates per kernel, gate ``i`` reading the level below's outputs ``2i`` and ``2i + 1``."""
        return [self.logits[:, level] for level in tree_levels(self.depth)]

    def hardened_ops(self) -> list[torch.Tensor]:
        """Per level, ``(out_channels, gates)`` op codes (argmax, ties to the lowest)."""
        return [level.argmax(-1) for level in self.levels()]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2 or x.shape[0] != self.in_features:
            raise ValueError(f"LogicConv2d expects (in_features={self.in_features}, batch) inputs, got {tuple(x.shape)}")
        weights = (torch.softmax(self.logits, -1) if self.training
                   else nn.functional.one_hot(self.logits.argmax(-1), ops.NUM_OPS).to(self.logits.dtype))
        coefficients = weights @ self.coefficients  # (out_channels, gates, 4), level by level
        windows = self._windows(x)
        if self.depth <= cpu_kernels.TREE_MAX_DEPTH and cpu_kernels.available(windows, coefficients):
            v = cpu_kernels.trees(windows, self._leaf_rows, coefficients)
        else:
            v = self._levels(windows, coefficients)
        # (out_channels, positions * batch) -> pixel-major, channels adjacent
        return v.view(self.out_channels, self.out_image[0] * self.out_image[1], -1).transpose(0, 1).reshape(
            self.out_features, -1)

    def _levels(self, windows: torch.Tensor, coefficients: torch.Tensor) -> torch.Tensor:
        """:meth:`forward`'s trees in torch: a level's values sit in slot order, kernels innermost,
        so the a pins of the level above are the first half and its b pins the second and every
        level is one gate layer over contiguous rows (where a gather per leaf and position scatters)."""
        v = windows.index_select(0, self._leaf_rows[:, _slots(self.depth)].T.reshape(-1))
        for level in tree_levels(self.depth):
            gates = level.stop - level.start
            c = coefficients[:, level][:, _slots(gates.bit_length() - 1)]  # (out_channels, gates, 4)
            rows = torch.arange(gates * self.out_channels, device=v.device)
            v = GateMixture.apply(v, torch.stack([rows, rows + len(rows)]), c.transpose(0, 1).reshape(-1, 4), 1.0)
        return v

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, image={self.image}, kernel={self.kernel}, "
                f"depth={self.depth}")


class OrPool2d(nn.Module):
    """The OR of every 2x2 block of each channel, stride 2 (odd edges dropped); relaxed as the
    maximum, which is the OR on bits."""

    def __init__(self, channels: int, image: tuple[int, int]) -> None:
        super().__init__()
        rows, cols = image
        if min(rows, cols) < 2:
            raise ValueError(f"2x2 pooling needs an image of at least 2x2, not {rows}x{cols}")
        self.channels, self.image, self.out_image = channels, (rows, cols), (rows // 2, cols // 2)
        self.in_features = rows * cols * channels
        self.out_features = self.out_image[0] * self.out_image[1] * channels
        self.register_buffer("_sources", self._corners(), persistent=False)

    @property
    def num_gates(self) -> int:
        """Gates once unrolled: three ORs per output."""
        return 3 * self.out_features

    def sources(self) -> torch.Tensor:
        """``(4, out_features)``: the input bits each output ORs, top-left, top-right,
        bottom-left, bottom-right."""
        return self._sources

    def _corners(self) -> torch.Tensor:
        oy, ox = torch.meshgrid(torch.arange(self.out_image[0]), torch.arange(self.out_image[1]), indexing="ij")
        corners = [((2 * oy + dy) * self.image[1] + 2 * ox + dx) for dy in (0, 1) for dx in (0, 1)]
        c = torch.arange(self.channels)
        return torch.stack([(p.reshape(-1, 1) * self.channels + c).reshape(-1) for p in corners])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2 or x.shape[0] != self.in_features:
            raise ValueError(f"OrPool2d expects (in_features={self.in_features}, batch) inputs, got {tuple(x.shape)}")
        return x[self._sources].amax(0)

    def extra_repr(self) -> str:
        return f"{self.channels}, image={self.image}"

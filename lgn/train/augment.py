"""Training-time augmentation: image samples moved by a few pixels at random.

A locally wired LUT network learns every table from the positions its patch sees; moving the
training images by up to ``pixels`` rows and columns (each sample its own draw, each epoch anew)
shows it the strokes where the test images have them too. The draws come from a generator the
loop seeds per epoch, so a resumed run sees the same samples as an uninterrupted one.
"""

from __future__ import annotations

import torch


class Shift:
    """Moves flat image samples ``(batch, rows * cols * channels)`` (each pixel's channels
    adjacent) by ``-pixels..pixels`` rows and columns each, uncovered pixels set to ``fill``."""

    def __init__(self, image_shape: tuple[int, int], num_features: int, pixels: int, fill: float) -> None:
        rows, cols = image_shape
        if pixels < 0 or pixels >= min(rows, cols):
            raise ValueError(f"a shift of {pixels} pixels on a {rows}x{cols} image")
        self.rows, self.cols, self.channels = rows, cols, num_features // (rows * cols)
        self.pixels, self.fill = pixels, fill

    def __call__(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        if self.pixels == 0:
            return x
        s, n = self.pixels, len(x)
        images = x.view(n, self.rows, self.cols, self.channels)
        padded = torch.nn.functional.pad(images, (0, 0, s, s, s, s), value=self.fill)
        dr, dc = torch.randint(0, 2 * s + 1, (2, n, 1), generator=generator, device=x.device)
        r = torch.arange(self.rows, device=x.device) + dr  # (n, rows): the rows each sample reads
        c = torch.arange(self.cols, device=x.device) + dc
        batch = torch.arange(n, device=x.device)[:, None, None]
        return padded[batch, r[:, :, None], c[:, None, :]].reshape(n, -1)

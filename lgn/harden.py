"""Lowering of trained torch models to the IR: the encoder here, each layer by its family's
lowering (:mod:`lgn.nn.families`)."""

from __future__ import annotations

import numpy as np
import torch

from torch import nn

from lgn.ir.conv import StreamedNetlist, identity_inputs
from lgn.ir.netlist import InputEncoding, Netlist, feed_forward
from lgn.nn import FeatureMajor, GroupSum, LogicNet, ThresholdEncoder, families
from lgn.nn.conv import LogicConv2d, OrPool2d


def parts(model: nn.Module) -> tuple[ThresholdEncoder, list[nn.Module], GroupSum]:
    """The encoder, family layers and GroupSum head of ``model``: a :class:`LogicNet`, or a
    model of one's own built as ``nn.Sequential(ThresholdEncoder, layers..., GroupSum)`` whose
    layers (any mix of families) sit in :class:`FeatureMajor` blocks. ``TypeError`` names the
    first module that cannot be lowered by its path in the model."""
    if isinstance(model, LogicNet):
        return model.encoder, list(model.layers), model.head
    if not isinstance(model, nn.Sequential) or len(model) < 2:
        raise TypeError(f"{type(model).__name__} is neither a LogicNet nor an nn.Sequential(ThresholdEncoder, "
                        "FeatureMajor(layers...), GroupSum)")
    encoder, *middle, head = model.named_children()
    for (name, module), kind in ((encoder, ThresholdEncoder), (head, GroupSum)):
        if not isinstance(module, kind):
            raise TypeError(f"model.{name} ({type(module).__name__}) should be a {kind.__name__}")
    layers = []
    for name, block in middle:
        if not isinstance(block, FeatureMajor):
            raise TypeError(f"model.{name} ({type(block).__name__}) cannot be lowered to logic: between the encoder "
                            "and the head, lgn layers go in FeatureMajor blocks")
        for inner, layer in block.named_children():
            if not families.lowerable(layer):
                raise TypeError(f"model.{name}.{inner} ({type(layer).__name__}) is no layer of an lgn model family: "
                                f"it cannot be lowered to logic")
            layers.append(layer)
    return encoder[1], layers, head[1]


def harden(model: nn.Module, meta: dict | None = None) -> Netlist:
    """The discrete netlist of ``model`` (see :func:`parts`): every gate becomes its argmax
    function, every lookup table its entries' signs (:meth:`LookupLayer.hardened_tables`), every
    binary, tiled or sparse neuron a threshold unit (:meth:`XnorLinear.fold`), every dendritic
    neuron a layer of AND branches and a layer of OR somas (:meth:`DendriticLinear.hardened`)."""
    encoder, layers, head = parts(model)
    lowered = [ir for layer in layers for ir in families.lower(layer)]
    return feed_forward(_inputs(encoder), lowered, head.k, float(head.tau), meta)


def harden_streamed(model: nn.Module, meta: dict | None = None) -> StreamedNetlist:
    """``model``'s leading convolutional layers as shared IR stages and the rest as a dense netlist
    reading their output (:class:`~lgn.ir.conv.StreamedNetlist`, whose :meth:`flat` is :func:`harden`'s)."""
    encoder, layers, head = parts(model)
    leading = next((n for n, layer in enumerate(layers) if not isinstance(layer, (LogicConv2d, OrPool2d))), len(layers))
    if leading == 0:
        raise ValueError("the model has no convolutional layers before its dense ones: nothing to stream")
    stages = tuple(families.conv_stage(layer) for layer in layers[:leading])
    last = stages[-1]
    lowered = [ir for layer in layers[leading:] for ir in families.lower(layer)]
    dense = feed_forward(identity_inputs(last.out_image[0] * last.out_image[1] * last.out_channels), lowered,
                         head.k, float(head.tau), meta)
    return StreamedNetlist(_inputs(encoder), tuple(stages[0].image), stages, dense).validate()


def _inputs(encoder: ThresholdEncoder) -> InputEncoding:
    thresholds = encoder.thresholds.detach().cpu()
    num_features, per_feature = thresholds.shape
    return InputEncoding(
        num_features=num_features,
        feature=np.repeat(np.arange(num_features, dtype=np.int32), per_feature),
        threshold=thresholds.numpy().astype(np.float32).reshape(-1),
    )


@torch.no_grad()
def hardened_scores(model: nn.Module, raw: np.ndarray, batch_size: int = 4096) -> np.ndarray:
    """Integer group popcounts of ``model`` in hardened eval mode, ``(n, num_classes)`` int64.

    GroupSum divides by ``tau``; the popcounts are recovered by multiplying back and must land
    on integers, which is checked rather than assumed.
    """
    was_training = model.training
    model.eval()
    try:
        device = next(model.parameters()).device
        out = torch.cat([model(torch.as_tensor(raw[i:i + batch_size], dtype=torch.float32).to(device)).cpu()
                         for i in range(0, len(raw), batch_size)]).double() * parts(model)[2].tau
    finally:
        model.train(was_training)
    counts = out.round()
    if not torch.allclose(out, counts, atol=1e-3):
        raise AssertionError("hardened model produced non-integer group counts")
    return counts.long().numpy()

"""A PyTorch model that recomputes a simple resolved network (a chain of conv1d / conv2d /
flattening linear layers with max or average pooling) in izer's integer arithmetic, as a
reference for parity.compare's torch path. Each YAML layer is one Block whose children
(pool, conv) produce intermediate tensors, some of the block output's size, so matching
must pick the block. `bias_excess` adds an accumulator offset per output channel to one
layer (a bias at a resolution the 8-bit bias cannot hold)."""
import numpy as np
import torch
from torch import nn


def supported(network):
    order = network.order
    if order != sorted(order) or order[0] != 0:
        return False
    return all(_plain(network.layers[i]) for i in order)


def _plain(L):
    return (L.op in ("conv1d", "conv2d", "linear") and L.operands == 1 and not L.in_sequences
            and L.groups == 1 and not L.bypass and max(L.stride) == 1
            and max(L.dilation) == 1 and max(L.pool_dilation) == 1 and not any(L.in_crop)
            and tuple(L.pool) == tuple(L.pool_stride) and L.weights is not None
            and (L.flatten or L.op != "linear"))


class Pool(nn.Module):
    def __init__(self, L):
        super().__init__()
        self.one_d, self.k, self.average = L.one_d, tuple(L.pool), L.pool_average

    def forward(self, x):
        k = self.k[0] if self.one_d else self.k
        if max(self.k) <= 1:
            return x
        if not self.average:
            return (nn.functional.max_pool1d if self.one_d else nn.functional.max_pool2d)(x, k)
        area = self.k[0] * (1 if self.one_d else self.k[1])
        pool = nn.functional.avg_pool1d if self.one_d else nn.functional.avg_pool2d
        return torch.trunc(torch.round(pool(x, k) * area) / area)


class Conv(nn.Module):
    """The accumulator: weights x input + 128 x bias (+ bias_excess)."""

    def __init__(self, L, excess=None):
        super().__init__()
        self.L = L
        self.w = torch.as_tensor(L.weights.astype(np.float64))
        b = np.zeros(L.out_channels) if L.bias is None else L.bias.astype(np.float64) * 128
        if excess is not None:
            b = b + excess
        self.b = torch.as_tensor(b)

    def forward(self, x):
        L = self.L
        if L.flatten or L.op == "linear":
            return (x.reshape(x.shape[0], -1) @ self.w.reshape(L.out_channels, -1).T + self.b)
        if L.one_d:
            return nn.functional.conv1d(x, self.w[..., 0], self.b, padding=L.padding[0])
        return nn.functional.conv2d(x, self.w, self.b, padding=tuple(L.padding))


class Block(nn.Module):
    def __init__(self, L, excess=None):
        super().__init__()
        self.L = L
        self.pool = Pool(L)
        self.conv = Conv(L, excess)

    def forward(self, x):
        L = self.L
        x = x.reshape((x.shape[0], -1, L.input_dim[0]) + (() if L.one_d else (L.input_dim[1],)))
        acc = self.conv(self.pool(x))
        if L.output_width == 32:
            return acc
        s = 7 - L.output_shift
        v = acc * 2.0 ** -s if s <= 0 else torch.floor((acc + 2 ** (s - 1)) / 2 ** s)
        v = v.clamp(-128, 127)
        return v.clamp(0, 127) if L.activation == "ReLU" else v


class IzerModel(nn.Module):
    def __init__(self, network, bias_excess=None):
        super().__init__()
        layer, excess = bias_excess or (None, None)
        self.blocks = nn.Sequential(*[Block(network.layers[i], excess if i == layer else None)
                                      for i in network.order])

    def forward(self, x):
        return self.blocks(x.double())

"""Fashion-MNIST on the MAX78000: the data, the network, the chip's arithmetic and izer's file
conventions, shared by train.py, prepare.py, results.py and the tests.

* Data: Debian's `dataset-fashion-mnist` (IDX files, gzip) in /usr/share/datasets/fashion-mnist.
* Input scaling (ai8x-training's 8-bit convention): a pixel p in 0..255 becomes
  x = clip(round(p / 255 * 256 - 128), -128, 127), the int8 value the chip reads; the float
  network is trained on x / 128 (in [-1, 1)), so the float model and the chip see the same
  numbers, one in units of 1, the other in units of 1/128.
* Network: four 3x3 convolutions (pad 1, ReLU; max-pool 2x2 fused before the last three) and a
  Linear layer on the flattened 32x3x3 map with a 32-bit output; activations are clamped to
  [0, 1] as ai8x-training clamps them (the chip's 8-bit range is [0, 127/128]).
* The chip's arithmetic (`chip_forward`): izer's: acc = sum(w*x) + 128*bias, 8-bit output
  floor(acc * 2^shift / 128 + 0.5) clamped, ReLU clamps to [0, 127], a 32-bit output keeps acc.
* Checkpoints (`write_q_checkpoint`, `read_q_checkpoint`): ai8x-training's `-q.pth.tar` layout
  as izer reads it (ai8x-synthesis checkpoint.py).
"""
from __future__ import annotations

import gzip
import math
import pathlib
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

DATA_DIR = pathlib.Path("/usr/share/datasets/fashion-mnist")
BUILD_DIR = pathlib.Path(__file__).resolve().parents[2] / "build-examples" / "fashion"
CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
           "Bag", "Ankle boot"]
ARCH = "ai85fashionnet"


# ---- data ---------------------------------------------------------------------------------------
def read_idx(path: pathlib.Path) -> np.ndarray:
    """An IDX file (optionally gzip-compressed) as a numpy array (uint8 data only)."""
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    if raw[:2] != b"\0\0" or raw[2] != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file (magic {raw[:4].hex()})")
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != math.prod(shape):
        raise ValueError(f"{path}: {data.size} bytes of data for shape {shape}")
    return data.reshape(shape)


def load_split(split: str, data_dir: pathlib.Path = DATA_DIR) -> tuple[np.ndarray, np.ndarray]:
    """('train' | 'test') -> (images N x 28 x 28 uint8, labels N uint8)."""
    prefix = {"train": "train", "test": "t10k"}[split]
    images = data_dir / f"{prefix}-images-idx3-ubyte.gz"
    labels = data_dir / f"{prefix}-labels-idx1-ubyte.gz"
    for p in (images, labels):
        if not p.is_file():
            raise FileNotFoundError(f"{p} not found: install Debian's dataset-fashion-mnist "
                                    "(apt-get install dataset-fashion-mnist)")
    return read_idx(images), read_idx(labels)


def to_int8(images: np.ndarray) -> np.ndarray:
    """uint8 pixels (N x 28 x 28) -> the chip's int8 input, N x 1 x 28 x 28."""
    x = np.round(images.astype(np.float64) / 255.0 * 256.0 - 128.0)
    return np.clip(x, -128, 127).astype(np.int8)[:, None, :, :]


def to_float(x_int8: np.ndarray) -> torch.Tensor:
    """The float network's input: the chip's integers / 128."""
    return torch.from_numpy(x_int8.astype(np.float32) / 128.0)


# ---- the network --------------------------------------------------------------------------------
@dataclass
class LayerSpec:
    name: str            # state-dict prefix: <name>.op.weight
    in_channels: int
    out_channels: int
    pool: int = 1        # max-pool size = stride, fused before the convolution
    kernel: int = 3
    pad: int = 1
    relu: bool = True
    flatten: bool = False  # Linear on the flattened input
    wide: bool = False     # output_width 32
    avg_pool: bool = False
    pool_stride: int = 0   # 0: = pool
    processors: int = 0
    out_offset: int = 0
    data_format: str = ""
    in_dim: tuple | None = None  # written for layer 0: the input's H x W, for `ai8xsim check`


def fashion_layers() -> list[LayerSpec]:
    """The network as the chip runs it (one entry per YAML layer)."""
    return [
        LayerSpec("conv1", 1, 16, processors=0x1, out_offset=0x2000, data_format="CHW",
                  in_dim=(28, 28)),
        LayerSpec("conv2", 16, 32, pool=2, processors=0xFFFF, out_offset=0x0000),
        LayerSpec("conv3", 32, 64, pool=2, processors=0xFFFFFFFF, out_offset=0x2000),
        LayerSpec("conv4", 64, 32, pool=2, processors=0xFFFFFFFFFFFFFFFF, out_offset=0x0000),
        LayerSpec("fc", 32 * 3 * 3, 10, kernel=1, pad=0, relu=False, flatten=True, wide=True,
                  processors=0xFFFFFFFF, out_offset=0x1000),
    ]


class Op(nn.Module):
    """Holds the parameters under `<layer>.op.` as ai8x modules do."""

    def __init__(self, op: nn.Module):
        super().__init__()
        self.op = op


class FashionNet(nn.Module):
    """Float model of `fashion_layers()`: ReLU outputs clamped to [0, 1] (ai8x-training)."""

    def __init__(self):
        super().__init__()
        self.specs = fashion_layers()
        for s in self.specs:
            op = (nn.Linear(s.in_channels, s.out_channels) if s.flatten else
                  nn.Conv2d(s.in_channels, s.out_channels, s.kernel, padding=s.pad))
            setattr(self, s.name, Op(op))

    def forward(self, x: torch.Tensor, collect: list | None = None) -> torch.Tensor:
        for s in self.specs:
            if s.pool > 1:
                x = F.max_pool2d(x, s.pool, s.pool_stride or s.pool)
            op = getattr(self, s.name).op
            x = op(x.flatten(1)) if s.flatten else op(x)
            if s.relu:
                x = x.clamp(0.0, 1.0)
            if collect is not None:
                collect.append(x)
        return x


def float_accuracy(model: nn.Module, x_int8: np.ndarray, labels: np.ndarray,
                   batch: int = 1000) -> tuple[float, np.ndarray]:
    """(top-1 accuracy, logits N x 10) of the float model on int8 inputs."""
    model.eval()
    outs = []
    with torch.no_grad():
        for i in range(0, len(x_int8), batch):
            outs.append(model(to_float(x_int8[i:i + batch])).numpy())
    logits = np.concatenate(outs)
    return float((logits.argmax(1) == labels).mean()), logits


# ---- the chip's arithmetic ----------------------------------------------------------------------
@dataclass
class QLayer:
    """One layer as izer loads it: integer weights, the loaded bias, the final shift."""
    spec: LayerSpec
    weight: np.ndarray          # integers, torch's shape (out, in, k, k) or (out, in)
    bias: np.ndarray | None     # izer's loaded bias (added as 128 * bias)
    bits: int                   # weight bits (1, 2, 4, 8)
    shift: int                  # output_shift after loading: checkpoint value + 8 - bits
    extra: dict = field(default_factory=dict)


def exact_in_float32(q: QLayer) -> bool:
    """True when every partial sum of the layer's accumulator stays below 2^24 in magnitude,
    so that a float32 convolution of integers is exact (inputs are at most 128 in size)."""
    w = np.abs(q.weight.astype(np.float64)).reshape(q.weight.shape[0], -1).sum(1)
    b = np.abs(q.bias.astype(np.float64)) if q.bias is not None else 0
    return bool(np.all(w * 128 + 128 * b < 2 ** 24))


def chip_layer(q: QLayer, x: torch.Tensor, pre: bool = False) -> torch.Tensor:
    """One layer on integer activations (tensors holding integers, N x C x H x W); returns
    float64. The convolution runs in float32 when that is exact (exact_in_float32), else in
    float64; scaling and rounding run in float64.

    `pre`: return the accumulator scaled to the 8-bit output's units before rounding."""
    s = q.spec
    dtype = torch.float32 if exact_in_float32(q) else torch.float64
    x = x.to(dtype)
    if s.pool > 1:
        stride = s.pool_stride or s.pool
        if s.avg_pool:  # the sum over the window divided by its size, truncated toward zero
            x = torch.trunc(F.avg_pool2d(x.double(), s.pool, stride)).to(dtype)
        else:
            x = F.max_pool2d(x, s.pool, stride)
    w = torch.from_numpy(q.weight.astype(np.float64)).to(dtype)
    if s.flatten:
        x = x.reshape(x.shape[0], -1, 1, 1)
        w = w.reshape(w.shape[0], -1, 1, 1)
    acc = F.conv2d(x, w, padding=s.pad)
    if q.bias is not None:
        bias = torch.from_numpy(q.bias.astype(np.float64)).to(dtype)
        acc = acc + 128.0 * bias[None, :, None, None]
    acc = acc.double()
    if s.wide:
        out = acc
    else:
        scaled = acc * (2.0 ** q.shift) / 128.0
        if pre:
            return scaled
        out = torch.floor(scaled + 0.5).clamp(-128, 127)
    if s.relu:
        out = out.clamp(0, 127)
    return out


def chip_forward(qlayers: list[QLayer], x_int8: np.ndarray, batch: int = 2000) -> np.ndarray:
    """The final layer's output (int64, N x C x H x W) as the chip computes it."""
    outs = []
    for i in range(0, len(x_int8), batch):
        x = torch.from_numpy(x_int8[i:i + batch].astype(np.float32))
        for q in qlayers:
            x = chip_layer(q, x)
        outs.append(x.numpy().astype(np.int64))
    return np.concatenate(outs)


# ---- izer's checkpoint conventions --------------------------------------------------------------
def write_q_checkpoint(path: pathlib.Path, qlayers: list[QLayer], arch: str = ARCH,
                       epoch: int = 0, extras: dict | None = None) -> None:
    """A `-q.pth.tar` as ai8x-training's quantize.py lays it out and izer reads it.

    Per layer, in this order: output_shift (the checkpoint's value, i.e. shift - 8 + bits),
    weight_bits, bias_bits (8), quantize_activation (1), adjust_output_shift (0), op.weight
    (the integers, float32), op.bias (izer's loaded bias times 2^(bits-1), so that izer's
    floor(stored / 2^(bits-1)) gives it back exactly)."""
    sd = {}
    for q in qlayers:
        n = q.spec.name
        sd[f"{n}.output_shift"] = torch.tensor([float(q.shift - 8 + q.bits)])
        sd[f"{n}.weight_bits"] = torch.tensor([float(q.bits)])
        sd[f"{n}.bias_bits"] = torch.tensor([8.0])
        sd[f"{n}.quantize_activation"] = torch.tensor([1.0])
        sd[f"{n}.adjust_output_shift"] = torch.tensor([0.0])
        sd[f"{n}.op.weight"] = torch.from_numpy(q.weight.astype(np.float32))
        if q.bias is not None:
            sd[f"{n}.op.bias"] = torch.from_numpy(
                (q.bias.astype(np.float64) * 2.0 ** (q.bits - 1)).astype(np.float32))
    torch.save({"epoch": epoch, "arch": arch, "state_dict": sd, "extras": extras or {}},
               str(path))


def read_q_checkpoint(path: pathlib.Path) -> list[dict]:
    """izer's reading of a quantized checkpoint, for checkpoints whose YAML layers all take
    weights (no passthrough / bypass / weight_source, no stale copies): one entry per
    `*.weight` key in file order with
      weight (integer ndarray), bits (weight_bits, 0 -> 8), bias (floor(stored / 2^(bits-1)),
      None when absent), output_shift (checkpoint value, 0 when absent),
      shift (output_shift + 8 - bits, izer's value after loading)."""
    ck = torch.load(str(path), map_location="cpu")
    if "state_dict" not in ck or "epoch" not in ck:
        raise ValueError(f"{path}: no `state_dict` / `epoch` (not a quantized checkpoint)")
    sd = ck["state_dict"]
    layers = []
    for key, w in sd.items():
        parts = key.rsplit(".", 2)
        if parts[-1] != "weight":
            continue
        layer, op = (parts[0], parts[1]) if len(parts) == 3 else (parts[0], None)
        if w.dim() == 1:
            raise ValueError(f"{path}: {key} is 1-dimensional (BatchNorm not folded)")
        wv = w.numpy().astype(np.float64)
        if not np.all(wv == np.round(wv)):
            raise ValueError(f"{path}: {key} holds non-integer weights (not quantized)")
        bits = int(sd[f"{layer}.weight_bits"].item()) if f"{layer}.weight_bits" in sd else 8
        bits = bits or 8
        os_key = f"{layer}.output_shift"
        out_shift = int(sd[os_key].numpy().astype(np.int64)[0]) if os_key in sd else 0
        bias_key = f"{layer}.{op}.bias" if op else f"{layer}.bias"
        bias = None
        if bias_key in sd:
            bias = np.floor(sd[bias_key].numpy().astype(np.float64) / 2 ** (bits - 1))
            bias = bias.astype(np.int64)
        layers.append({"name": layer, "weight": wv.astype(np.int64), "bits": bits,
                       "bias": bias, "output_shift": out_shift,
                       "shift": out_shift + 8 - bits, "arch": ck.get("arch")})
    return layers


# ---- izer's YAML --------------------------------------------------------------------------------
def write_float_checkpoint(path: pathlib.Path, state_dict: dict, arch: str = ARCH,
                           epoch: int = 0) -> None:
    """The float model as ai8x-training saves it (`state_dict` under `<layer>.op.`): what
    `ai8xsim quantize`, `eval` and `sweep` take, quantizing it with ai8xsim's one quantizer
    (ai8x-synthesis quantize.py's rules)."""
    torch.save({"epoch": epoch, "arch": arch, "state_dict": dict(state_dict)}, str(path))


def qlayers_from_npz(specs: list[LayerSpec], path: pathlib.Path) -> list[QLayer]:
    """The layers of a weights.npz (`ai8xsim quantize --output`): izer's loaded values, as
    chip_forward takes them."""
    z = np.load(path)
    out = []
    for i, s in enumerate(specs):
        w = z[f"weight_{i:03d}"].astype(np.int64)
        if s.flatten:
            w = w.reshape(s.out_channels, -1)
        else:
            w = w.reshape(s.out_channels, s.in_channels, s.kernel, s.kernel)
        bias = z[f"bias_{i:03d}"].astype(np.int64) if f"bias_{i:03d}" in z.files else None
        out.append(QLayer(s, w, bias, int(z["quantization"][i]), int(z["output_shift"][i])))
    return out


def yaml_text(layers: list[LayerSpec], bits: list[int] | None, arch: str = ARCH,
              dataset: str = "FashionMNIST", comment: str = "") -> str:
    """izer's network YAML for the layers, `quantization` per layer (None: none, the widths
    come from the checkpoint or `--weight-bits`)."""
    lines = ["---"]
    if comment:
        lines += [f"# {c}" if c else "#" for c in comment.splitlines()]
    lines += [f"arch: {arch}", f"dataset: {dataset}", "", "layers:"]
    for s, b in zip(layers, bits or [None] * len(layers)):
        lines.append(f"  # {s.name}: {s.in_channels} -> {s.out_channels}"
                     + (f", max-pool {s.pool}x{s.pool} first" if s.pool > 1 else "")
                     + (", flattened" if s.flatten else ""))
        first = True

        def item(text):
            nonlocal first
            lines.append(("  - " if first else "    ") + text)
            first = False

        item(f"processors: 0x{s.processors:016x}")
        item(f"out_offset: 0x{s.out_offset:04x}")
        if s.data_format:
            item(f"data_format: {s.data_format}")
        if s.in_dim:
            item(f"in_dim: [{s.in_dim[0]}, {s.in_dim[1]}]")
        if s.pool > 1:
            item(f"{'avg_pool' if s.avg_pool else 'max_pool'}: {s.pool}")
            item(f"pool_stride: {s.pool_stride or s.pool}")
        if s.flatten:
            item("op: mlp")
            item("flatten: true")
        else:
            item("op: conv2d")
            item(f"kernel_size: {s.kernel}x{s.kernel}")
            item(f"pad: {s.pad}")
        item(f"activate: {'ReLU' if s.relu else 'None'}")
        if s.wide:
            item("output_width: 32")
        if b is not None:
            item(f"quantization: {b}")
    return "\n".join(lines) + "\n"

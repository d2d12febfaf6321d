"""The average-pool rounding diagnosis. First the direct test: run the network again with
avg_pool_rounding flipped; if the layer's input is unchanged and its output now equals the
reference, that is the difference. Otherwise look at where the differences sit: for a
pooling-only layer element by element (.5 ties, halves, any fraction), for a convolution
within the reach of windows whose average is not an integer."""
import numpy as np

HOW = {True: "rounds half away from zero", False: "truncates toward zero"}


def diagnose(ctx, index, d):
    return _flipped(ctx, index, d) or _windows(ctx, index, d)


def _flipped(ctx, index, d):
    flip = not ctx.network.avg_pool_rounding
    layers = ctx.rerun(avg_pool_rounding=flip)
    if not layers or index not in layers:
        return None
    sources = [s for s in ctx.sources(index) if s != -1]
    if any(not np.array_equal(layers.get(s), ctx.sim.get(s)) for s in sources):
        return None
    if not np.array_equal(layers[index].reshape(d.ref.shape), d.ref):
        return None
    return (f"average-pool rounding: the reference equals izer's result with "
            f"avg_pool_rounding={flip} (the average {HOW[flip]}); here it {HOW[not flip]}")


def _windows(ctx, index, d):
    L = d.layer
    x = layer_input(ctx, index)
    sums = None if x is None else window_sums(x, L)
    if sums is None:
        return ("average-pool rounding (likely): the layer averages and its input agrees; "
                "its windows could not be checked")
    area = L.pool[0] * (1 if L.one_d else L.pool[1])
    frac = np.abs(sums) % area  # remainder of |sum| / area
    masks = (("ties", 2 * frac == area, "is exactly .5"),
             ("halves", 2 * frac >= area, "has a fraction of .5 or more"),
             ("fractions", frac != 0, "is not an integer"))
    if not L.is_conv and sums.shape == d.nz.shape:
        return _elementwise(ctx, d, masks)
    seen = reach(L, masks[-1][1].any(axis=0), d.nz.shape[1:])
    if seen is not None and d.nz.any() and bool(np.all(seen[d.nz.any(axis=0)])):
        return ("average-pool rounding (likely): every difference is within reach of a "
                "pooling window whose average is not an integer")
    return None


def _elementwise(ctx, d, masks):
    for name, mask, what in masks:
        if np.all(mask[d.nz]):
            return (f"average-pool rounding {name}: every difference is at a window whose "
                    f"average {what} ({int(mask.sum())} such windows, "
                    f"{int(d.nz.sum())} differ); here izer "
                    f"{HOW[bool(ctx.network.avg_pool_rounding)]}")
    return None


def layer_input(ctx, index):
    """The simulator's input to this layer as C x H x W of its in_dim, when it has one source
    and no element-wise operands or crop (else None)."""
    L = ctx.network.layers[index]
    src = ctx.sources(index)
    if len(src) != 1 or L.operands != 1 or any(L.in_crop):
        return None
    a = ctx.x if src[0] == -1 else ctx.sim.get(src[0])
    if a is None:
        return None
    h, w = L.input_dim[0], 1 if L.one_d else L.input_dim[1]
    if a.size % (h * w):
        return None
    return np.asarray(a, dtype=np.int64).reshape(-1, h, w)


def window_sums(x, L):
    """Per channel and pooled pixel, the sum of its window (None when the windows run off
    the edge, which izer handles by reading on in memory)."""
    ph, pw = L.pool[0], 1 if L.one_d else L.pool[1]
    sh, sw = L.pool_stride[0], 1 if L.one_d else L.pool_stride[1]
    dh, dw = L.pool_dilation[0], 1 if L.one_d else L.pool_dilation[1]
    oh, ow = L.pooled_dim[0], 1 if L.one_d else L.pooled_dim[1]
    total = np.zeros((x.shape[0], oh, ow), np.int64)
    for i in range(ph):
        for j in range(pw):
            part = x[:, i * dh::sh, j * dw::sw][:, :oh, :ow]
            if part.shape[1:] != (oh, ow):
                return None
            total += part
    return total


def reach(L, pooled, out_shape):
    """Output pixels whose receptive field includes a marked pooled pixel (None: unknown)."""
    if L.flatten or L.op == "linear":
        return np.full(out_shape, bool(pooled.any()))
    if L.op == "convtranspose2d":
        return None
    kh, kw = L.kernel[0], 1 if L.one_d else L.kernel[1]
    ph, pw = L.padding[0], 0 if L.one_d else L.padding[1]
    sh, sw = L.stride[0], 1 if L.one_d else L.stride[1]
    dh, dw = L.dilation[0], 1 if L.one_d else L.dilation[1]
    padded = np.pad(pooled, ((ph, ph + kh * dh), (pw, pw + kw * dw)))
    out = np.zeros(out_shape, bool)
    for i in range(kh):
        for j in range(kw):
            part = padded[i * dh::sh, j * dw::sw][:out_shape[0], :out_shape[1]]
            out[:part.shape[0], :part.shape[1]] |= part
    return out

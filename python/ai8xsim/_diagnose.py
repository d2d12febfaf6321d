"""Diagnoses for layers that differ from a reference, read from the data: the pattern of the
differences (ratios, per-channel offsets, signs, where they sit) and the layer's parameters
(bias, output width, shift, pooling, activation). Each check returns a sentence or None."""
import numpy as np

# The 8-bit bias step: the hardware adds 128 * (the 8-bit bias).
BIAS_STEP = 128


class Context:
    """What the checks see: the resolved network, the sample, both sides' layer outputs."""

    def __init__(self, network, x, sim_layers, ref_layers, input_ratio, rerun=None):
        self.network = network
        self.rerun = rerun or (lambda **changes: None)  # load options -> layer outputs
        self.x = x
        self.sim = sim_layers
        self.ref = ref_layers
        self.input_ratio = input_ratio  # reference input / sample (None: same or unknown)
        self.differs = set()

    def mark_differs(self, index):
        self.differs.add(index)

    def reference_for(self, index):
        """The reference in the simulator's shape when only the layout differs (F vs Fx1x1,
        C x L vs C x L x 1)."""
        ref, sim = self.ref[index], self.sim[index]
        if ref.shape != sim.shape and ref.size == sim.size:
            return ref.reshape(sim.shape)
        return ref

    def sources(self, index):
        """The YAML layers this layer reads (-1: the network input)."""
        L = self.network.layers[index]
        if L.in_sequences:
            return list(L.in_sequences)
        producers = [i for i in self.network.order if self.network.layers[i].next == index]
        return producers or [-1]

    def notes(self):
        if self.input_ratio is None:
            return []
        return [f"the reference's input differs from the sample: {_ratio_text(self.input_ratio)}"]


def input_ratio(x, ref_input):
    """reference input / sample: None when equal or absent, else the typical ratio."""
    if ref_input is None:
        return None
    r = np.asarray(ref_input).astype(np.float64)
    x = np.asarray(x).astype(np.float64)
    if r.size != x.size:
        return float("nan")
    r = r.reshape(x.shape)
    if np.array_equal(r, x):
        return None
    nz = (x != 0) & (r != 0)
    return float(np.median(r[nz] / x[nz])) if nz.any() else float("nan")


def _ratio_text(k):
    if np.isnan(k):
        return "not a multiple of it"
    if abs(k / 128 - 1) < 0.1:
        return "about 128x the sample (scaled twice: izer's inputs are integers in [-128, 127])"
    if abs(k * 128 - 1) < 0.1:
        return "about 1/128 of the sample (float data in [-1, 1) not multiplied by 128)"
    return f"about {k:.3g}x the sample"


def saturation(a, layer=None):
    """The one meaning of "saturated" (parity table, histograms, diagnoses): the share of an
    8-bit output's values clamped at the range's ends, 127 and -128. ReLU's and Abs's zeros
    are not saturation (they are the activation, not the clamp). None for 32-bit outputs (no
    clamp) and empty arrays; without the layer, an output with values beyond the 8-bit range
    counts as 32-bit."""
    a = np.asarray(a)
    if a.size == 0 or (layer is not None and layer.output_width == 32):
        return None
    if layer is None and (a.max() > 127 or a.min() < -128):
        return None
    return float(((a >= 127) | (a <= -128)).mean())


# ---- the diagnosis ---------------------------------------------------------------------

def diagnose(ctx, index):
    layer = ctx.network.layers[index]
    sim, ref = ctx.sim[index], ctx.reference_for(index)
    if sim.shape != ref.shape:
        return (f"shape differs: simulator {_shape(sim)}, reference {_shape(ref)} "
                f"({sim.size} vs {ref.size} elements)")
    d = Diff(layer, sim, ref)
    for check in (_input_scaling, _float_scale, _shift_ratio, _saturation_gap):
        msg = check(ctx, index, d)
        if msg:
            return msg
    upstream = [s for s in ctx.sources(index) if s in ctx.differs]
    if upstream:
        return f"follows from layer {upstream[0]}: this layer's input already differs"
    for check in (_avg_pool_rounding, _abs_ties, _bias_excess, _unfolded_bn):
        msg = check(ctx, index, d)
        if msg:
            return msg
    return _fallback(d)


def _shape(a):
    return "x".join(map(str, a.shape))


class Diff:
    """reference - simulation for one layer, with the masks the checks share."""

    def __init__(self, layer, sim, ref):
        self.layer = layer
        self.sim = sim.astype(np.float64)
        self.ref = ref.astype(np.float64)
        self.d = self.ref - self.sim
        self.nz = self.d != 0
        self.wide = layer.output_width == 32

    def unsaturated(self, a):
        """Values strictly inside the output range: neither clamped (saturation()) nor the
        activation's floor (ReLU's 0), so that ratios between the two sides mean something."""
        if self.wide:
            return np.ones(a.shape, bool)
        lo = {"ReLU": 0, "Abs": -1}.get(self.layer.activation, -128)
        return (a > lo) & (a < 127)

    def informative(self, floor=4):
        """Elements both sides hold unclamped and large enough for a ratio to mean much."""
        m = self.unsaturated(self.sim) & self.unsaturated(self.ref)
        return m & (np.abs(self.sim) >= floor) & (np.abs(self.ref) >= floor)


def ratio_near(d, k, share=0.9, minimum=3):
    m = d.informative() & d.nz
    if m.sum() < minimum:
        return False
    q = d.ref[m] / d.sim[m]
    return float((np.abs(q / k - 1) < 0.25).mean()) >= share


def _input_scaling(ctx, index, d):
    r = ctx.input_ratio
    reads_input = -1 in ctx.sources(index)
    if r is not None and reads_input and not np.isnan(r):
        return f"input scaling: the reference's input is {_ratio_text(r)}"
    for k, what in ((BIAS_STEP, "128x"), (1 / BIAS_STEP, "1/128 of")):
        if ratio_near(d, k):
            return (f"input scaling: the reference is about {what} the simulation (a x128 / "
                    f"/128 scale between the two: izer's activations are integers in "
                    f"[-128, 127])")
    return None


def _float_scale(ctx, index, d):
    frac = d.ref != np.round(d.ref)
    if frac.mean() > 0.1 and np.abs(d.ref).max() <= 1.0 + 1e-6:
        return ("input scaling: the reference is in float scale [-1, 1] (fractional values), "
                "izer's is 128x that: compare with scale=128")
    return None


def _shift_ratio(ctx, index, d):
    for k in (1, 2, -1, -2):
        if ratio_near(d, 2.0 ** k):
            s = d.layer.output_shift
            return (f"output shift off by {abs(k)}: the reference is about {2.0 ** k:g}x the "
                    f"simulation (output_shift here {s}, the reference behaves as {s + k})")
    return None


def _saturation_gap(ctx, index, d):
    """Values at the extremes (127, -128; not ReLU's 0) far more often and larger on average
    on one side: the data entering the network is scaled."""
    if d.wide:
        return None
    s_ext, r_ext = saturation(d.sim, d.layer), saturation(d.ref, d.layer)
    s_mag, r_mag = np.abs(d.sim).mean(), np.abs(d.ref).mean()
    if r_ext - s_ext > 0.02 and r_ext > 5 * s_ext and r_mag > 1.4 * s_mag:
        return (f"input scaling (likely): the reference hits the clamp limits far more often "
                f"({100 * r_ext:.1f}% vs {100 * s_ext:.1f}% at 127/-128) and is "
                f"{r_mag / max(s_mag, 1e-9):.1f}x larger on average, as with inputs 128x too "
                f"large")
    zeros_r, zeros_s = float((d.ref == 0).mean()), float((d.sim == 0).mean())
    if zeros_r > 0.9 and zeros_s < 0.5:
        return (f"input scaling (likely): the reference is almost all 0 ({100 * zeros_r:.0f}% "
                f"vs {100 * zeros_s:.0f}%), as with inputs 1/128 of izer's integers")
    return None


def _avg_pool_rounding(ctx, index, d):
    L = d.layer
    if not L.pool_average or max(L.pool) <= 1:
        return None
    from . import _pooling

    return _pooling.diagnose(ctx, index, d)


def _abs_ties(ctx, index, d):
    if d.layer.activation != "Abs" or np.abs(d.d).max() > 1:
        return None
    return (f"Abs at rounding ties: {int(d.nz.sum())} differences of +-1 in an Abs layer; "
            f"|round(x)| and round(|x|) differ only where x is a negative .5 tie (the "
            f"hardware rounds, then takes the absolute value)")


def _bias_excess(ctx, index, d):
    L = d.layer
    if L.bias is None or not L.is_conv:
        return None
    return _bias_wide(d) if d.wide else _bias_8bit(d)


def _one_sided(d):
    v = d.d[d.nz]
    return v.size > 0 and (np.all(v > 0) or np.all(v < 0))


def _bias_wide(d):
    if not _one_sided(d) or np.abs(d.d).max() >= BIAS_STEP:
        return None
    per_channel = d.d.reshape(d.d.shape[0], -1)
    if not np.all(per_channel == per_channel[:, :1]):
        return None
    chans = [int(c) for c in np.flatnonzero(per_channel[:, 0])]
    offsets = per_channel[chans, 0].astype(int).tolist()
    return (f"bias not representable in 8 bits: the reference differs by a constant per "
            f"channel, {_list(offsets)} accumulator units on channels {_list(chans)}, each "
            f"below one 8-bit bias step (128): the reference adds the bias b at full "
            f"resolution, the hardware 128*floor(b/128), so the differences are b mod 128")


def _bias_8bit(d):
    limit = max(1, 2 ** max(d.layer.output_shift, 0))
    if not _one_sided(d) or np.abs(d.d).max() > limit:
        return None
    chans = np.flatnonzero(d.nz.reshape(d.nz.shape[0], -1).any(axis=1)).tolist()
    return (f"bias not representable in 8 bits (likely): one-sided differences of at most "
            f"{limit} on channels {_list(chans)}, as a bias remainder below one 8-bit step "
            f"(128 accumulator units) shifts the rounding: the reference keeps the full "
            f"bias, the hardware 128*floor(b/128)")


def _unfolded_bn(ctx, index, d):
    fits = [f for f in map(_affine_fit, _channels(d)) if f is not None]
    if len(fits) < max(2, d.sim.shape[0] // 2):
        return None
    good = [f for f in fits if f[2] <= 1.0]
    if len(good) < 0.8 * len(fits):
        return None
    a = np.array([f[0] for f in good])
    b = np.array([f[1] for f in good])
    if a.std() < 0.05 and np.abs(b).max() < 2:
        return None
    return (f"unfolded BatchNorm: per channel the reference is an affine map of the "
            f"simulation (scales {a.min():.2f}..{a.max():.2f}, offsets {b.min():.1f}.."
            f"{b.max():.1f}), as when BatchNorm was not folded into weights and bias "
            f"(ai8x.fuse_bn_layers) before quantization")


def _channels(d):
    m = d.unsaturated(d.sim) & d.unsaturated(d.ref)
    for c in range(d.sim.shape[0]):
        yield d.sim[c][m[c]], d.ref[c][m[c]]


def _affine_fit(pair):
    s, r = pair
    if s.size < 4 or np.ptp(s) == 0:
        return None
    a, b = np.polyfit(s, r, 1)
    rms = float(np.sqrt(np.mean((a * s + b - r) ** 2)))
    return float(a), float(b), rms


def _fallback(d):
    n = int(d.nz.sum())
    return (f"{n} of {d.d.size} elements differ, by up to {int(np.abs(d.d).max())}; "
            f"no known pattern")


def _list(v, n=8):
    return "[" + ", ".join(map(str, v[:n])) + (", ..." if len(v) > n else "") + "]"

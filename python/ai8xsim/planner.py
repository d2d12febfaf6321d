"""ai8xsim.plan(): processors, output processors and data memory offsets chosen for a network
YAML (docs/plan.md)."""
import os

import numpy as np

from ._core import core
from .simulator import OPTIONS, _layer_list

# The load options that bear on a plan (the kernel set runs samples; a plan runs none).
PLAN_OPTIONS = tuple(o for o in OPTIONS if o != "kernels")


def plan(config_file, checkpoint_file, device="MAX78000", sample=None, input_shape=None,
         objective="latency", keep=(), **options):
    """Plan `config_file` for `device`; returns (planned YAML text, report text).

    The input shape comes from `sample` (an array or a .npy path), else `input_shape`
    ((C, H, W) or (C, L)), else the YAML's in_channels/in_dim. `objective`: "latency" (fewest
    cycles) or "memory" (least data memory). `keep`: keys whose YAML values are kept
    (processors, output_processors, in_offset, out_offset). `options`: no_bias,
    avg_pool_rounding, fifo, fast_fifo, overlap_data. Raises ai8xsim.Error (kind "capacity")
    naming the limit when no placement exists."""
    unknown = sorted(set(options) - set(PLAN_OPTIONS))
    if unknown:
        raise TypeError(f"ai8xsim.plan: unknown option(s) {', '.join(unknown)}; "
                        f"allowed: {', '.join(PLAN_OPTIONS)}")
    if sample is not None:
        x = np.load(os.fspath(sample)) if isinstance(sample, (str, os.PathLike)) else np.asarray(sample)
        input_shape = tuple(int(d) for d in x.shape)
    if isinstance(keep, str):
        keep = [k for k in keep.split(",") if k]
    kw = dict(options)
    kw["no_bias"] = _layer_list(kw.get("no_bias", ()))
    return core.plan(os.fspath(config_file), os.fspath(checkpoint_file), device=str(device),
                     input_shape=None if input_shape is None else [int(d) for d in input_shape],
                     objective=str(objective), keep=[str(k) for k in keep], **kw)

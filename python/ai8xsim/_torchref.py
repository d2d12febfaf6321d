"""A PyTorch model as a parity reference: run it on the sample with forward hooks on its
modules and match the captured outputs to the YAML layers, in execution order, by size.

With ai8x-training models (ai8x.QuantizationAwareModule, one per YAML layer) only those
modules count. Otherwise every module counts and, where modules nest, the outermost one
whose output has the layer's size stands for the layer (a block, not the conv inside it).
torch is imported here only, when a module is given."""
from dataclasses import dataclass

import numpy as np

AI8X_LAYER_CLASS = "QuantizationAwareModule"


@dataclass
class Call:
    start: int
    end: int
    name: str
    output: np.ndarray


def capture(model, x, network):
    """{YAML index: output reshaped to the layer's C x H x W} for the layers it matches."""
    calls = record_calls(model, x)
    calls = _ai8x_only(model, calls) or calls
    return match(calls, network)


def record_calls(model, x):
    import torch

    calls, stack, clock = [], [], [0]

    def tick():
        clock[0] += 1
        return clock[0]

    def pre(_module, _inputs):
        stack.append(tick())

    def post_for(name):
        def post(_module, _inputs, out):
            start = stack.pop()
            t = out[0] if isinstance(out, (tuple, list)) and out else out
            if isinstance(t, torch.Tensor):
                calls.append(Call(start, tick(), name, t.detach().cpu().double().numpy()))
            else:
                tick()
        return post

    handles = []
    for name, m in model.named_modules():
        if m is not model:
            handles.append(m.register_forward_pre_hook(pre))
            handles.append(m.register_forward_hook(post_for(name)))
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(torch.as_tensor(np.asarray(x), dtype=torch.float32)[None])
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    return calls


def _ai8x_only(model, calls):
    names = {n for n, m in model.named_modules()
             if any(c.__name__ == AI8X_LAYER_CLASS for c in type(m).__mro__)}
    return [c for c in calls if c.name in names]


def match(calls, network):
    """Greedy in execution order: for each layer the first call (by completion) after the
    previous match whose output (batch of one) has the layer's size, widened to the outermost
    call enclosing it with the same size."""
    out, after = {}, 0
    for index in network.order:
        L = network.layers[index]
        shape = (L.out_channels, L.output_dim[0], L.output_dim[1])
        size = int(np.prod(shape))
        fits = [c for c in calls if c.start > after and c.output.size == size]
        if not fits:
            continue
        inner = min(fits, key=lambda c: c.end)
        outer = min((c for c in fits if c.start <= inner.start and c.end >= inner.end),
                    key=lambda c: c.start)
        out[index] = outer.output.reshape(shape)
        after = outer.end
    return out

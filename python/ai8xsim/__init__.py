"""ai8xsim: a bit-accurate simulator of the MAX78000/MAX78002 CNN accelerators.

    net = ai8xsim.load("network.yaml", "model-q.pth.tar", device="MAX78000")
    y = net.run(x)                      # int32, izer's C x H x W (1-D: C x L x 1)
    r = net.run(x, layers=True)         # r.output, r.layers {YAML index: array}, r.cycles
    Y = net.run_batch(X, threads=4)     # N x C x H x W, progress bar for long batches
    net.evaluate(X, y)                  # top-1/top-5, per class, confusion (as `ai8xsim eval`)
    net.summary()                       # per-layer table (text / notebook HTML)
    yaml_text, report = ai8xsim.plan("net.yaml", "model-q.pth.tar", sample=x)  # placement
    ai8xsim.parity.compare(net, x, reference)   # layer-by-layer, with diagnoses
    ai8xsim.sweep("net.yaml", "float.pth.tar", samples="x.npy", labels="y.npy")  # widths
    ai8xsim.write_weights("net.yaml", "float.pth.tar", "q.npz", weight_bits={0: 4})

Errors in files or samples raise ai8xsim.Error (a RuntimeError) with `.kind`."""
from ._core import Error
from .simulator import OPTIONS, Cost, Cycles, Memory, RunResult, Simulator, load
from .summary import Summary
from .planner import plan
from .evaluation import EvalReport
from .sweeps import sweep, pareto_front, SweepResult
from .quantize import write_weights
from . import parity, plots

__version__ = "0.1.0"

__all__ = ["Error", "load", "plan", "Simulator", "RunResult", "Cost", "Cycles", "Memory", "Summary",
           "EvalReport", "OPTIONS", "parity", "plots", "sweep", "pareto_front",
           "SweepResult", "write_weights", "__version__"]

#!/usr/bin/env python3
"""ai8xsim's quantizer against ai8x-synthesis's own quantize.py (a measurement, not a CI test:
izer is not part of the test environment).

For every distinct model-zoo checkpoint of the parity corpus: a float checkpoint in
ai8x-training's format on its layer shapes (seeded random values, rounding edges planted:
tests/python/test_quantize.py's writer), quantized by `SYNTHESIS/quantize.py --device D -c
YAML`; then ai8xsim.load of the float file and ai8xsim.load of quantize.py's output must give
every layer the same weights, biases, width and output shift.

    AI8XSIM_BUILD_DIR=build /usr/bin/python3 tools/quantize_vs_izer.py /path/to/ai8x-synthesis

quantize.py needs torch, numpy, PyYAML and `rich` (for its messages only; a stand-in printing
plain text is used when rich is missing)."""
import pathlib
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "python"))


def main(argv):
    if len(argv) != 1 or not (pathlib.Path(argv[0]) / "quantize.py").is_file():
        print(__doc__, file=sys.stderr)
        return 2
    import numpy as np
    import torch
    import yaml
    import test_quantize as T
    from pysupport import case_dir, import_ai8xsim, load_options, meta, ok_cases
    ai8xsim = import_ai8xsim()
    synthesis = pathlib.Path(argv[0]).resolve()
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="quantize-vs-izer-"))
    env = None
    try:
        import rich  # noqa: F401
    except ImportError:
        (tmp / "stub").mkdir()
        (tmp / "stub" / "rich.py").write_text(
            "def print(*a, **k):\n    import builtins\n    builtins.print(*a, **k)\n")
        env = {**__import__("os").environ, "PYTHONPATH": str(tmp / "stub")}
    seen, compared, layers, differ, skipped = set(), 0, 0, 0, []
    for case in ok_cases():
        m = meta(case)
        if not m.get("checkpoint"):
            continue
        d = case_dir(case)
        ckp = (d / m["checkpoint"]).resolve()
        key = (ckp, (d / m["config"]).read_text(), m["device"])
        if key in seen:
            continue
        seen.add(key)
        ck = torch.load(ckp, map_location="cpu", weights_only=False)
        doc = yaml.safe_load((d / m["config"]).read_text())
        yq = [-1 if isinstance(L.get("quantization"), str) else L.get("quantization")
              for L in doc["layers"]]
        state = T.plant_edges(T.float_state(ck["state_dict"], 20), yq)
        fp, qp = tmp / f"{case}-float.pth.tar", tmp / f"{case}-q.pth.tar"
        T.save(fp, state, ck.get("arch", "unknown"))
        p = subprocess.run([sys.executable, str(synthesis / "quantize.py"), str(fp), str(qp),
                            "--device", m["device"], "-c", str(d / m["config"])],
                           capture_output=True, text=True, env=env, cwd=synthesis)
        if p.returncode:
            skipped.append(f"{case}: quantize.py failed: {p.stderr.strip()[-200:]}")
            continue
        try:
            ours = ai8xsim.load(d / m["config"], fp, device=m["device"], **load_options(m))
            ref = ai8xsim.load(d / m["config"], qp, device=m["device"], **load_options(m))
            shape = np.load(d / m["sample_input"]).shape
            a, b = ours.network(shape).layers, ref.network(shape).layers
        except ai8xsim.Error as e:
            skipped.append(f"{case}: {str(e)[:300]}")
            continue
        bad = [la.index for la, lb in zip(a, b)
               if la.quantization != lb.quantization or la.output_shift != lb.output_shift
               or (lb.weights is not None and not np.array_equal(la.weights, lb.weights))
               or (lb.bias is not None and not np.array_equal(la.bias, lb.bias))]
        compared += 1
        layers += len(a)
        differ += len(bad)
        print(f"{case}: {len(a)} layers, differ: {bad or 'none'}")
    for s in skipped:
        print("not compared:", s)
    print(f"{compared} checkpoints, {layers} layers compared, {differ} differ")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

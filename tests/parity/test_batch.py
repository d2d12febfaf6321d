"""Batch input through `ai8xsim run`: N samples in one .npy give the N results of N single
runs, in order, on 1 and 2 threads (model-zoo networks: the first of each input rank)."""
import pathlib
import subprocess
import sys

import numpy as np
import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
import corpus as C  # noqa: E402
from conftest import corpus_dir, require_corpus  # noqa: E402


def _cases():
    d = corpus_dir()
    if not (d / "index.json").is_file():
        return ["<no corpus>"]
    chosen = {}
    for case, v in sorted(C.load_index(d).items()):
        if v["status"] != "ok" or not C.meta(d, case).get("checkpoint"):
            continue
        rank = np.load(C.case_dir(d, case) / "input.npy", mmap_mode="r").ndim
        chosen.setdefault((v["device"], rank), case)
    return sorted(chosen.values())


@pytest.mark.parametrize("case", _cases())
@pytest.mark.parametrize("threads", [1, 2])
def test_batch_equals_single_runs(case, threads, cli, tmp_path):
    corpus = require_corpus()
    m = C.meta(corpus, case)
    x = np.load(C.case_dir(corpus, case) / "input.npy")
    rng = np.random.default_rng(threads)
    batch = np.stack([x] + [np.clip(x + rng.integers(-9, 10, x.shape), -128, 127)
                            for _ in range(4)]).astype(np.int8)
    np.save(tmp_path / "batch.npy", batch)
    base = C.cli_args(corpus, case, m, m["weights"])
    sample_at = base.index("--sample-input") + 1

    def run(sample, out, extra=()):
        args = list(base)
        args[sample_at] = str(sample)
        subprocess.run([str(cli)] + args + ["--output", str(out), "-q", *extra], check=True,
                       capture_output=True, timeout=600)
        return np.load(out)

    outs = run(tmp_path / "batch.npy", tmp_path / "outs.npy", ["--threads", str(threads)])
    assert outs.shape[0] == len(batch)
    expected = np.load(C.case_dir(corpus, case) / "expected.npz")["output"]
    assert (outs[0] == expected).all(), f"{case}: batch sample 0 differs from izer"
    for i in range(1, len(batch)):
        np.save(tmp_path / "one.npy", batch[i])
        single = run(tmp_path / "one.npy", tmp_path / "one_out.npy")
        assert (outs[i] == single).all(), f"{case}: batch sample {i} differs from a single run"

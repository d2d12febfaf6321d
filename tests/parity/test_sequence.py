"""Rolling data buffers through the CLI (cases whose YAML has a `data_buffer`):
`run --sequence` on a batch equals the Python binding's run_sequence and starts as izer's
single-sample run; the memory map names the buffer region, explain-address names its words
and check prints it."""
import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
import corpus as C  # noqa: E402
from conftest import build_dir, corpus_dir, require_corpus  # noqa: E402


def _cases():
    d = corpus_dir()
    if not (d / "index.json").is_file():
        return ["<no corpus>"]
    found = [c for c, v in sorted(C.load_index(d).items()) if v["status"] == "ok"
             and "data_buffer:" in (C.case_dir(d, c) / C.meta(d, c)["config"]).read_text()]
    return found or ["<no corpus>"]


def _frames(x, n=3):
    rng = np.random.default_rng(16)
    return np.stack([x] + [np.clip(x + rng.integers(-20, 21, x.shape), -128, 127)
                           for _ in range(n - 1)]).astype(np.int8)


@pytest.mark.parametrize("case", _cases())
def test_cli_sequence_equals_the_binding_and_starts_as_izer(case, cli, tmp_path):
    corpus = require_corpus()
    m = C.meta(corpus, case)
    d = C.case_dir(corpus, case)
    frames = _frames(np.load(d / "input.npy"))
    np.save(tmp_path / "frames.npy", frames)
    args = C.cli_args(corpus, case, m, m["weights"])
    args[args.index("--sample-input") + 1] = str(tmp_path / "frames.npy")
    p = subprocess.run([str(cli)] + args + ["--sequence", "--output", str(tmp_path / "o.npy"),
                                            "-q"], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    seq = np.load(tmp_path / "o.npy")
    assert seq.shape[0] == len(frames)
    assert (seq[0] == np.load(d / "expected.npz")["output"]).all()

    pkg = build_dir() / "python"
    if str(pkg) not in sys.path:
        sys.path.insert(0, str(pkg))
    import ai8xsim
    net = ai8xsim.load(d / m["config"], d / m["weights"], device=m["device"],
                       overlap_data="--overlap-data" in m["flags"])
    assert np.array_equal(net.run_sequence(frames), seq)
    # Without --sequence each frame starts from a zero buffer: the later steps differ from
    # the sequence's unless the buffer does not matter (it does in a TCN).
    p = subprocess.run([str(cli)] + args + ["--output", str(tmp_path / "b.npy"), "-q"],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    alone = np.load(tmp_path / "b.npy")
    assert (alone[0] == seq[0]).all()
    assert not all((alone[i] == seq[i]).all() for i in range(1, len(frames)))


@pytest.mark.parametrize("case", _cases())
def test_buffer_in_memory_map_explain_address_and_check(case, cli, tmp_path):
    corpus = require_corpus()
    m = C.meta(corpus, case)
    d = C.case_dir(corpus, case)
    cfg = (d / m["config"]).read_text()
    args = C.cli_args(corpus, case, m, m["weights"])
    p = subprocess.run([str(cli)] + args + ["--report", str(tmp_path / "r.json"), "-q"],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    mm = json.loads((tmp_path / "r.json").read_text())["memory_map"]
    buf = [r for r in mm["data"]["regions"] if r["kind"] == "buffer"]
    assert buf and all(r["name"] and r["name"] in cfg for r in buf)
    inst = {(i["group"], i["instance"]): i["address"] for i in mm["data"]["instances"]}
    r = buf[0]
    addr = inst[(r["group"], r["instance"])] + r["start"]
    common = args[1:args.index("--device") + 2]
    p = subprocess.run([str(cli), "explain-address", hex(addr)] + common + [
        a for a in args[args.index("--device") + 2:] if a.startswith("--")],
        capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    assert f"data buffer `{r['name']}`: entry 0" in p.stdout
    p = subprocess.run([str(cli), "check"] + common, capture_output=True, text=True,
                       timeout=600)
    assert f"data buffer `{r['name']}`" in p.stdout, p.stdout

"""Bit-exactness against izer over the whole parity corpus, through the CLI.

Every `status: ok` case: the final output and every layer equal izer's, and the data memory
after the run matches izer's known-answer test (generated/sampleoutput.h) word for word (from weights.npz,
and for model-zoo cases also from the quantized checkpoint). Every `status: failed` case:
ai8xsim refuses it too (non-zero exit, no output file). Each test reports matched/total
elements per layer when it fails."""
import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
import corpus as C  # noqa: E402
from conftest import corpus_dir  # noqa: E402


def _cases(status):
    return C.case_names(corpus_dir(), status)


def _weight_sources(case_list):
    d = corpus_dir()
    out = []
    for case in case_list:
        if case == "<no corpus>":
            out.append((case, None))
            continue
        m = C.meta(d, case)
        out.append((case, m["weights"]))
        if m.get("checkpoint"):
            out.append((case, m["checkpoint"]))
    return out


@pytest.mark.parametrize("case,weights", _weight_sources(_cases("ok")))
def test_ok_case_is_bit_exact(case, weights, cli, tmp_path):
    corpus = __import__("conftest").require_corpus()
    m = C.meta(corpus, case)
    dump = tmp_path / "layers"
    out = dump / "output.npy"
    report = tmp_path / "report.json"
    kat = C.case_dir(corpus, case) / "generated" / "sampleoutput.h.gz"
    args = C.cli_args(corpus, case, m, weights) + ["--output", str(out), "--dump-layers",
                                                   str(dump), "--report", str(report), "--quiet",
                                                   "--kat", str(kat)]
    p = subprocess.run([str(cli)] + args, capture_output=True, text=True, timeout=600)
    # Exit 0 also means the data SRAM after the run matched izer's known-answer test
    # (sampleoutput.h: address, mask, words) word for word.
    assert p.returncode == 0, f"{case}: ai8xsim failed: {p.stderr.strip()}"
    expected = dict(np.load(C.case_dir(corpus, case) / "expected.npz"))
    rows = C.compare_layers(expected, dump)
    bad = [r for r in rows if r[1] != r[2]]
    table = "\n".join(f"  {n}: {m_}/{t} equal {note}" for n, m_, t, note in rows)
    assert not bad, f"{case} ({weights}): layers differ from izer:\n{table}"
    latency = m.get("latency")
    if latency:  # izer estimates MAX78000 only: the report's total equals izer's
        got = json.loads(report.read_text())
        assert got["total_cycles"] == latency["total"], (
            f"{case}: cycle model {got['total_cycles']} != izer's {latency['total']}")


@pytest.mark.parametrize("case", _cases("failed"))
def test_failed_case_is_refused(case, cli, tmp_path):
    corpus = __import__("conftest").require_corpus()
    m = C.meta(corpus, case)
    d = C.case_dir(corpus, case)
    weights = m["weights"] or "weights.npz"
    out = tmp_path / "out.npy"
    args = C.cli_args(corpus, case, m, weights) + ["--output", str(out), "--quiet"]
    p = subprocess.run([str(cli)] + args, capture_output=True, text=True, timeout=600)
    assert p.returncode != 0, f"{case}: izer refused it ({m['error']}) but ai8xsim ran it"
    assert not out.exists(), f"{case}: a refused run left {out} behind"
    assert "Traceback" not in p.stderr and p.stderr.strip(), f"{case}: no clear message"
    message = p.stderr.lower()
    terms = C.limit_terms(m["error"])
    assert terms, f"{case}: izer's refusal is not classified: {m['error']}"
    assert any(t.lower() in message for t in terms), (
        f"{case}: izer refused it for: {m['error']}\n  ai8xsim says: {p.stderr.strip()}\n"
        f"  expected the message to name one of {terms}")

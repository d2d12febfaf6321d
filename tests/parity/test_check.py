"""`ai8xsim check` over the corpus: "fits" for every network izer accepted; for every network
izer refused, a non-zero exit naming the same limit (the same classification as the parity
suite's refused cases)."""
import pathlib
import subprocess
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
import corpus as C  # noqa: E402
from conftest import corpus_dir, require_corpus  # noqa: E402


def _cases():
    return C.case_names(corpus_dir())


def _check_args(corpus, case, m):
    run = C.cli_args(corpus, case, m, m["weights"] or "weights.npz")
    return ["check"] + [a for a in run[1:]]


@pytest.mark.parametrize("case", _cases())
def test_check_agrees_with_izer(case, cli, tmp_path):
    corpus = require_corpus()
    m = C.meta(corpus, case)
    report = tmp_path / "report.json"
    p = subprocess.run([str(cli)] + _check_args(corpus, case, m) + ["--report", str(report)],
                       capture_output=True, text=True, timeout=300)
    out = (p.stdout + p.stderr).lower()
    if m["status"] == "ok":
        assert p.returncode == 0, f"{case}: izer accepted it, check says:\n{p.stdout}{p.stderr}"
        assert "fits" in out
        assert report.is_file()
    else:
        assert p.returncode != 0, f"{case}: izer refused it ({m['error']}), check says it fits"
        terms = C.limit_terms(m["error"])
        assert any(t.lower() in out for t in terms), (
            f"{case}: izer: {m['error']}\n  check: {p.stdout}{p.stderr}\n  expected one of {terms}")

#!/usr/bin/env python3
"""Parity summary over the corpus: runs the CLI on every case (in parallel) and prints one
line per case that is not as izer (bit-exact for ok cases, refused for failed ones).

usage: tests/parity/report.py [--build build] [--corpus ../shared/parity] [--filter SUBSTR]
"""
import argparse
import concurrent.futures as cf
import os
import pathlib
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import corpus as C  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]


def check(exe, corpus, case, weights):
    m = C.meta(corpus, case)
    with tempfile.TemporaryDirectory() as tmp:
        dump = pathlib.Path(tmp) / "layers"
        out = dump / "output.npy"
        args = C.cli_args(corpus, case, m, weights or "weights.npz") + [
            "--output", str(out), "--dump-layers", str(dump), "--quiet"]
        p = subprocess.run([str(exe)] + args, capture_output=True, text=True)
        if m["status"] != "ok":
            if p.returncode == 0:
                return f"NOT REFUSED  {case}: izer: {m['error'][:100]}"
            return None
        if p.returncode != 0:
            return f"FAILED       {case} ({weights}): {p.stderr.strip()[:300]}"
        rows = C.compare_layers(dict(np.load(C.case_dir(corpus, case) / "expected.npz")), dump)
        bad = [r for r in rows if r[1] != r[2]]
        if bad:
            return f"DIFFERS      {case} ({weights}): " + ", ".join(
                f"{n} {a}/{b} {note}" for n, a, b, note in bad[:4])
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=str(ROOT / "build"))
    ap.add_argument("--corpus", default=str(ROOT.parent / "shared" / "parity"))
    ap.add_argument("--filter", default="")
    ap.add_argument("--jobs", type=int, default=os.cpu_count())
    a = ap.parse_args()
    corpus = pathlib.Path(a.corpus)
    exe = pathlib.Path(a.build) / "ai8xsim"
    jobs = []
    for case, v in sorted(C.load_index(corpus).items()):
        if a.filter not in case:
            continue
        m = C.meta(corpus, case)
        jobs.append((case, m["weights"]))
        if v["status"] == "ok" and m.get("checkpoint"):
            jobs.append((case, m["checkpoint"]))
    bad = 0
    with cf.ThreadPoolExecutor(a.jobs) as ex:
        for r in ex.map(lambda j: check(exe, corpus, *j), jobs):
            if r:
                bad += 1
                print(r, flush=True)
    print(f"{len(jobs) - bad} passed, {bad} failed")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

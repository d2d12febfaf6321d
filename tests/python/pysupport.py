"""Helpers for the Python tests: the built package on sys.path, and the parity corpus walked
by properties (status, device, checkpoint, fake-quant references), never by case name.

Not a conftest.py: tests/conftest.py is the one the other suites import as `conftest`."""
import json
import os
import pathlib
import sys

import numpy as np
import pytest

TESTS = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(TESTS))
sys.path.insert(0, str(TESTS / "parity"))
from conftest import build_dir, corpus_dir, require_corpus  # noqa: E402,F401
import corpus as C  # noqa: E402  (tests/parity/corpus.py)

PACKAGE_DIR = build_dir() / "python"
if (PACKAGE_DIR / "ai8xsim" / "__init__.py").is_file():
    sys.path.insert(0, str(PACKAGE_DIR))

NO_CORPUS = "<no corpus>"


def have_corpus():
    return (corpus_dir() / "index.json").is_file()


def import_ai8xsim():
    try:
        import ai8xsim
    except ImportError as e:
        pytest.fail(f"ai8xsim does not import ({e}): build it first (python package in "
                    f"{PACKAGE_DIR}; set AI8XSIM_BUILD_DIR)")
    return ai8xsim


# ---- the corpus ----------------------------------------------------------------------------

def ok_cases():
    if not have_corpus():
        return []
    index = C.load_index(corpus_dir())
    return sorted(k for k, v in index.items() if v["status"] == "ok")


def failed_cases():
    if not have_corpus():
        return []
    index = C.load_index(corpus_dir())
    return sorted(k for k, v in index.items() if v["status"] == "failed")


def meta(case):
    return C.meta(corpus_dir(), case)


def case_dir(case):
    return C.case_dir(corpus_dir(), case)


def first_demo_per_device():
    """The first (by name) model-zoo case (one with a checkpoint) of each device."""
    first = {}
    for case in ok_cases():
        m = meta(case)
        if m.get("checkpoint") and m["device"] not in first:
            first[m["device"]] = case
    return [first[d] for d in sorted(first)] or [NO_CORPUS]


def first_case_where(pred):
    return next((c for c in ok_cases() if pred(c)), None)


def is_1d(case):
    return np.load(case_dir(case) / meta(case)["sample_input"]).ndim == 2


load_options = C.load_options  # ai8xsim.load keyword options for meta.json's izer flags


def load_case(ai8xsim, case, weights=None):
    """(net, sample, expected layers {index: array}, meta) for a corpus case; weights:
    'checkpoint', 'weights' (weights.npz) or None for the checkpoint when there is one."""
    m = meta(case)
    d = case_dir(case)
    key = weights or ("checkpoint" if m.get("checkpoint") else "weights")
    net = ai8xsim.load(d / m["config"], (d / m[key]).resolve(), device=m["device"],
                       **load_options(m))
    x = np.load(d / m["sample_input"])
    return net, x, expected_layers(case), m


def expected_layers(case):
    with np.load(case_dir(case) / "expected.npz") as z:
        return {int(k[6:]): z[k] for k in z.files if k.startswith("layer_")}


def fakequant_refs():
    """(reference dir, its meta.json) for every fake-quant reference."""
    root = corpus_dir() / "fakequant"
    if not root.is_dir():
        return []
    return [(d, json.loads((d / "meta.json").read_text())) for d in sorted(root.iterdir())
            if (d / "fakequant_layers.npz").is_file()]


def in_ci():
    return bool(os.environ.get("CI"))

"""Walks the parity corpus (../shared/parity): no case names in code, only what index.json
and each case's meta.json say.

The corpus's pending/ folder holds izer runs of features that joined ai8xsim after the corpus
was made (pending/index.json, pending/cases/<case>, pending/checkpoints): the corpus is
read-only, so they are listed here as regular cases; a case's folder is case_dir()."""
import json
import re
import pathlib

import numpy as np


PENDING = "pending"


def load_index(corpus: pathlib.Path) -> dict:
    """index.json and pending/index.json, one dict (a name in both: the main entry)."""
    index = {}
    pending = corpus / PENDING / "index.json"
    if pending.is_file():
        index.update(json.loads(pending.read_text()))
    index.update(json.loads((corpus / "index.json").read_text()))
    return index


def case_dir(corpus: pathlib.Path, case: str) -> pathlib.Path:
    """The folder of a case: cases/<case>, or pending/cases/<case> for a pending one."""
    d = corpus / "cases" / case
    if not d.is_dir() and (corpus / PENDING / "cases" / case).is_dir():
        return corpus / PENDING / "cases" / case
    return d


def case_names(corpus: pathlib.Path, status: str = "") -> list:
    """The corpus's case names, sorted (only those of `status` when given: ok, failed); for
    parametrizing tests: ["<no corpus>"] when the corpus is absent (the test then skips or
    fails through conftest.require_corpus)."""
    if not (corpus / "index.json").is_file():
        return ["<no corpus>"]
    return sorted(k for k, v in load_index(corpus).items() if not status or v["status"] == status)


def meta(corpus: pathlib.Path, case: str) -> dict:
    return json.loads((case_dir(corpus, case) / "meta.json").read_text())


# izer flags that change results or are accepted by `ai8xsim run` (the rest only shape the
# generated C code).
_VALUE_FLAGS = {"--no-bias"}
_BOOL_FLAGS = {"--avg-pool-rounding", "--fifo", "--fast-fifo", "--overlap-data"}


def run_flags(m: dict) -> list:
    """The ai8xsim arguments for the izer options recorded in meta.json's izer_command."""
    cmd = m["izer_command"]
    out = []
    i = 0
    while i < len(cmd):
        a = cmd[i]
        if a in _BOOL_FLAGS:
            out.append(a)
        elif a in _VALUE_FLAGS and i + 1 < len(cmd):
            out += [a, cmd[i + 1]]
            i += 1
        i += 1
    return out


def load_options(m: dict) -> dict:
    """ai8xsim.load keyword options for the izer flags recorded in meta.json."""
    flags = run_flags(m)
    opts = {}
    for i, f in enumerate(flags):
        if f == "--no-bias":
            opts["no_bias"] = [int(v) for v in flags[i + 1].split(",") if v]
        elif f.startswith("--") and f != "--no-bias":
            opts[f[2:].replace("-", "_")] = True
    return opts


def cli_args(corpus: pathlib.Path, case: str, m: dict, weights: str) -> list:
    d = case_dir(corpus, case)
    return ["run", "--config-file", str(d / m["config"]), "--checkpoint-file",
            str((d / weights).resolve()), "--sample-input", str(d / (m["sample_input"] or "input.npy")),
            "--device", m["device"]] + run_flags(m)


def compare_layers(expected: dict, dump_dir: pathlib.Path) -> list:
    """Per expected layer: (name, matched, total, note). `output` is compared too."""
    rows = []
    for name in sorted(expected):
        want = expected[name]
        path = dump_dir / f"{name}.npy" if name != "output" else dump_dir / "output.npy"
        if not path.is_file():
            rows.append((name, 0, want.size, "missing"))
            continue
        got = np.load(path)
        if got.shape != want.shape:
            rows.append((name, 0, want.size, f"shape {got.shape} != {want.shape}"))
            continue
        rows.append((name, int((got == want).sum()), want.size, ""))
    return rows


# What izer's refusal is about -> words ai8xsim's message must contain (any of them).
# Derived from the phrasing of izer's messages, not from case names.
_LIMIT_PHRASES = [
    ("binary weights", ["binary"]),
    ("kernel bypass", ["bypass"]),
    ("convolution groups", ["groups"]),
    ("requires use of a fifo", ["fifo"]),
    ("exceeds data memory instance size", ["data memory instance"]),
    ("processors per pass", ["processors per pass"]),
    ("pooling in passthrough layer", ["pass"]),
    ("exceeds system maximum", ["dimension"]),
    ("padding for the final streaming layer", ["pad"]),
    ("padded conv1d with input expansion", ["input expansion"]),
    ("exceeds a multi-pass", ["passes"]),
    ("packed version", ["packed"]),
    ("supports up to", ["layers"]),
    ("kernel dimensions", ["kernel"]),
    # izer finds the mismatch while simulating; weights.npz does not keep a layer's input
    # channel count, so ai8xsim derives it from the data and refuses on the channels instead.
    ("input dimensions do not match", ["input dimensions", "channels"]),
]


def limit_terms(izer_error: str) -> list:
    """Alternatives, one of which ai8xsim's message must name, for izer's refusal."""
    low = izer_error.lower()
    for phrase, terms in _LIMIT_PHRASES:
        if phrase in low:
            return terms
    ticked = re.findall(r"`([a-z_0-9]+)`", izer_error)
    return ticked[:1] if ticked else []


def generated_file(gen: pathlib.Path, name: str):
    """izer's generated file `name` in a case's generated/ folder, plain or gzip-compressed;
    None when neither is there."""
    for p in (gen / name, gen / (name + ".gz")):
        if p.is_file():
            return p
    return None


def load_input_source(gen: pathlib.Path):
    """The generated C file that defines load_input() (izer puts it in main.c for embedded
    code; cnn.c is searched too), or None."""
    import gzip
    for name in ("main.c", "cnn.c"):
        p = generated_file(gen, name)
        if p is None:
            continue
        text = gzip.open(p, "rt").read() if p.suffix == ".gz" else p.read_text()
        if "void load_input(void)" in text:
            return p
    return None

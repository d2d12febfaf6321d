"""The data memory model against izer's generated code, over every `status: ok` case.

`ai8xsim check-memory` (one process per case) with the case's generated files:
  - the input: the data memory image ai8xsim's loader writes equals what load_input() copies
    from sampledata.h (memcpy32), or, for --fifo cases, the FIFO streams equal the arrays
    load_input() pushes into each FIFO;
  - every layer that reads data memory: the input it reads there equals the engine's input
    (where izer's simulation splits element-wise operands otherwise, the memory must hold
    what the hardware reads, and the command says so);
  - a run where every such layer takes its input from data memory gives the same output on
    every layer as the run on tensors;
  - cnn_unload() (izer's generated unload, modelled on the memory) returns the outputs,
    except where the command names izer's known cnn_unload() quirk;
  - the memory after the run passes izer's known-answer records.
Also: the memory map against the memory models on cases picked by property, the Python
binding's memory-fed run against izer, and `run --kat` on a known-answer file with one word
changed (exit 2, the word named, the run memory-fed).
"""
import gzip
import pathlib
import re
import subprocess
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
import corpus as C  # noqa: E402
from conftest import corpus_dir, require_corpus  # noqa: E402


def _cases():
    return C.case_names(corpus_dir(), "ok")


def _line(out: str, label: str):
    """(matched, total) from the line `label: M/T ...`, or None when it is missing."""
    m = re.search(rf"^{re.escape(label)}[^:\n]*: (\d+)/(\d+)", out, re.M)
    return (int(m.group(1)), int(m.group(2))) if m else None


@pytest.mark.parametrize("case", _cases())
def test_memory_model_matches_generated_code(case, cli):
    corpus = require_corpus()
    m = C.meta(corpus, case)
    gen = C.case_dir(corpus, case) / "generated"
    sample_data = C.generated_file(gen, "sampledata.h")
    load_code = C.load_input_source(gen)
    kat = C.generated_file(gen, "sampleoutput.h")
    assert sample_data and load_code and kat, f"{case}: generated/ lacks izer's files"
    args = ["check-memory"] + C.cli_args(corpus, case, m, m["weights"])[1:] + [
        "--sample-data", str(sample_data), "--load-code", str(load_code),
        "--read-from-memory", "--kat", str(kat), "--kat-lines", "5"]
    p = subprocess.run([str(cli)] + args, capture_output=True, text=True, timeout=600)
    out = p.stdout + p.stderr
    assert p.returncode == 0, f"{case}: check-memory failed (exit {p.returncode}):\n{out}"

    fifo = "--fifo" in args or "--fast-fifo" in args
    loaded = _line(out, "input (FIFO streams)" if fifo else "input (data memory image)")
    assert loaded and loaded[1] > 0 and loaded[0] == loaded[1], f"{case}: input:\n{out}"
    reads = _line(out, "reads")
    assert reads and reads[0] == reads[1], f"{case}: layer inputs:\n{out}"
    if not fifo:  # with the FIFOs the first layer reads no data memory
        assert reads[1] > 0, f"{case}: no layer input was read from data memory:\n{out}"
    fed = _line(out, "memory-fed run")
    assert fed and fed[1] == len(m["layer_order"]) and fed[0] == fed[1], f"{case}:\n{out}"
    unload = _line(out, "unload")
    assert unload and unload[1] > 0, f"{case}: no cnn_unload() comparison:\n{out}"
    if unload[0] != unload[1]:
        assert "expected (izer's cnn_unload())" in out, f"{case}: cnn_unload():\n{out}"
    words = _line(out, "KAT")
    assert words and words[1] > 0 and words[0] == words[1], f"{case}: KAT:\n{out}"


# ---- the memory map and the memory-fed binding, on cases picked by property ------------------

def _yaml_layers(case):
    import yaml
    text = (C.case_dir(corpus_dir(), case) / C.meta(corpus_dir(), case)["config"]).read_text()
    return yaml.safe_load(text).get("layers", [])


def _input_channels(case, m):
    import numpy as np
    return np.load(C.case_dir(corpus_dir(), case) / (m["sample_input"] or "input.npy"),
                   mmap_mode="r").shape[0]


# Properties that change the data layout, the kernel or the bias allocation.
_PROPERTIES = {
    "fifo": lambda m, ls, c: "--fifo" in m["flags"],
    "multi-pass input": lambda m, ls, c: c > 64 and "--fifo" not in m["flags"],
    "write_gap": lambda m, ls, c: any(L.get("write_gap", 0) for L in ls),
    "32-bit output": lambda m, ls, c: any(L.get("output_width", 8) == 32 for L in ls),
    "element-wise in_sequences": lambda m, ls, c: any(
        L.get("in_sequences") and len(L["in_sequences"]) > 1 for L in ls),
    "bias_group": lambda m, ls, c: any("bias_group" in L or "bias_quadrant" in L for L in ls),
    "CHW input": lambda m, ls, c: str(ls[0].get("data_format", "HWC")).upper() == "CHW",
    "model zoo on MAX78002": lambda m, ls, c: bool(m.get("checkpoint")) and m["device"] == "MAX78002",
    "rolling data buffer": lambda m, ls, c: any("buffer_shift" in L or "buffer_insert" in L
                                                for L in ls),
}


def _cases_by_property():
    d = corpus_dir()
    if not (d / "index.json").is_file():
        return [("<no corpus>", "<no corpus>")]
    picked = []
    info = {}
    for name, pred in _PROPERTIES.items():
        for case in _cases():
            if case not in info:
                m = C.meta(d, case)
                info[case] = (m, _yaml_layers(case), _input_channels(case, m))
            m = info[case][0]
            # izer truncates its known-answer list with --max-checklines: not comparable
            if "--max-checklines" in m["flags"]:
                continue
            if pred(*info[case]):
                picked.append((name, case))
                break
    return picked


def _core(build):
    pkg = build / "python"
    if str(pkg) not in sys.path:
        sys.path.insert(0, str(pkg))
    from ai8xsim import _ai8xsim  # noqa: E402
    return _ai8xsim


def _load_core(corpus, case, m):
    from conftest import build_dir
    core = _core(build_dir())
    d = C.case_dir(corpus, case)
    flags = m["flags"]
    no_bias = []
    cmd = m["izer_command"]
    for i, a in enumerate(cmd):
        if a == "--no-bias" and i + 1 < len(cmd):
            no_bias = [int(x) for x in cmd[i + 1].split(",")]
    return core.Simulator.load(str(d / m["config"]), str(d / m["weights"]), device=m["device"],
                               no_bias=no_bias,
                               avg_pool_rounding="--avg-pool-rounding" in flags,
                               fifo="--fifo" in flags, fast_fifo="--fast-fifo" in flags,
                               overlap_data="--overlap-data" in flags)


def _kat_words(path):
    text = gzip.open(path, "rt").read() if path.suffix == ".gz" else path.read_text()
    body = re.search(r"#define SAMPLE_OUTPUT \{(.*?)\}", text, re.S).group(1)
    a = [int(x, 0) for x in re.findall(r"0x[0-9a-fA-F]+|\d+", body)]
    i = n = 0
    while a[i] != 0:
        n += a[i + 2]
        i += 3 + a[i + 2]
    return n


def _memcpy_words(path):
    text = gzip.open(path, "rt").read() if path.suffix == ".gz" else path.read_text()
    return sum(int(n) for n in re.findall(
        r"memcpy32\(\s*\(uint32_t \*\)\s*0x[0-9a-fA-F]+,\s*\w+,\s*(\d+)\s*\)", text))


@pytest.mark.parametrize("prop,case", _cases_by_property())
def test_memory_map_agrees_with_the_memory_models(prop, case, cli, tmp_path):
    """run --report/--memory-map: the totals equal the kernel/bias allocators' (Python
    binding), the input loader's words equal load_input()'s memcpy32 counts, the output
    layers' words equal the known-answer records; the SVG is XML with one region element per
    region of the JSON."""
    import xml.etree.ElementTree as ET
    import numpy as np
    corpus = require_corpus()
    m = C.meta(corpus, case)
    gen = C.case_dir(corpus, case) / "generated"
    report, svg = tmp_path / "r.json", tmp_path / "map.svg"
    args = C.cli_args(corpus, case, m, m["weights"]) + [
        "--report", str(report), "--memory-map", str(svg), "--quiet"]
    p = subprocess.run([str(cli)] + args, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, f"{case} ({prop}): {p.stderr}"
    mm = __import__("json").loads(report.read_text())["memory_map"]
    totals = mm["totals"]

    x = np.load(C.case_dir(corpus, case) / (m["sample_input"] or "input.npy"))
    shape = list(x.shape) if x.ndim == 3 else [x.shape[0], x.shape[1], 1]
    mem = _load_core(corpus, case, m).memory(shape)
    assert totals["kernel_rows_used"] == mem["kernel_rows_written"], prop
    assert totals["bias_bytes_used"] == mem["bias_bytes_used"], prop
    assert totals["kernel_rows"] == sum(q["capacity_rows"] for q in mm["kernel"]["processors"])
    assert len(mm["data"]["instances"]) == 16
    assert totals["data_bytes"] == 16 * mm["data"]["instance_bytes"]
    assert 0 < totals["data_bytes_used"] <= totals["data_bytes"]
    assert all(i["used_bytes"] <= i["capacity_bytes"] and i["high_water"] <= i["capacity_bytes"]
               for i in mm["data"]["instances"])

    regions = mm["data"]["regions"]
    loaded = sum(r["words"] for r in regions if r["kind"] == "load")
    if "--fifo" in m["flags"]:
        assert loaded == 0
    else:
        assert loaded == _memcpy_words(C.load_input_source(gen)), f"{case}: loaded words"
    outputs = {L["layer"] for L in mm["layers"] if L["output"]} | {m["final_layer"]}
    written = sum(r["words"] for r in regions if r["kind"] == "write" and r["layer"] in outputs)
    assert written == _kat_words(C.generated_file(gen, "sampleoutput.h")), f"{case}: outputs"
    assert {r["layer"] for r in regions if r["kind"] == "write"} == set(m["layer_order"])

    ns = "{http://www.w3.org/2000/svg}"
    rects = [e for e in ET.parse(svg).getroot().iter(ns + "rect")
             if "region" in e.get("class", "").split()]

    def count(mem_kind, key):
        return sorted(key(e) for e in rects if e.get("data-memory") == mem_kind)
    assert count("data", lambda e: (int(e.get("data-layer")), e.get("data-kind"))) == sorted(
        (r["layer"], r["kind"]) for r in regions)
    assert count("kernel", lambda e: (int(e.get("data-layer")), int(e.get("data-processor")))) \
        == sorted((r["layer"], r["processor"]) for r in mm["kernel"]["regions"])
    assert count("bias", lambda e: (int(e.get("data-layer")), int(e.get("data-group")))) == sorted(
        (r["layer"], r["group"]) for r in mm["bias"]["regions"])


@pytest.mark.parametrize("prop,case", _cases_by_property())
def test_memory_fed_binding_equals_izer(prop, case):
    """The Python binding's run(memory_fed=True): every layer equals izer's."""
    import numpy as np
    corpus = require_corpus()
    m = C.meta(corpus, case)
    x = np.load(C.case_dir(corpus, case) / (m["sample_input"] or "input.npy"))
    sim = _load_core(corpus, case, m)
    _, layers = sim.run(x, True, memory_fed=True)
    expected = np.load(C.case_dir(corpus, case) / "expected.npz")
    for ll in m["layer_order"]:
        want = expected[f"layer_{int(ll):03d}"]
        got = layers[int(ll)]
        assert got.size == want.size and (got.reshape(want.shape) == want).all(), (
            f"{case} ({prop}): layer {ll} differs from izer in the memory-fed run")


def test_kat_mismatch_names_the_word_and_the_run_is_memory_fed(cli, tmp_path):
    """run --kat on a known-answer file with one word changed: exit 2, the address, layer and
    channel named; the run reports the layers that read their input from data memory."""
    corpus = require_corpus()
    def plain(c):  # every layer reads data memory: no FIFO, no streaming, no element-wise
        ls = _yaml_layers(c)
        return ("--fifo" not in C.meta(corpus, c)["flags"]
                and len(C.meta(corpus, c)["layer_order"]) > 2
                and not any(L.get("streaming") or L.get("eltwise") or L.get("operands", 1) != 1
                            or str(L.get("op", L.get("operation", ""))).lower()
                            in ("add", "sub", "or", "xor", "bitwiseor", "bitwisexor")
                            for L in ls))
    case = next((c for c in _cases() if plain(c)), None)
    assert case, "no multi-layer case without FIFO, streaming or element-wise layers"
    m = C.meta(corpus, case)
    kat = C.generated_file(C.case_dir(corpus, case) / "generated", "sampleoutput.h")
    text = gzip.open(kat, "rt").read() if kat.suffix == ".gz" else kat.read_text()
    body = re.search(r"#define SAMPLE_OUTPUT \{(.*?)\}", text, re.S)
    nums = re.findall(r"0x[0-9a-fA-F]+", body.group(1))
    address, mask, first = int(nums[0], 16), int(nums[1], 16), nums[3]  # nums[2]: the count
    changed = f"0x{int(first, 16) ^ (mask & 0x01010101 or mask):08x}"
    start = body.start(1) + body.group(1).index(first, body.group(1).index(nums[2]) + 1)
    bad = tmp_path / "sampleoutput.h"
    bad.write_text(text[:start] + changed + text[start + len(first):])
    args = C.cli_args(corpus, case, m, m["weights"]) + ["--kat", str(bad)]
    p = subprocess.run([str(cli)] + args, capture_output=True, text=True, timeout=600)
    assert p.returncode == 2, f"{case}: exit {p.returncode}\n{p.stdout}{p.stderr}"
    assert "(1 differ)" in p.stderr and f"0x{address:08x}" in p.stderr, p.stderr
    assert re.search(r"holds layer \d+ output", p.stderr), p.stderr
    fed = re.search(r"memory-fed run: (\d+) layer", p.stderr)
    assert fed and int(fed.group(1)) == len(m["layer_order"]), p.stderr
    ok = subprocess.run([str(cli)] + C.cli_args(corpus, case, m, m["weights"]) + ["--kat", str(kat)],
                        capture_output=True, text=True, timeout=600)
    assert ok.returncode == 0 and "memory-fed run:" in ok.stdout, ok.stderr

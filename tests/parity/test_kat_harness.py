"""`ai8xsim kat --samples`: the board harness (kat_main.c + kat_samples.h), built with the host
gcc against a stub of the izer-generated cnn.c API (tests/data/kat_host) that checks each
sample's input arrived and plays back the sample's expected words. On corpus cases picked by
property (memory-loaded, FIFO-loaded, MAX78002, 32-bit output, 1-D):
  - every sample passes, and the summary says so;
  - a corrupted word is reported with its sample, and the layer, channel and pixel named
    equal what `ai8xsim explain-address` says writes that word and lane;
  - kat_samples.h holds, for each sample, the same input and expected words as
    `ai8xsim kat --sample-input` writes for that sample alone (izer's format).
"""
import pathlib
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
import corpus as C  # noqa: E402
from conftest import corpus_dir, require_corpus  # noqa: E402

HOST = pathlib.Path(__file__).resolve().parent.parent / "data" / "kat_host"
SAMPLES = 3


def _picked_cases():
    """Small ok cases, one per property, by name order."""
    corpus = corpus_dir()
    names = C.case_names(corpus, "ok")
    if names == ["<no corpus>"]:
        return names
    wanted = {
        "memory MAX78000": lambda m, y: m["device"] == "MAX78000" and "--fifo" not in m["izer_command"],
        "fifo": lambda m, y: "--fifo" in m["izer_command"],
        "MAX78002": lambda m, y: m["device"] == "MAX78002" and "--fifo" not in m["izer_command"],
        "32-bit output": lambda m, y: "output_width: 32" in y,
        "1-D": lambda m, y: "conv1d" in y.lower(),
    }
    picked = []
    for label, pred in wanted.items():
        for name in names:
            d = C.case_dir(corpus, name)
            m = C.meta(corpus, name)
            if (d / "input.npy").stat().st_size > 16384:
                continue
            if pred(m, (d / m["config"]).read_text()) and name not in picked:
                picked.append(name)
                break
    return picked


def _words(text: str, start: str) -> list:
    """The hex words of the brace block that follows `start` in `text`."""
    at = text.index(start)
    body = text[text.index("{", at) + 1:]
    depth, end = 1, 0
    for end, ch in enumerate(body):
        depth += ch == "{"
        depth -= ch == "}"
        if depth == 0:
            break
    return [int(v, 16) for v in re.findall(r"0x[0-9a-f]{8}", re.sub(r"//[^\n]*", "", body[:end]))]


@pytest.mark.parametrize("case", _picked_cases())
def test_harness_on_host(case, cli, tmp_path):
    corpus = require_corpus()
    if shutil.which("gcc") is None:
        pytest.fail("gcc not found (tools/debian-packages.txt lists it)")
    m = C.meta(corpus, case)
    base = C.cli_args(corpus, case, m, m["weights"])[1:]
    i = base.index("--sample-input")
    x = np.load(base[i + 1]).astype(np.int64)
    samples = np.stack([(x + 128 + 37 * k) % 256 - 128 for k in range(SAMPLES)]).astype(np.int8)
    np.save(tmp_path / "samples.npy", samples)
    net_args = base[:i] + base[i + 2:]
    out = tmp_path / "kat"
    p = subprocess.run([str(cli), "kat", *net_args, "--samples", str(tmp_path / "samples.npy"),
                        "-o", str(out), "-q"], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, f"{case}: kat --samples failed:\n{p.stderr}"
    kat_h = (out / "kat_samples.h").read_text()

    # Each sample's words equal `kat --sample-input` for that sample alone.
    for k in (0, SAMPLES - 1):
        np.save(tmp_path / f"s{k}.npy", samples[k])
        one = tmp_path / f"one{k}"
        p = subprocess.run([str(cli), "kat", *net_args, "--sample-input", str(tmp_path / f"s{k}.npy"),
                            "-o", str(one), "-q"], capture_output=True, text=True, timeout=600)
        assert p.returncode == 0, p.stderr
        data = (one / "sampledata.h").read_text()
        inputs = []
        for name in re.findall(r"#define (SAMPLE_INPUT_\d+)", data):
            inputs += _words(data, f"#define {name} ")
        in_block = kat_h[kat_h.index("kat_input[KAT_SAMPLES]"):]
        assert _words(in_block, f"{{ // sample {k}\n") == inputs, f"{case}: sample {k} inputs"
        so = _words((one / "sampleoutput.h").read_text(), "#define SAMPLE_OUTPUT")
        expected, r = [], 0
        while so[r] != 0:
            expected += so[r + 3:r + 3 + so[r + 2]]
            r += 3 + so[r + 2]
        exp_block = kat_h[kat_h.index("kat_expected[KAT_SAMPLES]"):]
        assert _words(exp_block, f"{{ // sample {k}\n") == expected, f"{case}: sample {k} outputs"

    exe = tmp_path / "harness"
    p = subprocess.run(["gcc", "-std=c99", "-O1", "-Wall", "-Wextra", "-Werror", "-DKAT_HOST",
                        f"-I{HOST}", f"-I{out}", str(out / "kat_main.c"), str(HOST / "stub_cnn.c"),
                        "-o", str(exe)], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, f"{case}: the harness does not build:\n{p.stderr}"

    clean = subprocess.run([str(exe)], capture_output=True, text=True, timeout=600)
    assert clean.returncode == 0, f"{case}:\n{clean.stdout}"
    for k in range(SAMPLES):
        assert f"sample {k}: PASS" in clean.stdout
    assert f"KAT: {SAMPLES} of {SAMPLES} samples pass" in clean.stdout

    # Corrupt one checked word of the middle sample: the last one checked.
    n_words = int(re.search(r"#define KAT_CHECK_WORDS (\d+)", kat_h).group(1))
    word = n_words - 1
    bad = subprocess.run([str(exe)], capture_output=True, text=True, timeout=600,
                         env={"STUB_CORRUPT": f"1:{word}"})
    assert bad.returncode == 1, f"{case}:\n{bad.stdout}"
    assert "sample 0: PASS" in bad.stdout and f"sample {SAMPLES - 1}: PASS" in bad.stdout
    assert f"sample 1: FAIL (1 of {n_words} words differ)" in bad.stdout
    assert f"KAT: {SAMPLES - 1} of {SAMPLES} samples pass" in bad.stdout
    line = re.search(r"^sample 1: word (0x[0-9a-f]{8}): expected (0x[0-9a-f]{8}), read "
                     r"(0x[0-9a-f]{8}) \(mask (0x[0-9a-f]{8})\): layer (\d+) channel (\d+) "
                     r"(pixel \(\d+, \d+\)|position \d+)$", bad.stdout, re.M)
    assert line, f"{case}: no report of the corrupted word:\n{bad.stdout}"
    addr, want, got, mask = (int(v, 16) for v in line.group(1, 2, 3, 4))
    assert want ^ got == mask & (~mask + 1) & 0xffffffff
    lane = ((mask & -mask).bit_length() - 1) // 8
    layer, channel, where = int(line.group(5)), int(line.group(6)), line.group(7)

    # What writes that word, independently: explain-address.
    ex = subprocess.run([str(cli), "explain-address", line.group(1), *base],
                        capture_output=True, text=True, timeout=600)
    assert ex.returncode == 0, ex.stderr
    writes = ex.stdout.split("written by")[1].split("read by")[0]
    ok = False
    for w in writes.splitlines():
        if not w.strip().startswith(f"layer {layer} output") or where not in w:
            continue
        if "(32-bit)" in w:
            ok |= f"channel {channel} " in w
        else:
            ok |= f"lane {lane}: ch {channel}" in w
    assert ok, f"{case}: harness says layer {layer} channel {channel} {where} (lane {lane}); " \
               f"explain-address:\n{writes}"

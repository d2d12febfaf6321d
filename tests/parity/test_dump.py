"""`ai8xsim check-memory --dump`: a board's data memory dump against the simulation of the same
sample. The "board" is izer: on corpus cases picked by property (both devices, FIFO input,
32-bit output, 1-D), the dump holds the output words izer's sampleoutput.h expects with a full
mask, written as gdb/OpenOCD text lines, as a raw little-endian .bin and as a .npy (the last
two with --dump-base). A clean dump matches word for word (exit 0); a dump with one bit flipped
fails (exit 2) and names that word with the layer, channel and pixel `explain-address` gives
for it; a malformed dump is a one-line error naming the file and line.
"""
import gzip
import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
import corpus as C  # noqa: E402
from conftest import corpus_dir, require_corpus  # noqa: E402


def _records(case):
    gen = C.case_dir(corpus_dir(), case) / "generated"
    p = C.generated_file(gen, "sampleoutput.h")
    text = gzip.open(p, "rt").read() if p.suffix == ".gz" else p.read_text()
    v = [int(x, 16) for x in re.findall(r"0x[0-9a-f]{8}", text)]
    out, i = [], 0
    while v[i]:
        addr, mask, n = v[i:i + 3]
        out.append((addr, mask, v[i + 3:i + 3 + n]))
        i += 3 + n
    return out


def _picked_cases():
    corpus = corpus_dir()
    names = C.case_names(corpus, "ok")
    if names == ["<no corpus>"]:
        return names
    wanted = [
        lambda m, y: m["device"] == "MAX78000" and "--fifo" not in m["izer_command"],
        lambda m, y: m["device"] == "MAX78002" and "--fifo" not in m["izer_command"],
        lambda m, y: "--fifo" in m["izer_command"],
        lambda m, y: "output_width: 32" not in y,
        lambda m, y: "conv1d" in y.lower(),
    ]
    picked = []
    for pred in wanted:
        for name in names:
            d = C.case_dir(corpus, name)
            m = C.meta(corpus, name)
            if (d / "input.npy").stat().st_size > 16384 or name in picked:
                continue
            if pred(m, (d / m["config"]).read_text()) and \
                    any(mask == 0xffffffff for _, mask, _ in _records(name)):
                picked.append(name)
                break
    return picked


def _check(cli, args, dump, *extra):
    return subprocess.run([str(cli), "check-memory", *args, "--dump", str(dump), *extra],
                          capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("case", _picked_cases())
def test_board_dump(case, cli, tmp_path):
    corpus = require_corpus()
    m = C.meta(corpus, case)
    args = C.cli_args(corpus, case, m, m["weights"])[1:]
    full = [(a, w) for a, mask, w in _records(case) if mask == 0xffffffff]
    n = sum(len(w) for _, w in full)

    lines = ["# data memory read from the board"]
    for a, words in full:
        for k in range(0, len(words), 4):  # gdb x/4xw style: four words a line
            lines.append(f"0x{a + 4 * k:08x}:\t" + "\t".join(f"0x{x:08x}" for x in words[k:k + 4]))
    clean = tmp_path / "clean.txt"
    clean.write_text("\r\n".join(lines) + "\r\n")
    p = _check(cli, args, clean)
    assert p.returncode == 0, f"{case}:\n{p.stdout}{p.stderr}"
    assert f"dump: {n}/{n} words equal the simulation;" in p.stdout

    # One contiguous run as raw binary and as .npy, with its base address.
    a, words = max(full, key=lambda r: len(r[1]))
    (tmp_path / "run.bin").write_bytes(np.array(words, dtype="<u4").tobytes())
    np.save(tmp_path / "run.npy", np.array(words, dtype=np.uint32))
    for f in ("run.bin", "run.npy"):
        p = _check(cli, args, tmp_path / f, "--dump-base", f"0x{a:08x}")
        assert p.returncode == 0, f"{case} {f}:\n{p.stdout}{p.stderr}"
        assert f"dump: {len(words)}/{len(words)} words equal" in p.stdout

    # One bit flipped in the last full word.
    a, words = full[-1]
    addr = a + 4 * (len(words) - 1)
    bad = tmp_path / "bad.txt"
    bad.write_text("\n".join(lines[:-1] + [re.sub(r"0x([0-9a-f]{8})$", lambda mm: f"0x{int(mm.group(1), 16) ^ 0x100:08x}", lines[-1])]) + "\n")
    p = _check(cli, args, bad)
    assert p.returncode == 2, f"{case}:\n{p.stdout}{p.stderr}"
    out = p.stdout + p.stderr
    assert f"dump: {n - 1}/{n} words equal the simulation (1 differ)" in out
    line = re.search(rf"^  0x{addr:08x}: board 0x[0-9a-f]{{8}}, simulation 0x[0-9a-f]{{8}} "
                     r"\(lanes written 0x[0-9a-f]{8}\): (.*)$", out, re.M)
    assert line, f"{case}: the flipped word 0x{addr:08x} is not named:\n{out}"
    said = line.group(1)
    ex = subprocess.run([str(cli), "explain-address", f"0x{addr:08x}", *args],
                        capture_output=True, text=True, timeout=600)
    writes = ex.stdout.split("written by")[1].split("read by")[0].strip().splitlines()
    last = writes[-1].strip()  # the last writer in execution order
    layer = re.match(r"layer (\d+) output", last).group(1)
    if "(32-bit)" in last:
        ch = re.search(r"channel (\d+)", last).group(1)
    else:
        ch = re.search(r"lane 1: ch (\d+)", last).group(1)  # bit 8 is in lane 1
        assert said.startswith("lane 1: "), said
    pixel = re.search(r"(pixel \(\d+, \d+\)|position \d+)", last).group(1)
    assert f"layer {layer} channel {ch} {pixel}" in said, f"{case}: {said} / {last}"


def test_malformed_dump(cli, tmp_path):
    corpus = require_corpus()
    case = _picked_cases()[0]
    m = C.meta(corpus, case)
    args = C.cli_args(corpus, case, m, m["weights"])[1:]
    bad = tmp_path / "d.txt"
    bad.write_text("0x50400000: 0x00000001\n0x50400004 0x2\n")
    p = _check(cli, args, bad)
    assert p.returncode == 1 and p.stderr.startswith("ai8xsim: error: ")
    assert f"{bad} line 2: found `0x50400004 0x2`" in p.stderr and len(p.stderr.splitlines()) == 1
    (tmp_path / "odd.bin").write_bytes(b"\x01\x02\x03")
    p = _check(cli, args, tmp_path / "odd.bin", "--dump-base", "0x50400000")
    assert p.returncode == 1 and "3 bytes is not a whole number of 32-bit words" in p.stderr

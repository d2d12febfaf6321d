"""`ai8xsim kat` against izer: for every `status: ok` case, the sampledata.h and sampleoutput.h
ai8xsim writes for the case's sample equal izer's generated files token by token (comments
aside; the line-continuation backslashes count as tokens), with the case's izer options
(--fifo, --max-checklines N, ...). One process per case (pytest -n 2 spreads them)."""
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

_TOKEN = re.compile(r"0[xX][0-9a-fA-F]+|\w+|\\|\S")


def c_tokens(text: str) -> list:
    """The C tokens of `text` with /* */ and // comments removed."""
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    return _TOKEN.findall(text)


def first_difference(want: list, got: list) -> str:
    for i, (a, b) in enumerate(zip(want, got)):
        if a != b:
            return (f"token {i}: izer `{a}`, ai8xsim `{b}`; izer: {' '.join(want[max(0, i - 6):i + 6])}"
                    f" / ai8xsim: {' '.join(got[max(0, i - 6):i + 6])}")
    return f"izer has {len(want)} tokens, ai8xsim {len(got)}"


def izer_option(cmd: list, name: str):
    return cmd[cmd.index(name) + 1] if name in cmd and cmd.index(name) + 1 < len(cmd) else None


@pytest.mark.parametrize("case", C.case_names(corpus_dir(), "ok"))
def test_kat_equals_izer_files(case, cli, tmp_path):
    corpus = require_corpus()
    m = C.meta(corpus, case)
    gen = C.case_dir(corpus, case) / "generated"
    args = ["kat"] + C.cli_args(corpus, case, m, m["weights"])[1:] + ["-o", str(tmp_path), "-q"]
    checklines = izer_option(m["izer_command"], "--max-checklines")
    if checklines is not None:
        args += ["--max-checklines", checklines]
    p = subprocess.run([str(cli)] + args, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, f"{case}: kat failed (exit {p.returncode}):\n{p.stderr}"
    for name in ("sampledata.h", "sampleoutput.h"):
        ref = C.generated_file(gen, name)
        assert ref, f"{case}: generated/ lacks {name}"
        want = c_tokens(gzip.open(ref, "rt").read() if ref.suffix == ".gz" else ref.read_text())
        got = c_tokens((tmp_path / name).read_text())
        assert want, f"{case}: izer's {name} is empty"
        assert got == want, f"{case}: {name}: {first_difference(want, got)}"


def clang_format_layout(text: str) -> str:
    """izer's `#define NAME { \\` text in msdk's clang-format layout: the name alone, the brace
    on the next (continued) line, the values indented and continued with padded backslashes,
    CRLF line ends, a comment between two values."""
    out = []
    for line in text.splitlines():
        m = re.match(r"#define (\w+) \{ \\$", line)
        if m:
            out += [f"#define {m.group(1)}".ljust(90) + "\\", "    {".ljust(90) + "\\"]
        elif line.startswith("  0x"):
            body = line.strip().rstrip("\\").rstrip()
            out.append(("        " + body.replace(", ", ", /* w */ ", 1)).ljust(90) + "\\")
        elif line == "}":
            out.append("    }")
        else:
            out.append(line)
    return "\r\n".join(out) + "\r\n"


@pytest.mark.parametrize("case", C.case_names(corpus_dir(), "ok")[::97])
def test_run_kat_takes_clang_format_layout(case, cli, tmp_path):
    """`run --kat` and `check-memory --sample-data` take izer's files reformatted as msdk ships
    them (the defect of issue 22: the brace on the line after `#define SAMPLE_OUTPUT \\`)."""
    corpus = require_corpus()
    m = C.meta(corpus, case)
    gen = C.case_dir(corpus, case) / "generated"
    files = {}
    for name in ("sampleoutput.h", "sampledata.h"):
        ref = C.generated_file(gen, name)
        text = gzip.open(ref, "rt").read() if ref.suffix == ".gz" else ref.read_text()
        reformatted = clang_format_layout(text)
        assert reformatted != text and c_tokens(reformatted.replace("/* w */", "")) != []
        files[name] = tmp_path / name
        files[name].write_bytes(reformatted.encode())
    args = C.cli_args(corpus, case, m, m["weights"])
    p = subprocess.run([str(cli), *args, "--kat", str(files["sampleoutput.h"])],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, f"{case}:\n{p.stdout}{p.stderr}"
    assert re.search(r"KAT: (\d+)/\1 words match", p.stdout + p.stderr)
    load = C.load_input_source(gen)
    p = subprocess.run([str(cli), "check-memory", *args[1:], "--sample-data",
                        str(files["sampledata.h"]), "--load-code", str(load)],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, f"{case}:\n{p.stdout}{p.stderr}"


def test_kat_errors_leave_no_file(cli, tmp_path):
    """A sample of the wrong shape, both or neither of --sample-input/--samples, a negative
    --max-checklines: one line `ai8xsim: error: ...`, exit 1, nothing written."""
    import numpy as np
    corpus = require_corpus()
    case = C.case_names(corpus, "ok")[0]
    m = C.meta(corpus, case)
    args = C.cli_args(corpus, case, m, m["weights"])[1:]
    i = args.index("--sample-input")
    net, sample = args[:i] + args[i + 2:], args[i + 1]
    x = np.load(sample)
    np.save(tmp_path / "wrong.npy", np.zeros((x.shape[0] + 1,) + x.shape[1:], dtype=np.int8))
    out = tmp_path / "out"
    for extra in (["--sample-input", str(tmp_path / "wrong.npy")],
                  ["--samples", str(tmp_path / "wrong.npy")],
                  [],
                  ["--sample-input", sample, "--samples", sample],
                  ["--sample-input", sample, "--max-checklines", "-3"]):
        p = subprocess.run([str(cli), "kat", *net, *extra, "-o", str(out)], capture_output=True,
                           text=True, timeout=600)
        assert p.returncode == 1, f"{extra}: exit {p.returncode}\n{p.stdout}{p.stderr}"
        assert p.stderr.startswith("ai8xsim: error: ") and len(p.stderr.splitlines()) == 1, p.stderr
        assert not out.exists() or not any(out.iterdir()), f"{extra}: files left in {out}"

"""`ai8xsim plan` over the corpus (docs/plan.md).

Accepted networks: with `processors`, `output_processors`, `in_offset` and `out_offset`
removed from every layer, the planned YAML passes `check`, every layer equals izer's
expected.npz, and the cycle model counts no more cycles than for izer's own placement.
Networks izer refused for a placement reason (a processor map, an offset, data memory per
instance): plan finds a placement that passes `check`, or, where the network's own shapes
exceed an instance, names that limit."""
import pathlib
import re
import subprocess
import sys
from collections import Counter

import numpy as np
import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
import corpus as C  # noqa: E402
from conftest import build_dir, corpus_dir, require_corpus  # noqa: E402

KEYS = ("processors", "output_processors", "in_offset", "out_offset")
# izer's refusals that are about placement (its message phrases, not case names).
PLACEMENT_PHRASES = ("must not be zero or missing", "enabled processor map",
                     "packed version of the input processors",
                     "exceeds data memory instance size", "overwriting")


def strip_placement(text: str) -> str:
    """The YAML without the four placement keys (a `- key:` line keeps its list dash)."""
    out = []
    for line in text.splitlines():
        m = re.match(r"^(\s*)(- )?\s*(\w+)\s*:", line)
        if m and m.group(3) in KEYS:
            if m.group(2):
                out.append(m.group(1) + "-")
            continue
        out.append(line)
    return "\n".join(out) + "\n"


def _ai8xsim():
    sys.path.insert(0, str(build_dir() / "python"))
    import ai8xsim
    return ai8xsim


def _options(m: dict) -> dict:
    flags = C.run_flags(m)
    opts = {}
    i = 0
    while i < len(flags):
        f = flags[i]
        if f == "--no-bias":
            opts.setdefault("no_bias", []).extend(int(v) for v in flags[i + 1].split(","))
            i += 1
        else:
            opts[f[2:].replace("-", "_")] = True
        i += 1
    return opts


def _check(cli, config, weights, sample, m):
    cmd = [str(cli), "check", "--config-file", str(config), "--checkpoint-file", str(weights),
           "--device", m["device"]] + C.run_flags(m)
    cmd += ["--sample-input", str(sample)] if sample else []
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300)


def _case_files(corpus, case, m):
    d = C.case_dir(corpus, case)
    weights = (d / (m["weights"] or "weights.npz")).resolve()
    sample = d / (m["sample_input"] or "input.npy")
    return d, weights, sample


def _stripped_case(case, tmp_path):
    """The case's files and options, and its YAML with the placement keys removed."""
    corpus = require_corpus()
    m = C.meta(corpus, case)
    d, weights, sample = _case_files(corpus, case, m)
    stripped = tmp_path / "stripped.yaml"
    stripped.write_text(strip_placement((d / m["config"]).read_text()))
    return m, d, weights, sample, stripped, _options(m), np.load(sample)


@pytest.mark.parametrize("case", C.case_names(corpus_dir(), "ok"))
def test_plan_accepted(case, cli, tmp_path):
    ai8xsim = _ai8xsim()
    m, d, weights, sample, stripped, opts, x = _stripped_case(case, tmp_path)
    assert not any(re.match(rf"^\s*(- )?\s*{k}\s*:", l) for l in stripped.read_text().splitlines()
                   for k in KEYS)
    if re.search(r"^data_buffer:", stripped.read_text(), re.M):
        # A rolling data buffer fixes its layers' offsets: the planner refuses the network.
        with pytest.raises(ai8xsim.Error, match="data_buffer"):
            ai8xsim.plan(stripped, weights, m["device"], sample=x, **opts)
        return
    planned_text, report = ai8xsim.plan(stripped, weights, m["device"], sample=x, **opts)
    planned = tmp_path / "planned.yaml"
    planned.write_text(planned_text)

    p = _check(cli, planned, weights, sample, m)
    assert p.returncode == 0 and "fits" in p.stdout, f"{case}: planned YAML:\n{p.stdout}{p.stderr}"

    # Memory-fed: every layer reads its input from the data memory image where the planned
    # offsets put it, so a placement that overwrote data still needed would show here.
    net = ai8xsim.load(planned, weights, m["device"], **opts)
    r = net.run(x, layers=True, memory_fed=True)
    expected = np.load(d / "expected.npz")
    for name in expected.files:
        got = r.output if name == "output" else r.layers[int(name.split("_")[1])]
        want = expected[name]
        assert got.shape == want.shape and np.array_equal(got, want), f"{case}: {name} differs"

    ours = net.cycles(x.shape).total
    izers = ai8xsim.load(d / m["config"], weights, m["device"], **opts).cycles(x.shape).total
    assert ours <= izers, f"{case}: planned {ours} cycles > izer's placement {izers}\n{report}"


def _refused_for_placement():
    corpus = corpus_dir()
    if not (corpus / "index.json").is_file():
        return ["<no corpus>"]
    out = []
    for case in C.case_names(corpus, "failed"):
        m = C.meta(corpus, case)
        err = m["error"] if isinstance(m["error"], str) else " ".join(m["error"])
        if any(p in err for p in PLACEMENT_PHRASES):
            out.append(case)
    return out


@pytest.mark.parametrize("case", _refused_for_placement())
def test_plan_refused_for_placement(case, cli, tmp_path):
    corpus = require_corpus()
    ai8xsim = _ai8xsim()
    m = C.meta(corpus, case)
    if m["weights"] is None:
        pytest.skip(f"{case}: izer refused it before loading weights; the corpus has none to plan with")
    d, weights, sample = _case_files(corpus, case, m)
    err = m["error"] if isinstance(m["error"], str) else " ".join(m["error"])
    stripped = tmp_path / "stripped.yaml"
    stripped.write_text(strip_placement((d / m["config"]).read_text()))
    opts = _options(m)
    # The shapes alone exceed an instance when izer says so at offset 0.
    impossible = re.search(r"exceeds data memory instance size", err) and \
        re.search(r"offset 0x0+ ", err)
    if impossible:
        with pytest.raises(ai8xsim.Error) as e:
            ai8xsim.plan(stripped, weights, m["device"], sample=sample, **opts)
        assert "data memory instance" in str(e.value) and e.value.kind == "capacity"
        out = tmp_path / "p.yaml"
        p = subprocess.run([str(cli), "plan", "--config-file", str(stripped), "--checkpoint-file",
                            str(weights), "--sample-input", str(sample), "--device", m["device"],
                            "--output", str(out)] + C.run_flags(m), capture_output=True, text=True)
        assert p.returncode == 2 and "data memory instance" in p.stdout and not out.exists()
        return
    planned_text, _ = ai8xsim.plan(stripped, weights, m["device"], sample=sample, **opts)
    planned = tmp_path / "planned.yaml"
    planned.write_text(planned_text)
    p = _check(cli, planned, weights, sample, m)
    assert p.returncode == 0 and "fits" in p.stdout, f"{case}: planned YAML:\n{p.stdout}{p.stderr}"


def _every(n, status="ok"):
    """Every n-th case of a status, in name order (a spread over networks and devices)."""
    names = C.case_names(corpus_dir(), status)
    return names if names == ["<no corpus>"] else names[::n]


def _highest_byte(report: str) -> int:
    return int(re.search(r"highest byte used (\d+)", report).group(1))


@pytest.mark.parametrize("case", _every(25))
def test_plan_memory_objective(case, cli, tmp_path):
    """--objective memory: fits, same values, and no more data memory than objective latency."""
    ai8xsim = _ai8xsim()
    m, d, weights, sample, stripped, opts, x = _stripped_case(case, tmp_path)
    text_m, report_m = ai8xsim.plan(stripped, weights, m["device"], sample=x, objective="memory", **opts)
    _, report_l = ai8xsim.plan(stripped, weights, m["device"], sample=x, **opts)
    assert _highest_byte(report_m) <= _highest_byte(report_l)
    planned = tmp_path / "planned.yaml"
    planned.write_text(text_m)
    p = _check(cli, planned, weights, sample, m)
    assert p.returncode == 0 and "fits" in p.stdout, f"{case}:\n{p.stdout}{p.stderr}"
    r = ai8xsim.load(planned, weights, m["device"], **opts).run(x, layers=True)
    assert np.array_equal(r.output, np.load(d / "expected.npz")["output"])


def _placement_lines(text):
    return [l.strip() for l in text.splitlines()
            if any(re.match(rf"^\s*(- )?\s*{k}\s*:", l) for k in KEYS)]


@pytest.mark.parametrize("case", _every(25))
def test_plan_keep(case, cli, tmp_path):
    """--keep: izer's own processors kept, offsets planned around them; all four kept: the
    placement lines are izer's, unchanged."""
    corpus = require_corpus()
    ai8xsim = _ai8xsim()
    m = C.meta(corpus, case)
    d, weights, sample = _case_files(corpus, case, m)
    original = (d / m["config"]).read_text()
    opts = _options(m)
    x = np.load(sample)
    text, report = ai8xsim.plan(d / m["config"], weights, m["device"], sample=x, keep=KEYS, **opts)
    # every placement line izer's YAML has is there unchanged (keys it left to izer's
    # defaults are written out)
    missing = Counter(_placement_lines(original)) - Counter(_placement_lines(text))
    assert not missing, f"{case}: kept lines changed: {sorted(missing)}"
    planned = tmp_path / "kept.yaml"
    planned.write_text(text)
    p = _check(cli, planned, weights, sample, m)
    assert p.returncode == 0 and "fits" in p.stdout, f"{case}:\n{report}\n{p.stdout}{p.stderr}"
    # izer's processor maps kept, offsets dropped and planned
    stripped = tmp_path / "offsets-stripped.yaml"
    stripped.write_text("\n".join(l for l in original.splitlines()
                                  if not re.match(r"^\s*(in_offset|out_offset)\s*:", l)) + "\n")
    text, report = ai8xsim.plan(stripped, weights, m["device"], sample=x,
                                keep="processors,output_processors", **opts)
    procs = lambda t: Counter(l for l in _placement_lines(t) if "processors" in l)  # noqa: E731
    assert not procs(stripped.read_text()) - procs(text)
    planned = tmp_path / "planned.yaml"
    planned.write_text(text)
    p = _check(cli, planned, weights, sample, m)
    assert p.returncode == 0 and "fits" in p.stdout, f"{case}:\n{report}\n{p.stdout}{p.stderr}"


@pytest.mark.parametrize("case", _every(1000))
def test_plan_bad_arguments(case, cli, tmp_path):
    """Bad --objective / --keep / unplannable YAML: one error line, exit 1, no output file."""
    corpus = require_corpus()
    m = C.meta(corpus, case)
    d, weights, sample = _case_files(corpus, case, m)
    out = tmp_path / "p.yaml"
    base = [str(cli), "plan", "--config-file", str(d / m["config"]), "--checkpoint-file",
            str(weights), "--sample-input", str(sample), "--device", m["device"],
            "--output", str(out)] + C.run_flags(m)
    for extra, words in ((["--objective", "fast"], ["--objective", "'fast'", "latency, memory"]),
                         (["--keep", "pad"], ["--keep", "'pad'", "in_offset"])):
        p = subprocess.run(base + extra, capture_output=True, text=True)
        assert p.returncode == 1 and not out.exists()
        assert p.stderr.startswith("ai8xsim: error: ") and p.stderr.count("\n") == 1
        assert all(w in p.stderr for w in words), p.stderr
    # no sample, no input shape, and nothing in the YAML that tells the input channels
    stripped = tmp_path / "stripped.yaml"
    stripped.write_text("\n".join(l for l in strip_placement((d / m["config"]).read_text()).splitlines()
                                  if not re.match(r"^\s*(- )?\s*in_channels\s*:", l)) + "\n")
    no_sample = [a for i, a in enumerate(base) if a != "--sample-input" and base[i - 1] != "--sample-input"]
    no_sample[no_sample.index("--config-file") + 1] = str(stripped)
    p = subprocess.run(no_sample, capture_output=True, text=True)
    assert p.returncode == 1 and not out.exists()
    assert "--sample-input or --input-shape" in p.stderr and "layer 0" in p.stderr, p.stderr
    # ... with --input-shape it plans
    x = np.load(sample)
    p = subprocess.run(no_sample + ["--input-shape", ",".join(str(v) for v in x.shape)],
                       capture_output=True, text=True)
    assert p.returncode == 0 and out.exists(), p.stdout + p.stderr
    out.unlink()
    flow = tmp_path / "flow.yaml"
    flow.write_text("arch: test\ndataset: x\nlayers: [{op: conv2d}]\n")
    p = subprocess.run(base[:3] + [str(flow)] + base[4:], capture_output=True, text=True)
    assert p.returncode == 1 and not out.exists() and "flow.yaml:3" in p.stderr


@pytest.mark.parametrize("case", _every(1000))
def test_plan_names_the_limit_in_checks_words(case, cli, tmp_path):
    """A kept offset that cannot hold the input: plan exits 2, writes nothing, and names the
    limit with the message `check` gives for the same placement."""
    corpus = require_corpus()
    m = C.meta(corpus, case)
    d, weights, sample = _case_files(corpus, case, m)
    ib = {"MAX78000": 0x8000, "MAX78002": 0x14000}[m["device"]]
    lines = strip_placement((d / m["config"]).read_text()).splitlines()
    first = next(i for i, l in enumerate(lines) if re.match(r"^\s*-(\s|$)", l))
    indent = len(lines[first]) - len(lines[first].lstrip()) + 2
    lines.insert(first + 1, " " * indent + f"in_offset: {ib - 4:#x}")
    bad = tmp_path / "bad.yaml"
    bad.write_text("\n".join(lines) + "\n")
    out = tmp_path / "p.yaml"
    args = ["--checkpoint-file", str(weights), "--sample-input", str(sample),
            "--device", m["device"]] + C.run_flags(m)
    p = subprocess.run([str(cli), "plan", "--config-file", str(bad), "--output", str(out),
                        "--keep", "in_offset"] + args, capture_output=True, text=True)
    assert p.returncode == 2 and not out.exists(), p.stdout + p.stderr
    limit = re.search(r"no placement found: (.*)", p.stdout).group(1)
    assert "data memory instance" in limit
    ai8xsim = _ai8xsim()
    with pytest.raises(ai8xsim.Error) as e:
        ai8xsim.plan(bad, weights, m["device"], sample=sample, keep=["in_offset"], **_options(m))
    assert limit in str(e.value) and e.value.kind == "capacity"
    # Without --keep the offset is replanned and fits; with the first layer's in_offset set back
    # to the kept value, `check` names the same limit in the same words.
    unkept, _ = ai8xsim.plan(bad, weights, m["device"], sample=sample, **_options(m))
    planned = tmp_path / "planned.yaml"
    planned.write_text(unkept)
    assert _check(cli, planned, weights, sample, m).returncode == 0
    planned.write_text(re.sub(r"in_offset: 0x[0-9a-f]+", f"in_offset: {ib - 4:#x}", unkept, count=1))
    c = _check(cli, planned, weights, sample, m)
    assert c.returncode == 2 and limit in c.stdout, c.stdout

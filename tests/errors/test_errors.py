"""Bad input (issue #8): every class of mistake gets one clear message and a non-zero exit, and
leaves no output file behind.

Each test builds its bad input at test time in tmp_path from a corpus case (a copied and
edited YAML, a rewritten checkpoint, a truncated .npy, ...) and runs `ai8xsim run` on it. It
checks the exit code, the message's key facts (file, layer or YAML position, key, the value
found, what is allowed, the fix where one is known), that the message is one line with no
stack trace, and that neither the --output file nor any temporary file next to it exists.

The case: the model-zoo (checkpoint) MAX78000 case izer accepted with the smallest C x H x W
input that runs with no extra flags, picked by these properties from the corpus index.
"""
import dataclasses
import io
import json
import os
import pathlib
import re
import subprocess
import sys
import zipfile

import numpy as np
import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "parity"))
import corpus as C  # noqa: E402
from conftest import require_corpus  # noqa: E402

# Text that must never reach the user: stack traces, aborts, sanitizer reports, and the CLI's
# last-resort "internal error" (an exception that is not an ai8xsim::Error).
FORBIDDEN = ["Traceback", "terminate called", "what():", "Aborted", "core dumped",
             "Segmentation fault", "AddressSanitizer", "runtime error:", "stack trace",
             "internal error"]


@dataclasses.dataclass
class Case:
    name: str
    dir: pathlib.Path
    yaml_text: str
    checkpoint: pathlib.Path
    weights_npz: pathlib.Path
    sample: pathlib.Path
    device: str


@pytest.fixture(scope="module")
def case() -> Case:
    corpus = require_corpus()
    found = []
    for name, entry in sorted(C.load_index(corpus).items()):
        if entry["status"] != "ok" or entry["device"] != "MAX78000":
            continue
        m = C.meta(corpus, name)
        if not m.get("checkpoint") or C.run_flags(m):
            continue
        d = C.case_dir(corpus, name)
        sample = d / (m["sample_input"] or "input.npy")
        shape = np.load(sample).shape
        if len(shape) == 3:
            found.append((int(np.prod(shape)), name, d, m, sample))
    assert found, "the corpus has no MAX78000 model-zoo case with a C x H x W input"
    _, name, d, m, sample = min(found)
    return Case(name, d, (d / m["config"]).read_text(), (d / m["checkpoint"]).resolve(),
                d / m["weights"], sample, m["device"])


# ---- running the CLI and checking the refusal -------------------------------------------------

@dataclasses.dataclass
class Outcome:
    returncode: int
    message: str  # stderr
    out_dir: pathlib.Path
    output: pathlib.Path


def run(cli, tmp_path, case, *, yaml=None, checkpoint=None, sample=None, output=None,
        extra=()) -> Outcome:
    out_dir = tmp_path / "out"
    out_dir.mkdir(exist_ok=True)
    output = output or out_dir / "result.npy"
    args = [str(cli), "run", "--config-file", str(yaml or write_yaml(tmp_path, case.yaml_text)),
            "--checkpoint-file", str(checkpoint or case.checkpoint),
            "--sample-input", str(sample or case.sample), "--device", case.device,
            "--output", str(output), "--report", str(out_dir / "report.json"),
            "--dump-layers", str(out_dir / "layers"), "--quiet", *extra]
    p = subprocess.run(args, capture_output=True, text=True, timeout=300)
    return Outcome(p.returncode, p.stderr, out_dir, output)


def files_under(d: pathlib.Path) -> list:
    return sorted(str(p) for p in d.rglob("*") if not p.is_dir()) if d.exists() else []


def refused(o: Outcome, *facts, kind_exit=1) -> str:
    """Asserts a clean refusal naming every fact (substrings, or compiled regexes); returns the
    message."""
    msg = o.message
    assert o.returncode == kind_exit, f"exit {o.returncode}, expected {kind_exit}: {msg}"
    for bad in FORBIDDEN:
        assert bad not in msg, f"{bad!r} in the message: {msg}"
    lines = msg.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ai8xsim: error: "), (
        f"expected one 'ai8xsim: error:' line, got:\n{msg}")
    for f in facts:
        if isinstance(f, re.Pattern):
            assert f.search(msg), f"no match for /{f.pattern}/ in: {msg}"
        else:
            assert f in msg, f"{f!r} missing from: {msg}"
    assert not o.output.exists(), f"{o.output} left behind"
    leftovers = [p for p in o.output.parent.glob(f".{o.output.name}.tmp*")]
    assert not leftovers, f"temporary files left behind: {leftovers}"
    assert files_under(o.out_dir) == [], f"files left behind: {files_under(o.out_dir)}"
    return msg


# ---- building bad inputs -----------------------------------------------------------------------

def write_yaml(tmp_path, text, name="network.yaml") -> pathlib.Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def layer_blocks(text: str):
    """(header lines, [lines of each `layers:` entry]) of a block-style izer YAML."""
    lines = text.splitlines(keepends=True)
    start = next(i for i, l in enumerate(lines) if l.startswith("layers:"))
    header, blocks = lines[:start + 1], []
    for line in lines[start + 1:]:
        if re.match(r"^\s*-\s", line):
            blocks.append([line])
        elif blocks:
            blocks[-1].append(line)
        else:
            header.append(line)
    assert blocks, "no layer entries found"
    return header, blocks


def join(header, blocks) -> str:
    return "".join(header) + "".join("".join(b) for b in blocks)


def key_indent(block) -> str:
    m = re.match(r"^(\s*)-\s+", block[0])
    return " " * len(m.group(0))


def set_key(text: str, layer: int, key: str, value: str):
    """The YAML with `key: value` set in layer `layer` (replaced, or added as the entry's last
    line), and the 1-based line of that key."""
    header, blocks = layer_blocks(text)
    block = blocks[layer]
    pat = re.compile(rf"^(\s*(?:-\s+)?){re.escape(key)}:.*$")
    for i, line in enumerate(block):
        m = pat.match(line.rstrip("\n"))
        if m:
            block[i] = f"{m.group(1)}{key}: {value}\n"
            break
    else:
        i = len(block)
        block.append(f"{key_indent(block)}{key}: {value}\n")
    line_no = len(header) + sum(len(b) for b in blocks[:layer]) + i + 1
    return join(header, blocks), line_no


def layer_line(text: str, layer: int) -> int:
    header, blocks = layer_blocks(text)
    return len(header) + sum(len(b) for b in blocks[:layer]) + 1


def load_checkpoint(path):
    import torch
    return torch.load(str(path), map_location="cpu")


def save_checkpoint(ckpt, path) -> pathlib.Path:
    import torch
    torch.save(ckpt, str(path))
    return path


def weight_keys(state_dict) -> list:
    """The keys izer takes as layer weights (`*.weight` with two or more dimensions), in order."""
    return [k for k, v in state_dict.items() if k.endswith(".weight") and v.dim() >= 2]


def layers_with_weights(text: str) -> int:
    _, blocks = layer_blocks(text)
    return sum(1 for b in blocks
               if not re.search(r"^\s*(-\s+)?(op|operation|operator|convolution): "
                                r"*(passthrough|none)\b", "".join(b), re.M | re.I))


def g6(v: float) -> str:
    """A number as the C++ messages print it (ostream default: %g)."""
    return f"{v:g}"


# ---- the case itself runs (so every refusal below is caused by the edit) ----------------------

def test_unedited_case_runs(cli, tmp_path, case):
    o = run(cli, tmp_path, case)
    assert o.returncode == 0, o.message
    assert o.output.is_file()
    assert np.load(o.output).ndim == 3


# ---- checkpoint --------------------------------------------------------------------------------

def test_unquantized_checkpoint_is_quantized(cli, tmp_path, case):
    """Float weights (ai8x-training's output) are quantized as quantize.py does, with one
    note line on stderr; `check` takes them too."""
    ckpt = load_checkpoint(case.checkpoint)
    sd = ckpt["state_dict"]
    first = weight_keys(sd)[0]
    sd[first] = sd[first] / 128.0  # float weights, as training leaves them before quantize.py
    path = save_checkpoint(ckpt, tmp_path / "trained.pth.tar")
    o = run(cli, tmp_path, case, checkpoint=path)
    assert o.returncode == 0, o.message
    assert o.output.is_file()
    lines = o.message.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ai8xsim: note: " + str(path)), o.message
    assert "holds float weights (not quantized): quantized" in lines[0]
    assert "as ai8x-synthesis's quantize.py does" in lines[0]
    yaml_path = write_yaml(tmp_path, case.yaml_text)
    c = subprocess.run([str(cli), "check", "--config-file", str(yaml_path), "--checkpoint-file",
                        str(path), "--device", case.device, "--sample-input", str(case.sample)],
                       capture_output=True, text=True, timeout=300)
    assert c.returncode == 0, c.stderr
    assert "ai8xsim: note:" in c.stderr and "fits" in c.stdout


def test_unquantized_checkpoint_with_nan(cli, tmp_path, case):
    ckpt = load_checkpoint(case.checkpoint)
    sd = ckpt["state_dict"]
    first = weight_keys(sd)[0]
    sd[first] = sd[first] / 128.0
    sd[first].view(-1)[3] = float("nan")
    path = save_checkpoint(ckpt, tmp_path / "trained.pth.tar")
    o = run(cli, tmp_path, case, checkpoint=path)
    refused(o, str(path), "quantizing", f"key '{first}'", "found nan at element 3",
            "must be finite")


def test_batchnorm_not_folded(cli, tmp_path, case):
    import torch
    ckpt = load_checkpoint(case.checkpoint)
    sd = ckpt["state_dict"]
    first = weight_keys(sd)[0]
    prefix = first[:-len("op.weight")] if first.endswith("op.weight") else first[:-len("weight")]
    channels = sd[first].shape[0]
    rebuilt = {}
    for key, value in sd.items():  # the BatchNorm of the first layer right after its weights
        rebuilt[key] = value
        if key == first:
            rebuilt[prefix + "bn.weight"] = torch.ones(channels)
            rebuilt[prefix + "bn.bias"] = torch.zeros(channels)
            rebuilt[prefix + "bn.running_mean"] = torch.zeros(channels)
            rebuilt[prefix + "bn.running_var"] = torch.ones(channels)
    ckpt["state_dict"] = rebuilt
    path = save_checkpoint(ckpt, tmp_path / "unfolded.pth.tar")
    o = run(cli, tmp_path, case, checkpoint=path)
    refused(o, str(path), f"key '{prefix}bn.weight'", "BatchNorm", "not folded",
            f"shape ({channels},)", "fold the BatchNorm layers", "batchnormfuser.py")


def test_checkpoint_with_more_layers_than_the_yaml(cli, tmp_path, case):
    import torch
    ckpt = load_checkpoint(case.checkpoint)
    sd = ckpt["state_dict"]
    sd["extra.op.weight"] = torch.ones(10, 10)
    sd["extra.op.bias"] = torch.zeros(10)
    path = save_checkpoint(ckpt, tmp_path / "bigger.pth.tar")
    yaml = write_yaml(tmp_path, case.yaml_text)
    o = run(cli, tmp_path, case, yaml=yaml, checkpoint=path)
    refused(o, str(path), "'extra.op.weight'", "shape (10, 10)", "more layers than the YAML",
            str(yaml), f"{len(weight_keys(sd)) - 1} layers take checkpoint weights",
            "add the missing layers to the YAML")


def test_checkpoint_with_fewer_layers_than_the_yaml(cli, tmp_path, case):
    ckpt = load_checkpoint(case.checkpoint)
    sd = ckpt["state_dict"]
    last = weight_keys(sd)[-1]
    prefix = last.split(".")[0] + "."
    ckpt["state_dict"] = {k: v for k, v in sd.items() if not k.startswith(prefix)}
    kept = len(weight_keys(ckpt["state_dict"]))
    path = save_checkpoint(ckpt, tmp_path / "smaller.pth.tar")
    yaml = write_yaml(tmp_path, case.yaml_text)
    n_layers = len(layer_blocks(case.yaml_text)[1])
    o = run(cli, tmp_path, case, yaml=yaml, checkpoint=path)
    refused(o, str(path), f"the checkpoint has {kept} weight tensors",
            "fewer than the YAML's layers with weights need",
            f"layer {n_layers - 1} ({yaml} line {layer_line(case.yaml_text, n_layers - 1)})",
            f"the YAML has {n_layers} layers", "use the YAML written for this checkpoint")


# ---- YAML: device rules and values ------------------------------------------------------------

def test_processors_with_fewer_bits_than_channels(cli, tmp_path, case):
    # Layer 1 reads layer 0's output: give it 4 processors for layer 0's output channels.
    sd = load_checkpoint(case.checkpoint)["state_dict"]
    channels = int(sd[weight_keys(sd)[0]].shape[0])
    assert channels > 4
    text, _ = set_key(case.yaml_text, 1, "processors", "0x00000000000000f0")
    yaml = write_yaml(tmp_path, text, "procs.yaml")
    o = run(cli, tmp_path, case, yaml=yaml)
    refused(o, f"{yaml}:{layer_line(text, 0)}: layer 0", f"{channels} output channels",
            f"need {channels} processors per pass", "0x00000000000000f0", "enables 4",
            "the `processors` of layer 1")


def test_kernel_5x5(cli, tmp_path, case):
    text, line = set_key(case.yaml_text, 0, "kernel_size", "5x5")
    yaml = write_yaml(tmp_path, text, "k5.yaml")
    o = run(cli, tmp_path, case, yaml=yaml)
    refused(o, f"{yaml}:{line}:", "layer 0", "key `kernel_size`", "found 5x5", "1x1 or 3x3")


def test_pad_3(cli, tmp_path, case):
    text, _ = set_key(case.yaml_text, 0, "pad", "3")
    yaml = write_yaml(tmp_path, text, "pad.yaml")
    o = run(cli, tmp_path, case, yaml=yaml)
    refused(o, f"{yaml}:{layer_line(text, 0)}: layer 0", "pad: found 3", "allowed: 0, 1, 2")


def test_pool_17(cli, tmp_path, case):
    text, line = set_key(case.yaml_text, 1, "max_pool", "17")
    yaml = write_yaml(tmp_path, text, "pool.yaml")
    o = run(cli, tmp_path, case, yaml=yaml)
    refused(o, f"{yaml}:{line}:", "layer 1", "key `max_pool`", "found 17", "from 1 to 16")


def test_33_layers_on_max78000(cli, tmp_path, case):
    header, blocks = layer_blocks(case.yaml_text)
    # 33 layers: the case's layers, then copies of its last (they never get as far as weights).
    while len(blocks) < 33:
        blocks.append(list(blocks[-1]))
    text = join(header, blocks)
    yaml = write_yaml(tmp_path, text, "deep.yaml")
    o = run(cli, tmp_path, case, yaml=yaml)
    refused(o, f"{yaml}:{layer_line(text, 32)}:", "key `layers`", "layer sequence 32",
            "at most 32 layers on MAX78000")


def test_depthwise_on_max78000(cli, tmp_path, case):
    # Layer 1 as a depthwise layer: groups = its input channels, which MAX78000 cannot do.
    sd = load_checkpoint(case.checkpoint)["state_dict"]
    channels = int(sd[weight_keys(sd)[1]].shape[1])
    text, _ = set_key(case.yaml_text, 1, "groups", str(channels))
    yaml = write_yaml(tmp_path, text, "depthwise.yaml")
    o = run(cli, tmp_path, case, yaml=yaml)
    refused(o, f"{yaml}:{layer_line(text, 1)}: layer 1", f"groups: found {channels}",
            "depthwise", "not supported on MAX78000", "MAX78002 only")


def test_streaming_without_fifo(cli, tmp_path, case):
    text, _ = set_key(case.yaml_text, 0, "streaming", "true")
    yaml = write_yaml(tmp_path, text, "stream.yaml")
    o = run(cli, tmp_path, case, yaml=yaml)
    refused(o, f"{yaml}:{layer_line(text, 0)}: layer 0", "streaming", "FIFO",
            "run with --fifo")


@pytest.mark.parametrize("flaw", ["unclosed bracket", "bad indentation", "tab"])
def test_yaml_syntax_error_reports_the_position(cli, tmp_path, case, flaw):
    header, blocks = layer_blocks(case.yaml_text)
    block = blocks[1]
    i = len(block) - 1
    key, value = block[i].strip().lstrip("- ").split(":", 1)
    indent = key_indent(block)
    line = len(header) + len(blocks[0]) + i + 1
    if flaw == "unclosed bracket":
        block[i] = f"{indent}{key}: [{value.strip()}\n"
        col = len(indent) + len(key) + 3
        facts = ["not valid YAML", f"the `[` on line {line}, column {col} is never closed"]
    elif flaw == "bad indentation":
        block[i] = f"{indent[:-1]}{key}:{value}"
        facts = ["not valid YAML", re.compile(rf":{line}(:\d+)?: ")]
    else:
        block[i] = f"{indent}{key}:\t{value.strip()}\n"
        facts = [f":{line}: ", "tab character", f"column {len(indent) + len(key) + 2}"]
    yaml = write_yaml(tmp_path, join(header, blocks), "syntax.yaml")
    o = run(cli, tmp_path, case, yaml=yaml)
    refused(o, str(yaml), *facts)


# ---- the sample ------------------------------------------------------------------------------

def test_sample_of_the_wrong_shape(cli, tmp_path, case):
    good = np.load(case.sample)
    bad = np.zeros((good.shape[0] + 2,) + good.shape[1:], dtype=good.dtype)
    path = tmp_path / "wide.npy"
    np.save(path, bad)
    yaml = write_yaml(tmp_path, case.yaml_text)
    o = run(cli, tmp_path, case, yaml=yaml, sample=path)
    shape = "x".join(str(d) for d in bad.shape)
    want = "x".join(str(d) for d in good.shape)
    refused(o, str(path), f"{yaml}:{layer_line(case.yaml_text, 0)}: layer 0",
            f"the sample input has {bad.shape[0]} channels (shape {shape})",
            f"layer 0 reads {good.shape[0]}", "`processors`", f"({want})")


def test_sample_of_the_wrong_size_without_in_dim(cli, tmp_path, case):
    """Issue 20 item 9: layer 0 states no in_dim, so the network takes the sample's rows and
    columns; a sample 4 rows and columns short is refused at layer 0, naming the size taken and
    the size the network expects (the case's own), not at the layer where shapes stop agreeing."""
    import yaml as pyyaml
    assert "in_dim" not in pyyaml.safe_load(case.yaml_text)["layers"][0]
    good = np.load(case.sample)
    bad = np.ascontiguousarray(good[:, 4:, 4:])
    path = tmp_path / "small.npy"
    np.save(path, bad)
    yaml = write_yaml(tmp_path, case.yaml_text)
    o = run(cli, tmp_path, case, yaml=yaml, sample=path)
    taken = "x".join(str(d) for d in bad.shape)
    want = "x".join(str(d) for d in good.shape)
    msg = refused(o, str(path), f"{yaml}:{layer_line(case.yaml_text, 0)}: layer 0: ",
                  f"the input is {taken} and layer 0 states no `in_dim`",
                  f"takes the input's {bad.shape[1]}x{bad.shape[2]}",
                  f"This network expects {want}", "give a sample of that size")
    # the layer where the shapes stopped agreeing is named after the size, not instead of it
    assert re.search(r"; at that size layer [1-9]\d*: ", msg), msg
    # the expected size runs
    assert run(cli, tmp_path, case, yaml=yaml, sample=case.sample).returncode == 0


def test_check_of_the_wrong_size_without_in_dim(cli, tmp_path, case):
    """`check --input-shape` with that size: layer 0 and the size are the verdict (a list of
    violations when the shapes trace, else the one error line), not the later layer."""
    good = np.load(case.sample)
    taken = f"{good.shape[0]}x{good.shape[1] - 4}x{good.shape[2] - 4}"
    p = subprocess.run([str(cli), "check", "--config-file", str(write_yaml(tmp_path, case.yaml_text)),
                        "--checkpoint-file", str(case.checkpoint), "--device", case.device,
                        "--input-shape", taken], capture_output=True, text=True, timeout=300)
    verdict = (next(line for line in p.stdout.splitlines() if line.startswith("does not fit: "))
               if p.returncode == 2 else p.stderr.strip())
    assert p.returncode in (1, 2) and len(verdict.splitlines()) == 1, p.stdout + p.stderr
    want = "x".join(str(d) for d in good.shape)
    assert re.search(rf"^(does not fit: |ai8xsim: error: .*: )layer 0: the input is {taken} and "
                     r"layer 0 states no `in_dim`", verdict), verdict
    assert f"This network expects {want}" in verdict


def test_sample_out_of_range(cli, tmp_path, case):
    good = np.load(case.sample).astype(np.int64)
    bad = good.copy()
    bad.flat[5] = 300
    path = tmp_path / "loud.npy"
    np.save(path, bad)
    o = run(cli, tmp_path, case, sample=path)
    refused(o, str(path), "element 5 is 300", "[-128, 127]")


def test_float_sample(cli, tmp_path, case):
    path = tmp_path / "float.npy"
    np.save(path, np.load(case.sample).astype(np.float32) / 128.0)
    o = run(cli, tmp_path, case, sample=path)
    refused(o, str(path), "dtype float32", "integers in [-128, 127]", "save as int8")


@pytest.mark.parametrize("damage", ["truncated data", "truncated header", "no magic",
                                    "bad header"])
def test_truncated_or_corrupt_npy(cli, tmp_path, case, damage):
    data = case.sample.read_bytes()
    header_len = int.from_bytes(data[8:10], "little") + 10
    if damage == "truncated data":
        cut = header_len + (len(data) - header_len) // 2
        data = data[:cut]
        a = np.load(case.sample)
        facts = [f"found {cut - header_len} bytes, expected {a.size * a.itemsize}",
                 "truncated file"]
    elif damage == "truncated header":
        data = data[:header_len // 2]
        facts = ["header", f"found {header_len // 2 - 10} header bytes",
                 f"expected {header_len - 10}", "truncated file"]
    elif damage == "no magic":
        data = b"PK" + data[2:]
        facts = ["no \\x93NUMPY magic", "expected a NumPy .npy file"]
    else:
        data = data.replace(b"'descr'", b"'dtype'", 1)
        facts = [".npy header", "no 'descr' key"]
    path = tmp_path / "damaged.npy"
    path.write_bytes(data)
    o = run(cli, tmp_path, case, sample=path)
    refused(o, str(path), *facts)


# ---- containers: zip and pickle ----------------------------------------------------------------

def rewrite_zip(src: pathlib.Path, dst: pathlib.Path, change) -> None:
    """Copies a zip archive, entry by entry (stored, valid CRCs), with `change(name, bytes)`."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, change(info.filename, zin.read(info)))


@pytest.mark.parametrize("damage", ["flipped byte", "truncated"])
def test_corrupt_zip(cli, tmp_path, case, damage):
    data = bytearray(case.weights_npz.read_bytes())
    with zipfile.ZipFile(case.weights_npz) as z:
        info = max(z.infolist(), key=lambda i: i.compress_size)
    if damage == "flipped byte":
        # A byte in the middle of the largest entry's data: its CRC-32 no longer matches.
        local = info.header_offset
        start = local + 30 + int.from_bytes(data[local + 26:local + 28], "little") + \
            int.from_bytes(data[local + 28:local + 30], "little")
        data[start + info.compress_size // 2] ^= 0x55
        facts = [f"zip entry '{info.filename}'", "the file is corrupt",
                 re.compile(r"bad CRC-32|deflate data")]
    else:
        data = data[:len(data) // 2]
        facts = [re.compile(r"truncated|not a zip archive")]
    path = tmp_path / "weights.npz"
    path.write_bytes(bytes(data))
    o = run(cli, tmp_path, case, checkpoint=path)
    refused(o, str(path), *facts)


@pytest.mark.parametrize("damage", ["truncated", "unknown opcode"])
def test_corrupt_pickle(cli, tmp_path, case, damage):
    path = tmp_path / "broken.pth.tar"

    def change(name, data):
        if not name.endswith("/data.pkl"):
            return data
        if damage == "truncated":
            return data[:len(data) // 2]
        return data[:2] + b"\xff" + data[2:]  # after PROTO 2: an opcode pickle does not have

    rewrite_zip(case.checkpoint, path, change)
    o = run(cli, tmp_path, case, checkpoint=path)
    facts = (["truncated data", "the checkpoint is damaged"] if damage == "truncated" else
             ["unsupported opcode 0xff (at byte 2 of the pickle)", "protocol 2"])
    refused(o, str(path), "data.pkl", "pickle", *facts)


def test_not_a_checkpoint(cli, tmp_path, case):
    path = tmp_path / "notes.pth.tar"
    path.write_text("these are not the weights you are looking for\n")
    o = run(cli, tmp_path, case, checkpoint=path)
    refused(o, str(path), "not a PyTorch checkpoint", "torch.save")


# ---- output paths ------------------------------------------------------------------------------

def test_output_directory_missing(cli, tmp_path, case):
    missing = tmp_path / "no-such-dir"
    output = missing / "result.npy"
    o = run(cli, tmp_path, case, output=output)
    refused(o, str(output), f"the directory {missing} does not exist")
    assert not missing.exists()


def unwritable_directory(tmp_path) -> pathlib.Path:
    """A directory this process cannot create files in: a read-only directory, or for root
    (whom permissions do not stop) a directory of sysfs."""
    d = tmp_path / "read-only"
    d.mkdir()
    d.chmod(0o555)
    try:
        probe = d / "probe"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError:
        return d
    d.chmod(0o755)
    for candidate in (pathlib.Path("/sys"), pathlib.Path("/proc")):
        try:
            (candidate / "ai8xsim-probe").write_bytes(b"")
        except OSError:
            return candidate
    pytest.fail("no unwritable directory found for this test")


def test_output_directory_read_only(cli, tmp_path, case):
    d = unwritable_directory(tmp_path)
    output = d / "ai8xsim-result.npy"
    try:
        o = run(cli, tmp_path, case, output=output)
    finally:
        if d.is_relative_to(tmp_path):
            d.chmod(0o755)
    refused(o, str(output), f"cannot create a file in the directory {d}",
            re.compile(r"Permission denied|Read-only file system|No such file"))


def test_failed_write_leaves_no_other_output(cli, tmp_path, case):
    # --output can be written, --report cannot: neither appears (all files or none).
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    output = out_dir / "result.npy"
    args = [str(cli), "run", "--config-file", str(write_yaml(tmp_path, case.yaml_text)),
            "--checkpoint-file", str(case.checkpoint), "--sample-input", str(case.sample),
            "--device", case.device, "--output", str(output),
            "--report", str(tmp_path / "missing" / "report.json"), "--quiet"]
    p = subprocess.run(args, capture_output=True, text=True, timeout=300)
    refused(Outcome(p.returncode, p.stderr, out_dir, output), "report.json", "does not exist")


def test_failed_run_keeps_the_previous_output(cli, tmp_path, case):
    # An output file from an earlier run survives a run that fails.
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    output = out_dir / "result.npy"
    output.write_bytes(b"previous result")
    bad = tmp_path / "float.npy"
    np.save(bad, np.zeros((1, 2, 2), dtype=np.float64))
    o = run(cli, tmp_path, case, sample=bad, output=output)
    assert o.returncode == 1, o.message
    assert "dtype float64" in o.message
    assert output.read_bytes() == b"previous result"
    assert not list(out_dir.glob(".result.npy.tmp*"))

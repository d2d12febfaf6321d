"""The Python API on corpus cases: load, run (every layer equal to izer's), run_batch,
errors, network and summary."""
import json
import re
import subprocess
import sys

import numpy as np
import pytest

import pysupport as S

ai8xsim = S.import_ai8xsim()

DEMOS = S.first_demo_per_device()
ONE_D = S.first_case_where(S.is_1d) or S.NO_CORPUS


def _first_op_is_conv1d(case):
    text = (S.case_dir(case) / S.meta(case)["config"]).read_text()
    ops = re.findall(r"^\s*-?\s*op(?:eration)?\s*:\s*(\S+)", text, flags=re.M | re.I)
    return bool(ops) and ops[0].lower() == "conv1d"




def _case(case, weights=None):
    S.require_corpus()
    return S.load_case(ai8xsim, case, weights)


def _assert_layers_equal(layers, expected):
    assert set(expected) <= set(layers)
    bad = {i: f"{int((layers[i] == expected[i]).sum())}/{expected[i].size}"
           for i in expected if layers[i].shape != expected[i].shape
           or not np.array_equal(layers[i], expected[i])}
    assert not bad, f"layers differ from izer (equal/total): {bad}"


def test_error_is_a_runtime_error():
    assert issubclass(ai8xsim.Error, RuntimeError)
    assert ai8xsim.Error.__module__ == "ai8xsim"


@pytest.mark.parametrize("weights", ["checkpoint", "weights"])
@pytest.mark.parametrize("case", DEMOS)
def test_run_equals_izer_on_every_layer(case, weights):
    net, x, expected, m = _case(case, weights)
    out = net.run(x)
    assert out.dtype == np.int32
    assert np.array_equal(out, expected[m["final_layer"]])
    result = net.run(x, layers=True)
    assert np.array_equal(result.output, out)
    _assert_layers_equal(result.layers, expected)
    assert result.cycles.total == net.cycles().total > 0
    # The same through the data memory model (input loaded as the chip loads it).
    _assert_layers_equal(net.run(x, layers=True, memory_fed=True).layers, expected)


def test_one_d_output_is_c_by_l_by_1():
    net, x, expected, m = _case(ONE_D)
    out = net.run(x)
    assert out.ndim == 3 and out.shape[2] == 1
    assert np.array_equal(out, expected[m["final_layer"]])


@pytest.mark.parametrize("dtype", ["int8", "int16", "int32", "int64"])
def test_integer_dtypes_give_the_same_output(dtype):
    net, x, expected, m = _case(DEMOS[0])
    assert np.array_equal(net.run(x.astype(dtype)), expected[m["final_layer"]])


def test_non_contiguous_input_is_read_correctly():
    net, x, expected, m = _case(DEMOS[0])
    flipped = np.ascontiguousarray(x[:, ::-1])[:, ::-1]  # a strided view of x's values
    assert not flipped.flags.c_contiguous
    assert np.array_equal(net.run(flipped), expected[m["final_layer"]])


def test_run_output_alone_equals_the_run_with_layers():
    # net.run(x) takes a shorter road than net.run(x, layers=True): the same output for
    # arrays of every kind the library reads (uint8 in range, big-endian, Fortran order)
    net, x, expected, m = _case(DEMOS[0])
    clipped = np.clip(x, 0, 127)
    for a, same_as_x in ((clipped.astype(np.uint8), False), (x.astype(">i4"), True),
                         (np.asfortranarray(x.astype(np.int16)), True)):
        out = net.run(a)
        assert out.dtype == np.int32 and out.flags.c_contiguous
        assert np.array_equal(out, net.run(a, layers=True).output)
        assert np.array_equal(out, expected[m["final_layer"]] if same_as_x
                              else net.run(clipped.astype(np.int8)))
        assert net.last_input_shape == a.shape


def test_float_input_raises_the_librarys_message(tmp_path):
    net, x, _, m = _case(DEMOS[0])
    with pytest.raises(ai8xsim.Error) as e:
        net.run(x.astype(np.float32))
    assert e.value.kind == "input"
    assert "float32" in str(e.value)
    cli = S.build_dir() / "ai8xsim"
    if cli.is_file():  # the same check as the CLI's for a float .npy
        sample = tmp_path / "x.npy"
        np.save(sample, x.astype(np.float32))
        d = S.case_dir(DEMOS[0])
        p = subprocess.run([str(cli), "run", "--config-file", str(d / m["config"]),
                            "--checkpoint-file", str(d / m["weights"]), "--sample-input",
                            str(sample), "--device", m["device"], "-q"] + S.C.run_flags(m),
                           capture_output=True, text=True)
        tail = str(e.value).split(": ", 1)[1]
        assert p.returncode != 0 and tail in p.stderr


def test_out_of_range_input_names_the_element():
    net, x, _, _ = _case(DEMOS[0])
    bad = x.astype(np.int64).copy()
    bad.flat[5] = 200
    with pytest.raises(ai8xsim.Error, match="element 5 is 200") as e:
        net.run(bad)
    assert e.value.kind == "input"


def test_wrong_rank_input_is_refused():
    net, x, _, _ = _case(DEMOS[0])
    with pytest.raises(ai8xsim.Error, match="shape"):
        net.run(x.ravel())


def test_missing_file_raises_error_naming_it(tmp_path):
    S.require_corpus()
    m = S.meta(DEMOS[0])
    missing = tmp_path / "no-such-checkpoint.pth.tar"
    with pytest.raises(ai8xsim.Error, match="no-such-checkpoint") as e:
        ai8xsim.load(S.case_dir(DEMOS[0]) / m["config"], missing, device=m["device"])
    assert e.value.kind


def test_refused_case_raises_the_clis_message():
    S.require_corpus()
    cli = S.build_dir() / "ai8xsim"
    case = S.failed_cases()[0]
    m = S.meta(case)
    d = S.case_dir(case)
    weights = m["weights"] or "weights.npz"
    with pytest.raises(ai8xsim.Error) as e:
        net = ai8xsim.load(d / m["config"], d / weights, device=m["device"],
                           **S.load_options(m))
        net.run(np.load(d / m["sample_input"]))
    assert str(e.value)
    if cli.is_file():
        p = subprocess.run([str(cli)] + S.C.cli_args(S.corpus_dir(), case, m, weights) +
                           ["-q"], capture_output=True, text=True)
        assert str(e.value) in p.stderr


def test_unknown_option_is_a_type_error():
    S.require_corpus()
    m = S.meta(DEMOS[0])
    with pytest.raises(TypeError, match="fast_fifo"):
        ai8xsim.load(S.case_dir(DEMOS[0]) / m["config"], "x", fastfifo=True)


def _perturbed_batch(x, n, seed=1):
    rng = np.random.default_rng(seed)
    noise = rng.integers(-20, 21, size=(n - 1,) + x.shape)
    return np.concatenate([x[None], np.clip(x[None] + noise, -128, 127)]).astype(np.int64)


@pytest.mark.parametrize("case", [DEMOS[0], ONE_D])
def test_run_batch_equals_run_sample_by_sample(case):
    net, x, _, _ = _case(case)
    X = _perturbed_batch(x, 5)
    Y = net.run_batch(X, threads=2)
    assert Y.shape == (5,) + net.run(x).shape
    for i in range(len(X)):
        assert np.array_equal(Y[i], net.run(X[i])), f"sample {i}"
    assert not np.array_equal(Y[0], Y[1]) or not np.array_equal(X[0], X[1])


def test_run_batch_accepts_a_list_and_shows_progress(capsys):
    net, x, _, _ = _case(ONE_D)
    X = list(_perturbed_batch(x, 3))
    Y = net.run_batch(X, threads=1, progress=True)
    assert np.array_equal(Y, net.run_batch(np.stack(X), progress=False))
    err = capsys.readouterr().err
    assert "3/3" in err


def test_run_batch_shows_progress_by_itself_only_for_long_batches(capsys):
    net, x, _, _ = _case(ONE_D)
    long_batch = ai8xsim.simulator._progress.AUTO_THRESHOLD + 1
    net.run_batch(_perturbed_batch(x, 2))
    assert "2/2" not in capsys.readouterr().err
    net.run_batch(_perturbed_batch(x, long_batch))
    assert f"{long_batch}/{long_batch}" in capsys.readouterr().err


def test_run_batch_progress_callback_errors_surface():
    net, x, _, _ = _case(ONE_D)

    def boom(done):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        net._sim.run_batch(_perturbed_batch(x, 3), threads=2, progress=boom)


def test_run_batch_progress_counts_up_in_order_to_the_end():
    # Workers finish samples in any order; the callback must still see 1, 2, ... n (a bar
    # that is handed an older count last goes backwards and never shows n/n).
    net, x, _, _ = _case(ONE_D)
    n = 2000
    for _ in range(3):
        seen = []
        net._sim.run_batch(_perturbed_batch(x, n), threads=2, progress=seen.append)
        assert seen == list(range(1, n + 1))


def test_run_batch_refuses_float_batches():
    net, x, _, _ = _case(ONE_D)
    with pytest.raises(ai8xsim.Error, match="float64"):
        net.run_batch(_perturbed_batch(x, 2).astype(np.float64))


@pytest.mark.parametrize("case", DEMOS)
def test_network_shapes_match_izers(case):
    net, x, _, m = _case(case)
    network = net.network(x.shape)
    assert network.order == m["layer_order"]
    for index, shape in m["layers"].items():
        L = network.layers[int(index)]
        assert [L.out_channels, *L.output_dim] == shape, f"layer {index}"
    assert network.total_macs == sum(network.layers[i].macs for i in network.order)


def test_summary_needs_a_shape_until_something_ran():
    net, x, _, _ = _case(DEMOS[0])
    with pytest.raises(ValueError, match="input shape"):
        net.summary()
    explicit = str(net.summary(x.shape))
    net.run(x)
    assert str(net.summary()) == explicit


@pytest.mark.parametrize("case", DEMOS)
def test_summary_renders_every_layer(case):
    net, x, _, _ = _case(case)
    net.run(x)
    s = net.summary()
    network = net.network()
    text = str(s)
    lines = text.splitlines()
    assert len(lines) == 3 + len(network.order) + 1  # title, header, rule, rows, totals
    assert f"{network.total_macs:,}" in lines[-1]
    for row, i in zip(lines[3:], network.order):
        L = network.layers[i]
        assert row.split()[0] == str(i) and f"{L.macs:,}" in row
    html = s._repr_html_()
    assert html.count("<tr") == len(network.order) + 1


def test_import_pulls_in_neither_torch_nor_matplotlib():
    code = ("import sys, ai8xsim; "
            "print(any(m in sys.modules for m in ('torch', 'matplotlib', 'tqdm')))")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env={"PYTHONPATH": ":".join(sys.path)})
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "False"


def test_cycles_equal_izers_latency_estimate():
    S.require_corpus()
    case = S.first_case_where(lambda c: S.meta(c).get("checkpoint") and S.meta(c).get("latency"))
    net, x, _, m = _case(case)
    cycles = net.run(x, layers=True).cycles
    latency = m["latency"]
    assert cycles.total == latency["total"]
    assert cycles.estimated == latency["estimated"]
    got = {row["layer"]: (cycles.startup if row["layer"] is None
                          else cycles.layers[int(row["layer"])]) for row in latency["rows"]}
    assert got == {row["layer"]: row["cycles"] for row in latency["rows"]}
    assert all(sum(t.values()) == cycles.layers[i] for i, t in cycles.terms.items())


def test_summary_shows_cycles_and_memory():
    net, x, _, _ = _case(DEMOS[0])
    net.run(x)
    s = net.summary()
    assert "cycles" in s.columns and "kernel rows" in s.columns
    col = s.columns.index("cycles")
    cycles = net.cycles()
    assert [int(r[col].split()[0].replace(",", "")) for r in s.rows] == \
        [cycles.layers[i] for i in net.network().order]
    mem = net.memory()
    assert mem.kernel_rows_written >= sum(mem.kernel_rows.values()) > 0
    assert not mem.violations


# ---- rolling data buffers: sequences of inferences ------------------------------------------

def _uses_data_buffer(case):
    m = S.meta(case)
    return "data_buffer:" in (S.case_dir(case) / m["config"]).read_text()


BUFFERED = S.first_case_where(_uses_data_buffer) or S.NO_CORPUS


def test_run_sequence_equals_single_steps_with_the_buffer_carried_by_hand():
    """net.run_sequence(frames): every step's output, each step starting from the buffer the
    step before left. Against single steps (run_sequence of one frame with buffer=) where the
    buffer is carried by hand; the first step equals izer's single-sample run."""
    net, x, expected, m = _case(BUFFERED, "weights")
    rng = np.random.default_rng(16)
    frames = np.stack([x] + [np.clip(x + rng.integers(-20, 21, x.shape), -128, 127)
                             for _ in range(3)])
    outs, last = net.run_sequence(frames, return_buffer=True)
    assert outs.shape[0] == len(frames)
    assert np.array_equal(outs[0], expected[m["final_layer"]].reshape(outs[0].shape))
    buf = None
    for t, f in enumerate(frames):
        step, buf = net.run_sequence(f[None], buffer=buf, return_buffer=True)
        assert np.array_equal(step[0], outs[t]), f"step {t}"
    assert np.array_equal(buf, last)
    # The buffer moves: later steps differ from running each frame on its own.
    alone = net.run_batch(frames)
    assert np.array_equal(alone[0], outs[0])
    assert not np.array_equal(last, np.zeros_like(last))
    # A buffer of the wrong shape is an ai8xsim.Error naming the buffer's shape.
    with pytest.raises(ai8xsim.Error, match="data buffer"):
        net.run_sequence(frames[:1], buffer=np.zeros((2, 2), dtype=np.int8))


def test_layers_name_their_buffer_use():
    net, x, _, _ = _case(BUFFERED, "weights")
    layers = net.network(x.shape)
    shifts = [L.index for L in layers.layers if L.buffer_shift]
    inserts = [L.index for L in layers.layers if L.buffer_insert]
    readers = [L.index for L in layers.layers if -2 in L.in_sequences]
    assert shifts and inserts and readers
    assert set(shifts) <= set(readers)


@pytest.mark.parametrize("dtype", ["int8", "uint8", "int16", ">i2", "int32", "int64", "uint64"])
def test_run_batch_reads_any_integer_dtype_and_strides_in_place(dtype):
    net, x, _, _ = _case(ONE_D)
    X = _perturbed_batch(x, 6)
    if np.dtype(dtype).kind == "u":
        X = np.clip(X, 0, 127)
    ref = np.stack([net.run(s) for s in X])
    Xd = X.astype(dtype)
    assert np.array_equal(net.run_batch(Xd, threads=2), ref)
    every_other = np.repeat(Xd, 2, axis=0)[::2]     # a sliced view
    assert not every_other.flags.c_contiguous
    assert np.array_equal(net.run_batch(every_other, threads=2), ref)
    fortran = np.asfortranarray(Xd)                 # every axis strided
    assert np.array_equal(net.run_batch(fortran, threads=2), ref)
    assert np.array_equal(net.run(fortran[1]), ref[1])
    same = np.broadcast_to(Xd[2], Xd.shape)         # stride 0 along N
    assert np.array_equal(net.run_batch(same, threads=2), np.broadcast_to(ref[2], ref.shape))


def test_run_batch_names_the_first_bad_sample():
    net, x, _, _ = _case(ONE_D)
    X = _perturbed_batch(x, 50)
    X[31].flat[4] = 128
    X[30].flat[7] = -300
    for _ in range(3):
        with pytest.raises(ai8xsim.Error, match=r"batch: sample 30, element 7 is -300") as e:
            net.run_batch(X, threads=2)
        assert e.value.kind == "input"


def test_single_run_splits_rows_and_equals_one_thread():
    net, x, _, _ = _case(DEMOS[0])
    assert np.array_equal(net.run(x, threads=2), net.run(x, threads=1))


_MEMORY_SCRIPT = r"""
import resource, sys, json
import numpy as np
sys.path.insert(0, sys.argv[1])
import ai8xsim
net = ai8xsim.load(sys.argv[2], sys.argv[3], device=sys.argv[4], **json.loads(sys.argv[5]))
x = np.load(sys.argv[6]).astype(np.int8)
X = np.empty((int(sys.argv[7]),) + x.shape, np.int8)
X[:] = x                                  # every page touched
y = net.run(x)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
Y = net.run_batch(X, threads=2, progress=False)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
assert (Y == y).all()
print(json.dumps({"input": X.nbytes, "output": Y.nbytes, "growth": after - before}))
"""


def test_run_batch_memory_is_its_output_not_a_copy_of_the_input():
    # A 64 MB int8 batch: an int32 copy of it would take 256 MB more.
    S.require_corpus()
    m = S.meta(ONE_D)
    d = S.case_dir(ONE_D)
    x = np.load(d / m["sample_input"])
    n = (64 << 20) // x.size
    p = subprocess.run([sys.executable, "-c", _MEMORY_SCRIPT, str(S.PACKAGE_DIR),
                        str(d / m["config"]), str(d / m["weights"]), m["device"],
                        json.dumps(S.load_options(m)), str(d / m["sample_input"]), str(n)],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    assert r["growth"] <= r["output"] + (16 << 20), r


_INTERRUPT_SCRIPT = r"""
import json, os, signal, sys, threading, time
import numpy as np
sys.path.insert(0, sys.argv[1])
import ai8xsim
from tqdm.auto import tqdm
# The readable kernels: slower, so the batch outlasts the timer on any machine.
net = ai8xsim.load(sys.argv[2], sys.argv[3], device=sys.argv[4], kernels="reference",
                   **json.loads(sys.argv[5]))
x = np.load(sys.argv[6])
t0 = time.perf_counter()
net.run_batch(np.broadcast_to(x, (2000,) + x.shape), threads=2, progress=False)
rate = 2000 / (time.perf_counter() - t0)
out = net.run(x).nbytes
n = int(min(rate * 8, (256 << 20) // out))   # about 8 s of work, at most 256 MB out
X = np.broadcast_to(x, (n,) + x.shape)
kill_at = max(0.3, n / rate / 8)
threading.Timer(kill_at, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
t0 = time.perf_counter()
try:
    net.run_batch(X, threads=2, progress=sys.argv[7] == "bar")
    result = "finished"
except KeyboardInterrupt:
    result = "interrupted"
print(json.dumps({"result": result, "seconds": time.perf_counter() - t0, "kill_at": kill_at,
                  "expected_seconds": n / rate, "open_bars": len(tqdm._instances)}))
"""


@pytest.mark.parametrize("progress", ["bar", "none"])
def test_ctrl_c_stops_run_batch_promptly(progress):
    S.require_corpus()
    m = S.meta(ONE_D)
    d = S.case_dir(ONE_D)
    p = subprocess.run([sys.executable, "-c", _INTERRUPT_SCRIPT, str(S.PACKAGE_DIR),
                        str(d / m["config"]), str(d / m["weights"]), m["device"],
                        json.dumps(S.load_options(m)), str(d / m["sample_input"]), progress],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    assert r["expected_seconds"] > 2 * r["kill_at"], r   # else the test proves nothing
    assert r["result"] == "interrupted", r
    # Stopped well before the batch's end: within half the time left, at most 3 s.
    left = r["expected_seconds"] - r["kill_at"]
    assert r["seconds"] < r["kill_at"] + min(3.0, left / 2), r
    assert r["open_bars"] == 0, r


def test_one_d_sample_as_c_l_1_is_a_sample_not_a_batch():
    # izer's layout of 1-D data is C x L x 1: run takes it as one sample and run_batch a stack
    # of them, with the same outputs as C x L (the shape check once called it "a batch").
    S.require_corpus()
    found = None
    for case in S.ok_cases():  # a Conv1d network whose first layer's processors give C
        if S.is_1d(case) and _first_op_is_conv1d(case):
            found = _case(case)
            if found[0]._sim.input_channels is not None:
                break
    net, x, _, _ = found
    assert net._sim.input_channels is not None, "no Conv1d case with known input channels"
    x2 = x.reshape(x.shape[0], -1)
    want = net.run(x2)
    assert np.array_equal(net.run(x2[:, :, None]), want)
    assert np.array_equal(net.run_batch(np.stack([x2[:, :, None]] * 2))[1], want)


@pytest.mark.parametrize("case", DEMOS)
def test_reference_kernels_give_the_same_layers(case):
    """ai8xsim.load(..., kernels="reference"): the engine on the readable kernels alone gives
    every layer as the default (fast) kernels do, and izer's output."""
    S.require_corpus()
    net, x, expected, _ = S.load_case(ai8xsim, case)
    ref = net.with_options(kernels="reference")
    assert net.options["kernels"] == "fast" and ref.options["kernels"] == "reference"
    a, b = net.run(x, layers=True), ref.run(x, layers=True)
    assert len(a.layers) > 1 and a.layers.keys() == b.layers.keys()
    for i in a.layers:
        assert np.array_equal(a.layers[i], b.layers[i]), f"layer {i}"
    assert np.array_equal(a.output, b.output)
    _assert_layers_equal(b.layers, expected)


def test_unknown_kernel_set_is_refused():
    S.require_corpus()
    m = S.meta(DEMOS[0])
    d = S.case_dir(DEMOS[0])
    with pytest.raises(ai8xsim.Error, match="kernels: found 'simd'; allowed: fast"):
        ai8xsim.load(d / m["config"], (d / m["weights"]).resolve(), device=m["device"],
                     kernels="simd")

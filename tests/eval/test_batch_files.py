"""Batch files as `run` and `eval` read them: memory-mapped, any integer dtype, converted per
sample on the worker threads, outputs written in place.

* `run` and `eval --outputs` on int8, uint8 and int64 batch files give the outputs of per-sample
  runs (the first samples run one at a time through `run`);
* peak memory stays within the input file + the output file + 100 MB (a 32 MB int8 batch: an
  int32 copy of it alone would be 128 MB);
* a sample shape the network cannot take is refused from the .npy header, before the data is
  read (a 400 MB sparse file, refused in a few MB).
"""
import pathlib
import sys

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "eval"))
sys.path.insert(0, str(ROOT / "benchmarks"))
from test_eval import mnist_case, net_args, perturbed_batch  # noqa: E402
from user_speed import peak_rss_run  # noqa: E402  (the benchmark's measurement)

MB = 1 << 20


def run_wait4(cli, *args):
    """(returncode, stdout, stderr, peak RSS in bytes) of one CLI process."""
    rc, rss, out, err = peak_rss_run([cli, *args])
    return rc, out, err, rss


@pytest.mark.parametrize("dtype", ["int8", "uint8", "int64"])
def test_run_and_eval_batch_files_equal_single_runs(cli, tmp_path, dtype):
    case, ckpt = mnist_case()
    x = np.load(case / "input.npy")
    X = perturbed_batch(x, 40)
    if dtype == "uint8":
        X = np.clip(X, 0, 127)
    np.save(tmp_path / "X.npy", X.astype(dtype))
    np.save(tmp_path / "y.npy", np.zeros(len(X), np.int64))
    rc, _, err, _ = run_wait4(cli, "run", *net_args(case, ckpt), "--sample-input",
                              tmp_path / "X.npy", "--output", tmp_path / "run.npy",
                              "--threads", 2, "-q")
    assert rc == 0, err
    rc, _, err, _ = run_wait4(cli, "eval", *net_args(case, ckpt), "--samples",
                              tmp_path / "X.npy", "--labels", tmp_path / "y.npy", "--outputs",
                              tmp_path / "eval.npy", "--threads", 2, "-q")
    assert rc == 0, err
    Y = np.load(tmp_path / "run.npy")
    assert Y.dtype == np.int32 and len(Y) == len(X)
    assert np.array_equal(np.load(tmp_path / "eval.npy"), Y)
    for i in (0, 1, 39):
        np.save(tmp_path / "one.npy", X[i])
        rc, _, err, _ = run_wait4(cli, "run", *net_args(case, ckpt), "--sample-input",
                                  tmp_path / "one.npy", "--output", tmp_path / "one_out.npy",
                                  "-q")
        assert rc == 0, err
        assert np.array_equal(np.load(tmp_path / "one_out.npy"), Y[i]), f"sample {i}"


def test_a_long_batch_puts_every_output_at_its_index(cli, tmp_path):
    # 3,000 samples, ten distinct ones tiled: the threads take runs of consecutive samples
    # and write each run's outputs together; every output must land at its own index.
    case, ckpt = mnist_case()
    base = perturbed_batch(np.load(case / "input.npy"), 10).astype(np.int8)
    X = base[np.arange(3000) % 10]
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "base.npy", base)
    np.save(tmp_path / "y.npy", np.zeros(len(X), np.int64))
    for cmd, args in (("run", ["--sample-input", tmp_path / "X.npy", "--output"]),
                      ("eval", ["--samples", tmp_path / "X.npy", "--labels", tmp_path / "y.npy",
                                "--outputs"])):
        rc, _, err, _ = run_wait4(cli, cmd, *net_args(case, ckpt), *args, tmp_path / "Y.npy",
                                  "--threads", 2, "-q")
        assert rc == 0, err
        Y = np.load(tmp_path / "Y.npy")
        rc, _, err, _ = run_wait4(cli, "run", *net_args(case, ckpt), "--sample-input",
                                  tmp_path / "base.npy", "--output", tmp_path / "B.npy", "-q")
        assert rc == 0, err
        B = np.load(tmp_path / "B.npy")
        assert len({B[i].tobytes() for i in range(10)}) > 1, "the ten samples give one output"
        assert np.array_equal(Y, B[np.arange(3000) % 10]), cmd


def test_batch_memory_is_bounded_by_the_files(cli, tmp_path):
    case, ckpt = mnist_case()
    x = np.load(case / "input.npy").astype(np.int8)
    n = (32 * MB) // x.size
    np.save(tmp_path / "X.npy", np.broadcast_to(x, (n,) + x.shape))
    np.save(tmp_path / "y.npy", np.zeros(n, np.int64))
    rc, out, err, rss = run_wait4(cli, "run", *net_args(case, ckpt), "--sample-input",
                                  tmp_path / "X.npy", "--output", tmp_path / "Y.npy",
                                  "--threads", 2)
    assert rc == 0, err
    assert "end to end" in out and "compute only" in out
    files = (tmp_path / "X.npy").stat().st_size + (tmp_path / "Y.npy").stat().st_size
    assert rss <= files + 100 * MB, (rss / MB, files / MB)
    Y = np.load(tmp_path / "Y.npy")
    assert (Y == Y[0]).all()
    rc, out, err, rss = run_wait4(cli, "eval", *net_args(case, ckpt), "--samples",
                                  tmp_path / "X.npy", "--labels", tmp_path / "y.npy",
                                  "--threads", 2)
    assert rc == 0, err
    assert "end to end" in out and "compute only" in out
    assert rss <= (tmp_path / "X.npy").stat().st_size + 100 * MB, rss / MB


def test_a_sample_too_large_is_refused_from_the_header(cli, tmp_path):
    case, ckpt = mnist_case()
    # 1 x 20000 x 20000 int8: a valid .npy header and 400 MB of (sparse) data.
    header = np.lib.format.header_data_from_array_1_0(np.zeros((1, 1, 1), np.int8))
    header["shape"] = (1, 20000, 20000)
    f = tmp_path / "big.npy"
    with open(f, "wb") as fh:
        np.lib.format.write_array_header_1_0(fh, header)
        fh.truncate(fh.tell() + 20000 * 20000)
    rc, _, err, rss = run_wait4(cli, "run", *net_args(case, ckpt), "--sample-input", f,
                                "--output", tmp_path / "o.npy")
    assert rc == 1
    assert err.startswith("ai8xsim: error: ") and "20000" in err
    assert rss < 100 * MB, rss / MB
    assert not (tmp_path / "o.npy").exists()

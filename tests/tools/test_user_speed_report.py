"""benchmarks/user_speed.py's judgement of a run: the criteria of the speed users get (every
rate at least 0.8 of the engine's, RSS within its bound, net.run within 1.2x of the engine's
latency), the merge of two passes, and the README's table written from the results."""
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests" / "parity"))
import user_speed as U  # noqa: E402


def row(name="net", rate=0.9, lat=1.1, lat1=1.0, rss=50.0):
    r = {"network": name, "n": 1024, "net_bench": 1000.0, "outputs_equal": True,
         "net_bench_latency_ms": 1.0, "net_bench_latency_1thread_ms": 2.0,
         "py_run_latency_ms": lat, "py_run_latency_1thread_ms": 2.0 * lat1,
         "torch_fp32": 100.0, "torch_int8": 400.0}
    for k in U.RATES:
        r[k] = 1000.0 * rate
        r[k + "_rss_mb"] = rss
        r[k + "_bound_mb"] = 100.0
    return r


def test_criteria_fail_on_each_limit():
    assert U.meets_criteria(row())
    assert not U.meets_criteria(row(rate=0.79))
    assert not U.meets_criteria(row(lat=1.21))
    assert not U.meets_criteria(row(lat1=1.21))
    assert not U.meets_criteria(row(rss=101.0))
    slow_eval = row()
    slow_eval["eval_int64"] = 700.0
    assert not U.meets_criteria(slow_eval)
    not_run = row()
    not_run["eval_int64"] = None  # a figure not taken does not count against the network
    assert U.meets_criteria(not_run)


def test_two_passes_keep_the_best_of_each_figure():
    a, b = row(rate=0.7, lat=1.3), row(rate=0.9, lat=1.1, rss=80.0)
    a["py_int8"] = 950.0
    m = U.merge_best(a, b)
    assert m["run_int8"] == 900.0 and m["py_int8"] == 950.0
    assert m["py_run_latency_ms"] == 1.1
    assert m["run_int8_rss_mb"] == 80.0  # memory: the larger
    assert m["passes"] == 2


def test_readme_table_gives_ratios_and_counts_what_reaches_the_criteria():
    ok, slow = row("fast_net"), row("slow_net", rate=0.85, lat=1.5)
    slow["eval_int64"] = 750.0
    slow["torch_fp32"] = None
    text = U.readme_table([ok, slow])
    lines = text.splitlines()
    assert lines[2].startswith("| fast_net | 1,024 | 1,000 | 0.90 / 0.90 |")
    assert "| 2,000.0 (1.00) | 100 / 400 |" in lines[2]  # net.run µs on one thread
    assert "| 0.85 / 0.75 |" in lines[3] and lines[3].endswith("| – |")
    assert lines[-1].startswith("11 of 12 figures at least 0.8 of the engine's; lowest 0.75 "
                                "(slow_net eval_int64)")
    assert lines[-1].endswith("on 1 of 2 networks")

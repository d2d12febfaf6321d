#!/usr/bin/env python3
"""The time, loading and energy models against measured silicon: writes docs/silicon-table.md.

For every row of AN7664 Table 4 (MAX78002, ../shared/silicon/an7664_table4.csv) and every
published MAX78000 figure (../shared/silicon/README.md), runs `ai8xsim check --report` on the
corpus case of that network and compares the model's inference time, input-load time,
weight-load time, inference energy and load energies with the measurement. Every parameter
that can only be fitted from these measurements is refitted here leaving each network out in
turn; the leave-one-out error is the error of that refit on the network left out.

usage: benchmarks/silicon_table.py [--build build] [--corpus ../shared/parity]
                                   [--silicon ../shared/silicon] [--out docs/silicon-table.md]
"""
import argparse
import csv
import json
import pathlib
import re
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "parity"))
import corpus as C  # noqa: E402

# Table 4's example name -> the corpus case (shape-true cases: the real shapes, random weights).
CASES = {
    "aisegment_unet": "demo-aisegment_unet-max78002",
    "camvid_unet": "demo-camvid_unet-max78002",
    "cats-dogs": "demo-cats-dogs-max78002",
    "cifar-10": "demo-cifar-10-max78002",
    "cifar-100-effnet2": "demo-cifar-100-effnet2-shapetrue-max78002",
    "cifar-100-mixed": "demo-cifar-100-mixed-shapetrue-max78002",
    "cifar-100-mobilenet-v2-0.75": "demo-cifar-100-mobilenet-v2-0.75-shapetrue-max78002",
    "cifar-100-residual": "demo-cifar-100-residual-shapetrue-max78002",
    "cifar-100-simplewide2x": "demo-cifar-100-simplewide2x-mixed-shapetrue-max78002",
    "faceid": "demo-faceid-max78002",
    "imagenet-effnet2": "demo-imagenet-shapetrue-max78002",
    "kws20_v2_1": "demo-kws20_v2-shapetrue-max78002",
    "kws20_v3_1": "demo-kws20_v3-max78002",
    "mnist": "demo-mnist-max78002",
    "mnist-riscv": "demo-mnist-max78002",
    "svhn_tinierssd": "demo-svhn_tinierssd-max78002",
}
# Rows measured with something other than izer's defaults, and the evidence.
RISCV = {"mnist-riscv"}
# Table 4's mobilenet row (14.12 ms) is 706 k cycles at 50 MHz: exactly AN7664 Figure 10's
# cycle count for the same network with the pipeline at 200 MHz (3.53 ms). Its inference
# power (96 mW) is a quarter of its neighbours'. The row was run with the CNN at 50 MHz.
INFERENCE_MHZ = {"cifar-100-mobilenet-v2-0.75": 50}

# MAX78000 at 50 MHz: msdk example READMEs (../shared/silicon/README.md).
MAX78000 = [
    ("mnist", "demo-mnist-max78000", 1410, ""),
    ("mnist-riscv", "demo-mnist-max78000", 1423, ""),
    ("kws20_v3", "demo-kws20_v3-max78000", 1442, ""),
    ("faceid", "demo-faceid-max78000", 1882,
     "FIFO: the run after the last FIFO word (izer's old stopwatch, see below)"),
    ("cifar-10", "demo-cifar-10-max78000", 1712,
     "not a comparison: measured on another build (the README's outputs are not the KAT's)"),
]

READS = "data reads (pool window x operands x passes)"


def report(exe, corpus, case, extra):
    m = C.meta(corpus, case)
    args = C.cli_args(corpus, case, m, m["weights"])
    args[0] = "check"
    with tempfile.TemporaryDirectory() as tmp:
        out = pathlib.Path(tmp) / "r.json"
        subprocess.run([str(exe)] + args + ["--report", str(out)] + extra, check=True,
                       capture_output=True)
        return json.loads(out.read_text())


def fnum(v):
    return "" if v is None or v == "" else float(v)


def err(model, meas):
    return None if meas in (None, "", 0) else (model - meas) / meas * 100


def pct(e):
    return "" if e is None else f"{e:+.1f}%"


def lsq(rows):
    """Least squares y = sum(c_i x_i), weighted by 1/y (relative errors): [(xs, y)] -> [c]."""
    n = len(rows[0][0])
    a = [[0.0] * n for _ in range(n)]
    b = [0.0] * n
    for xs, y in rows:
        w = 1.0 / (y * y)
        for i in range(n):
            b[i] += w * xs[i] * y
            for j in range(n):
                a[i][j] += w * xs[i] * xs[j]
    # Gauss-Jordan (n <= 3)
    for i in range(n):
        p = a[i][i]
        for j in range(n):
            a[i][j] /= p
        b[i] /= p
        for k in range(n):
            if k != i:
                f = a[k][i]
                for j in range(n):
                    a[k][j] -= f * a[i][j]
                b[k] -= f * b[i]
    return b


def network_of(key):
    """'kws20_v3_1 (weights, Fig. 8, 100 MHz)' -> 'kws20_v3_1'."""
    return key.split(" (")[0]


def loo(rows):
    """{key: (xs, y)} -> {key: relative error of the fit without key's network}, the full fit."""
    out = {}
    for k, (xs, y) in rows.items():
        c = lsq([v for kk, v in rows.items() if network_of(kk) != network_of(k)])
        out[k] = (sum(ci * xi for ci, xi in zip(c, xs)) - y) / y * 100
    return out, lsq(list(rows.values()))


def model_constants():
    """The fitted constants as the model has them: {name: value} from include/ai8xsim/*.h."""
    out = {}
    for h in ("cost.h", "cycles.h"):
        text = (ROOT / "include" / "ai8xsim" / h).read_text()
        for name, value in re.findall(r"constexpr (?:double|int|int64_t) (k\w+) = ([-\d.e]+);",
                                      text):
            out[name] = float(value)
    return out


def figure_points(path):
    """AN7664 Figures 6-9 (benchmarks/data/an7664_figures.csv): load time and energy at 50,
    100 and 200 MHz."""
    lines = [l for l in open(path) if l.strip() and not l.startswith("#")]
    return [dict(zip(("figure", "network", "load", "mhz", "ms", "uj"), l.strip().split(",")))
            for l in lines]


def stall_fit_of(rows):
    """s minimising the relative error of base + s x reads against the measured cycles."""
    num = sum(r * (t - b) / t ** 2 for r, b, t in rows)
    den = sum(r * r / t ** 2 for r, b, t in rows)
    return num / den


def loo_total(rows):
    """{key: (reads, base cycles, measured cycles)} -> LOO errors of the total, full fit."""
    out = {}
    for k, (r, b, t) in rows.items():
        s = stall_fit_of([v for kk, v in rows.items() if kk != k])
        out[k] = (b + s * r - t) / t * 100
    return out, stall_fit_of(list(rows.values()))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=str(ROOT / "build"))
    ap.add_argument("--corpus", default=str(ROOT.parent / "shared" / "parity"))
    ap.add_argument("--silicon", default=str(ROOT.parent / "shared" / "silicon"))
    ap.add_argument("--out", default=str(ROOT / "docs" / "silicon-table.md"))
    a = ap.parse_args()
    corpus = pathlib.Path(a.corpus)
    exe = pathlib.Path(a.build) / "ai8xsim"
    table = list(csv.DictReader(open(pathlib.Path(a.silicon) / "an7664_table4.csv")))

    K = model_constants()
    model, plain = {}, {}
    for row in table:
        name = row["example"]
        extra = ["--riscv"] if name in RISCV else []
        if name in INFERENCE_MHZ:
            extra += ["--clock-mhz", str(INFERENCE_MHZ[name])]
        model[name] = report(exe, corpus, CASES[name], extra)["cost"]
        plain[name] = report(exe, corpus, CASES[name], extra + ["--no-pipeline"])["cost"]

    # ---- leave-one-out refits of the fitted parameters --------------------------------------
    # Pipeline stall per data read: measured cycles = no-pipeline cycles + s x data reads.
    # (mnist-riscv repeats mnist's inference; faceid's FIFO run is not separable.)
    stall_rows = {}
    for row in table:
        name, ms = row["example"], fnum(row["inference_ms"])
        if ms == "" or name in RISCV:
            continue
        r = plain[name]
        nreads = sum(l["cycle_terms"].get(READS, 0) for l in r["layers"])
        stall_rows[name] = (nreads, r["total_cycles"], ms * 1000 * INFERENCE_MHZ.get(name, 200))
    stall_loo, stall_fit = loo_total(stall_rows)

    # One access: core ns + CNN clocks / f. Time = words x (ns + 1000 clocks / f) x 1e-3 us:
    # Table 4 (Arm, 50 MHz) and Figures 6-9 (50, 100, 200 MHz).
    def words_of(name, load):
        w = model[name]["words"]
        return w["weights"] + w["weight_blocks"] if load == "weights" else w["input"]

    load_rows, power_rows = {}, {}
    for row in table:
        name = row["example"]
        for load in ("weights", "input"):
            if not row[load + "_load_ms"]:
                continue
            us, uj = fnum(row[load + "_load_ms"]) * 1000, fnum(row[load + "_load_uj"])
            power_rows[f"{name} ({load})"] = ([us * 1e-3, us * 50 * 1e-6], uj)
            if name not in RISCV:
                load_rows[f"{name} ({load})"] = ([words_of(name, load) * 1e-3,
                                                  words_of(name, load) / 50.0], us)
    figures = figure_points(ROOT / "benchmarks" / "data" / "an7664_figures.csv")
    for f in figures:
        key = f"{f['network']} ({f['load']}, Fig. {f['figure']}, {f['mhz']} MHz)"
        mhz, us, words = float(f["mhz"]), float(f["ms"]) * 1000, words_of(f["network"], f["load"])
        load_rows[key] = ([words * 1e-3, words / mhz], us)
        power_rows[key] = ([us * 1e-3, us * mhz * 1e-6], float(f["uj"]))
    load_loo, load_fit = loo(load_rows)
    # Energy while loading: core power x time + pJ per CNN clock x clocks.
    power_loo, power_fit = loo(power_rows)
    # RISC-V: the core's share of an access, from the one RISC-V row's weight load (71 k words;
    # its input load, 0.2 ms, is the check).
    rv = [(words_of(row["example"], "weights"), fnum(row["weights_load_ms"]) * 1000)
          for row in table if row["example"] in RISCV]
    rv_fit = sum(us * 1000 / w - 1000 * K["kAccessCnnClocks"] / 50 for w, us in rv) / len(rv)
    # Inference energy: sum over layers of cycles x (base + per-processor x processors).
    energy_rows = {}
    for row in table:
        name = row["example"]
        if row["inference_uj"] == "" or name in RISCV:
            continue
        ls = model[name]["layers"]
        energy_rows[name] = ([sum(l["cycles"] for l in ls) * 1e-6,
                              sum(l["cycles"] * l["processors"] for l in ls) * 1e-6,
                              sum(l["cycles"] * l["processors"] * l["passes"] for l in ls) * 1e-6],
                             fnum(row["inference_uj"]))
    energy_loo, energy_fit = loo(energy_rows)

    # ---- the tables ---------------------------------------------------------------------------
    time_rows, energy_table = [], []
    for row in table:
        name = row["example"]
        c = model[name]
        inf_ms = fnum(row["inference_ms"])
        fifo = c["fifo"]
        meas_inf = fnum(row["input_and_inference_ms"]) if fifo else inf_ms
        mod_inf = (c["retained_inference"] if fifo else c["inference"])["us"] / 1000
        mhz = c["clock_mhz"]
        time_rows.append(
            f"| {name} | {mhz:.0f}{' (FIFO)' if fifo else ''} | {mod_inf:.3f} | "
            f"{meas_inf if meas_inf != '' else ''} | {pct(err(mod_inf, meas_inf))} | "
            f"{pct(stall_loo.get(name))} | "
            f"{'(FIFO) ' if fifo else ''}{c['input_load']['us'] / 1000:.3f} | {row['input_load_ms']} | "
            f"{pct(err(c['input_load']['us'] / 1000, fnum(row['input_load_ms'])))} | "
            f"{pct(load_loo.get(name + ' (input)'))} | "
            f"{c['weight_load']['us'] / 1000:.2f} | {row['weights_load_ms']} | "
            f"{pct(err(c['weight_load']['us'] / 1000, fnum(row['weights_load_ms'])))} | "
            f"{pct(load_loo.get(name + ' (weights)'))} |")
        meas_e = fnum(row["input_and_inference_uj"]) if fifo else fnum(row["inference_uj"])
        mod_e = (c["retained_inference"] if fifo else c["inference"])["uj"]
        energy_table.append(
            f"| {name} | {mod_e:.0f} | {meas_e} | {pct(err(mod_e, meas_e))} | "
            f"{pct(energy_loo.get(name))} | "
            f"{c['weight_load']['uj']:.0f} | {row['weights_load_uj']} | "
            f"{pct(err(c['weight_load']['uj'], fnum(row['weights_load_uj'])))} | "
            f"{pct(power_loo.get(name + ' (weights)'))} | "
            f"{c['input_load']['uj']:.1f} | {row['input_load_uj']} | "
            f"{pct(err(c['input_load']['uj'], fnum(row['input_load_uj'])))} |")

    m0_rows, m0_errs = [], []
    m0_faceid = 0.0
    for name, case, us, note in MAX78000:
        extra = ["--riscv"] if name.endswith("riscv") else []
        c = report(exe, corpus, case, extra)["cost"]
        # faceid's README "Time for CNN" is izer's old stopwatch, started after the FIFO feed.
        mod = (c["after_feed"] if c["fifo"] else c["inference"])["us"]
        if name in ("mnist", "kws20_v3"):
            m0_errs.append(err(mod, us))
        if c["fifo"]:
            m0_faceid = err(mod, us)
        m0_rows.append(f"| {name} | {c['clock_mhz']:.0f} | {c['total_cycles']} | "
                       f"{mod:.0f} | {us} | {pct(err(mod, us)) if not note.startswith('not') else '(' + pct(err(mod, us)) + ')'} | {note} |")

    def verdict(w, goal):
        return "**met**" if w <= goal else "**missed**"

    errs = {"wl": [], "il": []}
    err_faceid, fid = 0.0, None
    for row in table:
        c = model[row["example"]]
        errs["wl"].append(abs(err(c["weight_load"]["us"] / 1000, fnum(row["weights_load_ms"]))))
        if row["input_load_ms"]:
            errs["il"].append(abs(err(c["input_load"]["us"] / 1000, fnum(row["input_load_ms"]))))
        if c["fifo"]:
            fid = c
            err_faceid = err(c["retained_inference"]["us"] / 1000,
                             fnum(row["input_and_inference_ms"]))
    wl_worst, il_worst = max(errs["wl"]), max(errs["il"])
    m0_worst = max(abs(e) for e in m0_errs)
    err_faceid0 = m0_faceid

    def t4(d):
        return [k for k in d if "Fig." not in k]

    def worst(d, keys=None):
        vals = [abs(v) for k, v in d.items() if keys is None or k in keys]
        return max(vals) if vals else 0

    text = "\n".join([
        "# Time, loading and energy against measured silicon",
        "",
        "Made by `benchmarks/silicon_table.py` (it runs `ai8xsim check --report` on each corpus",
        "case; `tests/python/test_silicon_table.py` runs it). Measured: AN7664 Table 4 (MAX78002,",
        "VCOREA 1.0 V, weights and input loaded at 50 MHz, inference at 200 MHz with the pipeline)",
        "and the msdk MAX78000 example READMEs (50 MHz); `../shared/silicon/README.md` has the",
        "sources. Error = (model − measured) / measured. *LOO*: the error when the fitted",
        "parameter of that quantity is refitted without this network (docs/cycle-model.md §4, §7).",
        "The 7 `shapetrue` cases carry the real layer shapes with random weights; cycles, words and",
        "energy do not depend on weight values (tested).",
        "",
        "## MAX78002: time (ms)",
        "",
        "| network | CNN MHz | inference model | measured | error | LOO | input load model | "
        "measured | error | LOO | weight load model | measured | error | LOO |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        *time_rows,
        "",
        "## MAX78002: energy (µJ, VCOREA above idle)",
        "",
        "| network | inference model | measured | error | LOO | weight load model | measured | "
        "error | LOO | input load model | measured | error |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
        *energy_table,
        "",
        "faceid (FIFO): the inference row is input plus inference (Table 4 does not separate",
        "them); its model is the FIFO-feed bound (docs/cycle-model.md §6) with the feed's words",
        "written at the inference clock (see below).",
        "",
        "## MAX78000 (50 MHz, msdk READMEs)",
        "",
        "| network | CNN MHz | model cycles | model µs | measured µs | error | note |",
        "|---|---|---|---|---|---|---|",
        *m0_rows,
        "",
        "## Fitted parameters",
        "",
        "| parameter (sim/) | value in the model | refit here | fitted on | worst LOO error |",
        "|---|---|---|---|---|",
        f"| `kPipelineStallTenthsPerRead` (cycles per data read, pipeline on) | 7.4 | "
        f"{stall_fit:.2f} | {len(stall_rows)} inference times | {worst(stall_loo):.1f}% |",
        f"| `kArmAccessNs` / `kAccessCnnClocks` (one access: ns of the Arm core + CNN clocks) | "
        f"{K['kArmAccessNs']:g} / {K['kAccessCnnClocks']:g} | {load_fit[0]:.1f} / {load_fit[1]:.2f} | "
        f"{len(load_rows)} weight and input loads (Table 4, Figures 6-9) | "
        f"{worst(load_loo):.1f}% (Table 4 rows {worst(load_loo, t4(load_loo)):.1f}%) |",
        f"| `kRiscvAccessNs` | {K['kRiscvAccessNs']:g} | {rv_fit:.0f} | mnist-riscv's weight "
        "load only (no LOO possible) | — |",
        f"| `kLoadCorePowerMw` / `kLoadPjPerCnnClock` (core mW + pJ per CNN clock while loading) | "
        f"{K['kLoadCorePowerMw']:g} / {K['kLoadPjPerCnnClock']:g} | "
        f"{power_fit[0]:.1f} / {power_fit[1]:.0f} | "
        f"{len(power_rows)} load energies (Table 4, Figures 6-9) | "
        f"{worst(power_loo):.1f}% (Table 4 rows {worst(power_loo, t4(power_loo)):.1f}%) |",
        "| `kInferenceBasePjPerCycle` / `kInferenceProcessorPjPerCycle` / "
        f"`kInferenceProcessorPassPjPerCycle` (pJ) | 631 / 16.2 / 3.4 | "
        f"{energy_fit[0]:.0f} / {energy_fit[1]:.1f} / {energy_fit[2]:.1f} | "
        f"{len(energy_rows)} inference energies | "
        f"{worst(energy_loo):.1f}% |",
        "",
        "## What the goals are, and whether they are met",
        "",
        f"- Inference time within 10 % (LOO): {verdict(worst(stall_loo), 10)} on the "
        f"{len(stall_loo)} separable rows (worst {worst(stall_loo):.1f} %) and on faceid",
        f"  (FIFO, {err_faceid:+.1f} %, see below). The mobilenet row is compared at 50 MHz",
        "  (evidence: Table 4's 14.12 ms is AN7664 Figure 10's 706 k pipelined cycles at",
        "  50 MHz, and its power is a quarter of the others'). kws20_v2_1 and kws20_v3_1 have",
        "  inference = (input + inference) − input with one decimal each (0.5 and 0.4 ms): their",
        "  measured figure carries ±0.1 ms, 20–25 %.",
        f"- Weight-load time within 5 %: {verdict(wl_worst, 5)} (worst {wl_worst:.1f} %, LOO "
        f"{worst(load_loo, [k for k in t4(load_loo) if 'weights' in k]):.1f} %; RISC-V row "
        "fitted on itself). One cost per access, a core share and a CNN-clock share: Figures",
        "  6-9 time the same loads at 50, 100 and 200 MHz, and the two shares fit them all "
        f"(worst {worst(load_loo, [k for k in load_loo if 'Fig.' in k]):.1f} % LOO).",
        f"- Input-load time within 15 %: {verdict(il_worst, 15)} (worst {il_worst:.1f} %, "
        f"LOO {worst(load_loo, [k for k in t4(load_loo) if 'input' in k]):.1f} %). The words are",
        "  those izer's generated code writes (equal to the counts in the corpus's generated",
        "  `weights.h` and `main.c` on all 16 cases).",
        f"- Inference energy within 20 % (LOO): {verdict(worst(energy_loo), 20)} (worst "
        f"{worst(energy_loo):.1f} %): the model knows cycles, processors in use and passes,",
        "  not what the processors compute. MAX78000 energy uses the same constants, unvalidated (no",
        "  published MAX78000 energy here).",
        f"- MAX78000 mnist and kws20_v3 within 2 %: {verdict(m0_worst, 2)} (worst "
        f"{m0_worst:.1f} %); equal to izer's estimate on every corpus case: the unit test",
        "  `corpus: every MAX78000 case's layer cycles and total equal izer's latency`.",
        f"- faceid, MAX78000 (1882 µs): **explained and modelled** ({err_faceid0:+.1f} %). The",
        "  README's output (\"*** CNN Test ***\", \"Time for CNN: 1882 us\") is what izer",
        "  generated before its commit 4be488d (2020-09-17): there `cnn_load()` configured and",
        "  started the CNN and, with `--fifo`, wrote the input through the FIFO; `main()` started",
        "  the stopwatch only after `cnn_load()` returned. So 1882 µs is the run left after the",
        "  last FIFO word: the streaming layers' last rows and the layers that do not stream",
        "  (`after_feed`, docs/cycle-model.md §7), not the inference. Today's generated code",
        "  starts the stopwatch in `cnn_start()`, before the feed.",
        f"- faceid, MAX78002 (7.4 ms input + inference): {verdict(abs(err_faceid), 10)} "
        f"({err_faceid:+.1f} %). izer's `--energy` code switches the CNN to 200 MHz, starts it,",
        f"  then feeds the {fid['words']['input']:,} FIFO words; before each word `load_input()` "
        "reads the FIFO's status",
        "  (izer's default; `--no-fifo-wait` drops the read): two accesses per word at a 200 MHz",
        f"  CNN clock, 2 × ({K['kArmAccessNs']:g} ns + {K['kAccessCnnClocks']:g} clocks / 200 MHz)"
        f" = {2 * (K['kArmAccessNs'] + 1000 * K['kAccessCnnClocks'] / 200):.0f} ns: "
        f"{fid['input_load']['us'] / 1000:.2f} ms of feed. The streaming layers wait for it, the",
        f"  run after the last word ({fid['after_feed']['us'] / 1000:.2f} ms) follows. The access "
        "cost is the one fitted on the",
        "  weight and input loads (Table 4 and Figures 6-9, which time the same writes at 50 to",
        "  200 MHz), not on faceid: faceid's row is a prediction. Its energy: the run's, the",
        "  accelerator's clock while the layers wait, and the core's power during the feed.",
        "",
    ])
    pathlib.Path(a.out).write_text(text + "\n")


if __name__ == "__main__":
    main()

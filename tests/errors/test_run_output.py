"""Issue 20, item 11: the first command (`run` on the bundled ECG example, the README's Quick
start) prints the output's values and the predicted class, explains `@32`, and says why the
latency is an estimate."""
import pathlib
import subprocess

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[2]
ECG = ROOT / "examples" / "ecg"


def test_first_command_prints_values_and_class(cli, tmp_path):
    out = tmp_path / "ecg_out.npy"
    p = subprocess.run([str(cli), "run", "--config-file", str(ECG / "ecg.yaml"),
                        "--checkpoint-file", str(ECG / "weights.npz"), "--sample-input",
                        str(ECG / "sample_ecg_1x128.npy"), "--device", "MAX78002", "--output",
                        str(out)], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    y = np.load(out).ravel()
    values = " ".join(str(int(v)) for v in y)
    assert f"values: {values}; predicted class {int(np.argmax(y))} (argmax)" in p.stdout
    assert "@32: the layer's output is 32-bit (output_width: 32" in p.stdout
    assert "izer estimates no latency for this device" in p.stdout  # MAX78002
    p = subprocess.run([str(cli), "run", "--config-file", str(ECG / "ecg.yaml"),
                        "--checkpoint-file", str(ECG / "weights.npz"), "--sample-input",
                        str(ECG / "sample_ecg_1x128.npy"), "--device", "MAX78000"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0 and "estimated" not in p.stdout.split("total:")[1].splitlines()[0]


def test_check_prints_kernel_and_bias_headroom(cli):
    """Item 6: a network that fits gets its kernel and bias use and headroom."""
    p = subprocess.run([str(cli), "check", "--config-file", str(ECG / "ecg.yaml"),
                        "--checkpoint-file", str(ECG / "weights.npz"), "--device", "MAX78002",
                        "--input-shape", "1,128"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    kernel = next(line for line in p.stdout.splitlines() if line.startswith("kernel memory: "))
    assert "fullest processor" in kernel and "headroom" in kernel
    assert any(line.startswith("bias memory: ") and "headroom" in line
               for line in p.stdout.splitlines())


def test_memory_map_of_a_network_that_does_not_fit(cli, tmp_path):
    """Item 6: the pose student on MAX78000 (kernel memory exhausted at layer 5): the map says
    so first, in red; it counts and draws the rows the layers before it were given (not 0) and
    draws layer 5's rows, the part past the end of kernel memory as a red overflow band; the
    JSON report says the same."""
    import json
    import re
    pose = ROOT / "examples" / "pose"
    p = subprocess.run(["/usr/bin/python3", str(pose / "make_checkpoint.py"), "--out",
                        str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    svg, report = tmp_path / "m.svg", tmp_path / "m.json"
    p = subprocess.run([str(cli), "check", "--config-file", str(pose / "pose.yaml"),
                        "--checkpoint-file", str(tmp_path / "pose-q.pth.tar"), "--device",
                        "MAX78000", "--memory-map", str(svg), "--report", str(report)],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 2, p.stderr
    failure = next(v for v in json.loads(report.read_text())["violations"]
                   if v["rule"] == "kernel-memory")
    layer = failure["layer"]
    placed = re.search(r"kernel memory: does not fit \(below\); (\d+) of (\d+) rows placed",
                       p.stdout)
    assert placed and int(placed[1]) > 0, p.stdout
    mm = json.loads(report.read_text())["memory_map"]
    assert mm["totals"]["kernel_rows_used"] == int(placed[1])
    assert sum(u["written_rows"] for u in mm["kernel"]["processors"]) == int(placed[1])
    over = [r for r in mm["kernel"]["regions"] if r.get("overflow")]
    assert over and {r["layer"] for r in over} == {layer}
    cap = {u["processor"]: u["capacity_rows"] for u in mm["kernel"]["processors"]}
    assert all(r["first_row"] + r["rows"] > cap[r["processor"]] for r in over)
    placed_layers = {r["layer"] for r in mm["kernel"]["regions"] if not r.get("overflow")}
    assert placed_layers and layer not in placed_layers

    text = svg.read_text()
    lines = re.findall(r"<text [^>]*>([^<]*)</text>", text)
    # the verdict is the first line after the title, then the totals, then the overlap check
    assert lines[1].startswith(f"DOES NOT FIT: kernel memory: layer {layer}:"), lines[:4]
    assert re.search(r'class="verdict" font-size="1[5-9]" font-weight="bold" fill="#cc0000"', text)
    assert f"kernel memory {placed[1]} of {placed[2]} rows" in lines[2]
    assert lines[3].startswith("izer&apos;s overlap check")
    assert "kernel memory 0 of" not in text
    # the rows placed are drawn, and the overflow past the end in red on every processor of it
    assert len(re.findall(r'class="region kernel" ', text)) == len(
        [r for r in mm["kernel"]["regions"] if not r.get("overflow")])
    bands = re.findall(r'class="region kernel overflow" [^>]*data-layer="(\d+)"'
                       r' data-processor="(\d+)" fill="#cc0000"', text)
    assert sorted(int(p) for _, p in bands) == sorted(r["processor"] for r in over)
    assert {int(lay) for lay, _ in bands} == {layer}
    assert f"overflow: layer {layer} needs rows" in text and 'class="kernel-end"' in text

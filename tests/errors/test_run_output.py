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
    """Item 6: the pose student on MAX78000 (kernel memory exhausted at layer 5): the map
    says so first, in red, and does not claim 0 kernel rows used."""
    pose = ROOT / "examples" / "pose"
    p = subprocess.run(["/usr/bin/python3", str(pose / "make_checkpoint.py"), "--out",
                        str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    svg = tmp_path / "m.svg"
    p = subprocess.run([str(cli), "check", "--config-file", str(pose / "pose.yaml"),
                        "--checkpoint-file", str(tmp_path / "pose-q.pth.tar"), "--device",
                        "MAX78000", "--memory-map", str(svg)], capture_output=True, text=True,
                       timeout=300)
    assert p.returncode == 2, p.stderr
    assert "kernel memory: does not fit (below)" in p.stdout
    text = svg.read_text()
    assert 'fill="#cc0000">DOES NOT FIT: kernel memory: layer 5:' in text
    assert "kernel memory not allocated (above)" in text
    assert "kernel memory 0 of" not in text

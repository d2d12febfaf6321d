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

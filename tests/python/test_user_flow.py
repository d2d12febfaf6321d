"""Issue 20 items 1, 3 and 12: the package installed the way the README says for Jupyter's
default kernel (tools/install_user_site.py: a .pth in the user site of /usr/bin/python3)
imports in that kernel without any sys.path edit, `python -m ai8xsim` runs the command line,
and python/notebooks/your_model.ipynb (a user's own YAML and float checkpoint: load with
quantization, check and memory map, run, compare with the PyTorch model, evaluate) runs from
top to bottom in the default `python3` kernel."""
import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import pysupport as S

ROOT = S.TESTS.parent
NOTEBOOK = ROOT / "python" / "notebooks" / "your_model.ipynb"
SYSTEM_PYTHON = "/usr/bin/python3"


@pytest.fixture()
def user_site(tmp_path, monkeypatch):
    """A private user base (PYTHONUSERBASE) with the build installed as the README says."""
    base = tmp_path / "userbase"
    monkeypatch.setenv("PYTHONUSERBASE", str(base))
    monkeypatch.delenv("PYTHONPATH", raising=False)
    p = subprocess.run([SYSTEM_PYTHON, str(ROOT / "tools" / "install_user_site.py"),
                        str(S.build_dir().resolve())], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert list(base.rglob("ai8xsim-build.pth"))
    return base


def test_default_interpreter_imports_after_user_site_install(user_site, tmp_path):
    env = dict(os.environ)
    p = subprocess.run([SYSTEM_PYTHON, "-c", "import ai8xsim, sys; print(ai8xsim.__file__)"],
                       capture_output=True, text=True, env=env, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert str(S.build_dir().resolve()) in p.stdout
    # without the install the same interpreter does not find it (the test means something)
    env["PYTHONUSERBASE"] = str(tmp_path / "empty")
    p = subprocess.run([SYSTEM_PYTHON, "-c", "import ai8xsim"], capture_output=True,
                       text=True, env=env, cwd=tmp_path)
    assert p.returncode != 0 and "No module named 'ai8xsim'" in p.stderr


def test_python_m_ai8xsim_runs_the_cli(user_site, tmp_path):
    p = subprocess.run([SYSTEM_PYTHON, "-m", "ai8xsim", "run", "--config-file",
                        str(ROOT / "examples/ecg/ecg.yaml"), "--checkpoint-file",
                        str(ROOT / "examples/ecg/weights.npz"), "--sample-input",
                        str(ROOT / "examples/ecg/sample_ecg_1x128.npy"), "--device", "MAX78002",
                        "--output", str(tmp_path / "o.npy")], capture_output=True, text=True,
                       cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert np.load(tmp_path / "o.npy").shape[0] == 5
    p = subprocess.run([SYSTEM_PYTHON, "-m", "ai8xsim", "--help"], capture_output=True,
                       text=True, cwd=tmp_path)
    assert p.returncode == 0 and "eval" in p.stdout


def test_compare_with_module_input(tmp_path):
    """Item 3: a float PyTorch model gets x / 128 and its layers are scaled by 128."""
    torch = pytest.importorskip("torch")
    ai8xsim = S.import_ai8xsim()
    x = np.load(ROOT / "examples/ecg/sample_ecg_1x128.npy")
    net = ai8xsim.load(ROOT / "examples/ecg/ecg.yaml", ROOT / "examples/ecg/weights.npz",
                       device="MAX78002")
    seen = []

    class Probe(torch.nn.Module):
        def forward(self, t):
            seen.append(t.detach().numpy().copy())
            return t

    ai8xsim.parity.compare(net, x, Probe(), module_input=x / 128.0, scale=128)
    assert np.allclose(seen[0][0], x / 128.0)
    ai8xsim.parity.compare(net, x, Probe(), module_input=lambda s: s / 64.0)
    assert np.allclose(seen[1][0], x / 64.0)
    with pytest.raises(ValueError, match="module_input has shape"):
        ai8xsim.parity.compare(net, x, Probe(), module_input=x[:, :10])


def test_your_model_notebook_runs_in_the_default_kernel(user_site, tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("torch")
    spec = json.loads(pathlib.Path("/usr/share/jupyter/kernels/python3/kernel.json")
                      .read_text()) if pathlib.Path(
        "/usr/share/jupyter/kernels/python3/kernel.json").is_file() else None
    if spec is None or spec["argv"][0] != SYSTEM_PYTHON:
        pytest.skip("no default python3 kernel running /usr/bin/python3")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.delenv("JUPYTER_PATH", raising=False)
    nb = nbformat.read(NOTEBOOK, as_version=4)
    src = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "sys.path" not in src and "AI8XSIM_BUILD_DIR" not in src
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    outputs = {i: c.outputs for i, c in enumerate(nb.cells) if c.cell_type == "code"}
    text = json.dumps(outputs)
    assert "quantize.py" in text                       # the load said it quantized
    assert "fits" in text and "image/svg+xml" in text  # check and the memory map
    assert "parity:" in text                           # compared with the torch model
    assert "top-1" in text and "confusion" in text     # evaluated
    assert "image/png" in text                         # the histograms

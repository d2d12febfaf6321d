"""Issue 20 item 1: the package installed as python/README.md tells users (a venv with the
system site packages, `pip install --no-build-isolation .` offline, a Jupyter kernel from the
venv) imports from the venv, installs the `ai8xsim` command, runs `python -m ai8xsim`, and
runs python/notebooks/your_model.ipynb in that kernel.

pip builds through setup.py in the build tree the other tests use (AI8XSIM_CMAKE_BUILD_DIR:
the targets are brought up to date there, not compiled again from scratch), so the test takes
seconds plus the notebook; a cold pip build compiles everything (minutes on two cores)."""
import json
import os
import subprocess

import pytest

import pysupport as S

ROOT = S.TESTS.parent
NOTEBOOK = ROOT / "python" / "notebooks" / "your_model.ipynb"
SYSTEM_PYTHON = "/usr/bin/python3"


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    """(venv dir, environment): the README's venv and pip install, with a private user base
    (an ai8xsim-build.pth in the real one must not stand in for the install) and a private
    Jupyter data directory (`ipykernel install --user` writes there)."""
    if not (S.build_dir() / "CMakeCache.txt").is_file():
        pytest.fail(f"no CMake build in {S.build_dir()}: run the README's build first")
    tmp = tmp_path_factory.mktemp("install")
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env.update(PYTHONUSERBASE=str(tmp / "userbase"), JUPYTER_DATA_DIR=str(tmp / "jupyter"),
               AI8XSIM_CMAKE_BUILD_DIR=str(S.build_dir().resolve()), PIP_NO_INPUT="1",
               CMAKE_BUILD_PARALLEL_LEVEL="2")
    venv = tmp / "venv"
    run([SYSTEM_PYTHON, "-m", "venv", "--system-site-packages", str(venv)], env, tmp)
    run([str(venv / "bin" / "pip"), "install", "--no-build-isolation", "--no-index",
         "--no-cache-dir", str(ROOT)], env, tmp, timeout=900)
    return venv, env, tmp


def run(args, env, cwd, timeout=300):
    p = subprocess.run(args, capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout)
    assert p.returncode == 0, f"{' '.join(map(str, args))}: exit {p.returncode}\n{p.stdout}\n{p.stderr}"
    return p


def test_import_from_the_venv(venv):
    venv_dir, env, tmp = venv
    p = run([str(venv_dir / "bin" / "python"), "-c",
             "import ai8xsim; print(ai8xsim.__file__)"], env, tmp)
    path = p.stdout.splitlines()[0]
    assert path.startswith(str(venv_dir / "lib")) and "site-packages" in path, p.stdout
    # the system interpreter, with the same private user base, does not see it
    p = subprocess.run([SYSTEM_PYTHON, "-c", "import ai8xsim"], capture_output=True, text=True,
                       env=env, cwd=tmp)
    assert p.returncode != 0 and "No module named 'ai8xsim'" in p.stderr


def test_console_command_and_python_m(venv):
    venv_dir, env, tmp = venv
    command = venv_dir / "bin" / "ai8xsim"
    assert command.is_file() and os.access(command, os.X_OK)
    for args in ([str(command), "--help"],
                 [str(venv_dir / "bin" / "python"), "-m", "ai8xsim", "--help"]):
        p = run(args, env, tmp)
        assert "bit-accurate simulator" in p.stdout and "eval" in p.stdout, p.stdout
    ecg = ROOT / "examples" / "ecg"
    p = run([str(command), "run", "--config-file", str(ecg / "ecg.yaml"), "--checkpoint-file",
             str(ecg / "weights.npz"), "--sample-input", str(ecg / "sample_ecg_1x128.npy"),
             "--device", "MAX78002", "--output", str(tmp / "o.npy")], env, tmp)
    assert "predicted class" in p.stdout and (tmp / "o.npy").is_file()


def test_notebook_in_the_venv_kernel(venv, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("torch")
    venv_dir, env, tmp = venv
    # the README's kernel install, into the private Jupyter data directory
    run([str(venv_dir / "bin" / "python"), "-m", "ipykernel", "install", "--user", "--name",
         "ai8xsim"], env, tmp)
    spec = json.loads((tmp / "jupyter" / "kernels" / "ai8xsim" / "kernel.json").read_text())
    assert spec["argv"][0] == str(venv_dir / "bin" / "python"), spec
    for key in ("PYTHONPATH", "VIRTUAL_ENV"):
        monkeypatch.delenv(key, raising=False)
    for key in ("PYTHONUSERBASE", "JUPYTER_DATA_DIR"):
        monkeypatch.setenv(key, env[key])
    monkeypatch.delenv("JUPYTER_PATH", raising=False)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    src = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "sys.path" not in src and "AI8XSIM_BUILD_DIR" not in src
    # where the kernel finds the package: printed by a cell of the test's own, first
    nb.cells.insert(0, nbformat.v4.new_code_cell("import ai8xsim; print(ai8xsim.__file__)"))
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="ai8xsim",
                                     resources={"metadata": {"path": str(tmp)}})
    client.execute()
    first = "".join(o.get("text", "") for o in nb.cells[0].outputs)
    assert first.startswith(str(venv_dir / "lib")), first
    text = json.dumps([c.outputs for c in nb.cells if c.cell_type == "code"])
    assert "quantize.py" in text and "fits" in text and "top-1" in text

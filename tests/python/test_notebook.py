"""python/notebooks/walkthrough.ipynb runs from top to bottom without a failing cell."""
import json
import sys

import pytest

import pysupport as S

NOTEBOOK = S.TESTS.parent / "python" / "notebooks" / "walkthrough.ipynb"


def _installed_for_default_kernel(tmp_path, monkeypatch):
    """The build installed for /usr/bin/python3's user site as the README says; the default
    `python3` kernel (that interpreter) then imports it without any sys.path edit."""
    import subprocess
    monkeypatch.setenv("PYTHONUSERBASE", str(tmp_path / "userbase"))
    monkeypatch.delenv("PYTHONPATH", raising=False)
    p = subprocess.run(["/usr/bin/python3", str(S.TESTS.parent / "tools" / "install_user_site.py"),
                        str(S.build_dir().resolve())], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    return "python3"


def _kernel_for_this_interpreter(tmp_path, monkeypatch):
    """A kernelspec running this interpreter (a venv's, say), found first via JUPYTER_PATH."""
    spec = tmp_path / "kernels" / "ai8xsim-test"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "ai8xsim test", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    # another interpreter (a venv's): the package from the build, as a venv's pip would give it
    monkeypatch.setenv("PYTHONPATH", str(S.PACKAGE_DIR))
    return spec.name


def test_walkthrough_notebook_runs(monkeypatch, tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    S.require_corpus()
    S.import_ai8xsim()
    monkeypatch.setenv("AI8XSIM_BUILD_DIR", str(S.build_dir().resolve()))
    monkeypatch.setenv("AI8XSIM_PARITY_DIR", str(S.corpus_dir().resolve()))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    kernel = (_installed_for_default_kernel(tmp_path, monkeypatch)
              if sys.executable == "/usr/bin/python3"
              else _kernel_for_this_interpreter(tmp_path, monkeypatch))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name=kernel,
                                     resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    client.execute()  # raises CellExecutionError naming the cell that failed
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    assert not errors, errors
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code_cells)
    images = [o for c in code_cells for o in c.outputs if "image/png" in o.get("data", {})]
    assert images, "the plots drew nothing"
    # the case it picks (by structure: a reference with a hardware-bias variant) differs from
    # the simulator in the plain reference and agrees in the variant
    text = json.dumps([c.outputs for c in code_cells])
    assert "exact on every layer" not in text and "exact: True" in text

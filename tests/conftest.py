"""Shared pytest fixtures: where the build and the parity corpus are."""
import os
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent


def build_dir() -> pathlib.Path:
    return pathlib.Path(os.environ.get("AI8XSIM_BUILD_DIR", ROOT / "build"))


def corpus_dir() -> pathlib.Path:
    return pathlib.Path(os.environ.get("AI8XSIM_PARITY_DIR", ROOT.parent / "shared" / "parity"))


def require_corpus() -> pathlib.Path:
    """The corpus, or a skip outside CI (in CI a missing corpus is a failure)."""
    d = corpus_dir()
    if (d / "index.json").is_file():
        return d
    if os.environ.get("CI"):
        pytest.fail(f"parity corpus not found at {d} (set AI8XSIM_PARITY_DIR)")
    pytest.skip(f"parity corpus not found at {d}")


@pytest.fixture(scope="session")
def cli() -> pathlib.Path:
    exe = build_dir() / "ai8xsim"
    if not exe.is_file():
        pytest.fail(f"{exe} not built: run the README's build command first")
    return exe


def pytest_collection_modifyitems(config, items):
    """AI8XSIM_PARITY_SUBSET=N (tests/sanitize.sh): run the parity tests on about N corpus
    cases instead of all, spread evenly over each device's cases in name order (the names
    group the networks by operator), accepted and refused alike."""
    n = int(os.environ.get("AI8XSIM_PARITY_SUBSET", "0") or 0)
    if n <= 0:
        return
    index_file = corpus_dir() / "index.json"
    if not index_file.is_file():
        return
    import json
    index = json.loads(index_file.read_text())
    keep = set()
    for device in sorted({v["device"] for v in index.values()}):
        names = sorted(k for k, v in index.items() if v["device"] == device)
        per_device = max(1, n // 2)
        step = len(names) / per_device
        keep.update(names[int(i * step)] for i in range(min(per_device, len(names))))
    selected, deselected = [], []
    for item in items:
        case = getattr(item, "callspec", None) and item.callspec.params.get("case")
        in_parity = "tests/parity/" in item.nodeid.replace("\\", "/")
        (deselected if in_parity and case is not None and case not in keep
         else selected).append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = selected


def pytest_terminal_summary(terminalreporter):
    """tests/parity/test_engine_paths.py: how many networks were compared on all samples."""
    counts = {}
    for report in terminalreporter.stats.get("passed", []):
        for name, value in getattr(report, "user_properties", ()):
            if name == "engine_paths" and report.when == "call":
                counts[value] = counts.get(value, 0) + 1
    if counts:
        terminalreporter.write_line(
            "engine paths (Fast vs Reference kernel set, every layer): " +
            ", ".join(f"{n} networks on {what}" for what, n in sorted(counts.items())))

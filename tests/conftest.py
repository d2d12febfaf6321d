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

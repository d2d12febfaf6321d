"""The compiled module, with a clear message when it is missing."""
try:
    from . import _ai8xsim as core
except ImportError as e:  # pragma: no cover - depends on the build
    raise ImportError(
        "ai8xsim: the compiled module _ai8xsim is missing or does not load "
        f"({e}). Build it (cmake -S . -B build && cmake --build build) and put "
        "build/python on PYTHONPATH, or pip install the repository.") from e

Error = core.Error

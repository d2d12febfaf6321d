"""`python -m ai8xsim ...` and the `ai8xsim` console script: the command-line tool.

Runs the `ai8xsim` executable installed with the package (pip: ai8xsim/bin/ai8xsim) or, for
the build tree, the one next to it (BUILD/ai8xsim), with the same arguments."""
import os
import pathlib
import sys


def executable():
    here = pathlib.Path(__file__).resolve().parent
    for candidate in (here / "bin" / "ai8xsim", here.parent.parent / "ai8xsim"):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    exe = executable()
    if exe is None:
        print("ai8xsim: the command-line executable is not installed with this package "
              f"({pathlib.Path(__file__).parent}); build it (cmake --build build) or reinstall "
              "with pip", file=sys.stderr)
        return 1
    sys.stdout.flush()
    os.execv(str(exe), [str(exe)] + argv)


if __name__ == "__main__":
    sys.exit(main())

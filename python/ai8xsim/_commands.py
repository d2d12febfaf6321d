"""`python3 -m ai8xsim._commands sweep|quantize ARGS`: the Python commands of the `ai8xsim`
binary (cli/sweep.cpp runs this module with every argument)."""
import sys


def main(argv):
    if not argv or argv[0] not in ("sweep", "quantize"):
        print("ai8xsim: error: ai8xsim._commands: give sweep or quantize", file=sys.stderr)
        return 1
    if argv[0] == "sweep":
        from .sweeps import main as run
    else:
        from .quantize import main as run
    return run(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

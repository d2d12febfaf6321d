#!/usr/bin/env python3
"""Make the ai8xsim package built in a build tree importable by this interpreter's user site
(no pip, no root, nothing copied): writes `ai8xsim-build.pth` naming BUILD/python into
site.getusersitepackages(). Run it with the interpreter Jupyter's default kernel uses:

    /usr/bin/python3 tools/install_user_site.py [BUILD]      # BUILD: default ./build

Then `import ai8xsim` works in that interpreter and its notebooks, and `python3 -m ai8xsim`
runs the command line. `--remove` deletes the file again."""
import pathlib
import site
import sys


def main(argv):
    remove = "--remove" in argv
    args = [a for a in argv if a != "--remove"]
    root = pathlib.Path(__file__).resolve().parent.parent
    build = pathlib.Path(args[0] if args else root / "build").resolve()
    target = pathlib.Path(site.getusersitepackages()) / "ai8xsim-build.pth"
    if remove:
        target.unlink(missing_ok=True)
        print(f"removed {target}")
        return 0
    package = build / "python" / "ai8xsim"
    if not any(package.glob("_ai8xsim*.so")):
        print(f"install_user_site.py: no built module in {package}: build first "
              f"(cmake -S . -B build -DPython3_EXECUTABLE={sys.executable} && "
              f"cmake --build build)", file=sys.stderr)
        return 1
    if not site.ENABLE_USER_SITE:
        print("install_user_site.py: this interpreter ignores the user site (python -s or a "
              "venv without it): use the venv's pip install instead", file=sys.stderr)
        return 1
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(f"{build / 'python'}\n")
    print(f"{target} -> {build / 'python'}: `import ai8xsim` works in {sys.executable} "
          f"and its Jupyter kernel")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

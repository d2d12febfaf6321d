"""Build the ai8xsim Python package: the pure-Python files from python/ai8xsim and the
compiled module _ai8xsim, built by CMake (python/CMakeLists.txt) for the running interpreter.

    python3 -m venv --system-site-packages /tmp/v
    /tmp/v/bin/pip install --no-build-isolation /path/to/repo

Environment: AI8XSIM_CMAKE_ARGS adds CMake arguments; CMAKE_BUILD_PARALLEL_LEVEL sets the
build jobs (default: all cores); CMAKE_CXX_COMPILER_LAUNCHER=ccache (read by CMake when it
configures) compiles through ccache. setuptools' build directory lives outside the source tree
(the system temp directory, as is the egg-info) so that nothing is written into the
source tree; a second install rebuilds incrementally.

AI8XSIM_CMAKE_BUILD_DIR=build uses an existing CMake build directory instead (one configured
with -DAI8XSIM_PYTHON=ON for this interpreter, as the README's build is): its `_ai8xsim`
module and `ai8xsim` command are brought up to date there and copied, its configuration is
left as it is. With the README's build done, an install then takes seconds instead of a
full compile."""
import hashlib
import os
import pathlib
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tempfile

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = pathlib.Path(__file__).resolve().parent
# One build directory per user and source tree (CMake's cache is tied to the source path).
_TREE = hashlib.sha1(str(ROOT).encode()).hexdigest()[:10]
BUILD_BASE = pathlib.Path(tempfile.gettempdir()) / f"ai8xsim-pip-build-{os.getuid()}-{_TREE}"
BUILD_BASE.mkdir(parents=True, exist_ok=True)


class CMakeExtension(Extension):
    def __init__(self, name):
        super().__init__(name, sources=[])


class CMakeBuild(build_ext):
    """Configure and build the `_ai8xsim` module and the `ai8xsim` command line, then copy
    them into the package (the command as ai8xsim/bin/ai8xsim, run by `python -m ai8xsim` and
    the `ai8xsim` console script)."""

    def build_extension(self, ext):
        existing = os.environ.get("AI8XSIM_CMAKE_BUILD_DIR")
        if existing:
            build_dir = pathlib.Path(existing).resolve()
            if not (build_dir / "CMakeCache.txt").is_file():
                raise RuntimeError(f"AI8XSIM_CMAKE_BUILD_DIR={existing}: no CMakeCache.txt in "
                                   f"{build_dir}; configure it first (README: Build) or unset it")
        else:
            build_dir = pathlib.Path(self.build_temp).resolve() / "cmake"
            self._cmake(["-S", str(ROOT), "-B", str(build_dir)] + self._configure_args())
        self._cmake(["--build", str(build_dir), "--target", "_ai8xsim", "ai8xsim",
                     "-j", os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL", str(os.cpu_count()))])
        suffix = sysconfig.get_config_var("EXT_SUFFIX")
        built = sorted((build_dir / "python" / "ai8xsim").glob("_ai8xsim*.so"))
        if not built:
            raise RuntimeError(f"CMake built no _ai8xsim module in {build_dir}/python/ai8xsim")
        if not any(b.name == "_ai8xsim" + suffix for b in built):
            raise RuntimeError(f"{build_dir} holds {', '.join(b.name for b in built)}, not "
                               f"_ai8xsim{suffix} for {sys.executable}: configure it with "
                               f"-DPython3_EXECUTABLE={sys.executable} or unset "
                               "AI8XSIM_CMAKE_BUILD_DIR")
        built = [b for b in built if b.name == "_ai8xsim" + suffix]
        dest = pathlib.Path(self.get_ext_fullpath(ext.name))
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(built[-1], dest)
        (dest.parent / "bin").mkdir(exist_ok=True)
        shutil.copy2(build_dir / "ai8xsim", dest.parent / "bin" / "ai8xsim")

    @staticmethod
    def _configure_args():
        return [f"-DPython3_EXECUTABLE={sys.executable}", "-DCMAKE_BUILD_TYPE=Release",
                "-DAI8XSIM_PYTHON=ON", "-DAI8XSIM_TESTS=OFF"] + \
            shlex.split(os.environ.get("AI8XSIM_CMAKE_ARGS", ""))

    @staticmethod
    def _cmake(args):
        print("cmake " + " ".join(args), flush=True)
        subprocess.check_call(["cmake"] + args)


setup(
    ext_modules=[CMakeExtension("ai8xsim._ai8xsim")],
    cmdclass={"build_ext": CMakeBuild},
    options={"build": {"build_base": str(BUILD_BASE)},
             "egg_info": {"egg_base": str(BUILD_BASE)}},
    zip_safe=False,
)

"""The facade is the boundary: the front ends (the command line in cli/, the Python bindings in
python/src/, the drawing in report/) include the library only through its public headers in
include/ai8xsim/, never sim/ or kernels/ (docs/architecture.md, "The facade"). The public
headers themselves include no internal header: every type the facade hands out is defined
there."""
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]
FRONT_ENDS = ["cli", "python/src", "report"]
INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]([^>"]+)[>"]', re.M)
INTERNAL = ("sim/", "kernels/")

# Every type the facade hands out is defined in include/ai8xsim/: no public header includes
# sim/ or kernels/.
PUBLIC_HEADER_ALLOWED = set()


def internal_includes(text):
    return [h for h in INCLUDE.findall(text) if h.startswith(INTERNAL)]


def sources(folder):
    d = ROOT / folder
    return sorted(p for p in d.rglob("*") if p.suffix in (".cpp", ".h", ".hpp", ".cc"))


def test_the_checker_sees_an_internal_include():
    text = '#include "ai8xsim/ai8xsim.h"\n  #  include "sim/memory/datamem.h"\n#include <vector>\n'
    assert internal_includes(text) == ["sim/memory/datamem.h"]
    assert internal_includes('#include "kernels/fast.h"') == ["kernels/fast.h"]


def test_front_ends_include_only_the_public_headers():
    found = []
    for folder in FRONT_ENDS:
        files = sources(folder)
        assert files, f"no sources found in {folder}/"
        for p in files:
            for h in internal_includes(p.read_text()):
                found.append(f"{p.relative_to(ROOT)}: #include \"{h}\"")
    assert not found, ("front ends must include only include/ai8xsim/ headers (add what they "
                       "need to the facade):\n" + "\n".join(found))


def test_public_headers_include_only_the_listed_model_headers():
    used = {}
    for p in sorted((ROOT / "include" / "ai8xsim").glob("*.h")):
        for h in internal_includes(p.read_text()):
            used.setdefault(h, []).append(p.name)
    extra = {h: f for h, f in used.items() if h not in PUBLIC_HEADER_ALLOWED}
    assert not extra, f"public headers include internal headers not listed: {extra}"
    stale = PUBLIC_HEADER_ALLOWED - set(used)
    assert not stale, f"listed but no longer included by a public header (remove): {stale}"

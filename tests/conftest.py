"""Shared fixtures of the Python tests (converter and IFG reference).

Golden data: a case directory is looked up, in order, in $IF_GOLDEN_DIR,
<repo>/../shared/golden and the project copy tests/data/golden; the first
that has the case wins. Tests needing a case that none has are skipped
with the places searched in the reason.
"""

import functools
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTS = os.path.join(ROOT, "tests")
for p in (ROOT, TESTS):
    if p not in sys.path:
        sys.path.insert(0, p)

GOLDEN_CASES = ("tiny_vit", "tiny_vit_exact", "light_decoder", "tiny_decoder_zoom")


def golden_roots():
    roots = []
    if os.environ.get("IF_GOLDEN_DIR"):
        roots.append(os.environ["IF_GOLDEN_DIR"])
    roots.append(os.path.join(os.path.dirname(ROOT), "shared", "golden"))
    roots.append(os.path.join(TESTS, "data", "golden"))
    return roots


def golden_file(name):
    """A file at the top of the golden directory (e.g. light_state_dict_keys.txt), or skip."""
    for r in golden_roots():
        p = os.path.join(r, name)
        if os.path.isfile(p):
            return p
    pytest.skip(f"golden file {name} not found in {', '.join(golden_roots())}")


def golden_case(case):
    """Directory of a golden case, or skip."""
    for r in golden_roots():
        d = os.path.join(r, case)
        if os.path.isfile(os.path.join(d, "model.pth")):
            return d
    pytest.skip(f"golden case {case} not found in {', '.join(golden_roots())} "
                "(set IF_GOLDEN_DIR to the golden directory)")


def run_converter(*args, env=None, module="converter"):
    """Run `python3 -m converter ARGS` from the repo root; CompletedProcess (text)."""
    e = dict(os.environ)
    e["PYTHONPATH"] = ROOT + (os.pathsep + e["PYTHONPATH"] if e.get("PYTHONPATH") else "")
    e.update(env or {})
    return subprocess.run([sys.executable, "-m", module, *map(str, args)], cwd=ROOT, env=e,
                          capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="session")
def converted(tmp_path_factory):
    """converted(case, weights) -> (encoder path, decoder path), converted once per session."""

    @functools.lru_cache(maxsize=None)
    def convert(case, weights="f32"):
        d = golden_case(case)
        out = tmp_path_factory.mktemp(f"{case}_{weights}")
        r = run_converter(os.path.join(d, "model.pth"), "-o", out, "--name", case,
                          "--weights", weights)
        assert r.returncode == 0, r.stderr
        assert r.stderr == ""
        return (str(out / f"{case}.encoder.ifg"), str(out / f"{case}.decoder.ifg"))

    return convert

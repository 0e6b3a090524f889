"""The library's layering, checked on its sources and its objects.

    platform/ the operating-system calls: nothing of the library
    format/   the file formats: may use kernels/ (f16) and interformer.h
    kernels/  the compute kernels: nothing above them
    runtime/  the graph engine: format/ and kernels/, never session/
    session/  the click semantics: everything below it
    output/   masks to COCO RLE, boxes, polygons: platform/ and interformer.h
              only, and nothing in the library depends on it (the CLI and
              the examples may)

and no two library files depend on each other in a circle: for every pair
of object files, the symbols one uses from the other must not flow back
(found from `nm` on the built objects, so a call counts, not an include).
"""

import glob
import os
import re
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, os.environ.get("IF_BUILD", "build"))

# folder -> folders it must not include from
FORBIDDEN = {
    "platform": ("format", "kernels", "runtime", "session", "output"),
    "format": ("runtime", "session", "output"),
    "kernels": ("format", "runtime", "session", "output"),
    "runtime": ("session", "output"),
    "session": ("output",),
    "output": ("format", "kernels", "runtime", "session"),
}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def _sources(folder):
    for ext in ("c", "h"):
        yield from glob.glob(os.path.join(ROOT, folder, "**", f"*.{ext}"), recursive=True)


def test_folders_include_only_their_lower_layers():
    bad = []
    for folder, forbidden in FORBIDDEN.items():
        for path in _sources(folder):
            with open(path, encoding="utf-8") as f:
                for inc in INCLUDE.findall(f.read()):
                    top = os.path.normpath(inc).split(os.sep)[0]
                    if top in forbidden or inc.startswith(".."):
                        bad.append(f"{os.path.relpath(path, ROOT)} includes \"{inc}\"")
    assert not bad, "layering broken:\n" + "\n".join(bad)


def _symbols(obj):
    out = subprocess.run(["nm", obj], capture_output=True, text=True, check=True).stdout
    defined, used = set(), set()
    for line in out.splitlines():
        f = line.split()
        if len(f) == 3 and f[1] in "TDRB":
            defined.add(f[2])
        elif len(f) == 2 and f[0] == "U":
            used.add(f[1])
    return defined, used


def _cycles(graph):
    """Strongly connected components with more than one node (Tarjan)."""
    index, low, stack, on, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_no_two_library_files_depend_on_each_other():
    if not shutil.which("nm"):
        pytest.skip("nm (binutils) not installed")
    objs = []
    for folder in ("format", "kernels", "runtime", "session", "output"):
        objs += glob.glob(os.path.join(BUILD, folder, "**", "*.o"), recursive=True)
    top = os.path.join(BUILD, "interformer.o")
    if os.path.exists(top):
        objs.append(top)
    if len(objs) < 20:
        pytest.skip(f"library objects not built in {BUILD} (make lib)")
    owner, uses = {}, {}
    for o in objs:
        defined, used = _symbols(o)
        for s in defined:
            owner[s] = o
        uses[o] = used
    graph = {o: {owner[s] for s in uses[o] if s in owner and owner[s] != o} for o in objs}
    cycles = [[os.path.relpath(o, BUILD) for o in c] for c in _cycles(graph)]
    assert not cycles, f"files that depend on each other in a circle: {cycles}"


def test_nothing_in_the_library_uses_output():
    """output/ is a leaf: no library object outside it (interformer.o
    included) uses a symbol output/'s objects define."""
    if not shutil.which("nm"):
        pytest.skip("nm (binutils) not installed")
    out_objs = glob.glob(os.path.join(BUILD, "output", "*.o"))
    if not out_objs:
        pytest.skip(f"output/ objects not built in {BUILD} (make lib)")
    defined = set()
    for o in out_objs:
        defined |= _symbols(o)[0]
    others = [os.path.join(BUILD, "interformer.o")]
    for folder in ("platform", "format", "kernels", "runtime", "session"):
        others += glob.glob(os.path.join(BUILD, folder, "**", "*.o"), recursive=True)
    bad = [f"{os.path.relpath(o, BUILD)} uses {s}" for o in others if os.path.exists(o)
           for s in sorted(_symbols(o)[1] & defined)]
    assert not bad, "the library depends on output/:\n" + "\n".join(bad)

"""What the tests of the command-line tool share (test_cli.py, test_eval.py,
test_batch.py): where the CLI and the models are, the skip when they are
not built, running the CLI, and its success and error contracts.

$IF_BUILD names the build directory (default build/); the models are
always build/models (the Makefile's MODELS, shared by every build).
"""

import os
import subprocess

import pytest

from conftest import ROOT

BUILD = os.path.join(ROOT, os.environ.get("IF_BUILD", "build"))
CLI = os.path.join(BUILD, "interformer")
MODELS = os.path.join(ROOT, "build", "models")
TINY = os.path.join(MODELS, "tiny_vit")
DEFAULT = os.path.join(MODELS, "default")


def require_built(*paths, target=None):
    """Skips the calling test (module fixture) unless every path exists,
    saying what to build."""
    target = target or f"{os.path.relpath(CLI, ROOT)} models"
    for p in paths:
        if not os.path.isfile(p):
            pytest.skip(f"{os.path.relpath(p, ROOT)} is not built: run `make "
                        f"{target}` (or `make test-py`) first")


def cli_env(drop=("IF_MODEL",), **set_):
    """This process's environment without the `drop` variables (and those
    starting with a `drop` entry that ends in '_'), plus `set_`."""
    e = {k: v for k, v in os.environ.items()
         if k not in drop and not any(d.endswith("_") and k.startswith(d) for d in drop)}
    e.update({k: str(v) for k, v in set_.items()})
    return e


def run_cli(args, env, cwd=None, timeout=600):
    """The CLI with `args` in environment `env`; CompletedProcess (text)."""
    return subprocess.run([CLI, *map(str, args)], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)


def ok(r):
    assert r.returncode == 0, f"exit {r.returncode}\nstdout: {r.stdout}\nstderr: {r.stderr}"
    return r


def error(r, code, *needles, quiet=True):
    """The CLI's error contract: exit `code`, one line
    'interformer: <what>: <detail>' on stderr holding every needle, and
    (quiet) nothing on stdout."""
    assert r.returncode == code, \
        f"exit {r.returncode}, wanted {code}\nstdout: {r.stdout}\nstderr: {r.stderr}"
    lines = r.stderr.splitlines()
    assert len(lines) == 1, f"wanted one line on stderr, got: {r.stderr!r}"
    assert lines[0].startswith("interformer: ") and lines[0].count(": ") >= 2, lines[0]
    for n in needles:
        assert n in lines[0], f"{n!r} not in {lines[0]!r}"
    if quiet:
        assert r.stdout == ""
    return lines[0]

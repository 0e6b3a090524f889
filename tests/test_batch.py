"""Dataset-scale encoding: `interformer encode --list FILE | FOLDER -o OUTDIR
[--shard I/N]` (examples/batch.c, docs/batch-encoding.md), run as a
scheduler would: several shards at once, one killed and rerun.

Models: build/models/default (the demo model: slow enough, about 0.15 s an
image at 512x512, for a kill to land mid-run) and build/models/tiny_vit
(fast, for the rest). Images are synthetic PNGs written here. $IF_BUILD
names the build directory (default build/); skipped when the CLI or the
models are not built.
"""

import os
import re
import signal
import subprocess
import time

import numpy as np
import pytest

from cli_util import CLI, DEFAULT, TINY, cli_env, ok, require_built, run_cli
from cli_util import error as cli_error
from pngwrite import rgb_png

TMP_RE = re.compile(r"\.iff\.tmp-[A-Za-z0-9]{6}$")


@pytest.fixture(scope="module", autouse=True)
def built():
    require_built(CLI, TINY + ".encoder.ifg", DEFAULT + ".encoder.ifg")


def clean_env(extra=None):
    """Without $IF_MODEL and the SLURM_* variables (--shard slurm reads them)."""
    return cli_env(drop=("IF_MODEL", "SLURM_"), **(extra or {}))


def run(*args, env=None, cwd=None):
    return run_cli(args, clean_env(env), cwd)


def error(r, code, *needles):
    """The CLI's error contract (stdout may hold the run's progress lines)."""
    return cli_error(r, code, *needles, quiet=False)


def write_image(path, w, h, seed):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    rng = np.random.default_rng(seed)
    with open(path, "wb") as f:
        f.write(rgb_png(rng.integers(0, 256, (h, w, 3))))


def image_lines(stdout):
    """{name: outcome} from the per-image lines '[k/n] NAME: outcome'."""
    out = {}
    for line in stdout.splitlines():
        m = re.match(r"\[(\d+)/(\d+)\] (.*?): (encoded|skipped|FAILED)", line)
        if m:
            assert m.group(3) not in out, f"{m.group(3)} twice in one run:\n{stdout}"
            out[m.group(3)] = m.group(4)
    return out


def summary(stdout):
    """(encoded, skipped, failed) of the summary line (the last)."""
    last = stdout.splitlines()[-1]
    m = re.search(r"(\d+) encoded, (\d+) skipped \(up to date\), (\d+) failed", last)
    assert m, last
    return tuple(int(g) for g in m.groups())


def snapshot(folder):
    """{file: (inode, mtime_ns)} of a folder."""
    return {n: (os.stat(os.path.join(folder, n)).st_ino, os.stat(os.path.join(folder, n)).st_mtime_ns)
            for n in os.listdir(folder)}


def temp_files(folder):
    return sorted(n for n in os.listdir(folder) if TMP_RE.search(n))


def check_features(path, w, h):
    r = ok(run("info", path))
    assert f"image        {w}x{h}" in r.stdout, r.stdout


def make_list(root, n, size=512):
    """n images in two sub-folders, listed with relative paths, comments and blanks."""
    names = [f"{'a' if k % 2 else 'b'}/img{k:02d}.png" for k in range(n)]
    for k, name in enumerate(names):
        write_image(os.path.join(root, "data", name), size, size - 8 * (k % 3), seed=k)
    lst = os.path.join(root, "data", "list.txt")
    with open(lst, "w") as f:
        f.write("# the images\n\n")
        for k, name in enumerate(names):
            f.write(f"{name}\n" if k != 5 else f"  {name} \r\n")
    return lst, names


# ------------------------------------------------------------- sharding

def test_three_shards_at_once_one_killed_and_rerun(tmp_path):
    lst, names = make_list(str(tmp_path), 12)
    out = str(tmp_path / "features")
    stem = {n: os.path.splitext(os.path.basename(n))[0] for n in names}
    share = {i: [n for k, n in enumerate(names) if k % 3 == i] for i in range(3)}
    logs, procs = [], []
    for i in range(3):
        logs.append(open(tmp_path / f"shard{i}.log", "w+"))
        procs.append(subprocess.Popen([CLI, "encode", "--list", lst, "-o", out, "--shard", f"{i}/3",
                                       "--model", DEFAULT], stdout=logs[i], stderr=subprocess.STDOUT,
                                      env=clean_env()))
    # Shard 1 is killed as soon as its first feature file is in place.
    first = os.path.join(out, stem[share[1][0]] + ".iff")
    deadline = time.monotonic() + 120
    while not os.path.exists(first) and procs[1].poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    assert os.path.exists(first), "shard 1 wrote nothing"
    procs[1].send_signal(signal.SIGKILL)
    assert procs[1].wait(60) == -signal.SIGKILL
    for i in (0, 2):
        assert procs[i].wait(600) == 0
    outputs = []
    for f in logs:
        f.seek(0)
        outputs.append(f.read())
        f.close()
    for i in (0, 2):
        assert summary(outputs[i]) == (4, 0, 0), outputs[i]
    done1 = [n for n in share[1] if os.path.exists(os.path.join(out, stem[n] + ".iff"))]
    assert 1 <= len(done1) < 4, f"the kill did not land mid-run: {done1}\n{outputs[1]}"

    # What a SIGKILL during a save leaves: a temporary file of the killed
    # shard's (removed by its rerun) and one of another shard's (not its to
    # touch); and a feature file cut short (never taken as valid).
    missing = [n for n in share[1] if n not in done1]
    own_tmp = os.path.join(out, stem[missing[0]] + ".iff.tmp-Ab12Cd")
    other_tmp = os.path.join(out, stem[share[0][1]] + ".iff.tmp-Zz98Yx")
    for p in (own_tmp, other_tmp):
        with open(p, "wb") as f:
            f.write(b"IFFEAT\0\0partial")
    cut = os.path.join(out, stem[missing[-1]] + ".iff")
    with open(os.path.join(out, stem[share[0][0]] + ".iff"), "rb") as f:
        head = f.read(4096)
    with open(cut, "wb") as f:
        f.write(head)
    others = {n: v for n, v in snapshot(out).items() if n != os.path.basename(cut)}

    r = ok(run("encode", "--list", lst, "-o", out, "--shard", "1/3", "--model", DEFAULT))
    outputs.append(r.stdout)
    assert "removed 1 temporary file" in r.stdout
    assert not os.path.exists(own_tmp) and os.path.exists(other_tmp)
    lines = image_lines(r.stdout)
    assert all(lines[n] == "skipped" for n in done1), r.stdout
    assert all(lines[n] == "encoded" for n in missing), r.stdout
    assert "replaced: unreadable" in r.stdout
    assert summary(r.stdout) == (len(missing), len(done1), 0)
    now = snapshot(out)
    for n, v in others.items():  # nothing of another shard, nor a done file, was rewritten
        if n in now and not TMP_RE.search(n):
            assert now[n] == v, n

    # Every image encoded exactly once over the four runs (the killed run's
    # lines included), every file valid.
    counts = {n: sum(image_lines(o).get(n) == "encoded" for o in outputs) for n in names}
    assert all(c == 1 for c in counts.values()) or \
        all(c <= 1 for c in counts.values()) and sum(counts.values()) == 11, counts
    for k, n in enumerate(names):
        check_features(os.path.join(out, stem[n] + ".iff"), 512, 512 - 8 * (k % 3))

    # Shard 0's own leftover goes with its next run, which rewrites nothing.
    r = ok(run("encode", "--list", lst, "-o", out, "--shard", "0/3", "--model", DEFAULT))
    assert "removed 1 temporary file" in r.stdout and summary(r.stdout) == (0, 4, 0)
    assert temp_files(out) == []

    # A full rerun rewrites nothing and says so.
    before = snapshot(out)
    r = ok(run("encode", "--list", lst, "-o", out, "--model", DEFAULT))
    assert summary(r.stdout) == (0, 12, 0)
    assert "nothing to do" in r.stdout and "12 images" in r.stdout.splitlines()[-1]
    assert snapshot(out) == before
    assert sorted(os.listdir(out)) == sorted(stem[n] + ".iff" for n in names)


def test_sigterm_stops_after_the_file_being_written(tmp_path):
    lst, names = make_list(str(tmp_path), 8)
    out = str(tmp_path / "features")
    p = subprocess.Popen([CLI, "encode", "--list", lst, "-o", out, "--model", DEFAULT],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=clean_env())
    deadline = time.monotonic() + 120
    while not (os.path.isdir(out) and os.listdir(out)) and p.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    p.send_signal(signal.SIGTERM)
    stdout, _ = p.communicate(timeout=120)
    assert p.returncode == -signal.SIGTERM, stdout
    assert "stopped by SIGTERM" in stdout.splitlines()[-1]
    assert temp_files(out) == []
    n_done = len(os.listdir(out))
    assert 1 <= n_done < 8
    r = ok(run("encode", "--list", lst, "-o", out, "--model", DEFAULT))
    assert summary(r.stdout) == (8 - n_done, n_done, 0)


def test_slurm_form_of_shard(tmp_path):
    """--shard slurm: I and N from the job array's environment, whatever its ids."""
    lst, names = make_list(str(tmp_path), 7, size=64)
    for ids, step in (("0-2", 1), ("1-3", 1), ("10-14:2", 2)):
        lo = int(ids.split("-")[0])
        out = tmp_path / f"out{lo}"
        seen = []
        for rank in range(3):
            env = {"SLURM_ARRAY_TASK_ID": str(lo + rank * step), "SLURM_ARRAY_TASK_COUNT": "3",
                   "SLURM_ARRAY_TASK_MIN": str(lo), "SLURM_ARRAY_TASK_STEP": str(step)}
            r = ok(run("encode", "--list", lst, "-o", out, "--shard", "slurm", "--model", TINY, env=env))
            assert f"shard {rank}/3" in r.stdout.splitlines()[-1]
            got = list(image_lines(r.stdout))
            assert got == [n for k, n in enumerate(names) if k % 3 == rank]
            seen += got
        assert sorted(seen) == sorted(names)
    error(run("encode", "--list", lst, "-o", tmp_path / "o", "--shard", "slurm", "--model", TINY), 2,
          "SLURM_ARRAY_TASK_ID")
    error(run("encode", "--list", lst, "-o", tmp_path / "o", "--shard", "slurm", "--model", TINY,
              env={"SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_COUNT": "3"}), 2, "task 3")


@pytest.mark.parametrize("shard", ["3/3", "-1/3", "1/0", "0/0", "a/b", "1", "1/3/4", "+1/3", " 1/3",
                                   "1/", "/3", "99999999999/3"])
def test_bad_shard_is_a_usage_error(tmp_path, shard):
    lst, _ = make_list(str(tmp_path), 2, size=32)
    error(run("encode", "--list", lst, "-o", tmp_path / "o", "--shard", shard, "--model", TINY), 2,
          "--shard")
    assert not (tmp_path / "o").exists()


def test_usage_errors(tmp_path):
    lst, names = make_list(str(tmp_path), 2, size=32)
    img = os.path.join(str(tmp_path), "data", names[0])
    error(run("encode", img, "-o", tmp_path / "x.iff", "--shard", "0/2", "--model", TINY), 2, "--shard")
    error(run("encode", "--list", lst, img, "-o", tmp_path / "o", "--model", TINY), 2, "not both")
    error(run("encode", "--list", lst, "--model", TINY), 2, "-o OUTDIR")
    error(run("encode", "--list", tmp_path / "nope.txt", "-o", tmp_path / "o", "--model", TINY), 1,
          "nope.txt")
    (tmp_path / "empty.txt").write_text("# nothing\n\n")
    error(run("encode", "--list", tmp_path / "empty.txt", "-o", tmp_path / "o", "--model", TINY), 1,
          "no image")
    (tmp_path / "file").write_text("")
    error(run("encode", "--list", lst, "-o", tmp_path / "file", "--model", TINY), 1, "not a folder")


# --------------------------------------------------------------- inputs

def test_folder_input(tmp_path):
    d = tmp_path / "imgs"
    write_image(str(d / "b.png"), 40, 30, seed=1)
    write_image(str(d / "a.PNG"), 33, 50, seed=2)
    (d / "c.bmp").write_bytes(b"not a bmp")
    # Not taken: other files, hidden files, a folder named like an image.
    (d / "notes.txt").write_text("x")
    write_image(str(d / ".hidden.png"), 8, 8, seed=3)
    os.makedirs(d / "sub.png")
    out = tmp_path / "out" / "deeper"
    r = run("encode", d, "-o", out, "--model", TINY)
    error(r, 1, "1 of 3 images failed", "c.bmp")
    assert [l.split(": ")[0] for l in r.stdout.splitlines()[:-1]] == ["[1/3] a.PNG", "[2/3] b.png",
                                                                       "[3/3] c.bmp"]
    assert "FAILED: not an image" in r.stdout
    assert sorted(os.listdir(out)) == ["a.iff", "b.iff"]
    check_features(str(out / "a.iff"), 33, 50)
    # The features may go next to the images: .iff is not an image.
    ok(run("encode", d, "-o", d, "--shard", "1/2", "--model", TINY))
    assert (d / "b.iff").exists() and not (d / "a.iff").exists()


def test_duplicate_stems_are_refused(tmp_path):
    for n in ("a/x.jpg", "b/x.png", "c/y.png"):
        write_image(str(tmp_path / n), 16, 16, seed=0)
    lst = tmp_path / "list.txt"
    lst.write_text("c/y.png\na/x.jpg\n# b/x.jpg\nb/x.png\n")
    out = tmp_path / "out"
    line = error(run("encode", "--list", lst, "-o", out, "--model", TINY), 1,
                 "line 2 (a/x.jpg)", "line 4 (b/x.png)", "'x'")
    assert "x.iff" in line
    assert not out.exists()  # refused before anything was made
    # The same image twice is the same conflict.
    lst.write_text("c/y.png\nc/y.png\n")
    error(run("encode", "--list", lst, "-o", out, "--model", TINY), 1, "line 1 (c/y.png)", "line 2")
    # Also in a folder: x.png and x.bmp.
    write_image(str(tmp_path / "a" / "x.png"), 16, 16, seed=1)
    error(run("encode", tmp_path / "a", "-o", out, "--model", TINY), 1, "x.jpg and x.png")


def test_broken_images_do_not_stop_the_others(tmp_path):
    lst, names = make_list(str(tmp_path), 5, size=48)
    data = os.path.join(str(tmp_path), "data")
    with open(os.path.join(data, "broken.png"), "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    with open(lst, "a") as f:
        f.write("broken.png\n" + os.path.join(data, "missing.png") + "\n")
    out = tmp_path / "out"
    r = run("encode", "--list", lst, "-o", out, "--model", TINY)
    error(r, 1, "2 of 7 images failed", "broken.png")
    assert summary(r.stdout) == (5, 0, 2)
    assert "(broken.png, " in r.stdout.splitlines()[-1] and "missing.png" in r.stdout.splitlines()[-1]
    assert "missing.png: FAILED: cannot open" in r.stdout
    assert len(os.listdir(out)) == 5
    r = run("encode", "--list", lst, "-o", out, "--model", TINY)
    assert r.returncode == 1 and summary(r.stdout) == (0, 5, 2)


def test_what_up_to_date_means(tmp_path):
    """Same model identity and working size; anything else is replaced."""
    d = tmp_path / "imgs"
    write_image(str(d / "odd.png"), 130, 97, seed=3)
    write_image(str(d / "tall.png"), 41, 200, seed=4)
    out = tmp_path / "out"
    r = ok(run("encode", d, "-o", out, "--model", TINY, "--max-side", "64"))
    assert "encoded 130x97 (as 64x48)" in r.stdout and "encoded 41x200 (as 13x64)" in r.stdout
    # The CLI's working size rule is the library's: a rerun skips both.
    r = ok(run("encode", d, "-o", out, "--model", TINY, "--max-side", "64", "--f16"))
    assert summary(r.stdout) == (0, 2, 0)
    r = ok(run("encode", d, "-o", out, "--model", TINY, "--max-side", "0"))
    assert r.stdout.count("replaced: encoded at") == 2 and summary(r.stdout) == (2, 0, 0)
    r = ok(run("encode", d, "-o", out, "--model", DEFAULT, "--max-side", "0"))
    assert r.stdout.count("replaced: made by another model") == 2
    write_image(str(d / "odd.png"), 131, 97, seed=3)  # the image changed size
    r = ok(run("encode", d, "-o", out, "--model", DEFAULT, "--max-side", "0"))
    assert "replaced: of a 130x97 image" in r.stdout and summary(r.stdout) == (1, 1, 0)

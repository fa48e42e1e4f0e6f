"""The README's shell tour, run line for line against a fresh mount (its
own data directory and mount point in place of /var/lib/recordfs and
/mnt/db), each command's output compared with what the README prints
(times and bash's line numbers aside).  It ends unmounted, the daemon
gone."""
import os
import re
import subprocess
import time

from conftest import ADMIN, BIN

README = os.path.join(os.path.dirname(__file__), "..", "..", "README.md")


def tour():
    """[(command, expected output)] of the README's tour block."""
    text = open(README).read()
    block = text.split("## A shell tour\n", 1)[1].split("\n### ", 1)[0]
    steps = []
    for line in block.splitlines():
        if not line.startswith("    "):
            continue
        line = line[4:]
        if line.startswith("$ "):
            steps.append([line[2:], ""])
        elif steps:
            steps[-1][1] += line + "\n"
    return steps


def same_shape(text):
    """What may differ from run to run: times, bash's line numbers."""
    text = re.sub(r"\b\d{13}\b", "<ms>", text)
    text = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "<time>", text)
    return re.sub(r"bash: line \d+: ", "bash: ", text)


def test_readme_tour(tmp_path):
    steps = tour()
    assert len(steps) > 20
    data, mnt, backup = tmp_path / "data", tmp_path / "mnt", "/tmp/backup"
    assert not os.path.exists(backup), "the tour's backup/ is in the way"
    script = []
    for i, (cmd, _) in enumerate(steps):
        cmd = cmd.replace("/var/lib/recordfs", str(data)).replace(
            "/mnt/db", str(mnt))
        cmd = re.sub(r"^recordfs ", BIN + " ", cmd)
        script.append("echo '@@@%d'\n%s" % (i, cmd))
    env = {**os.environ, "PATH": os.path.dirname(ADMIN) + ":" +
           os.environ["PATH"]}
    try:
        out = subprocess.run(["bash", "-c", "\n".join(script) + "\n"],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True, cwd="/tmp", env=env,
                             timeout=120).stdout
    finally:
        if os.path.ismount(mnt):
            subprocess.run(["umount", "-l", str(mnt)])
    parts = re.split(r"^@@@(\d+)\n", out, flags=re.M)
    got = {int(parts[j]): parts[j + 1] for j in range(1, len(parts), 2)}
    for i, (cmd, want) in enumerate(steps):
        assert same_shape(got.get(i, "<not run>")) == same_shape(want), \
            "README tour, step %d: %s" % (i + 1, cmd)
    assert not os.path.ismount(mnt)
    # the daemon unmounted cleanly and is gone
    for _ in range(200):
        if not subprocess.run(["pgrep", "-f", str(data)],
                              capture_output=True).stdout:
            break
        time.sleep(0.05)
    else:
        raise AssertionError("the tour's daemon did not exit")
    r = subprocess.run([ADMIN, "check", str(data)], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_demo_twice_ends_mounted(tmp_path):
    """The README's first command, run twice (mounted the second time):
    each run ends with the demo mounted by a daemon that serves it, and
    recordfs on the PATH."""
    root = os.path.join(os.path.dirname(README))
    env = {**os.environ, "RECORDFS_DEMO_MNT": str(tmp_path / "mnt"),
           "RECORDFS_DEMO_DATA": str(tmp_path / "data")}
    try:
        for _ in range(2):
            r = subprocess.run([os.path.join(root, "mount-helpers", "demo")],
                               capture_output=True, text=True, env=env,
                               timeout=600)
            assert r.returncode == 0, r.stdout + r.stderr
            assert os.path.ismount(tmp_path / "mnt")
            assert sorted(os.listdir(tmp_path / "mnt" / "pets" / "dog")) \
                == ["1.json", "2.json", "Zelda.json"]
        r = subprocess.run(["bash", "-c", "cd / && recordfs --version"],
                           capture_output=True, text=True)
        assert r.stdout.startswith("recordfs ")
    finally:
        subprocess.run(["umount", str(tmp_path / "mnt")])
    for _ in range(200):
        if not subprocess.run(["pgrep", "-f", str(tmp_path / "data")],
                              capture_output=True).stdout:
            break
        time.sleep(0.05)
    else:
        raise AssertionError("the demo's daemon did not exit")


def test_install_waits_for_another_apt():
    """tests/install-deps (which the README's commands run first) waits
    for another apt or dpkg that holds the lock, rather than fail."""
    import fcntl
    import threading
    root = os.path.join(os.path.dirname(README))
    lock = "/var/lib/dpkg/lock-frontend"
    if not os.path.exists(lock):
        open(lock, "a").close()
    fd = os.open(lock, os.O_RDWR)
    fcntl.lockf(fd, fcntl.LOCK_EX)  # as apt and dpkg take it (fcntl)
    held = 4.0
    t = threading.Timer(held, lambda: os.close(fd))
    t0 = time.monotonic()
    t.start()
    try:
        r = subprocess.run(["sh", os.path.join(root, "tests",
                                               "install-deps")],
                           capture_output=True, text=True, timeout=900)
    finally:
        t.join()
    assert r.returncode == 0, r.stdout + r.stderr
    assert time.monotonic() - t0 >= held

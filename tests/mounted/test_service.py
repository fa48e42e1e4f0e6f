"""recordfs as a service (issue 18): its version alone, a read-only mount
that hands out no keys, and the daemon's log where people look: a file
with -o log=FILE, syslog in the background, standard error with -f; and
READY=1 told to systemd (Type=notify) once the mount is made."""
import errno
import os
import re
import socket
import subprocess
import threading
import time

import pytest

from conftest import BIN, Mount


def version():
    root = os.path.join(os.path.dirname(__file__), "..", "..")
    with open(os.path.join(root, "meson.build")) as f:
        return re.search(r"version : '([^']+)'", f.read()).group(1)


def test_version_is_recordfs_alone():
    for flag in ("--version", "-V"):
        r = subprocess.run([BIN, flag], capture_output=True, text=True)
        assert r.returncode == 0
        assert r.stdout == "recordfs %s\n" % version()
        assert r.stderr == ""


def test_read_only_mount_hands_out_no_key(mnt):
    mnt.sh("mkdir data/dog")
    mnt.sh("""echo '{"n":1}' > data/dog/1.json""")
    mnt.restart(["-o", "ro"])
    r = mnt.sh("cat data/dog/.next", check=False)
    assert r.returncode != 0 and "Read-only file system" in r.stderr
    assert "data/dog/.next: the mount is read-only (-o ro)" in mnt.errors()
    r = mnt.sh("""echo '{"n":2}' > data/dog/2.json""", check=False)
    assert r.returncode != 0 and "Read-only file system" in r.stderr
    assert mnt.sh("cat data/dog/1.json").stdout.count('"n": 1') == 1
    # nothing was used up: the next key after a remount is 2
    mnt.restart([])
    assert mnt.sh("cat data/dog/.next").stdout == "2\n"


def background(tmp_path, opts):
    """Mount without -f: the command returns once the daemon serves;
    returns the mount point and the daemon's pid."""
    data, mp = tmp_path / "data", tmp_path / "mnt"
    mp.mkdir()
    r = subprocess.run([BIN, *opts, str(data), str(mp)], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert os.path.ismount(mp)
    pid = int(subprocess.run(["pgrep", "-f", "^%s .*%s" % (BIN, mp)],
                             capture_output=True, text=True).stdout.split()[0])
    return mp, pid


def unmount(mp, pid):
    subprocess.run(["fusermount3", "-u", str(mp)], check=True)
    for _ in range(600):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    os.kill(pid, 9)
    raise AssertionError("the daemon did not exit after unmount")


def write_a_bad_record(mp):
    """data/dog/1.json written "bad": refused, so the daemon logs it."""
    os.mkdir(mp / "data" / "dog")
    with pytest.raises(OSError):
        with open(mp / "data" / "dog" / "1.json", "w") as f:
            f.write("bad")


def test_log_file_in_the_background(tmp_path):
    log = tmp_path / "recordfs.log"
    mp, pid = background(tmp_path, ["-o", "log=%s" % log])
    try:
        write_a_bad_record(mp)
    finally:
        unmount(mp, pid)
    text = log.read_text()
    assert re.search(r"^\d{4}-\d\d-\d\dT[\d:]+Z recordfs\[%d\]: "
                     r"data/dog/1.json: bad JSON" % pid, text, re.M), text
    # a log file that cannot be opened is said at once, nothing mounted
    r = subprocess.run([BIN, "-o", "log=/nonexistent/dir/x.log",
                        str(tmp_path / "data"), str(mp)],
                       capture_output=True, text=True)
    assert r.returncode != 0
    assert "log=/nonexistent/dir/x.log: No such file or directory" in r.stderr
    assert not os.path.ismount(mp)


def test_syslog_in_the_background(tmp_path):
    """Without -f and -o log=, the log goes to syslog: the test stands in
    for the syslog daemon on /dev/log when the machine runs none."""
    if os.path.exists("/dev/log"):
        pytest.skip("a syslog daemon owns /dev/log here")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind("/dev/log")
    try:
        mp, pid = background(tmp_path, [])
        try:
            write_a_bad_record(mp)
        finally:
            unmount(mp, pid)
        s.settimeout(5)
        got = []
        while not any(b"bad JSON" in g for g in got):
            got.append(s.recv(65536))
        line = [g for g in got if b"bad JSON" in g][0].decode()
        # <facility*8+priority>: daemon (3) notice (5) = 29
        assert line.startswith("<29>"), line
        assert "recordfs[%d]: data/dog/1.json: bad JSON" % pid in line
    finally:
        s.close()
        os.unlink("/dev/log")


def test_a_word_is_not_taken_for_null(mnt):
    """A text that begins with a letter is refused as what it is, not
    named after the JSON literal its first letter may begin."""
    mnt.sh("mkdir data/dog")
    for text, ch in (("not json", "n"), ("nul", "n"), ("tru", "t"),
                     ("fals", "f")):
        r = mnt.sh("echo '%s' > data/dog/1.json" % text, check=False)
        assert r.returncode != 0
        assert mnt.errors().splitlines()[-1].endswith(
            "data/dog/1.json: bad JSON at byte 1: a record is a JSON object;"
            " found '%s'" % ch), mnt.errors()
    assert not os.path.exists(mnt.p("data", "dog", "1.json"))


def test_foreground_logs_to_standard_error(mnt):
    mnt.sh("mkdir data/dog")
    mnt.sh("echo x > data/dog/1.json", check=False)
    assert "recordfs: data/dog/1.json: bad JSON" in mnt.log()


@pytest.mark.parametrize("abstract", [False, True])
def test_ready_is_told_once_the_mount_is_made(tmp_path, abstract):
    """Type=notify: READY=1 reaches NOTIFY_SOCKET only when the mount
    serves, and STOPPING=1 after the unmount."""
    name = str(tmp_path / "notify") if not abstract else \
        "@recordfs-test-%d" % os.getpid()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(name if not abstract else "\0" + name[1:])
    sock.settimeout(20)
    got = []

    def listen():
        for _ in range(2):
            try:
                msg = sock.recv(4096).decode()
            except OSError:
                return
            # what a unit ordered after this one would do at once
            got.append((msg, os.path.ismount(str(tmp_path / "mnt")) and
                        os.listdir(str(tmp_path / "mnt")) == ["data"]))

    t = threading.Thread(target=listen)
    t.start()
    m = Mount(tmp_path)
    try:
        m.start(env={"NOTIFY_SOCKET": name})
        m.sh("mkdir data/dog && echo '{}' > data/dog/1.json")
    finally:
        m.stop()
    t.join(20)
    sock.close()
    assert got == [("READY=1", True), ("STOPPING=1", False)], got
    assert "cannot tell the service manager" not in m.log()


def test_no_socket_no_word(mnt):
    # without NOTIFY_SOCKET (as from a shell) the daemon tells nobody,
    # and a socket that went away costs a line in the log, nothing more
    mnt.restart(env={"NOTIFY_SOCKET": str(mnt.tmp / "gone")})
    mnt.sh("mkdir data/dog")
    assert "cannot tell the service manager READY=1" in mnt.log()

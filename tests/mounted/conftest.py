"""Mounted tests: each test mounts a fresh data directory with the real
daemon in the foreground, drives it with real tools, and on every exit
unmounts and checks that the daemon exited 0 with a clean log (no
sanitizer report), so no test leaks a mount."""
import contextlib
import os
import subprocess
import threading
import time

import pytest

BIN = os.environ.get("RECORDFS_BIN", os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "fs", "recordfs"))

ADMIN = os.environ.get("RECORDFS_ADMIN", os.path.join(
    os.path.dirname(BIN), "..", "mount-helpers", "recordfs-admin"))

BAD_LOG = ("AddressSanitizer", "LeakSanitizer", "UndefinedBehaviorSanitizer",
           "runtime error:", "Segmentation fault")


class Mount:
    def __init__(self, tmp, opts=()):
        self.tmp = tmp
        self.datadir = str(tmp / "datadir")
        self.path = str(tmp / "mnt")
        self.opts = list(opts)
        self.proc = None
        self.logs = []
        os.makedirs(self.path, exist_ok=True)

    # -- lifecycle -------------------------------------------------------
    def start(self, opts=None, env=None):
        """Mount; env adds variables to the daemon's environment."""
        if opts is not None:
            self.opts = list(opts)
        log = str(self.tmp / f"daemon{len(self.logs)}.log")
        self.logs.append(log)
        self.logf = open(log, "w")
        self.proc = subprocess.Popen([BIN, "-f", *self.opts, self.datadir,
                                      self.path], stdout=self.logf,
                                     stderr=subprocess.STDOUT,
                                     env={**os.environ, **(env or {})})
        deadline = time.time() + 20
        while not os.path.ismount(self.path):
            if self.proc.poll() is not None:
                raise AssertionError("daemon exited %d before mounting:\n%s"
                                     % (self.proc.returncode, self.log()))
            if time.time() > deadline:
                self.proc.kill()
                raise AssertionError("mount did not appear")
            time.sleep(0.02)
        return self

    def stop(self):
        """Unmount cleanly; the daemon must exit 0 with a clean log."""
        if self.proc is None:
            return
        subprocess.run(["fusermount3", "-u", self.path], check=False)
        try:
            rc = self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            subprocess.run(["fusermount3", "-u", "-z", self.path])
            self.proc.wait()
            raise AssertionError("daemon did not exit after unmount")
        finally:
            self.proc = None
            self.logf.close()
        log = self.log()
        assert rc == 0, "daemon exited %d:\n%s" % (rc, log)
        for bad in BAD_LOG:
            assert bad not in log, log
        self.check()

    def check(self):
        """Every index entry points at a record that holds that value, and
        every record value has its entry."""
        if not os.path.isdir(self.datadir):
            return
        r = subprocess.run([ADMIN, "check", self.datadir],
                           capture_output=True, text=True)
        assert r.returncode == 0, "index check failed:\n" + r.stdout + r.stderr

    def kill9(self):
        """Kill the daemon as a crash would (unless it has died already),
        and drop the dead mount; the indexes must still match the records."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.proc = None
        self.logf.close()
        subprocess.run(["fusermount3", "-u", "-z", self.path], check=False)
        self.check()

    def restart(self, opts=None, env=None):
        self.stop()
        return self.start(opts, env)

    def log(self):
        out = ""
        for name in self.logs:
            with open(name, errors="replace") as f:
                out += f.read()
        return out

    # -- helpers ---------------------------------------------------------
    def p(self, *parts):
        return os.path.join(self.path, *parts)

    def sh(self, cmd, check=True, input=None):
        """Run a shell command in the mount; return CompletedProcess."""
        r = subprocess.run(["bash", "-c", cmd], cwd=self.path,
                           capture_output=True, text=True, input=input)
        if check and r.returncode != 0:
            raise AssertionError("%s: exit %d\nstdout: %s\nstderr: %s"
                                 % (cmd, r.returncode, r.stdout, r.stderr))
        return r

    def read(self, *parts):
        with open(self.p(*parts), "rb") as f:
            return f.read()

    def write_close(self, body, *parts, flags=os.O_WRONLY | os.O_TRUNC):
        """Open parts, write body and close: the errno the close gives, or
        0.  A record's body can be refused at close only."""
        fd = os.open(self.p(*parts), flags)
        os.write(fd, body)
        try:
            os.close(fd)
        except OSError as e:
            return e.errno
        return 0

    def errors(self):
        with open(self.p(".recordfs", "errors")) as f:
            return f.read()


@pytest.fixture
def mnt(tmp_path):
    m = Mount(tmp_path)
    m.start()
    try:
        yield m
    finally:
        if m.proc is not None:
            m.stop()
        else:
            subprocess.run(["fusermount3", "-u", "-z", m.path],
                           check=False, capture_output=True)


@contextlib.contextmanager
def tmpfs_datadir(m, size):
    """m's data directory on a tmpfs of its own, of size ("4m"); the test
    is skipped when one cannot be mounted.  Unmounted at the end."""
    os.makedirs(m.datadir)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=" + size,
                        "tmpfs", m.datadir], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip("cannot mount a small tmpfs: " + r.stderr)
    try:
        yield m
    finally:
        subprocess.run(["umount", m.datadir])


@pytest.fixture
def small(tmp_path):
    """A mount whose data directory is on a 64 MiB tmpfs of its own."""
    if os.getuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    fs = tmp_path / "fs"
    fs.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs",
                    str(fs)], check=True)
    m = Mount(fs)
    try:
        m.start()
        yield m
    finally:
        if m.proc is not None:
            m.stop()
        subprocess.run(["umount", "-l", str(fs)], check=False)


def rss_kib(pid, field):
    """A field of /proc/PID/status in KiB (RssAnon, RssFile, VmHWM)."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


class AnonPeak:
    """The daemon's anonymous resident size (heap and stacks, not the
    LMDB map's page cache) sampled every 5 ms while the with-block runs:
    .base before it, .peak the most seen (KiB)."""

    def __init__(self, pid):
        self.pid = pid
        self.base = self.peak = rss_kib(pid, "RssAnon")
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._sample)

    def _sample(self):
        while not self.done.is_set():
            self.peak = max(self.peak, rss_kib(self.pid, "RssAnon"))
            self.done.wait(0.005)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.done.set()
        self.thread.join()
        return False

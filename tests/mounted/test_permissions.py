"""Modes, owners, groups and times are kept (issue 15): chmod, chown,
touch, the create mode under the umask, and cp -a, rsync -a and tar x as
root restore them; they survive a remount and a rewrite."""
import json
import os
import stat

import pytest


def st(mnt, *parts):
    return os.stat(mnt.p(*parts))


def test_modes_owners_times_are_kept(mnt):
    mnt.sh("umask 027 && mkdir data/t && echo '{}' > data/t/1.json"
           " && echo x > data/t/s.txt && install -m 600 /dev/null "
           "data/t/2.json")
    assert stat.S_IMODE(st(mnt, "data", "t").st_mode) == 0o750
    assert stat.S_IMODE(st(mnt, "data", "t", "1.json").st_mode) == 0o640
    assert stat.S_IMODE(st(mnt, "data", "t", "s.txt").st_mode) == 0o640
    assert stat.S_IMODE(st(mnt, "data", "t", "2.json").st_mode) == 0o600
    mnt.sh("chmod 604 data/t/1.json && chown 1000:100 data/t/1.json"
           " && chmod 711 data/t && chown 1001:101 data/t/s.txt")
    before = st(mnt, "data", "t", "1.json")
    # utimensat: the times given are kept, ctime is now and never earlier
    os.utime(mnt.p("data", "t", "1.json"), ns=(10**18, 2 * 10**18))
    s = st(mnt, "data", "t", "1.json")
    assert (s.st_atime_ns, s.st_mtime_ns) == (10**18, 2 * 10**18)
    assert s.st_ctime_ns >= before.st_ctime_ns
    mnt.restart()
    s = st(mnt, "data", "t", "1.json")
    assert stat.S_IMODE(s.st_mode) == 0o604
    assert (s.st_uid, s.st_gid) == (1000, 100)
    assert (s.st_atime_ns, s.st_mtime_ns) == (10**18, 2 * 10**18)
    assert stat.S_IMODE(st(mnt, "data", "t").st_mode) == 0o711
    assert (st(mnt, "data", "t", "s.txt").st_uid,
            st(mnt, "data", "t", "s.txt").st_gid) == (1001, 101)
    # a rewrite keeps mode and owner, and moves ctime
    c0 = s.st_ctime_ns
    mnt.sh("""echo '{"a":1}' > data/t/1.json""")
    s = st(mnt, "data", "t", "1.json")
    assert stat.S_IMODE(s.st_mode) == 0o604 and s.st_uid == 1000
    assert s.st_ctime_ns > c0
    # chmod moves ctime too
    c0 = s.st_ctime_ns
    os.chmod(mnt.p("data", "t", "1.json"), 0o644)
    assert st(mnt, "data", "t", "1.json").st_ctime_ns > c0


def test_record_removed_before_its_commit_keeps_its_mode(mnt):
    """fstat of a record created 0600 and removed before its first write
    shows the mode and owner it was created with, not a default."""
    mnt.sh("mkdir data/t")
    path = mnt.p("data", "t", "1.json")
    old = os.umask(0)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    finally:
        os.umask(old)
    try:
        os.fchown(fd, 1000, 100)
        os.unlink(path)
        s = os.fstat(fd)
        assert stat.S_IMODE(s.st_mode) == 0o600
        assert (s.st_uid, s.st_gid) == (1000, 100)
        assert s.st_nlink == 0 and s.st_mtime_ns > 0 and s.st_ctime_ns > 0
    finally:
        os.close(fd)
    assert not os.path.exists(path)


def test_editors_file_becomes_the_record_with_its_mode(mnt):
    """sed -i and vim write a temporary file with the record's mode and
    rename it onto the record: the record has that mode."""
    mnt.sh("mkdir data/t && echo '{\"a\":1}' > data/t/1.json"
           " && chmod 600 data/t/1.json"
           " && sed -i 's/\"a\": 1/\"a\": 2/' data/t/1.json")
    assert json.loads(mnt.read("data", "t", "1.json"))["a"] == 2
    assert stat.S_IMODE(st(mnt, "data", "t", "1.json").st_mode) == 0o600


def test_copies_restore_modes_and_owners(mnt, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "1.json").write_text('{"n":1}')
    (src / "notes.txt").write_text("x")
    os.chmod(src / "1.json", 0o640)
    os.chown(src / "1.json", 1000, 100)
    os.chmod(src / "notes.txt", 0o600)
    os.utime(src / "1.json", (1500000000, 1600000000))
    mnt.sh("mkdir data/a data/r data/x")
    mnt.sh("cp -a %s/. data/a/ && rsync -a %s/ data/r/ && "
           "tar -C %s -cf - . | tar -C data/x --same-owner -xf -"
           % (src, src, src))
    for t in "arx":
        s = st(mnt, "data", t, "1.json")
        assert stat.S_IMODE(s.st_mode) == 0o640, t
        assert (s.st_uid, s.st_gid) == (1000, 100), t
        assert s.st_mtime == 1600000000, t
        assert stat.S_IMODE(st(mnt, "data", t, "notes.txt").st_mode) == \
            0o600, t


USER = "recordfs-test"


@pytest.fixture
def other(tmp_path):
    """A mount with -o allow_other, and an unprivileged user the test
    makes (useradd) to use it."""
    import pwd
    import subprocess
    from conftest import Mount
    if os.getuid() != 0:
        pytest.skip("making a user needs root")
    try:
        pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home",
                        "--shell", "/usr/sbin/nologin", USER], check=True)
    os.chmod(str(tmp_path), 0o755)  # the mount point's parents
    m = Mount(tmp_path, ["-o", "allow_other"])
    m.start()
    try:
        yield m
    finally:
        if m.proc is not None:
            m.stop()


def as_user(mnt, cmd):
    """Run a shell command in the mount as the unprivileged user."""
    import pwd
    import subprocess
    pw = pwd.getpwnam(USER)
    return subprocess.run(
        ["setpriv", "--reuid=%d" % pw.pw_uid, "--regid=%d" % pw.pw_gid,
         "--clear-groups", "bash", "-c", "umask 022; " + cmd],
        cwd=mnt.path, capture_output=True, text=True)


def test_other_users_are_held_to_the_modes(other):
    import pwd
    pw = pwd.getpwnam(USER)
    other.sh("mkdir data/t && echo '{\"a\":1}' > data/t/1.json")
    # reading is as the modes say; changing is not theirs
    assert json.loads(as_user(other, "cat data/t/1.json").stdout)["a"] == 1
    for cmd in ["echo '{}' > data/t/1.json", "echo '{}' > data/t/2.json",
                "rm data/t/1.json", "mv data/t/1.json data/t/3.json",
                "cat data/t/.next", "echo x > data/t/s.txt",
                "cat /dev/null > data/schema.graphql",
                "cat .recordfs/errors", "mkdir data/u", "mkdir pets",
                "chmod 777 data/t/1.json"]:
        r = as_user(other, cmd)
        assert r.returncode != 0, cmd
        assert "ermission denied" in r.stderr or \
            "Operation not permitted" in r.stderr, (cmd, r.stderr)
    assert sorted(os.listdir(other.p("data", "t"))) == ["1.json"]
    assert json.loads(other.read("data", "t", "1.json"))["a"] == 1
    # a table the user owns is the user's to fill; records made there
    # are the user's, under the umask
    other.sh("chown %d:%d data/t" % (pw.pw_uid, pw.pw_gid))
    r = as_user(other, "echo '{\"b\":2}' > data/t/2.json && "
                "k=$(cat data/t/.next) && echo '{}' > data/t/$k.json && "
                "rm data/t/1.json")
    assert r.returncode == 0, r.stderr
    s = os.stat(other.p("data", "t", "2.json"))
    assert (s.st_uid, s.st_gid) == (pw.pw_uid, pw.pw_gid)
    assert stat.S_IMODE(s.st_mode) == 0o644
    assert "1.json" not in os.listdir(other.p("data", "t"))


def test_status_is_the_owners_unless_public(tmp_path):
    from conftest import Mount
    m = Mount(tmp_path, ["-o", "status=public"])
    m.start()
    try:
        assert stat.S_IMODE(os.stat(m.p(".recordfs")).st_mode) == 0o755
        assert stat.S_IMODE(
            os.stat(m.p(".recordfs", "errors")).st_mode) == 0o444
        m.restart(["-o", "status=owner"])
        assert stat.S_IMODE(os.stat(m.p(".recordfs")).st_mode) == 0o700
    finally:
        m.stop()


def test_directory_times_follow_their_names(mnt):
    """A directory's mtime and ctime move when a name in it comes or goes
    (tables, databases, the root), and persist across mounts."""
    import time
    mnt.sh("mkdir data/t")
    for cmd, d in [("echo '{}' > data/t/1.json", ("data", "t")),
                   ("mv data/t/1.json data/t/2.json", ("data", "t")),
                   ("echo x > data/t/s.txt && rm data/t/s.txt",
                    ("data", "t")),
                   ("mkdir data/u", ("data",)),
                   ("echo y > data/beside.txt", ("data",)),
                   ("mkdir pets", ())]:
        before = st(mnt, *d)
        time.sleep(0.01)
        mnt.sh(cmd)
        after = st(mnt, *d)
        assert after.st_mtime_ns > before.st_mtime_ns, cmd
        assert after.st_ctime_ns > before.st_ctime_ns, cmd
    t = st(mnt, "data", "t").st_mtime_ns
    db = st(mnt, "data").st_mtime_ns
    mnt.restart()
    assert st(mnt, "data", "t").st_mtime_ns == t
    assert st(mnt, "data").st_mtime_ns == db

"""Modes, owners, groups and times are kept (issue 15): chmod, chown,
touch, the create mode under the umask, and cp -a, rsync -a and tar x as
root restore them; they survive a remount and a rewrite."""
import json
import os
import stat


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

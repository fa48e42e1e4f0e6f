"""Durability, concurrency and scale."""
import errno
import json
import os
import subprocess
import threading

import pytest

from conftest import AnonPeak, rss_kib

MKDB = os.environ.get("RECORDFS_MKDB", os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "tests", "mkdb"))
BIG = int(os.environ.get("RECORDFS_BIG", "1000000"))


def test_closed_write_survives_kill9(mnt):
    mnt.sh("mkdir data/dog")
    for i in range(20):
        mnt.sh("""echo '{"n":%d}' > data/dog/%d.json""" % (i, i))
    mnt.sh("printf 'swap' > data/dog/.1.json.swp")
    # a record still open for writing when the daemon dies is not there
    f = open(mnt.p("data", "dog", "99.json"), "w")
    f.write('{"n":99}')
    f.flush()
    mnt.kill9()
    try:
        f.close()
    except OSError:
        pass
    mnt.start()
    names = sorted(os.listdir(mnt.p("data", "dog")))
    assert names == sorted([".1.json.swp"] + ["%d.json" % i for i in range(20)])
    for i in range(20):
        assert json.loads(mnt.read("data", "dog", "%d.json" % i))["n"] == i
    assert mnt.read("data", "dog", ".1.json.swp") == b"swap"


CRASH = {"RECORDFS_CRASH_AFTER_ANSWER": "1"}


def crash_after(mnt, cmd):
    """Run cmd on a daemon that kills itself (SIGKILL) right after it
    answers a close or an unlink it has not stored yet; cmd must succeed."""
    mnt.restart(env=CRASH)
    mnt.sh(cmd)
    assert mnt.proc.wait(timeout=20) == -9, "the daemon did not stop"
    mnt.kill9()
    mnt.start()


def test_answered_before_stored_survives_kill9(mnt):
    # A close or an rm is answered before the record's B-trees are
    # written; a crash right then loses neither: the next start stores
    # the change from the intent slot, with its index entries.
    mnt.sh("""mkdir data/dog && echo '{"name":"Rex","breed":"Pug"}' \
              > data/dog/1.json""")
    old = json.loads(mnt.read("data", "dog", "1.json"))

    # a rewrite: the new text, the old creation time, the index moved
    crash_after(mnt, """echo '{"name":"Rex","breed":"Lab"}' > data/dog/1.json""")
    new = json.loads(mnt.read("data", "dog", "1.json"))
    assert new["breed"] == "Lab"
    assert new["__createdtime__"] == old["__createdtime__"]
    assert new["__updatedtime__"] >= old["__updatedtime__"]
    assert os.listdir(mnt.p("data", "dog", ".by", "breed")) == ["Lab"]
    assert "dog/1.json: its close, answered before the daemon stopped, " \
        "is stored now" in mnt.log()

    # a create: the record and its inode number, never handed out again
    crash_after(mnt, """echo '{"name":"Ace","breed":"Pug"}' > data/dog/2.json""")
    assert json.loads(mnt.read("data", "dog", "2.json"))["name"] == "Ace"
    assert sorted(os.listdir(mnt.p("data", "dog", ".by", "breed"))) == \
        ["Lab", "Pug"]
    mnt.sh("""echo '{"name":"Bo"}' > data/dog/3.json""")
    inos = {os.stat(mnt.p("data", "dog", "%d.json" % i)).st_ino
            for i in (1, 2, 3)}
    assert len(inos) == 3

    # an rm: gone, from the table and from the index
    crash_after(mnt, "rm data/dog/2.json")
    assert sorted(os.listdir(mnt.p("data", "dog"))) == ["1.json", "3.json"]
    assert os.listdir(mnt.p("data", "dog", ".by", "breed")) == ["Lab"]
    assert "dog/2.json: its unlink, answered before the daemon stopped, " \
        "is stored now" in mnt.log()


def test_batch_of_answered_changes_survives_kill9(mnt):
    # Answered changes wait in one open transaction (a batch) and commit
    # together; a crash before that loses none of them: the slot holds
    # them all, in order, and the next start stores them with their
    # index entries.  RECORDFS_CRASH_AFTER_ANSWER=6 kills the daemon after
    # the sixth, and keeps it from committing for want of requests before;
    # the map has room for the six to commit together.
    mnt.sh("""mkdir data/dog && echo '{"name":"Rex","breed":"Pug"}' \
              > data/dog/1.json""")
    mnt.restart(["-o", "initial_map=64M"],
                env={"RECORDFS_CRASH_AFTER_ANSWER": "6"})
    mnt.sh("""for i in 2 3 4 5; do
                echo "{\\"name\\":\\"d$i\\",\\"breed\\":\\"Lab\\"}" \
                    > data/dog/$i.json
              done
              echo '{"name":"Rex","breed":"Akita"}' > data/dog/1.json
              rm data/dog/3.json""")
    assert mnt.proc.wait(timeout=20) == -9, "the daemon did not stop"
    mnt.kill9()
    mnt.start([])
    assert sorted(os.listdir(mnt.p("data", "dog"))) == \
        ["1.json", "2.json", "4.json", "5.json"]
    assert json.loads(mnt.read("data", "dog", "5.json"))["name"] == "d5"
    assert json.loads(mnt.read("data", "dog", "1.json"))["breed"] == "Akita"
    assert sorted(os.listdir(mnt.p("data", "dog", ".by", "breed"))) == \
        ["Akita", "Lab"]
    assert sorted(os.listdir(mnt.p("data", "dog", ".by", "breed", "Lab"))) \
        == ["2.json", "4.json", "5.json"]
    log = mnt.log()
    for i in (2, 3, 4, 5):
        assert "dog/%d.json: its close, answered before the daemon " \
            "stopped, is stored now" % i in log
    assert "dog/1.json: its close, answered" in log
    assert "dog/3.json: its unlink, answered" in log


def test_intent_slot_cut_short_is_not_applied(mnt):
    # A slot a crash cut short was never answered: its checksum fails and
    # the next start leaves the record as it was.
    mnt.sh("""mkdir data/dog && echo '{"v":1}' > data/dog/1.json""")
    mnt.restart(env=CRASH)
    mnt.sh("""echo '{"v":2}' > data/dog/1.json""")
    assert mnt.proc.wait(timeout=20) == -9
    mnt.kill9()
    slot = os.path.join(mnt.datadir, "data", "intent")
    os.truncate(slot, os.path.getsize(slot) - 1)
    mnt.start()
    assert json.loads(mnt.read("data", "dog", "1.json"))["v"] == 1
    assert "stored now" not in mnt.log()
    # and the daemon goes on: the next change is answered and stored
    mnt.sh("""echo '{"v":3}' > data/dog/1.json""")
    mnt.restart()
    assert json.loads(mnt.read("data", "dog", "1.json"))["v"] == 3


def test_answered_change_that_cannot_be_stored_waits_for_the_next_mount(mnt):
    # If the commit after the answer fails (RECORDFS_FAIL_AFTER_ANSWER
    # makes it), the change stays in the intent slot, the database takes
    # no other change (EROFS, and the log says why), and the next mount
    # stores it.
    mnt.sh("""mkdir data/dog && echo '{"v":1}' > data/dog/1.json""")
    mnt.restart(env={"RECORDFS_FAIL_AFTER_ANSWER": "1"})
    mnt.sh("""echo '{"v":2}' > data/dog/1.json""")
    assert "they stay in the intent slot" in mnt.errors()
    # (bash's echo never sees an error at close: its dup2 drops it)
    assert mnt.write_close(b'{"v":1}', "data", "dog", "2.json",
                           flags=os.O_WRONLY | os.O_CREAT) == errno.EROFS
    assert "data/dog/2.json: Read-only file system" in mnt.errors()
    r = mnt.sh("rm data/dog/1.json", check=False)
    assert r.returncode != 0
    mnt.restart()
    assert json.loads(mnt.read("data", "dog", "1.json"))["v"] == 2
    assert sorted(os.listdir(mnt.p("data", "dog"))) == ["1.json"]
    mnt.sh("""echo '{"v":3}' > data/dog/2.json && rm data/dog/1.json""")
    assert sorted(os.listdir(mnt.p("data", "dog"))) == ["2.json"]


def test_fsync_and_sync_option(mnt):
    # sync=0: every commit durable at once; fsync works either way
    mnt.restart(["-o", "sync=0"])
    mnt.sh("mkdir data/dog && echo '{}' > data/dog/1.json")
    fd = os.open(mnt.p("data", "dog", "2.json"), os.O_WRONLY | os.O_CREAT)
    os.write(fd, b'{"a":1}')
    os.fsync(fd)
    os.close(fd)
    mnt.sh("sync")
    mnt.kill9()
    mnt.start()
    assert json.loads(mnt.read("data", "dog", "2.json"))["a"] == 1


def test_unmount_commits_and_restarts(mnt):
    mnt.sh("mkdir data/dog && echo '{\"a\":1}' > data/dog/1.json")
    mnt.restart()
    assert json.loads(mnt.read("data", "dog", "1.json"))["a"] == 1


def test_second_daemon_refused(mnt, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    from conftest import BIN
    r = subprocess.run([BIN, "-f", mnt.datadir, str(other)],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode != 0
    assert "another recordfs is serving this data directory" in r.stderr


def test_readers_never_see_half_records(mnt):
    mnt.sh("mkdir data/dog")
    bodies = [json.dumps({"who": w, "pad": w * 20000}) for w in "ab"]
    with open(mnt.p("data", "dog", "1.json"), "w") as f:
        f.write(bodies[0])
    stop = threading.Event()
    bad = []

    def writer(body):
        while not stop.is_set():
            with open(mnt.p("data", "dog", "1.json"), "w") as f:
                f.write(body)

    def reader():
        while not stop.is_set():
            with open(mnt.p("data", "dog", "1.json")) as f:
                text = f.read()
            try:
                r = json.loads(text)
                if r["pad"] != r["who"] * 20000:
                    bad.append(text[:80])
            except ValueError:
                bad.append(text[:80])

    threads = [threading.Thread(target=writer, args=(b,)) for b in bodies]
    threads += [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    import time
    time.sleep(3)
    stop.set()
    for t in threads:
        t.join()
    assert bad == []
    r = json.loads(mnt.read("data", "dog", "1.json"))
    assert r["pad"] == r["who"] * 20000


def test_many_processes_at_once(mnt):
    mnt.sh("mkdir data/dog")
    script = ("for i in $(seq %d %d); do echo \"{\\\"n\\\":$i}\" > data/dog/$i.json; "
              "cat data/dog/$i.json > /dev/null; done")
    procs = [subprocess.Popen(["bash", "-c", script % (k * 100, k * 100 + 99)],
                              cwd=mnt.path) for k in range(4)]
    assert [p.wait() for p in procs] == [0, 0, 0, 0]
    assert len(os.listdir(mnt.p("data", "dog"))) == 400


def test_listing_a_million_streams(tmp_path):
    """ls of a table of BIG records lists every one while the daemon's own
    memory stays flat: its anonymous RSS (heap and stacks, sampled every
    few milliseconds during the listing) grows by under 8 MiB.  The pages
    of the LMDB file that the listing reads are page cache, counted in
    RssFile, and printed for the record."""
    from conftest import Mount
    m = Mount(tmp_path)
    subprocess.run([MKDB, m.datadir, "data", "dog", str(BIG)], check=True)
    m.start()
    try:
        pid = m.proc.pid
        with AnonPeak(pid) as anon:
            out = subprocess.run("ls -f | wc -l", shell=True,
                                 cwd=m.p("data", "dog"), capture_output=True,
                                 text=True).stdout
            assert int(out) == BIG + 2
            out = subprocess.run("find . -type f | wc -l", shell=True,
                                 cwd=m.p("data", "dog"), capture_output=True,
                                 text=True).stdout
            assert int(out) == BIG
            # the distinct values of an index stream the same way
            out = subprocess.run("ls -f .by/chip | wc -l", shell=True,
                                 cwd=m.p("data", "dog"), capture_output=True,
                                 text=True).stdout
            assert int(out) == min(BIG, 20000) + 2
        print("listing %d records: daemon RssAnon %d KiB before, %d KiB at "
              "peak; VmHWM %d KiB, RssFile %d KiB"
              % (BIG, anon.base, anon.peak, rss_kib(pid, "VmHWM"),
                 rss_kib(pid, "RssFile")))
        if "asan" not in (os.environ.get("RECORDFS_BIN") or ""):
            assert anon.peak - anon.base < 8 * 1024
    finally:
        m.stop()


@pytest.mark.parametrize("opts", [[], ["-o", "initial_map=64M"]],
                         ids=["map-grows", "map-larger-than-disk"])
def test_disk_full_is_enospc_and_loses_nothing(tmp_path, opts):
    """With the data directory on a small file system, writes fail with
    ENOSPC once it is full, say so in the error log, and every record
    written before stays readable, also after a remount.  The map is
    written in place, so its blocks are reserved before it grows; a map
    whose blocks cannot all be had (64 MiB on 4 MiB) is written with
    write(2) instead.  Either way a full disk is ENOSPC, never a crash."""
    from conftest import Mount, tmpfs_datadir
    import errno
    m = Mount(tmp_path, opts)
    with tmpfs_datadir(m, "4m"):
        m.start()
        try:
            m.sh("mkdir data/dog")
            blob = "z" * 50000
            written = []
            err = None
            for i in range(200):
                try:
                    with open(m.p("data", "dog", "%d.json" % i), "w") as f:
                        f.write('{"b":"%s"}' % blob)
                    written.append(i)
                except OSError as e:
                    err = e
                    break
            assert err is not None and err.errno == errno.ENOSPC
            assert len(written) > 10
            # the change feed's lines gave way to the records first; what
            # room they left may be in pieces too small for a record
            assert ("No space left on device" in m.errors() or
                    "room for this record only in pieces" in m.errors())
            stats = open(m.p(".recordfs", "stats")).read()
            kept = int(stats.split("changes_bytes ")[1].split()[0])
            assert kept < 4 * len(blob), stats
            for i in written:
                assert json.loads(m.read("data", "dog", "%d.json" % i))["b"] == blob
            # room made by removing records is used again
            for i in written[:10]:
                os.unlink(m.p("data", "dog", "%d.json" % i))
            with open(m.p("data", "dog", "new.json"), "w") as f:
                f.write('{"b":"small"}')
        finally:
            m.stop()
        m.start()
        try:
            assert len(os.listdir(m.p("data", "dog"))) == len(written) - 10 + 1
            assert json.loads(m.read("data", "dog", "new.json"))["b"] == "small"
        finally:
            m.stop()


def test_admin_check_while_mounted_changes_nothing(mnt):
    """recordfs-admin check may run while the daemon serves: it opens each
    database as a second process and never changes the data file's length
    (the daemon writes through a map of it whose blocks it reserved), so
    the daemon goes on writing and reading, and nothing is lost."""
    from conftest import ADMIN
    mnt.sh("mkdir data/dog")
    blob = "y" * 3000
    for i in range(400):  # some MiB: the map has grown past its start
        with open(mnt.p("data", "dog", "%d.json" % i), "w") as f:
            f.write('{"b":"%s","n":%d}' % (blob, i))
    data = os.path.join(mnt.datadir, "data", "data.mdb")
    size = os.path.getsize(data)
    r = subprocess.run([ADMIN, "check", mnt.datadir], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert os.path.getsize(data) >= size
    for i in range(400, 800):
        with open(mnt.p("data", "dog", "%d.json" % i), "w") as f:
            f.write('{"b":"%s","n":%d}' % (blob, i))
    for i in range(0, 800, 7):
        assert json.loads(mnt.read("data", "dog", "%d.json" % i))["n"] == i
    assert mnt.proc.poll() is None
    mnt.restart()
    assert len(os.listdir(mnt.p("data", "dog"))) == 800


def test_read_only_mount(mnt):
    import errno
    mnt.sh("mkdir data/dog && echo '{}' > data/dog/1.json")
    mnt.restart(["-o", "ro"])
    assert json.loads(mnt.read("data", "dog", "1.json"))["id"] == 1
    with pytest.raises(OSError) as e:
        open(mnt.p("data", "dog", "2.json"), "w")
    assert e.value.errno == errno.EROFS


def test_background_daemon_and_lazy_unmount_commit_open_files(tmp_path):
    """Without -f the daemon goes to the background; a lazy unmount with a
    record still open commits it when the file is closed, and the daemon
    then exits."""
    from conftest import BIN
    import time
    data, mnt = str(tmp_path / "d"), str(tmp_path / "m")
    os.makedirs(mnt)
    r = subprocess.run([BIN, data, mnt], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 0, r.stderr
    try:
        assert os.path.ismount(mnt)
        pids = subprocess.run(["pgrep", "-f", "recordfs %s %s" % (data, mnt)],
                              capture_output=True, text=True).stdout.split()
        assert len(pids) == 1
        os.mkdir(os.path.join(mnt, "data", "dog"))
        f = open(os.path.join(mnt, "data", "dog", "1.json"), "w")
        f.write('{"open":true}')
        f.flush()
        subprocess.run(["fusermount3", "-u", "-z", mnt], check=True)
        assert not os.path.ismount(mnt)
        f.close()
        deadline = time.time() + 20
        while os.path.exists("/proc/" + pids[0]) and time.time() < deadline:
            time.sleep(0.05)
        assert not os.path.exists("/proc/" + pids[0])
    finally:
        subprocess.run(["fusermount3", "-u", "-z", mnt], capture_output=True)
    from conftest import Mount
    m = Mount(tmp_path)
    m.datadir, m.path = data, mnt
    m.start()
    try:
        assert json.loads(m.read("data", "dog", "1.json"))["open"] is True
    finally:
        m.stop()

"""Issue 15's rules: no silent change of data, POSIX answers where tools
rely on them.  (The mounted tests run against the sanitizer build too,
where any UBSan report stops the daemon and fails the test.)"""
import errno
import json
import os

import pytest


def test_rewrite_without_index_entries(mnt):
    """A rewrite whose old and new texts have no index entries (a declared
    table with no @indexed attribute) sorted an empty list: qsort of NULL,
    which UBSan reports."""
    with open(mnt.p("data", "schema.graphql"), "w") as f:
        f.write('type T @table(table: "t") { id: Int @primaryKey a: [Int] }\n')
    for body in ['{"a":[]}', '{"a":[]}', '{"a":[1]}', '{}']:
        mnt.sh("echo '%s' > data/t/1.json" % body)
        r = json.loads(mnt.read("data", "t", "1.json"))
        assert r == dict(json.loads(body), id=1)
    mnt.sh("mkdir data/d")
    for body in ['{"a":[]}', '{"a":[]}']:
        mnt.sh("echo '%s' > data/d/1.json" % body)
    assert json.loads(mnt.read("data", "d", "1.json"))["a"] == []


def errno_of(f, *args):
    try:
        f(*args)
    except OSError as e:
        return e.errno
    return 0


def test_names_past_name_max(mnt):
    """A name longer than 255 bytes is ENAMETOOLONG for every operation,
    and a change refused for it says so in the error log."""
    mnt.sh("mkdir data/t && echo x > data/f.txt")
    long = "a" * 300
    t = mnt.p("data", "t", long)
    for f, args in [(os.stat, (t,)), (os.unlink, (t,)), (open, (t,)),
                    (open, (t, "w")), (os.truncate, (t, 0)),
                    (os.mkdir, (mnt.p("data", long),)),
                    (os.rmdir, (mnt.p("data", long),)),
                    (os.rename, (mnt.p("data", "f.txt"), t)),
                    (os.rename, (t, mnt.p("data", "g.txt"))),
                    (os.symlink, ("x", t))]:
        assert errno_of(f, *args) == errno.ENAMETOOLONG, f
    assert "a name holds at most 255 bytes" in mnt.errors()
    # 255 bytes is a name like any other
    ok = "b" * 250 + ".txt"
    mnt.sh("echo y > data/t/" + ok)
    assert mnt.read("data", "t", ok) == b"y\n"


def test_links_whiteouts_and_table_renames(mnt):
    import ctypes
    mnt.sh("mkdir data/t data/u data/v && echo '{}' > data/u/1.json"
           " && echo x > data/f.txt && echo y > data/t/a.txt")
    assert errno_of(os.symlink, "x", mnt.p("data", "t", "l")) == errno.EPERM
    assert errno_of(os.link, mnt.p("data", "u", "1.json"),
                    mnt.p("data", "t", "2.json")) == errno.EPERM
    errors = mnt.errors()
    assert "data/t/l: symbolic links cannot be made here" in errors
    assert "data/t/2.json: hard links cannot be made" in errors
    # renameat2(RENAME_WHITEOUT) is no plain rename
    libc = ctypes.CDLL(None, use_errno=True)
    rc = libc.renameat2(-100, mnt.p("data", "t", "a.txt").encode(), -100,
                        mnt.p("data", "t", "b.txt").encode(), 4)
    assert rc == -1 and ctypes.get_errno() == errno.EINVAL
    assert mnt.read("data", "t", "a.txt") == b"y\n"
    assert "whiteouts (overlayfs) are not supported" in mnt.errors()
    # a table onto a file, onto a table with records, onto an empty one
    assert errno_of(os.rename, mnt.p("data", "t"),
                    mnt.p("data", "f.txt")) == errno.ENOTDIR
    assert errno_of(os.rename, mnt.p("data", "t"),
                    mnt.p("data", "u")) == errno.ENOTEMPTY
    assert "data/u: the table it would replace is not empty" in mnt.errors()
    assert errno_of(os.rename, mnt.p("data", "t"),
                    mnt.p("data", "v")) == errno.EPERM
    # mkdir in .by: a name that is not there is refused with a line
    assert errno_of(os.mkdir, mnt.p("data", "u", ".by", "nope")) == \
        errno.EPERM
    assert "data/u/.by/.../nope: the .by tree shows the indexes" in \
        mnt.errors()


def test_create_that_lost_its_name(mnt):
    """A creates 1.json and keeps it open; C renames k1.json onto 1.json;
    A's close stores nothing over C's record.  (A is a process of its own:
    a fork of the test while A's descriptor is open would close a copy of
    it, a FLUSH that commits A's text early.)"""
    import subprocess
    mnt.sh("mkdir data/t")
    a = subprocess.Popen(
        ["python3", "-c", """if 1:
            import os, sys
            fd = os.open("data/t/1.json", os.O_WRONLY | os.O_CREAT, 0o644)
            os.write(fd, b'{"from":"A"}')
            print("written", flush=True)
            sys.stdin.readline()
            os.close(fd)  # 0, as on any POSIX file system
            print("closed", flush=True)"""],
        cwd=mnt.path, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        text=True)
    assert a.stdout.readline() == "written\n"
    with open(mnt.p("data", "t", "k1.json"), "w") as f:
        f.write('{"from":"C"}')
    os.rename(mnt.p("data", "t", "k1.json"), mnt.p("data", "t", "1.json"))
    out, _ = a.communicate("go\n")
    assert a.returncode == 0 and out == "closed\n"
    assert json.loads(mnt.read("data", "t", "1.json"))["from"] == "C"
    assert sorted(os.listdir(mnt.p("data", "t"))) == ["1.json"]


def test_record_being_created_is_not_there_for_others(mnt):
    """Until its first commit a record is ENOENT for other processes (never
    0 bytes); the process that creates it finds it."""
    mnt.sh("mkdir data/t")
    path = mnt.p("data", "t", "1.json")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        assert os.path.exists(path)  # the creator
        r = mnt.sh("cat data/t/1.json", check=False)
        assert r.returncode != 0 and "No such file" in r.stderr
        assert mnt.sh("ls data/t").stdout.split() == []
        os.write(fd, b'{"a":1}')
    finally:
        os.close(fd)
    assert json.loads(mnt.sh("cat data/t/1.json").stdout)["a"] == 1


def test_record_being_created_is_there_for_the_creators_threads(mnt):
    """FUSE names the calling thread: another thread of the creating
    process finds the record before its first commit as the creating one
    does."""
    import threading
    mnt.sh("mkdir data/t")
    path = mnt.p("data", "t", "1.json")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    seen = []
    try:
        for _ in range(3):
            th = threading.Thread(
                target=lambda: seen.append(errno_of(os.stat, path)))
            th.start()
            th.join()
        os.write(fd, b'{"a":1}')
    finally:
        os.close(fd)
    assert seen == [0, 0, 0]
    assert json.loads(mnt.read("data", "t", "1.json"))["a"] == 1


def test_create_without_o_excl_opens_what_another_made(mnt):
    """O_CREAT without O_EXCL opens a name another process is creating (or
    made since the kernel's lookup), as open(2) does; with O_EXCL it is
    EEXIST."""
    mnt.sh("mkdir data/t")
    fd = os.open(mnt.p("data", "t", "1.json"),
                 os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        mnt.sh("""python3 -c 'import os; f = os.open("data/t/1.json", """
               """os.O_WRONLY | os.O_CREAT | os.O_TRUNC); """
               """os.write(f, b"{\\"by\\":\\"B\\"}"); os.close(f)'""")
        assert json.loads(mnt.read("data", "t", "1.json"))["by"] == "B"
        r = mnt.sh("""python3 -c 'import os; os.open("data/t/1.json", """
                   """os.O_WRONLY | os.O_CREAT | os.O_EXCL)'""",
                   check=False)
        assert r.returncode != 0 and "FileExistsError" in r.stderr
        os.write(fd, b'{"by":"A"}')
    finally:
        os.close(fd)
    assert json.loads(mnt.read("data", "t", "1.json"))["by"] == "A"


def test_concurrent_creates_never_eexist(mnt):
    """Four processes create (O_CREAT|O_TRUNC, no O_EXCL), rename and
    unlink the same four names across two tables: no create fails with
    EEXIST, and every record left reads whole."""
    mnt.sh("mkdir data/t data/u")
    script = r'''
import errno, os, random, sys
random.seed(int(sys.argv[1]))
names = ["data/%s/%d.json" % (t, i) for t in "tu" for i in range(2)]
eexist = 0
for n in range(1500):
    a = random.choice(names)
    op = random.random()
    try:
        if op < 0.6:
            fd = os.open(a, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.write(fd, b'{"n":%d}' % n)
            os.close(fd)
        elif op < 0.8:
            b = random.choice([x for x in names if x[5] == a[5]])
            os.rename(a, b)
        else:
            os.unlink(a)
    except OSError as e:
        if e.errno == errno.EEXIST:
            eexist += 1
        elif e.errno not in (errno.ENOENT, errno.EINVAL):
            raise
print(eexist)
'''
    procs = [__import__("subprocess").Popen(
        ["python3", "-c", script, str(i)], cwd=mnt.path,
        stdout=__import__("subprocess").PIPE, text=True) for i in range(4)]
    counts = [int(p.communicate()[0]) for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert counts == [0, 0, 0, 0]
    for t in "tu":
        for name in os.listdir(mnt.p("data", t)):
            assert "n" in json.loads(mnt.read("data", t, name))


TORN = r'''
import os, sys, time, multiprocessing as mp
method, secs, readers = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
d = "data/tt"
A = '{"id":1,"v":"a"}'
LONG = "b" * (9000 if method != "by" else 150)  # past a page, or a name
B = '{"id":1,"v":"%s"}' % LONG

def writer(stop):
    i = 0
    while not stop.is_set():
        body, v, old = (A, "a", LONG) if i % 2 == 0 else (B, LONG, "a")
        if method == "trunc":
            with open(d + "/1.json", "w") as f:
                f.write(body)
        elif method == "mv":
            with open(d + "/tmp.txt", "w") as f:
                f.write(body)
            os.rename(d + "/tmp.txt", d + "/1.json")
        else:
            os.rename("%s/.by/v/%s/1.json" % (d, old),
                      "%s/.by/v/%s/1.json" % (d, v))
        i += 1

def reader(stop, texts, q):
    n = bad = 0
    while not stop.is_set():
        with open(d + "/1.json", "rb") as f:
            t = f.read()
        n += 1
        if t not in texts:
            bad += 1
            if bad == 1:
                sys.stderr.write("torn: %d bytes: %r\n" % (len(t), t[:60]))
    q.put((n, bad))

if __name__ == "__main__":
    texts = []
    for body in (B, A):  # ends holding A, as the writer starts from it
        with open(d + "/1.json", "w") as f:
            f.write(body)
        with open(d + "/1.json", "rb") as f:
            texts.append(f.read())
    stop, q = mp.Event(), mp.Queue()
    ps = [mp.Process(target=reader, args=(stop, texts, q))
          for _ in range(readers)] + [mp.Process(target=writer, args=(stop,))]
    for p in ps:
        p.start()
    time.sleep(secs)
    stop.set()
    res = [q.get() for _ in range(readers)]
    for p in ps:
        p.join()
    print(sum(n for n, _ in res), sum(b for _, b in res))
'''


@pytest.mark.parametrize("readers", [3, 1])
@pytest.mark.parametrize("method", ["trunc", "mv", "by"])
def test_readers_never_see_a_torn_record(mnt, method, readers):
    """One writer rewrites 1.json between two whole bodies of different
    lengths (one past a page), by O_TRUNC, by a scratch file and mv, or
    by mv through .by; three readers (or one: a reader alone reads through
    the page cache) in a loop read exactly one of the two every time.  A
    declared table keeps the texts free of times."""
    with open(mnt.p("data", "schema.graphql"), "w") as f:
        f.write('type TT @table(table: "tt") '
                '{ id: Int @primaryKey v: String @indexed }\n')
    r = mnt.sh("python3 -c '%s' %s 1.5 %d" % (TORN.replace("'", "'\\''"),
                                               method, readers))
    reads, bad = map(int, r.stdout.split())
    assert reads > 300, r.stderr
    assert bad == 0, r.stderr


def orphans(mnt):
    """Scratch files kept as orphans in database data, read from the data
    file with LMDB's own mdb_dump: keys under table 0xffffffff, kind 's'."""
    import subprocess
    r = subprocess.run(["mdb_dump", "-s", "objects", mnt.datadir + "/data"],
                       capture_output=True, text=True, check=True)
    return sum(1 for line in r.stdout.splitlines()
               if line.startswith(" ffffffff73"))


def orphans_gone(mnt):
    """Wait for the orphans to go: the last close (RELEASE) that drops
    one comes after close(2) has returned."""
    import time
    for _ in range(300):
        if orphans(mnt) == 0:
            return True
        time.sleep(0.01)
    return False


def test_open_files_outlive_their_name(mnt):
    """A scratch file removed, or renamed over, while open stays readable
    and writable through its descriptor until it is closed; a record read
    after rm keeps reading, and fstat works."""
    mnt.sh("mkdir data/t && echo hello > data/t/u.txt")
    r = mnt.sh("{ rm data/t/u.txt; cat; } < data/t/u.txt")
    assert r.stdout == "hello\n"
    assert os.listdir(mnt.p("data", "t")) == []
    d = mnt.p("data", "t")
    with open(d + "/v.txt", "w") as f:
        f.write("first\n")
    fd = os.open(d + "/v.txt", os.O_RDWR)
    try:
        with open(d + "/w.txt", "w") as f:
            f.write("second\n")
        os.rename(d + "/w.txt", d + "/v.txt")
        assert os.pread(fd, 100, 0) == b"first\n"
        st = os.fstat(fd)
        assert st.st_nlink == 0 and st.st_size == 6
        os.pwrite(fd, b"FIRST", 0)
        assert os.pread(fd, 100, 0) == b"FIRST\n"
        assert mnt.read("data", "t", "v.txt") == b"second\n"
        assert orphans(mnt) == 1
    finally:
        os.close(fd)
    assert orphans_gone(mnt)  # its bytes went with the last close
    with open(d + "/1.json", "w") as f:
        f.write('{"a":1}')
    fd = os.open(d + "/1.json", os.O_RDONLY)
    try:
        os.unlink(d + "/1.json")
        st = os.fstat(fd)
        text = os.read(fd, 1000)
        assert json.loads(text)["a"] == 1
        assert st.st_size == len(text) and st.st_nlink == 0
    finally:
        os.close(fd)


def test_orphans_a_crash_left_go_at_the_next_mount(mnt):
    mnt.sh("mkdir data/t && echo keep > data/t/k.txt")
    fd = os.open(mnt.p("data", "t", "k.txt"), os.O_RDONLY)
    os.unlink(mnt.p("data", "t", "k.txt"))
    assert os.read(fd, 100) == b"keep\n"
    assert orphans(mnt) == 1
    mnt.kill9()
    os.close(fd)
    mnt.start()
    assert orphans(mnt) == 0
    assert os.listdir(mnt.p("data", "t")) == []


def test_a_close_that_returns_0_stored_the_record(mnt):
    """Every refusal reaches write or close, but for the one case FUSE
    cannot report (README, Errors): an open whose only close carries no
    data, into a table that requires attributes."""
    with open(mnt.p("data", "schema.graphql"), "w") as f:
        f.write('type T @table(table: "t") '
                '{ id: Int @primaryKey name: String! }\n')
    r = mnt.sh("echo '{}' > data/t/1.json", check=False)
    assert r.returncode != 0 and "write error: Invalid argument" in r.stderr
    fd = os.open(mnt.p("data", "t", "2.json"), os.O_WRONLY | os.O_CREAT)
    try:
        os.write(fd, b'{"id": 2')
        # the object is whole only now: the write that completes it fails
        assert errno_of(os.write, fd, b"}") == errno.EINVAL
    finally:
        assert errno_of(os.close, fd) == errno.EINVAL  # and the close
    for cmd in ["touch data/t/3.json", ": > data/t/4.json",
                ": > /tmp/recordfs-empty && cp /tmp/recordfs-empty "
                "data/t/5.json"]:
        assert mnt.sh(cmd).returncode == 0  # the case that cannot be told
    assert os.listdir(mnt.p("data", "t")) == []
    errors = mnt.errors()
    for n in range(1, 6):
        assert 'data/t/%d.json: "name" is required (String!) and missing' \
            % n in errors
    mnt.sh("""echo '{"name":"Rex"}' > data/t/6.json""")
    assert json.loads(mnt.read("data", "t", "6.json"))["name"] == "Rex"


def put(mnt, name, body):
    """Write a record; the errno of the write or the close, or 0."""
    fd = os.open(mnt.p("data", "f", name), os.O_WRONLY | os.O_CREAT)
    err, at = 0, 0
    try:
        while at < len(body):  # a write past a refused piece is short
            at += os.write(fd, body[at:])
    except OSError as e:
        err = e.errno
    cerr = errno_of(os.close, fd)
    return err or cerr


def test_full_disk_holds_records_to_its_end(small):
    """The map grows into what the disk has left, not only by doubling;
    once it is full, a record is refused at the write that cannot fit
    (echo sees it), fast, with a line that says so.  Records alone: with
    the change feed on, its lines give way first (test_durability)."""
    small.restart(["-o", "changes=0"])
    small.sh("mkdir data/f")
    body = json.dumps({"s": "x" * (256 << 10)}).encode()
    n = 0
    while put(small, "%d.json" % n, body) == 0:
        n += 1
    stored = n * len(body)
    assert stored > 0.85 * (64 << 20), stored  # was half: the map doubled
    r = small.sh('b=$(printf \'{"s":"%0200000d"}\' 0); '
                 'for i in 1 2 3 4 5; do echo "$b" > data/f/x$i.json; done',
                 check=False)
    assert r.stderr.count("write error: No space left on device") == 5
    assert not any(name.startswith("x") for name in
                   os.listdir(small.p("data", "f")))
    assert "data/f/x5.json: No space left on device: the disk that holds " \
        "the data directory is full" in small.errors()
    # freed room made of pieces smaller than a record says so
    for i in range(40):
        os.unlink(small.p("data", "f", "%d.json" % i))
    big = json.dumps({"s": "y" * ((8 << 20) - 100)}).encode()
    if put(small, "big.json", big) == errno.ENOSPC:
        assert "big.json: the data file has room for this record only " \
            "in pieces" in small.errors()


def test_a_large_record_fits_again_where_one_was(small):
    small.sh("mkdir data/f")
    big = json.dumps({"s": "y" * ((8 << 20) - 100)}).encode()
    n = 0
    while put(small, "%d.json" % n, big) == 0:
        n += 1
    assert n >= 6
    os.unlink(small.p("data", "f", "0.json"))
    assert put(small, "again.json", big) == 0
    assert len(small.read("data", "f", "again.json")) > (8 << 20) - 200

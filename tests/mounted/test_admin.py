"""recordfs-admin (issue 18): check with progress and a summary, stats,
a hot backup that mounts as it was, compact, --help and exit codes."""
import json
import os
import subprocess
import threading
import time

from conftest import ADMIN, Mount


def admin(*args):
    return subprocess.run([ADMIN, *args], capture_output=True, text=True)


def test_help_and_exit_codes(tmp_path):
    r = admin("--help")
    assert r.returncode == 0 and "recordfs-admin backup DATADIR DEST" in \
        r.stdout
    for cmd in ("check", "stats", "backup", "compact"):
        r = admin(cmd, "--help")
        assert r.returncode == 0, cmd
        assert r.stdout.startswith("usage: recordfs-admin %s " % cmd)
    assert admin().returncode == 2
    assert admin("frobnicate", "x").returncode == 2
    assert admin("check").returncode == 2
    r = admin("check", str(tmp_path / "none"))
    assert r.returncode == 2 and "No such file or directory" in r.stderr


def test_check_and_stats(mnt):
    m = mnt
    m.sh("mkdir data/dog pets pets/cat")
    for i in range(50):
        m.sh("""echo '{"name":"d%d","breed":"%s"}' > data/dog/%d.json"""
             % (i, "Lab" if i % 2 else "Pug", i))
    (m.tmp / "s.graphql").write_text(
        'type Cat @table(table: "cat") {\n  id: Int @primaryKey\n'
        '  name: String @indexed\n}\n')
    m.sh("cp %s pets/schema.graphql" % (m.tmp / "s.graphql"))
    m.sh("""echo '{"name":"Tom","age":3}' > pets/cat/1.json""")
    r = admin("check", m.datadir)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.splitlines()[-1] == ("2 databases checked: indexes "
                                         "match records, the change feed "
                                         "its history")
    # a line per stage on a pipe
    assert "data: checking the indexes, 50 objects" in r.stderr
    assert "pets: checking the change feed" in r.stderr
    r = admin("stats", m.datadir)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "  table dog (dynamic): 50 records, 200 index entries" in out
    # declared: name indexed, age not (and the key is no index entry)
    assert "  table cat (declared): 1 records, 1 index entries" in out
    assert "change feed: " in out and "seq 1 to " in out
    assert out.index("database data:") < out.index("database pets:")


def test_backup_under_load_mounts_as_it_was(mnt, tmp_path):
    """A backup taken while a writer keeps adding records is one
    consistent state: it mounts, passes check, and holds exactly the
    records the source had at some moment (a prefix of the writer's)."""
    m = mnt
    m.sh("mkdir data/dog")
    for i in range(3):
        m.sh("""echo '{"n":%d}' > data/dog/%d.json""" % (i, i))
    stop = threading.Event()
    wrote = []

    def writer():
        i = 1000
        while not stop.is_set():
            with open(m.p("data", "dog", "%d.json" % i), "w") as f:
                f.write('{"n":%d,"pad":"%s"}' % (i, "p" * 200))
            wrote.append(i)
            i += 1

    t = threading.Thread(target=writer)
    t.start()
    try:
        while len(wrote) < 300:
            time.sleep(0.01)
        dest = tmp_path / "backup"
        r = admin("backup", m.datadir, str(dest))
        n_after = len(wrote)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "1 of 1 database backed up" in r.stdout
        while len(wrote) < n_after + 100:
            time.sleep(0.01)
    finally:
        stop.set()
        t.join()
    # a second backup into the same place is refused
    r = admin("backup", m.datadir, str(dest))
    assert r.returncode == 2 and "holds a database already" in r.stderr
    r = admin("check", str(dest))
    assert r.returncode == 0, r.stdout
    b = Mount(tmp_path / "b")
    b.datadir = str(dest)
    b.start()
    try:
        names = sorted(int(f[:-5]) for f in os.listdir(b.p("data", "dog")))
        got = [n for n in names if n >= 1000]
        # one moment of the writer: a prefix of what it wrote, no hole
        assert got == list(range(1000, 1000 + len(got)))
        assert 300 <= len(got) <= len(wrote)
        for n in got[-5:]:
            assert json.loads(b.read("data", "dog", "%d.json" % n))["n"] == n
        assert b.sh("cat data/dog/.next").stdout.strip().isdigit()
    finally:
        b.stop()


def test_compact_after_deletes(tmp_path):
    m = Mount(tmp_path, ["-o", "changes=0"])
    m.start()
    try:
        m.sh("mkdir data/dog")
        body = '{"b":"%s"}' % ("z" * 2000)
        for i in range(1000):
            with open(m.p("data", "dog", "%d.json" % i), "w") as f:
                f.write(body)
        for i in range(100, 1000):
            os.unlink(m.p("data", "dog", "%d.json" % i))
        # mounted: refused, exit 3, nothing changed
        r = admin("compact", m.datadir)
        assert r.returncode == 3 and "is mounted: unmount it first" in \
            r.stderr
    finally:
        m.stop()
    data = os.path.join(m.datadir, "data", "data.mdb")
    before = os.path.getsize(data)
    r = admin("compact", m.datadir)
    assert r.returncode == 0, r.stderr
    after = os.path.getsize(data)
    assert after < before / 4, (before, after)
    assert "data: %d bytes before, %d after" % (before, after) in r.stdout
    m.start()
    try:
        assert len(os.listdir(m.p("data", "dog"))) == 100
        assert m.read("data", "dog", "7.json").decode().count("z") == 2000
        m.sh("""echo '{"n":1}' > data/dog/new.json""")
    finally:
        m.stop()


def test_dump_load_round_trip(mnt, tmp_path):
    """dump | load gives back every database, schema by schema and record
    by record: keys (integer and string), times, dynamic and declared
    tables; dump takes one database or one table too."""
    m = mnt
    m.sh("mkdir data/dog pets")
    (tmp_path / "s.graphql").write_text(
        'type Owner @table(table: "owner") {\n  id: ID @primaryKey\n'
        '  name: String! @indexed\n  born: Date\n}\n')
    m.sh("cp %s pets/schema.graphql" % (tmp_path / "s.graphql"))
    m.sh("""echo '{"name":"Rex","tags":["a",{"x":null}],"w":1.5e300}' > data/dog/1.json
echo '{"name":"Ida"}' > data/dog/a%2Fb.json
echo '{"name":"Ann","born":"2020-01-02"}' > pets/owner/o1.json
echo '{"age":3}' >> data/dog/1.json
echo '{"v":1}' > 'data/dog/a b.json'
chmod 640 data/dog/1.json; chown 1000:1000 'data/dog/a b.json'
touch -d '2020-01-02 03:04:05' pets/owner/o1.json; chmod 750 data/dog
mkdir 'data/my dogs'; echo '{"n":1}' > 'data/my dogs/1.json'""")
    env = {**os.environ, "RECORDFS": os.environ.get("RECORDFS_BIN", "")}
    if not env["RECORDFS"]:
        from conftest import BIN
        env["RECORDFS"] = BIN
    # while mounted: through the mount that serves it
    r = subprocess.run([ADMIN, "dump", m.datadir], capture_output=True,
                       text=True, env=env)
    assert r.returncode == 0, r.stderr
    text = r.stdout
    assert text.startswith("recordfs dump 1\ndatabase data\nschema ")
    one = subprocess.run([ADMIN, "dump", m.datadir, "pets", "owner"],
                         capture_output=True, text=True, env=env).stdout
    assert "table owner\n" in one and "table dog" not in one
    for args in (["nope"], ["nope", "dog"], ["data", "nope"]):
        r = subprocess.run([ADMIN, "dump", m.datadir, *args],
                           capture_output=True, text=True, env=env)
        assert r.returncode == 2, args
    assert text.endswith("\nend\n")
    # into a new data directory: no mount serves it, load makes its own
    new = tmp_path / "new"
    r = subprocess.run([ADMIN, "load", str(new)], input=text,
                       capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    assert not [ln for ln in open("/proc/self/mounts") if str(new) in ln]
    again = subprocess.run([ADMIN, "dump", str(new)], capture_output=True,
                           text=True, env=env).stdout
    if again != text:
        (tmp_path / "a.txt").write_text(text)
        (tmp_path / "b.txt").write_text(again)
        print(subprocess.run(["diff", str(tmp_path / "a.txt"),
                              str(tmp_path / "b.txt")],
                             capture_output=True, text=True).stdout)
    assert again == text
    b = Mount(tmp_path / "b")
    b.datadir = str(new)
    b.start()
    try:
        for db, t, f in (("data", "dog", "1.json"), ("data", "dog",
                                                     "a%2Fb.json"),
                         ("data", "dog", "a b.json"),
                         ("pets", "owner", "o1.json")):
            assert b.read(db, t, f) == m.read(db, t, f)
            # modes, owners and times as they were
            sb, sm = os.stat(b.p(db, t, f)), os.stat(m.p(db, t, f))
            assert (sb.st_mode, sb.st_uid, sb.st_gid, sb.st_mtime_ns) == \
                (sm.st_mode, sm.st_uid, sm.st_gid, sm.st_mtime_ns), f
        assert os.stat(b.p("data", "dog")).st_mode & 0o7777 == 0o750
        assert b.read("data", "my dogs", "1.json") == \
            m.read("data", "my dogs", "1.json")
        assert b.read("pets", "schema.graphql") == \
            m.read("pets", "schema.graphql")
        # dynamic stays dynamic, declared declared
        b.sh("""echo '{"new":1}' > data/dog/2.json""")
        assert "new" in os.listdir(b.p("data", "dog", ".by"))
        r = b.sh("""echo '{"x":1}' > pets/owner/o2.json""", check=False)
        assert r.returncode != 0
    finally:
        b.stop()
    # a bad dump is refused, saying why; one cut short says so
    r = subprocess.run([ADMIN, "load", str(new)], input="hello\n",
                       capture_output=True, text=True, env=env)
    assert r.returncode == 2 and "is no recordfs dump" in r.stderr
    r = subprocess.run([ADMIN, "load", str(tmp_path / "cut")],
                       input=text[:text.index("table dog")],
                       capture_output=True, text=True, env=env)
    assert r.returncode == 2 and "cut short" in r.stderr

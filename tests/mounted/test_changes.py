"""The change feed and record history (issue 17): DB/.changes is NDJSON, one
line per committed change in commit order, written in the change's own
transaction; tail -f follows it, .changes@N resumes after seq N, retention
drops the oldest lines and a read that comes too late is an error, never a
gap; TABLE/.history/KEY.ndjson is one record's lines; .recordfs/errors
follows the same way."""
import errno
import json
import os
import subprocess
import sys
import threading
import time

import pytest


def feed(m, name=".changes", db="data"):
    """Every line of a feed file, parsed."""
    with open(m.p(db, name), "rb") as f:
        text = f.read()
    assert text == b"" or text.endswith(b"\n")
    return [json.loads(line) for line in text.splitlines()]


def seqs(lines):
    return [x["seq"] for x in lines]


def stats(m):
    out = {}
    with open(m.p(".recordfs", "stats")) as f:
        for line in f:
            w = line.split()
            if w[0] == "db" and "changes_bytes" in w:
                out = dict(zip(w[2::2], map(int, w[3::2])))
    return out


class Follower:
    """`tail -n 0 -f FILE`, its lines collected by a thread."""

    def __init__(self, path, lines="0"):
        self.proc = subprocess.Popen(["tail", "-n", lines, "-f", path],
                                     stdout=subprocess.PIPE)
        self.lines = []
        self.times = []
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.decode())
            self.times.append(time.monotonic())

    def wait_for(self, n, timeout=15):
        deadline = time.monotonic() + timeout
        while len(self.lines) < n and time.monotonic() < deadline:
            time.sleep(0.02)
        return len(self.lines) >= n

    def stop(self):
        self.proc.kill()
        self.proc.wait()
        self.thread.join(5)


def test_tail_f_sees_every_change_once_in_order(mnt):
    """A burst of every kind of change: puts, a merge, a rename, a move
    between tables, mv through .by, a delete, a schema write and a stream
    import, each seen exactly once by a tail -f started before it."""
    m = mnt
    m.sh("mkdir data/dog data/cat")
    first = feed(m)[-1]["seq"] + 1
    tail = Follower(m.p("data", ".changes"))
    try:
        time.sleep(1.5)  # tail has read to the end and polls
        schema = m.sh("cat data/schema.graphql").stdout + (
            "type bird @table {\n  id: Int @primaryKey\n  name: String\n}\n")
        (m.tmp / "s.graphql").write_text(schema)
        m.sh(f"""
echo '{{"name":"Rex","breed":"Lab","age":3}}' > data/dog/1.json
echo '{{"name":"Ida","breed":"Pug","age":5}}' > data/dog/2.json
echo '{{"age":4}}' >> data/dog/1.json
mv data/dog/2.json data/dog/3.json
mv data/dog/3.json data/cat/3.json
mv data/dog/.by/breed/Lab/1.json data/dog/.by/breed/Pug/
rm data/cat/3.json
cp {m.tmp}/s.graphql data/schema.graphql
printf '{{"id":10,"name":"A"}}\\n{{"id":11,"name":"B"}}\\n' >> data/cat.ndjson
mkdir data/tmp
rmdir data/tmp
""")
        want = [("put", "dog", 1), ("put", "dog", 2), ("put", "dog", 1),
                ("rename", "dog", 3), ("rename", "cat", 3), ("put", "dog", 1),
                ("delete", "cat", 3), ("schema", "bird", None),
                ("put", "cat", 10), ("put", "cat", 11),
                ("create", "tmp", None), ("drop", "tmp", None)]
        assert tail.wait_for(len(want)), tail.lines
        time.sleep(2.5)  # nothing more comes
        got = [json.loads(x) for x in tail.lines]
        assert seqs(got) == list(range(first, first + len(want)))
        assert [(x["op"], x["table"], x.get("key")) for x in got] == want
        # what each line says
        assert got[2]["record"]["age"] == 4
        assert got[2]["record"]["breed"] == "Lab"
        assert got[3]["from"] == {"table": "dog", "key": 2}
        assert got[4]["from"] == {"table": "dog", "key": 3}
        assert got[4]["record"]["id"] == 3
        assert got[5]["record"]["breed"] == "Pug"
        assert "record" not in got[6]
        assert "type bird @table" in got[7]["schema"]
        assert got[9]["record"]["name"] == "B"
        assert all(x["time"] > 1.7e12 for x in got)
        # one more: on the follower's output within a second or two of
        # its close (tail polls each second; .changes is never cached)
        n = len(tail.lines)
        t0 = time.monotonic()
        m.sh("""echo '{"name":"Late"}' > data/dog/9.json""")
        assert tail.wait_for(n + 1, timeout=10)
        assert tail.times[n] - t0 < 2.5, tail.times[n] - t0
        assert json.loads(tail.lines[n])["key"] == 9
    finally:
        tail.stop()
    # the feed as a whole says the same, and the kept lines follow
    all_lines = feed(m)
    assert seqs(all_lines) == list(range(1, len(all_lines) + 1))
    assert [json.loads(x) for x in tail.lines] == all_lines[first - 1:]
    m.check()


def test_cat_jq_grep_tail_on_the_feed(mnt):
    m = mnt
    m.sh("mkdir data/dog")
    for i in range(1, 31):
        m.sh("""echo '{"name":"d%d","breed":"%s"}' > data/dog/%d.json"""
             % (i, "Lab" if i % 3 == 0 else "Pug", i))
    out = m.sh("jq -c .seq data/.changes").stdout.split()
    assert list(map(int, out)) == list(range(1, 32))
    last = m.sh("tail -n 20 data/.changes").stdout.splitlines()
    assert [json.loads(x)["seq"] for x in last] == list(range(12, 32))
    assert m.sh("grep -c '\"breed\":\"Lab\"' data/.changes").stdout == "10\n"
    names = m.sh("jq -r 'select(.op==\"put\") | .record.name' "
                 "data/.changes").stdout.split()
    assert names == ["d%d" % i for i in range(1, 31)]
    # its size is its bytes, and grows with each change
    size = os.stat(m.p("data", ".changes")).st_size
    assert size == len(m.read("data", ".changes"))
    m.sh("rm data/dog/1.json")
    assert os.stat(m.p("data", ".changes")).st_size > size
    # reachable, never listed: find, tar and ls -a see records only
    assert ".changes" not in os.listdir(m.p("data"))
    assert ".history" not in os.listdir(m.p("data", "dog"))
    assert m.sh("find data -name '.changes*' -o -name '.history*'"
                ).stdout == ""
    assert os.listdir(m.p("data", "dog", ".history")) == []
    # read-only, with a line that says why; names it holds are taken
    r = m.sh("echo x > data/.changes", check=False)
    assert r.returncode != 0 and "Permission denied" in r.stderr
    assert "data/.changes: the change feed is read-only" in m.errors()
    r = m.sh("echo '{}' > data/dog/.history/2.ndjson", check=False)
    assert r.returncode != 0
    r = m.sh("mkdir data/dog/.history/x", check=False)
    assert r.returncode != 0
    m.check()


def test_changes_at_n_and_its_refusals(mnt):
    m = mnt
    m.sh("mkdir data/dog")
    for i in range(1, 6):
        m.sh("""echo '{"n":%d}' > data/dog/%d.json""" % (i, i))
    assert seqs(feed(m, ".changes@0")) == [1, 2, 3, 4, 5, 6]
    assert seqs(feed(m, ".changes@3")) == [4, 5, 6]
    assert feed(m, ".changes@6") == []  # the last: nothing after it, yet
    r = m.sh("cat data/.changes@7", check=False)
    assert r.returncode != 0 and "Invalid argument" in r.stderr
    assert "data/.changes@7: no change has seq 7: the last is 6" in \
        m.errors()
    for bad in ("@", "@x", "@01", "@-1", "x"):
        assert not os.path.exists(m.p("data", ".changes" + bad))
    # a reader of .changes@N follows like tail -f
    with open(m.p("data", ".changes@6"), "rb", buffering=0) as f:
        assert f.read() == b""
        m.sh("""echo '{"n":7}' > data/dog/7.json""")
        line = f.read()
        assert json.loads(line)["seq"] == 7


CONSUMER = r"""
import json, os, sys, time
mnt, progress = sys.argv[1], sys.argv[2]
last = 0
if os.path.exists(progress):
    with open(progress) as f:
        for line in f:
            last = int(line)
while True:
    try:
        f = open("%s/data/.changes@%d" % (mnt, last), "rb", buffering=0)
    except OSError:
        time.sleep(0.05)
        continue
    buf = b""
    try:
        while True:
            chunk = f.read(4096)
            if not chunk:
                time.sleep(0.02)
                continue
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                seq = json.loads(line)["seq"]
                with open(progress, "a") as p:
                    p.write("%d\n" % seq if seq == last + 1 else
                            "gap %d after %d\n" % (seq, last))
                if seq != last + 1:
                    sys.exit(3)
                last = seq
    except OSError:
        f.close()
        time.sleep(0.05)
"""


def test_consumer_resumes_after_kill9_of_itself_and_the_daemon(mnt):
    """A consumer that keeps the last seq it processed reads
    .changes@SEQ after each restart.  It is killed, then the daemon is
    killed right after answering a close it has not stored; after both
    restart, the consumer has seen every change once and in order, and
    every acknowledged write has its line."""
    m = mnt
    script = m.tmp / "consumer.py"
    script.write_text(CONSUMER)
    progress = m.tmp / "progress"

    def consumer():
        return subprocess.Popen([sys.executable, str(script), m.path,
                                 str(progress)])

    m.sh("mkdir data/dog")
    acked = []

    def write(i):
        try:
            with open(m.p("data", "dog", "%d.json" % i), "w") as f:
                f.write('{"n":%d}' % i)
            acked.append(i)
            return True
        except OSError:
            return False

    c = consumer()
    try:
        for i in range(1, 151):
            assert write(i)
        time.sleep(0.3)
        c.kill()  # -9, in the middle of its reading
        c.wait()
        for i in range(151, 301):
            assert write(i)
        c = consumer()
        # the daemon dies after answering its 40th close, not stored
        m.restart(env={"RECORDFS_CRASH_AFTER_ANSWER": "40"})
        i = 301
        while write(i):
            i += 1
        m.kill9()
        m.start()
        for j in range(i + 1, i + 101):
            assert write(j)
        lines = feed(m)
        last = lines[-1]["seq"]
        deadline = time.time() + 30
        while time.time() < deadline:
            done = progress.read_text().split("\n")[-2]
            if done == str(last) or not done.isdigit():
                break
            time.sleep(0.1)
    finally:
        c.kill()
        c.wait()
    got = progress.read_text().split()
    assert got == [str(s) for s in range(1, last + 1)], got[-5:]
    # every acknowledged write has its line, and each line its change
    put = {x["key"]: x["record"]["n"] for x in lines if x["op"] == "put"}
    assert set(acked) <= set(put)
    for k, n in put.items():
        assert json.loads(m.read("data", "dog", "%d.json" % k))["n"] == n
    assert i - 1 in acked and i - 1 in put  # the one answered, then killed
    m.check()


def test_retention_drops_the_oldest_and_says_too_late(tmp_path):
    from conftest import Mount
    m = Mount(tmp_path, ["-o", "changes=64K"])
    m.start()
    try:
        m.sh("mkdir data/dog")
        body = '{"name":"%s"}' % ("x" * 100)
        slow = open(m.p("data", ".changes"), "rb", buffering=0)
        slow.read(10)
        for i in range(1500):
            with open(m.p("data", "dog", "%d.json" % i), "w") as f:
                f.write(body)
        st = stats(m)
        assert st["changes_limit"] == 64 << 10
        # while changes come, at most an eighth past the limit; between
        # them (within a second or two), back to it
        assert st["changes_bytes"] <= (72 << 10) + 400, st
        deadline = time.time() + 10
        while st["changes_bytes"] > 64 << 10 and time.time() < deadline:
            time.sleep(0.1)
            st = stats(m)
        assert (60 << 10) < st["changes_bytes"] <= 64 << 10, st
        assert st["first_seq"] > 1000 and st["last_seq"] == 1501, st
        lines = feed(m)
        assert seqs(lines) == list(range(st["first_seq"], 1502))
        # the oldest went first: what is kept is the newest
        assert lines[-1]["key"] == 1499
        # too old: an error that says so, never a silent gap
        r = m.sh("cat data/.changes@5", check=False)
        assert r.returncode != 0 and "No data available" in r.stderr
        assert ("data/.changes@5: the changes after seq 5 are no longer "
                "kept: the oldest kept is seq %d" % st["first_seq"]) \
            in m.errors()
        with pytest.raises(OSError) as e:
            slow.read(4096)
        assert e.value.errno == errno.ENODATA
        assert "data/.changes: read too late" in m.errors()
        slow.close()
        # a record's history is trimmed with the feed
        assert feed(m, "dog/.history/3.ndjson") == []
        assert len(feed(m, "dog/.history/1499.ndjson")) == 1
        # seqs go on across a remount, and the limit is the mount's
        m.restart(["-o", "changes=1M"])
        m.sh("""echo '{"n":1}' > data/dog/2000.json""")
        assert feed(m)[-1]["seq"] == 1502
        assert stats(m)["changes_limit"] == 1 << 20
        # -o changes=0: no feed, no history, no line added
        m.restart(["-o", "changes=0"])
        assert not os.path.exists(m.p("data", ".changes"))
        assert not os.path.exists(m.p("data", "dog", ".history"))
        m.sh("""echo '{"n":2}' > data/dog/2001.json""")
        m.restart(["-o", "changes=1M"])
        m.sh("""echo '{"n":3}' > data/dog/2002.json""")
        # what was changed meanwhile no line tells: a gap line says so
        last = feed(m)[-3:]
        assert [(x["seq"], x["op"], x.get("key")) for x in last] == [
            (1502, "put", 2000), (1503, "gap", None), (1504, "put", 2002)]
        m.restart(["-o", "changes=1M"])  # told once
        assert feed(m)[-1]["seq"] == 1504
    finally:
        m.stop()


def test_history_of_a_record(mnt):
    m = mnt
    m.sh("mkdir data/dog data/cat")
    m.sh("""echo '{"name":"Rex","breed":"Lab"}' > data/dog/2.json""")
    m.sh("""echo '{"breed":"Pug"}' >> data/dog/2.json""")
    m.sh("""echo '{"name":"Other"}' > data/dog/4.json""")
    m.sh("sed -i 's/Pug/Husky/' data/dog/2.json")
    m.sh("mv data/dog/2.json data/dog/5.json")
    m.sh("""echo '{"breed":"Boxer"}' >> data/dog/5.json""")
    m.sh("mv data/dog/5.json data/cat/5.json")
    m.sh("rm data/cat/5.json")
    out = m.sh("cat data/dog/.history/2.ndjson | jq -r .record.breed"
               ).stdout.split()
    assert out == ["Lab", "Pug", "Husky", "Husky"]
    ops = m.sh("jq -r .op data/dog/.history/2.ndjson").stdout.split()
    assert ops == ["put", "put", "put", "rename"]
    h5 = feed(m, "dog/.history/5.ndjson")
    assert [(x["op"], x["table"]) for x in h5] == [
        ("rename", "dog"), ("put", "dog"), ("rename", "cat")]
    assert h5[1]["record"]["breed"] == "Boxer"
    c5 = feed(m, "cat/.history/5.ndjson")
    assert [x["op"] for x in c5] == ["rename", "delete"]
    # oldest first, other records apart, and sized like what it reads
    assert seqs(h5) == sorted(seqs(h5))
    assert all(x["key"] in (2, 5) for x in feed(m, "dog/.history/2.ndjson"))
    assert os.stat(m.p("data", "dog", ".history", "2.ndjson")).st_size == \
        len(m.read("data", "dog", ".history", "2.ndjson"))
    assert m.sh("tail -n 1 data/cat/.history/5.ndjson | jq -r .op"
                ).stdout == "delete\n"
    # a record that never was has an empty history; a bad name none
    assert m.read("data", "dog", ".history", "77.ndjson") == b""
    assert not os.path.exists(m.p("data", "dog", ".history", "7.json"))
    # a string key
    m.sh("""echo '{"v":1}' > data/dog/ab%2Fc.json""")
    assert feed(m, "dog/.history/ab%2Fc.ndjson")[0]["key"] == "ab/c"
    m.check()


def test_errors_follow_with_tail_f(mnt):
    m = mnt
    m.sh("mkdir data/dog")
    tail = Follower(m.p(".recordfs", "errors"))
    try:
        time.sleep(1.5)
        for i in range(3):
            m.sh("echo 'bad %d' > data/dog/%d.json" % (i, i), check=False)
        assert tail.wait_for(3), tail.lines
        assert ["data/dog/%d.json: bad JSON" % i in tail.lines[i]
                for i in range(3)] == [True] * 3
    finally:
        tail.stop()
    # past the 256 lines kept: a new reader starts at the oldest kept; a
    # reader left behind is told it read too late
    old = open(m.p(".recordfs", "errors"), "rb", buffering=0)
    old.read(10)
    for i in range(300):
        m.sh("echo 'bad' > data/dog/x%d.json" % i, check=False)
    text = m.errors().splitlines()
    assert len(text) == 256 and "x299.json" in text[-1]
    with pytest.raises(OSError) as e:
        old.read(4096)
    assert e.value.errno == errno.ENODATA
    old.close()
    assert ".recordfs/errors: read too late" in m.errors()


def test_lines_name_their_tables_among_many(mnt):
    # more tables than feed.c keeps names for, written in turns, and a
    # table dropped and made again under its name: each line names the
    # table its record is in
    names = ["t%02d" % i for i in range(40)]
    mnt.sh("mkdir " + " ".join("data/" + n for n in names))
    for r in range(3):
        for i, n in enumerate(names):
            mnt.sh("echo '{\"r\":%d}' > data/%s/%d.json" % (r, n, i))
    mnt.sh("rm -rf data/t07 && mkdir data/t07 && "
           "echo '{}' > data/t07/99.json && mv data/t08/8.json data/t09/")
    puts = [l for l in feed(mnt) if l["op"] == "put"]
    assert [(l["table"], l["key"]) for l in puts] == \
        [(n, i) for _ in range(3) for i, n in enumerate(names)] + \
        [("t07", 99)]
    ren = [l for l in feed(mnt) if l["op"] == "rename"]
    assert [(l["table"], l["key"], l["from"]) for l in ren] == \
        [("t09", 8, {"table": "t08", "key": 8})]

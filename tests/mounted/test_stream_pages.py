"""A table's stream read again from the kernel's pages (issue 16's export):
once DB/T.ndjson (.csv, .json) has been read to its end, its size is
known, and until the table changes the name gives a pages node: its
first reader fills the kernel's page cache, later readers read those
pages without asking the daemon.  Every change to the table's records,
however made, must end that: these tests read the stream before and
after each kind of change and compare it with the records, read through
their files, and with a read made with O_DIRECT (every byte from the
daemon).  Imports go on while readers read the pages, which keep their
text whole."""
import csv
import hashlib
import io
import json
import os
import re
import subprocess
import threading
import time

import pytest

PAD = "p" * 200


def stat_of(m, name):
    with open(m.p(".recordfs", "stats")) as f:
        for line in f:
            if line.startswith(name + " "):
                return int(line.split()[1])
    raise AssertionError("no %s line in stats" % name)


def ops(m):
    """The requests the daemon has served so far."""
    return stat_of(m, "operations")


def made(m):
    """The bytes of stream text the daemon has made for readers."""
    return stat_of(m, "exported_bytes")


def rest_of(fd, piece=65536):
    """What is left to read of fd (a descriptor), a read(2) at a time."""
    out = b""
    while True:
        b = os.read(fd, piece)
        if not b:
            return out
        out += b


def drop_caches():
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3")


def fresh(m, name):
    """The stream made now by the daemon: read with O_DIRECT, which asks
    the daemon for every byte, never the kernel's pages."""
    fd = os.open(m.p("data", name), os.O_RDONLY | os.O_DIRECT)
    try:
        return rest_of(fd, 1 << 20)
    finally:
        os.close(fd)


def records(m, table):
    """The table's records, read through their own files, by key."""
    d = m.p("data", table)
    out = {}
    for name in os.listdir(d):
        if name.endswith(".json"):
            with open(os.path.join(d, name)) as f:
                r = json.load(f)
            out[r["id"]] = r
    return out


def parsed(text, ext):
    """A stream's records, by key."""
    if ext == "ndjson":
        rs = [json.loads(l) for l in text.decode().splitlines()]
    elif ext == "json":
        rs = json.loads(text)
    else:
        rows = list(csv.DictReader(io.StringIO(text.decode(), newline="")))
        return {int(r["id"]): r for r in rows}
    return {r["id"]: r for r in rs}


def same_as_records(m, table, text, ext):
    got = parsed(text, ext)
    want = records(m, table)
    if ext == "csv":
        assert sorted(got) == sorted(want)
        for k, r in want.items():
            for a, v in r.items():
                if isinstance(v, str):
                    assert got[k][a] == v, (k, a)
                elif isinstance(v, (int, float)) and not isinstance(v, bool):
                    assert json.loads(got[k][a]) == v, (k, a)
    else:
        assert got == want


def fill(m, table, n, start=0):
    """n records of about 250 bytes, written as one stream import."""
    body = "".join(json.dumps({"id": i, "n": i, "pad": PAD}) + "\n"
                   for i in range(start, start + n))
    with open(m.p("data", table + ".ndjson"), "a") as f:
        f.write(body)


def read_twice(m, name):
    """Read the stream three times: the first read tells its size (stat
    shows it), the second fills the pages, the third must come from them
    (the daemon makes none of it); the same bytes each time."""
    first = m.read("data", name)
    assert os.stat(m.p("data", name)).st_size == len(first)
    assert m.read("data", name) == first
    before = made(m)
    third = m.read("data", name)
    assert third == first
    assert made(m) == before, "the daemon made a text the pages hold"
    assert os.stat(m.p("data", name)).st_size == len(first)
    return first


# -- the pages serve, and only while the table is unchanged -------------------

@pytest.mark.parametrize("ext", ["ndjson", "csv", "json"])
def test_an_unchanged_table_is_read_from_the_pages(mnt, ext):
    mnt.sh("mkdir data/dog")
    fill(mnt, "dog", 4000)
    assert os.stat(mnt.p("data", "dog." + ext)).st_size == 0  # not known
    text = mnt.read("data", "dog." + ext)
    assert len(text) > 900000
    assert read_twice(mnt, "dog." + ext) == text
    assert text == fresh(mnt, "dog." + ext)
    same_as_records(mnt, "dog", text, ext)
    # cat, wc and jq read the same bytes from the pages
    r = subprocess.run(["bash", "-c", "cat data/dog.%s | md5sum" % ext],
                       cwd=mnt.path, capture_output=True, check=True)
    assert r.stdout.split()[0].decode() == hashlib.md5(text).hexdigest()
    if ext == "ndjson":
        assert mnt.sh("wc -l < data/dog.ndjson").stdout.strip() == "4000"
        assert mnt.sh("jq -s length data/dog.ndjson").stdout.strip() \
            == "4000"
        # tail seeks from the size it is shown
        assert json.loads(mnt.sh("tail -n 1 data/dog.ndjson").stdout)[
            "id"] == 3999


CHANGES = {
    "create": """echo '{"n":-1}' > data/dog/90001.json""",
    "overwrite": """echo '{"n":-2}' > data/dog/17.json""",
    "merge": """echo '{"extra":true}' >> data/dog/18.json""",
    "sed -i": "sed -i 's/\"n\": 19,/\"n\": 1900,/' data/dog/19.json",
    "rm": "rm data/dog/20.json",
    "mv rename": "mv data/dog/21.json data/dog/90021.json",
    "mv onto": "mv data/dog/22.json data/dog/23.json",
    "mv out": "mkdir -p data/cat && mv data/dog/24.json data/cat/",
    "mv in": """mkdir -p data/cat && echo '{"c":1}' > data/cat/90025.json """
             "&& mv data/cat/90025.json data/dog/",
    "mv through .by": "mv data/dog/.by/n/26/26.json data/dog/.by/n/2600/",
    "append": """printf '{"id":27,"n":0}\\n{"id":90027}\\n' """
              ">> data/dog.ndjson",
    "replace": "head -c 0 /dev/null > /dev/null; jq -c 'select(.id % 2 == 0)'"
               " data/dog.ndjson > /tmp/half.$$ && "
               "cp /tmp/half.$$ data/dog.ndjson; rm -f /tmp/half.$$",
    "empty": ": > data/dog.ndjson",
    "rename to scratch": "mv data/dog/28.json data/dog/28.txt",
    "scratch to record": "echo '{\"s\":1}' > data/dog/x.tmp && "
                         "mv data/dog/x.tmp data/dog/90029.json",
}


@pytest.mark.parametrize("change", sorted(CHANGES))
@pytest.mark.parametrize("ext", ["ndjson", "csv"])
def test_every_change_ends_the_pages(mnt, change, ext):
    mnt.sh("mkdir data/dog")
    fill(mnt, "dog", 600)
    old = read_twice(mnt, "dog." + ext)
    t0 = os.stat(mnt.p("data", "dog." + ext)).st_mtime_ns
    time.sleep(0.01)
    mnt.sh(CHANGES[change])
    st = os.stat(mnt.p("data", "dog." + ext))
    assert st.st_size == 0  # no longer known
    assert st.st_mtime_ns > t0  # the table changed
    new = mnt.read("data", "dog." + ext)
    assert new != old
    assert new == fresh(mnt, "dog." + ext)
    same_as_records(mnt, "dog", new, ext)
    # and the new text serves from the pages in turn
    assert read_twice(mnt, "dog." + ext) == new


def test_changes_end_the_pages_with_the_feed_off(mnt):
    mnt.restart(opts=["-o", "changes=0"])
    mnt.sh("mkdir data/dog")
    fill(mnt, "dog", 300)
    for change in ("overwrite", "rm", "append", "mv rename"):
        old = read_twice(mnt, "dog.ndjson")
        mnt.sh(CHANGES[change])
        new = mnt.read("data", "dog.ndjson")
        assert new != old, change
        same_as_records(mnt, "dog", new, "ndjson")


def test_a_schema_change_ends_the_csv_pages(mnt):
    mnt.sh("mkdir data/dog")
    fill(mnt, "dog", 300)
    old = read_twice(mnt, "dog.csv")
    assert old.startswith(b"id,__createdtime__,__updatedtime__,n,pad\r\n")
    # declared, the table's columns come in the schema's order
    with open(mnt.p("data", "schema.graphql"), "w") as f:
        f.write('type Dog @table(table: "dog") {\n  id: Int @primaryKey\n'
                '  pad: String\n  n: Int\n}\n')
    new = mnt.read("data", "dog.csv")
    assert new.startswith(b"id,pad,n")
    assert new == fresh(mnt, "dog.csv")
    assert read_twice(mnt, "dog.csv") == new
    # tables made and dropped beside it: the same text, made again
    mnt.sh("mkdir data/emu && rmdir data/emu")
    assert mnt.read("data", "dog.csv") == new
    assert read_twice(mnt, "dog.csv") == new


def test_a_change_to_another_table_keeps_the_text(mnt):
    mnt.sh("mkdir data/dog data/cat")
    fill(mnt, "dog", 300)
    old = read_twice(mnt, "dog.ndjson")
    mnt.sh("""echo '{"n":1}' > data/cat/1.json""")
    assert read_twice(mnt, "dog.ndjson") == old


# -- readers of an older text, and the kernel dropping pages ------------------

def test_a_reader_of_the_pages_keeps_its_snapshot(mnt):
    mnt.sh("mkdir data/dog")
    fill(mnt, "dog", 3000)
    old = read_twice(mnt, "dog.ndjson")
    with open(mnt.p("data", "dog.ndjson"), "rb", buffering=0) as a:
        head = a.read(8192)
        mnt.sh("""echo '{"n":-1}' > data/dog/5.json; rm data/dog/7.json""")
        # its size stays its text's; the name's is not known now
        assert os.fstat(a.fileno()).st_size == len(old)
        assert os.stat(mnt.p("data", "dog.ndjson")).st_size == 0
        new = mnt.read("data", "dog.ndjson")
        assert new != old
        same_as_records(mnt, "dog", new, "ndjson")
        drop_caches()  # its pages go: it reads them from the daemon
        rest = rest_of(a.fileno(), 100000)
    assert head + rest == old
    again = mnt.read("data", "dog.ndjson")
    assert again == new
    assert read_twice(mnt, "dog.ndjson") == new


def test_dropped_pages_are_read_again(mnt):
    mnt.sh("mkdir data/dog")
    fill(mnt, "dog", 3000)
    old = read_twice(mnt, "dog.ndjson")
    drop_caches()
    assert mnt.read("data", "dog.ndjson") == old
    # a reader that skips about reads the same bytes
    with open(mnt.p("data", "dog.ndjson"), "rb") as f:
        f.seek(len(old) // 2)
        assert f.read(5000) == old[len(old) // 2:len(old) // 2 + 5000]
        f.seek(100)
        assert f.read(100) == old[100:200]
        f.seek(len(old) - 10)
        assert f.read() == old[-10:]


def test_a_reader_of_the_pages_reads_on_through_changes(mnt):
    mnt.sh("mkdir data/dog data/cat")
    fill(mnt, "dog", 3000)
    old = read_twice(mnt, "dog.ndjson")
    with open(mnt.p("data", "dog.ndjson"), "rb", buffering=0) as a:
        head = a.read(4096)
        for i in range(5):
            mnt.sh("echo '{\"n\":%d}' > data/dog/%d.json" % (-i, i))
            os.stat(mnt.p("data", "dog.ndjson"))
            mnt.read("data", "cat.ndjson")
        rest = rest_of(a.fileno())
        # its pages stayed: the daemon made none of its text again (an
        # open stream's line in stats counts the records it made)
        with open(mnt.p(".recordfs", "stats")) as f:
            lines = [l for l in f.read().splitlines()
                     if l.startswith("stream") and "data/dog.ndjson" in l]
        assert len(lines) == 1 and re.search(r"\b0 records", lines[0]), \
            lines
    assert head + rest == old


def test_imports_go_on_while_readers_read_the_pages(mnt):
    mnt.sh("mkdir data/dog")
    fill(mnt, "dog", 3000)
    old = read_twice(mnt, "dog.ndjson")
    body = b"".join(b'{"id":%d,"v":1}\n' % i for i in range(50))
    more = b'{"id":7,"w":2}\n'
    with open(mnt.p("data", "dog.ndjson"), "rb", buffering=0) as a:
        head = a.read(65536)
        # cp (O_TRUNC) and >> (O_APPEND) while a reader is mid-way
        t0 = time.time()
        assert mnt.write_close(body, "data", "dog.ndjson") == 0
        assert mnt.write_close(more, "data", "dog.ndjson",
                               flags=os.O_WRONLY | os.O_APPEND) == 0
        assert time.time() - t0 < 5
        r = subprocess.run(["bash", "-c", "cat data/dog.ndjson | wc -l"],
                           cwd=mnt.path, capture_output=True, text=True)
        assert r.stdout.strip() == "50"  # 7 replaced
        rest = rest_of(a.fileno())
        assert os.fstat(a.fileno()).st_size == len(old)
    assert head + rest == old
    new = mnt.read("data", "dog.ndjson")
    assert [json.loads(l)["id"] for l in new.splitlines()] == list(range(50))
    assert json.loads(new.splitlines()[7])["w"] == 2
    assert new == fresh(mnt, "dog.ndjson")
    assert read_twice(mnt, "dog.ndjson") == new


def test_a_reader_that_found_the_pages_before_a_change(mnt):
    """A name looked up before a change and opened after it: the open
    reads the table as it is then, not the pages."""
    mnt.sh("mkdir data/dog")
    fill(mnt, "dog", 300)
    read_twice(mnt, "dog.ndjson")
    d = os.open(mnt.p("data"), os.O_RDONLY)
    try:
        mnt.sh("""echo '{"n":-1}' > data/dog/5.json""")
        fd = os.open("dog.ndjson", os.O_RDONLY, dir_fd=d)
        with os.fdopen(fd, "rb") as f:
            text = f.read()
    finally:
        os.close(d)
    same_as_records(mnt, "dog", text, "ndjson")


def test_a_reader_that_stops_early_leaves_no_pages_in_use(mnt):
    mnt.sh("mkdir data/dog")
    fill(mnt, "dog", 3000)
    head = mnt.sh("head -n 2 data/dog.ndjson").stdout
    assert [json.loads(l)["id"] for l in head.splitlines()] == [0, 1]
    assert os.stat(mnt.p("data", "dog.ndjson")).st_size == 0
    text = mnt.read("data", "dog.ndjson")
    assert text.startswith(head.encode())
    assert read_twice(mnt, "dog.ndjson") == text


def test_a_dropped_table_and_a_new_one_of_that_name(mnt):
    mnt.sh("mkdir data/dog")
    fill(mnt, "dog", 300)
    read_twice(mnt, "dog.ndjson")
    mnt.sh("rm -rf data/dog && mkdir data/dog")
    assert mnt.read("data", "dog.ndjson") == b""
    fill(mnt, "dog", 5, start=100)
    text = mnt.read("data", "dog.ndjson")
    assert [json.loads(l)["id"] for l in text.splitlines()] == \
        list(range(100, 105))


def test_writers_at_once_all_go_through(mnt):
    """Writers sent back from the pages all reach the stream: none is
    ESTALE, however many open at once."""
    mnt.sh("mkdir data/dog")
    fill(mnt, "dog", 2000)
    read_twice(mnt, "dog.ndjson")
    r = mnt.sh("for i in $(seq 8); do "
               "(echo \"{\\\"id\\\":$((90000 + i))}\" >> data/dog.ndjson) & "
               "done; wait; echo done", check=False)
    assert r.returncode == 0 and "Stale" not in r.stderr, r.stderr
    ids = [json.loads(l)["id"] for l in
           mnt.read("data", "dog.ndjson").splitlines()]
    assert ids[-8:] == list(range(90001, 90009))
    assert len(ids) == 2008


def test_a_read_only_open_with_o_trunc_is_a_write(mnt):
    mnt.sh("mkdir data/dog")
    fill(mnt, "dog", 300)
    old = read_twice(mnt, "dog.ndjson")
    with open(mnt.p("data", "dog.ndjson"), "rb", buffering=0) as a:
        a.read(10)
        # O_RDONLY|O_TRUNC on the pages would cut the size the kernel
        # knows for this reader: it goes to the stream instead
        try:
            os.close(os.open(mnt.p("data", "dog.ndjson"),
                             os.O_RDONLY | os.O_TRUNC))
        except OSError:
            pass
        assert os.fstat(a.fileno()).st_size == len(old)
        assert a.read() == old[10:]


def test_a_reopen_through_dev_fd_reads_its_files_text(mnt):
    mnt.sh("mkdir data/dog")
    fill(mnt, "dog", 300)
    old = read_twice(mnt, "dog.ndjson")
    r = mnt.sh("exec 3< data/dog.ndjson; "
               "echo '{\"n\":-1}' > data/dog/5.json; "
               "cat /dev/fd/3 | md5sum; cat /proc/self/fd/3 | wc -c; "
               "exec 3<&-")
    import hashlib
    lines = r.stdout.split("\n")
    assert lines[0].split()[0] == hashlib.md5(old).hexdigest()
    assert int(lines[1]) == len(old)
    new = mnt.read("data", "dog.ndjson")
    assert new != old
    same_as_records(mnt, "dog", new, "ndjson")

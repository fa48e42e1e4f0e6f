"""A stream import larger than the disk: ENOSPC, nothing half-applied.

The data directory is a 64 MiB tmpfs of its own.  A stream is spooled
beside the database as it is written, so a text larger than the disk is
refused at the write that does not fit (bash's >> reports it); one that
fits the spool but whose records do not fit the data file is refused at
close (cp reports it).  Either way the table is as before, the error log
says why, and the mount goes on taking writes.
"""
import json
import os
import subprocess

import pytest


def lines(first, n, pad):
    return "".join(json.dumps({"id": i, "name": "dog%d" % i, "pad": pad})
                   + "\n" for i in range(first, first + n))


def table(m):
    return m.read("data", "t.ndjson")


def test_stream_larger_than_the_disk(small, tmp_path):
    small.sh("mkdir data/t")
    small.sh("cat > data/t.ndjson", input=lines(0, 200, "x" * 50))
    before = table(small)
    assert before.count(b"\n") == 200
    # 96 MiB of text onto a 64 MiB disk: refused at a write
    big = tmp_path / "big.ndjson"
    big.write_text(lines(1000, 96 * 1024, "y" * 900))
    r = small.sh("cat %s >> data/t.ndjson" % big, check=False)
    assert r.returncode != 0
    assert "No space left on device" in r.stderr
    assert table(small) == before
    assert "data/t.ndjson: No space left on device" in small.errors()
    # the spool is gone with its file: the disk has its room back
    st = os.statvfs(small.p("data"))
    assert st.f_bavail * st.f_frsize > 16 << 20
    small.sh("""echo '{"name":"after"}' > data/t/5000.json""")
    assert json.loads(small.read("data", "t", "5000.json"))["name"] == "after"


def test_records_larger_than_the_data_file_can_hold(small, tmp_path):
    """The text fits beside the database; its records, with their index
    entries, do not: the close is refused and nothing is stored."""
    small.sh("mkdir data/t")
    small.sh("cat > data/t.ndjson", input=lines(0, 100, "x"))
    before = table(small)
    # many small records with many indexed attributes: the data file
    # needs several times the text's size
    text = "".join(json.dumps(dict({"id": i}, **{"a%d" % k: "v%d-%d" % (i, k)
                                                 for k in range(12)}),
                              separators=(",", ":"))
                   + "\n" for i in range(1000, 1000 + 120000))
    src = tmp_path / "many.ndjson"
    src.write_text(text)
    assert len(text) < 28 << 20
    r = subprocess.run(["cp", str(src), small.p("data", "t.ndjson")],
                       capture_output=True, text=True)
    assert r.returncode != 0, "the import fit: make it larger"
    assert "No space left on device" in r.stderr
    assert table(small) == before
    assert "data/t.ndjson: No space left on device" in small.errors()
    small.sh("""echo '{"name":"after"}' > data/t/7000.json""")
    assert b'"after"' in small.read("data", "t", "7000.json")
    small.stop()
    small.check()
    small.start()
    assert table(small).count(b"\n") == 101


def test_an_append_onto_a_full_disk_fails_its_write(small):
    """bash's >> ignores what close says: an import whose records cannot
    fit is refused at the write, so the shell says so, and nothing is
    stored."""
    small.restart(["-o", "changes=0"])
    small.sh("mkdir data/t")
    small.sh("cat > data/t.ndjson", input=lines(0, 10, "x"))
    before = table(small)
    # fill the disk with records, large then small, until none fits
    n = 0
    for size in (256 << 10, 16 << 10, 1 << 10):
        body = json.dumps({"s": "y" * size})
        while True:
            r = small.sh("cat > data/t/f%d.json" % n, check=False,
                         input=body)
            if r.returncode != 0:
                assert "No space left on device" in r.stderr
                break
            n += 1
    assert n > 100
    before = table(small)
    r = small.sh("printf '{\"id\":900001,\"a\":1}\\n{\"id\":900002}\\n' "
                 ">> data/t.ndjson", check=False)
    assert r.returncode != 0
    assert "write error: No space left on device" in r.stderr
    assert table(small) == before
    assert "data/t.ndjson: No space left on device" in small.errors()
    # room made again: the same append goes through
    for i in range(20):
        os.unlink(small.p("data", "t", "f%d.json" % i))
    small.sh("printf '{\"id\":900001,\"a\":1}\\n{\"id\":900002}\\n' "
             ">> data/t.ndjson")
    assert table(small).count(b"\n") == before.count(b"\n") - 20 + 2

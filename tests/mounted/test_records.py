"""Databases, tables and records through ls, cat, echo, cp, dd, rm, mv."""
import errno
import json
import os
import subprocess

import pytest


def rec(m, *parts):
    return json.loads(m.read(*parts))


def test_default_database_and_listing(mnt):
    assert sorted(os.listdir(mnt.path)) == ["data"]
    # reachable, never listed
    assert os.path.isdir(mnt.p(".recordfs"))
    assert sorted(os.listdir(mnt.p(".recordfs"))) == ["errors", "stats"]
    assert os.path.isdir(mnt.datadir + "/data")
    assert os.path.exists(mnt.datadir + "/data/data.mdb")


def test_mkdir_rmdir_databases_and_tables(mnt):
    mnt.sh("mkdir pets && mkdir pets/dog pets/cat")
    assert mnt.sh("ls").stdout.split() == ["data", "pets"]
    assert mnt.sh("ls pets").stdout.split() == ["cat", "dog", "schema.graphql"]
    assert os.path.exists(mnt.datadir + "/pets/data.mdb")
    r = mnt.sh("rmdir pets", check=False)
    assert r.returncode != 0 and "Directory not empty" in r.stderr
    assert "pets: the database still has tables" in mnt.errors()
    with pytest.raises(FileExistsError):
        os.mkdir(mnt.p("pets", "dog"))
    mnt.sh("echo '{}' > pets/dog/1.json")
    with pytest.raises(OSError) as e:
        os.rmdir(mnt.p("pets", "dog"))
    assert e.value.errno == errno.ENOTEMPTY
    mnt.sh("rmdir pets/cat && rm -rf pets/dog && rmdir pets")
    assert mnt.sh("ls").stdout.split() == ["data"]
    assert not os.path.exists(mnt.datadir + "/pets")
    # names that would clash with derived files or hide are refused
    for bad in ["dog.json", "a%b"]:
        with pytest.raises(OSError) as e:
            os.mkdir(mnt.p("data", bad))
        assert e.value.errno == errno.EINVAL
    assert "data/dog.json: a table name must not hold" in mnt.errors()
    # tables and databases survive a remount
    mnt.sh("mkdir data/dog")
    mnt.restart()
    assert mnt.sh("ls data").stdout.split() == ["dog", "schema.graphql"]


def test_echo_cat_canonical(mnt):
    mnt.sh("mkdir data/dog")
    mnt.sh("""echo '{"name":"Zelda","age":3,"tags":["a","b"],"o":{}}' > data/dog/2.json""")
    text = mnt.read("data", "dog", "2.json").decode()
    r = json.loads(text)
    assert r["id"] == 2 and r["name"] == "Zelda" and r["age"] == 3
    assert isinstance(r["__createdtime__"], int)
    assert r["__updatedtime__"] == r["__createdtime__"]
    expect = ('{\n  "id": 2,\n  "name": "Zelda",\n  "age": 3,\n  "tags": [\n'
              '    "a",\n    "b"\n  ],\n  "o": {},\n'
              '  "__createdtime__": %d,\n  "__updatedtime__": %d\n}\n'
              % (r["__createdtime__"], r["__updatedtime__"]))
    assert text == expect
    # stat gives the exact size
    assert os.stat(mnt.p("data", "dog", "2.json")).st_size == len(text)
    assert mnt.sh("wc -c < data/dog/2.json").stdout.strip() == str(len(text))
    assert mnt.sh("ls data/dog").stdout.split() == ["2.json"]
    # jq reads it
    assert mnt.sh("jq -r .name data/dog/2.json").stdout == "Zelda\n"


def test_string_keys_and_key_in_body(mnt):
    mnt.sh("mkdir data/dog")
    mnt.sh("""echo '{"id":"Zelda","age":1}' > data/dog/Zelda.json""")
    assert rec(mnt, "data", "dog", "Zelda.json")["id"] == "Zelda"
    mnt.sh("""echo '{"id":7}' > data/dog/7.json""")
    assert rec(mnt, "data", "dog", "7.json")["id"] == 7
    # a string that reads as a number has its first character encoded
    mnt.sh("""echo '{"id":"7"}' > data/dog/%37.json""")
    assert rec(mnt, "data", "dog", "%37.json")["id"] == "7"
    # key in the body disagreeing with the name: echo itself fails
    r = mnt.sh("""echo '{"id":8,"name":"x"}' > data/dog/9.json""", check=False)
    assert r.returncode != 0
    assert "write error: Invalid argument" in r.stderr
    assert not os.path.exists(mnt.p("data", "dog", "9.json"))
    r = mnt.sh("""echo '{"id":"7"}' > data/dog/7.json""", check=False)
    assert "Invalid argument" in r.stderr
    assert rec(mnt, "data", "dog", "7.json")["id"] == 7
    assert "data/dog/9.json:" in mnt.errors()
    assert sorted(os.listdir(mnt.p("data", "dog"))) == \
        ["%37.json", "7.json", "Zelda.json"]


def test_bad_json_refused_at_write_and_old_record_stays(mnt):
    mnt.sh("mkdir data/dog && echo '{\"name\":\"Rex\"}' > data/dog/1.json")
    before = mnt.read("data", "dog", "1.json")
    for body in ['[1,2]', '"text"', '{"a":1} {"b":2}', 'garbage',
                 '{"a":1,}']:
        r = mnt.sh("printf '%%s\\n' '%s' > data/dog/1.json" % body,
                   check=False)
        assert r.returncode != 0, body
        assert mnt.read("data", "dog", "1.json") == before, body
    assert "data/dog/1.json:" in mnt.errors()
    # a truncated JSON text is only known to be bad at close
    assert mnt.write_close(b'{"name": "Max"', "data", "dog",
                           "1.json") == errno.EINVAL
    assert mnt.read("data", "dog", "1.json") == before


def test_plain_body_then_more_writes(mnt):
    """A whole plain body in one write is read without json-c; what a later
    write adds after it is still checked at that write, from the first
    byte, and what one writes over it is checked at close."""
    mnt.sh("mkdir data/dog")
    path = mnt.p("data", "dog", "1.json")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.write(fd, b'{"name":"Rex","age":3}')
    os.write(fd, b'\n\n')
    os.close(fd)
    assert rec(mnt, "data", "dog", "1.json")["age"] == 3
    before = mnt.read("data", "dog", "1.json")

    def refused_at_write(*writes):
        """All but the last of writes go in; the last is refused (EINVAL),
        the close too, and the record stays as it was."""
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
        for w in writes[:-1]:
            os.write(fd, w)
        with pytest.raises(OSError) as e:
            os.write(fd, writes[-1])
        assert e.value.errno == errno.EINVAL
        with pytest.raises(OSError):
            os.close(fd)
        assert mnt.read("data", "dog", "1.json") == before

    refused_at_write(b'{"name":"Max"}', b',{"a":1}')
    assert "only whitespace may follow the object" in mnt.errors()
    # bytes written over are checked whole at close, as after any
    # checked write: a state on the way to the body is no refusal
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
    os.write(fd, b'{"count":10}')
    os.pwrite(fd, b'{"count":9}', 0)  # {"count":9}} until the truncate
    os.ftruncate(fd, 11)
    os.close(fd)
    assert rec(mnt, "data", "dog", "1.json")["count"] == 9
    before = mnt.read("data", "dog", "1.json")
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
    os.write(fd, b'{"name":"Ace","n":12345}')
    os.pwrite(fd, b'{"name":"Ace","n":01', 0)
    with pytest.raises(OSError) as e:
        os.close(fd)
    assert e.value.errno == errno.EINVAL
    assert mnt.read("data", "dog", "1.json") == before
    # a plain body whose key disagrees with the name is refused at write
    refused_at_write(b'{"id":2,"name":"Max"}')


def test_empty_write_and_touch_create_key_only_record(mnt):
    mnt.sh("mkdir data/dog && : > data/dog/5.json && touch data/dog/6.json")
    for k in (5, 6):
        r = rec(mnt, "data", "dog", "%d.json" % k)
        assert r["id"] == k
        assert sorted(r) == ["__createdtime__", "__updatedtime__", "id"]
    # touch on an existing record changes nothing in it
    before = mnt.read("data", "dog", "5.json")
    mnt.sh("touch data/dog/5.json")
    assert mnt.read("data", "dog", "5.json") == before


def test_timestamps_kept_through_sed(mnt):
    mnt.sh("mkdir data/dog && echo '{\"name\":\"Rex\"}' > data/dog/1.json")
    r1 = rec(mnt, "data", "dog", "1.json")
    import time
    time.sleep(0.01)
    mnt.sh("sed -i 's/Rex/Max/' data/dog/1.json")
    r2 = rec(mnt, "data", "dog", "1.json")
    assert r2["name"] == "Max"
    assert r2["__createdtime__"] == r1["__createdtime__"]
    assert r2["__updatedtime__"] > r1["__updatedtime__"]
    # carrying a wrong creation time back does not change it
    mnt.sh("""echo '{"name":"Max","__createdtime__":5}' > data/dog/1.json""")
    assert rec(mnt, "data", "dog", "1.json")["__createdtime__"] == \
        r1["__createdtime__"]


def test_cp_tee_dd(mnt, tmp_path):
    mnt.sh("mkdir data/dog")
    src = tmp_path / "big.json"
    big = {"name": "x" * 300000, "n": list(range(1000))}
    src.write_text(json.dumps(big))
    mnt.sh("cp %s data/dog/1.json" % src)
    r = rec(mnt, "data", "dog", "1.json")
    assert r["name"] == big["name"] and r["n"] == big["n"]
    mnt.sh("""echo '{"via":"tee"}' | tee data/dog/2.json > /dev/null""")
    assert rec(mnt, "data", "dog", "2.json")["via"] == "tee"
    # writes at offsets, out of order, in one open
    fd = os.open(mnt.p("data", "dog", "3.json"), os.O_WRONLY | os.O_CREAT)
    os.pwrite(fd, b'456789"}', 10)
    os.pwrite(fd, b'{"a":"0123', 0)
    os.close(fd)
    assert rec(mnt, "data", "dog", "3.json")["a"] == "0123456789"
    # dd into the middle of a record, keeping the rest
    text = mnt.read("data", "dog", "3.json")
    at = text.index(b"0123")
    mnt.sh("printf ABCD | dd of=data/dog/3.json bs=1 seek=%d conv=notrunc "
           "status=none" % at)
    assert rec(mnt, "data", "dog", "3.json")["a"] == "ABCD456789"
    # dd that breaks it is refused at close, and the record stays
    r = mnt.sh("printf x | dd of=data/dog/3.json bs=1 seek=%d conv=notrunc "
               "status=none" % (at - 1), check=False)
    assert r.returncode != 0 and "Invalid argument" in r.stderr
    assert rec(mnt, "data", "dog", "3.json")["a"] == "ABCD456789"
    # > truncation of an existing record
    mnt.sh("""echo '{"b":1}' > data/dog/3.json""")
    r = rec(mnt, "data", "dog", "3.json")
    assert "a" not in r and r["b"] == 1


def test_rm_and_mv(mnt):
    mnt.sh("mkdir data/dog data/cat pets_dummy 2>/dev/null; "
           "echo '{\"n\":1}' > data/dog/1.json; echo '{\"n\":2}' > data/dog/2.json")
    mnt.sh("rm data/dog/2.json")
    assert os.listdir(mnt.p("data", "dog")) == ["1.json"]
    with pytest.raises(FileNotFoundError):
        open(mnt.p("data", "dog", "2.json"))
    ino = os.stat(mnt.p("data", "dog", "1.json")).st_ino
    r1 = rec(mnt, "data", "dog", "1.json")
    mnt.sh("mv data/dog/1.json data/dog/Rex.json")
    r = rec(mnt, "data", "dog", "Rex.json")
    assert r["id"] == "Rex" and r["n"] == 1
    assert r["__createdtime__"] == r1["__createdtime__"]
    assert os.stat(mnt.p("data", "dog", "Rex.json")).st_ino == ino
    assert os.listdir(mnt.p("data", "dog")) == ["Rex.json"]
    # between tables of one database
    mnt.sh("mv data/dog/Rex.json data/cat/")
    assert os.listdir(mnt.p("data", "dog")) == []
    assert rec(mnt, "data", "cat", "Rex.json")["n"] == 1
    # onto an existing record replaces it
    mnt.sh("echo '{\"n\":9}' > data/cat/9.json && mv data/cat/9.json data/cat/Rex.json")
    r = rec(mnt, "data", "cat", "Rex.json")
    assert r == {**r, "id": "Rex", "n": 9}
    assert os.listdir(mnt.p("data", "cat")) == ["Rex.json"]


def test_mv_across_databases_copies(mnt):
    mnt.sh("mkdir pets pets/dog data/dog && echo '{\"n\":1}' > data/dog/1.json")
    with pytest.raises(OSError) as e:
        os.rename(mnt.p("data", "dog", "1.json"), mnt.p("pets", "dog", "1.json"))
    assert e.value.errno == errno.EXDEV
    mnt.sh("mv data/dog/1.json pets/dog/")
    assert rec(mnt, "pets", "dog", "1.json")["n"] == 1
    assert os.listdir(mnt.p("data", "dog")) == []


def test_inodes_stable_and_times(mnt):
    mnt.sh("mkdir data/dog && echo '{}' > data/dog/1.json")
    st = os.stat(mnt.p("data", "dog", "1.json"))
    r = rec(mnt, "data", "dog", "1.json")
    assert abs(st.st_mtime * 1000 - r["__updatedtime__"]) < 2
    # birth time (statx) is the creation, and stays across updates
    import time
    time.sleep(1.1)
    mnt.sh("echo '{\"a\":1}' > data/dog/1.json")
    birth = mnt.sh("stat -c %W data/dog/1.json").stdout.strip()
    assert birth != "0" and birth != "-"
    assert int(birth) == r["__createdtime__"] // 1000
    st2 = os.stat(mnt.p("data", "dog", "1.json"))
    assert st2.st_mtime_ns > st.st_mtime_ns
    assert int(mnt.sh("stat -c %W data/dog/1.json").stdout) < st2.st_mtime
    st = st2
    tino = os.stat(mnt.p("data", "dog")).st_ino
    mnt.restart()
    assert os.stat(mnt.p("data", "dog", "1.json")).st_ino == st.st_ino
    assert os.stat(mnt.p("data", "dog")).st_ino == tino
    assert os.stat(mnt.p("data", "dog", "1.json")).st_mtime_ns == st.st_mtime_ns
    inos = set()
    mnt.sh("for i in $(seq 1 50); do echo '{}' > data/dog/$i.json; done")
    for n in os.listdir(mnt.p("data", "dog")):
        inos.add(os.stat(mnt.p("data", "dog", n)).st_ino)
    assert len(inos) == 50
    # readdir's inode numbers agree with stat
    for e in os.scandir(mnt.p("data", "dog")):
        assert e.inode() == os.stat(e.path).st_ino


def test_compact_option(mnt):
    mnt.sh("mkdir data/dog && echo '{\"name\": \"a b\", \"l\": [1, 2]}' > data/dog/1.json")
    mnt.restart(["-o", "json=compact"])
    text = mnt.read("data", "dog", "1.json").decode()
    r = json.loads(text)
    assert text == ('{"id":1,"name":"a b","l":[1,2],"__createdtime__":%d,'
                    '"__updatedtime__":%d}\n'
                    % (r["__createdtime__"], r["__updatedtime__"]))
    assert os.stat(mnt.p("data", "dog", "1.json")).st_size == len(text)


def test_refusals_have_errno_and_log_line(mnt):
    mnt.sh("mkdir data/dog")
    with pytest.raises(OSError) as e:
        open(mnt.p("data", "x.json"), "w")
    assert e.value.errno == errno.EPERM
    with pytest.raises(OSError) as e:
        os.mkdir(mnt.p("data", "dog", "sub"))
    assert e.value.errno == errno.EPERM
    with pytest.raises(OSError) as e:
        open(mnt.p("data", "dog", "%41.json"), "w")
    assert e.value.errno == errno.EINVAL
    with pytest.raises(OSError) as e:
        open(mnt.p("data", "dog", "x" * 256), "w")
    assert e.value.errno == errno.ENAMETOOLONG
    log = mnt.errors()
    assert "data/x.json: only tables" in log
    assert "data/dog/sub: a table holds records" in log
    assert "data/dog/%41.json:" in log
    # and the daemon's own log says the same
    mnt.stop()
    assert "data/dog/%41.json:" in mnt.log()
    mnt.start()


def test_efbig(mnt, tmp_path):
    mnt.sh("mkdir data/dog")
    big = tmp_path / "big"
    big.write_bytes(b" " * (16 * 1024 * 1024 + 10))
    r = mnt.sh("cp %s data/dog/1.json" % big, check=False)
    assert r.returncode != 0 and "File too large" in r.stderr
    r = mnt.sh("cp %s data/dog/scratch.bin" % big, check=False)
    assert r.returncode != 0 and "File too large" in r.stderr
    assert "16 MiB" in mnt.errors()


def test_map_grows(tmp_path):
    from conftest import Mount
    m = Mount(tmp_path, ["-o", "initial_map=1M"]).start()
    try:
        m.sh("mkdir data/dog")
        blob = "y" * 100000
        for i in range(60):
            with open(m.p("data", "dog", "%d.json" % i), "w") as f:
                f.write('{"b":"%s%d"}' % (blob, i))
        assert len(os.listdir(m.p("data", "dog"))) == 60
        assert json.loads(m.read("data", "dog", "59.json"))["b"].endswith("59")
        stats = m.read(".recordfs", "stats").decode()
        line = [l for l in stats.splitlines() if l.startswith("db data ")][0]
        assert int(line.split()[3]) > 6 * 1024 * 1024
    finally:
        m.stop()

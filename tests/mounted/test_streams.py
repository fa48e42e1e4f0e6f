"""Streams (issue 16): a whole table, or the records of a query, as one
file.  DB/T.ndjson, DB/T.csv and DB/T.json beside every table, and
T/.by/.../VALUE.ndjson (.csv, .json) for any query directory: reachable,
never listed, read with cat, head, wc, jq, cp or python; a table's stream
written with cp or > replaces the table, with >> upserts, in one
transaction, and a bad line refuses the whole stream."""
import csv
import errno
import io
import json
import os
import re
import stat
import subprocess
import time

import pytest

from conftest import BIN, AnonPeak

MKDB = os.environ.get("RECORDFS_MKDB", os.path.join(
    os.path.dirname(BIN), "..", "tests", "mkdb"))
# The large tests: BIG lines written through one open import (a few
# seconds), and a table of HUGE records made offline by mkdb whose head
# must come at once.
BIG = int(os.environ.get("RECORDFS_STREAM_BIG", "50000"))
HUGE = int(os.environ.get("RECORDFS_STREAM_HUGE", "1000000"))

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-"
                  r"[0-9a-f]{12}$")


# -- helpers ----------------------------------------------------------------

def run(m, cmd, input=None):
    """bash -c cmd in the mount, bytes in and out (CSV keeps its CRLF)."""
    if isinstance(input, str):
        input = input.encode()
    return subprocess.run(["bash", "-c", cmd], cwd=m.path,
                          capture_output=True, input=input)


def out(m, cmd, input=None):
    r = run(m, cmd, input)
    assert r.returncode == 0, "%s: exit %d\n%s" % (cmd, r.returncode,
                                                    r.stderr.decode())
    return r.stdout


def put(m, table, key, body, db="data"):
    """Write one record through its file; body is JSON text or a dict."""
    if not isinstance(body, str):
        body = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    with open(m.p(db, table, "%s.json" % key), "w") as f:
        f.write(body)


def rec(m, table, name, db="data"):
    return json.loads(m.read(db, table, name))


def ls(m, *parts):
    return sorted(os.listdir(m.p(*parts)))


def lines_of(data):
    """The records of an NDJSON text, parsed."""
    return [json.loads(l) for l in data.decode().split("\n") if l]


def no_times(r, which=("__updatedtime__",)):
    return {k: v for k, v in r.items() if k not in which}


def now_ms():
    return int(time.time() * 1000)


def table_state(m, t, db="data"):
    """What a user sees of table t apart from its streams: every record's
    text, and the listing of every index value directory."""
    recs = {n: m.read(db, t, n) for n in os.listdir(m.p(db, t))}
    by = {}
    for a in os.listdir(m.p(db, t, ".by")):
        for v in os.listdir(m.p(db, t, ".by", a)):
            by[(a, v)] = sorted(os.listdir(m.p(db, t, ".by", a, v)))
    return recs, by


def close_errno(fd):
    """Close fd; the errno the close gives, or 0."""
    try:
        os.close(fd)
    except OSError as e:
        return e.errno
    return 0


def error_lines(m, needle):
    return [l for l in m.errors().splitlines() if needle in l]


def write_schema(m, text, db="data"):
    src = os.path.join(str(m.tmp), "new.graphql")
    with open(src, "w") as f:
        f.write(text)
    out(m, "cp %s %s/schema.graphql" % (src, db))


def tmpfile(m, name, data):
    path = os.path.join(str(m.tmp), name)
    with open(path, "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)
    return path


def bash_write(m, op, path, text):
    """bash's own printf with > or >> onto path: one write of text."""
    return run(m, 'BODY=$(cat; echo .); printf "%%s" "${BODY%%.}" %s %s'
               % (op, path), input=text)


def dogs(m, rows, table="dog"):
    m.sh("mkdir data/%s" % table)
    for k, v in rows.items():
        put(m, table, k, v)


# -- 1. names ---------------------------------------------------------------

def test_stream_names_are_reachable_never_listed(mnt):
    dogs(mnt, {1: {"breed": "Lab", "age": 3}, 2: {"breed": "Pug", "age": 5}})
    # readdir shows no stream anywhere
    assert out(mnt, "ls -a data").split() == \
        [b".", b"..", b"dog", b"schema.graphql"]
    assert out(mnt, "ls -a data/dog").split() == \
        [b".", b"..", b"1.json", b"2.json"]
    assert out(mnt, "ls -a data/dog/.by/breed").split() == \
        [b".", b"..", b"Lab", b"Pug"]
    assert out(mnt, "ls -a data/dog/.by/breed/Lab").split() == \
        [b".", b"..", b"1.json"]
    assert out(mnt, "ls -a data/dog/.by/breed/Lab/.by/age").split() == \
        [b".", b"..", b"3"]
    assert out(mnt, "find data | sort").split() == \
        [b"data", b"data/dog", b"data/dog/1.json", b"data/dog/2.json",
         b"data/schema.graphql"]
    # lookup finds each: a regular file, size 0, 0644 for a table's
    # streams and 0444 for a query's
    for ext in ("ndjson", "csv", "json"):
        st = os.stat(mnt.p("data", "dog." + ext))
        assert stat.S_ISREG(st.st_mode) and st.st_size == 0, ext
        assert stat.S_IMODE(st.st_mode) == 0o644, oct(st.st_mode)
        for q in ("breed/Lab.", "age/3..7.", "breed/Lab/.by/age/3.",
                  "breed/Poodle."):
            st = os.stat(mnt.p("data", "dog", ".by", q + ext))
            assert stat.S_ISREG(st.st_mode) and st.st_size == 0, q + ext
            assert stat.S_IMODE(st.st_mode) == 0o444, (q + ext,
                                                        oct(st.st_mode))
    assert out(mnt, "stat -c '%F %s %a' data/dog.ndjson") == \
        b"regular empty file 0 644\n"
    # and still never listed after the lookups
    assert ls(mnt, "data") == ["dog", "schema.graphql"]
    assert ls(mnt, "data", "dog", ".by", "breed") == ["Lab", "Pug"]
    # a table that does not exist has no streams
    for name in ("cat.ndjson", "cat.csv", "cat.json"):
        with pytest.raises(FileNotFoundError):
            os.stat(mnt.p("data", name))
        r = run(mnt, "cat data/" + name)
        assert r.returncode != 0 and b"No such file" in r.stderr
    for name in ("dog.xml", "dog.NDJSON", "dog.ndjson.ndjson"):
        with pytest.raises(FileNotFoundError):
            os.stat(mnt.p("data", name))
    with pytest.raises(FileNotFoundError):
        os.stat(mnt.p("data", "dog", ".by", "nosuch", "x.ndjson"))
    with pytest.raises(FileNotFoundError):
        os.stat(mnt.p("data", "dog", ".by", "nosuch.ndjson"))
    # a value nobody holds is an empty query
    assert mnt.read("data", "dog", ".by", "breed", "Poodle.ndjson") == b""
    assert mnt.read("data", "dog", ".by", "breed", "Poodle.json") == b"[]\n"
    # the streams go with the table and come back with a new one
    mnt.sh("rm -rf data/dog")
    for ext in ("ndjson", "csv", "json"):
        r = run(mnt, "cat data/dog." + ext)
        assert r.returncode != 0 and b"No such file" in r.stderr, ext
    mnt.sh("mkdir data/dog")
    assert mnt.read("data", "dog.ndjson") == b""
    assert mnt.read("data", "dog.json") == b"[]\n"
    assert mnt.read("data", "dog.csv") == b"id\r\n"
    # in another database too
    mnt.sh("mkdir pets pets/cat")
    assert mnt.read("pets", "cat.json") == b"[]\n"
    assert ls(mnt, "pets") == ["cat", "schema.graphql"]


def test_a_stream_name_is_never_a_file_of_its_own(mnt):
    """DB/T.ndjson exists only while table T does: writing it for a table
    that does not exist must not pass for an import (cp would say it
    copied what no table holds), and once T exists the name is T's."""
    src = tmpfile(mnt, "cats.ndjson", '{"id":1,"name":"Tom"}\n')
    first = run(mnt, "cp %s data/cat.ndjson" % src)
    mnt.sh("mkdir data/cat")
    assert ls(mnt, "data") == ["cat", "schema.graphql"]
    assert mnt.read("data", "cat.ndjson") == b""
    out(mnt, "cp %s data/cat.ndjson" % src)
    assert ls(mnt, "data", "cat") == ["1.json"]
    assert ls(mnt, "data") == ["cat", "schema.graphql"]
    assert first.returncode != 0, "cp onto the stream of no table succeeded"


# -- 2. reading a table -----------------------------------------------------

# (file name key, the key's JSON text, the body written)
BODIES = [
    ("1", "1", '{"i":1,"f":2.5,"s":"3","em":"","tr":"true","ab":"a,b",'
     '"q":"q\\"uote","nl":"x\\ny","n":null,"b":true,"c":false,'
     '"arr":[1,"x",null],"obj":{"z":1,"a":[2]}}'),
    ("10", "10", "{}"),
    ("-7", "-7", '{"s":"neg"}'),
    ("2", "2", '{"i":-7,"f":0.5,"s":"plain","nl":"a\\r\\nb"}'),
    ("%32", '"2"', '{"i":2}'),
    ("B", '"B"', '{"u":"ünï"}'),
    ("a", '"a"', '{"s":"[x","tr":"null","ab":"{y","q":"\\"lead"}'),
]
# key order: integers numerically, then strings bytewise
ORDER = ["-7", "1", "2", "10", "%32", "B", "a"]
# each record's CSV cells, written out by hand from the contract
CELLS = {
    "1": {"ab": '"a,b"', "arr": '"[1,""x"",null]"', "b": "true",
          "c": "false", "em": '""""""', "f": "2.5", "i": "1", "n": "null",
          "nl": '"x\ny"', "obj": '"{""z"":1,""a"":[2]}"', "q": '"q""uote"',
          "s": '"""3"""', "tr": '"""true"""'},
    "10": {},
    "-7": {"s": "neg"},
    "2": {"i": "-7", "f": "0.5", "s": "plain", "nl": '"a\r\nb"'},
    "%32": {"i": "2"},
    "B": {"u": "ünï"},
    "a": {"s": '"""[x"""', "tr": '"""null"""', "ab": '"""{y"""',
          "q": '"""\\""lead"""'},
}
KEYCELL = {"-7": "-7", "1": "1", "2": "2", "10": "10", "%32": '"""2"""',
           "B": "B", "a": "a"}


def expected_table(m):
    """The three streams of table t as the contract spells them, from the
    bodies written and each record's times."""
    body = {k: (kt, b) for k, kt, b in BODIES}
    nd, rows = [], []
    cols = sorted({"__createdtime__", "__updatedtime__"} |
                  {a for _, _, b in BODIES for a in json.loads(b)})
    for k in ORDER:
        kt, b = body[k]
        r = rec(m, "t", k + ".json")
        c, u = r["__createdtime__"], r["__updatedtime__"]
        inner = b[1:-1]
        nd.append('{"id":%s,%s"__createdtime__":%d,"__updatedtime__":%d}'
                  % (kt, inner + "," if inner else "", c, u))
        cells = dict(CELLS[k], __createdtime__=str(c), __updatedtime__=str(u))
        rows.append(",".join([KEYCELL[k]] + [cells.get(a, "") for a in cols]))
    ndjson = "".join(l + "\n" for l in nd)
    js = "[\n" + ",\n".join(nd) + "\n]\n"
    csvt = "".join(l + "\r\n" for l in [",".join(["id"] + cols)] + rows)
    return ndjson.encode(), js.encode(), csvt.encode(), nd


def test_table_streams_exact_bytes(mnt):
    mnt.sh("mkdir data/t")
    for k, _, b in BODIES:
        put(mnt, "t", k, b)
    ndjson, js, csvt, nd = expected_table(mnt)
    assert out(mnt, "cat data/t.ndjson") == ndjson
    assert out(mnt, "cat data/t.json") == js
    assert out(mnt, "cat data/t.csv") == csvt
    # the same bytes to python, cp, and reads of a few bytes at a time
    for ext, want in (("ndjson", ndjson), ("json", js), ("csv", csvt)):
        with open(mnt.p("data", "t." + ext), "rb") as f:
            assert f.read() == want, ext
        with open(mnt.p("data", "t." + ext), encoding="utf-8",
                  newline="") as f:
            assert f.read() == want.decode(), ext
        out(mnt, "cp data/t.%s %s/copy" % (ext, mnt.tmp))
        with open(os.path.join(str(mnt.tmp), "copy"), "rb") as f:
            assert f.read() == want, ext
        assert out(mnt, "dd if=data/t.%s bs=7 status=none" % ext) == want
    # line tools
    assert out(mnt, "wc -l < data/t.ndjson") == b"7\n"
    assert out(mnt, "wc -l < data/t.csv") == b"10\n"  # two cells hold a LF
    assert out(mnt, "head -1 data/t.ndjson") == (nd[0] + "\n").encode()
    assert out(mnt, "head -1 data/t.csv") == csvt.split(b"\r\n")[0] + b"\r\n"
    assert out(mnt, "head -c 2 data/t.json") == b"[\n"
    assert out(mnt, "tail -1 data/t.ndjson") == (nd[-1] + "\n").encode()
    # jq reads both JSON forms
    want = [json.loads(l) for l in nd]
    assert json.loads(out(mnt, "jq -c . data/t.json")) == want
    assert lines_of(out(mnt, "jq -c . data/t.ndjson")) == want
    assert out(mnt, "jq -r '.[].id' data/t.json") == b"-7\n1\n2\n10\n2\nB\na\n"
    assert out(mnt, "jq -c 'select(.i == 1) | .obj' data/t.ndjson") == \
        b'{"z":1,"a":[2]}\n'
    # a CSV reader gets the values' texts back
    rows = list(csv.reader(io.StringIO(csvt.decode(), newline="")))
    assert len(rows) == 8
    head = rows[0]
    r1 = dict(zip(head, rows[2]))
    assert r1["id"] == "1" and r1["s"] == '"3"' and r1["em"] == '""'
    assert r1["nl"] == "x\ny" and r1["q"] == 'q"uote' and r1["ab"] == "a,b"
    assert json.loads(r1["arr"]) == [1, "x", None]
    assert dict(zip(head, rows[3]))["nl"] == "a\r\nb"
    assert dict(zip(head, rows[5]))["id"] == '"2"'
    # the stream's lines are what -o json=compact shows for each record
    mnt.restart(["-o", "json=compact"])
    assert mnt.read("data", "t.ndjson") == \
        b"".join(mnt.read("data", "t", k + ".json") for k in ORDER)


# -- 3. query streams -------------------------------------------------------

QDOGS = {
    1: {"name": "Rex", "breed": "Lab", "age": 3, "tags": ["big", "calm"]},
    2: {"name": "Zelda", "breed": "Pug", "age": 7, "tags": ["small"]},
    3: {"name": "Max", "breed": "Lab", "age": 10, "tags": ["big"]},
    4: {"name": "Ace", "breed": "Lab", "age": 3, "tags": []},
    5: {"name": "Bo", "breed": "Pug", "age": 3, "tags": ["calm"]},
    "Zed": {"name": "Zed", "breed": "Lab", "age": 5, "tags": ["x"]},
}


def test_query_streams(mnt):
    dogs(mnt, QDOGS)
    # every record has the same attributes, so a query's CSV has the
    # table's header and the table's rows for its records
    table = out(mnt, "cat data/dog.ndjson").decode().split("\n")[:-1]
    line = {json.loads(l)["id"]: l for l in table}
    assert list(line) == [1, 2, 3, 4, 5, "Zed"]
    tcsv = out(mnt, "cat data/dog.csv").decode().split("\r\n")[:-1]
    header, row = tcsv[0], {r.split(",")[0]: r for r in tcsv[1:]}
    assert header == "id,__createdtime__,__updatedtime__,age,breed,name,tags"

    def nd(*keys):
        return "".join(line[k] + "\n" for k in keys).encode()

    def js(*keys):
        if not keys:
            return b"[]\n"
        return ("[\n" + ",\n".join(line[k] for k in keys) + "\n]\n").encode()

    def cs(*keys):
        return "".join(l + "\r\n" for l in
                       [header] + [row[str(k)] for k in keys]).encode()

    by = "data/dog/.by/"
    assert out(mnt, "cat %sbreed/Lab.ndjson" % by) == nd(1, 3, 4, "Zed")
    assert out(mnt, "cat %sbreed/Lab.json" % by) == js(1, 3, 4, "Zed")
    assert out(mnt, "cat %sbreed/Lab.csv" % by) == cs(1, 3, 4, "Zed")
    assert out(mnt, "cat %sage/3..7.csv" % by) == cs(1, 2, 4, 5, "Zed")
    assert out(mnt, "cat %sage/3..7.ndjson" % by) == nd(1, 2, 4, 5, "Zed")
    assert out(mnt, "cat %sbreed/Lab/.by/age/3.json" % by) == js(1, 4)
    assert out(mnt, "cat %sbreed/Lab/.by/age/3.ndjson" % by) == nd(1, 4)
    assert out(mnt, "cat %sage/3/.by/breed/Pug.ndjson" % by) == nd(5)
    assert out(mnt, "cat %sbreed/Lab/.by/age/4..10.json" % by) == js(3, "Zed")
    # an array attribute: each record once, however many elements match
    assert out(mnt, "cat %stags/big.ndjson" % by) == nd(1, 3)
    assert out(mnt, "cat %stags/b..d.ndjson" % by) == nd(1, 3, 5)
    # tools
    assert out(mnt, "wc -l < %sbreed/Lab.ndjson" % by) == b"4\n"
    assert out(mnt, "jq -r '.[].name' %sbreed/Lab.json" % by) == \
        b"Rex\nMax\nAce\nZed\n"
    assert out(mnt, "cd %sbreed && head -1 Pug.ndjson" % by) == nd(2)
    with open(mnt.p("data", "dog", ".by", "age", "3..7.ndjson"), "rb") as f:
        assert f.read() == nd(1, 2, 4, 5, "Zed")
    # a query whose records change reads the new ones (nothing cached)
    put(mnt, "dog", 6, {"name": "Six", "breed": "Lab", "age": 3, "tags": []})
    got = lines_of(out(mnt, "cat %sbreed/Lab/.by/age/3.ndjson" % by))
    assert [r["id"] for r in got] == [1, 4, 6]
    mnt.sh("rm data/dog/6.json")
    assert out(mnt, "cat %sbreed/Lab/.by/age/3.ndjson" % by) == nd(1, 4)


def test_value_names_with_a_stream_suffix(mnt):
    dogs(mnt, {1: {"a": "x.json"}, 2: {"a": "x"}, 3: {"a": "y.ndjson"},
               4: {"a": "z.csv"}, 5: {"a": "v.txt"}, 6: {"a": "x"}})
    line = {json.loads(l)["id"]: l for l in
            out(mnt, "cat data/dog.ndjson").decode().split("\n")[:-1]}
    # the '.' before a stream suffix is encoded in the value's directory
    assert out(mnt, "ls data/dog/.by/a").split() == \
        [b"v.txt", b"x", b"x%2Ejson", b"y%2Endjson", b"z%2Ecsv"]
    by = mnt.p("data", "dog", ".by", "a")
    assert os.path.isdir(os.path.join(by, "x%2Ejson"))
    assert ls(mnt, by, "x%2Ejson") == ["1.json"]
    assert ls(mnt, by, "y%2Endjson") == ["3.json"]
    # so x.json is the stream of the value "x"
    assert os.path.isfile(os.path.join(by, "x.json"))
    assert out(mnt, "cat data/dog/.by/a/x.json") == \
        ("[\n%s,\n%s\n]\n" % (line[2], line[6])).encode()
    assert out(mnt, "cat data/dog/.by/a/x.ndjson") == \
        ("%s\n%s\n" % (line[2], line[6])).encode()
    # and x%2Ejson.ndjson the stream of the value "x.json"
    assert out(mnt, "cat data/dog/.by/a/x%2Ejson.ndjson") == \
        (line[1] + "\n").encode()
    assert out(mnt, "cat data/dog/.by/a/x%2Ejson.json") == \
        ("[\n" + line[1] + "\n]\n").encode()
    assert out(mnt, "cat data/dog/.by/a/y%2Endjson.ndjson") == \
        (line[3] + "\n").encode()
    assert json.loads(out(mnt, "jq -c '.[0]' data/dog/.by/a/z%2Ecsv.json")) \
        == json.loads(line[4])
    assert out(mnt, "cat data/dog/.by/a/v.txt.ndjson") == \
        (line[5] + "\n").encode()
    # the value "x.json" through its directory
    assert out(mnt, "cat data/dog/.by/a/x%2Ejson/1.json | jq -r .a") == \
        b"x.json\n"


def test_query_streams_are_read_only(mnt):
    dogs(mnt, QDOGS)
    before = table_state(mnt, "dog")
    queries = ["breed/Lab.ndjson", "age/3..7.csv", "breed/Lab/.by/age/3.json",
               "breed/Poodle.ndjson"]
    for q in queries:
        path = mnt.p("data", "dog", ".by", q)
        for flags in (os.O_WRONLY | os.O_TRUNC, os.O_WRONLY | os.O_APPEND,
                      os.O_RDWR | os.O_APPEND):
            with pytest.raises(OSError) as e:
                os.close(os.open(path, flags))
            assert e.value.errno == errno.EPERM, (q, flags)
        with pytest.raises(OSError) as e:
            open(path, "w")
        assert e.value.errno == errno.EPERM
    for op in (">", ">>"):
        r = run(mnt, """echo '{"id":1,"breed":"Pug"}' %s """
                "data/dog/.by/breed/Lab.ndjson" % op)
        assert r.returncode != 0
        assert b"Operation not permitted" in r.stderr, r.stderr
    r = run(mnt, "cp data/dog.ndjson data/dog/.by/breed/Lab.ndjson")
    assert r.returncode != 0 and b"Operation not permitted" in r.stderr
    assert table_state(mnt, "dog") == before
    mnt.check()
    # the error log names the path, and says to write the table's stream
    lines = error_lines(mnt, "table's stream")
    assert len(lines) == 4 * len(queries) + 3, mnt.errors()
    assert error_lines(mnt, "data/dog/.by/breed/Lab.ndjson:"), mnt.errors()
    assert error_lines(mnt, "data/dog/.by/age/3..7.csv:"), mnt.errors()


# -- 4. one snapshot per open -----------------------------------------------

@pytest.mark.parametrize("ext", ["ndjson", "csv", "json"])
def test_a_read_sees_the_table_as_it_was_at_open(mnt, ext):
    mnt.sh("mkdir data/dog")
    pad = "p" * 300
    for i in range(1500):
        put(mnt, "dog", i, {"n": i, "pad": pad})
    before = mnt.read("data", "dog." + ext)
    assert len(before) > 400000
    with open(mnt.p("data", "dog." + ext), "rb", buffering=0) as f:
        first = f.read(4096)
        assert first == before[:4096]
        # other clients change, delete and add records, one by a stream
        mnt.sh("""echo '{"n":-1}' > data/dog/1000.json""")
        mnt.sh("rm data/dog/1200.json data/dog/3.json")
        mnt.sh("""echo '{"n":5000}' > data/dog/5000.json""")
        mnt.sh("""printf '{"id":1300,"n":0}\\n{"id":7000}\\n' """
               ">> data/dog.ndjson")
        # a reader opened now sees them
        now = lines_of(mnt.read("data", "dog.ndjson"))
        assert [r["id"] for r in now if r["id"] in (3, 1200, 5000, 7000)] \
            == [5000, 7000]
        rest = b""
        while True:
            b = f.read(65536)
            if not b:
                break
            rest += b
    assert first + rest == before
    after = mnt.read("data", "dog." + ext)
    assert after != before


# -- 5. importing -----------------------------------------------------------

def test_cp_replaces_the_table_exactly(mnt):
    dogs(mnt, {1: {"name": "Rex", "breed": "Lab"},
               2: {"name": "Zelda", "breed": "Pug"},
               3: {"name": "Max", "breed": "Lab"}})
    c2 = rec(mnt, "dog", "2.json")["__createdtime__"]
    time.sleep(0.01)
    src = tmpfile(mnt, "dogs.ndjson",
                  '{"id":2,"name":"Zelda","breed":"Poodle",'
                  '"__createdtime__":5}\n'
                  '{"id":4,"name":"Ace","breed":"Beagle","age":4}\n'
                  '\n'
                  '{"id":"k","name":"Kay","breed":"Beagle","tags":["a"]}\n'
                  '{"id":5,"name":"Old","__createdtime__":1000,'
                  '"__updatedtime__":7}\n'
                  '{"id":"4","name":"Str4"}\n')
    for n in ("1.json", "2.json", "3.json"):  # in the kernel's caches
        os.stat(mnt.p("data", "dog", n))
        mnt.read("data", "dog", n)
    t0 = now_ms()
    out(mnt, "cp %s data/dog.ndjson" % src)
    t1 = now_ms()
    # the records gone are gone for every path, the others read new
    for n in ("1.json", "3.json"):
        assert not os.path.exists(mnt.p("data", "dog", n)), n
        r = run(mnt, "cat data/dog/" + n)
        assert r.returncode != 0 and b"No such file" in r.stderr
    assert json.loads(mnt.read("data", "dog", "2.json"))["breed"] == "Poodle"
    # the number 4 and the string "4" are two keys
    assert ls(mnt, "data", "dog") == ["%34.json", "2.json", "4.json",
                                      "5.json", "k.json"]
    got = lines_of(mnt.read("data", "dog.ndjson"))
    assert [no_times(r, ("__createdtime__", "__updatedtime__"))
            for r in got] == [
        {"id": 2, "name": "Zelda", "breed": "Poodle"},
        {"id": 4, "name": "Ace", "breed": "Beagle", "age": 4},
        {"id": 5, "name": "Old"},
        {"id": "4", "name": "Str4"},
        {"id": "k", "name": "Kay", "breed": "Beagle", "tags": ["a"]}]
    r2, r4, r5, rk = (rec(mnt, "dog", n) for n in
                      ("2.json", "4.json", "5.json", "k.json"))
    # a replaced record keeps its creation time (whatever the line says), a
    # new one takes the line's; the update time is the commit's, for all
    assert r2["__createdtime__"] == c2
    assert t0 <= r2["__updatedtime__"] <= t1 + 1
    assert r4["__updatedtime__"] == r2["__updatedtime__"] == \
        r5["__updatedtime__"] == rk["__updatedtime__"]
    assert t0 <= r4["__createdtime__"] <= t1 + 1
    assert r5["__createdtime__"] == 1000
    # the indexes follow
    assert ls(mnt, "data", "dog", ".by", "breed") == ["Beagle", "Poodle"]
    assert ls(mnt, "data", "dog", ".by", "breed", "Beagle") == \
        ["4.json", "k.json"]
    assert ls(mnt, "data", "dog", ".by", "breed", "Lab") == []
    assert ls(mnt, "data", "dog", ".by", "name") == \
        ["Ace", "Kay", "Old", "Str4", "Zelda"]
    assert ls(mnt, "data", "dog", ".by", "tags", "a") == ["k.json"]
    assert ls(mnt, "data", "dog", ".by", "age", "4") == ["4.json"]
    assert out(mnt, "cat data/dog/.by/breed/Beagle.ndjson | jq -r .name") \
        == b"Ace\nKay\n"
    # python's 'w' and bash's > replace the same way, also from CSV and JSON
    with open(mnt.p("data", "dog.ndjson"), "w") as f:
        f.write('{"id":9,"breed":"Lab"}\n')
    assert ls(mnt, "data", "dog") == ["9.json"]
    r = bash_write(mnt, ">", "data/dog.csv", "id,breed\r\n7,Pug\r\n8,Lab\r\n")
    assert r.returncode == 0, r.stderr
    assert ls(mnt, "data", "dog") == ["7.json", "8.json"]
    assert ls(mnt, "data", "dog", ".by", "breed", "Lab") == ["8.json"]
    r = bash_write(mnt, ">", "data/dog.json",
                   '[{"id":1,"breed":"Pug"},\n {"id":2}]\n')
    assert r.returncode == 0, r.stderr
    assert ls(mnt, "data", "dog") == ["1.json", "2.json"]
    assert ls(mnt, "data", "dog", ".by", "breed") == ["Pug"]
    # the records stay after a restart
    mnt.restart()
    assert ls(mnt, "data", "dog") == ["1.json", "2.json"]
    assert ls(mnt, "data", "dog", ".by", "breed", "Pug") == ["1.json"]


def test_append_upserts_and_empty_truncate_empties(mnt):
    dogs(mnt, {1: {"name": "Rex", "breed": "Lab"},
               2: {"name": "Zelda", "breed": "Pug"},
               3: {"name": "Max", "breed": "Lab"}})
    r1, r3 = mnt.read("data", "dog", "1.json"), mnt.read("data", "dog",
                                                         "3.json")
    c2 = rec(mnt, "dog", "2.json")["__createdtime__"]
    r = bash_write(mnt, ">>", "data/dog.ndjson",
                   '{"id":2,"breed":"Poodle"}\n{"id":7,"name":"New"}\n')
    assert r.returncode == 0, r.stderr
    assert ls(mnt, "data", "dog") == ["1.json", "2.json", "3.json", "7.json"]
    # the others untouched, 2 replaced whole (not merged), its creation kept
    assert mnt.read("data", "dog", "1.json") == r1
    assert mnt.read("data", "dog", "3.json") == r3
    r2 = rec(mnt, "dog", "2.json")
    assert no_times(r2, ("__createdtime__", "__updatedtime__")) == \
        {"id": 2, "breed": "Poodle"}
    assert r2["__createdtime__"] == c2
    assert ls(mnt, "data", "dog", ".by", "breed") == ["Lab", "Poodle"]
    assert ls(mnt, "data", "dog", ".by", "name", "Zelda") == []
    # CSV and JSON append the same way; python's 'a' too
    src = tmpfile(mnt, "more.csv", "id,name\r\n8,Eight\r\n1,One\r\n")
    out(mnt, "cat %s >> data/dog.csv" % src)
    assert no_times(rec(mnt, "dog", "1.json"),
                    ("__createdtime__", "__updatedtime__")) == \
        {"id": 1, "name": "One"}
    assert rec(mnt, "dog", "8.json")["name"] == "Eight"
    out(mnt, """echo '[{"id":9},{"id":3,"x":[1]}]' >> data/dog.json""")
    assert rec(mnt, "dog", "3.json")["x"] == [1]
    assert "name" not in rec(mnt, "dog", "3.json")
    with open(mnt.p("data", "dog.ndjson"), "a") as f:
        f.write('{"id":10}\n')
    assert ls(mnt, "data", "dog") == \
        ["1.json", "10.json", "2.json", "3.json", "7.json", "8.json",
         "9.json"]
    assert ls(mnt, "data", "dog", ".by", "x", "1") == ["3.json"]
    # appending nothing changes nothing
    before = table_state(mnt, "dog")
    out(mnt, ": >> data/dog.ndjson")
    assert table_state(mnt, "dog") == before
    mnt.check()
    # truncating with nothing written empties the table, which stays
    out(mnt, ": > data/dog.ndjson")
    assert ls(mnt, "data", "dog") == []
    assert ls(mnt, "data") == ["dog", "schema.graphql"]
    assert mnt.read("data", "dog.ndjson") == b""
    lab = mnt.p("data", "dog", ".by", "breed", "Lab")
    assert not os.path.exists(lab) or os.listdir(lab) == []
    mnt.restart()
    assert ls(mnt, "data", "dog") == []


def test_generated_keys(mnt):
    dogs(mnt, {3: {}, 10: {}, "x": {}})
    r = bash_write(mnt, ">>", "data/dog.ndjson",
                   '{"name":"a"}\n{"id":5,"name":"five"}\n{"name":"b"}\n')
    assert r.returncode == 0, r.stderr
    assert ls(mnt, "data", "dog") == ["10.json", "11.json", "12.json",
                                      "3.json", "5.json", "x.json"]
    assert rec(mnt, "dog", "11.json")["name"] == "a"
    assert rec(mnt, "dog", "12.json")["name"] == "b"
    # from CSV without an id column, and from JSON
    out(mnt, "printf 'name\\r\\nc\\r\\n' >> data/dog.csv")
    out(mnt, """echo '[{"name":"d"}]' >> data/dog.json""")
    assert rec(mnt, "dog", "13.json")["name"] == "c"
    assert rec(mnt, "dog", "14.json")["name"] == "d"
    # .next goes on after them, and never hands them out again
    assert out(mnt, "cat data/dog/.next") == b"15\n"
    # a fresh table, written whole
    mnt.sh("mkdir data/cat")
    out(mnt, """printf '{"n":1}\\n{"n":2}\\n' > data/cat.ndjson""")
    assert [(r["id"], r["n"]) for r in
            lines_of(mnt.read("data", "cat.ndjson"))] == [(1, 1), (2, 2)]
    # ID keys: a UUID each
    write_schema(mnt, 'type Owner @table(table: "owner") {\n'
                 '  id: ID @primaryKey\n  name: String\n}\n')
    out(mnt, """printf '{"name":"a"}\\n{"name":"b"}\\n' > data/owner.ndjson""")
    names = ls(mnt, "data", "owner")
    assert len(names) == 2
    for n in names:
        assert UUID.match(n[:-5]), n
        assert rec(mnt, "owner", n)["id"] == n[:-5]
    assert sorted(r["name"] for r in
                  lines_of(mnt.read("data", "owner.ndjson"))) == ["a", "b"]
    mnt.check()


DECLARED = """\
type Dog @table(table: "dog") {
  id: Int @primaryKey
  name: String! @indexed
  breed: String @indexed
  age: Int @indexed
  score: Float
  good: Boolean
  tags: [String] @indexed
  extra: Any
}
"""


def test_declared_table_import_checks_types(mnt):
    write_schema(mnt, DECLARED)
    csv_in = ('id,name,breed,age,score,good,tags,extra,note\r\n'
              '1,Rex,Lab,3,2.5,true,"[""a"",""b""]","{""x"":1}",hello\r\n'
              '2,3,"""Lab""",,1,false,,5,"""7"""\r\n'
              '3,true,null,,,,,"""s""",\r\n')
    src = tmpfile(mnt, "in.csv", csv_in)
    out(mnt, "cp %s data/dog.csv" % src)
    assert lines_of(mnt.read("data", "dog.ndjson")) == [
        {"id": 1, "name": "Rex", "breed": "Lab", "age": 3, "score": 2.5,
         "good": True, "tags": ["a", "b"], "extra": {"x": 1},
         "note": "hello"},
        {"id": 2, "name": "3", "breed": "Lab", "score": 1, "good": False,
         "extra": 5, "note": "7"},
        {"id": 3, "name": "true", "breed": "null", "extra": "s"}]
    # the header: the key, the declared attributes in schema order, then
    # the others; a string that reads as JSON is written as its JSON text
    assert mnt.read("data", "dog.csv") == (
        'id,name,breed,age,score,good,tags,extra,note\r\n'
        '1,Rex,Lab,3,2.5,true,"[""a"",""b""]","{""x"":1}",hello\r\n'
        '2,"""3""",Lab,,1,false,,5,"""7"""\r\n'
        '3,"""true""","""null""",,,,,s,\r\n').encode()
    assert ls(mnt, "data", "dog", ".by", "breed") == ["%6Eull", "Lab"]
    assert ls(mnt, "data", "dog", ".by", "tags", "b") == ["1.json"]
    mnt.check()
    before = table_state(mnt, "dog")
    stream_before = mnt.read("data", "dog.ndjson")
    refusals = [
        ("dog.csv", ">>", "id,name,age\r\n4,Max,4\r\n5,Bo,five\r\n", 3,
         '"age"'),
        ("dog.csv", ">>", 'id,name,age\r\n4,Max,"""4"""\r\n', 2, '"age"'),
        ("dog.ndjson", ">>", '{"id":5,"name":"A"}\n{"id":6,"age":1}\n', 2,
         '"name"'),
        ("dog.ndjson", ">", '{"id":5,"name":"A"}\n{"id":6,"name":7}\n', 2,
         '"name"'),
        ("dog.ndjson", ">>", '{"id":"x","name":"A"}\n', 1, '"id"'),
        ("dog.json", ">", '[{"id":5,"name":"A"},\n{"id":6,"name":"B",'
         '"tags":"t"}]\n', 2, '"tags"'),
    ]
    for name, op, text, n, attr in refusals:
        r = bash_write(mnt, op, "data/" + name, text)
        assert r.returncode != 0, (name, text)
        assert b"write error: Invalid argument" in r.stderr, r.stderr
        lines = error_lines(mnt, "data/%s: line %d:" % (name, n))
        assert lines and attr in lines[-1], (text, mnt.errors())
        assert table_state(mnt, "dog") == before, text
        assert mnt.read("data", "dog.ndjson") == stream_before
        mnt.check()
    # what fits is stored
    out(mnt, """echo '{"id":6,"name":"Six","age":6}' >> data/dog.ndjson""")
    assert rec(mnt, "dog", "6.json")["age"] == 6


# -- 6. round trips ---------------------------------------------------------

EVERY = {
    1: {"int": 42, "neg": -7, "zero": 0, "big": 9223372036854775807,
        "float": 2.5, "exp": 1e-07, "negf": -0.5, "t": True, "f": False,
        "n": None, "s": "plain", "e": "", "num": "3", "numf": "2.5",
        "bools": "true", "nul": "null", "comma": "a,b", "quote": 'q"uote',
        "lead": '"x"', "nl": "x\ny", "crlf": "a\r\nb", "tab": "a\tb",
        "bs": "back\\slash", "uni": "ünï ✓", "ctl": "\u0001",
        "arr": [1, "two", None, True, [3], {"k": "v"}], "earr": [],
        "obj": {"a": 1, "b": {"c": [None]}}, "eobj": {},
        "br": "[not json", "cb": "{nope", "sp": " ", "pad": "  a "},
    2: {"s": "only s", 'we,ird "name"\r\n': 1, "ünï": "u"},
    -7: {"int": 1},
    10: {},
    "%32": {"s": "the key is the string 2"},
    "B": {"sp": " 3", "sp2": "3 ", "dot": "1.", "z": "-0", "lz": "01",
          "ex": "1e5", "nan": "NaN", "inf": "Infinity", "tru": "True",
          "nu": "nul", "sq": "'3'", "neg": "-", "arr": "[1]", "obj": "{}"},
    "a,b": {"x": 1},
    'q"k': {"x": 2},
    "x%0Ay": {"x": 3},
}


@pytest.mark.parametrize("ext", ["ndjson", "csv", "json"])
def test_round_trip(mnt, ext):
    mnt.sh("mkdir data/src data/dst")
    for k, v in EVERY.items():
        put(mnt, "src", k, v)
    first = mnt.read("data", "src." + ext)
    out(mnt, "cp data/src.%s %s/export.%s" % (ext, mnt.tmp, ext))
    out(mnt, "cp %s/export.%s data/dst.%s" % (mnt.tmp, ext, ext))
    again = mnt.read("data", "dst." + ext)
    # the same records under the same names; only the update time moved
    assert ls(mnt, "data", "dst") == ls(mnt, "data", "src")
    names = os.listdir(mnt.p("data", "src"))
    diff = {n: (no_times(rec(mnt, "src", n)), no_times(rec(mnt, "dst", n)))
            for n in names}
    diff = {n: {a: (s.get(a, "(absent)"), d.get(a, "(absent)"))
                for a in set(s) | set(d) if s.get(a, ()) != d.get(a, ())}
            for n, (s, d) in diff.items()}
    assert {n: d for n, d in diff.items() if d} == {}, "(before, after)"
    if ext == "csv":
        def cells(data):
            rows = list(csv.reader(io.StringIO(data.decode(), newline="")))
            i = rows[0].index("__updatedtime__")
            return [r[:i] + r[i + 1:] for r in rows]
        assert cells(again) == cells(first)
        assert first.count(b"\r\n") >= len(EVERY) + 1
    else:
        if ext == "ndjson":
            a, b = lines_of(first), lines_of(again)
        else:
            a, b = json.loads(first), json.loads(again)
        assert [no_times(r) for r in a] == [no_times(r) for r in b]
        assert len(a) == len(EVERY)
        # the text too, but for the update times
        mask = re.compile(rb'"__updatedtime__":\d+')
        assert mask.sub(b"", again) == mask.sub(b"", first)
    # and what was imported is indexed
    assert ls(mnt, "data", "dst", ".by", "x") == ls(mnt, "data", "src",
                                                     ".by", "x")
    assert ls(mnt, "data", "dst", ".by", "s", "plain") == ["1.json"]
    mnt.check()


def test_round_trip_of_a_declared_table(mnt):
    write_schema(mnt, DECLARED + DECLARED.replace("Dog", "Copy").replace(
        '"dog"', '"copy"'))
    for k, v in {1: {"name": "Rex", "breed": "3", "age": 3, "score": 1e-3,
                     "good": True, "tags": ["a", "", "null"],
                     "extra": {"k": [1, "2"]}, "note": "a,b"},
                 2: {"name": "", "extra": "[x"},
                 3: {"name": "null", "breed": "\"q\"", "extra": None,
                     "good": False, "score": -2}}.items():
        put(mnt, "dog", k, v)
    for ext in ("csv", "ndjson", "json"):
        out(mnt, ": > data/copy.ndjson")
        out(mnt, "cp data/dog.%s %s/x && cp %s/x data/copy.%s"
            % (ext, mnt.tmp, mnt.tmp, ext))
        assert mnt.read("data", "copy." + ext) == \
            mnt.read("data", "dog." + ext), ext
        for n in ("1.json", "2.json", "3.json"):
            assert rec(mnt, "copy", n) == rec(mnt, "dog", n), (ext, n)
    mnt.check()


# -- 7. refusals ------------------------------------------------------------

BAD = [
    ("ndjson", '{"id":1}\n{"id":2}\n{"id":3,"a":}\n{"id":4}\n{"id":5}\n', 3),
    ("ndjson", '{"id":1}\n[1,2]\n{"id":3}\n', 2),
    ("ndjson", '{"id":1}\n{"id":2}\n{"id":1,"x":2}\n', 3),
    ("ndjson", '{"id":1}\n\n{"id":2}\n"str"\n{"id":3}\n', 4),
    ("ndjson", '{"id":1}\n{"id":2}\n{"id":3}\n{"id":4} x\n', 4),
    ("csv", 'id,name\r\n1,a\r\n2,b,c\r\n3,d\r\n', 3),
    ("csv", 'id,name\r\n1,a\r\n2,b\r\n3\r\n', 4),
    ("csv", 'id,name\r\n1,a\r\n1,b\r\n', 3),
    ("json", '[{"id":1},\n{"id":2},\n{"id":3,}\n]\n', 3),
    ("json", '[{"id":1},\n5\n]\n', 2),
]


@pytest.mark.parametrize("op", [">>", ">"])
@pytest.mark.parametrize("ext,text,n", BAD,
                         ids=["bad-json", "not-object", "key-twice",
                              "blank-lines-count", "trailing-garbage",
                              "csv-more-cells", "csv-fewer-cells",
                              "csv-key-twice", "json-bad", "json-not-object"])
def test_a_bad_line_refuses_the_whole_stream(mnt, ext, text, n, op):
    dogs(mnt, {1: {"name": "Rex", "breed": "Lab"}, 6: {"name": "Six"}})
    before = table_state(mnt, "dog")
    stream = mnt.read("data", "dog.ndjson")
    r = bash_write(mnt, op, "data/dog." + ext, text)
    assert r.returncode != 0
    assert b"write error: Invalid argument" in r.stderr, r.stderr
    assert table_state(mnt, "dog") == before
    assert mnt.read("data", "dog.ndjson") == stream
    assert error_lines(mnt, "data/dog.%s: line %d:" % (ext, n)), mnt.errors()
    mnt.check()
    # cp sees the refusal too
    src = tmpfile(mnt, "bad." + ext, text)
    r = run(mnt, "cp %s data/dog.%s" % (src, ext))
    assert r.returncode != 0 and b"Invalid argument" in r.stderr, r.stderr
    assert table_state(mnt, "dog") == before
    mnt.check()


def test_every_write_after_a_refusal_fails_and_the_close_too(mnt):
    dogs(mnt, {1: {"name": "Rex"}})
    before = table_state(mnt, "dog")
    for flags in (os.O_WRONLY | os.O_APPEND, os.O_WRONLY | os.O_TRUNC):
        fd = os.open(mnt.p("data", "dog.ndjson"), flags)
        try:
            assert os.write(fd, b'{"id":2}\n') == 9
            with pytest.raises(OSError) as e:
                os.write(fd, b'{"id":3\n')
            assert e.value.errno == errno.EINVAL
            with pytest.raises(OSError) as e:
                os.write(fd, b'{"id":4}\n')
            assert e.value.errno == errno.EINVAL
        finally:
            with pytest.raises(OSError) as e:
                os.close(fd)
        assert e.value.errno == errno.EINVAL
        assert table_state(mnt, "dog") == before
        assert error_lines(mnt, "data/dog.ndjson: line 2:")
    mnt.check()


def wait_for_error(m, needle, count):
    """The last close (RELEASE) comes after close(2) returns: wait until
    count lines hold needle."""
    for _ in range(200):
        if len(error_lines(m, needle)) >= count:
            return
        time.sleep(0.01)
    raise AssertionError("no %d lines with %r in\n%s"
                         % (count, needle, m.errors()))


def test_an_array_that_never_closes_is_refused_at_the_last_close(mnt):
    """A close cannot know that no other descriptor of the open file will
    write more, so an array never closed (or a CSV quote) is refused at
    the last close, which tells only the error log: nothing is stored."""
    dogs(mnt, {1: {"name": "Rex"}})
    before = table_state(mnt, "dog")
    n = 0
    for text in ('[{"id":2},{"id":3}', '[{"id":2},{"id":3},', '[{"id":2'):
        src = tmpfile(mnt, "open.json", text)
        out(mnt, "cp %s data/dog.json" % src)
        n += 1
        wait_for_error(mnt, "data/dog.json: line 1: ", n)
        with open(mnt.p("data", "dog.json"), "a") as f:
            f.write(text)
        n += 1
        wait_for_error(mnt, "data/dog.json: line 1: ", n)
        assert table_state(mnt, "dog") == before
    assert "the JSON array ends before it is closed" in mnt.errors()
    # a CSV quote that never closes, too
    out(mnt, "cp %s data/dog.csv" % tmpfile(mnt, "q.csv",
                                            'id,name\r\n2,"Bo\r\n'))
    wait_for_error(mnt, "data/dog.csv: ", 1)
    assert table_state(mnt, "dog") == before
    mnt.check()


def test_open_for_writing_needs_trunc_or_append(mnt):
    dogs(mnt, {1: {"name": "Rex"}})
    before = table_state(mnt, "dog")
    for ext in ("ndjson", "csv", "json"):
        for flags in (os.O_WRONLY, os.O_RDWR):
            with pytest.raises(OSError) as e:
                os.close(os.open(mnt.p("data", "dog." + ext), flags))
            assert e.value.errno == errno.EINVAL, (ext, flags)
        with pytest.raises(OSError) as e:
            open(mnt.p("data", "dog." + ext), "r+")
        assert e.value.errno == errno.EINVAL
        assert error_lines(mnt, "data/dog." + ext), mnt.errors()
    # dd conv=notrunc opens so as well
    r = run(mnt, """echo '{"id":2}' | dd of=data/dog.ndjson conv=notrunc""")
    assert r.returncode != 0 and b"Invalid argument" in r.stderr
    assert table_state(mnt, "dog") == before
    mnt.check()


def test_a_record_over_16_mib_is_efbig(mnt):
    dogs(mnt, {1: {"name": "Rex"}})
    before = table_state(mnt, "dog")
    fd = os.open(mnt.p("data", "dog.ndjson"), os.O_WRONLY | os.O_APPEND)
    err = None
    try:
        os.write(fd, b'{"id":2}\n{"id":3,"s":"')
        chunk = b"x" * (1 << 20)
        for _ in range(17):
            os.write(fd, chunk)
        os.write(fd, b'"}\n')
    except OSError as e:
        err = e
    try:
        os.close(fd)
    except OSError as e:
        err = err or e
    assert err is not None and err.errno == errno.EFBIG, err
    assert table_state(mnt, "dog") == before
    assert error_lines(mnt, "data/dog.ndjson: line 2:"), mnt.errors()
    mnt.check()


def test_disk_full_applies_nothing(tmp_path):
    from conftest import Mount, tmpfs_datadir
    m = Mount(tmp_path)
    with tmpfs_datadir(m, "4m"):
        m.start()
        try:
            dogs(m, {i: {"n": i} for i in range(20)})
            before = table_state(m, "dog")
            blob = "z" * 1000
            src = tmpfile(m, "big.ndjson", "".join(
                '{"id":%d,"b":"%s"}\n' % (i, blob) for i in range(10000)))
            for op in ("cp %s data/dog.ndjson", "cat %s >> data/dog.ndjson"):
                r = run(m, op % src)
                assert r.returncode != 0
                assert b"No space left on device" in r.stderr, r.stderr
                assert table_state(m, "dog") == before
            assert "No space left on device" in m.errors()
            # and a small one still goes in
            out(m, """echo '{"id":100}' >> data/dog.ndjson""")
            assert "100.json" in os.listdir(m.p("data", "dog"))
        finally:
            m.stop()
        m.start()
        try:
            assert len(os.listdir(m.p("data", "dog"))) == 21
        finally:
            m.stop()


# -- 8. other clients during an import --------------------------------------

@pytest.mark.parametrize("flags", [os.O_WRONLY | os.O_TRUNC,
                                   os.O_WRONLY | os.O_APPEND],
                         ids=["trunc", "append"])
def test_a_change_made_during_a_refused_import_is_kept(mnt, flags):
    # While the import is open this process runs no other program: a
    # forked child closing its copy of the descriptor is a close (FUSE
    # flush), which commits the stream.
    dogs(mnt, {1: {"name": "Rex"}, 2: {"name": "Zelda"}})
    fd = os.open(mnt.p("data", "dog.ndjson"), flags)
    try:
        os.write(fd, b'{"id":10,"name":"Ten"}\n{"id":2,"name":"Two"}\n')
        # another client's writes are answered while the import is open
        put(mnt, "dog", 50, '{"name":"Other"}')
        put(mnt, "dog", 2, '{"name":"Z2"}')
        # and nothing of the import shows before its close
        assert ls(mnt, "data", "dog") == ["1.json", "2.json", "50.json"]
        assert [r["id"] for r in lines_of(mnt.read("data", "dog.ndjson"))] \
            == [1, 2, 50]
        with pytest.raises(OSError) as e:
            os.write(fd, b'{"id":11,\n')
        assert e.value.errno == errno.EINVAL
    finally:
        err = close_errno(fd)
    assert err == errno.EINVAL
    assert ls(mnt, "data", "dog") == ["1.json", "2.json", "50.json"]
    assert rec(mnt, "dog", "50.json")["name"] == "Other"
    assert rec(mnt, "dog", "2.json")["name"] == "Z2"
    assert rec(mnt, "dog", "1.json")["name"] == "Rex"
    assert ls(mnt, "data", "dog", ".by", "name") == ["Other", "Rex", "Z2"]
    assert ls(mnt, "data", "dog", ".by", "name", "Ten") == []
    mnt.check()
    mnt.restart()
    assert ls(mnt, "data", "dog") == ["1.json", "2.json", "50.json"]
    assert rec(mnt, "dog", "2.json")["name"] == "Z2"


def test_a_change_made_during_an_append_is_kept(mnt):
    dogs(mnt, {1: {"name": "Rex"}})
    fd = os.open(mnt.p("data", "dog.ndjson"), os.O_WRONLY | os.O_APPEND)
    try:
        os.write(fd, b'{"id":10,"name":"Ten"}\n')
        put(mnt, "dog", 50, '{"name":"Other"}')
        os.write(fd, b'{"id":11,"name":"Eleven"}\n')
    finally:
        err = close_errno(fd)
    assert err == 0
    assert ls(mnt, "data", "dog") == ["1.json", "10.json", "11.json",
                                      "50.json"]
    assert rec(mnt, "dog", "50.json")["name"] == "Other"
    mnt.check()


def test_the_first_close_after_a_write_commits(mnt):
    dogs(mnt, {1: {"name": "Rex"}})
    fd = os.open(mnt.p("data", "dog.ndjson"), os.O_WRONLY | os.O_TRUNC)
    try:
        os.write(fd, b'{"id":2}\n')
        assert ls(mnt, "data", "dog") == ["1.json"]
        os.close(os.dup(fd))
        assert ls(mnt, "data", "dog") == ["2.json"]
    finally:
        err = close_errno(fd)
    assert err == 0
    assert ls(mnt, "data", "dog") == ["2.json"]
    mnt.check()


def test_two_imports_at_once(mnt):
    dogs(mnt, {1: {"name": "Rex"}})
    a = os.open(mnt.p("data", "dog.ndjson"), os.O_WRONLY | os.O_APPEND)
    b = os.open(mnt.p("data", "dog.csv"), os.O_WRONLY | os.O_APPEND)
    try:
        os.write(a, b'{"id":10,"name":"A"}\n')
        os.write(b, b'id,name\r\n20,B\r\n')
        os.write(a, b'{"id":11,"name":"A"}\n')
        os.write(b, b'21,B\r\n')
    finally:
        ea, eb = close_errno(b), close_errno(a)
    assert (ea, eb) == (0, 0)
    assert ls(mnt, "data", "dog") == ["1.json", "10.json", "11.json",
                                      "20.json", "21.json"]
    assert ls(mnt, "data", "dog", ".by", "name", "B") == ["20.json",
                                                          "21.json"]
    mnt.check()


# -- 9. progress ------------------------------------------------------------

def test_stats_show_open_streams(mnt):
    dogs(mnt, {1: {"name": "Rex"}})

    def stream_lines():
        with open(mnt.p(".recordfs", "stats")) as f:
            return [l for l in f.read().splitlines() if l.startswith("stream")]

    assert stream_lines() == []
    fd = os.open(mnt.p("data", "dog.ndjson"), os.O_WRONLY | os.O_APPEND)
    try:
        for i in range(3):
            os.write(fd, b"".join(b'{"id":%d,"n":%d}\n' % (100 + i * 100 + j,
                                                            j)
                                  for j in range(100)))
        lines = stream_lines()
        assert len(lines) == 1, lines
        assert "data/dog.ndjson" in lines[0] and "import" in lines[0], lines
        # e.g. "stream data/dog.ndjson: import, 300 records"
        assert re.search(r"\b300\b", lines[0]), lines
    finally:
        os.close(fd)
    assert stream_lines() == []
    assert len(os.listdir(mnt.p("data", "dog"))) == 301
    # a reader is an open stream too
    with open(mnt.p("data", "dog.csv"), "rb", buffering=0) as f:
        f.read(100)
        lines = stream_lines()
        assert len(lines) == 1 and "data/dog.csv" in lines[0], lines
    assert stream_lines() == []


# -- 10. large imports and kill -9 ------------------------------------------

def big_lines(n, start=0):
    breeds = ["Lab", "Pug", "Poodle", "Beagle", "Boxer"]
    return "".join('{"id":%d,"name":"dog%d","breed":"%s","age":%d}\n'
                   % (i, i % 1000, breeds[i % 5], i % 15)
                   for i in range(start, start + n)).encode()


def test_large_import_then_kill9(mnt):
    """BIG records by cp, then by an open import that a kill -9 cuts
    short: the table is wholly as the last close left it.  A few seconds
    at BIG=50,000."""
    mnt.sh("mkdir data/dog")
    src = tmpfile(mnt, "big.ndjson", big_lines(BIG))
    t0 = time.time()
    out(mnt, "cp %s data/dog.ndjson" % src)
    took = time.time() - t0
    assert out(mnt, "wc -l < data/dog.ndjson") == b"%d\n" % BIG
    assert out(mnt, "ls data/dog/.by/breed/Lab | wc -l") == \
        b"%d\n" % (BIG // 5)
    assert out(mnt, "head -1 data/dog.ndjson").startswith(b'{"id":0,')
    with open(src, "rb") as f:
        assert [no_times(r, ("__createdtime__", "__updatedtime__"))
                for r in lines_of(mnt.read("data", "dog.ndjson"))] == \
            lines_of(f.read())
    print("cp of %d records: %.2f s" % (BIG, took))
    # a closed import survives kill -9
    mnt.kill9()
    mnt.start()
    before = mnt.read("data", "dog.ndjson")
    assert before.count(b"\n") == BIG
    # imports cut short by kill -9: nothing of them is applied
    for flags in (os.O_WRONLY | os.O_TRUNC, os.O_WRONLY | os.O_APPEND):
        fd = os.open(mnt.p("data", "dog.ndjson"), flags)
        try:
            data = big_lines(BIG, start=BIG // 2)
            for i in range(0, len(data), 1 << 16):
                os.write(fd, data[i:i + (1 << 16)])
            # the daemon has taken every line, and not committed them
            with open(mnt.p(".recordfs", "stats")) as f:
                stats = [l for l in f.read().splitlines()
                         if "data/dog.ndjson" in l]
            assert len(stats) == 1 and "import" in stats[0], stats
            assert re.search(r"\b%d\b" % BIG, stats[0]), stats
            mnt.kill9()
        finally:
            close_errno(fd)
        mnt.start()
        assert mnt.read("data", "dog.ndjson") == before
        assert out(mnt, "ls data/dog | wc -l") == b"%d\n" % BIG
        assert out(mnt, "ls data/dog/.by/breed/Pug | wc -l") == \
            b"%d\n" % (BIG // 5)


def test_head_of_a_huge_table_comes_at_once(tmp_path):
    """head -1 of a table of HUGE records makes one step of text, not the
    table, and reading the whole stream keeps the daemon's own memory
    flat: it is read from a cursor, not built at open."""
    from conftest import Mount
    m = Mount(tmp_path)
    subprocess.run([MKDB, m.datadir, "data", "dog", str(HUGE)], check=True)
    m.start()
    try:
        with AnonPeak(m.proc.pid) as anon:
            # an open stream that gave its first line has made a step of
            # text, not the table (its progress is in the stats)
            with open(m.p("data", "dog.ndjson"), "rb") as f:
                first = f.readline()
                made = [l for l in m.read(".recordfs", "stats").decode()
                        .splitlines() if l.startswith("stream data/dog.ndjson")]
            assert json.loads(first)["id"] == 0
            assert first.endswith(b"}\n") and first.count(b"\n") == 1
            assert len(made) == 1 and "export" in made[0], made
            done_n = int(made[0].split(", ")[1].split()[0])
            assert 0 < done_n < 20000, made
            assert out(m, "head -1 data/dog.ndjson") == first
            assert out(m, "head -c 300 data/dog.csv").startswith(b"id,")
            assert out(m, "head -c 2 data/dog.json") == b"[\n"
            assert out(m, "wc -l < data/dog.ndjson") == b"%d\n" % HUGE
        # (a query's stream holds the keys of its matches, about 20 bytes
        # each: not sampled above)
        assert out(m, "head -3 data/dog/.by/breed/Lab.ndjson | "
                      "jq -r .id") == b"0\n5\n10\n"
        print("%d records: daemon RssAnon %d KiB before, %d KiB at peak"
              % (HUGE, anon.base, anon.peak))
        if "asan" not in (os.environ.get("RECORDFS_BIN") or ""):
            assert anon.peak - anon.base < 4 * 1024
    finally:
        m.stop()


# -- one open file, many writers --------------------------------------------

def test_a_shell_loop_writes_one_stream_in_parts(mnt):
    """The commands of a loop share the descriptor bash opened, and each
    closes its copy when it exits: each close stores the whole records
    written so far, and the stream goes on.  The first part of a `>`
    replaces the table, the next ones add; bash's own close ends it."""
    dogs(mnt, {1: {"name": "old"}, 9: {"name": "gone"}})
    a = tmpfile(mnt, "a.ndjson", '{"id":1,"name":"a1"}\n{"id":2,"name":"a2"}\n')
    b = tmpfile(mnt, "b.ndjson", '{"id":3,"name":"b3"}\n')
    out(mnt, "for f in %s %s; do cat $f; done > data/dog.ndjson" % (a, b))
    assert ls(mnt, "data", "dog") == ["1.json", "2.json", "3.json"]
    assert rec(mnt, "dog", "1.json")["name"] == "a1"
    # builtins and programs mixed, with >>
    out(mnt, """{ echo '{"id":5}'; /bin/echo '{"id":6}'; echo '{"id":7}'; }"""
        """ >> data/dog.ndjson""")
    assert ls(mnt, "data", "dog") == ["%d.json" % k for k in (1, 2, 3, 5, 6, 7)]
    # a JSON array written by three writers is stored when it closes
    out(mnt, """{ echo '['; /bin/echo '{"id":10},'; echo '{"id":11}]'; }"""
        """ > data/dog.json""")
    assert ls(mnt, "data", "dog") == ["10.json", "11.json"]
    # CSV rows in parts: the header once, then rows from each command
    h = tmpfile(mnt, "h.csv", "id,name\r\n")
    rows = tmpfile(mnt, "r.csv", "20,x\r\n21,y\r\n")
    out(mnt, "{ cat %s; cat %s; echo '22,z'; } > data/dog.csv" % (h, rows))
    assert ls(mnt, "data", "dog") == ["20.json", "21.json", "22.json"]
    assert rec(mnt, "dog", "22.json")["name"] == "z"
    mnt.check()


def test_a_bad_part_keeps_the_parts_before_it(mnt):
    """Each part is a transaction of its own: a bad line refuses its part
    and everything after it; the parts stored before it stay."""
    dogs(mnt, {1: {"name": "one"}})
    a = tmpfile(mnt, "a.ndjson", '{"id":2}\n')
    bad = tmpfile(mnt, "bad.ndjson", '{"id":3}\n{"id":\n')
    r = run(mnt, "for f in %s %s; do cat $f; done >> data/dog.ndjson"
            % (a, bad))
    assert b"Invalid argument" in r.stderr
    assert ls(mnt, "data", "dog") == ["1.json", "2.json"]
    assert error_lines(mnt, "data/dog.ndjson: line 3:")
    mnt.check()


def test_a_saved_descriptor_and_its_copies(mnt):
    """exec 3> and >&3: bash copies fd 3 onto 1 for each command and
    closes the copy after it; each such close stores the whole lines
    written, and the stream goes on until fd 3 is closed."""
    dogs(mnt, {9: {"name": "gone"}})
    out(mnt, """exec 3>data/dog.ndjson; echo '{"id":1}' >&3; """
        """grep -c . /dev/null >/dev/null; echo '{"id":2}' >&3; exec 3>&-""")
    assert ls(mnt, "data", "dog") == ["1.json", "2.json"]
    out(mnt, """exec 3>>data/dog.ndjson; echo '{"id":5}' >&3; """
        """echo '{"id":6}' >&3; /bin/echo '{"id":7}' >&3; exec 3>&-""")
    assert ls(mnt, "data", "dog") == ["%d.json" % k for k in (1, 2, 5, 6, 7)]
    # a last line without its newline is a record at its close
    out(mnt, """printf '{"id":8}' >> data/dog.ndjson""")
    assert "8.json" in ls(mnt, "data", "dog")
    mnt.check()


@pytest.mark.parametrize("sig", ["KILL", "INT"])
def test_a_writer_killed_mid_stream_stores_nothing(mnt, sig):
    """A writer killed before it closes the stream (Ctrl-C on cp, kill)
    stores nothing of it, though its text is cut at a place that reads
    as whole (a CSV cell, an NDJSON line end)."""
    dogs(mnt, {k: {"name": "n%d" % k} for k in range(1, 6)})
    before = table_state(mnt, "dog")
    for ext, text in (("csv", "id,name\r\n1,Rex\r\n2,Zel"),
                      ("ndjson", '{"id":1}\n{"id":2}\n')):
        # (the signal's default action, as cp has it: a shell running
        # this in the background may have it ignored)
        code = ("import os, signal\n"
                "if signal.SIG%s != signal.SIGKILL:\n"
                "    signal.signal(signal.SIG%s, signal.SIG_DFL)\n"
                "fd = os.open(%r, os.O_WRONLY | os.O_TRUNC)\n"
                "os.write(fd, %r)\n"
                "os.kill(os.getpid(), signal.SIG%s)\n"
                % (sig, sig, mnt.p("data", "dog." + ext), text.encode(),
                   sig))
        r = subprocess.run(["python3", "-c", code], capture_output=True)
        assert r.returncode != 0
        wait_for_error(mnt, "data/dog.%s: its writer was killed" % ext, 1)
        assert table_state(mnt, "dog") == before
    mnt.check()


def test_unmount_mid_import_stores_nothing_of_it(mnt):
    dogs(mnt, {k: {"name": "n%d" % k} for k in range(1, 6)})
    before = mnt.read("data", "dog.ndjson")
    fd = os.open(mnt.p("data", "dog.csv"), os.O_WRONLY | os.O_TRUNC)
    os.write(fd, b"id,name\r\n1,Rex\r\n2,Zel")
    mnt.proc.terminate()  # SIGTERM: the daemon unmounts
    mnt.proc.wait(timeout=30)
    close_errno(fd)
    subprocess.run(["fusermount3", "-u", "-z", mnt.path], check=False)
    mnt.proc = None
    assert "unmounted before the stream was closed" in open(
        mnt.logs[-1]).read()
    mnt.start()
    assert mnt.read("data", "dog.ndjson") == before
    mnt.check()


def test_imports_keep_inode_numbers(mnt):
    dogs(mnt, {1: {"name": "Rex"}, 2: {"name": "Zelda"}})
    ino = os.stat(mnt.p("data", "dog", "1.json")).st_ino
    out(mnt, """echo '{"id":1,"name":"Max"}' >> data/dog.ndjson""")
    out(mnt, """printf '{"id":1,"name":"Ace"}\\n{"id":2}\\n' > data/dog.ndjson""")
    assert rec(mnt, "dog", "1.json")["name"] == "Ace"
    assert os.stat(mnt.p("data", "dog", "1.json")).st_ino == ino


def test_no_generated_key_above_the_largest(mnt):
    dogs(mnt, {})
    before = table_state(mnt, "dog")
    r = run(mnt, """printf '{"x":"gen"}\\n{"id":1,"x":"given"}\\n"""
            """{"id":9223372036854775807}\\n' > data/dog.ndjson""")
    wait_for_error(mnt, "no integer key is left", 1)
    assert table_state(mnt, "dog") == before
    del r


def test_csv_cells_that_are_json_and_more_are_text(mnt):
    dogs(mnt, {})
    src = tmpfile(mnt, "c.csv", 'id,a,b,c\r\n1,"[1],""x"":2","""a"",""v"":""b""",'
                  '"1,2"\r\n')
    out(mnt, "cp %s data/dog.csv" % src)
    r = rec(mnt, "dog", "1.json")
    assert (r["a"], r["b"], r["c"]) == ('[1],"x":2', '"a","v":"b"', "1,2")
    # a byte order mark, as spreadsheets write, is no part of the header
    out(mnt, "cp %s data/dog.csv" % tmpfile(
        mnt, "bom.csv", b"\xef\xbb\xbfid,a\r\n2,x\r\n"))
    assert ls(mnt, "data", "dog") == ["2.json"]
    assert rec(mnt, "dog", "2.json")["a"] == "x"


def test_a_snapshot_outlives_the_map_growing(mnt):
    """A stream being read holds an LMDB read transaction across requests
    while other writes grow the map (1 MiB at first) many times over: its
    text stays the table as it was at open, byte for byte."""
    mnt.sh("mkdir data/dog data/cat")
    out(mnt, "cp %s data/dog.ndjson" % tmpfile(
        mnt, "d.ndjson", big_lines(3000)))
    whole = mnt.read("data", "dog.ndjson")
    with open(mnt.p("data", "dog.ndjson"), "rb") as f:
        head = f.read(4096)
        # 8 MB of other records (the map grows past 16 MiB), and a
        # rewrite of the table being read
        out(mnt, "cp %s data/cat.ndjson" % tmpfile(
            mnt, "c.ndjson", big_lines(150000)))
        out(mnt, "cp %s data/dog.ndjson" % tmpfile(
            mnt, "d2.ndjson", big_lines(10, start=5)))
        rest = f.read()
    assert head + rest == whole
    assert os.path.getsize(os.path.join(mnt.datadir, "data",
                                        "data.mdb")) > 16 << 20
    mnt.check()

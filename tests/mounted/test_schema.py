"""schema.graphql: typed tables, declared indexes, generated keys."""
import errno
import json
import os
import re
import subprocess

import pytest

MKDB = os.environ.get("RECORDFS_MKDB", os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "tests", "mkdb"))

DOG = """\
# the dogs
type Dog @table(table: "dog") {
  id: Int @primaryKey
  name: String! @indexed
  breed: String @indexed
  age: Int @indexed
  tags: [String] @indexed
  born: Date
  created: Long @createdTime
  updated: Long @updatedTime
}
"""


def write_schema(mnt, text, db="data", check=True):
    """cp a schema onto DB/schema.graphql; returns the CompletedProcess."""
    src = os.path.join(str(mnt.tmp), "new.graphql")
    with open(src, "w") as f:
        f.write(text)
    return mnt.sh(f"cp {src} {db}/schema.graphql", check=check)


def ls(mnt, *parts):
    return sorted(os.listdir(mnt.p(*parts)))


def rec(mnt, *parts):
    return json.loads(mnt.read(*parts))


def test_dynamic_tables_print_and_write_back_unchanged(mnt):
    mnt.sh("mkdir data/dog data/cat")
    mnt.sh("""echo '{"name":"Rex","age":3}' > data/dog/1.json""")
    text = mnt.sh("cat data/schema.graphql").stdout
    blocks = re.findall(r"^type (\w+) @table\(table: \"(\w+)\"\) \{$", text,
                        re.M)
    assert [b[1] for b in blocks] == ["cat", "dog"]
    assert "  id: Any @primaryKey\n  age: Any @indexed\n  name: Any @indexed\n" \
        in text
    assert "__createdtime__: Long @indexed @createdTime" in text
    st = os.stat(mnt.p("data", "schema.graphql"))
    assert st.st_size == len(text.encode())
    before = mnt.read("data", "dog", "1.json")
    mnt.sh("cp data/schema.graphql /tmp/schema-copy.graphql && "
           "cp /tmp/schema-copy.graphql data/schema.graphql")
    assert mnt.sh("cat data/schema.graphql").stdout == text
    assert mnt.read("data", "dog", "1.json") == before
    # still dynamic: a new attribute is indexed and the times are kept
    mnt.sh("""echo '{"color":"red"}' > data/dog/2.json""")
    assert "color" in ls(mnt, "data", "dog", ".by")
    assert "__updatedtime__" in rec(mnt, "data", "dog", "2.json")
    # reachable only by name
    assert "dog.schema.json" not in ls(mnt, "data")
    assert ls(mnt, "data") == ["cat", "dog", "schema.graphql"]
    # an older copy written back (it misses "color") keeps it dynamic
    mnt.sh("cp /tmp/schema-copy.graphql data/schema.graphql")
    assert "color" in ls(mnt, "data", "dog", ".by")
    mnt.sh("""echo '{"size":3}' > data/dog/3.json""")
    assert "size" in ls(mnt, "data", "dog", ".by")
    # a database without tables lists its (empty) schema file, so a
    # user sees where to write one; rmdir still takes the database
    mnt.sh("mkdir pets")
    assert ls(mnt, "pets") == ["schema.graphql"]
    assert mnt.read("pets", "schema.graphql") == b""
    mnt.sh("rmdir pets")
    assert not os.path.exists(mnt.p("pets"))


def test_declare_builds_indexes_and_checks_records(mnt):
    mnt.sh("mkdir data/dog")
    for i, (name, breed, age) in enumerate(
            [("Rex", "Lab", 3), ("Zelda", "Pug", 5), ("Bo", "Lab", 7)], 1):
        mnt.sh(f"""echo '{{"name":"{name}","breed":"{breed}","age":{age},"""
               f""""note":"n{i}"}}' > data/dog/{i}.json""")
    assert ls(mnt, "data", "dog", ".by") == \
        ["__createdtime__", "__updatedtime__", "age", "breed", "name", "note"]
    write_schema(mnt, DOG)
    # only the declared indexes remain, built over the existing records
    assert ls(mnt, "data", "dog", ".by") == ["age", "breed", "name"]
    assert ls(mnt, "data", "dog", ".by", "breed", "Lab") == ["1.json", "3.json"]
    assert ls(mnt, "data", "dog", ".by", "age", "4..9") == ["2.json", "3.json"]
    printed = mnt.sh("cat data/schema.graphql").stdout
    assert printed.startswith('type Dog @table(table: "dog") {\n  id: Int '
                              '@primaryKey\n  name: String! @indexed\n')
    # writing the printed form back changes nothing
    r = mnt.sh("cp data/schema.graphql /tmp/s.graphql && "
               "cp /tmp/s.graphql data/schema.graphql && cat data/dog/1.json")
    assert json.loads(r.stdout)["name"] == "Rex"
    # dropping @indexed drops the index
    write_schema(mnt, DOG.replace("age: Int @indexed", "age: Int"))
    assert ls(mnt, "data", "dog", ".by") == ["breed", "name"]
    # (the kernel may keep the name .by/age for its entry timeout; no
    # record is found through it)
    assert not os.path.exists(mnt.p("data", "dog", ".by", "age")) or \
        ls(mnt, "data", "dog", ".by", "age") == []
    with pytest.raises(FileNotFoundError):
        os.listdir(mnt.p("data", "dog", ".by", "note"))


def test_declared_writes_are_checked(mnt):
    write_schema(mnt, DOG + """
type Owner @table(table: "owner") @sealed {
  id: ID @primaryKey
  name: String!
  score: Float
  vip: Boolean
  big: BigInt
  any: Any
}
""")
    assert ls(mnt, "data") == ["dog", "owner", "schema.graphql"]
    cases = [
        ("dog/1.json", '{"name":"Rex","age":"five"}',
         'dog/1.json: "age": expected Int, got "five"'),
        ("dog/1.json", '{"age":3}',
         'dog/1.json: "name" is required (String!) and missing'),
        ("dog/1.json", '{"name":"Rex","tags":"x"}',
         'dog/1.json: "tags": expected [String], got "x"'),
        ("dog/1.json", '{"name":"Rex","age":3000000000}',
         '"age": expected Int, got 3000000000'),
        ("dog/x.json", '{"name":"Rex"}', '"id": expected Int, got "x"'),
        ("owner/a.json", '{"name":"Ann","color":"red"}',
         '"color" is not declared, and table "owner" is @sealed'),
        ("owner/a.json", '{"name":"Ann","vip":"yes"}',
         '"vip": expected Boolean, got "yes"'),
        ("dog/1.json", '{"name":"Rex","born":"2026-02-30"}',
         '"born": expected Date'),
    ]
    for path, body, line in cases:
        r = mnt.sh(f"echo '{body}' > data/{path}", check=False)
        assert r.returncode != 0 and "Invalid argument" in r.stderr, body
        assert line in mnt.errors(), (body, mnt.errors())
        assert not os.path.exists(mnt.p("data", path))
    # and what fits is stored
    mnt.sh("""echo '{"name":"Rex","age":3,"tags":["a","b"],"extra":{"x":1}}'"""
           " > data/dog/1.json")
    mnt.sh("""echo '{"name":"Ann","score":2.5,"vip":true,"big":"123456789012"""
           """345678901234567890","any":[1,{"a":null}]}' > data/owner/a.json""")
    assert rec(mnt, "data", "owner", "a.json")["big"] == \
        "123456789012345678901234567890"
    assert ls(mnt, "data", "dog", ".by", "tags") == ["a", "b"]
    # a refused edit leaves the record as it was
    r = mnt.sh("sed -i 's/\"Rex\"/5/' data/dog/1.json", check=False)
    assert r.returncode != 0
    assert rec(mnt, "data", "dog", "1.json")["name"] == "Rex"


def test_dates_and_kept_times(mnt):
    write_schema(mnt, DOG)
    mnt.sh("""echo '{"name":"Rex","born":"2026-11-21T10:00:00+01:00"}' """
           "> data/dog/1.json")
    mnt.sh("""echo '{"name":"Bo","born":86400000}' > data/dog/2.json""")
    mnt.sh("""echo '{"name":"Al","born":"2020-02-29"}' > data/dog/3.json""")
    assert rec(mnt, "data", "dog", "1.json")["born"] == \
        "2026-11-21T09:00:00.000Z"
    assert rec(mnt, "data", "dog", "2.json")["born"] == \
        "1970-01-02T00:00:00.000Z"
    assert rec(mnt, "data", "dog", "3.json")["born"] == \
        "2020-02-29T00:00:00.000Z"
    r1 = rec(mnt, "data", "dog", "1.json")
    assert isinstance(r1["created"], int) and r1["created"] == r1["updated"]
    assert "__createdtime__" not in r1
    # sed -i carries the times back: created stays, updated moves
    mnt.sh("sleep 0.01; sed -i 's/Rex/Max/' data/dog/1.json")
    r2 = rec(mnt, "data", "dog", "1.json")
    assert r2["name"] == "Max" and r2["created"] == r1["created"]
    assert r2["updated"] > r1["updated"]
    # a body cannot set them
    mnt.sh("""echo '{"name":"Max","created":5,"updated":6}' > data/dog/1.json""")
    r3 = rec(mnt, "data", "dog", "1.json")
    assert r3["created"] == r1["created"] and r3["updated"] >= r2["updated"]
    # a rename keeps created and moves updated
    mnt.sh("mv data/dog/1.json data/dog/10.json")
    assert rec(mnt, "data", "dog", "10.json")["created"] == r1["created"]


def test_refused_schemas_change_nothing(mnt):
    mnt.sh("mkdir data/dog")
    mnt.sh("""echo '{"name":"Rex","age":"five"}' > data/dog/1.json""")
    before = mnt.sh("cat data/schema.graphql").stdout
    bad = [
        ("type Dog @table(table: \"dog\") {\n  id: Int @primaryKey\n"
         "  name: Strng\n}\n",
         'data/schema.graphql:3:9: unknown type "Strng"'),
        ("type Dog @table(table: \"dog\") {\n  id: Int @primaryKey\n"
         "  name: String @index\n}\n",
         "data/schema.graphql:3:16: unknown directive @index"),
        ("type Dog @table(table: \"dog\") {\n  id: Int @primaryKey\n"
         "  name: String\n",
         "data/schema.graphql:4:1:"),
        # existing records break it: age "five" is no Int
        ("type Cat @table(table: \"cat\") {\n  id: Int @primaryKey\n}\n"
         "type Dog @table(table: \"dog\") {\n  id: Int @primaryKey\n"
         "  age: Int\n}\n",
         'record dog/1.json breaks type Dog: "age": expected Int, got "five"'),
        ("type Dog @table(table: \"dog\", database: \"pets\") {\n"
         "  id: Int @primaryKey\n}\n",
         'belongs to database "pets"'),
        # a table with records keeps its key attribute
        ("type Dog @table(table: \"dog\") {\n  dogId: Int @primaryKey\n}\n",
         'its @primaryKey stays "id"'),
    ]
    for text, line in bad:
        r = write_schema(mnt, text, check=False)
        assert r.returncode != 0 and "Invalid argument" in r.stderr, text
        assert line in mnt.errors(), (line, mnt.errors())
        assert mnt.sh("cat data/schema.graphql").stdout == before
        assert ls(mnt, "data") == ["dog", "schema.graphql"]
    assert "schema.graphql:3:9: unknown type" in mnt.log()
    # vim -es: fix the record, then declare the table by editing the file
    mnt.sh("""echo '{"name":"Rex","age":5}' > data/dog/1.json""")
    mnt.sh("vim -es -c '%s/age: Any/age: Int/' -c wq data/schema.graphql")
    text = mnt.sh("cat data/schema.graphql").stdout
    assert "  age: Int @indexed\n" in text and "# dynamic" not in text
    r = mnt.sh("""echo '{"age":"six"}' > data/dog/2.json""", check=False)
    assert r.returncode != 0


def test_tables_left_out_stay_and_schema_survives(mnt):
    mnt.sh("mkdir data/cat && echo '{\"x\":1}' > data/cat/1.json")
    write_schema(mnt, DOG)
    assert ls(mnt, "data") == ["cat", "dog", "schema.graphql"]
    assert rec(mnt, "data", "cat", "1.json")["x"] == 1
    # a later schema that leaves dog out leaves it as it is
    write_schema(mnt, "type Cat @table(table: \"cat\") {\n  id: Int "
                 "@primaryKey\n  x: Int @indexed\n}\n")
    text = mnt.sh("cat data/schema.graphql").stdout
    assert "type Dog" in text and "type Cat" in text
    mnt.sh("""echo '{"name":"Rex"}' > data/dog/1.json""")
    mnt.restart()
    assert mnt.sh("cat data/schema.graphql").stdout == text
    r = mnt.sh("""echo '{"age":"six"}' > data/dog/2.json""", check=False)
    assert r.returncode != 0
    mnt.kill9()
    mnt.start()
    assert mnt.sh("cat data/schema.graphql").stdout == text
    # the schema lives in the database's LMDB environment (beside it is
    # only the intent slot, which holds at most one record)
    assert sorted(os.listdir(os.path.join(mnt.datadir, "data"))) == \
        ["data.mdb", "intent", "lock.mdb"]
    # rm of the schema removes no table (only rmdir drops them): the
    # file is gone until it is written again or the tables change
    os.unlink(mnt.p("data", "schema.graphql"))
    assert ls(mnt, "data") == ["cat", "dog"]
    mnt.sh("mkdir data/bird && rmdir data/bird")
    assert mnt.sh("cat data/schema.graphql").stdout == text
    mnt.sh("mkdir pets && mkdir pets/dog && echo '{}' > pets/dog/1.json")
    write_schema(mnt, DOG.replace('"dog"', '"cat"').replace("Dog", "Cat"),
                 db="pets")
    mnt.sh("rm -rf pets")
    assert not os.path.exists(mnt.p("pets"))


def test_other_databases_and_directives(mnt):
    mnt.sh("mkdir pets")
    write_schema(mnt, """
type Dog @table(table: "dog", database: "pets") {
  id: Long @primaryKey
  names: [String!]!
  weights: [Float] @indexed
}
""", db="pets")
    mnt.sh("""echo '{"names":["a"],"weights":[1.5,2]}' > pets/dog/1.json""")
    assert ls(mnt, "pets", "dog", ".by", "weights") == ["1.5", "2"]
    r = mnt.sh("""echo '{"names":["a",null]}' > pets/dog/2.json""",
               check=False)
    assert r.returncode != 0
    assert '"names"[1]: expected String' in mnt.errors()
    r = mnt.sh("""echo '{"weights":[]}' > pets/dog/2.json""", check=False)
    assert r.returncode != 0 and '"names" is required' in mnt.errors()
    # data's schema does not take pets' tables
    r = write_schema(mnt, """
type Dog @table(table: "dog", database: "pets") { id: Long @primaryKey }
""", check=False)
    assert r.returncode != 0 and "write it into pets/schema.graphql" in \
        mnt.errors()


def test_next_keys_follow_the_key_type(mnt):
    write_schema(mnt, """
type Dog @table(table: "dog") { id: ID @primaryKey name: String }
type Cat @table(table: "cat") { id: Int @primaryKey }
type Owner @table(table: "owner") { key: String @primaryKey }
""")
    u = mnt.sh("cat data/dog/.next").stdout
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}"
                        r"-[0-9a-f]{12}\n", u)
    assert mnt.sh("cat data/owner/.next").stdout != \
        mnt.sh("cat data/owner/.next").stdout
    assert mnt.sh("cat data/cat/.next").stdout == "1\n"
    mnt.sh('k=$(cat data/owner/.next); echo \'{"n":1}\' > data/owner/$k.json')
    [name] = ls(mnt, "data", "owner")
    assert rec(mnt, "data", "owner", name)["key"] == name[:-5]
    # many shells at once, no collision
    script = ("for i in $(seq 25); do k=$(cat data/dog/.next); "
              "echo '{\"name\":\"x\"}' > data/dog/$k.json; done")
    procs = [subprocess.Popen(["bash", "-c", script], cwd=mnt.path)
             for _ in range(4)]
    assert all(p.wait() == 0 for p in procs)
    assert len(ls(mnt, "data", "dog")) == 100


def test_json_schema_of_a_table(mnt):
    write_schema(mnt, DOG + """
type Owner @table(table: "owner") @sealed {
  id: ID @primaryKey
  name: String!
}
""")
    js = json.loads(mnt.read("data", "dog.schema.json"))
    assert js["title"] == "dog" and js["type"] == "object"
    assert js["required"] == ["name"]
    assert "additionalProperties" not in js
    assert "integer" in json.dumps(js["properties"]["age"])
    assert js["properties"]["tags"]["type"] in ("array", ["array", "null"])
    owner = json.loads(mnt.sh("cat data/owner.schema.json").stdout)
    assert owner["additionalProperties"] is False
    assert mnt.sh("jq -r .title data/owner.schema.json").stdout == "owner\n"
    with pytest.raises(OSError) as e:
        open(mnt.p("data", "owner.schema.json"), "w")
    assert e.value.errno == errno.EACCES
    with pytest.raises(FileNotFoundError):
        open(mnt.p("data", "nope.schema.json"))
    # a dynamic table's lists what its records hold
    mnt.sh("mkdir data/cat && echo '{\"lives\":9}' > data/cat/1.json")
    cat = json.loads(mnt.read("data", "cat.schema.json"))
    assert "lives" in cat["properties"]


def test_big_table_declared_with_progress(mnt):
    mnt.stop()
    subprocess.run([MKDB, mnt.datadir, "data", "dog", "250000"], check=True)
    mnt.start()
    write_schema(mnt, """
type Dog @table(table: "dog") {
  id: Any @primaryKey
  name: String @indexed
  breed: String @indexed
  chip: Int @indexed
}
""")
    assert ls(mnt, "data", "dog", ".by") == ["breed", "chip", "name"]
    assert len(ls(mnt, "data", "dog", ".by", "chip", "4242")) == 13
    log = mnt.log()
    assert "indexing table dog: 200000 records" in log
    assert "table dog: 250000 records indexed" in log


def test_backup_and_restore_a_declared_database(mnt):
    write_schema(mnt, DOG + """
type Owner @table(table: "owner") @sealed {
  id: ID @primaryKey
  name: String!
  since: Date @createdTime
}
""")
    mnt.sh("""echo '{"name":"Rex","age":3,"born":"2020-01-01"}' > data/dog/1.json""")
    mnt.sh("""echo '{"name":"Ann"}' > data/owner/ann.json""")
    # listed first, so copies restore it before the records
    assert os.listdir(mnt.p("data"))[0] == "schema.graphql"
    bk = os.path.join(str(mnt.tmp), "bk")
    mnt.sh(f"cp -r data {bk} && tar -cf {bk}.tar -C data .")
    # into a new database: cp -r into an existing directory (cp's own
    # mkdir of a new one would meet the tables the schema made), and cp
    # -r from a disk in any order
    mnt.sh(f"mkdir pets && cp -r {bk}/. pets/")
    assert mnt.sh("cat pets/schema.graphql").stdout == \
        mnt.sh("cat data/schema.graphql").stdout
    assert mnt.read("pets", "owner", "ann.json") == \
        mnt.read("data", "owner", "ann.json")
    assert ls(mnt, "pets", "dog", ".by") == ["age", "name"]
    # tar x into a new database, and over an existing one
    mnt.sh(f"mkdir zoo && tar -xf {bk}.tar -C zoo")
    # a restore is a write: the update time is the restore's
    z, d = rec(mnt, "zoo", "dog", "1.json"), rec(mnt, "data", "dog", "1.json")
    assert z["updated"] >= d["updated"]
    del z["updated"], d["updated"]
    assert z == d
    mnt.sh(f"tar -xf {bk}.tar -C zoo")
    assert mnt.sh("cat zoo/schema.graphql").stdout == \
        mnt.sh("cat data/schema.graphql").stdout
    # tables first, as a copy from a disk may come: the records go in
    # dynamic, then the schema declares them and keeps their own times
    mnt.sh(f"mkdir cave cave/dog cave/owner && cp -r {bk}/dog/. cave/dog/ "
           f"&& cp -r {bk}/owner/. cave/owner/ && "
           f"cp {bk}/schema.graphql cave/schema.graphql")
    assert rec(mnt, "cave", "owner", "ann.json") == \
        rec(mnt, "data", "owner", "ann.json")
    assert rec(mnt, "cave", "dog", "1.json")["created"] == \
        rec(mnt, "data", "dog", "1.json")["created"]
    mnt.sh("rm -rf zoo pets cave")
    assert ls(mnt, ".") == ["data"]


def test_schema_names_stay_unique(mnt):
    write_schema(mnt, "type X @table(table: \"a\") { id: ID @primaryKey }\n")
    r = write_schema(mnt, "type X @table(table: \"b\") { id: ID @primaryKey }\n",
                     check=False)
    assert r.returncode != 0
    assert 'type X is already table "a"' in mnt.errors()
    # the same table twice, once with its database named
    r = write_schema(mnt, """
type A @table(table: "x", database: "data") { id: Int @primaryKey }
type B @table(table: "x") { k: String @primaryKey }
""", check=False)
    assert r.returncode != 0
    assert 'table "x" has a block already (type A)' in mnt.errors()
    assert ls(mnt, "data") == ["a", "schema.graphql"]
    text = mnt.sh("cat data/schema.graphql").stdout
    mnt.sh("cp data/schema.graphql /tmp/u.graphql && "
           "cp /tmp/u.graphql data/schema.graphql")
    assert mnt.sh("cat data/schema.graphql").stdout == text


def test_moves_between_dynamic_and_declared_tables(mnt):
    mnt.sh("mkdir data/dyn")
    mnt.sh("""echo '{"name":"Ann"}' > data/dyn/7.json""")
    born = rec(mnt, "data", "dyn", "7.json")["__createdtime__"]
    write_schema(mnt, """
type Owner @table(table: "owner") @sealed {
  id: ID @primaryKey
  name: String!
  created: Long @createdTime
  updated: Long @updatedTime
}
type Person @table(table: "person") {
  key: String @primaryKey
  name: String @indexed
  created: Long @createdTime
}
""")
    mnt.sh("mv data/dyn/7.json data/owner/7.json")
    r = rec(mnt, "data", "owner", "7.json")
    assert r["created"] == born and "__createdtime__" not in r
    assert r["id"] == 7
    mnt.sh("mv data/owner/7.json data/person/ann.json")
    p = rec(mnt, "data", "person", "ann.json")
    assert p == {"key": "ann", "name": "Ann", "created": born}
    mnt.sh("mv data/person/ann.json data/dyn/ann.json")
    d = rec(mnt, "data", "dyn", "ann.json")
    assert d["id"] == "ann" and d["__createdtime__"] == born
    assert "key" not in d and "created" not in d
    # declaring the dynamic table moves the times to the declared names
    write_schema(mnt, """
type Dyn @table(table: "dyn") @sealed {
  id: String @primaryKey
  name: String @indexed
  made: Long @createdTime
}
""")
    d = rec(mnt, "data", "dyn", "ann.json")
    assert d == {"id": "ann", "name": "Ann", "made": born}
    assert ls(mnt, "data", "dyn", ".by", "name") == ["Ann"]


def test_schema_changes_seen_at_once(mnt):
    """The kernel keeps names and record pages; what a schema write
    changes behind its back must show at once."""
    assert not os.path.exists(mnt.p("data", "owner"))
    assert not os.path.exists(mnt.p("data", "owner.schema.json"))
    mnt.sh("mkdir data/dog")
    mnt.sh("""echo '{"name":"Rex","born":86400000}' > data/dog/1.json""")
    before = mnt.sh("cat data/dog/1.json").stdout  # pages cached now
    assert '"born": 86400000' in before
    size = os.stat(mnt.p("data", "dog", "1.json")).st_size
    write_schema(mnt, DOG + """
type Owner @table(table: "owner") { id: ID @primaryKey }
""")
    assert os.path.isdir(mnt.p("data", "owner"))
    assert json.loads(mnt.read("data", "owner.schema.json"))["title"] == \
        "owner"
    after = mnt.sh("cat data/dog/1.json").stdout
    assert '"born": "1970-01-02T00:00:00.000Z"' in after
    assert "__createdtime__" not in after
    assert os.stat(mnt.p("data", "dog", "1.json")).st_size == len(after)
    assert len(after) != size


def test_tools_that_write_beside_the_schema(mnt):
    """sed -i, rsync and vim's backups write a file beside the tables and
    rename it: such files are scratch files of the database directory."""
    mnt.sh("mkdir data/dog")
    mnt.sh("""echo '{"name":"Rex","age":3}' > data/dog/1.json""")
    mnt.sh("sed -i 's/age: Any @indexed/age: Int @indexed/' "
           "data/schema.graphql")
    text = mnt.sh("cat data/schema.graphql").stdout
    assert "  age: Int @indexed\n" in text and "# dynamic" not in text
    assert ls(mnt, "data") == ["dog", "schema.graphql"]
    # a bad edit is refused (sed then removes its own temp file)
    r = mnt.sh("sed -i 's/age: Int/age: Strng/' data/schema.graphql",
               check=False)
    assert r.returncode != 0 and "Invalid argument" in r.stderr
    assert mnt.sh("cat data/schema.graphql").stdout == text
    assert 'unknown type "Strng"' in mnt.errors()
    # mv of a bad text onto it keeps the file, so nothing typed is lost
    mnt.sh("sed 's/age: Int/age: Strng/' data/schema.graphql > data/new.g")
    r = mnt.sh("mv data/new.g data/schema.graphql", check=False)
    assert r.returncode != 0
    assert "Strng" in mnt.read("data", "new.g").decode()
    assert mnt.sh("cat data/schema.graphql").stdout == text
    mnt.sh("rm data/new.g")
    # vim with a backup beside it
    mnt.sh("vim -es -c 'set backupcopy=no' -c 'set backup' "
           "-c '%s/name: Any @indexed/name: String @indexed/' -c wq "
           "data/schema.graphql")
    text = mnt.sh("cat data/schema.graphql").stdout
    assert "  name: String @indexed\n" in text
    mnt.sh("rm -f data/schema.graphql~")
    # mv away: a file with the printed text, and no schema.graphql until
    # one is written (the tables stay)
    mnt.sh("mv data/schema.graphql data/saved.g")
    assert mnt.read("data", "saved.g").decode() == text
    assert ls(mnt, "data") == ["dog", "saved.g"]
    mnt.sh("mv data/saved.g data/schema.graphql")
    assert mnt.sh("cat data/schema.graphql").stdout == text
    assert ls(mnt, "data") == ["dog", "schema.graphql"]
    # rsync into a new database: temp names, then renames
    bk = os.path.join(str(mnt.tmp), "bk")
    mnt.sh(f"cp -r data {bk} && mkdir pets && rsync -r {bk}/ pets/")
    assert mnt.sh("cat pets/schema.graphql").stdout == text
    a, b = rec(mnt, "pets", "dog", "1.json"), rec(mnt, "data", "dog", "1.json")
    del a["__updatedtime__"], b["__updatedtime__"]  # a restore is a write
    assert a == b
    # other files beside the tables: kept, listed, hold a name
    mnt.sh("echo hi > pets/notes.txt && echo x > pets/cat")
    assert ls(mnt, "pets") == ["cat", "dog", "notes.txt", "schema.graphql"]
    r = write_schema(mnt, "type Cat @table(table: \"cat\") "
                     "{ id: Int @primaryKey }\n", db="pets", check=False)
    assert r.returncode != 0
    assert 'a file named "cat" is beside the tables' in mnt.errors()
    mnt.sh("rm -rf pets/dog")
    with pytest.raises(OSError) as e:
        os.rmdir(mnt.p("pets"))
    assert e.value.errno == errno.ENOTEMPTY
    mnt.sh("rm -rf pets")
    assert ls(mnt, ".") == ["data"]


def test_schema_renamed_onto_and_away_keeps_files_apart(mnt):
    """The inode the kernel holds after a rename is followed: a file made
    from the schema is a file, and a file replaced by it is gone for the
    handles open on it."""
    mnt.sh("mkdir -p p/dog")
    mnt.sh("sed -i 's/x/x/' p/schema.graphql")   # onto, through a temp file
    text = mnt.sh("cat p/schema.graphql").stdout
    mnt.sh("mv p/schema.graphql p/copy")          # away
    mnt.sh("echo garbage > p/copy")               # just a file now
    assert mnt.read("p", "copy") == b"garbage\n"
    assert "garbage" not in mnt.errors()
    mnt.sh("mkdir p/cat")                         # the schema is back
    assert "table: \"cat\"" in mnt.sh("cat p/schema.graphql").stdout
    assert mnt.read("p", "copy") == b"garbage\n"
    # away over a file open elsewhere: that handle sees its file gone
    mnt.sh("echo old > p/bak")
    fd = os.open(mnt.p("p", "bak"), os.O_RDWR)
    mnt.sh("mv p/schema.graphql p/bak")
    with pytest.raises(OSError):
        os.write(fd, b"WRITTEN")
    os.close(fd)
    assert mnt.read("p", "bak").decode().startswith("# dynamic")
    assert text.startswith("# dynamic")
    with pytest.raises(OSError) as e:
        os.rename(mnt.p("p", "dog.schema.json"), mnt.p("p", "js"))
    assert e.value.errno == errno.EPERM

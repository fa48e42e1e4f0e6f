"""Merge writes (issue 17): `echo '{"age":5}' >> dog/2.json` applies the text
as a JSON Merge Patch (RFC 7386) to record 2 in one transaction: named
attributes are set, null removes one, the rest stay; the record is made
when missing; the result is checked as a write, at the write that
completes the patch; `>` still replaces."""
import errno
import json
import os
import time

import pytest


def rec(m, name, table="dog"):
    return json.loads(m.read("data", table, name))


def append(m, name, text, table="dog"):
    """One >> of text: the errno of its write or close, or 0."""
    fd = os.open(m.p("data", table, name),
                 os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    err = 0
    try:
        os.write(fd, text.encode())
    except OSError as e:
        err = e.errno
    try:
        os.close(fd)
    except OSError as e:
        err = err or e.errno
    return err


@pytest.fixture
def dog(mnt):
    mnt.sh("mkdir data/dog")
    mnt.sh("""echo '{"name":"Rex","breed":"Lab","age":3,"o":{"a":1,"b":2},"""
           """"tags":["x","y"]}' > data/dog/2.json""")
    return mnt


def test_merge_sets_removes_and_keeps(dog):
    before = rec(dog, "2.json")
    time.sleep(0.005)
    dog.sh("""echo '{"age":5,"breed":null,"o":{"b":null,"c":3},"""
           """"tags":["z"]}' >> data/dog/2.json""")
    r = rec(dog, "2.json")
    assert r["name"] == "Rex" and r["age"] == 5 and "breed" not in r
    assert r["o"] == {"a": 1, "c": 3}
    assert r["tags"] == ["z"]  # arrays are replaced, not merged
    assert r["__createdtime__"] == before["__createdtime__"]
    assert r["__updatedtime__"] > before["__updatedtime__"]
    # the indexes follow the merged record
    assert os.listdir(dog.p("data", "dog", ".by", "age", "5")) == ["2.json"]
    assert os.listdir(dog.p("data", "dog", ".by", "age", "3")) == []
    assert "breed" not in os.listdir(dog.p("data", "dog", ".by"))
    assert os.listdir(dog.p("data", "dog", ".by", "tags", "z")) == ["2.json"]
    dog.check()


def test_merge_makes_a_missing_record(dog):
    dog.sh("""echo '{"name":"Ace","gone":null,"o":{"x":null,"y":1}}' """
           """>> data/dog/9.json""")
    r = rec(dog, "9.json")
    assert r["id"] == 9 and r["name"] == "Ace" and r["o"] == {"y": 1}
    assert "gone" not in r
    dog.check()


def test_a_patch_in_pieces_and_python_append(dog):
    with open(dog.p("data", "dog", "2.json"), "a") as f:
        f.write('{"age"')
        f.flush()
        f.write(': 7}\n')
    assert rec(dog, "2.json")["age"] == 7
    # O_APPEND with the kernel's idea of the end: the offset is ignored
    assert append(dog, "2.json", '{"name":"Max"}') == 0
    r = rec(dog, "2.json")
    assert r["name"] == "Max" and r["age"] == 7 and r["breed"] == "Lab"


@pytest.mark.parametrize("patch,why", [
    ("[1,2]", "not an array"),
    ('"x"', "JSON object"),
    ('{"age":', None),
    ('{"id":3}', 'attribute "id" is 3 but the file name says 2'),
    ('{"a":1} {"b":2}', None),
])
def test_refused_patches_change_nothing(dog, patch, why):
    before = dog.read("data", "dog", "2.json")
    r = dog.sh("printf '%%s' '%s' >> data/dog/2.json" % patch, check=False)
    err = append(dog, "2.json", patch)
    assert err == errno.EINVAL, (patch, err)
    assert dog.read("data", "dog", "2.json") == before
    if why:
        assert why in dog.errors(), dog.errors()
        # bash's >> sees it at the write (it ignores close errors)
        assert "write error: Invalid argument" in r.stderr, r.stderr
    dog.check()


def test_declared_table_checks_the_merged_record(mnt, tmp_path):
    src = tmp_path / "s.graphql"
    src.write_text('type Cat @table(table: "cat") {\n  id: Int @primaryKey\n'
                   '  name: String!\n  age: Int @indexed\n}\n')
    mnt.sh("cp %s data/schema.graphql" % src)
    # a patch that leaves a required attribute out of a new record
    assert append(mnt, "1.json", '{"age":2}', "cat") == errno.EINVAL
    assert not os.path.exists(mnt.p("data", "cat", "1.json"))
    assert '"name" is required' in mnt.errors()
    assert append(mnt, "1.json", '{"name":"Tom","age":2}', "cat") == 0
    # a wrong type, and a null that removes a required attribute
    assert append(mnt, "1.json", '{"age":"two"}', "cat") == errno.EINVAL
    assert append(mnt, "1.json", '{"name":null}', "cat") == errno.EINVAL
    assert rec(mnt, "1.json", "cat") == {"id": 1, "name": "Tom", "age": 2}
    assert append(mnt, "1.json", '{"age":3}', "cat") == 0
    assert rec(mnt, "1.json", "cat") == {"id": 1, "name": "Tom", "age": 3}
    assert os.listdir(mnt.p("data", "cat", ".by", "age", "3")) == ["1.json"]
    mnt.check()


def test_truncating_write_still_replaces(dog):
    dog.sh("""echo '{"age":1}' > data/dog/2.json""")
    r = rec(dog, "2.json")
    assert r["age"] == 1 and "name" not in r and "breed" not in r


def test_merge_survives_kill9(dog):
    dog.sh("""echo '{"age":11}' >> data/dog/2.json""")
    dog.kill9()
    dog.start()
    assert rec(dog, "2.json")["age"] == 11
    dog.check()

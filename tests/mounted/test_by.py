"""Index directories: .by/attr/value/ from the indexes, AND, ranges, mv."""
import errno
import json
import os
import subprocess

import pytest


def ls(m, *parts):
    """Names in listing order, as ls -f gives them (no sorting)."""
    out = subprocess.run(["ls", "-f", m.p(*parts)], capture_output=True,
                         text=True, check=True).stdout.split("\n")
    return [n for n in out if n and n not in (".", "..")]


@pytest.fixture
def dogs(mnt):
    mnt.sh("mkdir data/dog")
    rows = {
        1: {"name": "Rex", "breed": "Lab", "age": 3, "tags": ["big", "calm"]},
        2: {"name": "Zelda", "breed": "Pug", "age": 7, "tags": ["small"]},
        3: {"name": "Max", "breed": "Lab", "age": 10, "owner": {"n": 1}},
        4: {"name": "Ace", "breed": "Lab/Mix", "age": 3.5, "vet": None},
        5: {"name": "Bo", "breed": "3", "age": 3, "good": True},
        6: {"name": ".dot ünï", "breed": ".hidden", "age": 2},
        "Zed": {"name": "Zed", "breed": "Pug", "age": -1, "good": False},
    }
    for k, v in rows.items():
        with open(mnt.p("data", "dog", "%s.json" % k), "w") as f:
            f.write(json.dumps(v))
    return mnt


def test_attributes_and_values(dogs):
    assert sorted(ls(dogs, "data", "dog", ".by")) == sorted(
        ["__createdtime__", "__updatedtime__", "age", "breed", "good",
         "name", "tags", "vet"])  # owner is an object: not indexed
    # numbers before strings; numbers numerically; strings bytewise
    assert ls(dogs, "data", "dog", ".by", "age") == \
        ["-1", "2", "3", "3.5", "7", "10"]
    assert ls(dogs, "data", "dog", ".by", "breed") == \
        ["%2Ehidden", "%33", "Lab", "Lab%2FMix", "Pug"]
    # a leading dot and unicode
    assert ls(dogs, "data", "dog", ".by", "breed", "%2Ehidden") == ["6.json"]
    assert ls(dogs, "data", "dog", ".by", "name", "%2Edot ünï") == ["6.json"]
    assert ls(dogs, "data", "dog", ".by", "good") == ["false", "true"]
    assert ls(dogs, "data", "dog", ".by", "vet") == ["null"]
    assert ls(dogs, "data", "dog", ".by", "tags") == ["big", "calm", "small"]
    # never listed, always reachable
    assert ".by" not in os.listdir(dogs.p("data", "dog"))


def test_value_directories_list_symlinks(dogs):
    d = dogs.p("data", "dog", ".by", "breed", "Lab")
    assert ls(dogs, "data", "dog", ".by", "breed", "Lab") == ["1.json", "3.json"]
    assert os.readlink(os.path.join(d, "1.json")) == "../../../1.json"
    assert os.path.islink(os.path.join(d, "1.json"))
    out = dogs.sh("ls -l data/dog/.by/breed/Lab/").stdout
    assert "1.json -> ../../../1.json" in out
    names = dogs.sh("cat data/dog/.by/breed/Lab/*.json | jq -r .name").stdout
    assert names.split() == ["Rex", "Max"]
    # the string "3" and the number 3 are told apart
    assert ls(dogs, "data", "dog", ".by", "breed", "%33") == ["5.json"]
    assert ls(dogs, "data", "dog", ".by", "age", "3") == ["1.json", "5.json"]
    # arrays: each element
    assert ls(dogs, "data", "dog", ".by", "tags", "calm") == ["1.json"]
    assert ls(dogs, "data", "dog", ".by", "breed", "Lab%2FMix") == ["4.json"]
    assert ls(dogs, "data", "dog", ".by", "breed", "Pug") == ["2.json", "Zed.json"]
    # a value nobody holds is an empty directory
    assert ls(dogs, "data", "dog", ".by", "breed", "Poodle") == []
    with pytest.raises(FileNotFoundError):
        os.stat(dogs.p("data", "dog", ".by", "breed", "Lab", "2.json"))
    with pytest.raises(FileNotFoundError):
        os.stat(dogs.p("data", "dog", ".by", "nosuch"))


def test_and_and_ranges(dogs):
    assert ls(dogs, "data", "dog", ".by", "breed", "Lab", ".by", "age", "3") \
        == ["1.json"]
    link = dogs.p("data", "dog", ".by", "breed", "Lab", ".by", "age", "3",
                  "1.json")
    assert os.readlink(link) == "../../../../../../1.json"
    assert json.loads(open(link).read())["name"] == "Rex"
    assert ls(dogs, "data", "dog", ".by", "age", "3..7") == \
        ["1.json", "2.json", "4.json", "5.json"]
    assert ls(dogs, "data", "dog", ".by", "age", "10..") == ["3.json"]
    assert ls(dogs, "data", "dog", ".by", "age", "..3") == \
        ["1.json", "5.json", "6.json", "Zed.json"]
    assert sorted(ls(dogs, "data", "dog", ".by", "name", "B..R")) == \
        ["3.json", "5.json"]
    assert ls(dogs, "data", "dog", ".by", "breed", "Lab", ".by", "age",
              "3..10") == ["1.json", "3.json"]
    # under an AND, only the values the narrowed records hold
    assert ls(dogs, "data", "dog", ".by", "breed", "Lab", ".by", "age") == \
        ["3", "10"]
    assert ls(dogs, "data", "dog", ".by", "age", "3", ".by", "breed") == \
        ["%33", "Lab"]
    # ranges are never listed
    assert "3..7" not in ls(dogs, "data", "dog", ".by", "age")


def test_mv_sets_the_value(dogs):
    dogs.sh("mv data/dog/.by/breed/Lab/1.json data/dog/.by/breed/Poodle/")
    r = json.loads(dogs.read("data", "dog", "1.json"))
    assert r["breed"] == "Poodle"
    assert ls(dogs, "data", "dog", ".by", "breed", "Poodle") == ["1.json"]
    assert ls(dogs, "data", "dog", ".by", "breed", "Lab") == ["3.json"]
    # in an array, the element moved from changes
    dogs.sh("mv data/dog/.by/tags/big/1.json data/dog/.by/tags/huge/")
    assert json.loads(dogs.read("data", "dog", "1.json"))["tags"] == \
        ["huge", "calm"]
    # into a list from elsewhere: refused, nothing changes
    with pytest.raises(OSError) as e:
        os.rename(dogs.p("data", "dog", ".by", "breed", "Poodle", "1.json"),
                  dogs.p("data", "dog", ".by", "tags", "z", "1.json"))
    assert e.value.errno == errno.EPERM
    assert json.loads(dogs.read("data", "dog", "1.json"))["tags"] == \
        ["huge", "calm"]
    assert "is a list" in dogs.errors()
    # long attribute names and values are stored; only what an index key
    # can hold is indexed
    with open(dogs.p("data", "dog", "9.json"), "w") as f:
        f.write(json.dumps({"a" * 200: "x" * 380, "c" * 1000: 1, "ok": 1}))
    assert json.loads(dogs.read("data", "dog", "9.json"))["ok"] == 1
    assert "a" * 200 not in ls(dogs, "data", "dog", ".by")
    # numbers stay numbers
    dogs.sh("mv data/dog/.by/age/7/2.json data/dog/.by/age/8/")
    assert json.loads(dogs.read("data", "dog", "2.json"))["age"] == 8


def test_by_is_read_only(dogs):
    for call, args in [(os.unlink, ("breed", "Lab", "1.json")),
                       (os.mkdir, ("newattr",)),
                       (os.rmdir, ("breed", "Lab"))]:
        with pytest.raises(OSError) as e:
            call(dogs.p("data", "dog", ".by", *args))
        assert e.value.errno == errno.EPERM
    with pytest.raises(OSError) as e:
        open(dogs.p("data", "dog", ".by", "breed", "Lab", "9.json"), "w")
    assert e.value.errno == errno.EPERM
    assert "change the record itself" in dogs.errors()
    assert json.loads(dogs.read("data", "dog", "1.json"))["breed"] == "Lab"


def test_tools_see_each_record_once(dogs):
    # the records and the database's schema.graphql
    assert len(dogs.sh("find data -type f").stdout.split()) == 8
    assert len(dogs.sh("find data -type l").stdout.split()) == 0
    assert dogs.sh("grep -rl Rex data").stdout.split() == ["data/dog/1.json"]
    dogs.sh("tar -cf /tmp/by-test.tar data")
    names = dogs.sh("tar -tf /tmp/by-test.tar").stdout.split()
    assert len([n for n in names if n.endswith(".json")]) == 7
    assert not [n for n in names if ".by" in n]
    dogs.sh("rm -rf data/dog")
    # an empty database lists its (empty) schema file only
    assert os.listdir(dogs.p("data")) == ["schema.graphql"]


def test_indexes_follow_every_change(dogs):
    dogs.sh("sed -i 's/Pug/Lab/' data/dog/2.json")
    assert ls(dogs, "data", "dog", ".by", "breed", "Lab") == \
        ["1.json", "2.json", "3.json"]
    dogs.sh("mv data/dog/2.json data/dog/20.json")
    assert ls(dogs, "data", "dog", ".by", "breed", "Lab") == \
        ["1.json", "3.json", "20.json"]
    dogs.sh("mkdir data/cat && mv data/dog/20.json data/cat/")
    assert ls(dogs, "data", "dog", ".by", "breed", "Lab") == ["1.json", "3.json"]
    assert ls(dogs, "data", "cat", ".by", "breed", "Lab") == ["20.json"]
    dogs.sh("rm data/dog/1.json")
    assert ls(dogs, "data", "dog", ".by", "breed", "Lab") == ["3.json"]
    dogs.sh("echo '{\"breed\":\"Lab\"}' > data/dog/3.json.tmp && "
            "mv data/dog/3.json.tmp data/dog/Zed.json")
    assert ls(dogs, "data", "dog", ".by", "breed", "Lab") == \
        ["3.json", "Zed.json"]
    assert ls(dogs, "data", "dog", ".by", "breed", "Pug") == []
    assert "Pug" not in ls(dogs, "data", "dog", ".by", "breed")
    # the check at unmount (conftest) proves index and records agree
    dogs.kill9()
    dogs.start()
    assert ls(dogs, "data", "dog", ".by", "breed", "Lab") == \
        ["3.json", "Zed.json"]


def test_rewrites_change_only_the_entries_that_differ(dogs):
    """A record rewritten in place keeps the entries its old and new texts
    share and changes the others: list elements that come and go, an
    attribute that goes, a scalar that becomes a list of itself and more,
    a value that moves between number and string, and a rewrite to the
    same text."""
    def by(*parts):
        return ls(dogs, "data", "dog", ".by", *parts)

    def put(k, v):
        with open(dogs.p("data", "dog", "%s.json" % k), "w") as f:
            f.write(json.dumps(v))

    put(1, {"name": "Rex", "breed": "Lab", "age": 3,
            "tags": ["calm", "old", "tall"]})
    assert by("tags", "big") == []
    assert by("tags", "old") == ["1.json"]
    assert by("tags", "calm") == ["1.json"]
    put(1, {"name": "Rex", "breed": ["Lab", "Pug"], "age": "3",
            "tags": ["calm"]})
    assert by("tags") == ["calm", "small"]
    assert by("breed", "Lab") == ["1.json", "3.json"]
    assert by("breed", "Pug") == ["1.json", "2.json", "Zed.json"]
    assert by("age", "3") == ["5.json"]
    assert by("age", "%33") == ["1.json"]
    put(1, {"name": "Rex"})
    assert by("tags") == ["small"]  # calm's last entry went
    assert by("breed", "Lab") == ["3.json"]
    assert "1.json" not in by("age", "%33")
    before = by("name", "Rex")
    put(1, {"name": "Rex"})
    assert by("name", "Rex") == before == ["1.json"]
    # the same through sed -i (a rename onto the record) and vim
    dogs.sh("sed -i 's/\"Pug\"/\"Boxer\"/' data/dog/2.json")
    assert by("breed", "Pug") == ["Zed.json"]
    assert by("breed", "Boxer") == ["2.json"]
    dogs.sh("vim -es -c '%s/\"small\"/\"small\", \"loud\"/' "
            "-c wq data/dog/2.json")
    assert by("tags", "loud") == ["2.json"]
    assert by("tags", "small") == ["2.json"]
    # the check at unmount (conftest) proves index and records agree


def test_long_values_and_listby_option(mnt):
    mnt.sh("mkdir data/dog")
    long = "n" * 400
    with open(mnt.p("data", "dog", "1.json"), "w") as f:
        f.write(json.dumps({"note": long}))
    names = ls(mnt, "data", "dog", ".by", "note")
    assert len(names) == 1 and "%~" in names[0] and len(names[0]) <= 255
    assert ls(mnt, "data", "dog", ".by", "note", names[0]) == ["1.json"]
    mnt.restart(["-o", "listby"])
    assert ls(mnt, "data", "dog")[0] == ".by"
    assert "note" in ls(mnt, "data", "dog", ".by")

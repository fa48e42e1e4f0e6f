"""Key names: percent-encoding, numbers and strings, long keys."""
import errno
import json
import os
import subprocess

import pytest

MKDB = os.environ.get("RECORDFS_MKDB", os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "tests", "mkdb"))


def put(m, name, body):
    with open(m.p("data", "dog", name), "w") as f:
        f.write(body)


def get(m, name):
    return json.loads(m.read("data", "dog", name))


@pytest.fixture
def dog(mnt):
    mnt.sh("mkdir data/dog")
    return mnt


@pytest.mark.parametrize("key,name", [
    ("a/b", "a%2Fb.json"),
    ("50%", "50%25.json"),
    ("..", "%2E..json"),
    (".", "%2E.json"),
    (".hidden", "%2Ehidden.json"),
    ("héllo wörld ✓", "héllo wörld ✓.json"),
    ("tab\there", "tab%09here.json"),
    ("\x01\x7f", "%01%7F.json"),
    ("-7", "%2D7.json"),
    ("007", "007.json"),
    ("1.5", "1.5.json"),
    ("x" * 250, "x" * 250 + ".json"),
])
def test_string_key_names(dog, key, name):
    put(dog, name, json.dumps({"v": 1}))
    assert get(dog, name)["id"] == key
    assert name in os.listdir(dog.p("data", "dog"))
    # the key written in the body agrees with the name
    put(dog, name, json.dumps({"id": key, "v": 2}))
    assert get(dog, name)["v"] == 2
    os.unlink(dog.p("data", "dog", name))
    assert os.listdir(dog.p("data", "dog")) == []


@pytest.mark.parametrize("num", [0, -7, 9223372036854775807,
                                 -9223372036854775808])
def test_integer_key_names(dog, num):
    put(dog, "%d.json" % num, "{}")
    assert get(dog, "%d.json" % num)["id"] == num


def test_numbers_sort_before_strings_numerically(dog):
    for n in ["10.json", "9.json", "-1.json", "b.json", "a.json", "%31.json"]:
        put(dog, n, "{}")
    assert subprocess.run(["ls", "-f", dog.p("data", "dog")],
                          capture_output=True, text=True).stdout.split() == \
        [".", "..", "-1.json", "9.json", "10.json", "%31.json", "a.json",
         "b.json"]


@pytest.mark.parametrize("name", ["%41.json", "%zz.json", "%2f.json",
                                  "%.json", "a%2Eb.json", "%32%33.json"])
def test_non_canonical_names_refused(dog, name):
    with pytest.raises(OSError) as e:
        put(dog, name, "{}")
    assert e.value.errno == errno.EINVAL
    assert name in dog.errors()


def test_string_that_is_not_canonical_int(dog):
    # "01" is not a canonical integer: it is the string "01"
    put(dog, "01.json", "{}")
    assert get(dog, "01.json")["id"] == "01"


def test_binary_names(dog):
    raw = b"\xff\xfe bin"
    path = os.path.join(dog.p("data", "dog").encode(), raw)
    with open(path, "wb") as f:
        f.write(b"data")
    assert raw in os.listdir(dog.p("data", "dog").encode())
    with open(path, "rb") as f:
        assert f.read() == b"data"
    # as a record name it cannot be a key (keys are JSON strings)
    with pytest.raises(OSError) as e:
        open(path + b".json", "wb").close()
    assert e.value.errno == errno.EINVAL


def test_255_byte_names(dog):
    scratch = "s" * 255
    with open(dog.p("data", "dog", scratch), "w") as f:
        f.write("x")
    assert scratch in os.listdir(dog.p("data", "dog"))
    with pytest.raises(OSError) as e:
        open(dog.p("data", "dog", "s" * 256), "w")
    assert e.value.errno == errno.ENAMETOOLONG


def test_long_keys_hashed_form(tmp_path):
    """A key too long for a name lists in the hashed form and reads,
    writes, renames and removes through it."""
    from conftest import Mount
    import hashlib
    m = Mount(tmp_path)
    key = "k" * 300
    subprocess.run([MKDB, m.datadir, "data", "dog", "0", key], check=True)
    m.start()
    try:
        names = os.listdir(m.p("data", "dog"))
        assert len(names) == 1
        name = names[0]
        digest = hashlib.sha256(key.encode()).hexdigest()
        assert name.endswith("%~" + digest + ".json")
        assert len(name.encode()) <= 255
        assert json.loads(m.read("data", "dog", name))["id"] == key
        with open(m.p("data", "dog", name), "w") as f:
            f.write(json.dumps({"id": key, "v": 3}))
        assert json.loads(m.read("data", "dog", name))["v"] == 3
        m.sh("mv data/dog/'%s' data/dog/short.json" % name)
        assert json.loads(m.read("data", "dog", "short.json"))["id"] == "short"
        m.sh("rm data/dog/short.json")
        assert os.listdir(m.p("data", "dog")) == []
    finally:
        m.stop()

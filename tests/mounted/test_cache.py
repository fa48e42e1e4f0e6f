"""What the kernel's caches could break: names, attributes and pages are
kept across requests, so every change must show at once through every
path and every process."""
import errno
import json
import os
import subprocess
import threading
import time

import pytest


def cat(m, *parts):
    """Read a file the way another program would: another process."""
    return subprocess.run(["cat", m.p(*parts)], capture_output=True,
                          check=True).stdout


def seen(m, *parts):
    """The text, checked against the size stat gives."""
    text = cat(m, *parts)
    assert os.stat(m.p(*parts)).st_size == len(text), text
    return text


@pytest.fixture
def dog(mnt):
    mnt.sh("mkdir data/dog")
    return mnt


def test_write_then_read_from_another_process(dog):
    for body in ('{"name":"Rex"}', '{"name":"Rex","tags":["a","b","c"]}',
                 '{"n":1}'):
        dog.sh("echo '%s' > data/dog/1.json" % body)
        r = json.loads(seen(dog, "data", "dog", "1.json"))
        assert {k: v for k, v in r.items()
                if not k.startswith("__")} == dict(json.loads(body), id=1)


def test_stat_size_right_after_writes(dog):
    path = dog.p("data", "dog", "1.json")
    with open(path, "w") as f:
        f.write('{"a":1}')
    size = os.stat(path).st_size
    assert size == len(dog.read("data", "dog", "1.json"))
    for n in (5, 500, 2):
        with open(path, "w") as f:
            f.write(json.dumps({"a": "x" * n}))
        st = os.stat(path)
        text = dog.read("data", "dog", "1.json")
        assert st.st_size == len(text)
        assert json.loads(text)["a"] == "x" * n


def test_reader_open_before_a_rewrite_reads_its_text_whole(dog):
    path = dog.p("data", "dog", "1.json")
    with open(path, "w") as f:
        f.write(json.dumps({"pad": "o" * 9000}))
    old = dog.read("data", "dog", "1.json")
    for body in ({"pad": "s"}, {"pad": "l" * 20000}):
        with open(path, "rb") as f:
            before = f.read(10)
            dog.sh("echo '%s' > data/dog/1.json" % json.dumps(body))
            # a new reader reads the new text, whole
            assert json.loads(cat(dog, "data", "dog", "1.json"))[
                "pad"] == body["pad"]
            os.stat(path)
            rest = f.read()
        assert before + rest == old
        old = seen(dog, "data", "dog", "1.json")
        assert json.loads(old)["pad"] == body["pad"]


def test_mv_through_by_changes_what_the_record_reads(dog):
    dog.sh("""echo '{"breed":"Lab","name":"Rex"}' > data/dog/2.json""")
    seen(dog, "data", "dog", "2.json")
    assert "2.json" in os.listdir(dog.p("data/dog/.by/breed/Lab"))
    dog.sh("mv data/dog/.by/breed/Lab/2.json data/dog/.by/breed/Poodle/")
    r = json.loads(seen(dog, "data", "dog", "2.json"))
    assert r["breed"] == "Poodle"
    assert not os.path.lexists(dog.p("data/dog/.by/breed/Lab/2.json"))
    assert os.listdir(dog.p("data/dog/.by/breed/Poodle")) == ["2.json"]
    assert json.loads(cat(dog, "data/dog/.by/breed/Poodle/2.json"))[
        "breed"] == "Poodle"


def test_by_links_follow_changes_made_through_the_table(dog):
    dog.sh("""echo '{"breed":"Lab"}' > data/dog/2.json""")
    assert os.path.lexists(dog.p("data/dog/.by/breed/Lab/2.json"))
    assert not os.path.lexists(dog.p("data/dog/.by/breed/Pug/2.json"))
    dog.sh("""echo '{"breed":"Pug"}' > data/dog/2.json""")
    assert not os.path.lexists(dog.p("data/dog/.by/breed/Lab/2.json"))
    assert os.path.lexists(dog.p("data/dog/.by/breed/Pug/2.json"))
    assert os.listdir(dog.p("data/dog/.by/breed/Lab")) == []
    assert json.loads(cat(dog, "data/dog/.by/breed/Pug/2.json"))[
        "breed"] == "Pug"
    dog.sh("rm data/dog/2.json")
    assert not os.path.lexists(dog.p("data/dog/.by/breed/Pug/2.json"))


def test_rename_rewrites_the_key_and_the_size(dog):
    dog.sh("""echo '{"a":1}' > data/dog/2.json""")
    seen(dog, "data", "dog", "2.json")
    dog.sh("mv data/dog/2.json data/dog/12345.json")
    assert json.loads(seen(dog, "data", "dog", "12345.json"))["id"] == 12345
    assert not os.path.exists(dog.p("data", "dog", "2.json"))
    dog.sh("mkdir data/cat && mv data/dog/12345.json data/cat/Tom.json")
    assert json.loads(seen(dog, "data", "cat", "Tom.json"))["id"] == "Tom"
    assert not os.path.exists(dog.p("data", "dog", "12345.json"))


def test_scratch_renamed_onto_a_record_and_back(dog):
    with open(dog.p("data", "dog", "tmp"), "w") as f:
        f.write('{"a":1}')
    assert cat(dog, "data", "dog", "tmp") == b'{"a":1}'
    dog.sh("mv data/dog/tmp data/dog/5.json")
    text = seen(dog, "data", "dog", "5.json")
    assert json.loads(text)["id"] == 5 and text != b'{"a":1}'
    dog.sh("mv data/dog/5.json data/dog/5.json~")
    assert seen(dog, "data", "dog", "5.json~") == text


def test_rm_then_recreate(dog):
    dog.sh("""echo '{"v":"old old old"}' > data/dog/3.json""")
    seen(dog, "data", "dog", "3.json")
    dog.sh("rm data/dog/3.json")
    assert not os.path.exists(dog.p("data", "dog", "3.json"))
    dog.sh("""echo '{"v":"new"}' > data/dog/3.json""")
    assert json.loads(seen(dog, "data", "dog", "3.json"))["v"] == "new"


def test_negative_entry_then_create(dog):
    for name in ("7.json", "notes.txt"):
        assert not os.path.exists(dog.p("data", "dog", name))
        with pytest.raises(OSError) as e:
            open(dog.p("data", "dog", name))
        assert e.value.errno == errno.ENOENT
        dog.sh("""echo '{"v":1}' > data/dog/%s""" % name)
        assert os.path.exists(dog.p("data", "dog", name))
        assert b'"v"' in seen(dog, "data", "dog", name)
    assert not os.path.exists(dog.p("data", "cat"))
    dog.sh("mkdir data/cat")
    assert os.path.isdir(dog.p("data", "cat"))


def test_refused_create_leaves_no_name(dog):
    r = dog.sh("""echo '{"id": 4}' > data/dog/3.json""", check=False)
    assert r.returncode != 0
    assert not os.path.exists(dog.p("data", "dog", "3.json"))
    assert os.listdir(dog.p("data", "dog")) == []
    # a text cut short, refused at close
    assert dog.write_close(b'{"a":', "data", "dog", "8.json",
                           flags=os.O_WRONLY | os.O_CREAT) != 0
    assert not os.path.exists(dog.p("data", "dog", "8.json"))


def test_refused_create_then_at_once_again(dog):
    """A create refused by its write or by its close leaves no name, at
    once, for stat, open and ls, and a create of the same name right after
    works; a record is read by another process right after its create.
    Fifty times each, for whatever the kernel caches between them."""
    path = dog.p("data", "dog", "5.json")
    for i in range(50):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        if i % 2:
            # refused by the write that completes it...
            with pytest.raises(OSError) as e:
                os.write(fd, b'{"id": 6}')
            assert e.value.errno == errno.EINVAL
            with pytest.raises(OSError):  # and the close says so again
                os.close(fd)
        else:
            # ...or, cut short, by the close
            os.write(fd, b'{"a": ')
            with pytest.raises(OSError) as e:
                os.close(fd)
            assert e.value.errno == errno.EINVAL
        with pytest.raises(OSError) as e:
            os.stat(path)
        assert e.value.errno == errno.ENOENT
        with pytest.raises(OSError) as e:
            open(path).read()
        assert e.value.errno == errno.ENOENT
        assert "5.json" not in os.listdir(dog.p("data", "dog"))
        with open(path, "w") as f:
            f.write('{"n": %d}' % i)
        assert json.loads(cat(dog, "data", "dog", "5.json"))["n"] == i
        os.unlink(path)
    # and a record read by another process right after its create
    for i in range(50):
        with open(dog.p("data", "dog", "%d.json" % (100 + i)), "w") as f:
            f.write('{"n": %d}' % i)
        assert json.loads(seen(dog, "data", "dog", "%d.json" % (100 + i)))[
            "n"] == i


def test_refused_rewrite_keeps_what_is_read(dog):
    dog.sh("""echo '{"a":1}' > data/dog/1.json""")
    before = seen(dog, "data", "dog", "1.json")
    r = dog.sh("echo '{\"a\": nope}' > data/dog/1.json", check=False)
    assert r.returncode != 0
    assert seen(dog, "data", "dog", "1.json") == before


def test_truncate_and_touch_show_at_once(dog):
    dog.sh("""echo '{"a":"long long long"}' > data/dog/1.json""")
    seen(dog, "data", "dog", "1.json")
    dog.sh("truncate -s 0 data/dog/1.json")
    r = json.loads(seen(dog, "data", "dog", "1.json"))
    assert "a" not in r and r["id"] == 1
    dog.sh("touch -d @1000000000 data/dog/1.json")
    assert os.stat(dog.p("data", "dog", "1.json")).st_mtime == 1000000000


def test_next_is_fresh_on_every_read(dog):
    keys = [cat(dog, "data", "dog", ".next") for _ in range(3)]
    assert len(set(keys)) == 3


def test_compact_json_reads_and_sizes(tmp_path):
    from conftest import Mount
    m = Mount(tmp_path, ["-o", "json=compact"]).start()
    try:
        m.sh("mkdir data/dog && echo '{\"a\": [1, 2]}' > data/dog/1.json")
        text = seen(m, "data", "dog", "1.json")
        assert b"\n " not in text.rstrip(b"\n")
        m.sh("echo '{\"a\": [1, 2, 3]}' > data/dog/1.json")
        assert json.loads(seen(m, "data", "dog", "1.json"))["a"] == [1, 2, 3]
    finally:
        m.stop()


def test_readers_and_writers_of_different_sizes(dog):
    """Each reader reads one whole record, whatever the writers do, also
    when the texts differ in size."""
    sizes = {"a": 20000, "b": 300, "c": 9000}
    path = dog.p("data", "dog", "1.json")
    with open(path, "w") as f:
        f.write(json.dumps({"who": "a", "pad": "a" * 20000}))
    stop = threading.Event()
    bad = []

    def writer(w):
        body = json.dumps({"who": w, "pad": w * sizes[w]})
        while not stop.is_set():
            with open(path, "w") as f:
                f.write(body)

    def reader():
        while not stop.is_set():
            with open(path) as f:
                text = f.read()
            try:
                r = json.loads(text)
                if r["pad"] != r["who"] * sizes[r["who"]]:
                    bad.append(text[:80])
            except ValueError:
                bad.append(text[:80] + "..." + text[-20:])

    threads = [threading.Thread(target=writer, args=(w,)) for w in sizes]
    threads += [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    stop.wait(3)
    stop.set()
    for t in threads:
        t.join()
    assert bad == []


def test_refused_truncate_leaves_size_and_text(dog):
    """A writer's size is not kept: after its refused close, stat and
    cat show the stored record."""
    dog.sh("echo '{\"name\":\"Rex\",\"age\":3}' > data/dog/1.json")
    cat(dog, "data", "dog", "1.json")
    path = dog.p("data", "dog", "1.json")
    before = dog.read("data", "dog", "1.json")
    r = dog.sh("truncate -s 5 data/dog/1.json", check=False)
    assert r.returncode != 0
    assert os.stat(path).st_size == len(before)
    assert dog.read("data", "dog", "1.json") == before
    fd = os.open(path, os.O_RDWR)
    os.ftruncate(fd, 500)
    with pytest.raises(OSError):
        os.close(fd)
    assert os.stat(path).st_size == len(before)
    assert dog.read("data", "dog", "1.json") == before


def test_mapped_writer_bytes_never_read_as_the_record(dog):
    """A writer's raw bytes faulted in through mmap must not be served
    to later readers from the page cache."""
    import mmap
    dog.sh("echo '{\"name\":\"Rex\",\"age\":3}' > data/dog/1.json")
    cat(dog, "data", "dog", "1.json")
    path = dog.p("data", "dog", "1.json")
    before = dog.read("data", "dog", "1.json")
    fd = os.open(path, os.O_RDWR)
    os.pwrite(fd, b'{"name":"Zzz"}\n}\n', 0)
    m = mmap.mmap(fd, 0, flags=mmap.MAP_PRIVATE, prot=mmap.PROT_READ)
    assert bytes(m[:8]) == b'{"name":'
    m.close()
    with pytest.raises(OSError):
        os.close(fd)
    assert dog.read("data", "dog", "1.json") == before


def test_refused_write_keeps_the_mtime(dog):
    dog.sh("echo '{\"name\":\"Rex\",\"age\":3}' > data/dog/1.json")
    cat(dog, "data", "dog", "1.json")
    path = dog.p("data", "dog", "1.json")
    mtime = os.stat(path).st_mtime_ns
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
    os.write(fd, b'{"name": ')
    os.utime(fd, ns=(0, 0))
    with pytest.raises(OSError):
        os.close(fd)
    assert os.stat(path).st_mtime_ns == mtime


def test_requests_per_operation(tmp_path):
    """What the caches are for, counted: the requests the kernel sends for
    each operation (libfuse's -d log has a line for each), so a change that
    loses a cache, or adds a request per file, fails here.  RELEASE comes
    after close has returned; GETXATTR (the kernel asking once whether a
    written file has security.capability) is not counted."""
    from conftest import Mount
    m = Mount(tmp_path, ["-d"]).start()
    n = 20
    try:
        m.sh("mkdir data/dog")
        d = m.p("data", "dog")

        def settled():
            """The log's requests once it stops growing."""
            last = None
            while True:
                with open(m.logs[-1], errors="replace") as f:
                    ops = [line.split("opcode: ")[1].split()[0]
                           for line in f if "opcode: " in line]
                if ops == last:
                    return ops
                last = ops
                time.sleep(0.3)

        def counted(work):
            before = len(settled())
            work()
            ops = settled()[before:]
            out = {}
            for op in ops:
                if op not in ("GETXATTR", "FORGET", "BATCH_FORGET"):
                    out[op] = out.get(op, 0) + 1
            return out

        def create():
            for i in range(n):
                assert m.write_close(
                    b'{"name":"dog%d","age":%d}' % (i, i % 15), "data", "dog",
                    "%d.json" % i,
                    flags=os.O_WRONLY | os.O_CREAT | os.O_TRUNC) == 0

        def read():
            for i in range(n):
                fd = os.open(os.path.join(d, "%d.json" % i), os.O_RDONLY)
                while os.read(fd, 65536):
                    pass
                os.close(fd)

        def rewrite():
            for i in range(n):
                assert m.write_close(b'{"name":"cat%d"}' % i, "data", "dog",
                                     "%d.json" % i) == 0

        def delete():
            for i in range(n):
                os.unlink(os.path.join(d, "%d.json" % i))

        assert counted(create) == {"LOOKUP": n, "CREATE": n, "WRITE": n,
                                   "FLUSH": n, "RELEASE": n}
        read()  # a created record's name is kept once it is committed
        # the pages stored at open are read, with no READ; a reader's
        # close sends no FLUSH
        assert counted(read) == {"OPEN": n, "RELEASE": n}
        assert counted(rewrite) == {"OPEN": n, "WRITE": n, "FLUSH": n,
                                    "RELEASE": n}
        assert json.loads(cat(m, "data", "dog", "3.json"))["name"] == "cat3"
        assert counted(delete) == {"UNLINK": n}
    finally:
        m.stop()

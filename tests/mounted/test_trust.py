"""Issue 15's rules: no silent change of data, POSIX answers where tools
rely on them.  (The mounted tests run against the sanitizer build too,
where any UBSan report stops the daemon and fails the test.)"""
import errno
import json
import os

import pytest


def test_rewrite_without_index_entries(mnt):
    """A rewrite whose old and new texts have no index entries (a declared
    table with no @indexed attribute) sorted an empty list: qsort of NULL,
    which UBSan reports."""
    with open(mnt.p("data", "schema.graphql"), "w") as f:
        f.write('type T @table(table: "t") { id: Int @primaryKey a: [Int] }\n')
    for body in ['{"a":[]}', '{"a":[]}', '{"a":[1]}', '{}']:
        mnt.sh("echo '%s' > data/t/1.json" % body)
        r = json.loads(mnt.read("data", "t", "1.json"))
        assert r == dict(json.loads(body), id=1)
    mnt.sh("mkdir data/d")
    for body in ['{"a":[]}', '{"a":[]}']:
        mnt.sh("echo '%s' > data/d/1.json" % body)
    assert json.loads(mnt.read("data", "d", "1.json"))["a"] == []


def errno_of(f, *args):
    try:
        f(*args)
    except OSError as e:
        return e.errno
    return 0


def test_names_past_name_max(mnt):
    """A name longer than 255 bytes is ENAMETOOLONG for every operation,
    and a change refused for it says so in the error log."""
    mnt.sh("mkdir data/t && echo x > data/f.txt")
    long = "a" * 300
    t = mnt.p("data", "t", long)
    for f, args in [(os.stat, (t,)), (os.unlink, (t,)), (open, (t,)),
                    (open, (t, "w")), (os.truncate, (t, 0)),
                    (os.mkdir, (mnt.p("data", long),)),
                    (os.rmdir, (mnt.p("data", long),)),
                    (os.rename, (mnt.p("data", "f.txt"), t)),
                    (os.rename, (t, mnt.p("data", "g.txt"))),
                    (os.symlink, ("x", t))]:
        assert errno_of(f, *args) == errno.ENAMETOOLONG, f
    assert "a name holds at most 255 bytes" in mnt.errors()
    # 255 bytes is a name like any other
    ok = "b" * 250 + ".txt"
    mnt.sh("echo y > data/t/" + ok)
    assert mnt.read("data", "t", ok) == b"y\n"


def test_links_whiteouts_and_table_renames(mnt):
    import ctypes
    mnt.sh("mkdir data/t data/u data/v && echo '{}' > data/u/1.json"
           " && echo x > data/f.txt && echo y > data/t/a.txt")
    assert errno_of(os.symlink, "x", mnt.p("data", "t", "l")) == errno.EPERM
    assert errno_of(os.link, mnt.p("data", "u", "1.json"),
                    mnt.p("data", "t", "2.json")) == errno.EPERM
    errors = mnt.errors()
    assert "data/t/l: symbolic links cannot be made here" in errors
    assert "data/t/2.json: hard links cannot be made" in errors
    # renameat2(RENAME_WHITEOUT) is no plain rename
    libc = ctypes.CDLL(None, use_errno=True)
    rc = libc.renameat2(-100, mnt.p("data", "t", "a.txt").encode(), -100,
                        mnt.p("data", "t", "b.txt").encode(), 4)
    assert rc == -1 and ctypes.get_errno() == errno.EINVAL
    assert mnt.read("data", "t", "a.txt") == b"y\n"
    assert "whiteouts (overlayfs) are not supported" in mnt.errors()
    # a table onto a file, onto a table with records, onto an empty one
    assert errno_of(os.rename, mnt.p("data", "t"),
                    mnt.p("data", "f.txt")) == errno.ENOTDIR
    assert errno_of(os.rename, mnt.p("data", "t"),
                    mnt.p("data", "u")) == errno.ENOTEMPTY
    assert "data/u: the table it would replace is not empty" in mnt.errors()
    assert errno_of(os.rename, mnt.p("data", "t"),
                    mnt.p("data", "v")) == errno.EPERM
    # mkdir in .by: a name that is not there is refused with a line
    assert errno_of(os.mkdir, mnt.p("data", "u", ".by", "nope")) == \
        errno.EPERM
    assert "data/u/.by/.../nope: the .by tree shows the indexes" in \
        mnt.errors()

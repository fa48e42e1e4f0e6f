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

"""A database copied out with tar, cp -a or rsync -a and restored into a
new database the same way comes back as it was: dynamic tables dynamic
(a new attribute is indexed), declared tables declared (their checks
hold), and each record's text, key, times, mode and owner the same."""
import json
import os

import pytest

SCHEMA = """type Owner @table(table: "owner") {
  id: ID @primaryKey
  name: String! @indexed
}
"""


def tree(m, db):
    """{path: (text, mode, uid, gid, mtime_ns)} of every record."""
    out = {}
    for table in sorted(os.listdir(m.p(db))):
        if not os.path.isdir(m.p(db, table)):
            continue
        for f in sorted(os.listdir(m.p(db, table))):
            st = os.stat(m.p(db, table, f))
            out["%s/%s" % (table, f)] = (m.read(db, table, f), st.st_mode,
                                         st.st_uid, st.st_gid,
                                         st.st_mtime_ns)
    return out


@pytest.mark.parametrize("how", ["tar", "cp", "rsync"])
def test_restore_keeps_tables_records_and_attributes(mnt, tmp_path, how):
    m = mnt
    m.sh("mkdir pets pets/dog")
    (tmp_path / "s.graphql").write_text(SCHEMA)
    m.sh("cp %s pets/schema.graphql" % (tmp_path / "s.graphql"))
    m.sh("""echo '{"name":"Rex","breed":"Lab","tags":["a","b"]}' > pets/dog/1.json
echo '{"name":"Ida","age":3}' > pets/dog/Ida.json
echo '{"name":"Ann"}' > pets/owner/o1.json
chmod 640 pets/dog/1.json
chown 1000:1000 pets/dog/Ida.json
touch -d '2020-01-02 03:04:05' pets/owner/o1.json""")
    before = tree(m, "pets")
    out = tmp_path / "backup"
    out.mkdir()
    if how == "tar":
        m.sh("tar -C pets -cf %s/pets.tar ." % out)
        m.sh("mkdir pets2 && tar -C pets2 -xf %s/pets.tar" % out)
    elif how == "cp":
        m.sh("cp -a pets/. %s/" % out)
        m.sh("mkdir pets2 && cp -a %s/. pets2/" % out)
    else:
        m.sh("rsync -a pets/ %s/" % out)
        m.sh("mkdir pets2 && rsync -a %s/ pets2/" % out)
    after = tree(m, "pets2")
    assert after.keys() == before.keys()
    for name in before:
        assert after[name][0] == before[name][0], name  # keys and times
        assert after[name][1:4] == before[name][1:4], name  # mode, owner
    assert after["owner/o1.json"][4] == before["owner/o1.json"][4]
    # the schema as it was: dog dynamic, owner declared
    assert m.read("pets2", "schema.graphql") == m.read("pets", "schema.graphql")
    m.sh("""echo '{"color":"red"}' > pets2/dog/9.json""")
    assert "color" in os.listdir(m.p("pets2", "dog", ".by"))
    assert "__createdtime__" in json.loads(m.read("pets2", "dog", "9.json"))
    r = m.sh("""echo '{"nick":"x"}' > pets2/owner/o2.json""", check=False)
    assert r.returncode != 0  # name is required
    assert 'pets2/owner/o2.json: "name"' in m.errors()
    # the indexes came back with the records
    assert sorted(os.listdir(m.p("pets2", "dog", ".by", "breed"))) == ["Lab"]
    assert os.listdir(m.p("pets2", "owner", ".by", "name", "Ann")) == \
        ["o1.json"]
    m.check()

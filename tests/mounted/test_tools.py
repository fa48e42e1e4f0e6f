"""Editors and file tools: vim, sed -i, rsync, tar, cp -a, find, grep."""
import errno
import json
import os
import subprocess

import pytest


def rec(m, *parts):
    return json.loads(m.read(*parts))


@pytest.fixture
def dog(mnt):
    mnt.sh("mkdir data/dog")
    mnt.sh("""echo '{"name":"Rex","age":3}' > data/dog/1.json""")
    mnt.sh("""echo '{"name":"Zelda","age":5}' > data/dog/2.json""")
    return mnt


def listing(m):
    return sorted(os.listdir(m.p("data", "dog")))


@pytest.mark.parametrize("backupcopy", ["yes", "no", "auto"])
def test_vim_edits_a_record(dog, backupcopy):
    created = rec(dog, "data", "dog", "1.json")["__createdtime__"]
    r = dog.sh("vim -u NONE -i NONE -N -es "
               "-c 'set backupcopy=%s' -c 'set swapfile' "
               "-c '%%s/Rex/Max/' -c 'wq' data/dog/1.json" % backupcopy,
               check=False)
    assert r.returncode == 0, r.stderr + r.stdout
    got = rec(dog, "data", "dog", "1.json")
    assert got["name"] == "Max" and got["age"] == 3
    assert got["__createdtime__"] == created
    # no swap, backup or 4913 probe left behind
    assert listing(dog) == ["1.json", "2.json"]


def test_vim_bad_edit_refused_and_nothing_lost(dog):
    before = dog.read("data", "dog", "1.json")
    r = dog.sh("vim -u NONE -i NONE -N -es -c 'set backupcopy=no' "
               "-c '%s/\"name\"/name/' -c 'w' -c 'q!' data/dog/1.json",
               check=False)
    assert r.returncode != 0
    assert dog.read("data", "dog", "1.json") == before
    assert "data/dog/1.json" in dog.errors()


def test_sed_i(dog):
    dog.sh("sed -i 's/Zelda/Zora/' data/dog/2.json")
    assert rec(dog, "data", "dog", "2.json")["name"] == "Zora"
    assert listing(dog) == ["1.json", "2.json"]
    # a sed that breaks the JSON is refused (sed then removes its temp)
    r = dog.sh("sed -i 's/{/[/' data/dog/2.json", check=False)
    assert r.returncode != 0 and "Invalid argument" in r.stderr
    assert rec(dog, "data", "dog", "2.json")["name"] == "Zora"
    assert "data/dog/2.json:" in dog.errors()


def test_scratch_files_kept_not_records(dog):
    dog.sh("printf 'hello\\n' > data/dog/notes.txt")
    dog.sh("printf 'x%.0s' $(seq 1 200000) > data/dog/blob.bin")
    assert dog.read("data", "dog", "notes.txt") == b"hello\n"
    assert os.path.getsize(dog.p("data", "dog", "blob.bin")) == 200000
    assert listing(dog) == ["1.json", "2.json", "blob.bin", "notes.txt"]
    # append, truncate, offsets
    dog.sh("printf 'more\\n' >> data/dog/notes.txt")
    assert dog.read("data", "dog", "notes.txt") == b"hello\nmore\n"
    dog.sh("truncate -s 3 data/dog/notes.txt && truncate -s 5 data/dog/notes.txt")
    assert dog.read("data", "dog", "notes.txt") == b"hel\0\0"
    # renamed onto a record name: checked, and becomes the record
    dog.sh("""printf '{"name":"Tmp"}' > data/dog/.tmp.x && mv data/dog/.tmp.x data/dog/3.json""")
    assert rec(dog, "data", "dog", "3.json")["name"] == "Tmp"
    # a bad one is refused and stays
    dog.sh("printf 'not json' > data/dog/bad.tmp")
    with pytest.raises(OSError) as e:
        os.rename(dog.p("data", "dog", "bad.tmp"), dog.p("data", "dog", "4.json"))
    assert e.value.errno == errno.EINVAL
    assert "data/dog/4.json:" in dog.errors()
    r = dog.sh("mv data/dog/bad.tmp data/dog/4.json", check=False)
    assert r.returncode != 0
    assert dog.read("data", "dog", "bad.tmp") == b"not json"
    assert not os.path.exists(dog.p("data", "dog", "4.json"))
    # a record renamed to another name becomes a plain file with its text
    text = dog.read("data", "dog", "3.json")
    dog.sh("mv data/dog/3.json data/dog/3.json~")
    assert dog.read("data", "dog", "3.json~") == text
    # scratch files survive a remount
    dog.restart()
    assert dog.read("data", "dog", "notes.txt") == b"hel\0\0"
    assert dog.read("data", "dog", "bad.tmp") == b"not json"
    dog.sh("rm data/dog/notes.txt data/dog/blob.bin data/dog/bad.tmp data/dog/3.json~")
    assert listing(dog) == ["1.json", "2.json"]


def test_rsync_in_and_out(dog, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for i in range(10, 20):
        (src / ("%d.json" % i)).write_text(json.dumps({"n": i}))
    dog.sh("rsync -a %s/ data/dog/" % src)
    assert rec(dog, "data", "dog", "15.json")["n"] == 15
    assert len(listing(dog)) == 12
    # rsync -a again: nothing fails on times or modes
    dog.sh("rsync -a %s/ data/dog/" % src)
    out = tmp_path / "out"
    dog.sh("rsync -a data/dog/ %s/" % out)
    assert sorted(os.listdir(out)) == listing(dog)
    assert json.loads((out / "1.json").read_text())["name"] == "Rex"


def test_tar_x_and_c(dog, tmp_path):
    src = tmp_path / "t"
    src.mkdir()
    for i in range(30, 35):
        (src / ("%d.json" % i)).write_text('{"t":%d}' % i)
    subprocess.run(["tar", "-C", str(src), "-cf", str(tmp_path / "a.tar"),
                    "."], check=True)
    dog.sh("tar -C data/dog -xf %s" % (tmp_path / "a.tar"))
    assert rec(dog, "data", "dog", "33.json")["t"] == 33
    dog.sh("tar -C data -cf %s dog" % (tmp_path / "b.tar"))
    names = subprocess.run(["tar", "-tf", str(tmp_path / "b.tar")],
                           capture_output=True, text=True).stdout.split()
    assert sorted(names) == sorted(["dog/"] + ["dog/" + n for n in listing(dog)])


def test_cp_a_and_touch(dog, tmp_path):
    out = tmp_path / "copy"
    dog.sh("cp -a data/dog %s" % out)
    assert sorted(os.listdir(out)) == listing(dog)
    os.utime(out / "1.json", (1000000000, 1000000000))
    (out / "9.json").write_text('{"n":9}')
    os.utime(out / "9.json", (1000000000, 1000000000))
    dog.sh("cp -a %s/. data/dog/" % out)
    assert os.stat(dog.p("data", "dog", "9.json")).st_mtime == 1000000000
    dog.sh("chmod 600 data/dog/9.json && touch data/dog/9.json")
    assert os.stat(dog.p("data", "dog", "9.json")).st_mtime > 1000000000


def test_find_grep_jq(dog):
    dog.sh("echo hi > data/dog/readme.txt")
    found = dog.sh("find data -type f | sort").stdout.split()
    assert found == ["data/dog/1.json", "data/dog/2.json", "data/dog/readme.txt",
                     "data/schema.graphql"]
    assert dog.sh("grep -rl Zelda data").stdout.split() == ["data/dog/2.json"]
    assert dog.sh("cat data/dog/*.json | jq -s 'map(.age) | add'").stdout == "8\n"
    du = dog.sh("du -a data | wc -l").stdout.strip()
    assert du == "6"  # 3 files, the table, schema.graphql, the database

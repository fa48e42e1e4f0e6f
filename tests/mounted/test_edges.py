"""Edge cases: open files across renames, removals and drops; times."""
import errno
import json
import os

import pytest


@pytest.fixture
def t(mnt):
    mnt.sh("mkdir data/t")
    return mnt


def test_open_scratch_cannot_become_a_record(t):
    fd = os.open(t.p("data", "t", "tmp"), os.O_RDWR | os.O_CREAT)
    os.write(fd, b"{}")
    with pytest.raises(OSError) as e:
        os.rename(t.p("data", "t", "tmp"), t.p("data", "t", "5.json"))
    assert e.value.errno == errno.EBUSY
    os.pwrite(fd, b"{} ", 0)
    os.close(fd)
    os.rename(t.p("data", "t", "tmp"), t.p("data", "t", "5.json"))
    assert json.loads(t.read("data", "t", "5.json"))["id"] == 5
    assert "data/t/5.json: the file is open" in t.errors()


def test_rmdir_waits_for_open_files(t):
    t.sh("mkdir db2 db2/u")
    fd = os.open(t.p("db2", "u", "1.json"), os.O_CREAT | os.O_WRONLY)
    os.write(fd, b"{}")
    with pytest.raises(OSError) as e:
        os.rmdir(t.p("db2", "u"))
    assert e.value.errno == errno.EBUSY
    os.fsync(fd)
    os.close(fd)
    t.sh("rm -rf db2/u && rmdir db2")
    assert sorted(os.listdir(t.path)) == ["data"]


def test_stale_scratch_handle_does_not_write_into_the_new_file(t):
    t.sh("printf old > data/t/log && printf new > data/t/log.tmp")
    fd = os.open(t.p("data", "t", "log"), os.O_RDWR)
    t.sh("mv data/t/log.tmp data/t/log")
    # the old file outlives its name (issue 15): its handle writes it,
    # and never the file that has the name now
    assert os.pwrite(fd, b"zz", 0) == 2
    assert os.pread(fd, 10, 0) == b"zzd"
    os.close(fd)
    assert t.read("data", "t", "log") == b"new"


def test_exclusive_create_sees_a_record_being_written(t):
    fd = os.open(t.p("data", "t", "7.json"),
                 os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    with pytest.raises(FileExistsError):
        os.open(t.p("data", "t", "7.json"), os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    os.write(fd, b'{"first":true}')
    os.close(fd)
    assert json.loads(t.read("data", "t", "7.json"))["first"] is True


def test_rm_of_a_record_being_written(t):
    fd = os.open(t.p("data", "t", "8.json"), os.O_CREAT | os.O_WRONLY)
    os.write(fd, b"{}")
    os.unlink(t.p("data", "t", "8.json"))
    os.close(fd)
    assert os.listdir(t.p("data", "t")) == []


def test_times_far_from_now(t):
    t.sh("echo '{}' > data/t/1.json")
    r = t.sh("touch -d @32503680000 data/t/1.json", check=False)
    assert r.returncode != 0
    assert "within 292 years" in t.errors()
    t.sh("touch -d @-100.5 data/t/1.json")
    st = os.stat(t.p("data", "t", "1.json"))
    assert st.st_mtime_ns == -100500000000


def test_long_database_and_table_names(t):
    with pytest.raises(OSError) as e:
        os.mkdir(t.p("d" * 201))
    assert e.value.errno == errno.ENAMETOOLONG
    os.mkdir(t.p("data", "t" * 200))
    assert os.path.isdir(t.p("data", "t" * 200))

"""Generated keys: each read of table/.next reserves a fresh one."""
import errno
import json
import os
import subprocess

import pytest


def test_next_integer_keys(mnt):
    mnt.sh("mkdir data/dog")
    assert ".next" not in os.listdir(mnt.p("data", "dog"))
    mnt.sh("echo '{}' > data/dog/41.json && echo '{}' > data/dog/x.json")
    k = mnt.sh("cat data/dog/.next").stdout
    assert k == "42\n"
    assert mnt.sh("cat data/dog/.next").stdout == "43\n"
    mnt.sh('k=$(cat data/dog/.next); echo \'{"name":"Rex"}\' > data/dog/$k.json')
    assert json.loads(mnt.read("data", "dog", "44.json"))["name"] == "Rex"
    # never reused after deletes and restarts
    mnt.sh("rm data/dog/44.json")
    mnt.restart()
    assert mnt.sh("cat data/dog/.next").stdout == "45\n"
    with pytest.raises(OSError) as e:
        open(mnt.p("data", "dog", ".next"), "w")
    assert e.value.errno == errno.EACCES


def test_next_from_many_shells_at_once(mnt):
    mnt.sh("mkdir data/dog")
    script = ("for i in $(seq 50); do k=$(cat data/dog/.next); "
              "echo \"{\\\"by\\\":$$}\" > data/dog/$k.json; echo $k; done")
    procs = [subprocess.Popen(["bash", "-c", script], cwd=mnt.path,
                              stdout=subprocess.PIPE, text=True)
             for _ in range(4)]
    keys = []
    for p in procs:
        out, _ = p.communicate()
        assert p.returncode == 0
        keys += out.split()
    assert len(keys) == 200 and len(set(keys)) == 200
    assert len(os.listdir(mnt.p("data", "dog"))) == 200

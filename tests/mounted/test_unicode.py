"""Escaped characters are stored as themselves: json-c 0.16 decodes the
surrogate pairs of U+xD800..U+xDFFF in planes 1-16 as U+FFFD, and recordfs
must not."""
import json
import os


def test_echo_surrogate_pair(mnt):
    mnt.sh("mkdir data/t")
    mnt.sh(r"""echo '{"a":"\ud876\udc00"}' > data/t/1.json""")
    r = json.loads(mnt.read("data", "t", "1.json"))
    assert r["a"] == "\U0002D800"
    assert "\ufffd" not in mnt.read("data", "t", "1.json").decode()


def test_every_pair_json_c_misreads(mnt):
    """All 32,768 code points, written the way Python's json.dumps writes
    them, read back as themselves, in values and in names, and the index
    holds them too."""
    mnt.sh("mkdir data/t")
    cps = [plane << 16 | low for plane in range(1, 17)
           for low in range(0xD800, 0xE000)]
    assert len(cps) == 32768
    for n, at in enumerate(range(0, len(cps), 1024)):
        s = "".join(chr(c) for c in cps[at:at + 1024])
        body = json.dumps({"s": s, s[:60]: 1})  # ensure_ascii: \ud8xx\udcxx
        assert "\\ud" in body
        path = mnt.p("data", "t", "%d.json" % n)
        with open(path, "w") as f:
            f.write(body)
        with open(path) as f:
            r = json.load(f)
        assert r["s"] == s
        assert r[s[:60]] == 1
    # one character as an index value's directory name
    mnt.sh(r"""echo '{"c":"\ud836\udc00"}' > data/t/x.json""")
    assert os.listdir(mnt.p("data", "t", ".by", "c")) == ["\U0001D800"]
    assert os.listdir(mnt.p("data", "t", ".by", "c", "\U0001D800")) == [
        "x.json"]

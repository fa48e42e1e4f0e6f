"""Installing recordfs (issue 18): meson install puts every piece in
place; mount -t recordfs and fstab lines mount through mount.recordfs;
umount unmounts; the systemd unit verifies; the man pages have no
warnings."""
import os
import shutil
import subprocess
import time

import pytest

from conftest import BIN

BUILD = os.path.normpath(os.path.join(os.path.dirname(BIN), ".."))
HELPER = os.path.join(BUILD, "mount-helpers", "mount.recordfs")


def test_man_pages_have_no_warnings():
    for page in ("recordfs.8", "recordfs-admin.8"):
        path = os.path.join(BUILD, "mount-helpers", page)
        r = subprocess.run(["groff", "-ww", "-man", "-z", "-Tutf8", path],
                           capture_output=True, text=True)
        assert r.returncode == 0 and r.stderr == "", (page, r.stderr)
        r = subprocess.run(["man", "--warnings", "-l", path],
                           capture_output=True, text=True,
                           env={**os.environ, "MANWIDTH": "80"})
        assert r.returncode == 0 and r.stderr == "", (page, r.stderr)
        assert "recordfs" in r.stdout


def test_recordfs_8_lists_every_option():
    page = open(os.path.join(BUILD, "mount-helpers", "recordfs.8")).read()
    usage = subprocess.run([BIN, "--help"], capture_output=True,
                           text=True).stdout
    # recordfs's own options: the block after "recordfs options:"
    own = usage.split("recordfs options:")[1].split("\n\n")[0]
    names = [ln.split()[1].split("=")[0] for ln in own.splitlines()
             if ln.split()[:1] == ["-o"]]
    assert len(names) >= 9, own
    for name in names:
        assert name in page, name


def test_meson_install_puts_every_piece(tmp_path):
    dest = tmp_path / "root"
    r = subprocess.run(["meson", "install", "-C", BUILD, "--no-rebuild",
                        "--destdir", str(dest)], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    prefix = subprocess.run(["meson", "introspect", BUILD,
                             "--buildoptions"], capture_output=True,
                            text=True).stdout
    import json
    opts = {o["name"]: o["value"] for o in json.loads(prefix)}
    p = str(dest) + opts["prefix"]
    for f in ("bin/recordfs", "bin/recordfs-admin",
              "share/man/man8/recordfs.8", "share/man/man8/recordfs-admin.8"):
        assert os.path.isfile(os.path.join(p, f)), f
    helper = str(dest) + opts["mount_helper_dir"]
    assert os.access(os.path.join(helper, "mount.recordfs"), os.X_OK)
    assert os.readlink(os.path.join(helper, "mount.fuse.recordfs")) == \
        "mount.recordfs"
    unit = str(dest) + opts["systemd_unit_dir"] + "/recordfs@.service"
    assert "ExecStart=%s/bin/recordfs -f" % opts["prefix"] in \
        open(unit).read()
    assert "%s/bin/recordfs" % opts["prefix"] in \
        open(os.path.join(helper, "mount.recordfs")).read()


def test_unit_verifies(tmp_path):
    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze is not installed")
    text = open(os.path.join(BUILD, "mount-helpers",
                             "recordfs@.service")).read()
    # the instance of /mnt/db, with this build's daemon
    lines = [ln for ln in text.splitlines() if ln.startswith("ExecStart=")]
    assert lines and lines[0].split()[0].endswith("/recordfs")
    text = text.replace(lines[0].split()[0], "ExecStart=" + BIN)
    unit = tmp_path / "recordfs@mnt-db.service"
    unit.write_text(text)
    # its Documentation= is man:recordfs(8): this build's page
    man8 = tmp_path / "man" / "man8"
    man8.mkdir(parents=True)
    os.symlink(os.path.join(BUILD, "mount-helpers", "recordfs.8"),
               man8 / "recordfs.8")
    r = subprocess.run(["systemd-analyze", "verify", str(unit)],
                       capture_output=True, text=True,
                       env={**os.environ, "MANPATH": str(tmp_path / "man")})
    bad = [ln for ln in (r.stdout + r.stderr).splitlines()
           if "recordfs" in ln]
    assert r.returncode == 0 and not bad, r.stdout + r.stderr


@pytest.fixture
def helper():
    """mount(8) runs /sbin/mount.TYPE: this build's helper there while the
    test runs (unless one is installed), with RECORDFS naming this
    build's daemon."""
    made = []
    for name in ("mount.recordfs", "mount.fuse.recordfs"):
        path = "/sbin/" + name
        if not os.path.lexists(path):
            os.symlink(HELPER, path)
            made.append(path)
    old = os.environ.get("RECORDFS")
    os.environ["RECORDFS"] = BIN
    try:
        yield
    finally:
        for path in made:
            os.unlink(path)
        if old is None:
            del os.environ["RECORDFS"]
        else:
            os.environ["RECORDFS"] = old


def daemon_of(mp):
    out = subprocess.run(["pgrep", "-f", "recordfs.* %s$" % mp],
                         capture_output=True, text=True).stdout.split()
    assert out, "no daemon serves %s" % mp
    return int(out[0])


def ended(pid):
    for _ in range(400):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("how", ["mount -t recordfs", "mount -t fuse.recordfs",
                                 "fstab recordfs", "fstab fuse.recordfs"])
def test_mount_like_any_file_system(tmp_path, helper, how):
    data, mp = tmp_path / "data", tmp_path / "mnt"
    mp.mkdir()
    kind = how.split()[-1]
    if how.startswith("mount"):
        cmd = ["mount", "-t", kind, "-o", "json=compact,nosuid",
               str(data), str(mp)]
    else:
        fstab = tmp_path / "fstab"
        fstab.write_text("# a test's own fstab\n%s %s %s defaults,noauto,"
                         "nofail,x-systemd.automount,json=compact 0 0\n"
                         % (data, mp, kind))
        cmd = ["mount", "-T", str(fstab), str(mp)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
    assert os.path.ismount(mp)
    pid = daemon_of(mp)
    try:
        os.mkdir(mp / "data" / "dog")
        with open(mp / "data" / "dog" / "1.json", "w") as f:
            f.write('{"name":"Rex"}')
        # the options reached the daemon: compact records
        assert open(mp / "data" / "dog" / "1.json").read().startswith(
            '{"id":1,"name":"Rex"')
        # and mount(8) shows it
        assert "%s on %s type fuse.recordfs" % (data, mp) in \
            subprocess.run(["mount"], capture_output=True,
                           text=True).stdout
    finally:
        r = subprocess.run(["umount", str(mp)], capture_output=True,
                           text=True)
    assert r.returncode == 0, r.stderr
    assert ended(pid), "the daemon did not exit after umount"
    assert not os.path.ismount(mp)
    # the record was committed and synced: a new mount reads it
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    assert r.returncode == 0
    try:
        assert '"Rex"' in open(mp / "data" / "dog" / "1.json").read()
    finally:
        pid = daemon_of(mp)
        subprocess.run(["umount", str(mp)], check=True)
        assert ended(pid)

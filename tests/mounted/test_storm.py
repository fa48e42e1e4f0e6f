"""A bounded kill -9 storm (issue 15): four writer processes change
records as fast as they can, each journaling what was acknowledged, and the
daemon is killed with SIGKILL while they are mid-flight; after each kill
and remount every journaled record reads back exactly, every record
journaled as removed is gone, no other name is there, each .by/color
value lists the records that hold it, and `recordfs-admin check` passes
(conftest runs it after each kill; the test runs it again after each
remount, once the intent slot has been stored).  Each round prints what
it did (pytest -s shows it).

STORM_ROUNDS sets the number of rounds (default 3, what CI runs;
STORM_ROUNDS=100 for the long run); STORM_SEED repeats a run's random
choices (the timing is the machine's).  The rounds
cycle through three mounts:
  - the default options: sync on a timer, so a close that commits a record
    and an unlink are answered before they are stored, through the intent
    slot (what the storm must prove).  With the 1 MiB map the daemon starts
    with, a batch commits as soon as the map has no room for another change
    like its last, so a kill finds one or two changes in the slot, or none;
  - `-o initial_map=64M`: the same, with a map that has room for a batch
    of 64 (or 1 ms) of changes, so a kill finds several, in order, some
    on the same record;
  - `-o sync=0`: every change is stored (and synced) before its answer.
Each round's kill is followed by the next round's mount (the last one's by
a default one), which stores what the kill left in the slot, so the slot
is stored under each option too.  The data directory lives on from round
to round.

Half the time (closes_only) the writers only create, rewrite and delete,
so that the batch is open most of that time; the other half they also
rename within a table and between the two tables (onto records or not),
write scratch files and rename them onto records (as sed -i does), and
move records in .by (which sets an attribute).  Some rounds' kills are
made to fall in the first half, the others fall where they fall.

The writers are this file run as a script (`python3 test_storm.py writer
...`), started with their working directory inside the mount, so once the
daemon is dead every call they make fails (ENOTCONN) and they can never
touch the empty mount point below or the next mount.

The journal, one JSON object a line:
  {"begin": SEQ, "op": KIND, "set": {NAME: STATE, ...}}  before the first
      syscall of the operation: what its names will hold if it happens;
  {"ack": SEQ, "op": KIND, "set": {...}}  only after the operation's last
      syscall (close, rename, unlink) returned 0: what they hold now;
  {"fail": SEQ, "call": ..., "errno": N, "t": T}  the call that failed;
      the writer stops there.
NAME is a path below the database ("a/1005.json", "a/.1005.tmp"), STATE
{"body": {...}} for a record (its attributes but the key and the two
times, in order), with "from": NAME when a rename moved it there;
{"raw": TEXT} for a scratch file; {"gone": "deleted"} or {"gone": "moved
to NAME"}.  Writer w only touches keys w*1000 .. w*1000+KEYS-1 (in both
tables), so each name has one writer and the journals define one expected
state per name: the last acknowledged one, or, for the names of the one
operation each writer had begun but not seen acknowledged at the kill,
either the state before it or the state after it (all of its names the
one or all the other: a rename is atomic)."""
import errno
import json
import os
import random
import subprocess
import sys
import time

DB = "data"
TABLES = ("a", "b")
KEYS = 16          # keys per writer and table
WRITERS = 4
COLORS = ("red", "green", "blue", "grey")
TIMES = ("__createdtime__", "__updatedtime__")
SYNC0 = ["-o", "sync=0"]
BIGMAP = ["-o", "initial_map=64M"]
# every round must see at least this many acknowledged operations (the
# fewest: sync=0 rounds, where each change waits for the disk, see 200 to
# 800 here; the others thousands)
MIN_ACKED = 100
KINDS = {"create", "rewrite", "rename", "delete", "by-move", "scratch",
         "replace"}


# -- the writer (a separate process) ---------------------------------------

def writer(w, journal, statefile, seed, rnd_no):
    rnd = random.Random(seed)
    with open(statefile) as f:
        start = json.load(f)
    recs = ["%s/%d.json" % (t, w * 1000 + i)
            for t in TABLES for i in range(KEYS)]
    mine = set(recs) | {scratch_of(n) for n in recs}
    state = {n: s for n, s in start.items() if n in mine}
    jfd = os.open(journal, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    seq = [0]

    def line(obj):
        os.write(jfd, (json.dumps(obj) + "\n").encode())

    def body():
        b = {"w": w, "r": rnd_no, "n": seq[0], "color": rnd.choice(COLORS),
             "size": rnd.randrange(100)}
        if rnd.random() < 0.5:
            b["pad"] = "".join(rnd.choices("abcdefghijklmnopqrstuvwxyz",
                                           k=rnd.randrange(3000)))
        return b

    def op(kind, new, calls):
        """Journal the begin, run the calls, journal the ack: only when
        every call returned (the last is the one that answers)."""
        seq[0] += 1
        line({"begin": seq[0], "op": kind, "set": new})
        for name, call in calls:
            try:
                call()
            except OSError as e:
                line({"fail": seq[0], "op": kind, "call": name,
                      "errno": e.errno, "t": time.monotonic()})
                os._exit(0)
        line({"ack": seq[0], "op": kind, "set": new})
        for n, s in new.items():
            if "gone" in s:
                state.pop(n, None)
            else:
                state[n] = s

    def write_file(name, text, flags):
        fd = []
        data = text.encode()

        def do_open():
            fd.append(os.open(DB + "/" + name, flags, 0o644))

        def do_write():
            off = 0
            while off < len(data):
                off += os.write(fd[0], data[off:])

        def do_close():
            os.close(fd.pop())
        return [("open", do_open), ("write", do_write), ("close", do_close)]

    line({"ready": time.monotonic()})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        name = rnd.choice(recs)
        table, file = name.split("/")
        key = int(file[:-5])
        cur = state.get(name)
        x = rnd.random()
        if closes_only(time.monotonic()):
            # a create or a rewrite, else a delete
            x = 0.0 if cur is None or x < 0.6 else 0.7
        if cur is None and x < 0.75 or cur is not None and x < 0.25:
            # a create (O_CREAT|O_TRUNC, as the shell's >) or an O_TRUNC
            # rewrite, with or without O_CREAT
            b = body()
            flags = os.O_WRONLY | os.O_TRUNC
            if cur is None or rnd.random() < 0.5:
                flags |= os.O_CREAT
            op("create" if cur is None else "rewrite", {name: {"body": b}},
               write_file(name, json.dumps(b), flags))
        elif cur is None or x < 0.40:
            # what sed -i does: a scratch file, renamed onto the record
            b = body()
            tmp = scratch_of(name)
            text = json.dumps(b)
            op("scratch", {tmp: {"raw": text}},
               write_file(tmp, text, os.O_WRONLY | os.O_CREAT | os.O_TRUNC))
            op("replace", {name: {"body": b, "from": tmp},
                           tmp: {"gone": "moved to " + name}},
               [("rename",
                 lambda: os.rename(DB + "/" + tmp, DB + "/" + name))])
        elif x < 0.65:
            # mv within the table or to the other one, onto a record or not
            if rnd.random() < 0.6:
                to_table = table
            else:
                to_table = TABLES[1 - TABLES.index(table)]
            to = "%s/%d.json" % (to_table, w * 1000 + rnd.randrange(KEYS))
            if to == name:
                continue
            op("rename", {to: {"body": cur["body"], "from": name},
                          name: {"gone": "moved to " + to}},
               [("rename", lambda: os.rename(DB + "/" + name, DB + "/" + to))])
        elif x < 0.80:
            op("delete", {name: {"gone": "deleted"}},
               [("unlink", lambda: os.unlink(DB + "/" + name))])
        else:
            # a .by move: sets the attribute, in place
            b = dict(cur["body"])
            attr = rnd.choice(("color", "size"))
            old = b[attr]
            while b[attr] == old:
                b[attr] = (rnd.choice(COLORS) if attr == "color"
                           else rnd.randrange(100))
            by = "%s/%s/.by/%s/" % (DB, table, attr)
            src = by + "%s/%d.json" % (old, key)
            dst = by + "%s/%d.json" % (b[attr], key)
            op("by-move", {name: {"body": b}},
               [("rename", lambda: os.rename(src, dst))])
    os._exit(3)


def closes_only(t):
    """Half the time (alternate tenths of a second, the same for every
    writer) the writers only create, rewrite and delete: the changes that
    are answered before they are stored, which wait in the batch (and the
    slot) until it commits, 1 ms after its first or at the 64th; any other
    change (a rename, a scratch file's write) commits the batch first.  So
    a kill then most often finds answered changes in the slot."""
    return int(t * 10) % 2 == 1


def scratch_of(name):
    table, file = name.split("/")
    return "%s/.%s.tmp" % (table, file[:-5])


# -- the test ----------------------------------------------------------------

def opts_for(r):
    """Round r's mount options: the default ones, a larger map, sync=0."""
    return ([], BIGMAP, SYNC0)[r % 3]


def kill_in_closes_only(r):
    """Whether round r's kill is made to fall in a closes-only tenth: in
    the rounds with a larger map, and in every other round with the
    default options; in the others it falls where it falls."""
    return r % 3 == 1 or r % 6 == 0


def read_back(m):
    """What the mount holds now: {NAME: STATE}, as the journal writes them."""
    seen = {}
    for t in TABLES:
        for f in os.listdir(m.p(DB, t)):
            name = "%s/%s" % (t, f)
            text = m.read(DB, t, f).decode()
            if f.startswith("."):
                seen[name] = {"raw": text}
                continue
            assert f.endswith(".json") and f[:-5].isdigit(), name
            r = json.loads(text)
            assert r.get("id") == int(f[:-5]), (name, text)
            assert r[TIMES[0]] <= r[TIMES[1]], (name, text)
            seen[name] = {"body": {k: v for k, v in r.items()
                                   if k != "id" and k not in TIMES}}
    return seen


def feed_agrees(m, seen):
    """The change feed says what the records say: for each record name,
    the last line of its history (TABLE/.history/KEY.ndjson) puts it, or
    renames a record onto it, with the body read back; for each record
    name that holds none, its last line deletes it or renames it away (or
    it has none: it never was, or the feed let its lines go).  So no
    change lacks its line, and no line its change."""
    checked = 0
    for t in TABLES:
        for w in range(WRITERS):
            for i in range(KEYS):
                k = w * 1000 + i
                n = "%s/%d.json" % (t, k)
                hist = m.read(DB, t, ".history", "%d.ndjson" % k).splitlines()
                st = seen.get(n)
                if not hist:
                    assert st is None, (n, st)
                    continue
                last = json.loads(hist[-1])
                here = last["table"] == t and last["key"] == k
                if st is not None:
                    assert here and last["op"] in ("put", "rename"), \
                        (n, st, last)
                    body = {a: v for a, v in last["record"].items()
                            if a != "id" and a not in TIMES}
                    assert list(body.items()) == list(st["body"].items()), \
                        (n, st, last)
                else:
                    assert (here and last["op"] == "delete") or (
                        last["op"] == "rename" and
                        last["from"] == {"table": t, "key": k}), (n, last)
                checked += 1
    return checked


def same(expected, seen, prefix_ok=False):
    """Records compare by their parsed attributes, in order, all but the key
    (the file name gives it, and read_back checked it) and the two times:
    every attribute a writer wrote is compared, value and place.  The
    tables are dynamic rather than declared (where the exact text could
    be compared) because there every attribute is indexed, so the index
    check covers all of them, and any attribute can be moved through .by;
    their times are the daemon's clock, which no journal can know.  (The
    canonical layout of the text has its own tests.)  Scratch files
    compare byte for byte; a scratch write cut by the kill may have kept a
    prefix of its text (each write of a scratch file is committed)."""
    if expected is None or "gone" in expected:
        return seen is None
    if seen is None:
        return False
    if "raw" in expected:
        if prefix_ok:
            return "raw" in seen and expected["raw"].startswith(seen["raw"])
        return seen.get("raw") == expected["raw"]
    return "body" in seen and \
        list(seen["body"].items()) == list(expected["body"].items())


def test_kill9_storm(mnt, tmp_path):
    rounds = int(os.environ.get("STORM_ROUNDS", "3"))
    seed = int(os.environ.get("STORM_SEED", random.randrange(1 << 30)))
    rnd = random.Random(seed)
    print("\nstorm: %d rounds, STORM_SEED=%d" % (rounds, seed))
    for t in TABLES:
        os.mkdir(mnt.p(DB, t))
    state = {}                 # what the mount holds, checked
    opts = opts_for(0)         # the fixture mounted with the default ones
    kinds, total, slot = set(), 0, 0
    for r in range(rounds):
        statefile = tmp_path / ("state%d.json" % r)
        statefile.write_text(json.dumps(state))
        journals = [tmp_path / ("r%d-w%d.jsonl" % (r, w))
                    for w in range(WRITERS)]
        procs = [subprocess.Popen(
            [sys.executable, __file__, "writer", str(w), str(journals[w]),
             str(statefile), str(rnd.randrange(1 << 30)), str(r)],
            cwd=mnt.path) for w in range(WRITERS)]
        try:
            deadline = time.time() + 30
            while not all(j.exists() and j.read_text() for j in journals):
                assert time.time() < deadline, "the writers did not start"
                assert all(p.poll() is None for p in procs), "a writer died"
                time.sleep(0.01)
            # (with sync=0 each change waits for the disk: a few ms here)
            run = rnd.uniform(0.3 if opts != SYNC0 else 0.8, 1.5)
            time.sleep(run)
            now = time.monotonic()
            if kill_in_closes_only(r) and not closes_only(now):
                time.sleep(0.1 - now % 0.1 + rnd.uniform(0.01, 0.09))
                run += time.monotonic() - now
            t_kill = time.monotonic()
            mnt.kill9()        # and recordfs-admin check on what it left
            for p in procs:
                assert p.wait(timeout=30) == 0, "a writer failed"
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
                    p.wait()

        # replay the journals
        acked = dict(state)
        inflight = []
        ops = {}
        fails = []
        lines_of = {}          # NAME: the journal lines that name it
        for w, j in enumerate(journals):
            begun = {}
            for text in j.read_text().splitlines():
                o = json.loads(text)
                for n in o.get("set", ()):
                    lines_of.setdefault(n, []).append(
                        "w%d: %s" % (w, text[:300]))
                if "begin" in o:
                    begun[o["begin"]] = o
                elif "ack" in o:
                    del begun[o["ack"]]
                    ops[o["op"]] = ops.get(o["op"], 0) + 1
                    for n, s in o["set"].items():
                        if "gone" in s:
                            assert n in acked, (n, text)
                            del acked[n]
                        else:
                            acked[n] = s
                elif "fail" in o:
                    # an error before the kill is a refusal: none is expected
                    assert o["t"] > t_kill, "writer %d: %s before the " \
                        "kill; the daemon's log ends:\n%s" % (
                            w, text, mnt.log()[-3000:])
                    fails.append(errno.errorcode.get(o["errno"], o["errno"]))
            assert len(begun) <= 1, begun
            inflight += begun.values()
        n_acked = sum(ops.values())

        # remount (with the next round's options: it stores what the
        # kill left in the slot) and read everything back
        mounted = opts_for(r + 1) if r + 1 < rounds else []
        mnt.start(mounted)
        seen = read_back(mnt)
        log = open(mnt.logs[-1], errors="replace").read()
        stored = log.count("is stored now")

        def why(names):
            out = ["round %d (%s), STORM_SEED=%d" % (r, " ".join(opts) or
                                                    "default", seed)]
            for n in names:
                out.append("%s: expected %s, read %s" % (
                    n, json.dumps(acked.get(n))[:200],
                    json.dumps(seen.get(n))[:200]))
                out += lines_of.get(n, [])[-6:]
            out.append("daemon log (last lines):")
            for name in mnt.logs[-2:]:
                out += open(name, errors="replace").read().splitlines()[-20:]
            return "\n".join(out)

        either = set()
        outcome = {"done": 0, "not done": 0}
        for o in inflight:
            names = list(o["set"])
            either |= set(names)
            before = all(same(acked.get(n), seen.get(n)) for n in names)
            after = all(same(o["set"][n], seen.get(n), o["op"] == "scratch")
                        for n in names)
            if not (before or after):
                raise AssertionError("in flight at the kill: %s\n%s" % (
                    json.dumps(o)[:300], why(names)))
            if before != after:
                outcome["done" if after else "not done"] += 1
        names = {n for i in range(KEYS) for t in TABLES for w in range(WRITERS)
                 for n in ("%s/%d.json" % (t, w * 1000 + i),
                           scratch_of("%s/%d.json" % (t, w * 1000 + i)))}
        checked = 0
        for n in sorted(names | set(acked) | set(seen)):
            if n not in either:
                if not same(acked.get(n), seen.get(n)):
                    raise AssertionError(why([n]))
                checked += 1
        # the index as the mount shows it agrees with the records read back
        # (recordfs-admin check proves the same of the stored B-trees)
        for t in TABLES:
            for c in COLORS:
                listed = sorted(os.listdir(mnt.p(DB, t, ".by", "color", c)))
                holds = sorted(n.split("/")[1] for n, st in seen.items()
                               if n.startswith(t + "/") and "body" in st
                               and st["body"]["color"] == c)
                assert listed == holds, "%s/.by/color/%s\n%s" % (t, c, why([]))
        mnt.check()            # the indexes, with the slot stored
        feed_checked = feed_agrees(mnt, seen)
        print("round %d (%s): killed after %.2f s%s; %d operations "
              "acknowledged (%s); %d in flight (%s; %d done, %d not); "
              "%d names checked, %d either way; %d records, %d scratch "
              "files; remounted (%s): %d changes stored from the intent "
              "slot; %d histories agree" % (
                  r, " ".join(opts) or "default", run,
                  ", closes only" if closes_only(t_kill) else "", n_acked,
                  " ".join("%s %d" % kv for kv in sorted(ops.items())),
                  len(inflight), " ".join(sorted(set(fails))),
                  outcome["done"], outcome["not done"], checked,
                  len(either), sum("body" in s for s in seen.values()),
                  sum("raw" in s for s in seen.values()),
                  " ".join(mounted) or "default", stored, feed_checked))
        assert n_acked >= MIN_ACKED, "round %d: only %d operations " \
            "acknowledged" % (r, n_acked)
        kinds |= set(ops)
        total += n_acked
        slot += stored
        state = seen
        opts = mounted
    print("storm: %d operations acknowledged in %d rounds; %d changes "
          "stored from the intent slot at a mount" % (total, rounds, slot))
    assert kinds == KINDS, "never acknowledged: %s" % (KINDS - kinds)


if __name__ == "__main__" and sys.argv[1] == "writer":
    writer(int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5]),
           int(sys.argv[6]))

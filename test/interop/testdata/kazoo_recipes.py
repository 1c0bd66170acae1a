"""Exercise a ZooKeeper server through kazoo and print what a client sees.

Usage: kazoo_recipes.py HOST:PORT

Every line printed to stdout is deterministic for a fresh server: it names
paths, data, versions, child counts, watch events and recipe outcomes, but
never zxids, times or session ids. The zkd interop tests run this script
against Apache ZooKeeper and against zkd and compare the two outputs line by
line, so a new line here is a new compatibility check.

Every wait is bounded. When one runs out, the script prints the reason to
stderr and exits with status 2; any other failure exits with status 1.
"""

import os
import queue
import sys
import threading
import time

from kazoo.client import KazooClient
from kazoo.exceptions import (
    BadVersionError,
    NoNodeError,
    NodeExistsError,
    NotEmptyError,
)

# WAIT bounds every single wait; DEADLINE bounds the whole run, so a hang
# anywhere (even inside kazoo) ends the process instead of the test binary.
WAIT = 15.0
DEADLINE = 120.0
ROOT = "/kazoo"


def out(*parts):
    print(*parts, flush=True)


def fail(msg):
    sys.stderr.write("kazoo_recipes: %s\n" % msg)
    sys.stderr.flush()
    os._exit(2)


def wait_for(event, what):
    if not event.wait(WAIT):
        fail("timed out after %.0fs waiting for %s" % (WAIT, what))


def poll(cond, what):
    """Wait until cond() is true, checking every 10ms, for at most WAIT."""
    end = time.monotonic() + WAIT
    while not cond():
        if time.monotonic() > end:
            fail("timed out after %.0fs waiting for %s" % (WAIT, what))
        time.sleep(0.01)


def join(thread, what):
    thread.join(WAIT)
    if thread.is_alive():
        fail("timed out after %.0fs waiting for %s to finish" % (WAIT, what))


def fmt_stat(st):
    """The Stat fields a client can predict: no zxids, times or sessions."""
    return "version=%d cversion=%d aversion=%d ephemeral=%s dataLength=%d numChildren=%d" % (
        st.version,
        st.cversion,
        st.aversion,
        "yes" if st.ephemeralOwner != 0 else "no",
        st.dataLength,
        st.numChildren,
    )


def fmt_result(r):
    """One result of a transaction: a path, a Stat, True or an error."""
    if isinstance(r, Exception):
        return type(r).__name__
    if hasattr(r, "version") and hasattr(r, "cversion"):
        return "stat(" + fmt_stat(r) + ")"
    return repr(r)


def connect(addr):
    c = KazooClient(hosts=addr, timeout=10.0)
    c.start(timeout=WAIT)
    return c


def section(name):
    out("== " + name)


def basics(c):
    section("basics")
    p = ROOT + "/basic"
    out("create", c.create(p, b"v1"))
    data, st = c.get(p)
    out("get", data.decode(), fmt_stat(st))
    st = c.set(p, b"value-two")
    out("set", fmt_stat(st))
    st = c.set(p, b"v3", version=1)
    out("set with version=1", fmt_stat(st))
    out("create child", c.create(p + "/child", b""))
    out("create child2", c.create(p + "/child2", b"x"))
    children, st = c.get_children(p, include_data=True)
    out("children", sorted(children), fmt_stat(st))
    c.delete(p + "/child", version=0)
    out("exists child after delete", c.exists(p + "/child"))
    out("exists", fmt_stat(c.exists(p)))
    out("create empty", c.create(ROOT + "/empty"))
    data, st = c.get(ROOT + "/empty")
    out("get empty", repr(data), fmt_stat(st))
    out("create makepath", c.create(ROOT + "/deep/a/b", b"leaf", makepath=True))
    out("exists deep/a", fmt_stat(c.exists(ROOT + "/deep/a")))


def sequential(c):
    section("sequential")
    p = ROOT + "/seq"
    c.create(p)
    names = [c.create(p + "/n-", b"", sequence=True) for _ in range(3)]
    out("created", " ".join(names))
    c.create(p + "/plain")
    c.delete(names[0])
    # The sequence suffix follows the parent's cversion, which counts both
    # creates and deletes of children (ZooKeeper programmer's guide,
    # "Sequence Nodes").
    out("after plain create and a delete", c.create(p + "/n-", b"", sequence=True))
    out("sequential ephemeral", c.create(p + "/e-", b"", ephemeral=True, sequence=True))
    out("children", sorted(c.get_children(p)))
    out("parent", fmt_stat(c.exists(p)))


def ephemeral(addr, c):
    section("ephemeral")
    p = ROOT + "/eph"
    other = connect(addr)
    out("create", other.create(p, b"mine", ephemeral=True))
    out("seen by another session", fmt_stat(c.exists(p)))
    try:
        other.create(p + "/child", b"")
        out("child of ephemeral: created")
    except Exception as e:  # ZooKeeper refuses children of ephemerals.
        out("child of ephemeral:", type(e).__name__)
    gone = threading.Event()
    events = []

    def watch(ev):
        events.append("%s %s" % (ev.type, ev.path))
        gone.set()

    c.exists(p, watch=watch)
    other.stop()
    other.close()
    wait_for(gone, "the ephemeral node to go when its session closed")
    out("event", events[0])
    out("exists after close", c.exists(p))


def transactions(c):
    section("transactions")
    p = ROOT + "/txn"
    c.create(p, b"t")
    t = c.transaction()
    t.create(p + "/a", b"1")
    t.check(p, version=7)
    t.create(p + "/b", b"2")
    out("failed multi", [fmt_result(r) for r in t.commit()])
    out("after failed multi", sorted(c.get_children(p)), fmt_stat(c.exists(p)))
    t = c.transaction()
    t.create(p + "/a", b"1")
    t.check(p, version=0)
    t.set_data(p, b"tt", version=0)
    t.create(p + "/b", b"2")
    t.delete(p + "/b")
    out("committed multi", [fmt_result(r) for r in t.commit()])
    out("after committed multi", sorted(c.get_children(p)), fmt_stat(c.exists(p)))


def watches(c):
    section("watches")
    p = ROOT + "/w"
    events = queue.Queue()

    def watch(ev):
        events.put("%s %s" % (ev.type, ev.path))

    def expect(n, what):
        for _ in range(n):
            try:
                out("event", events.get(timeout=WAIT))
            except queue.Empty:
                fail("timed out after %.0fs waiting for %s" % (WAIT, what))

    out("exists before create", c.exists(p, watch=watch))
    c.create(p, b"0")
    expect(1, "the exists watch to see the create")
    c.get(p, watch=watch)
    c.set(p, b"1")
    expect(1, "the data watch to see the set")
    c.get_children(p, watch=watch)
    c.create(p + "/c", b"")
    expect(1, "the child watch to see the create")
    c.get(p + "/c", watch=watch)
    c.get_children(p, watch=watch)
    c.delete(p + "/c")
    # One delete fires the node's data watch and then its parent's child
    # watch, in that order on one connection.
    expect(2, "the data and child watches to see the delete")
    c.exists(p, watch=watch)
    c.delete(p)
    expect(1, "the exists watch to see the delete")
    # A watch fires once: changing the node again must not notify. A probe
    # watch set afterwards is notified after anything the changes triggered,
    # so the next event must be the probe's.
    c.create(p, b"again")
    c.delete(p)
    probe = ROOT + "/w-probe"
    c.exists(probe, watch=watch)
    c.create(probe)
    expect(1, "the probe watch")


def children_watch(c):
    section("children watch")
    p = ROOT + "/cw"
    c.create(p)
    cond = threading.Condition()
    seen = []

    def on_children(children):
        with cond:
            seen.append(sorted(children))
            cond.notify_all()

    def wait_calls(n, what):
        with cond:
            if not cond.wait_for(lambda: len(seen) >= n, WAIT):
                fail("timed out after %.0fs waiting for %s" % (WAIT, what))

    c.ChildrenWatch(p, on_children)
    wait_calls(1, "the first children callback")
    steps = [
        ("create a", lambda: c.create(p + "/a")),
        ("create b", lambda: c.create(p + "/b")),
        ("delete a", lambda: c.delete(p + "/a")),
        ("create c", lambda: c.create(p + "/c")),
    ]
    for i, (what, step) in enumerate(steps):
        step()
        wait_calls(i + 2, "the children callback after " + what)
    with cond:
        for children in seen:
            out("children", children)


def lock(addr):
    section("lock")
    c1, c2 = connect(addr), connect(addr)
    p = ROOT + "/lock"
    order = []
    one, two = c1.Lock(p, "one"), c2.Lock(p, "two")
    if not one.acquire(timeout=WAIT):
        fail("timed out waiting for lock one")
    order.append("one")
    acquired = threading.Event()

    def contend():
        if two.acquire(timeout=WAIT):
            order.append("two")
            acquired.set()

    t = threading.Thread(target=contend, daemon=True)
    t.start()
    poll(lambda: len(one.contenders()) == 2, "two to queue behind one")
    out("contenders", one.contenders())
    out("two acquired while one holds", acquired.is_set())
    one.release()
    wait_for(acquired, "two to acquire the lock after one released")
    join(t, "the contending thread")
    two.release()
    out("acquisition order", order)
    out("contenders after release", one.contenders())
    for c in (c1, c2):
        c.stop()
        c.close()


def election(addr):
    section("election")
    c1, c2 = connect(addr), connect(addr)
    p = ROOT + "/election"
    e1, e2 = c1.Election(p, "alpha"), c2.Election(p, "beta")
    leading = {"alpha": threading.Event(), "beta": threading.Event()}
    resign = {"alpha": threading.Event(), "beta": threading.Event()}
    leaders = []

    def lead(name):
        leaders.append(name)
        leading[name].set()
        if not resign[name].wait(WAIT):
            fail("leader %s was never asked to resign" % name)

    t1 = threading.Thread(target=e1.run, args=(lead, "alpha"), daemon=True)
    t1.start()
    wait_for(leading["alpha"], "alpha to lead")
    t2 = threading.Thread(target=e2.run, args=(lead, "beta"), daemon=True)
    t2.start()
    poll(lambda: len(e1.contenders()) == 2, "beta to join the election")
    out("contenders", e1.contenders())
    out("leader", leaders[-1])
    resign["alpha"].set()
    join(t1, "alpha's election")
    wait_for(leading["beta"], "beta to take over")
    out("leader after alpha quit", leaders[-1])
    resign["beta"].set()
    join(t2, "beta's election")
    out("leaders in order", leaders)
    out("contenders at the end", e1.contenders())
    for c in (c1, c2):
        c.stop()
        c.close()


def counter(addr):
    section("counter")
    c1, c2 = connect(addr), connect(addr)
    p = ROOT + "/counter"
    errors = []

    def bump(c):
        try:
            n = c.Counter(p)
            for _ in range(10):
                n += 1
        except Exception as e:
            errors.append(repr(e))

    threads = [threading.Thread(target=bump, args=(c,), daemon=True) for c in (c1, c2)]
    for t in threads:
        t.start()
    for t in threads:
        join(t, "a counter client")
    if errors:
        fail("counter increments failed: %s" % errors)
    out("counter", c1.Counter(p).value)
    for c in (c1, c2):
        c.stop()
        c.close()


def errors(c):
    section("errors")
    p = ROOT + "/err"
    c.create(p, b"e")
    c.create(p + "/child")
    cases = [
        ("get missing", lambda: c.get(ROOT + "/missing")),
        ("create existing", lambda: c.create(p)),
        ("create under missing parent", lambda: c.create(ROOT + "/missing/child")),
        ("set bad version", lambda: c.set(p, b"x", version=5)),
        ("delete bad version", lambda: c.delete(p + "/child", version=3)),
        ("delete not empty", lambda: c.delete(p)),
        ("delete missing", lambda: c.delete(ROOT + "/missing")),
    ]
    for what, call in cases:
        try:
            call()
            out(what, "succeeded")
        except (NoNodeError, NodeExistsError, BadVersionError, NotEmptyError) as e:
            out(what, type(e).__name__)
    out("error node after failures", fmt_stat(c.exists(p)))


def main():
    if len(sys.argv) != 2:
        sys.stderr.write("usage: kazoo_recipes.py HOST:PORT\n")
        sys.exit(64)
    addr = sys.argv[1]
    watchdog = threading.Timer(DEADLINE, fail, args=("overall deadline of %.0fs passed" % DEADLINE,))
    watchdog.daemon = True
    watchdog.start()

    c = connect(addr)
    c.create(ROOT)
    basics(c)
    sequential(c)
    ephemeral(addr, c)
    transactions(c)
    watches(c)
    children_watch(c)
    lock(addr)
    election(addr)
    counter(addr)
    errors(c)
    c.stop()
    c.close()
    out("== done")


if __name__ == "__main__":
    main()

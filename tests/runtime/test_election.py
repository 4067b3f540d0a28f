"""One owner per switch with an etcd lease (runtime/election.py), on a real etcd.

The ownership revision only grows from one owner to the next (it is the P4Runtime
election id); an owner killed -9 loses the switch when its lease runs out; etcd
refuses the store writes of an owner that lost it (the store's guard)."""
from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest

from p4mobility.runtime.election import Election
from p4mobility.runtime.store import StoreConflict
from p4mobility.runtime.store_etcd import EtcdBindingStore

TTL = 2


def test_the_second_waits_and_owns_after_the_first_resigns_with_a_higher_revision(etcd):
    async def main():
        a, b = (Election([etcd.endpoint], "sw1", name, TTL) for name in ("a", "b"))
        first = await a.campaign()
        seen: list[dict] = []
        waiting = asyncio.create_task(b.campaign(seen.append))
        while not seen:  # b found the key taken
            await asyncio.sleep(0.05)
        assert not waiting.done() and seen[0]["instance"] == "a" and seen[0]["revision"] == first
        shown = await b.show()
        assert shown["rows"][0][1:4] == ["a", first, first] and shown["rows"][0][6:8] == ["b", "waiting"]
        await a.resign()
        second = await waiting
        assert second > first
        assert (await b.show())["rows"][0][6:8] == ["b", "owner"]
        await b.resign()
    asyncio.run(main())


def test_an_owner_whose_loop_is_blocked_past_its_lease_after_winning_keeps_it(etcd):
    # the node restores its bindings (blocking) between campaign() and hold()
    import time

    async def main():
        a = Election([etcd.endpoint], "sw1", "a", TTL)
        revision = await a.campaign()
        time.sleep(2 * TTL)  # the event loop blocked
        holding = asyncio.create_task(a.hold())
        await asyncio.sleep(TTL)
        assert not holding.done(), holding.exception()
        shown = await a.show()
        holding.cancel()
        await a.resign()
        return revision, shown
    revision, shown = asyncio.run(main())
    assert shown["rows"][0][2] == revision and shown["rows"][0][7] == "owner"


OWN_THEN_HOLD = """
import asyncio
from p4mobility.runtime.election import Election
async def main():
    e = Election([{endpoint!r}], "sw1", "killed", {ttl})
    print(await e.campaign(), flush=True)
    await e.hold()
asyncio.run(main())
"""


def test_an_owner_killed_9_loses_the_switch_and_its_writes_are_refused(etcd):
    proc = subprocess.Popen([sys.executable, "-c", OWN_THEN_HOLD.format(endpoint=etcd.endpoint, ttl=TTL)],
                            stdout=subprocess.PIPE, text=True)
    old = int(proc.stdout.readline())
    stale = EtcdBindingStore([etcd.endpoint], "/p4mob/lma")
    stale.guard = (b"/p4mob/election/sw1", old)
    stale.put("bce", "1", {"by": "old"})  # the owner's writes go through while it owns
    proc.kill()  # kill -9
    proc.wait(30)
    proc.stdout.close()

    async def take_over() -> int:
        e = Election([etcd.endpoint], "sw1", "survivor", TTL)
        return await e.campaign()  # once the killed owner's lease ran out
    new = asyncio.run(take_over())
    assert new > old
    with pytest.raises(StoreConflict, match="not the owner any more"):
        stale.put("bce", "1", {"by": "stale"})  # a paused old owner that wakes up
    fresh = EtcdBindingStore([etcd.endpoint], "/p4mob/lma")
    fresh.guard = (b"/p4mob/election/sw1", new)
    fresh.put("bce", "2", {"by": "new"})
    assert fresh.load("bce") == {"1": {"by": "old"}, "2": {"by": "new"}}


def test_show_lists_the_clusters_members_and_its_leader(tmp_path):
    from tests.etcd_server import EtcdCluster

    cluster = EtcdCluster(tmp_path, 3).start()
    try:
        async def main():
            e = Election(cluster.endpoints, "sw1", "a", TTL)
            await e.campaign()
            shown = await e.show()
            await e.resign()
            return shown
        shown = asyncio.run(main())
        members = shown["members"]
        assert members["columns"] == ["member", "id", "client_urls", "leader"]
        rows = {r[0]: r for r in members["rows"]}
        assert sorted(rows) == ["m0", "m1", "m2"]
        assert {rows[m.name][2] for m in cluster.members} == {f"http://{m.endpoint}" for m in cluster.members}
        leaders = [name for name, r in rows.items() if r[3]]
        assert leaders == [cluster.members[cluster.leader()].name]
    finally:
        cluster.stop()


def test_owner_and_waiting_instance_keep_their_roles_when_the_member_they_talk_to_is_killed(tmp_path):
    # three members: one killed -9 leaves a quorum; the owner's keepalives and the waiting
    # instance's tries go to another member; the waiting one still takes over after a resign
    # (the lab's lease TTL: the member killed may be raft's leader, and a TTL must outlast
    # the election of the next one, 1-2 s; with TTL 2 the owner gave up once in a bare run)
    from p4mobility.lab.cluster_lab import LEASE_TTL
    from tests.etcd_server import EtcdCluster

    cluster = EtcdCluster(tmp_path, 3).start()
    try:
        async def main():
            a, b = (Election(cluster.endpoints, "sw1", name, LEASE_TTL) for name in ("a", "b"))  # endpoints[0] first
            revision = await a.campaign()
            holding = asyncio.create_task(a.hold())
            waiting = asyncio.create_task(b.campaign())
            await asyncio.sleep(LEASE_TTL / 3)
            cluster.members[0].stop()
            await asyncio.sleep(3 * LEASE_TTL)
            assert not holding.done(), holding.exception()
            assert not waiting.done(), waiting.exception()
            shown = await a.show()
            holding.cancel()
            await a.resign()
            second = await asyncio.wait_for(waiting, 10 * LEASE_TTL)
            await b.resign()
            return revision, shown, second
        revision, shown, second = asyncio.run(main())
        assert shown["rows"][0][2] == revision and shown["rows"][0][7] == "owner"
        assert len(shown["members"]["rows"]) == 3  # a dead member is still a member
        assert second > revision
    finally:
        cluster.stop()

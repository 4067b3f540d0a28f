"""An instance whose first etcd endpoint goes away goes on through the next one
(runtime/election.py). Found by the lma-cluster lab: etcd member 1 killed, the owner's
keepalives kept going to it and it gave up the switch after one TTL while the other two
members still held its lease; the waiting instance, whose call timed out while raft chose a
new leader, exited, so nobody was left to take over.

The first endpoint is a TCP relay to the same etcd, closed by the test (connections cut,
new ones refused) as a member that dies, or stalled (calls time out) as a member without a
leader."""
from __future__ import annotations

import asyncio


from p4mobility.runtime.election import Election

TTL = 2


class Relay:
    """127.0.0.1:<port> -> ``target``, byte for byte, until ``close``."""

    def __init__(self, target: str) -> None:
        self.host, port = target.rsplit(":", 1)
        self.port = int(port)
        self.writers: list[asyncio.StreamWriter] = []
        self.server: asyncio.Server | None = None
        self.flowing = asyncio.Event()
        self.flowing.set()

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return f"127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(self.host, self.port)
        self.writers += [writer, up_writer]

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    await self.flowing.wait()  # stall(): held, never sent
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                dst.close()
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def stall(self) -> None:
        self.flowing.clear()

    async def close(self) -> None:
        assert self.server is not None
        self.server.close()
        for w in self.writers:
            w.transport.abort()


def test_an_owner_keeps_its_lease_when_its_first_endpoint_dies(etcd):
    async def main():
        relay = Relay(etcd.endpoint)
        first = await relay.start()
        owner = Election([first, etcd.endpoint], "sw1", "owner", TTL)
        revision = await owner.campaign()
        holding = asyncio.create_task(owner.hold())
        await asyncio.sleep(TTL / 2)
        await relay.close()  # the member behind the first endpoint is gone
        await asyncio.sleep(3 * TTL)
        assert not holding.done(), holding.exception()  # no OwnershipLost
        shown = (await owner.show())["rows"][0]
        assert shown[1:3] == ["owner", revision] and shown[7] == "owner"
        holding.cancel()
        await owner.resign()
    asyncio.run(main())


def test_a_waiting_instance_whose_first_endpoint_stalls_waits_on_and_takes_over(etcd):
    async def main():
        relay = Relay(etcd.endpoint)
        first = await relay.start()
        owner = Election([etcd.endpoint], "sw1", "owner", TTL)
        revision = await owner.campaign()
        holding = asyncio.create_task(owner.hold())
        seen: list[dict] = []
        waiter = Election([first, etcd.endpoint], "sw1", "waiter", TTL, timeout=0.5)
        waiting = asyncio.create_task(waiter.campaign(seen.append))
        while not seen:
            await asyncio.sleep(0.05)
        relay.stall()  # its calls time out (DEADLINE_EXCEEDED)
        await asyncio.sleep(2 * TTL)
        assert not waiting.done(), waiting.exception()
        assert not holding.done(), holding.exception()
        holding.cancel()
        await owner.resign()
        assert await asyncio.wait_for(waiting, 10 * TTL) > revision
        await waiter.resign()
        await relay.close()
    asyncio.run(main())

"""A synchronous face on finsy for tests: one asyncio loop in a thread.

Rule: tests call plain methods; every P4Runtime call runs on the loop thread
and is awaited with a bound. PacketIns are collected into a queue as they
arrive so a test can assert on them (or on their absence).
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from pathlib import Path
from typing import Any, Iterable

import finsy
from finsy import P4PacketIn

logging.getLogger("finsy").setLevel(logging.ERROR)


class P4RuntimeClient:
    def __init__(self, grpc_addr: str, p4info: Path, p4blob: Path, timeout: float = 60.0):
        self.timeout = timeout
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True,
                                        name="p4rt-loop")
        self._thread.start()
        self.packet_ins: queue.Queue[P4PacketIn] = queue.Queue()
        opts = finsy.SwitchOptions(p4info=p4info, p4blob=p4blob, p4force=True, device_id=1)
        self.switch = finsy.Switch("sw1", grpc_addr, opts)
        try:
            self.call(self.switch.__aenter__())
        except BaseException:
            self._stop_loop()
            raise
        self._reader = asyncio.run_coroutine_threadsafe(self._read_packets(), self.loop)

    def call(self, coro: Any, timeout: float | None = None) -> Any:
        fut = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return fut.result(timeout or self.timeout)

    async def _read_packets(self) -> None:
        async for pkt in self.switch.read_packets():
            self.packet_ins.put(pkt)

    # ---- entities ----
    def insert(self, entities: Iterable[Any]) -> None:
        self.call(self.switch.insert(list(entities)))

    def modify(self, entities: Iterable[Any]) -> None:
        self.call(self.switch.modify(list(entities)))

    def delete(self, entities: Iterable[Any]) -> None:
        self.call(self.switch.delete(list(entities)))

    def read(self, entity: Any) -> list[Any]:
        async def _read() -> list[Any]:
            return [e async for e in self.switch.read(entity)]
        return self.call(_read())

    def packet_out(self, payload: bytes, **metadata: Any) -> None:
        self.call(self.switch.write([finsy.P4PacketOut(payload, **metadata)]))

    @property
    def p4info(self) -> Any:
        return self.switch.p4info

    def close(self) -> None:
        try:
            self._reader.cancel()
            self.call(self.switch.__aexit__(None, None, None), timeout=15)
        except Exception:
            pass
        finally:
            self._stop_loop()

    def _stop_loop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)

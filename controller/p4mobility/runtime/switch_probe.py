"""Why the switch cannot be reached: a one-shot P4Runtime call that fails fast.

Rule: finsy opens its stream with wait_for_ready, so a refused TLS handshake
(wrong CA, no client certificate, TLS on one side only) leaves it waiting
silently. While the node is not connected, `watch` makes one Capabilities call
without wait_for_ready on a channel with the same credentials and reports
gRPC's reason (handshake error, refused connection) through a callback, once
per distinct reason, backing off up to `max_interval`. Any answer from the
server, even an error status, means the transport works.
"""
from __future__ import annotations

import asyncio
from collections.abc import Callable

import finsy
import grpc

CAPABILITIES = "/p4.v1.P4Runtime/Capabilities"
UNREACHABLE = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)


def _hint(detail: str, creds: finsy.GRPCCredentialsTLS | None) -> str:
    if "Socket closed" not in detail and "connection reset" not in detail.lower():
        return ""
    if creds is None:
        return "the switch may require TLS (set [node] tls_ca)"
    if not creds.cert:
        return "the switch may require a client certificate (set [node] tls_cert and tls_key)"
    return "the switch closed the connection during the TLS handshake"


async def probe(address: str, creds: finsy.GRPCCredentialsTLS | None, timeout: float = 3.0) -> str | None:
    """None if the P4Runtime server answered, else gRPC's reason (and a hint)."""
    try:
        channel = (grpc.aio.insecure_channel(address) if creds is None
                   else grpc.aio.secure_channel(address, creds.to_client_credentials()))
    except (OSError, ValueError, TypeError) as exc:
        return f"cannot build the channel: {exc}"
    try:
        call = channel.unary_unary(CAPABILITIES, request_serializer=bytes, response_deserializer=bytes)
        await call(b"", timeout=timeout, wait_for_ready=False)
    except grpc.aio.AioRpcError as exc:
        if exc.code() not in UNREACHABLE:
            return None
        detail = (exc.details() or exc.code().name)[:400]
        hint = _hint(detail, creds)
        return f"{detail} ({hint})" if hint else detail
    finally:
        await channel.close()
    return None


async def watch(address: str, creds: finsy.GRPCCredentialsTLS | None, connected: Callable[[], bool],
                report: Callable[[str], None], *, first: float = 2.0, max_interval: float = 30.0) -> None:
    """Probe while not `connected()`; `report(reason)` when the reason changes."""
    last: str | None = None
    interval = first
    await asyncio.sleep(first)
    while True:
        if connected():
            last, interval = None, first
        else:
            reason = await probe(address, creds)
            if reason is not None and not connected() and reason != last:
                report(reason)
            last = reason
            interval = min(max_interval, interval * 2)
        await asyncio.sleep(interval)


__all__ = ["probe", "watch"]

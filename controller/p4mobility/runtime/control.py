"""The node's local control socket: newline-delimited JSON over a Unix socket.

A request is one JSON object per line, ``{"cmd": "show", "what": "bindings"}``;
the answer is one JSON object per line, ``{"ok": true, ...}`` or
``{"ok": false, "error": "..."}``. Lines are bounded (``MAX_LINE``); a client
that sends garbage gets an error answer, never a dead server.
"""
from __future__ import annotations

import asyncio
import inspect
import json
import os
import socket
from collections.abc import Awaitable, Callable
from typing import Any

MAX_LINE = 64 * 1024

Handler = Callable[[dict], "dict | Awaitable[dict]"]


class ControlError(Exception):
    """The node could not be reached or answered with an error."""


async def serve_control(path: str, handler: Handler) -> asyncio.AbstractServer:
    """Serve ``handler`` on the Unix socket ``path`` (replacing a stale socket file)."""
    if os.path.exists(path):
        os.unlink(path)

    async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    line = await reader.readuntil(b"\n")
                except asyncio.IncompleteReadError:
                    return
                except asyncio.LimitOverrunError:
                    await _reply(writer, {"ok": False, "error": f"request longer than {MAX_LINE} bytes"})
                    return
                await _reply(writer, await _answer(handler, line))
        except (ConnectionError, OSError):
            return
        finally:
            writer.close()

    server = await asyncio.start_unix_server(on_client, path=path, limit=MAX_LINE)
    os.chmod(path, 0o660)
    return server


async def _answer(handler: Handler, line: bytes) -> dict:
    try:
        request = json.loads(line)
    except (ValueError, UnicodeDecodeError):
        return {"ok": False, "error": "request is not JSON"}
    if not isinstance(request, dict) or not isinstance(request.get("cmd"), str):
        return {"ok": False, "error": 'request must be an object with a string "cmd"'}
    try:
        result = handler(request)
        if inspect.isawaitable(result):
            result = await result
    except ControlError as exc:
        return {"ok": False, "error": str(exc)}
    return result


async def _reply(writer: asyncio.StreamWriter, obj: dict) -> None:
    writer.write(json.dumps(obj, default=str).encode() + b"\n")
    await writer.drain()


def request(path: str, obj: dict[str, Any], timeout: float = 5.0) -> dict:
    """Send one request to the node at ``path`` and return its answer (blocking; for the CLI)."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(path)
            sock.sendall(json.dumps(obj).encode() + b"\n")
            buf = bytearray()
            while not buf.endswith(b"\n"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                buf += chunk
                if len(buf) > 64 * MAX_LINE:
                    raise ControlError("answer too long")
    except FileNotFoundError:
        raise ControlError(f"no node is listening on {path} (is it running?)") from None
    except (ConnectionError, socket.timeout, OSError) as exc:
        raise ControlError(f"cannot talk to the node on {path}: {exc}") from None
    try:
        answer = json.loads(buf)
    except ValueError:
        raise ControlError(f"the node on {path} sent a malformed answer") from None
    if not isinstance(answer, dict):
        raise ControlError(f"the node on {path} sent a malformed answer")
    return answer

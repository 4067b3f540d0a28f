"""The node's local control socket: newline-delimited JSON over a Unix socket.

A request is one JSON object per line, ``{"cmd": "show", "what": "bindings"}``;
the answer is one JSON object per line, ``{"ok": true, ...}`` or
``{"ok": false, "error": "..."}``.

Rule: only the owner reaches it (socket mode 0600 from creation, in a directory
no one else may write to); a path that is not a stale socket is never replaced.
Bad input (not JSON, not UTF-8, not an object, nested too deeply, longer than
``MAX_LINE``, a handler failure) gets an error answer, never a dead server; at
most ``MAX_CLIENTS`` connections are served at once, and one that sends no
complete request for ``IDLE_TIMEOUT`` seconds is closed.
"""
from __future__ import annotations

import asyncio
import inspect
import json
import logging
import os
import socket
import stat
from collections.abc import Awaitable, Callable
from typing import Any

MAX_LINE = 64 * 1024
MAX_CLIENTS = 32
IDLE_TIMEOUT = 60.0

Handler = Callable[[dict], "dict | Awaitable[dict]"]
log = logging.getLogger(__name__)


class ControlError(Exception):
    """The node could not be reached or answered with an error."""


class ControlSocketError(OSError):
    """The control socket cannot be served at this path (the reason is ``strerror``)."""

    def __init__(self, message: str) -> None:
        super().__init__(0, message)

    def __str__(self) -> str:
        return self.strerror


def prepare_socket_path(path: str) -> None:
    """Make the socket's directory (0700) or check it is safe; remove a stale socket."""
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        try:
            os.makedirs(directory, mode=0o700)
        except FileExistsError:
            raise ControlSocketError(f"{directory} exists and is not a directory") from None
    st = os.stat(directory)
    if st.st_uid not in (0, os.geteuid()):
        raise ControlSocketError(f"{directory} belongs to another user (uid {st.st_uid})")
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH) and not st.st_mode & stat.S_ISVTX:
        raise ControlSocketError(f"{directory} is writable by other users (mode {st.st_mode & 0o7777:o}); "
                                 f"use a directory only its owner can write to")
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(st.st_mode):
        raise ControlSocketError(f"{path} exists and is not a socket; not replacing it")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(path)
        except OSError:
            os.unlink(path)  # stale: nobody listens
            return
    raise ControlSocketError(f"another process is serving {path}")


def _bind_owner_only(path: str) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)  # the socket file is 0600 from the moment it exists
    try:
        sock.bind(path)
    except OSError:
        sock.close()
        raise
    finally:
        os.umask(old)
    os.chmod(path, 0o600)
    return sock


async def serve_control(path: str, handler: Handler) -> asyncio.AbstractServer:
    """Serve ``handler`` on the Unix socket ``path`` (replacing only a stale socket)."""
    prepare_socket_path(path)
    clients = 0

    async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal clients
        clients += 1
        try:
            if clients > MAX_CLIENTS:
                await _reply(writer, {"ok": False, "error": f"too many clients (at most {MAX_CLIENTS})"})
                return
            while True:
                try:
                    line = await asyncio.wait_for(reader.readuntil(b"\n"), IDLE_TIMEOUT)
                except (asyncio.IncompleteReadError, asyncio.TimeoutError):
                    return
                except asyncio.LimitOverrunError:
                    await _reply(writer, {"ok": False, "error": f"request longer than {MAX_LINE} bytes"})
                    return
                await _reply(writer, await _answer(handler, line))
        except (ConnectionError, OSError):
            return
        finally:
            clients -= 1
            writer.close()

    sock = _bind_owner_only(path)
    return await asyncio.start_unix_server(on_client, sock=sock, limit=MAX_LINE)


async def _answer(handler: Handler, line: bytes) -> dict:
    try:
        request = json.loads(line)
    except (ValueError, UnicodeDecodeError):
        return {"ok": False, "error": "request is not JSON"}
    except RecursionError:
        return {"ok": False, "error": "request is nested too deeply"}
    if not isinstance(request, dict) or not isinstance(request.get("cmd"), str):
        return {"ok": False, "error": 'request must be an object with a string "cmd"'}
    try:
        result = handler(request)
        if inspect.isawaitable(result):
            result = await result
    except ControlError as exc:
        return {"ok": False, "error": str(exc)}
    except Exception as exc:  # noqa: BLE001 - a request must never take the node down
        log.error("control request %.200r failed: %r", request, exc)
        return {"ok": False, "error": f"the node could not answer {request['cmd']!r}: {exc!r}"}
    if not isinstance(result, dict):
        log.error("control request %.200r: handler answered %r", request, type(result))
        return {"ok": False, "error": f"the node could not answer {request['cmd']!r}"}
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

"""The MAG's access-port carrier from rtnetlink (runtime/port_links.py, MagNode._watch_links):
on bytes captured from a real kernel, then live on a veth in a namespace the test makes,
where the node's watcher reports the port's link and a link-up naming the MN is a PBU."""
from __future__ import annotations

import asyncio
import ctypes
import json
import os
import subprocess
import threading
import tomllib
from pathlib import Path

import pytest

from p4mobility.lab import topology as T
from p4mobility.mh import BindingUpdate, MnIdentifier
from p4mobility.pmip.actions import SendMh
from p4mobility.runtime import netlink as nl
from p4mobility.runtime.items import LinkChanged
from p4mobility.runtime.port_links import PortLinks
from tests.tooling import tool_missing

CAPTURE = json.loads((Path(__file__).parent / "data" / "rtnetlink_capture.json").read_text())


def captured(*labels: str) -> list:
    return [m for label, ds in CAPTURE["datagrams"] if label in labels for d in ds for m in nl.parse(bytes.fromhex(d))]


def test_captured_carrier_changes_are_reported_once_each():
    links = PortLinks(("cap0",))
    changes = [c for m in captured(*CAPTURE["commands"]) for c in links.feed(m)]
    # created without a carrier, up with the peer, carrier lost, then deleted (already down)
    assert changes == [("cap0", False), ("cap0", True), ("cap0", False)]


def test_unwatched_links_and_address_messages_change_nothing():
    links = PortLinks(("other",))
    assert [c for m in captured(*CAPTURE["commands"]) for c in links.feed(m)] == []


def test_resync_reports_the_difference_and_a_link_gone_is_down():
    links = PortLinks(("cap0", "dum0"))
    for m in captured("veth created", "links up"):
        links.feed(m)
    assert links.up("cap0")
    # the dump knows dum0 (up) and not cap0 any more
    assert sorted(links.resync(captured("dump links"))) == [("cap0", False), ("dum0", True)]
    assert links.resync(captured("dump links")) == []


def test_a_rename_is_the_old_name_going_down():
    links = PortLinks(("acc",))
    up = nl.LinkMsg(True, 7, "acc", nl.IFF_UP | nl.IFF_LOWER_UP)
    assert links.feed(up) == [("acc", True)]
    assert links.feed(nl.LinkMsg(True, 7, "acc2", nl.IFF_UP | nl.IFF_LOWER_UP)) == [("acc", False)]
    assert links.feed(nl.LinkMsg(False, 8, None, 0)) == []


# --- live: a veth in a namespace ---------------------------------------------------------

def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


@pytest.fixture
def netns():
    reason = "needs root (network namespaces)" if os.geteuid() != 0 else tool_missing("ip")
    if reason:
        pytest.skip(reason)
    name = f"p4mob-pl{os.getpid() % 100000}"
    _ip("netns", "add", name)
    try:
        _ip("-n", name, "link", "add", "acc", "type", "veth", "peer", "name", "air")
        _ip("-n", name, "link", "set", "acc", "up")
        yield name
    finally:
        _ip("netns", "del", name)


def _mag_node(tmp_path: Path):
    from p4mobility.runtime.logs import EventLog
    from p4mobility.runtime.mag_node import MagNode
    from p4mobility.runtime.nodeconfig import mag_from_dict
    (tmp_path / "p.txtpb").write_text("")
    (tmp_path / "p.json").write_text("{}")
    node = {"name": "mag1", "switch_address": "127.0.0.1:1", "p4info": str(tmp_path / "p.txtpb"),
            "p4blob": str(tmp_path / "p.json"), "control_socket": str(tmp_path / "mag1.sock")}
    cfg = mag_from_dict(tomllib.loads(T.to_toml(T.mag_config("mag1", node, T.LabOptions(ipsec=False)))))
    return MagNode(cfg, EventLog("mag1", open(tmp_path / "events.log", "w")))


def _in_netns(name: str, fn):
    """``fn()`` on a thread that entered namespace ``name`` (setns is per thread); its result."""
    out: dict = {}

    def run() -> None:
        try:
            with open(f"/run/netns/{name}") as f:
                if ctypes.CDLL("libc.so.6", use_errno=True).setns(f.fileno(), 0x40000000) != 0:
                    raise OSError(ctypes.get_errno(), "setns")
            out["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test
            out["error"] = exc

    t = threading.Thread(target=run)
    t.start()
    t.join()
    if "error" in out:
        raise out["error"]
    return out["value"]


def test_mag_node_watches_its_access_port_and_link_up_is_the_pbu(netns, tmp_path):
    node = _mag_node(tmp_path)

    async def watch() -> list:
        task = asyncio.create_task(node._watch_links({1: "acc"}))
        seen = [await asyncio.wait_for(node.queue.get(), 30)]  # the state at start: no carrier
        for state in ("up", "down", "up"):  # the peer (the radio) comes and goes
            await asyncio.to_thread(_ip, "-n", netns, "link", "set", "air", state)
            seen.append(await asyncio.wait_for(node.queue.get(), 30))
        task.cancel()
        return seen

    seen = _in_netns(netns, lambda: asyncio.run(watch()))
    assert seen == [LinkChanged(1, False), LinkChanged(1, True), LinkChanged(1, False), LinkChanged(1, True)]
    # the lab's access port names its MN: the link-up alone makes the PBU (RFC 5213 §6.9.1.1)
    actions = node.on_item(seen[-1], 100.0)
    [pbu] = [a.message for a in actions if isinstance(a, SendMh)]
    assert isinstance(pbu, BindingUpdate) and pbu.lifetime > 0
    assert pbu.option(MnIdentifier).identifier == T.MN_ID.encode()
    assert node.port_mac[1] == bytes.fromhex(T.MN_MAC.replace(":", ""))

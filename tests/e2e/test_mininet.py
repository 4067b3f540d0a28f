"""The Mininet lab (`mininet/pmip.py --test`) on each target: the MN attaches at
MAG1, reaches the CN, moves to MAG2, reaches it again with the same address.

Checked here, not taken from the script: the MN's address is its home network
prefix + the modified EUI-64 of its MAC (computed below by hand), the LMA's
log shows the binding created at MAG1's Proxy-CoA and moved to MAG2's, and
nothing of the run is left afterwards (processes, root-namespace links).
Skips without root, the P4 build, the target binary, or Mininet (Debian's
`mininet` package, plus bridge-utils for the AIR's Linux bridge; `make
install` installs both); the OVS case also needs Open vSwitch running.
With IPsec (the default, as `p4mob lab`) the LMA's crypto path must have
carried the signaling.
"""
from __future__ import annotations

import ipaddress
import json
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from p4mobility.lab.lab import LabError, find_switch, lab_unavailable
from p4mobility.lab.tools import tool_missing

from .conftest import targets

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "mininet" / "pmip.py"
MN_MAC = "02:00:00:00:aa:01"
MAG_COA = {"mag1": "2001:db8:a::1", "mag2": "2001:db8:b::1"}
AIR_LINKS = ("air", "mnair", "air1", "air2")


def mininet_unavailable() -> str | None:
    code = ("import sys\ntry:\n import mininet.net\nexcept ImportError:\n"
            " sys.path.append('/usr/lib/python3/dist-packages'); import mininet.net")
    # cwd "/": from the repo root, its mininet/ folder would import as an empty namespace package
    if subprocess.run([sys.executable, "-c", code], capture_output=True, cwd="/").returncode != 0:
        return "Mininet is not installed (apt-get install mininet)"
    # the script appends /usr/sbin and /sbin to PATH, as Mininet needs them
    return tool_missing("mnexec", "brctl", extra_dirs=("/usr/sbin", "/sbin"))


def ovs_unavailable() -> str | None:
    missing = tool_missing("ovs-vsctl")
    if missing:
        return missing
    if subprocess.run(["ovs-vsctl", "-t", "2", "show"], capture_output=True).returncode != 0:
        return "Open vSwitch is not running (ovs-ctl start; OVS user datapath case)"
    return None


def eui64_address(prefix: str, mac: str) -> str:
    """RFC 4291 App. A: flip the U/L bit, put ff:fe in the middle."""
    b = bytearray(int(x, 16) for x in mac.split(":"))
    b[0] ^= 0x02
    iid = bytes(b[:3]) + b"\xff\xfe" + bytes(b[3:])
    net = ipaddress.IPv6Network(prefix)
    return str(ipaddress.IPv6Address(net.network_address.packed[:8] + iid))


def run_script(target: str, air: str, ipsec: bool, out: Path) -> tuple[int, str]:
    argv = [sys.executable, str(SCRIPT), "--test", "--target", target, "--air", air, "--out", str(out)]
    proc = subprocess.Popen(argv + ([] if ipsec else ["--no-ipsec"]), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        text, _ = proc.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)  # the script cleans up on SIGTERM
        text, _ = proc.communicate(timeout=60)
        pytest.fail(f"mininet/pmip.py --test did not finish:\n{text}")
    return proc.returncode, text


def events(log: Path, name: str) -> list[dict]:
    found = []
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            e = json.loads(line)
            if e.get("event") == name:
                found.append(e)
    return found


def logging_into(out: Path) -> list[str]:
    """Processes whose stdout is a file under ``out`` (the script's switches and controllers)."""
    found = []
    for fd in Path("/proc").glob("[0-9]*/fd/1"):
        try:
            if Path(fd.readlink()).is_relative_to(out):
                found.append(fd.parts[2])
        except OSError:
            continue
    return found


# as `p4mob lab`: PBU/PBA in ESP; the OVS case runs the plain lab (--no-ipsec)
CASES = [(t, "lxbr", True) for t in targets()] + [("embedded", "ovs", False)]


@pytest.mark.parametrize("target,air,ipsec", CASES,
                         ids=[f"{t}-{a}-{'ipsec' if i else 'plain'}" for t, a, i in CASES])
def test_mininet_handover_keeps_address_and_reaches_cn(target: str, air: str, ipsec: bool, tmp_path: Path) -> None:
    reason = lab_unavailable() or mininet_unavailable()
    if reason:
        pytest.skip(reason)
    try:
        find_switch(target)
    except LabError as exc:
        pytest.skip(str(exc))
    reason = ovs_unavailable() if air == "ovs" else None
    if reason:
        pytest.skip(reason)

    rc, text = run_script(target, air, ipsec, tmp_path)
    line = next((ln for ln in text.splitlines() if ln.startswith("pmip-handover ")), "")
    assert rc == 0 and " PASS " in line, text
    fields = dict(kv.split("=", 1) for kv in line.split()[2:])
    assert (fields["target"], fields["air"], fields["ipsec"]) == (target, air, "on" if ipsec else "off")
    assert fields["address_kept"] == "yes"
    for phase in ("ping_mag1", "ping_mag2"):
        received, sent = map(int, fields[phase].split("/"))
        assert 0 < received <= sent, line

    # the LMA gave the MN one HNP at MAG1 and moved that binding to MAG2 (one BCE, same prefix)
    created = events(tmp_path / "lma.log", "BindingCreated")
    moved = events(tmp_path / "lma.log", "BindingMoved")
    assert [e["coa"] for e in created] == [[MAG_COA["mag1"]]]
    assert [(e["old_coa"], e["coa"]) for e in moved] == [([MAG_COA["mag1"]], [MAG_COA["mag2"]])]
    assert moved[0]["home_prefixes"] == created[0]["home_prefixes"]
    assert fields["mn_address"] == eui64_address(created[0]["home_prefixes"][0], MN_MAC)

    # RFC 5213 §4: with IPsec the LMA's signaling went through its crypto path (both PBUs in,
    # both PBAs out), all of it authenticated; without, there is no crypto path at all
    stops = events(tmp_path / "lma-crypto.log", "crypto_stop") if ipsec else []
    if ipsec:
        assert len(stops) == 1 and stops[0]["bad_frames"] == 0, stops
        assert stops[0]["frames_in"] >= 2 and stops[0]["frames_out"] >= 2, stops
    else:
        assert not (tmp_path / "lma-crypto.log").exists()

    # cleaned up: no process writes its output into the out dir any more, no AIR links
    assert logging_into(tmp_path) == []
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    names = {re.split(r"[@:]", ln.split(": ")[1])[0] for ln in links.splitlines() if ": " in ln}
    assert not names & set(AIR_LINKS)

"""IPsec in the PMIPv6 lab (RFC 5213 §4, RFC 4301/4303) on real namespaces:
PBU/PBA cross the MAG-LMA links in ESP made by each node's crypto path (the
switch's port 254), tshark decrypts them with the lab's `esp_sa` file, a clear
PBU the SPD says must be protected is dropped and logged, an unknown SPI is
dropped and counted in the switch, `p4mob show sas` shows the SAs at work. The tests share one lab per target
but not its history: each starts from the state it names (states.py)."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest

from p4mobility.lab import topology as T
from p4mobility.lab.pcapcheck import answers, malformed, mh_rows
from p4mobility.mh import BindingUpdate, MnIdentifier
from p4mobility.p4rt.names import PROFILES, TABLES
from p4mobility.runtime.frames import mh_frame
from p4mobility.runtime.control import request

from tests.tooling import needs_tools, tool_missing

from .conftest import assert_registrations_accepted, make_lab, targets
from .states import registered_at, wait_for

pytestmark = [pytest.mark.root, pytest.mark.timeout(600)]
UNKNOWN_SPI_REASON = 4  # DropReason.UNKNOWN_SPI (docs/dataplane.md)
LMA_ALL = tuple(TABLES) + tuple(PROFILES)  # every table and action profile of the LMA's switch


@pytest.fixture(scope="module", params=targets())
def lab(request, tmp_path_factory):
    lab = make_lab(request, tmp_path_factory, T.LabOptions(ipsec=True))
    yield lab
    lab.close()


def show(lab, node, what) -> dict:
    ans = lab.control(node, {"cmd": "show", "what": what})
    assert ans["ok"], ans
    return ans


def visit_both_mags(lab) -> None:
    """A registration at each MAG from now on, so each MAG-LMA link carries signaling."""
    first = "mag2" if lab.attached == "mag1" else "mag1"
    registered_at(lab, first)
    registered_at(lab, "mag2" if first == "mag1" else "mag1")


def test_rfc5213_4_registration_in_esp_and_traffic_flows(lab):
    registered_at(lab, "mag1")
    t = time.time()
    registered_at(lab, "mag2")  # a move: the MN's next packet is MAG2's attach trigger (no RS)
    # MAG2's PBU reached the LMA core through the crypto path, never in the clear
    pbu = lab.wait_event("lma", "pbu_rx", since=t, timeout=10,
                         where=lambda e: e.get("src") == str(T.MAG_COA["mag2"]))
    assert pbu["mn_id"] == T.MN_ID
    lab.wait_event("mag2", "pba_rx", since=t, timeout=30, where=lambda e: e.get("status") == 0)
    assert lab.events("lma", "mh_unprotected_dropped", since=t) == []
    assert lab.ping_once(count=3)


def test_show_sas_lists_every_sa_with_the_crypto_paths_counters(lab):
    visit_both_mags(lab)
    ans = show(lab, "lma", "sas")
    rows = [dict(zip(ans["columns"], r)) for r in ans["rows"]]
    assert "note" not in ans, ans.get("note")
    assert len(rows) == 4 and {r["dir"] for r in rows} == {"in", "out"}
    by = {(r["dir"], r["dst"] if r["dir"] == "in" else r["src"], r["src"] if r["dir"] == "in" else r["dst"]): r
          for r in rows}
    for m in ("mag1", "mag2"):  # one PBU in and one PBA out per MAG at least
        assert by[("in", str(T.LMA_ADDRESS), str(T.MAG_COA[m]))]["packets"] >= 1
        assert by[("out", str(T.LMA_ADDRESS), str(T.MAG_COA[m]))]["packets"] >= 1
    assert all(r["icv_failures"] == 0 and r["replay_drops"] == 0 for r in rows)
    cli = subprocess.run([sys.executable, "-m", "p4mobility.cli", "show", "sas", "--json", "--socket",
                          str(lab.sock("mag2"))], capture_output=True, text=True, timeout=30)
    assert cli.returncode == 0, cli.stderr
    assert len(json.loads(cli.stdout)["rows"]) == 2


@needs_tools("tshark")
def test_rfc4303_signaling_on_the_wire_is_esp_and_tshark_decrypts_it(lab):
    if not lab.pcap:
        pytest.skip(tool_missing("tcpdump") or "the lab captured nothing")
    visit_both_mags(lab)
    for name in ("pcap-mag1", "pcap-mag2"):  # the capture ends here (no other test reads it)
        lab.sup.stop(name, sig=signal.SIGINT)
    esp_sa = lab.out / "esp_sa"
    assert esp_sa.exists()
    pcaps = sorted(lab.out.glob("lma-*.pcap"))
    assert [p.name for p in pcaps] == ["lma-mag1.pcap", "lma-mag2.pcap"]
    for pcap in pcaps:
        assert mh_rows(pcap) == [], f"clear MH on the wire in {pcap.name}"
        rows = mh_rows(pcap, esp_sa)
        assert {5, 6} <= {r.mh_type for r in rows}, f"no PBU/PBA decrypted in {pcap.name}"
        assert all(r.spi is not None and r.icv_good for r in rows)
        assert_registrations_accepted(answers(rows))
        assert malformed(pcap, esp_sa) == ""


def _unprotected_dropped(lab) -> float:
    lines = [ln for ln in lab.metrics("lma").splitlines() if ln.startswith("p4mob_mh_unprotected_dropped_total ")]
    assert len(lines) == 1
    return float(lines[0].split()[-1])


def test_rfc4301_5_2_clear_pbu_is_dropped_counted_logged_never_processed(lab):
    registered_at(lab, "mag2")
    before = show(lab, "lma", "bindings")["rows"]
    assert len(before) == 1
    dropped = _unprotected_dropped(lab)
    t = time.time()
    # a clear de-registration for the MN naming MAG2 (the MN's MAG): processed, it would end the binding
    bu = BindingUpdate(60000, 0, ack=True, proxy=True, options=(MnIdentifier(T.MN_ID.encode()),))
    lab.inject("cn", "eth0", _to_lma(mh_frame(bu, T.MAG_COA["mag2"], T.LMA_ADDRESS)))
    # the node logs the drop where it would otherwise have decoded the PBU: its handling ends there
    ev = lab.wait_event("lma", "mh_unprotected_dropped", since=t, timeout=10)
    assert ev["src"] == str(T.MAG_COA["mag2"])
    assert [e for e in lab.events("lma", "pbu_rx", since=t) if e.get("seq") == 60000] == []
    assert show(lab, "lma", "bindings")["rows"][0][:5] == before[0][:5]
    assert _unprotected_dropped(lab) == dropped + 1
    assert lab.ping_once(count=3)


def _to_lma(frame: bytes) -> bytes:
    """The frame sent to the LMA's switch from the CN's link (a spoofing host;
    injected there because bmv2 on a MAG also takes frames sent out of its own
    interfaces as received, and would forward them, protected)."""
    mac = lambda m: bytes.fromhex(m.replace(":", ""))  # noqa: E731
    return mac(T.MACS[("lma", "cn")]) + mac(T.MACS[("cn", "eth0")]) + frame[12:]


def _unknown_spi_drops(lab) -> int:
    rows = show(lab, "lma", "counters")["rows"]
    return sum(r[2] for r in rows if r[0] == "drop_counter" and r[1] == UNKNOWN_SPI_REASON)


def _crypto_drops(lab) -> tuple[int, int]:
    """What the LMA's crypto path counted as unknown SA and as bad frames."""
    st = request(str(lab.crypto_sock("lma")), {"cmd": "status"})
    return st["unknown_sa"], st["bad_frames"]


def test_rfc4303_3_4_2_unknown_spi_dropped_in_the_switch_and_counted(lab):
    registered_at(lab)
    before, crypto_before = _unknown_spi_drops(lab), _crypto_drops(lab)
    ip6 = (bytes([0x60, 0, 0, 0]) + (40).to_bytes(2, "big") + bytes([50, 64])
           + T.MAG_COA["mag1"].packed + T.LMA_ADDRESS.packed)
    esp = (0xDEAD0001).to_bytes(4, "big") + (1).to_bytes(4, "big") + bytes(32)
    frame = _to_lma(bytes(12) + b"\x86\xdd" + ip6 + esp)
    t = time.time()
    for _ in range(3):
        lab.inject("cn", "eth0", frame)
    wait_for(lambda: _unknown_spi_drops(lab) >= before + 3, "3 unknown-SPI drops counted", timeout=15, poll=0.2)
    assert _unknown_spi_drops(lab) == before + 3
    # nothing reached the controller or the crypto path
    assert lab.events("lma", "mh_discarded", since=t) == []
    assert lab.events("lma", "mh_unprotected_dropped", since=t) == []
    assert _crypto_drops(lab) == crypto_before


def _captured_esp_pbu(lab, mag: str) -> bytes | None:
    """The last ESP packet from ``mag`` to the LMA that the lab's capture of their link holds."""
    from p4mobility.mh.pcap import read_frames
    pcap = lab.out / f"lma-{mag}.pcap"
    if not pcap.exists():
        return None
    found = None
    with open(pcap, "rb") as f:
        try:
            for fr in read_frames(f):
                d = fr.data
                if len(d) > 62 and d[12:14] == b"\x86\xdd" and d[20] == 50 \
                        and d[22:38] == T.MAG_COA[mag].packed and d[38:54] == T.LMA_ADDRESS.packed:
                    found = d
        except Exception:  # noqa: BLE001 - a capture still being written may end mid-record
            pass
    return found


def _in_sa_row(lab, mag: str) -> dict:
    ans = show(lab, "lma", "sas")
    rows = [dict(zip(ans["columns"], r)) for r in ans["rows"]]
    (row,) = [r for r in rows if r["dir"] == "in" and r["src"] == str(T.MAG_COA[mag])]
    return row


def test_rfc4303_3_4_3_replayed_esp_pbu_is_dropped_by_the_crypto_path_counted_and_changes_nothing(lab):
    """An ESP-protected PBU captured on the wire and sent again (a replay): the LMA's crypto
    path drops it in its anti-replay window (RFC 4303 §3.4.3), counts it and logs it; the PBU
    never reaches the LMA core, and the bindings and the switch's entries are as they were."""
    if not lab.pcap:
        pytest.skip(tool_missing("tcpdump") or "the lab captured nothing")
    registered_at(lab, "mag1")
    esp = wait_for(lambda: _captured_esp_pbu(lab, "mag1"), "an ESP PBU from MAG1 in the capture", timeout=30)
    before = (show(lab, "lma", "bindings")["rows"], lab.read_switch("lma", *LMA_ALL))
    drops = _in_sa_row(lab, "mag1")["replay_drops"]
    t = time.time()
    lab.inject("cn", "eth0", _to_lma(esp))
    wait_for(lambda: _in_sa_row(lab, "mag1")["replay_drops"] == drops + 1, "the replay counted", timeout=15,
             poll=0.2)
    ev = lab.wait_crypto_event("lma", "crypto_drop", since=t, timeout=10)
    assert ev["reason"] in ("DuplicateSequence", "StaleSequence"), ev
    assert lab.events("lma", "pbu_rx", since=t) == []  # the core never saw it
    rows, entries = before
    assert [r[:-1] for r in show(lab, "lma", "bindings")["rows"]] == [r[:-1] for r in rows]
    assert lab.read_switch("lma", *LMA_ALL) == entries


def test_rfc4303_3_3_3_restarted_crypto_path_continues_its_sequence_numbers(lab):
    """Manual keys with anti-replay: after a crypto path restart the LMA's PBAs must not
    reuse sequence numbers, or the MAGs drop them as replays and no registration completes."""
    registered_at(lab, "mag2")
    lab.sup.stop("crypto-lma")
    t = time.time()
    lab.start_crypto("lma")
    started = lab.wait_crypto_event("lma", "crypto_start", since=t)
    assert started["resumed_sequence"]  # it continued after its stored reservations
    t = lab.move("mag1")
    lab.ping_once(count=2)  # the attach trigger
    pba = lab.wait_event("mag1", "pba_rx", since=t, timeout=30, where=lambda e: e.get("lifetime"))
    assert pba["status"] == 0
    assert lab.ping_once(count=3)
    mag1 = {r[1]: r for r in show(lab, "mag1", "sas")["rows"]}
    pba_sa = next(spi for spi, r in mag1.items() if r[2] == "in")
    assert mag1[pba_sa][9] == 0  # no replay drops at MAG1


def test_show_sas_says_when_the_crypto_path_runs_another_file(lab):
    conf = lab.out / "ipsec-lma.toml"
    original = conf.read_text()

    def answered() -> dict | None:  # the restarted crypto path answers the node
        ans = show(lab, "lma", "sas")
        return None if "not reachable" in ans.get("note", "") else ans

    lab.sup.stop("crypto-lma")
    try:
        conf.write_text(original + "\n# edited after the node started\n")
        lab.start_crypto("lma")
        ans = wait_for(answered, "the restarted crypto path answers", timeout=20, poll=0.2)
        assert "sha256 differs" in ans.get("note", "")
    finally:  # the node's own file again, run by its crypto path (for the tests that follow)
        lab.sup.stop("crypto-lma")
        conf.write_text(original)
        lab.start_crypto("lma")
    ans = wait_for(answered, "the crypto path runs the node's file again", timeout=20, poll=0.2)
    assert "note" not in ans, ans["note"]

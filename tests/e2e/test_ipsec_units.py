"""The node half of IPsec: switch entries and clear-signaling refusal, without a lab.

The switch's `esp_sas` / `outbound_policies` are built from the same ip-xfrm
style file as the crypto path; these tests check that the two agree (SA
numbering, first-match order) against the crypto path's own lookups, and that
the node config rejects what the switch cannot express.
"""
from __future__ import annotations

import ipaddress
import os
import tomllib
from pathlib import Path
from types import SimpleNamespace

import pytest
from finsy import P4Schema
from p4mobility.ipsec.config import load_config
from p4mobility.ipsec.errors import IpsecConfigError
from p4mobility.ipsec.spd import Action, Dir, selector_from_packet
from p4mobility.lab import topology as T
from p4mobility.lab.ipsec_setup import KEY_BYTES, ipsec_config, lab_sas
from p4mobility.mh import BindingAck, BindingUpdate, MnIdentifier
from p4mobility.p4rt.ipsec_entries import ipsec_entries
from p4mobility.p4rt.names import PuntReason
from p4mobility.pmip.config import ConfigError
from p4mobility.runtime.frames import mh_frame
from p4mobility.runtime.lma_node import LmaNode
from p4mobility.runtime.nodeconfig import DEFAULT_P4INFO, lma_from_dict, mag_from_dict
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether


@pytest.fixture
def ipsec_dir(tmp_path: Path) -> Path:
    (tmp_path / "keys").mkdir()
    for sa in lab_sas():
        key = tmp_path / "keys" / f"{sa.name}.key"
        key.write_text(os.urandom(KEY_BYTES).hex())
        key.chmod(0o600)
    for node in ("lma", "mag1", "mag2"):
        (tmp_path / f"ipsec-{node}.toml").write_text(T.to_toml(ipsec_config(node)))
    return tmp_path


def _frame(msg, src, dst) -> bytes:
    return mh_frame(msg, ipaddress.IPv6Address(src), ipaddress.IPv6Address(dst))


def pbu(seq: int = 1):
    return BindingUpdate(seq, 100, ack=True, proxy=True, options=(MnIdentifier(b"x@p4mob.example"),))


def pba():
    return BindingAck(0, 1, 100, proxy=True, options=(MnIdentifier(b"x@p4mob.example"),))


def _ternary_hit(entry, fields: dict[str, int]) -> bool:
    for fm in entry.encode_entry(SCHEMA).match:
        name = SCHEMA.tables[entry.table_id].match_fields[fm.field_id].name
        value, mask = int.from_bytes(fm.ternary.value, "big"), int.from_bytes(fm.ternary.mask, "big")
        if fields[name] & mask != value:
            return False
    return True


SCHEMA = P4Schema(DEFAULT_P4INFO)


@pytest.mark.parametrize("node", ["lma", "mag1", "mag2"])
def test_rfc4303_3_4_2_esp_sas_index_is_the_crypto_paths_sa_for_that_spi(ipsec_dir, node):
    cfg = load_config(ipsec_dir / f"ipsec-{node}.toml")
    crypto_sad = cfg.build_sad(0.0)  # what `p4mob ipsec run` builds from the same file
    entries = [e for _, e in ipsec_entries(load_config(ipsec_dir / f"ipsec-{node}.toml").build_sad(0.0), cfg.spd)]
    esp = [e for e in entries if e.table_id == "esp_sas"]
    inbound = [sa for sa in cfg.sas if sa.dir == Dir.IN]
    assert len(esp) == len(inbound) > 0
    for e in esp:
        e.encode_entry(SCHEMA)  # valid for the compiled program
        dst, spi = e.match["dst_addr"], int(e.match["spi"])
        sa = crypto_sad.lookup_inbound(spi, ipaddress.ip_address(dst).packed, bytes(16))
        assert e.action.name == "to_crypto_port" and e.action.args["sa_index"] == sa.index


@pytest.mark.parametrize("node", ["lma", "mag1"])
def test_rfc4301_4_4_1_switch_spd_picks_what_the_crypto_path_spd_picks(ipsec_dir, node):
    cfg = load_config(ipsec_dir / f"ipsec-{node}.toml")
    sad = cfg.build_sad(0.0)
    spd_entries = [e for _, e in ipsec_entries(sad, cfg.spd) if e.table_id == "outbound_policies"]
    lma, mag1, mag2 = str(T.LMA_ADDRESS), str(T.MAG_COA["mag1"]), str(T.MAG_COA["mag2"])
    me = lma if node == "lma" else mag1
    cases = [_frame(m, me, peer) for m in (pbu(), pba()) for peer in (lma, mag1, mag2) if peer != me]
    cases.append(bytes(Ether() / IPv6(src=me, dst=lma if node != "lma" else mag1, nh=59)))
    for frame in cases:
        packet = frame[14:]
        sel = selector_from_packet(packet)
        fields = {"src_addr": int(sel.src), "dst_addr": int(sel.dst), "ip_proto": sel.proto,
                  "mh_type": sel.mh_type or 0}
        hits = [e for e in spd_entries if _ternary_hit(e, fields)]
        switch = max(hits, key=lambda e: e.priority) if hits else None
        want = cfg.spd.lookup(Dir.OUT, sel)
        if want is None:  # the switch is a router: no out entry = bypass (dataplane.md)
            assert switch is None
        elif want.action == Action.PROTECT:
            assert switch is not None and switch.action.name == "to_crypto_port"
            assert switch.action.args["sa_index"] == sad.lookup_outbound(want.tmpl).index
        else:
            assert switch is not None and switch.action.name == want.action.value


def test_switch_spd_refuses_port_selectors_it_cannot_express(ipsec_dir):
    doc = ipsec_config("mag1")
    doc["policy"][0].update(proto="udp", **{"remote-port": 4191})
    doc["policy"][0].pop("local-mh-type")
    path = ipsec_dir / "ipsec-ports.toml"
    path.write_text(T.to_toml(doc))
    cfg = load_config(path)
    with pytest.raises(IpsecConfigError) as e:
        ipsec_entries(cfg.build_sad(0.0), cfg.spd)
    assert e.value.key == "policy[0]"


def _node_doc(ipsec_dir: Path, role: str, **ipsec) -> dict:
    node = {"name": role, "switch_address": "127.0.0.1:9559"}
    doc = T.lma_config(node, T.LabOptions()) if role == "lma" else T.mag_config("mag1", node, T.LabOptions())
    doc = tomllib.loads(T.to_toml(doc))
    doc["ipsec"] = ipsec
    return doc


def test_node_config_ipsec_table_loads_relative_to_the_node_file(ipsec_dir):
    cfg = lma_from_dict(_node_doc(ipsec_dir, "lma", config="ipsec-lma.toml"), ipsec_dir)
    assert cfg.ipsec is not None and len(cfg.ipsec.config.sas) == 4
    cfg = mag_from_dict(_node_doc(ipsec_dir, "mag1", config="ipsec-mag1.toml", crypto_socket="/run/c.sock"),
                        ipsec_dir)
    assert cfg.ipsec.crypto_socket == "/run/c.sock" and len(cfg.ipsec.config.sas) == 2


@pytest.mark.parametrize("ipsec, key", [
    ({}, None),  # an empty [ipsec] table is no IPsec
    ({"crypto_socket": "/x"}, "ipsec.config"),
    ({"config": "missing.toml"}, "ipsec.config"),
    ({"config": "ipsec-lma.toml", "typo": 1}, "ipsec.typo"),
])
def test_node_config_ipsec_errors_name_the_key(ipsec_dir, ipsec, key):
    doc = _node_doc(ipsec_dir, "lma", **ipsec)
    if key is None:
        assert lma_from_dict(doc, ipsec_dir).ipsec is None
        return
    with pytest.raises(ConfigError) as e:
        lma_from_dict(doc, ipsec_dir)
    assert e.value.key == key


def test_node_config_key_file_readable_by_others_is_refused(ipsec_dir):
    (ipsec_dir / "keys" / "pbu-mag1.key").chmod(0o644)
    with pytest.raises(ConfigError) as e:
        lma_from_dict(_node_doc(ipsec_dir, "lma", config="ipsec-lma.toml"), ipsec_dir)
    assert e.value.key == "ipsec.config" and "chmod 600" in e.value.problem


def test_rfc5213_4_clear_pbu_refused_only_where_the_spd_requires_esp(ipsec_dir):
    node = LmaNode(lma_from_dict(_node_doc(ipsec_dir, "lma", config="ipsec-lma.toml"), ipsec_dir))
    lma, mag1 = str(T.LMA_ADDRESS), str(T.MAG_COA["mag1"])

    def refused(frame, reason):
        return node.clear_signaling_refused(SimpleNamespace(payload=frame), reason)

    clear = _frame(pbu(), mag1, lma)
    assert refused(clear, PuntReason.MOBILITY_HEADER)
    assert not refused(clear, PuntReason.MOBILITY_HEADER_DECRYPTED)  # came through the crypto path
    assert refused(_frame(pbu(), "2001:db8:99::1", lma), PuntReason.MOBILITY_HEADER)  # RFC 4301: default discard
    assert node.metrics.mh_unprotected._value.get() == 2
    plain = LmaNode(lma_from_dict(_node_doc(ipsec_dir, "lma"), ipsec_dir))  # no [ipsec]: nothing refused
    assert not plain.clear_signaling_refused(SimpleNamespace(payload=clear), PuntReason.MOBILITY_HEADER)

"""The mobile-node daemon (`p4mob mn run`) in namespaces against the test peer."""
from __future__ import annotations

from tests.mn.mnlab import CN, COA_A, HOA, SPI, wait_for


def test_rfc6275_11_7_1_bu_leaves_the_coa_in_esp_then_data_goes_through_the_tunnel(make_lab):
    lab, peer = make_lab()
    lab.add_coa("acc1", COA_A, 64)
    lab.start()
    bu = peer.wait("a BU", lambda s: s.kind == "bu")
    assert (bu.port, bu.outer, bu.outer_src, bu.esp_spi) == ("p1", "ipv6", str(COA_A), SPI["bu"])
    wait_for("registration", lambda: (lab.status() or {}).get("registered"))
    assert lab.ping(CN)

"""The soak's end check: acknowledged bindings kept, switch entries equal to the store.

Rule: three independent views compared: what the load acknowledged
(LoadModel.expected), the LMA's answer to `show bindings` and its SQLite
store, and the LMA switch's `bindings` table and `binding_profile` members
read by a second P4Runtime client (lab.inspect, a real gRPC connection).
"""
from __future__ import annotations

from ipaddress import IPv6Network

from p4mobility.soak.load import LoadModel
from p4mobility.soak.sample import store_docs
from p4mobility.soak.plan import GEN_MAGS, mn_id
from p4mobility.soak.topo import SoakLab


def final_check(lab: SoakLab, model: LoadModel) -> dict:
    table = lab.control("lma", {"cmd": "show", "what": "bindings"})
    cols = table["columns"]
    rows = [dict(zip(cols, r)) for r in table["rows"]]
    at_lma: dict[str, list[dict]] = {}
    for r in rows:
        at_lma.setdefault(r["mn_id"], []).append(r)
    lost, moved = [], []
    expected = model.expected()
    for i, (mag, hnp) in expected.items():
        have = at_lma.get(mn_id(i).decode(), [])
        if not have:
            lost.append(i)
        elif not any(r["coa"] == str(GEN_MAGS[mag]) and (hnp is None or str(hnp) in r["home_prefixes"].split())
                     for r in have):
            moved.append({"mn": i, "expected": [str(GEN_MAGS[mag]), str(hnp)],
                          "at_lma": [[r["coa"], r["home_prefixes"]] for r in have]})
    several = [k for k, v in at_lma.items() if len(v) > 1]
    docs = store_docs(lab.state_dir / "lma.db")
    store_hnps = {h for d in docs.values() for h in d["hnps"]}
    entries = lab.read_switch("lma", "bindings", "binding_profile")
    switch_hnps = {str(IPv6Network(e["match"]["dst_addr"])) for e in entries if e.get("table") == "bindings"}
    # the members the `bindings` entries name (the free ids' placeholders are members too: p4rt/member_pool.py)
    named = {e["member_id"] for e in entries if e.get("table") == "bindings" and "member_id" in e}
    members = len(named & {e["member_id"] for e in entries if e.get("profile") == "binding_profile"})
    lma_hnps = {h for r in rows for h in r["home_prefixes"].split()}
    return {
        "expected_bindings": len(expected), "in_doubt": model.in_doubt(),
        "bindings_lost": len(lost), "lost_sample": lost[:20], "wrong_coa_or_hnp": len(moved),
        "wrong_sample": moved[:5], "mns_with_several_bindings": len(several), "several_sample": several[:5],
        "lma_bindings": len(rows), "store_bindings": len(docs), "switch_binding_entries": len(switch_hnps),
        "switch_binding_members": members,
        "entries_equal_store": switch_hnps == store_hnps and members == len(docs),
        "lma_equals_store": lma_hnps == store_hnps,
        "only_in_switch": sorted(switch_hnps - store_hnps)[:10], "only_in_store": sorted(store_hnps - switch_hnps)[:10],
    }


def after_fault_check(lab: SoakLab, model: LoadModel) -> dict:
    """While the load runs: the MNs acknowledged now (and left alone meanwhile) have their
    prefix in the LMA switch's `bindings` and in the store."""
    snap = model.snapshot()
    entries = lab.read_switch("lma", "bindings")
    docs = store_docs(lab.state_dir / "lma.db")
    switch_hnps = {str(IPv6Network(e["match"]["dst_addr"])) for e in entries if e.get("table") == "bindings"}
    store_hnps = {h for d in docs.values() for h in d["hnps"]}
    still = [i for i in model.unchanged(snap) if snap[i][1] is not None]
    not_in_switch = [i for i in still if str(snap[i][1]) not in switch_hnps]
    not_in_store = [i for i in still if str(snap[i][1]) not in store_hnps]
    return {"checked": len(still),
            "missing_in_switch": len(not_in_switch), "missing_in_store": len(not_in_store),
            # which MNs, to follow them in the LMA's log (mn_id soak<i>@...): at most ten each
            "missing_sample": [[i, str(snap[i][1]), i in not_in_switch, i in not_in_store]
                               for i in sorted(set(not_in_switch) | set(not_in_store))[:10]]}


__all__ = ["final_check", "after_fault_check"]

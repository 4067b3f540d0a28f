"""`make soak`: the real processes under a PBU load for minutes, with faults (issue 14).

Modules: wire (PBU frames and the AF_PACKET generator socket, shared with
bench/bench_registrations.py), load (the sans-I/O load model: MN states, the
register/refresh/handover/de-register mix, RFC 5213 §6.9.4 retransmissions),
lossy_link (a forwarder that drops a share of frames), topo (the lab plus the
generator's link, a tmpfs state dir), faults, sample (RSS, bindings), report
(JSON, PNG), run (`python -m p4mobility.soak`).
"""

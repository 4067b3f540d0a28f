"""Target esp_frame: the crypto port (ipsec/portframe.py) and the crypto path behind it
(ipsec/path.py, esp.py, ipframe.py, sa.py): what the crypto-path process does with
one frame from the switch (runtime/crypto_port.py ``handle_frame``).

Oracle: ``split`` raises only PortFrameError; ``process_inbound`` /
``process_outbound`` never raise (a bad packet is a ``Dropped`` with a typed
IpsecError); ``encode_reply`` of a result raises only PortFrameError. Inputs
whose first byte is 0xFF are instead an IP packet the path protects with an
outbound SA: the peer's inbound SA must then open it (Accepted; or drop it as a
dummy when its Next Header is 59, RFC 4303 §2.6), as the two ends
of one SA would. The SAs (GCM, CBC+SHA256, NULL+SHA256, GCM tunnel, GCM ESN) hold
fixed keys; the non-ESN inbound SAs have no replay window, so a frame whose
outer headers were mutated around an intact ESP packet still decrypts.
"""
from __future__ import annotations

MAX_LEN = 4096
INSTRUMENT = ("p4mobility.ipsec",)

HOA, HA, COA = "2001:db8:1::100", "2001:db8:1::1", "2001:db8:2::5"


class PathError(AssertionError):
    """The crypto path broke its contract (sealed a packet its peer cannot open)."""


def sa_specs():
    """(name, keyword arguments of Sa) for each SA pair the path holds."""
    from p4mobility.ipsec import AEAD_GCM, AUTH_SHA256, ENC_CBC, ENC_NULL, Algo, Mode
    gcm = dict(aead=Algo(AEAD_GCM, bytes.fromhex("feffe9928665731c6d6a8f9467308308cafebabe")))
    cbc = dict(enc=Algo(ENC_CBC, bytes.fromhex("90d382b410eeba7ad938c46cec1a82bf")),
               auth=Algo(AUTH_SHA256, bytes(range(0x40, 0x60))))
    null = dict(enc=Algo(ENC_NULL), auth=Algo(AUTH_SHA256, bytes(range(0x40, 0x60))))
    nowin = dict(replay_window=0)
    return [("gcm", dict(spi=0x1001, **nowin, **gcm)), ("cbc", dict(spi=0x1002, **nowin, **cbc)),
            ("null", dict(spi=0x1003, **nowin, **null)),
            ("gcm-tunnel", dict(spi=0x1004, mode=Mode.TUNNEL, **nowin, **gcm)),
            ("gcm-esn", dict(spi=0x1005, esn=True, **gcm))]


def make_path():
    """A crypto path with every SA pair -> (path, [(out index, in index), ...])."""
    from p4mobility.ipsec import CryptoPath, Sa, Sad
    sad = Sad()
    pairs = []
    for _name, kw in sa_specs():
        src, dst = (HA, COA) if kw.get("mode") else (HOA, HA)
        out = sad.add(Sa(src=src, dst=dst, dir="out", reqid=kw["spi"], **kw), 0.0)
        inb = sad.add(Sa(src=src, dst=dst, dir="in", reqid=kw["spi"], **kw), 0.0)
        pairs.append((out, inb))
    return CryptoPath(sad), pairs


def setup():
    from p4mobility.ipsec import Accepted, DummyPacket, Protected
    from p4mobility.ipsec.portframe import CryptoDirection, PortFrameError, encode_reply, split
    DECRYPT, ENCRYPT = int(CryptoDirection.DECRYPT), int(CryptoDirection.ENCRYPT)

    path, pairs = make_path()

    def check(data: bytes) -> None:
        if data[:1] == b"\xff" and len(data) > 2:
            out, inb = pairs[data[1] % len(pairs)]
            r = path.process_outbound(data[2:], out, 1.0)
            if isinstance(r, Protected):
                back = path.process_inbound(r.packet, inb, 1.0)
                if not isinstance(back, Accepted) and not isinstance(back.error, DummyPacket):  # §2.6: NH 59
                    raise PathError(f"own ESP packet dropped by the peer SA: {back.error!r}")
            return
        try:
            sa_index, direction, port, packet = split(data)
        except PortFrameError:
            return
        if direction != DECRYPT and direction != ENCRYPT:
            return
        if direction == DECRYPT:
            r = path.process_inbound(packet, sa_index, 1.0)
            ok = isinstance(r, Accepted)
        else:
            r = path.process_outbound(packet, sa_index, 1.0)
            ok = isinstance(r, Protected)
        if ok:
            try:
                encode_reply(data, sa_index, port, direction, r.packet)
            except PortFrameError:
                pass

    return check

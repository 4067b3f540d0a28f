"""IPsec for mobility: sans-I/O SPD/SAD and ESP (RFC 4301, RFC 4303, RFC 3776, RFC 5213 §4).

Rule: pure state and framing; the host-side crypto path adapter feeds whole
IP packets with ``now`` to :class:`CryptoPath` and acts on the returned values.
"""
from .errors import (DummyPacket, DuplicateSequence, FragmentReceived, IcvError, IpsecConfigError,
                     IpsecError, MalformedPacket, NoOutboundSa, PaddingError, PolicyDiscard,
                     PolicyMismatch, ReplayError, SaExpired, SequenceOverflow, StaleSequence,
                     UnknownSpi)
from .events import (Accepted, Bypassed, Dropped, IcvFailure, Protected, RekeyHard, RekeySoft,
                     ReplayDrop, SequenceOverflowEvent)
from .path import CryptoPath
from .lifetime import Lifetime, SaCounters
from .replay import ReplayWindow
from .sa import Sa
from .sad import Sad
from .spd import Action, Dir, Mode, PacketSelector, Selector, Spd, SpdEntry, Template, selector_from_packet
from .transforms import AEAD_GCM, AUTH_NULL, AUTH_SHA256, ENC_CBC, ENC_NULL, Algo
from .wireshark import export_wireshark_esp_sa

__all__ = [
    "AEAD_GCM", "AUTH_NULL", "AUTH_SHA256", "Accepted", "Action", "Algo", "Bypassed", "CryptoPath",
    "Dir", "Dropped", "DummyPacket", "DuplicateSequence", "ENC_CBC", "ENC_NULL", "FragmentReceived",
    "IcvError", "IcvFailure", "IpsecConfigError", "IpsecError", "Lifetime", "MalformedPacket", "Mode",
    "NoOutboundSa", "PacketSelector", "PaddingError", "PolicyDiscard", "PolicyMismatch", "Protected",
    "RekeyHard", "RekeySoft", "ReplayDrop", "ReplayError", "ReplayWindow", "Sa", "SaCounters",
    "SaExpired", "Sad", "Selector", "SequenceOverflow", "SequenceOverflowEvent", "Spd", "SpdEntry",
    "StaleSequence", "Template", "UnknownSpi", "export_wireshark_esp_sa", "selector_from_packet",
]

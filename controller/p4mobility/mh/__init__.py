"""Mobility Header (IPv6 Next Header 135) codec: messages, options, extension
headers, JSON form. Import everything from here: ``from p4mobility.mh import ...``.

Rule: this package is pure (no I/O); decode is total and raises only
MhDecodeError subclasses, whose class attributes carry the RFC 6275 §9.2 action.
"""
from .codec import checksum, decode_mh, encode_mh
from .constants import (
    DSMIPV6_UDP_PORT,
    PMIPV6_IPV4_UDP_PORT,
    HOME_ADDRESS_OPTION_TYPE,
    IPPROTO_MH,
    IPPROTO_NONE,
    AccessTechnologyType,
    BaStatus,
    BeStatus,
    HandoffIndicator,
    Ipv4AckStatus,
    MhType,
    MnIdSubtype,
    MobOpt,
)
from .errors import (
    BINDING_ERROR,
    ICMP_PARAMETER_PROBLEM,
    SILENT_DISCARD,
    ExtHeaderDecodeError,
    MhChecksumError,
    MhDecodeError,
    MhEncodeError,
    MhHeaderLenError,
    MhOptionError,
    MhPayloadProtoError,
    MhTruncatedError,
    MhUnknownTypeError,
)
from .messages import (
    MESSAGE_CLASSES,
    BindingAck,
    BindingError,
    BindingRefreshRequest,
    BindingUpdate,
    CareofTest,
    CareofTestInit,
    HomeTest,
    HomeTestInit,
    Message,
    seconds_to_lifetime,
)
from .options import *  # noqa: F401,F403  (every option class)
from .options import OPTION_CLASSES, MobilityOption, Pad1, PadN, UnknownOption
from .exthdr import (
    DestinationOptionsHeader,
    HomeAddressOption,
    Type2RoutingHeader,
    UnknownDestinationOption,
    decode_destination_options_header,
    decode_type2_routing_header,
    encode_destination_options_header,
    encode_type2_routing_header,
)
from .jsonfmt import MhJsonError, message_from_json, message_to_json

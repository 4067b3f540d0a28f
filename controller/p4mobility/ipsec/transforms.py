"""ESP transforms: the cryptographic step of one SA, on top of `cryptography`.

Rule: a transform only seals/opens the bytes ESP hands it; framing (SPI,
sequence, padding) lives in ``esp.py``. Supported per RFC 8221's MUST list:
AES-GCM-16 (RFC 4106, keymat = key || 4-byte salt), AES-CBC (RFC 3602) with
HMAC-SHA-256-128 (RFC 4868), and NULL encryption (RFC 2410) with
HMAC-SHA-256-128. NULL encryption with no integrity is refused (RFC 4303 §3.2).
For CBC+HMAC the ICV is verified in constant time *before* decrypting
(RFC 4303 §3.4.4.1). Key objects are built once per SA, not per packet.
"""
from __future__ import annotations

import hmac as _std_hmac
import os
import struct
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .errors import IcvError, IpsecConfigError, MalformedPacket

# ip-xfrm algorithm names (ip-xfrm(8), Linux crypto API names)
AEAD_GCM = "rfc4106(gcm(aes))"
ENC_CBC = "cbc(aes)"
ENC_NULL = "cipher_null"
AUTH_SHA256 = "hmac(sha256)"
AUTH_NULL = "digest_null"

_ENC_NULL_ALIASES = {"cipher_null", "ecb(cipher_null)", "null"}
_AUTH_NULL_ALIASES = {"digest_null", "null"}
_AES_KEY_LENGTHS = (16, 24, 32)
_IV64 = struct.Struct("!Q")


@dataclass(frozen=True)
class Algo:
    """One `ip xfrm` algorithm clause: name, key and (for ICVs) length in bits."""

    name: str
    key: bytes = field(default=b"", repr=False)
    icv_bits: int = 128


class Transform:
    """Interface: ``seal`` returns IV||ciphertext||ICV; ``open`` returns plaintext."""

    iv_len = 0
    block = 1  # cipher block size; padding aligns to lcm(block, 4) (RFC 4303 §2.4)
    icv_len = 16
    wireshark_enc = "NULL"
    wireshark_auth = "NULL"

    def make_iv(self, seq64: int) -> bytes:
        """The IV for the packet with this sequence number (none for NULL)."""
        return b""

    def seal(self, header: bytes, esn_hi: bytes, iv: bytes, plaintext: bytes) -> bytes:
        raise NotImplementedError

    def open(self, packet: bytes, esn_hi: bytes) -> bytes:
        raise NotImplementedError

    def wireshark_keys(self) -> tuple[str, str]:
        raise NotImplementedError


class AesGcm(Transform):
    """RFC 4106: nonce = salt || 8-byte IV; AAD = SPI||seq or SPI||ESN-hi||seq (§5)."""

    iv_len = 8
    wireshark_enc = "AES-GCM with 16 octet ICV [RFC4106]"

    def __init__(self, keymat: bytes) -> None:
        if len(keymat) - 4 not in _AES_KEY_LENGTHS:
            raise IpsecConfigError("aead", "rfc4106 keymat must be a 16/24/32-byte AES key + 4-byte salt")
        self._keymat = keymat
        self.salt = keymat[-4:]
        self.aead = AESGCM(keymat[:-4])

    def make_iv(self, seq64: int) -> bytes:
        # RFC 4106 §3.1: the IV must not repeat under a key; the sequence number never does
        return _IV64.pack(seq64)

    def seal(self, header: bytes, esn_hi: bytes, iv: bytes, plaintext: bytes) -> bytes:
        aad = header[:4] + esn_hi + header[4:8] if esn_hi else header
        return iv + self.aead.encrypt(self.salt + iv, plaintext, aad)

    def open(self, packet: bytes, esn_hi: bytes) -> bytes:
        # packet = SPI|seq|IV|ct|tag; at least one ct block of pad-length+next-header
        if len(packet) < 8 + 8 + 2 + 16:
            raise MalformedPacket("ESP/GCM packet too short")
        aad = packet[:4] + esn_hi + packet[4:8] if esn_hi else packet[:8]
        try:
            return self.aead.decrypt(self.salt + packet[8:16], packet[16:], aad)
        except InvalidTag:
            raise IcvError("AES-GCM tag mismatch") from None

    def wireshark_keys(self) -> tuple[str, str]:
        return "0x" + self._keymat.hex(), ""


class _HmacSha256_128:
    """RFC 4868 §2.3: HMAC-SHA-256 with a 32-byte key, truncated to 128 bits."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise IpsecConfigError("auth", "hmac(sha256) key must be 32 bytes (RFC 4868 §2.1.1)")
        self.key = key
        self._template = hmac.HMAC(key, hashes.SHA256())

    def mac(self, *parts: bytes) -> bytes:
        h = self._template.copy()
        for part in parts:
            h.update(part)
        return h.finalize()[:16]


class _WithHmac(Transform):
    wireshark_auth = "HMAC-SHA-256-128 [RFC4868]"

    def __init__(self, auth_key: bytes) -> None:
        self._auth = _HmacSha256_128(auth_key)

    def _verify(self, packet: bytes, esn_hi: bytes) -> bytes:
        body = packet[:-16]
        expected = self._auth.mac(body, esn_hi)
        # RFC 4303 §3.4.4.1: ICV before decryption; constant-time compare
        if not _std_hmac.compare_digest(expected, packet[-16:]):
            raise IcvError("HMAC-SHA-256-128 ICV mismatch")
        return body


class AesCbcHmacSha256(_WithHmac):
    """RFC 3602 AES-CBC (16-byte IV in front of the ciphertext) + RFC 4868 ICV."""

    iv_len = 16
    block = 16
    wireshark_enc = "AES-CBC [RFC3602]"

    def __init__(self, enc_key: bytes, auth_key: bytes) -> None:
        if len(enc_key) not in _AES_KEY_LENGTHS:
            raise IpsecConfigError("enc", "cbc(aes) key must be 16, 24 or 32 bytes")
        super().__init__(auth_key)
        self._enc_key = enc_key
        self._aes = algorithms.AES(enc_key)

    def make_iv(self, seq64: int) -> bytes:
        return os.urandom(16)  # RFC 3602 §2.3: random, unpredictable

    def seal(self, header: bytes, esn_hi: bytes, iv: bytes, plaintext: bytes) -> bytes:
        enc = Cipher(self._aes, modes.CBC(iv)).encryptor()
        body = header + iv + enc.update(plaintext) + enc.finalize()
        # RFC 4303 §2.2.1: ESN high bits enter the ICV but are not sent
        return body[8:] + self._auth.mac(body, esn_hi)

    def open(self, packet: bytes, esn_hi: bytes) -> bytes:
        if len(packet) < 8 + 16 + 16 + 16 or (len(packet) - 8 - 16 - 16) % 16:
            raise MalformedPacket("ESP/CBC length is not IV + whole blocks + ICV")
        body = self._verify(packet, esn_hi)
        dec = Cipher(self._aes, modes.CBC(body[8:24])).decryptor()
        return dec.update(body[24:]) + dec.finalize()

    def wireshark_keys(self) -> tuple[str, str]:
        return "0x" + self._enc_key.hex(), "0x" + self._auth.key.hex()


class NullHmacSha256(_WithHmac):
    """RFC 2410 NULL encryption + RFC 4868 ICV: integrity-only signalling."""

    def seal(self, header: bytes, esn_hi: bytes, iv: bytes, plaintext: bytes) -> bytes:
        return plaintext + self._auth.mac(header, plaintext, esn_hi)

    def open(self, packet: bytes, esn_hi: bytes) -> bytes:
        if len(packet) < 8 + 2 + 16:
            raise MalformedPacket("ESP/NULL packet too short")
        return self._verify(packet, esn_hi)[8:]

    def wireshark_keys(self) -> tuple[str, str]:
        return "", "0x" + self._auth.key.hex()


def make_transform(aead: Algo | None, enc: Algo | None, auth: Algo | None) -> Transform:
    """Build the transform for an SA's `aead` or `enc`+`auth` clauses."""
    if aead is not None:
        if enc is not None or (auth is not None and auth.name not in _AUTH_NULL_ALIASES):
            raise IpsecConfigError("aead", "an AEAD SA takes no separate enc/auth (RFC 4303 §3.2)")
        if aead.name != AEAD_GCM:
            raise IpsecConfigError("aead", f"unsupported AEAD {aead.name!r}; use {AEAD_GCM}")
        if aead.icv_bits != 128:
            raise IpsecConfigError("aead", "only the 16-octet ICV (128 bits) is supported")
        return AesGcm(aead.key)
    enc_null = enc is None or enc.name in _ENC_NULL_ALIASES
    auth_null = auth is None or auth.name in _AUTH_NULL_ALIASES
    if enc_null and auth_null:
        # RFC 4303 §3.2/§5: encryption and integrity MUST NOT both be NULL
        raise IpsecConfigError("auth", "NULL encryption with NULL integrity is forbidden (RFC 4303 §3.2)")
    if auth_null:
        raise IpsecConfigError("auth", "confidentiality-only ESP is not supported; add hmac(sha256)")
    assert auth is not None
    if auth.name != AUTH_SHA256:
        raise IpsecConfigError("auth", f"unsupported integrity {auth.name!r}; use {AUTH_SHA256}")
    if auth.icv_bits != 128:
        raise IpsecConfigError("auth", "hmac(sha256) is truncated to 128 bits (RFC 4868)")
    if enc_null:
        return NullHmacSha256(auth.key)
    assert enc is not None
    if enc.name != ENC_CBC:
        raise IpsecConfigError("enc", f"unsupported encryption {enc.name!r}; use {ENC_CBC}")
    return AesCbcHmacSha256(enc.key, auth.key)

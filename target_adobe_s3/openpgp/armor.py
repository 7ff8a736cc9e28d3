"""Key input forms to binary OpenPGP: armor with its CRC24, Base64, mangled line breaks."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator

from target_adobe_s3.openpgp.errors import DAMAGED, EXPORT_HINT, PRIVATE_KEY_REFUSED, PgpKeyError
from target_adobe_s3.openpgp.packets import TAG_PUBLIC_KEY, TAG_SECRET_KEY, iter_packets

_BEGIN = re.compile(r"-----\s*BEGIN\s+([A-Z0-9 ,/]+?)\s*-----")
_B64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")
_CRC24_INIT, _CRC24_POLY = 0xB704CE, 0x1864CFB


def _crc24_table() -> tuple[int, ...]:
    """The byte-at-a-time table of the CRC-24 polynomial."""
    table = []
    for byte in range(256):
        crc = byte << 16
        for _ in range(8):
            crc = (crc << 1) ^ (_CRC24_POLY if crc & 0x800000 else 0)
        table.append(crc & 0xFFFFFF)
    return tuple(table)


_CRC24_TABLE = _crc24_table()


def crc24(data: bytes) -> int:
    """The armor checksum (RFC 4880 6.1)."""
    crc, table = _CRC24_INIT, _CRC24_TABLE
    for byte in data:
        crc = ((crc << 8) & 0xFFFFFF) ^ table[(crc >> 16) ^ byte]
    return crc


def key_bytes(key: str | bytes) -> bytes:
    """Binary OpenPGP data from any accepted form: armored, Base64 (of either), or binary."""
    if isinstance(key, bytes):
        if key[:1] and key[0] & 0x80:
            return key
        try:
            key = key.decode("utf-8")
        except UnicodeDecodeError:
            raise PgpKeyError(_not_a_key()) from None
    text = key.replace("\\r", "\n").replace("\\n", "\n").strip().strip("\"'").strip()
    if not text:
        raise PgpKeyError(f"the PGP public key is empty; {EXPORT_HINT} and paste the whole block")
    if ord(text[0]) >= 0x80 and max(map(ord, text)) < 0x100:
        return text.encode("latin-1")  # binary that went through a str
    if _BEGIN.search(text):
        return _dearmor(text)
    if text.startswith(("ssh-", "ecdsa-sha2-")):
        raise PgpKeyError(f"this is an SSH key, not an OpenPGP key; {EXPORT_HINT}")
    decoded = _b64decode("".join(text.split()))
    if decoded is None:
        raise PgpKeyError(_not_a_key())
    if decoded.lstrip().startswith(b"-----"):
        return _dearmor(decoded.decode("utf-8", "replace"))
    if first_tag(decoded) in (TAG_PUBLIC_KEY, TAG_SECRET_KEY):
        return decoded
    raise PgpKeyError(_not_a_key())


def first_tag(data: bytes) -> int | None:
    """The tag of the first packet, or None if data does not start with a packet header."""
    if not data or not data[0] & 0x80:
        return None
    return data[0] & 0x3F if data[0] & 0x40 else (data[0] >> 2) & 0x0F


def _not_a_key() -> str:
    """The message for text that is no key at all."""
    return (
        "the PGP public key is not an OpenPGP key (expected a block starting with "
        f"'-----BEGIN PGP PUBLIC KEY BLOCK-----', or its Base64); {EXPORT_HINT}"
    )


def _b64decode(text: str) -> bytes | None:
    """Strict Base64 (padding optional), or None."""
    if not text or not _B64.fullmatch(text):
        return None
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


def _dearmor(text: str) -> bytes:
    """The binary content of the first armored block, its CRC24 checked when present."""
    begin = _BEGIN.search(text)
    assert begin is not None
    label = " ".join(begin.group(1).split())
    _check_label(label)
    blocks = len(re.findall(r"BEGIN\s+PGP\s+PUBLIC\s+KEY\s+BLOCK", text))
    if blocks > 1:
        raise PgpKeyError(
            f"the PGP public key setting holds {blocks} keys; give exactly one recipient key"
        )
    end = re.compile(r"-----\s*END\s+" + r"\s+".join(label.split()) + r"\s*-----")
    end_match = end.search(text, begin.end())
    if end_match is None:
        raise PgpKeyError(
            "the armored PGP key has no '-----END PGP PUBLIC KEY BLOCK-----' line; "
            "paste the whole block"
        )
    inner = text[begin.end() : end_match.start()]
    checksum_failed = False
    for candidate in _armor_bodies(inner):
        data, crc = _split_crc(candidate)
        decoded = _b64decode(data)
        if decoded is None:
            continue
        if crc is not None:
            expected = _b64decode(crc)
            if expected is None or int.from_bytes(expected, "big") != crc24(decoded):
                checksum_failed = True
                continue
        elif not _parses(decoded):
            continue
        return decoded
    if checksum_failed:
        raise PgpKeyError(
            "the armored PGP key fails its checksum (it was changed or cut when copied); "
            f"{EXPORT_HINT} and paste it again"
        )
    raise PgpKeyError(DAMAGED)


def _check_label(label: str) -> None:
    """Refuse armored blocks that are not public keys, each with its own advice."""
    if label == "PGP PUBLIC KEY BLOCK":
        return
    if label == "PGP PRIVATE KEY BLOCK":
        raise PgpKeyError(PRIVATE_KEY_REFUSED)
    if label.startswith("PGP "):
        kind = label[4:].lower()
        raise PgpKeyError(f"this is a PGP {kind}, not a public key; {EXPORT_HINT}")
    raise PgpKeyError(f"this is a PEM key, not an OpenPGP key; {EXPORT_HINT}")


def _armor_bodies(inner: str) -> Iterator[str]:
    """Candidate Base64 bodies: by lines first, then (lost line breaks) past the headers."""
    lines = [line.strip() for line in inner.splitlines()]
    while lines and (not lines[0] or ":" in lines[0]):
        lines.pop(0)
    yield "".join("".join(lines).split())
    compact = "".join(inner.split())
    start = compact.rfind(":") + 1
    if start:
        for offset in range(start, min(len(compact), start + 1024)):
            yield compact[offset:]


def _split_crc(body: str) -> tuple[str, str | None]:
    """Split the trailing '=XXXX' checksum off an armor body."""
    if len(body) >= 5 and body[-5] == "=" and "=" not in body[-4:]:
        return body[:-5], body[-4:]
    return body, None


def _parses(data: bytes) -> bool:
    """True if data is a well-formed packet sequence starting with a key packet."""
    try:
        tags = [tag for tag, _ in iter_packets(data)]
    except PgpKeyError:
        return False
    return bool(tags) and tags[0] in (TAG_PUBLIC_KEY, TAG_SECRET_KEY)

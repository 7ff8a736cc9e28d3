"""A transferable public key (RFC 4880 11.1): its packets grouped, its self-signatures verified.

`split_cert` groups the packets of one certificate into the primary key, its direct-key
signatures, user ids and subkeys. `self_signature` finds the signature that says what the
primary key may do: the primary user id's newest verified self-certification, completed by
a direct-key signature; a certificate without user ids (as `sq key generate` makes without
`--userid`) has only its direct-key signature, as RFC 9580 5.2.3 allows.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from target_adobe_s3.openpgp.errors import (
    EXPORT_HINT,
    NEW_KEY,
    PRIVATE_KEY_REFUSED,
    PgpKeyError,
    utc_date,
)
from target_adobe_s3.openpgp.packets import (
    TAG_PUBLIC_KEY,
    TAG_PUBLIC_SUBKEY,
    TAG_SECRET_KEY,
    TAG_SECRET_SUBKEY,
    TAG_SIGNATURE,
    TAG_USER_ATTRIBUTE,
    TAG_USER_ID,
    KeyPacket,
    iter_packets,
    parse_key,
)
from target_adobe_s3.openpgp.signatures import (
    SIG_CERT_REVOCATION,
    SIG_CERTIFICATIONS,
    SIG_DIRECT_KEY,
    Signature,
    parse_signature,
    verify,
)


@dataclass
class Component:
    """A user id, user attribute or subkey with the signatures that follow it."""

    tag: int
    body: bytes
    sigs: list[Signature] = field(default_factory=list)


@dataclass
class Cert:
    """A transferable public key split into its components."""

    primary: KeyPacket
    direct: list[Signature]
    user_ids: list[Component]
    subkeys: list[Component]


def split_cert(data: bytes) -> Cert:
    """Group the packets of one transferable public key; refuse secret keys and keyrings."""
    packets = list(iter_packets(data))
    tags = [tag for tag, _ in packets]
    if TAG_SECRET_KEY in tags or TAG_SECRET_SUBKEY in tags:
        raise PgpKeyError(PRIVATE_KEY_REFUSED)
    if not tags or tags[0] != TAG_PUBLIC_KEY:
        raise PgpKeyError(f"the data holds no OpenPGP public key; {EXPORT_HINT}")
    if tags.count(TAG_PUBLIC_KEY) > 1:
        count = tags.count(TAG_PUBLIC_KEY)
        raise PgpKeyError(
            f"the PGP public key setting holds {count} keys; give exactly one recipient key"
        )
    cert = Cert(parse_key(packets[0][1]), [], [], [])
    current: Component | None = None
    for tag, body in packets[1:]:
        if tag in (TAG_USER_ID, TAG_USER_ATTRIBUTE, TAG_PUBLIC_SUBKEY):
            current = Component(tag, body)
            (cert.subkeys if tag == TAG_PUBLIC_SUBKEY else cert.user_ids).append(current)
        elif tag == TAG_SIGNATURE:
            sig = parse_signature(body)
            if sig is not None:
                (current.sigs if current else cert.direct).append(sig)
    return cert


def verified(sig: Signature, primary: KeyPacket, signed: bytes, *types: int) -> bool:
    """True if sig has one of the types and verifies by the primary over its key + signed."""
    return sig.sig_type in types and verify(sig, primary, primary.hash_prefix() + signed)


def self_signature(cert: Cert, now: int) -> tuple[str, Signature]:
    """The user id for messages ("" if none) and the signature giving the primary's flags.

    That is the primary user id's self-signature, completed by a direct-key signature; a
    certificate without user ids has only the direct-key signature (RFC 9580 5.2.3).
    """
    if any(component.tag == TAG_USER_ID for component in cert.user_ids):
        uid, self_sig = _primary_user_id(cert, now)
        return uid, _with_direct_key_sig(self_sig, cert, now)
    return "", _direct_key_sig(cert, now)


def _direct_key_sig(cert: Cert, now: int) -> Signature:
    """The newest verified direct-key signature of a certificate without user ids."""
    fpr = cert.primary.fingerprint.hex().upper()
    valid = [s for s in cert.direct if verified(s, cert.primary, b"", SIG_DIRECT_KEY)]
    if not valid:
        if any(s.sig_type == SIG_DIRECT_KEY for s in cert.direct):
            raise PgpKeyError(
                f"key {fpr} has no user id and its direct-key signature does not verify (the "
                f"key was damaged or tampered with); {EXPORT_HINT} again"
            )
        raise PgpKeyError(
            f"key {fpr} has no user id and no direct-key signature, so nothing says what it "
            "may do (key servers strip unverified user ids); "
            f"{EXPORT_HINT} from the recipient's own keyring or key file"
        )
    newest = max(valid, key=lambda s: s.created)
    if newest.expired(now):
        raise PgpKeyError(
            f"key {fpr} (no user id) expired on "
            f"{utc_date(newest.created + (newest.expires or 0))} "
            f"(its direct-key signature did); ask the recipient to {NEW_KEY} and send its "
            "public key"
        )
    return newest


def _primary_user_id(cert: Cert, now: int) -> tuple[str, Signature]:
    """The primary (else first) valid user id and its newest verified self-certification."""
    valid: list[tuple[str, Signature]] = []
    for component in cert.user_ids:
        if component.tag != TAG_USER_ID:
            continue
        signed = b"\xb4" + len(component.body).to_bytes(4, "big") + component.body
        certs = [
            s for s in component.sigs if verified(s, cert.primary, signed, *SIG_CERTIFICATIONS)
        ]
        if not certs:
            continue
        newest = max(certs, key=lambda s: s.created)
        revoked = any(
            s.created >= newest.created and verified(s, cert.primary, signed, SIG_CERT_REVOCATION)
            for s in component.sigs
        )
        if not revoked and not newest.expired(now):
            valid.append((component.body.decode("utf-8", "replace"), newest))
    if not valid:
        raise PgpKeyError(
            "the PGP public key's user id signature does not verify (the key was damaged or "
            f"tampered with, or its user ids are revoked or expired); {EXPORT_HINT} again"
        )
    flagged = [pair for pair in valid if pair[1].primary_uid]
    if flagged:
        return max(flagged, key=lambda pair: pair[1].created)
    return valid[0]


def _with_direct_key_sig(self_sig: Signature, cert: Cert, now: int) -> Signature:
    """The user id self-signature, its missing key flags and expiry taken from a direct sig."""
    direct = [
        s
        for s in cert.direct
        if not s.expired(now) and verified(s, cert.primary, b"", SIG_DIRECT_KEY)
    ]
    if not direct:
        return self_sig
    newest = max(direct, key=lambda s: s.created)
    return replace(
        self_sig,
        key_flags=newest.key_flags if self_sig.key_flags is None else self_sig.key_flags,
        key_expires=self_sig.key_expires or newest.key_expires,
    )

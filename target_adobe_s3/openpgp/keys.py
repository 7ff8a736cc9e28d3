"""Choosing the encryption key of a transferable public key as gpg does (RFC 4880 11.1).

Self-signatures are verified; validity, expiry, revocation and key flags decide the choice.
A certificate without user ids (as `sq key generate` makes without `--userid`) is accepted
when its direct-key signature verifies: the primary key's expiry and flags then come from
that signature, as RFC 9580 5.2.3 allows (the subkeys' from their binding signatures).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timezone

from target_adobe_s3.openpgp.packets import (
    ALGO_ECDH,
    ALGO_ELGAMAL,
    ALGO_ELGAMAL_OLD,
    ALGO_RSA,
    ALGO_RSA_E,
    EXPORT_HINT,
    PRIVATE_KEY_REFUSED,
    TAG_PUBLIC_KEY,
    TAG_PUBLIC_SUBKEY,
    TAG_SECRET_KEY,
    TAG_SECRET_SUBKEY,
    TAG_SIGNATURE,
    TAG_USER_ATTRIBUTE,
    TAG_USER_ID,
    KeyPacket,
    PgpKeyError,
    iter_packets,
    parse_key,
)
from target_adobe_s3.openpgp.session import can_wrap
from target_adobe_s3.openpgp.signatures import (
    SIG_CERT_REVOCATION,
    SIG_CERTIFICATIONS,
    SIG_DIRECT_KEY,
    SIG_KEY_REVOCATION,
    SIG_SUBKEY_BINDING,
    SIG_SUBKEY_REVOCATION,
    Signature,
    parse_signature,
    verify,
)

FLAG_ENCRYPT = 0x04 | 0x08  # key flags: encrypt communications, encrypt storage
# What sq and rnp users can do where gpg changes the key (gpg cannot import one without user id).
NEW_KEY = "make a new key (`sq key generate` or `rnpkeys --generate-key`)"


@dataclass
class _Component:
    """A user id, user attribute or subkey with the signatures that follow it."""

    tag: int
    body: bytes
    sigs: list[Signature] = field(default_factory=list)


@dataclass
class _Cert:
    """A transferable public key split into its components."""

    primary: KeyPacket
    direct: list[Signature]
    user_ids: list[_Component]
    subkeys: list[_Component]


@dataclass(frozen=True)
class Choice:
    """The key chosen for encryption, with what the logs show about its owner."""

    key: KeyPacket
    primary: KeyPacket
    user_id: str


def split_cert(data: bytes) -> _Cert:
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
    cert = _Cert(parse_key(packets[0][1]), [], [], [])
    current: _Component | None = None
    for tag, body in packets[1:]:
        if tag in (TAG_USER_ID, TAG_USER_ATTRIBUTE, TAG_PUBLIC_SUBKEY):
            current = _Component(tag, body)
            (cert.subkeys if tag == TAG_PUBLIC_SUBKEY else cert.user_ids).append(current)
        elif tag == TAG_SIGNATURE:
            sig = parse_signature(body)
            if sig is not None:
                (current.sigs if current else cert.direct).append(sig)
    return cert


def choose_key(data: bytes, now: datetime | None = None) -> Choice:
    """Verify the key's self-signatures and choose the encryption key, or raise PgpKeyError."""
    cert = split_cert(data)
    now = now or datetime.now(timezone.utc)
    when = int((now if now.tzinfo else now.replace(tzinfo=timezone.utc)).timestamp())
    primary = cert.primary
    label = f"key {primary.fingerprint.hex().upper()}"
    if any(_verified(s, primary, b"", SIG_KEY_REVOCATION) for s in cert.direct):
        raise PgpKeyError(f"{label} is revoked; ask the recipient for their current public key")
    uid, self_sig = _self_signature(cert, when)
    label = f"{label} ({uid or 'no user id'})"
    _check_expiry(label, primary, self_sig, when, bool(uid))
    candidates: list[KeyPacket] = []
    problems: list[str] = []
    for subkey in cert.subkeys:
        key, problem = _check_subkey(primary, subkey, when)
        if key is not None:
            candidates.append(key)
        elif problem:
            problems.append(problem)
    if candidates:
        best = max(enumerate(candidates), key=lambda pair: (pair[1].created, pair[0]))[1]
        return Choice(best, primary, uid)
    if _can_encrypt(primary, self_sig.key_flags) and can_wrap(primary):
        return Choice(primary, primary, uid)
    raise PgpKeyError(_no_key_message(label, primary, self_sig, problems, bool(uid)))


def _verified(sig: Signature, primary: KeyPacket, signed: bytes, *types: int) -> bool:
    """True if sig has one of the types and verifies by the primary over its key + signed."""
    return sig.sig_type in types and verify(sig, primary, primary.hash_prefix() + signed)


def _self_signature(cert: _Cert, now: int) -> tuple[str, Signature]:
    """The user id for messages ("" if none) and the signature giving the primary's flags.

    That is the primary user id's self-signature, completed by a direct-key signature; a
    certificate without user ids has only the direct-key signature (RFC 9580 5.2.3).
    """
    if any(component.tag == TAG_USER_ID for component in cert.user_ids):
        uid, self_sig = _primary_user_id(cert, now)
        return uid, _with_direct_key_sig(self_sig, cert, now)
    return "", _direct_key_sig(cert, now)


def _direct_key_sig(cert: _Cert, now: int) -> Signature:
    """The newest verified direct-key signature of a certificate without user ids."""
    fpr = cert.primary.fingerprint.hex().upper()
    verified = [s for s in cert.direct if _verified(s, cert.primary, b"", SIG_DIRECT_KEY)]
    if not verified:
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
    newest = max(verified, key=lambda s: s.created)
    if newest.expired(now):
        raise PgpKeyError(
            f"key {fpr} (no user id) expired on {_date(newest.created + (newest.expires or 0))} "
            f"(its direct-key signature did); ask the recipient to {NEW_KEY} and send its "
            "public key"
        )
    return newest


def _primary_user_id(cert: _Cert, now: int) -> tuple[str, Signature]:
    """The primary (else first) valid user id and its newest verified self-certification."""
    valid: list[tuple[str, Signature]] = []
    for component in cert.user_ids:
        if component.tag != TAG_USER_ID:
            continue
        signed = b"\xb4" + len(component.body).to_bytes(4, "big") + component.body
        certs = [
            s for s in component.sigs if _verified(s, cert.primary, signed, *SIG_CERTIFICATIONS)
        ]
        if not certs:
            continue
        newest = max(certs, key=lambda s: s.created)
        revoked = any(
            s.created >= newest.created and _verified(s, cert.primary, signed, SIG_CERT_REVOCATION)
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


def _with_direct_key_sig(self_sig: Signature, cert: _Cert, now: int) -> Signature:
    """The user id self-signature, its missing key flags and expiry taken from a direct sig."""
    direct = [
        s
        for s in cert.direct
        if not s.expired(now) and _verified(s, cert.primary, b"", SIG_DIRECT_KEY)
    ]
    if not direct:
        return self_sig
    newest = max(direct, key=lambda s: s.created)
    return replace(
        self_sig,
        key_flags=newest.key_flags if self_sig.key_flags is None else self_sig.key_flags,
        key_expires=self_sig.key_expires or newest.key_expires,
    )


def _check_expiry(label: str, key: KeyPacket, sig: Signature, now: int, has_uid: bool) -> None:
    """Refuse a primary key whose self-signature says it has expired."""
    if sig.key_expires and now >= key.created + sig.key_expires:
        extend = f"extend it (`gpg --quick-set-expire {key.fingerprint.hex().upper()} 1y`)"
        raise PgpKeyError(
            f"{label} expired on {_date(key.created + sig.key_expires)}; ask the recipient to "
            f"{_remedy(has_uid, extend)} and send the exported public key again"
        )


def _check_subkey(primary: KeyPacket, subkey: _Component, now: int) -> tuple[KeyPacket | None, str]:
    """(the subkey if usable for encryption, else None and why when it is an encryption key)."""
    try:
        key = parse_key(subkey.body)
    except PgpKeyError:
        return None, ""
    signed = key.hash_prefix()
    bindings = [s for s in subkey.sigs if _verified(s, primary, signed, SIG_SUBKEY_BINDING)]
    if not bindings:
        return None, "bad-binding" if _can_encrypt(key, None) else ""
    binding = max(bindings, key=lambda s: s.created)
    if not _can_encrypt(key, binding.key_flags):
        return None, ""
    if any(_verified(s, primary, signed, SIG_SUBKEY_REVOCATION) for s in subkey.sigs):
        return None, "revoked"
    if binding.expired(now) or (binding.key_expires and now >= key.created + binding.key_expires):
        return None, f"expired:{key.created + (binding.key_expires or 0)}"
    if key.algo in (ALGO_ELGAMAL, ALGO_ELGAMAL_OLD):
        return None, "elgamal"
    if not can_wrap(key):
        return None, f"unsupported:{key.name}"
    return key, ""


def _can_encrypt(key: KeyPacket, flags: int | None) -> bool:
    """True if key flags allow encryption, or without flags, if the algorithm encrypts."""
    if flags is not None:
        return bool(flags & FLAG_ENCRYPT)
    return key.algo in (ALGO_RSA, ALGO_RSA_E, ALGO_ECDH, ALGO_ELGAMAL, ALGO_ELGAMAL_OLD)


def _no_key_message(
    label: str, primary: KeyPacket, sig: Signature, problems: list[str], has_uid: bool
) -> str:
    """Why no key can be used, and what the recipient should do about it."""
    fpr = primary.fingerprint.hex().upper()
    add = f"add an encryption subkey (`gpg --quick-add-key {fpr} cv25519 encr`, or rsa3072)"
    add_supported = add.replace("an encryption", "an RSA or Curve25519 encryption")
    again = "and send the exported public key again"
    if "elgamal" in problems or primary.algo in (ALGO_ELGAMAL, ALGO_ELGAMAL_OLD):
        return (
            f"{label}: ElGamal encryption keys are not supported; ask the recipient to "
            f"{_remedy(has_uid, add_supported)} {again}"
        )
    expired = [int(p.split(":")[1]) for p in problems if p.startswith("expired:")]
    if expired:
        extend = f"extend it (`gpg --quick-set-expire {fpr} 1y '*'`)"
        return (
            f"{label}: its encryption subkey expired on {_date(max(expired))}; ask the "
            f"recipient to {_remedy(has_uid, extend, add)} {again}"
        )
    if "revoked" in problems:
        return (
            f"{label}: its encryption subkeys are revoked; ask the recipient to "
            f"{_remedy(has_uid, add)} {again}"
        )
    if "bad-binding" in problems:
        return (
            f"{label}: the signature binding its encryption subkey does not verify (the key "
            f"was damaged or tampered with); {EXPORT_HINT} again"
        )
    unsupported = [p.split(":", 1)[1] for p in problems if p.startswith("unsupported:")]
    if unsupported or _can_encrypt(primary, sig.key_flags):
        name = unsupported[0] if unsupported else primary.name
        return (
            f"{label}: its encryption key uses {name}, which is not supported; ask the "
            f"recipient to {_remedy(has_uid, add_supported)} {again}"
        )
    return (
        f"{label} has no encryption key (it can only sign or certify); ask the recipient to "
        f"{_remedy(has_uid, add)} {again}"
    )


def _remedy(has_uid: bool, *gpg_fixes: str) -> str:
    """The fixes gpg offers, then a new key (sq, rnp); only the new key without a user id."""
    steps = [*gpg_fixes, NEW_KEY] if has_uid else [NEW_KEY]
    return steps[0] if len(steps) == 1 else ", ".join(steps[:-1]) + " or " + steps[-1]


def _date(timestamp: int) -> str:
    """A UTC date for messages."""
    return datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%d")

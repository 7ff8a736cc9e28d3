"""Choosing the encryption key of a transferable public key as gpg does (RFC 4880 11.1).

Self-signatures are verified (see `certificate`); validity, expiry, revocation and key flags
decide the choice. A certificate without user ids is accepted when its direct-key signature
verifies: the primary key's expiry and flags then come from that signature, as RFC 9580
5.2.3 allows (the subkeys' from their binding signatures). When no key can be used, the
message says why and what the recipient can do about it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from target_adobe_s3.openpgp.certificate import Component, self_signature, split_cert, verified
from target_adobe_s3.openpgp.errors import EXPORT_HINT, NEW_KEY, PgpKeyError, utc_date
from target_adobe_s3.openpgp.packets import (
    ALGO_ECDH,
    ALGO_ELGAMAL,
    ALGO_ELGAMAL_OLD,
    ALGO_RSA,
    ALGO_RSA_E,
    KeyPacket,
    parse_key,
)
from target_adobe_s3.openpgp.session import can_wrap
from target_adobe_s3.openpgp.signatures import (
    SIG_KEY_REVOCATION,
    SIG_SUBKEY_BINDING,
    SIG_SUBKEY_REVOCATION,
    Signature,
)

FLAG_ENCRYPT = 0x04 | 0x08  # key flags: encrypt communications, encrypt storage


@dataclass(frozen=True)
class Choice:
    """The key chosen for encryption, with what the logs show about its owner."""

    key: KeyPacket
    primary: KeyPacket
    user_id: str


def choose_key(data: bytes, now: datetime | None = None) -> Choice:
    """Verify the key's self-signatures and choose the encryption key, or raise PgpKeyError."""
    cert = split_cert(data)
    now = now or datetime.now(timezone.utc)
    when = int((now if now.tzinfo else now.replace(tzinfo=timezone.utc)).timestamp())
    primary = cert.primary
    label = f"key {primary.fingerprint.hex().upper()}"
    if any(verified(s, primary, b"", SIG_KEY_REVOCATION) for s in cert.direct):
        raise PgpKeyError(f"{label} is revoked; ask the recipient for their current public key")
    uid, self_sig = self_signature(cert, when)
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


def _check_expiry(label: str, key: KeyPacket, sig: Signature, now: int, has_uid: bool) -> None:
    """Refuse a primary key whose self-signature says it has expired."""
    if sig.key_expires and now >= key.created + sig.key_expires:
        extend = f"extend it (`gpg --quick-set-expire {key.fingerprint.hex().upper()} 1y`)"
        raise PgpKeyError(
            f"{label} expired on {utc_date(key.created + sig.key_expires)}; ask the recipient to "
            f"{_remedy(has_uid, extend)} and send the exported public key again"
        )


def _check_subkey(primary: KeyPacket, subkey: Component, now: int) -> tuple[KeyPacket | None, str]:
    """(the subkey if usable for encryption, else None and why when it is an encryption key)."""
    try:
        key = parse_key(subkey.body)
    except PgpKeyError:
        return None, ""
    signed = key.hash_prefix()
    bindings = [s for s in subkey.sigs if verified(s, primary, signed, SIG_SUBKEY_BINDING)]
    if not bindings:
        return None, "bad-binding" if _can_encrypt(key, None) else ""
    binding = max(bindings, key=lambda s: s.created)
    if not _can_encrypt(key, binding.key_flags):
        return None, ""
    if any(verified(s, primary, signed, SIG_SUBKEY_REVOCATION) for s in subkey.sigs):
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
            f"{label}: its encryption subkey expired on {utc_date(max(expired))}; ask the "
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

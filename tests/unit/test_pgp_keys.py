"""load_recipient: every input form, gpg's key choice, and every refusal with its message."""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from target_adobe_s3.openpgp import EncryptingWriter, PgpKeyError, Recipient, load_recipient
from target_adobe_s3.openpgp.armor import crc24
from target_adobe_s3.openpgp.packets import iter_packets, packet
from tests.support.gpg import KEY_KINDS, GpgHome

PAST = "20200101T000000"  # gpg --faked-system-time


def armor(data: bytes, label: str = "PGP PUBLIC KEY BLOCK", headers: str = "") -> str:
    """ASCII armor as gpg writes it."""
    body = base64.b64encode(data).decode()
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    crc = base64.b64encode(crc24(data).to_bytes(3, "big")).decode()
    return "\n".join(
        [f"-----BEGIN {label}-----", headers, *lines, f"={crc}", f"-----END {label}-----", ""]
    )


def refused(key: str | bytes, now: datetime | None = None) -> str:
    """The PgpKeyError message for a key, checked to be one line."""
    with pytest.raises(PgpKeyError) as info:
        load_recipient(key, now)
    message = str(info.value)
    assert "\n" not in message
    assert isinstance(info.value, ValueError)
    return message


def round_trip(gpg_keys: Any, recipient: Recipient) -> None:
    """Encrypt a few bytes to the recipient and decrypt with gpg."""
    sink = io.BytesIO()
    sink.close = lambda: None  # type: ignore[method-assign]
    with EncryptingWriter(sink, recipient, "t.txt") as enc:
        enc.write(b"hello\n" * 1000)
    result = gpg_keys.decrypt(sink.getvalue())
    assert result.ok, result.status
    assert result.plaintext == b"hello\n" * 1000


# --- input forms -----------------------------------------------------------------------------


def forms(armored: str, binary: bytes) -> dict[str, str | bytes]:
    """Every way a user may give the key."""
    lines = armored.splitlines()
    return {
        "armored": armored,
        "armored bytes": armored.encode(),
        "base64 of armored": base64.b64encode(armored.encode()).decode(),
        "base64 of binary": base64.b64encode(binary).decode(),
        "base64 of binary, wrapped": "\n".join(
            re.findall(".{1,76}", base64.b64encode(binary).decode())
        ),
        "binary": binary,
        "newlines as spaces": " ".join(lines),
        "newlines lost": "".join(lines),
        "literal \\n escapes": "\\n".join(lines),
        "CRLF and indent": "\r\n".join("   " + line for line in lines),
        "json quoted": '"' + "\\n".join(lines) + '"',
        "no checksum line": "\n".join(line for line in lines if not re.fullmatch("=....", line)),
    }


@pytest.mark.parametrize("kind", list(KEY_KINDS))
def test_every_form_gives_the_same_recipient(gpg_keys: Any, kind: str) -> None:
    expected = load_recipient(gpg_keys.public[kind])
    for name, key in forms(gpg_keys.public[kind], gpg_keys.binary(kind)).items():
        assert load_recipient(key) == expected, name


@pytest.mark.parametrize(
    "form", list(forms("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n=abcd\n", b"").keys())
)
def test_every_form_round_trips(gpg_keys: Any, form: str) -> None:
    key = forms(gpg_keys.public["rsa_subkey"], gpg_keys.binary("rsa_subkey"))[form]
    round_trip(gpg_keys, load_recipient(key))


def test_armor_headers_survive_lost_line_breaks(gpg_keys: Any) -> None:
    binary = gpg_keys.binary("cv25519")
    headers = "Comment: https://example.com/keys: Alice's key\nVersion: GnuPG v2\n"
    armored = armor(binary, headers=headers)
    expected = load_recipient(binary)
    assert load_recipient(armored) == expected
    assert load_recipient(" ".join(armored.splitlines())) == expected
    assert load_recipient("".join(armored.splitlines())) == expected


@pytest.mark.parametrize(
    ("kind", "algorithm", "subkey"),
    [
        ("rsa_subkey", "RSA-3072", True),
        ("rsa_primary", "RSA-3072", False),
        ("cv25519", "ECDH Curve25519", True),
        ("p256", "ECDH NIST P-256", True),
        ("p384", "ECDH NIST P-384", True),
        ("p521", "ECDH NIST P-521", True),
        ("brainpool", "ECDH brainpoolP384r1", True),
    ],
)
def test_chosen_key(gpg_keys: Any, kind: str, algorithm: str, subkey: bool) -> None:
    recipient = load_recipient(gpg_keys.public[kind])
    primary, *subkeys = gpg_keys.fingerprints[kind]
    assert recipient.fingerprint == (subkeys[0] if subkey else primary)
    assert recipient.primary_fingerprint == primary
    assert recipient.key_id == recipient.fingerprint[-16:]
    assert recipient.algorithm == algorithm
    assert recipient.user_id == f"{kind} <{kind}@example.com>"
    assert "_key" not in repr(recipient)


# --- keys made for the cases -----------------------------------------------------------------


@pytest.fixture(scope="module")
def made() -> Iterator[dict[str, Any]]:
    """Special keys from real gpg: expired, revoked, signing-only, ElGamal, several subkeys."""
    gpg = GpgHome()
    out: dict[str, Any] = {"gpg": gpg}

    def key(name: str, algo: str, usage: str, expire: str = "never", when: str = "") -> str:
        fpr = gpg.generate(f"{name} <{name}@example.com>", algo, usage, expire, faked_time=when)
        out[f"{name}_fpr"] = fpr
        return fpr

    def sub(fpr: str, algo: str = "cv25519", expire: str = "never", when: str = "") -> str:
        return gpg.add_subkey(fpr, algo, "encr", expire, faked_time=when)

    key("signonly", "ed25519", "sign")
    sub(key("expired", "ed25519", "sign,cert", "1d", PAST), when="20200101T000100")
    sub(key("subexpired", "ed25519", "sign,cert", "never", PAST), expire="1d", when=PAST)
    sub(key("yearly", "ed25519", "sign,cert", "1y"), expire="2y")
    fpr = key("several", "ed25519", "sign,cert", "never", PAST)
    out["older"] = sub(fpr, when="20210101T000000")
    out["newest"] = sub(fpr, "rsa2048", when="20220101T000000")
    fpr = key("newexpired", "ed25519", "sign,cert", "never", PAST)
    out["valid_older"] = sub(fpr, when="20210101T000000")
    sub(fpr, "rsa2048", expire="1d", when="20220101T000000")
    fpr = key("revoked", "ed25519", "sign,cert")
    sub(fpr)
    gpg.import_key(gpg.revocation_certificate(fpr))
    fpr = key("subrevoked", "ed25519", "sign,cert")
    sub(fpr)
    gpg.revoke_subkey(fpr)
    sub(key("elgamal", "dsa2048", "sign,cert"), "elg2048")
    for name in [k[:-4] for k in list(out) if k.endswith("_fpr")]:
        out[name] = gpg.export(out[f"{name}_fpr"]).decode()
    out["secret"] = gpg.export_secret(out["yearly_fpr"])
    out["secret_binary"] = gpg.export_secret(out["yearly_fpr"], armor=False)
    yield out
    gpg.close()


def test_signing_only_key_refused(made: dict[str, Any]) -> None:
    message = refused(made["signonly"])
    assert "has no encryption key (it can only sign or certify)" in message
    assert "add an encryption subkey" in message
    assert "gpg --quick-add-key" in message
    assert made["signonly_fpr"] in message


def test_expired_primary_refused(made: dict[str, Any]) -> None:
    message = refused(made["expired"])
    assert "expired on 2020-01-02" in message
    assert "extend it" in message
    assert "--quick-set-expire" in message


def test_expired_subkey_refused(made: dict[str, Any]) -> None:
    message = refused(made["subexpired"])
    assert "encryption subkey expired on 2020-01-02" in message
    assert "--quick-set-expire" in message


def test_expiry_judged_at_the_given_time(gpg_keys: Any, made: dict[str, Any]) -> None:
    now = datetime.now(timezone.utc)
    assert load_recipient(made["yearly"], now + timedelta(days=300)).algorithm == "ECDH Curve25519"
    assert "expired on" in refused(made["yearly"], now + timedelta(days=400))
    naive = (now + timedelta(days=400)).replace(tzinfo=None)
    assert "expired on" in refused(made["yearly"], naive)
    # the rsa keys never expire
    assert load_recipient(gpg_keys.public["rsa_subkey"], now + timedelta(days=36500))


def test_newest_valid_subkey_chosen(made: dict[str, Any]) -> None:
    recipient = load_recipient(made["several"])
    assert recipient.fingerprint == made["newest"]
    assert recipient.algorithm == "RSA-2048"
    assert load_recipient(made["newexpired"]).fingerprint == made["valid_older"]


def test_revoked_key_refused(made: dict[str, Any]) -> None:
    message = refused(made["revoked"])
    assert "is revoked" in message
    assert "current public key" in message


def test_revoked_subkey_refused(made: dict[str, Any]) -> None:
    message = refused(made["subrevoked"])
    assert "encryption subkeys are revoked" in message
    assert "add an encryption subkey" in message


def test_elgamal_refused(made: dict[str, Any]) -> None:
    message = refused(made["elgamal"])
    assert (
        "ElGamal encryption keys are not supported; ask the recipient to add an RSA or "
        "Curve25519 encryption subkey" in message
    )


@pytest.mark.parametrize("form", ["secret", "secret_binary"])
def test_secret_key_refused(made: dict[str, Any], form: str) -> None:
    key = made[form]
    message = refused(key)
    assert "secret (private) key" in message
    assert "PUBLIC key" in message
    if isinstance(key, bytes) and key[0] & 0x80:
        assert "secret (private) key" in refused(base64.b64encode(key).decode())


def test_version_6_key_refused() -> None:
    v6 = packet(
        6,
        b"\x06"
        + (1_700_000_000).to_bytes(4, "big")
        + b"\x1b"
        + (32).to_bytes(4, "big")
        + bytes(32),
    )
    expected = (
        "version 6 keys are not supported yet; export a version 4 key (what gpg, sq and rnp "
        "make by default)"
    )
    assert refused(v6) == expected
    assert refused(armor(v6)) == expected
    assert refused(base64.b64encode(v6).decode()) == expected


@pytest.mark.parametrize(
    "fmt", [serialization.PublicFormat.SubjectPublicKeyInfo, serialization.PublicFormat.PKCS1]
)
def test_pem_key_refused(fmt: serialization.PublicFormat) -> None:
    pem = (
        rsa.generate_private_key(65537, 2048)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, fmt)
    )
    message = refused(pem.decode())
    assert message == (
        "this is a PEM key, not an OpenPGP key; export the recipient's public key with "
        "`gpg --armor --export <email>`, `sq key extract-cert <key file>` (sq 1.x: "
        "`sq cert export --cert <fingerprint>`) or `rnpkeys --export-key <email>`"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "is empty"),
        ("   \n\t ", "is empty"),
        (b"", "is empty"),
        ("hello world", "not an OpenPGP key"),
        ("mQINBGV", "damaged"),
        ("aGVsbG8gd29ybGQ=", "not an OpenPGP key"),
        (b"\x00\x01garbage", "not an OpenPGP key"),
        (b"\x99\x01\x0d\x04", "damaged"),
        ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample user@host", "SSH key"),
        (
            "-----BEGIN PGP MESSAGE-----\n\nhQ==\n-----END PGP MESSAGE-----",
            "PGP message, not a public key",
        ),
        (
            "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQINBGV",
            "no '-----END PGP PUBLIC KEY BLOCK-----' line",
        ),
    ],
)
def test_garbage_refused(text: str | bytes, expected: str) -> None:
    message = refused(text)
    assert expected in message
    assert "gpg --armor --export" in message or "paste" in message


NEW_KEY = "make a new key (`sq key generate` or `rnpkeys --generate-key`)"
EXPORTS = (
    "`gpg --armor --export <email>`",
    "`sq key extract-cert <key file>`",
    "`sq cert export --cert <fingerprint>`",
    "`rnpkeys --export-key <email>`",
)


@pytest.mark.parametrize("name", ["signonly", "expired", "subexpired", "subrevoked", "elgamal"])
def test_refusals_to_change_the_key_speak_to_sq_and_rnp_users(
    made: dict[str, Any], name: str
) -> None:
    message = refused(made[name])
    assert "`gpg --quick-" in message
    assert f" or {NEW_KEY} and send the exported public key again" in message


@pytest.mark.parametrize(
    "key",
    [
        "secret",
        "-----BEGIN PUBLIC KEY-----\nMFww\n-----END PUBLIC KEY-----",
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample user@host",
        "-----BEGIN PGP MESSAGE-----\n\nhQ==\n-----END PGP MESSAGE-----",
        "hello world",
        "",
        "mQINBGV",
    ],
)
def test_refusals_to_export_again_name_every_tool(made: dict[str, Any], key: str) -> None:
    message = refused(made.get(key, key))
    for command in EXPORTS:
        assert command in message


def test_key_server_copy_without_user_id_refused(gpg_keys: Any) -> None:
    """Key servers strip user ids; a v4 key with neither user id nor direct-key signature."""
    parts = packets_of(gpg_keys.binary("cv25519"))
    uid = next(i for i, (tag, _) in enumerate(parts) if tag == 13)
    stripped = rebuild(parts[:uid] + parts[uid + 2 :])
    message = refused(stripped)
    fpr = gpg_keys.fingerprints["cv25519"][0]
    assert message.startswith(f"key {fpr} has no user id and no direct-key signature")
    assert message.endswith("from the recipient's own keyring or key file")
    for command in EXPORTS:
        assert command in message


def test_two_keys_refused(gpg_keys: Any) -> None:
    both = gpg_keys.binary("cv25519") + gpg_keys.binary("p256")
    assert "holds 2 keys; give exactly one" in refused(both)
    assert "holds 2 keys" in refused(gpg_keys.public["cv25519"] + gpg_keys.public["p256"])


# --- tampering -------------------------------------------------------------------------------


def packets_of(binary: bytes) -> list[tuple[int, bytes]]:
    return list(iter_packets(binary))


def rebuild(parts: list[tuple[int, bytes]]) -> bytes:
    return b"".join(packet(tag, body) for tag, body in parts)


def test_new_format_rebuild_still_loads(gpg_keys: Any) -> None:
    binary = gpg_keys.binary("rsa_subkey")
    assert load_recipient(rebuild(packets_of(binary))) == load_recipient(binary)


def test_tampered_user_id_refused(gpg_keys: Any) -> None:
    parts = packets_of(gpg_keys.binary("cv25519"))
    parts = [
        (tag, body.replace(b"cv25519@", b"cv25518@")) if tag == 13 else (tag, body)
        for tag, body in parts
    ]
    assert "user id signature does not verify" in refused(rebuild(parts))


@pytest.mark.parametrize("kind", ["rsa_subkey", "cv25519", "p256"])
@pytest.mark.parametrize("where", ["value", "hashed", "left16"])
def test_tampered_signatures_refused(gpg_keys: Any, kind: str, where: str) -> None:
    parts = packets_of(gpg_keys.binary(kind))
    for index in [i for i, (tag, _) in enumerate(parts) if tag == 2]:
        tag, body = parts[index]
        hashed_len = int.from_bytes(body[4:6], "big")
        unhashed_len = int.from_bytes(body[6 + hashed_len : 8 + hashed_len], "big")
        offset = {
            "value": len(body) - 3,
            "hashed": 8,  # the first hashed subpacket's data
            "left16": 8 + hashed_len + unhashed_len,
        }[where]
        broken = bytearray(body)
        broken[offset] ^= 0x10
        tampered = [*parts[:index], (tag, bytes(broken)), *parts[index + 1 :]]
        message = refused(rebuild(tampered))
        assert "does not verify" in message
        assert "tampered" in message


def test_forged_subkey_refused(gpg_keys: Any) -> None:
    """An attacker's encryption subkey and binding grafted onto the victim's primary key."""
    victim = packets_of(gpg_keys.binary("rsa_subkey"))
    attacker = packets_of(gpg_keys.binary("cv25519"))
    primary_and_uid = victim[: next(i for i, (tag, _) in enumerate(victim) if tag == 14)]
    subkey = attacker[next(i for i, (tag, _) in enumerate(attacker) if tag == 14) :]
    message = refused(rebuild(primary_and_uid + subkey))
    assert "binding its encryption subkey does not verify" in message


def test_grafted_user_id_refused(gpg_keys: Any) -> None:
    """Someone else's user id and certification in front of a key do not make it valid."""
    victim = packets_of(gpg_keys.binary("p256"))
    other = packets_of(gpg_keys.binary("p384"))
    uid_other = [(tag, body) for tag, body in other if tag in (13,)] + [other[2]]
    forged = victim[:1] + uid_other + victim[3:]
    assert "user id signature does not verify" in refused(rebuild(forged))


def test_changed_armor_refused_by_checksum(gpg_keys: Any) -> None:
    lines = gpg_keys.public["rsa_subkey"].splitlines()
    index = 5
    changed = lines[index][:10] + ("A" if lines[index][10] != "A" else "B") + lines[index][11:]
    lines[index] = changed
    message = refused("\n".join(lines))
    assert "fails its checksum" in message

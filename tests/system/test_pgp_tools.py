"""Keys from Sequoia's sq and from rnp, and both as decryptors of the target's files.

The CLI exports to the local S3 server; the real `sq decrypt` and `rnp --decrypt` must give
back exactly the rows that were sent (and the bytes gpg gives). Needs sq and rnp
(`scripts/ensure-pgp-tools.sh`): skipped without them, failed under CI.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from target_adobe_s3.openpgp.armor import key_bytes
from target_adobe_s3.openpgp.packets import TAG_SIGNATURE, TAG_USER_ID, iter_packets, packet
from target_adobe_s3.openpgp.signatures import SIG_DIRECT_KEY
from tests.support.helpers import (
    export_and_take,
    objects,
    record_message,
    rows_by_segment,
    run_with_stdin_open,
    schema_message,
    sent_by_segment,
    singer_text,
)
from tests.support.pgp_tools import RnpHome, SqKey, require, sq_decrypt

SCHEMA = {
    "type": "object",
    "properties": {"segment_id": {"type": "string"}, "email": {"type": "string"}},
}
BRAINPOOL_WARNING = "Sequoia (sq) cannot decrypt brainpool keys"


@pytest.fixture(autouse=True)
def _tools() -> None:
    require("sq", "rnp", "rnpkeys")


@pytest.fixture
def rnp_home() -> Iterator[RnpHome]:
    home = RnpHome()
    yield home
    home.close()


def members(count: int = 40) -> list[dict]:
    """Members of two segments, each row different."""
    rows = [
        record_message("m", {"segment_id": f"s{i % 2}", "email": f"user{i}@example.com"})
        for i in range(count)
    ]
    return [schema_message("m", SCHEMA), *rows]


def export(config: dict, key: str, tmp_path: Path, s3: Any) -> tuple[str, dict[str, bytes]]:
    """Run an encrypted export of `members()`; (stderr, objects by key)."""
    config.update(pgp_public_key=key, file_name_template="%SEGMENT_ID%")
    run, found = export_and_take(config, members(), tmp_path, s3)
    assert sorted(found) == ["s0.csv.gpg", "s1.csv.gpg"]
    return run.stderr, found


def sent() -> dict[str, list[str]]:
    """The rows the export was given, by segment."""
    return sent_by_segment(singer_text(members()).encode())


@pytest.mark.parametrize("suite", ["cv25519", "rsa3k"])
def test_sq_certificate_without_user_id(suite: str, config: dict, s3: Any, tmp_path: Path) -> None:
    key = SqKey(tmp_path, suite).generate()
    cert = key.cert()
    assert TAG_USER_ID not in [tag for tag, _ in iter_packets(key_bytes(cert))]
    _, found = export(config, cert, tmp_path, s3)
    plain = {}
    for name, data in found.items():
        result = key.decrypt(data)
        assert result.returncode == 0, result.stderr
        plain[name] = result.plaintext
    assert rows_by_segment(plain) == sent()


@pytest.mark.parametrize("kind", ["rsa_subkey", "cv25519"])
def test_sq_and_rnp_decrypt_what_gpg_decrypts(
    kind: str, config: dict, gpg_keys: Any, rnp_home: RnpHome, s3: Any, tmp_path: Path
) -> None:
    secret = gpg_keys.gpg.export_secret(gpg_keys.fingerprints[kind][0])
    secret_file = tmp_path / "secret.asc"
    secret_file.write_bytes(secret)
    rnp_home.import_key(secret)
    _, found = export(config, gpg_keys.public[kind], tmp_path, s3)
    plain = {}
    for name, data in found.items():
        by_gpg = gpg_keys.decrypt(data)
        assert by_gpg.ok, by_gpg.status
        for tool, result in [
            ("sq", sq_decrypt(secret_file, data)),
            ("rnp", rnp_home.decrypt(data)),
        ]:
            assert result.returncode == 0, f"{tool}: {result.stderr}"
            assert result.plaintext == by_gpg.plaintext, tool
        plain[name] = by_gpg.plaintext
    assert rows_by_segment(plain) == sent()


def test_rnp_generated_key(config: dict, rnp_home: RnpHome, s3: Any, tmp_path: Path) -> None:
    rnp_home.generate("rnp user <rnp@example.com>")
    _, found = export(config, rnp_home.export("rnp@example.com"), tmp_path, s3)
    plain = {}
    for name, data in found.items():
        result = rnp_home.decrypt(data)
        assert result.returncode == 0, result.stderr
        plain[name] = result.plaintext
    assert rows_by_segment(plain) == sent()


def test_brainpool_key_warns_once_that_sq_cannot_decrypt(
    config: dict, gpg_keys: Any, rnp_home: RnpHome, s3: Any, tmp_path: Path
) -> None:
    secret = gpg_keys.gpg.export_secret(gpg_keys.fingerprints["brainpool"][0])
    secret_file = tmp_path / "secret.asc"
    secret_file.write_bytes(secret)
    rnp_home.import_key(secret)
    stderr, found = export(config, gpg_keys.public["brainpool"], tmp_path, s3)
    warnings = [line for line in stderr.splitlines() if BRAINPOOL_WARNING in line]
    assert len(warnings) == 1, stderr
    assert "WARNING" in warnings[0]
    assert gpg_keys.fingerprints["brainpool"][1] in warnings[0]
    assert "brainpoolP384r1" in warnings[0]
    plain = {}
    for name, data in found.items():
        by_gpg = gpg_keys.decrypt(data)
        assert by_gpg.ok, by_gpg.status
        assert rnp_home.decrypt(data).plaintext == by_gpg.plaintext
        assert sq_decrypt(secret_file, data).returncode != 0  # what the warning says
        plain[name] = by_gpg.plaintext
    assert rows_by_segment(plain) == sent()


def test_other_keys_do_not_warn(config: dict, gpg_keys: Any, s3: Any, tmp_path: Path) -> None:
    stderr, _ = export(config, gpg_keys.public["p256"], tmp_path, s3)
    assert BRAINPOOL_WARNING not in stderr
    assert "WARNING" not in stderr


def test_sq_certificate_with_tampered_direct_key_signature_refused(
    config: dict, s3: Any, tmp_path: Path
) -> None:
    parts = list(iter_packets(key_bytes(SqKey(tmp_path).generate().cert())))
    index = next(
        i
        for i, (tag, body) in enumerate(parts)
        if tag == TAG_SIGNATURE and body[1] == SIG_DIRECT_KEY
    )
    broken = bytearray(parts[index][1])
    broken[-3] ^= 0x10  # in the signature value
    parts[index] = (TAG_SIGNATURE, bytes(broken))
    tampered = b"".join(packet(tag, body) for tag, body in parts)
    config["pgp_public_key"] = base64.b64encode(tampered).decode()
    run = run_with_stdin_open(config, tmp_path)
    assert run.returncode != 0
    assert run.stdout == ""  # no STATE
    lines = [line for line in run.stderr.splitlines() if "pgp_public_key" in line]
    assert len(lines) == 1, run.stderr
    assert lines[0].endswith(
        "has no user id and its direct-key signature does not verify (the key was damaged or "
        "tampered with); export the recipient's public key with `gpg --armor --export "
        "<email>`, `sq key extract-cert <key file>` (sq 1.x: `sq cert export --cert "
        "<fingerprint>`) or `rnpkeys --export-key <email>` again"
    )
    assert "Traceback" not in run.stderr
    assert objects(s3, config["bucket"]) == {}

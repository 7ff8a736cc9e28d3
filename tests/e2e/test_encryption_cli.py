"""Encrypted exports end to end: the CLI writes `.gpg` files that the real gpg decrypts to
exactly the bytes of the unencrypted export; bad keys are refused before any input."""

from __future__ import annotations

import base64
import gzip
import re
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.helpers import (
    export_and_take,
    objects,
    record_message,
    run_target,
    schema_message,
    singer_text,
    start_target,
)

SCHEMA = {"type": "object", "properties": {"value": {"type": "string"}}}


def one_file(size: int) -> list[dict]:
    """A stream whose file, without a header, is exactly `size` bytes (0: no rows)."""
    messages = [schema_message("list", SCHEMA)]
    if size:
        messages.append(record_message("list", {"value": "x" * (size - 1)}))
    return messages


@pytest.fixture
def enc_config(config: dict) -> dict:
    config.update(
        csv_header=False,
        file_name_template="%SEGMENT_ID%",
        segment_names={"list": "list"},
        export_empty_files=True,
    )
    return config


@pytest.mark.parametrize("size", [0, 1, 511, 512, 65535, 65536, 3 * 1024 * 1024 + 7])
@pytest.mark.parametrize("compression", ["none", "gzip"])
def test_gpg_decrypts_exactly_the_plain_export(
    size: int, compression: str, enc_config: dict, gpg_keys: Any, s3: Any, tmp_path: Path
) -> None:
    enc_config["compression"] = compression
    _, plain = export_and_take(enc_config, one_file(size), tmp_path, s3)
    enc_config["pgp_public_key"] = gpg_keys.public["cv25519"]
    _, encrypted = export_and_take(enc_config, one_file(size), tmp_path, s3)
    ext = ".csv.gz" if compression == "gzip" else ".csv"
    assert list(plain) == [f"list{ext}"]
    assert list(encrypted) == [f"list{ext}.gpg"]
    result = gpg_keys.decrypt(encrypted[f"list{ext}.gpg"])
    assert result.ok, result.status
    assert result.plaintext == plain[f"list{ext}"]
    if compression == "gzip":
        assert len(gzip.decompress(result.plaintext)) == size


@pytest.mark.parametrize("kind", ["rsa_subkey", "rsa_primary", "cv25519", "p256", "p384"])
def test_every_key_kind_through_the_cli(
    kind: str, config: dict, gpg_keys: Any, s3: Any, tmp_path: Path
) -> None:
    config["pgp_public_key"] = gpg_keys.public[kind]
    config["file_name_template"] = "%SEGMENT_ID%"
    messages = [
        schema_message("m", {"type": "object", "properties": {"segment_id": {"type": "string"}}}),
        *(record_message("m", {"segment_id": f"s{i % 3}"}) for i in range(30)),
    ]
    _, found = export_and_take(config, messages, tmp_path, s3)
    assert sorted(found) == ["s0.csv.gpg", "s1.csv.gpg", "s2.csv.gpg"]
    for key, data in found.items():
        result = gpg_keys.decrypt(data)
        assert result.ok, result.status
        assert result.plaintext == b"segment_id\n" + f"{key[:2]}\n".encode() * 10
        # The literal packet carries the file name without .gpg.
        assert key.removesuffix(".gpg") in gpg_keys.gpg.list_packets(data)


def key_forms(armored: str, binary: bytes) -> dict[str, str]:
    return {
        "armored": armored,
        "base64-of-armored": base64.b64encode(armored.encode()).decode(),
        "base64-of-binary": base64.b64encode(binary).decode(),
        "armored-line-breaks-as-spaces": armored.replace("\n", " "),
        "base64-wrapped": "\n".join(re.findall(".{1,64}", base64.b64encode(binary).decode())),
    }


@pytest.mark.parametrize(
    "form",
    [
        "armored",
        "base64-of-armored",
        "base64-of-binary",
        "armored-line-breaks-as-spaces",
        "base64-wrapped",
    ],
)
def test_each_key_input_form(
    form: str, enc_config: dict, gpg_keys: Any, s3: Any, tmp_path: Path
) -> None:
    enc_config["pgp_public_key"] = key_forms(
        gpg_keys.public["rsa_subkey"], gpg_keys.binary("rsa_subkey")
    )[form]
    _, found = export_and_take(enc_config, one_file(100), tmp_path, s3)
    result = gpg_keys.decrypt(found["list.csv.gpg"])
    assert result.ok, result.status
    assert result.plaintext == b"x" * 99 + b"\n"


def test_dedup_manifest_and_parts_with_encryption(
    config: dict, gpg_keys: Any, s3: Any, tmp_path: Path
) -> None:
    config.update(
        pgp_public_key=gpg_keys.public["p256"],
        compression="gzip",
        deduplication_keys=["value"],
        max_rows_per_file=2,
        include_manifest=True,
        file_name_template="%SEGMENT_ID%",
    )
    messages = [schema_message("list", SCHEMA)] + [
        record_message("list", {"value": v}) for v in ["c", "a", "b", "a", "c"]
    ]
    _, found = export_and_take(config, messages, tmp_path, s3)
    assert sorted(found) == [
        "list.csv.gz.gpg",
        "list_2.csv.gz.gpg",
        "manifest-amazon_s3-run-1.json",
    ]
    texts = []
    for key in ["list.csv.gz.gpg", "list_2.csv.gz.gpg"]:
        result = gpg_keys.decrypt(found[key])
        assert result.ok, result.status
        texts.append(gzip.decompress(result.plaintext))
    assert texts == [b"value\na\nb\n", b"value\nc\n"]
    assert b'"list.csv.gz.gpg"' in found["manifest-amazon_s3-run-1.json"]


def test_no_plaintext_reaches_the_temp_directory(
    config: dict, gpg_keys: Any, s3: Any, spool_dir: Path, tmp_path: Path
) -> None:
    """Feed records slowly and read every temp file while the run is still going."""
    config.update(
        pgp_public_key=gpg_keys.public["rsa_subkey"],
        deduplication_keys=["value"],
        dedup_memory_mb=1,
    )
    marker = "PLAINTEXT-MARKER"
    with start_target(config, tmp_path) as proc:
        assert proc.stdin is not None
        proc.stdin.write(singer_text([schema_message("list", SCHEMA)]).encode())
        for batch in range(3):
            rows = [
                record_message("list", {"value": f"{marker}-{batch}-{i:06d}"}) for i in range(6000)
            ]
            proc.stdin.write(singer_text(rows).encode())
            proc.stdin.flush()
            time.sleep(1.0)
            seen = [p for p in spool_dir.rglob("*") if p.is_file()]
            assert seen, "the run should be spooling by now"
            for path in seen:
                data = path.read_bytes()
                assert marker.encode() not in data, path
                assert b"PLAINTEXT" not in data, path
        _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr.decode()
    assert list(spool_dir.iterdir()) == []
    result = gpg_keys.decrypt(
        objects(s3, config["bucket"])[next(iter(objects(s3, config["bucket"])))]
    )
    assert result.ok
    assert result.plaintext.count(marker.encode()) == 18000


PEM = (
    "-----BEGIN PUBLIC KEY-----\n"
    "MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAMx5Q2e3tyEYdhs1c2Qy2jJ8nqW0yB1x\n"
    "-----END PUBLIC KEY-----\n"
)


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (PEM, "gpg --armor --export"),
        ("not a key at all", "pgp_public_key: "),
    ],
)
def test_bad_keys_are_refused_before_any_input(
    key: str, message: str, config: dict, s3: Any, tmp_path: Path
) -> None:
    config["pgp_public_key"] = key
    with start_target(config, tmp_path) as proc:  # stdin stays open: nothing is read
        _, stderr = proc.communicate(timeout=60)
    text = stderr.decode()
    assert proc.returncode != 0
    assert "pgp_public_key" in text
    assert message in text
    assert "Traceback" not in text
    assert objects(s3, config["bucket"]) == {}


def test_signing_only_key_is_refused(config: dict, gpg_keys: Any, s3: Any, tmp_path: Path) -> None:
    gpg = gpg_keys.gpg
    fingerprint = gpg.generate("signer <signer@example.com>", "ed25519", "sign")
    config["pgp_public_key"] = gpg.export(fingerprint).decode()
    run = run_target(config, one_file(10), tmp_path)
    assert run.returncode != 0
    assert "pgp_public_key" in run.stderr
    assert "encrypt" in run.stderr
    assert objects(s3, config["bucket"]) == {}

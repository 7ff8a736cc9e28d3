"""Sequoia's sq and rnp for the encryption tests: key generation and decryption.

Both come from Debian (`scripts/ensure-pgp-tools.sh`, run by `make test`). Without them a
test skips, except under CI (the `CI` variable set), where it fails: a CI run must not
pass without having decrypted with them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

TOOLS = {"sq": "sq", "rnp": "rnp", "rnpkeys": "rnp"}  # command -> Debian package


def require(*commands: str) -> None:
    """Skip (fail under CI) unless every command is installed."""
    missing = [c for c in commands if shutil.which(c) is None]
    if not missing:
        return
    packages = " ".join(sorted({TOOLS[c] for c in missing}))
    message = (
        f"{', '.join(missing)} not installed: run `bash scripts/ensure-pgp-tools.sh` "
        f"(Debian: apt-get install {packages})"
    )
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def _run(*args: str, data: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run a command, feeding `data` to stdin; never raises for its exit code."""
    return subprocess.run(list(args), input=data, capture_output=True, check=False, timeout=300)


def _checked(*args: str, data: bytes | None = None) -> bytes:
    """Run a command that must succeed; its stdout."""
    proc = _run(*args, data=data)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{proc.stderr.decode(errors='replace')}")
    return proc.stdout


@dataclass
class Decrypted:
    """What a tool's decryption returned."""

    returncode: int
    plaintext: bytes
    stderr: str


def sq_version() -> tuple[int, ...]:
    """sq's version, e.g. (0, 27, 0)."""
    found = re.search(r"sq (\d+)\.(\d+)\.(\d+)", _checked("sq", "--version").decode())
    assert found, "cannot read `sq --version`"
    return tuple(int(part) for part in found.groups())


@dataclass
class SqKey:
    """A key made by `sq key generate` in a temp dir: the secret key file and its cert."""

    directory: Path
    cipher_suite: str = "cv25519"
    user_id: str | None = None

    @property
    def secret(self) -> Path:
        """The secret key file (no password)."""
        return self.directory / f"{self.cipher_suite}.key.pgp"

    def generate(self) -> SqKey:
        """Make the key with sq 0.x's CLI (Debian 12's sq 0.27)."""
        if sq_version()[0] != 0:
            raise RuntimeError("pgp_tools.py speaks sq 0.x's CLI; adapt SqKey for sq 1.x")
        uid = ["--userid", self.user_id] if self.user_id else []
        _checked(
            "sq", "key", "generate", "--cipher-suite", self.cipher_suite, *uid,
            "--export", str(self.secret),
        )  # fmt: skip
        return self

    def cert(self) -> str:
        """The armored certificate (public key), as `sq key extract-cert` writes it."""
        return _checked("sq", "key", "extract-cert", str(self.secret)).decode()

    def decrypt(self, data: bytes) -> Decrypted:
        """`sq decrypt` with this secret key."""
        return sq_decrypt(self.secret, data)


def sq_decrypt(secret: Path, data: bytes) -> Decrypted:
    """Decrypt a message with `sq decrypt` and a secret key file."""
    proc = _run("sq", "decrypt", "--recipient-key", str(secret), data=data)
    return Decrypted(proc.returncode, proc.stdout, proc.stderr.decode(errors="replace"))


@dataclass
class RnpHome:
    """A temporary rnp home directory (keyrings), removed by close()."""

    home: str = field(default_factory=lambda: tempfile.mkdtemp(prefix="rnp", dir="/tmp"))

    def import_key(self, data: bytes) -> None:
        """Import a key (public or secret) given as armored or binary bytes."""
        path = Path(self.home) / "import.pgp"
        path.write_bytes(data)
        _checked("rnpkeys", "--homedir", self.home, "--import", str(path))
        path.unlink()

    def generate(self, user_id: str) -> None:
        """`rnpkeys --generate-key` with its defaults (RSA with an RSA encryption subkey)."""
        _checked(
            "rnpkeys", "--homedir", self.home, "--generate-key", "--userid", user_id,
            "--password", "", "--notty",
        )  # fmt: skip

    def export(self, user_id: str) -> str:
        """The armored public key, as `rnpkeys --export-key` writes it."""
        return _checked("rnpkeys", "--homedir", self.home, "--export-key", user_id).decode()

    def decrypt(self, data: bytes) -> Decrypted:
        """`rnp --decrypt` with the secret keys of this home."""
        proc = _run(
            "rnp", "--homedir", self.home, "--password", "", "--notty", "--decrypt",
            "--output", "-", data=data,
        )  # fmt: skip
        return Decrypted(proc.returncode, proc.stdout, proc.stderr.decode(errors="replace"))

    def close(self) -> None:
        """Delete the home."""
        shutil.rmtree(self.home, ignore_errors=True)

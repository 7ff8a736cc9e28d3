"""Real gpg for the encryption tests: a throwaway GNUPGHOME, key generation, decryption."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

GPG = shutil.which("gpg") or "/usr/bin/gpg"

# kind -> ((primary algo, usage), optional (subkey algo, usage))
KEY_KINDS: dict[str, tuple[tuple[str, str], tuple[str, str] | None]] = {
    "rsa_subkey": (("rsa3072", "sign,cert"), ("rsa3072", "encr")),
    "rsa_primary": (("rsa3072", "sign,cert,encr"), None),
    "cv25519": (("ed25519", "sign,cert"), ("cv25519", "encr")),
    "p256": (("nistp256", "sign,cert"), ("nistp256", "encr")),
    "p384": (("nistp384", "sign,cert"), ("nistp384", "encr")),
    "p521": (("nistp521", "sign,cert"), ("nistp521", "encr")),
    "brainpool": (("brainpoolP256r1", "sign,cert"), ("brainpoolP384r1", "encr")),
}


@dataclass
class DecryptResult:
    """What `gpg --decrypt` said and produced."""

    returncode: int
    plaintext: bytes
    status: str

    @property
    def ok(self) -> bool:
        """Decrypted with a good integrity check and nothing suspicious reported."""
        return (
            self.returncode == 0
            and "DECRYPTION_OKAY" in self.status
            and "GOODMDC" in self.status
            and "BADMDC" not in self.status
            and "DECRYPTION_FAILED" not in self.status
        )


@dataclass
class GpgHome:
    """A temporary GNUPGHOME (short path: the agent socket path is limited)."""

    home: str = field(default_factory=lambda: tempfile.mkdtemp(prefix="g", dir="/tmp"))

    def run(
        self, *args: str, data: bytes | None = None, check: bool = True, faked_time: str = ""
    ) -> subprocess.CompletedProcess[bytes]:
        """Run gpg in batch mode in this home."""
        extra = ["--faked-system-time", faked_time] if faked_time else []
        cmd = [GPG, "--homedir", self.home, "--batch", "--yes", "--no-tty", *extra, *args]
        proc = subprocess.run(cmd, input=data, capture_output=True, check=False, timeout=300)
        if check and proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr.decode(errors='replace')}")
        return proc

    def generate(
        self, uid: str, algo: str, usage: str, expire: str = "never", faked_time: str = ""
    ) -> str:
        """Generate a primary key without passphrase; returns its fingerprint."""
        self.run(
            "--passphrase", "", "--quick-gen-key", uid, algo, usage, expire, faked_time=faked_time
        )
        return self.fingerprints(uid)[0]

    def add_subkey(
        self, fingerprint: str, algo: str, usage: str, expire: str = "never", faked_time: str = ""
    ) -> str:
        """Add a subkey; returns its fingerprint."""
        before = set(self.fingerprints(fingerprint))
        self.run(
            "--passphrase", "", "--quick-add-key", fingerprint, algo, usage, expire,
            faked_time=faked_time,
        )  # fmt: skip
        return next(f for f in self.fingerprints(fingerprint) if f not in before)

    def fingerprints(self, query: str) -> list[str]:
        """Fingerprints of the primary key matching query and its subkeys, primary first."""
        out = self.run("--with-colons", "--list-keys", query).stdout.decode()
        return re.findall(r"^fpr:+([0-9A-F]+):", out, re.MULTILINE)

    def export(self, query: str, armor: bool = True) -> bytes:
        """The public key, armored or binary."""
        return self.run(*(["--armor"] if armor else []), "--export", query).stdout

    def export_secret(self, query: str, armor: bool = True) -> bytes:
        """The secret key (no passphrase), armored or binary."""
        args = ["--pinentry-mode", "loopback", "--passphrase", ""]
        args += ["--armor"] if armor else []
        return self.run(*args, "--export-secret-keys", query).stdout

    def revoke_subkey(self, fingerprint: str, index: int = 1) -> None:
        """Revoke the index-th subkey through `--edit-key` (gpg 2.2 has no quick command)."""
        commands = f"key {index}\nrevkey\ny\n0\n\ny\nsave\n".encode()
        self.run("--command-fd", "0", "--pinentry-mode", "loopback", "--passphrase", "",
                 "--edit-key", fingerprint, data=commands)  # fmt: skip

    def import_key(self, data: bytes) -> None:
        """Import keys or a revocation certificate."""
        self.run("--import", data=data)

    def revocation_certificate(self, fingerprint: str) -> bytes:
        """The revocation certificate gpg made at generation, ready to import."""
        text = (Path(self.home) / "openpgp-revocs.d" / f"{fingerprint}.rev").read_bytes()
        return text.replace(b":-----BEGIN PGP PUBLIC KEY BLOCK", b"-----BEGIN PGP PUBLIC KEY BLOCK")

    def decrypt(self, data: bytes) -> DecryptResult:
        """Decrypt a message with the secret keys in this home."""
        proc = self.run("--status-fd", "2", "--decrypt", data=data, check=False)
        return DecryptResult(proc.returncode, proc.stdout, proc.stderr.decode(errors="replace"))

    def list_packets(self, data: bytes) -> str:
        """`gpg --list-packets` output (gpg decrypts to list the inner packets)."""
        proc = self.run("--list-packets", data=data, check=False)
        return proc.stdout.decode(errors="replace") + proc.stderr.decode(errors="replace")

    def close(self) -> None:
        """Stop this home's agent and delete it."""
        env = {**os.environ, "GNUPGHOME": self.home}
        subprocess.run(
            ["gpgconf", "--kill", "gpg-agent"], env=env, capture_output=True, check=False
        )
        shutil.rmtree(self.home, ignore_errors=True)


@dataclass
class GpgKeys:
    """One GNUPGHOME with a key of each kind; armored public keys by kind."""

    gpg: GpgHome
    public: dict[str, str]
    fingerprints: dict[str, list[str]]

    @property
    def home(self) -> str:
        """The GNUPGHOME directory."""
        return self.gpg.home

    def binary(self, kind: str) -> bytes:
        """The binary public key of a kind."""
        return self.gpg.export(self.fingerprints[kind][0], armor=False)

    def decrypt(self, data: bytes) -> DecryptResult:
        """Decrypt with whichever secret key the message is for."""
        return self.gpg.decrypt(data)

    def close(self) -> None:
        """Remove the home."""
        self.gpg.close()


def make_keys(kinds: tuple[str, ...] = tuple(KEY_KINDS)) -> GpgKeys:
    """Generate a key of each kind in a fresh home (RSA-3072 takes seconds)."""
    gpg = GpgHome()
    public: dict[str, str] = {}
    fingerprints: dict[str, list[str]] = {}
    for kind in kinds:
        (algo, usage), sub = KEY_KINDS[kind]
        uid = f"{kind} <{kind}@example.com>"
        primary = gpg.generate(uid, algo, usage)
        if sub is not None:
            gpg.add_subkey(primary, *sub)
        fingerprints[kind] = gpg.fingerprints(primary)
        public[kind] = gpg.export(primary).decode()
    return GpgKeys(gpg, public, fingerprints)


def gpg_available() -> bool:
    """True if gpg can be run here."""
    return shutil.which("gpg") is not None or Path(GPG).exists()

"""Encryption throughput and memory: a generated stream through EncryptingWriter.

    .venv/bin/python bench/bench_pgp.py [--mb 500] [--key cv25519|rsa3072] [--out FILE] [--gpg]

A throwaway gpg home makes the recipient key (gpg must be installed). The encryption runs in a
child process so its peak RSS (ru_maxrss) is its own; the sink is /dev/null unless --out.
--gpg also times `gpg --encrypt` on the same stream, for reference.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MB = 1_000_000
BLOCK = os.urandom(1 << 20)  # incompressible; the content does not change the cost


def rss_mib() -> float:
    """Peak RSS of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(args: argparse.Namespace) -> None:
    """Encrypt args.mb MB from memory to the sink; print a JSON result line."""
    sys.path.insert(0, str(ROOT))
    from target_adobe_s3.openpgp import EncryptingWriter, load_recipient  # noqa: PLC0415

    recipient = load_recipient(Path(args.key_file).read_text())
    total, write = args.mb * MB, args.write_kb * 1024
    block = memoryview(BLOCK * (1 + write // len(BLOCK)))
    baseline = rss_mib()  # with the input buffer: the rest is the writer's
    sink = open(args.out or os.devnull, "wb")  # noqa: SIM115 (EncryptingWriter closes it)
    start = time.perf_counter()
    enc = EncryptingWriter(sink, recipient, "bench.bin")
    done = 0
    while done < total:
        piece = min(write, total - done)
        enc.write(block[(done % len(BLOCK)) : (done % len(BLOCK)) + piece])
        done += piece
    enc.close()
    seconds = time.perf_counter() - start
    result = {
        "algorithm": recipient.algorithm,
        "mb": args.mb,
        "seconds": round(seconds, 3),
        "mb_per_s": round(args.mb / seconds, 1),
        "rss_before_mib": round(baseline, 1),
        "peak_rss_mib": round(rss_mib(), 1),
    }
    print(json.dumps(result))


def gpg_reference(home: str, fingerprint: str, mb: int) -> dict[str, float]:
    """Time `gpg --encrypt` (no compression, AES-256) on the same amount of data."""
    cmd = [
        "gpg", "--homedir", home, "--batch", "--yes", "--trust-model", "always",
        "--compress-algo", "none", "--cipher-algo", "AES256", "-r", fingerprint,
        "--encrypt", "-o", os.devnull,
    ]  # fmt: skip
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE)
    assert proc.stdin is not None
    for _ in range(mb * MB // len(BLOCK)):
        proc.stdin.write(BLOCK)
    proc.stdin.close()
    proc.wait()
    seconds = time.perf_counter() - start
    return {"gpg_seconds": round(seconds, 3), "gpg_mb_per_s": round(mb / seconds, 1)}


def make_key(home: str, kind: str) -> tuple[str, str]:
    """(armored public key, fingerprint) of a new key in home."""
    gpg = ["gpg", "--homedir", home, "--batch", "--passphrase", ""]
    algo = {"cv25519": ("ed25519", "cv25519"), "rsa3072": ("rsa3072", "rsa3072")}[kind]
    subprocess.run([*gpg, "--quick-gen-key", "bench", algo[0], "sign,cert", "never"],
                   check=True, capture_output=True)  # fmt: skip
    out = subprocess.run([*gpg, "--with-colons", "-k", "bench"], check=True, capture_output=True)
    fingerprint = next(
        line.split(":")[9] for line in out.stdout.decode().splitlines() if line.startswith("fpr")
    )
    subprocess.run([*gpg, "--quick-add-key", fingerprint, algo[1], "encr", "never"],
                   check=True, capture_output=True)  # fmt: skip
    armored = subprocess.run([*gpg, "--armor", "--export", fingerprint], check=True,
                             capture_output=True).stdout.decode()  # fmt: skip
    return armored, fingerprint


def main() -> None:
    """Parse arguments; run the child (or be it) and print its result."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=500, help="megabytes (10^6) to encrypt")
    parser.add_argument("--key", choices=["cv25519", "rsa3072"], default="cv25519")
    parser.add_argument("--write-kb", type=int, default=64, help="size of each write, KiB")
    parser.add_argument("--out", default="", help="write the message here (default /dev/null)")
    parser.add_argument("--gpg", action="store_true", help="also time gpg --encrypt")
    parser.add_argument("--key-file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.key_file:
        child(args)
        return
    home = tempfile.mkdtemp(prefix="g", dir="/tmp")
    try:
        armored, fingerprint = make_key(home, args.key)
        key_file = Path(home) / "key.asc"
        key_file.write_text(armored)
        argv = [sys.executable, __file__, "--key-file", str(key_file), "--mb", str(args.mb),
                "--write-kb", str(args.write_kb), "--out", args.out]  # fmt: skip
        out = subprocess.run(argv, check=True, capture_output=True, text=True).stdout
        result = json.loads(out.strip().splitlines()[-1])
        if args.gpg:
            result.update(gpg_reference(home, fingerprint, args.mb))
        result["cpus"] = os.cpu_count() or 0
        print(json.dumps(result, indent=2))
    finally:
        subprocess.run(["gpgconf", "--kill", "gpg-agent"], env={**os.environ, "GNUPGHOME": home},
                       check=False, capture_output=True)  # fmt: skip
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()

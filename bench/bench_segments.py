"""Memory and throughput of the spool with many segments open at once, per encoding.

    .venv/bin/python bench/bench_segments.py [--segments 1000] [--rows 300000]
        [--encodings none,gzip,pgp,gzip+pgp] [--root DIR] [--dir DIR] [--seed 1]

Generated CSV rows (about 150 bytes: a UUID, an email, names, a status, a timestamp, a CRM id
and a phone number) go to `--segments` segments at random (seeded), straight through
`target_adobe_s3.files.spool.Spool` to temp files (no S3, no SDK). Each encoding runs in its own
child process, so its peak RSS (ru_maxrss) is its own; the child's RSS after its imports and
its first batch of generated rows is the baseline, and `rss_above_mib` is the peak above it:
what the open segments cost. Rows are generated in batches outside the timed part, so
`mb_per_s` (10^6 bytes of row data per second) is the spool's own speed, `finish` included.
`ratio` is the bytes in the files over the row bytes (for gzip: the compression ratio).

`--root DIR` imports `target_adobe_s3` from DIR instead (e.g. an old version exported with
`git archive <commit> target_adobe_s3 | tar -x -C DIR`), to compare before and after on the
same data. A throwaway gpg home makes the recipient key for the pgp encodings (gpg needed).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MB = 1_000_000
BATCH = 10_000

FIRST_NAMES = (
    "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara "
    "Richard Susan Joseph Jessica Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy "
    "Matthew Betty Anthony Sandra Mark Margaret Donald Ashley Steven Kimberly Andrew Emily "
    "Paul Donna Joshua Michelle Kenneth Carol Kevin Amanda Brian Melissa George Deborah "
    "Timothy Stephanie Ronald Rebecca Jason Sharon Edward Laura Jeffrey Cynthia Ryan Dorothy "
    "Jacob Amy Gary Kathleen Nicholas Angela Eric Shirley Jonathan Emma Stephen Brenda Larry "
    "Pamela Justin Nicole Scott Anna Brandon Samantha Benjamin Katherine Samuel Christine "
    "Gregory Debra Alexander Rachel Patrick Carolyn Frank Janet Raymond Maria Jack Olivia "
    "Dennis Heather Jerry Helen Tyler Catherine Aaron Diane Jose Julie Adam Victoria Nathan "
    "Joyce Henry Lauren Zachary Kelly Douglas Christina Peter Ruth Kyle Joan Noah Virginia"
)
LAST_NAMES = (
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez "
    "Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson "
    "White Harris Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott "
    "Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter "
    "Roberts Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart "
    "Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed "
    "Kelly Howard Ramos Kim Cox Ward Richardson Watson Brooks Chavez Wood James Bennett Gray "
    "Mendoza Ruiz Hughes Price Alvarez Castillo Sanders Patel Myers Long Ross Foster Jimenez"
)
DOMAINS = (
    ["gmail.com"] * 8
    + ["yahoo.com"] * 3
    + ["hotmail.com"] * 2
    + ["outlook.com", "icloud.com", "aol.com", "example.org", "mail.example.co.uk"]
    + ["acme-corp.com", "globex.net", "initech.io", "umbrella.example", "proton.me"]
)
FIRST, LAST = FIRST_NAMES.split(), LAST_NAMES.split()
STATUS = ["realized"] * 9 + ["existing", "exited"]


def rows(rng: random.Random, count: int) -> list[bytes]:
    """`count` CSV rows of about 150 bytes."""
    out = []
    for _ in range(count):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        uid = f"{rng.getrandbits(128):032x}"
        uuid = f"{uid[:8]}-{uid[8:12]}-{uid[12:16]}-{uid[16:20]}-{uid[20:]}"
        email = f"{first.lower()}.{last.lower()}{rng.randrange(10000)}@{rng.choice(DOMAINS)}"
        day, second = rng.randrange(1, 29), rng.randrange(86400)
        stamp = f"2024-04-{day:02d}T{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}Z"
        phone = f"+1-{rng.randrange(200, 1000)}-555-{rng.randrange(10000):04d}"
        crm = f"CRM-{rng.randrange(10**8):08d}"
        status = rng.choice(STATUS)
        line = f"{uuid},{email},{first},{last},{status},{stamp},{crm},{phone}\n"
        out.append(line.encode())
    return out


def rss_mib() -> float:
    """Peak RSS of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(args: argparse.Namespace) -> None:
    """Spool args.rows rows over args.segments segments; print a JSON result line."""
    if args.root:
        sys.path.insert(0, args.root)
    sys.path.insert(1, str(ROOT))
    import target_adobe_s3.files.spool as spool_module  # noqa: PLC0415
    from target_adobe_s3.files.parts import Encoding  # noqa: PLC0415
    from target_adobe_s3.openpgp import load_recipient  # noqa: PLC0415

    recipient = load_recipient(Path(args.key_file).read_text()) if "pgp" in args.encoding else None
    compression = "gzip" if "gzip" in args.encoding else "none"
    encoding = Encoding(compression, recipient)
    rng = random.Random(args.seed)  # noqa: S311 (test data)
    header = b"uuid,email,first_name,last_name,status,qualified_at,crm_id,phone\n"
    batch = rows(rng, min(BATCH, args.rows))
    baseline = rss_mib()
    spool = spool_module.Spool(args.dir, encoding)
    names = [f"s{n:05d}" for n in range(args.segments)]
    parts = {}
    raw = 0
    seconds = 0.0
    done = 0
    try:
        start = time.perf_counter()
        for segment in names:
            parts[segment] = spool.open(segment, segment, "m", ("h",), first=header)
            raw += len(header)
        seconds += time.perf_counter() - start
        while done < args.rows:
            targets = [names[rng.randrange(args.segments)] for _ in batch]
            start = time.perf_counter()
            for segment, line in zip(targets, batch, strict=True):
                parts[segment].write(line, rows=1)
            seconds += time.perf_counter() - start
            raw += sum(map(len, batch))
            done += len(batch)
            if done < args.rows:
                batch = []
                batch = rows(rng, min(BATCH, args.rows - done))
        start = time.perf_counter()
        finished = spool.finish()
        seconds += time.perf_counter() - start
        size = sum(p.size for p in finished)
        assert sum(p.rows for p in finished) == args.rows
    finally:
        spool.remove()
    peak = rss_mib()
    print(
        json.dumps(
            {
                "encoding": args.encoding,
                "segments": args.segments,
                "rows": args.rows,
                "row_mb": round(raw / MB, 1),
                "seconds": round(seconds, 3),
                "mb_per_s": round(raw / MB / seconds, 1),
                "rss_base_mib": round(baseline, 1),
                "peak_rss_mib": round(peak, 1),
                "rss_above_mib": round(peak - baseline, 1),
                "kib_per_segment": round((peak - baseline) * 1024 / args.segments, 1),
                "ratio": round(size / raw, 4),
            }
        )
    )


def make_key(home: str) -> str:
    """The armored public key of a new Curve25519 key in home."""
    gpg = ["gpg", "--homedir", home, "--batch", "--passphrase", ""]
    subprocess.run([*gpg, "--quick-gen-key", "bench", "ed25519", "sign,cert", "never"],
                   check=True, capture_output=True)  # fmt: skip
    out = subprocess.run([*gpg, "--with-colons", "-k", "bench"], check=True, capture_output=True)
    fingerprint = next(
        line.split(":")[9] for line in out.stdout.decode().splitlines() if line.startswith("fpr")
    )
    subprocess.run([*gpg, "--quick-add-key", fingerprint, "cv25519", "encr", "never"],
                   check=True, capture_output=True)  # fmt: skip
    return subprocess.run([*gpg, "--armor", "--export", fingerprint], check=True,
                          capture_output=True).stdout.decode()  # fmt: skip


def main() -> None:
    """Parse arguments; run one child per encoding (or be one) and print the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=1000, help="segments open at once")
    parser.add_argument("--rows", type=int, default=300_000, help="rows in all")
    parser.add_argument("--encodings", default="none,gzip,pgp,gzip+pgp")
    parser.add_argument("--root", default="", help="import target_adobe_s3 from here")
    parser.add_argument("--dir", default=None, help="parent of the spool directory")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--encoding", help=argparse.SUPPRESS)
    parser.add_argument("--key-file", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.encoding:
        child(args)
        return
    home = tempfile.mkdtemp(prefix="g", dir="/tmp")
    try:
        key_file = Path(home) / "key.asc"
        if "pgp" in args.encodings:
            key_file.write_text(make_key(home))
        for encoding in args.encodings.split(","):
            argv = [sys.executable, __file__, "--encoding", encoding, "--key-file", str(key_file),
                    "--segments", str(args.segments), "--rows", str(args.rows),
                    "--root", args.root, "--seed", str(args.seed)]  # fmt: skip
            if args.dir:
                argv += ["--dir", args.dir]
            out = subprocess.run(argv, check=True, capture_output=True, text=True).stdout
            print(out.strip().splitlines()[-1], flush=True)
    finally:
        subprocess.run(["gpgconf", "--kill", "gpg-agent"], env={**os.environ, "GNUPGHOME": home},
                       check=False, capture_output=True)  # fmt: skip
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()

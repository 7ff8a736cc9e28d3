"""Where the target's time goes: one run under cProfile, against moto, on a bench input.

    .venv/bin/python bench/profile_run.py [--records 100000] [--values realistic]
        [--case default] [--top 25] [--workdir /tmp/target-adobe-s3-bench] [--out FILE]

Generates (or reuses) the case's input as bench/run.py does, starts moto's S3 server, and
runs the target's CLI in this process under cProfile with the same settings as the bench
(`--input FILE` instead of stdin). Prints the top functions by own time and by cumulative
time; `--out` keeps the raw profile for `python -m pstats` or snakeviz. Start-up (imports)
is outside the profile: measure it with `python -X importtime`.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
from pathlib import Path

from generate import cached
from run import CASES, Bench

from demo.local_s3 import moto_server


def main() -> None:
    """Profile one run of the target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--values", default="realistic", choices=["strings", "realistic"])
    cases = [c.name for c in CASES if not c.pgp]  # no throwaway gpg home here
    parser.add_argument("--case", default="default", choices=cases)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/target-adobe-s3-bench"))  # noqa: S108
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    case = next(c for c in CASES if c.name == args.case)
    stream, _ = cached(args.workdir, args.records, segments=case.segments, shape=case.shape,
                       duplicates=case.duplicates, values=args.values)  # fmt: skip
    from target_adobe_s3.target import TargetAdobeS3  # noqa: PLC0415 (outside the timing)

    with moto_server() as endpoint:
        bench = Bench(endpoint, args.workdir, None, None)
        bench.empty_bucket()
        config = bench.config(case, args.values)
        profile = cProfile.Profile()
        argv = ["--config", str(config), "--input", str(stream)]
        stdout = sys.stdout
        sys.stdout = open("/dev/null", "w")  # noqa: SIM115 (the STATE lines)
        try:
            profile.runcall(TargetAdobeS3.cli.main, args=argv, standalone_mode=False)
        finally:
            sys.stdout.close()
            sys.stdout = stdout
    stats = pstats.Stats(profile)
    if args.out:
        stats.dump_stats(args.out)
    stats.sort_stats("tottime").print_stats(args.top)
    stats.sort_stats("cumulative").print_stats(args.top)


if __name__ == "__main__":
    main()

"""Streaming delivery (issue 14): temp-disk peak, end of input to STATE, ratio to the reference.

    .venv/bin/python bench/bench_streaming.py [--records 1000000] [--segments 1,20]
        [--rounds 1] [--rev 474968b ...] [--workdir /tmp/target-adobe-s3-bench] [--json FILE]

For each source (the working tree, then each `--rev`, extracted as bench/run.py does) and
each segment count, runs the target CLI on the flat bench stream (bench/generate.py, cached
in the work dir) against moto on 127.0.0.1, and bench/reference.py on the same input:
- temp-disk peak: the largest total size of the files under the run's temp_dir, polled
  every 20 ms while the target runs;
- end of input to STATE: from the moment the last input byte is written and the pipe
  closed, to the moment the last STATE line appears on the target's stdout;
- ratio: the target's wall time over the reference's (below 1: the target is faster).
Medians over `--rounds`, the peak the largest. A run counts only if it exited 0, wrote every
row (its "Export finished" line) and printed the last STATE; otherwise the bench stops.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import cached  # noqa: E402
from run import FINISHED, TARGET, Bench, Case, extract, git, log, machine  # noqa: E402

from demo.local_s3 import moto_server  # noqa: E402

POLL_SECONDS = 0.02


def disk_usage(root: Path) -> int:
    """Bytes in the regular files under root (files may vanish while it walks)."""
    total = 0
    for folder, _, names in os.walk(root):
        for name in names:
            try:
                total += os.lstat(os.path.join(folder, name)).st_size
            except OSError:
                continue
    return total


class Peak(threading.Thread):
    """Polls a folder's size until stopped; `most` is the largest seen."""

    def __init__(self, root: Path) -> None:
        super().__init__(daemon=True)
        self.root, self.most = root, 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(POLL_SECONDS):
            self.most = max(self.most, disk_usage(self.root))


def feed(stream: Path, stdin: IO[bytes], ended: list[float]) -> None:
    """Copy the input into the target's stdin, close it, and note when."""
    with stream.open("rb") as source, stdin:
        shutil.copyfileobj(source, stdin, 1 << 20)
    ended.append(time.perf_counter())


def run_target(bench: Bench, config: Path, stream: Path, meta: dict[str, Any]) -> dict[str, float]:
    """One target run: wall seconds, end of input to STATE, temp-disk peak."""
    bench.empty_bucket()
    shutil.rmtree(bench.spool, ignore_errors=True)
    bench.spool.mkdir(parents=True)
    out_dir = bench.workdir / "last-streaming"
    out_dir.mkdir(parents=True, exist_ok=True)
    peak, ended, lines = Peak(bench.spool), [], []
    with (out_dir / "stderr").open("wb") as err:
        start = time.perf_counter()
        peak.start()
        process = subprocess.Popen(
            [str(TARGET), "--config", str(config)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=err,
            env=bench.target_env,
        )
        assert process.stdin is not None
        assert process.stdout is not None
        feeder = threading.Thread(target=feed, args=(stream, process.stdin, ended), daemon=True)
        feeder.start()
        for line in process.stdout:
            lines.append((time.perf_counter(), line))
        returncode = process.wait()
        seconds = time.perf_counter() - start
        peak.done.set()
        peak.join()
        feeder.join()
    stderr = (out_dir / "stderr").read_text(errors="replace")
    finished = FINISHED.search(stderr)
    problem = ""
    if returncode != 0:
        problem = f"exit {returncode}"
    elif finished is None or int(finished[2]) != meta["rows"]:
        problem = "not every row written"
    elif not lines or json.loads(lines[-1][1]) != meta["state"]:
        problem = "the last STATE is missing"
    if problem:
        sys.stderr.write(stderr[-4000:])
        raise SystemExit(f"bench: the target run failed: {problem}")
    return {"seconds": seconds, "to_state": lines[-1][0] - ended[0], "peak": peak.most}


def measure(bench: Bench, segments: int, records: int, rounds: int, name: str) -> dict[str, Any]:
    """Rounds of the target and the reference on one input; medians and the peak."""
    stream, meta = cached(bench.workdir, records, segments=segments, shape="flat", duplicates=0.0)
    case = Case(f"streaming-{segments}", "", segments=segments)
    config = bench.config(case, "strings")
    runs, reference = [], []
    for number in range(rounds):
        log(f"{name}: {segments} segment(s), {records} records, round {number + 1}")
        runs.append(run_target(bench, config, stream, meta))
        reference.append(bench.run_reference(stream, meta, case, "strings").seconds)
    seconds = statistics.median(r["seconds"] for r in runs)
    return {
        "source": name,
        "segments": segments,
        "records": records,
        "peak_mib": max(r["peak"] for r in runs) / (1 << 20),
        "to_state": statistics.median(r["to_state"] for r in runs),
        "seconds": seconds,
        "reference": statistics.median(reference),
        "ratio": seconds / statistics.median(reference),
    }


def table(results: list[dict[str, Any]]) -> str:
    """A markdown table of the results."""
    rows = [
        "| source | segments | records | temp-disk peak | end of input → STATE | wall | "
        "reference | target/reference |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    rows += [
        f"| {r['source']} | {r['segments']} | {r['records']:,} | {r['peak_mib']:.1f} MiB | "
        f"{r['to_state']:.2f} s | {r['seconds']:.1f} s | {r['reference']:.1f} s | "
        f"{r['ratio']:.2f} |"
        for r in results
    ]
    return "\n".join(rows)


def main() -> None:
    """Measure the working tree and each --rev; print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--segments", default="1,20", help="comma-separated segment counts")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--rev", action="append", default=[], help="also measure this commit")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/target-adobe-s3-bench"))  # noqa: S108
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    counts = [int(n) for n in args.segments.split(",")]
    sources: list[tuple[str, Path | None]] = [
        (f"working tree ({git('rev-parse', '--short', 'HEAD') or '?'})", None)
    ]
    for rev in args.rev:
        source, commit = extract(rev, args.workdir)
        sources.append((commit, source))
    results = []
    with moto_server() as endpoint:
        for name, source in sources:
            bench = Bench(endpoint, args.workdir, None, source)
            results += [measure(bench, n, args.records, args.rounds, name) for n in counts]
    print(machine(None))
    print()
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()

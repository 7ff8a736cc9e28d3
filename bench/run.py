"""Throughput and memory of the whole target against a hand-written reference (issue 7).

    .venv/bin/python bench/run.py [--sizes 100k,1m] [--cases default,gzip,...] [--rounds 3]
        [--values strings,realistic] [--workdir /tmp/target-adobe-s3-bench] [--quick]
        [--rev REV] [--json FILE]

Starts moto's S3 server on a free 127.0.0.1 port, generates the inputs (cached in the work
dir), checks once that the target and the reference write the same bytes for a small
stream of each record shape, then for each size, record shape and case runs, for each
round, the installed `target-adobe-s3` CLI and the case's fair reference (bench/reference.py
in the case's mode) one after the other (the order alternates by round), each as a child
process reading the stream from a file on stdin. A case whose settings the target refuses
(Parquet before the `parquet` file type exists, or without pyarrow) is skipped, saying why.
Wall time is measured around the child, peak RSS is the child's own (/usr/bin/time's %M,
else ru_maxrss from os.wait4 in a small launcher). The bucket is emptied (moto reset)
before every run. A run counts only if it exited 0, its row count is right (the target's
"Export finished" log line, the reference's printed count), the objects are in the bucket
and the target wrote the last STATE; otherwise the bench stops with the run's stderr.
Prints a markdown table: medians of records/s and of the per-round ratios, max peak RSS.

The target is the installed CLI, which (installed editable) runs the working tree as it is
right now. `--rev REV` runs the committed `target_adobe_s3/` of REV instead (extracted with
`git archive` into the work dir and put first on the target's PYTHONPATH), so a table can
name the commit it measured while others edit the tree.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from generate import COLUMNS, REALISTIC_COLUMNS, VALUES, cached  # noqa: E402

from demo.local_s3 import FAKE_CREDENTIALS, moto_server  # noqa: E402

TARGET = Path(sys.executable).with_name("target-adobe-s3")
BUCKET = "bench"
EXPORT_TIME = "2024-05-01T06:18:04Z"
FINISHED = re.compile(r"Export finished: (\d+) files, (\d+) rows, (\d+) rows skipped, (\d+) bytes")


@dataclass(frozen=True)
class Case:
    """One benchmark case: the input it reads and the settings it adds."""

    name: str
    what: str
    shape: str = "flat"
    segments: int = 20
    duplicates: float = 0.0
    settings: dict[str, Any] = field(default_factory=dict)
    pgp: bool = False
    reference: str = "plain"
    """bench/reference.py's mode: plain, gzip, dedup or parquet."""
    extension: str = ".csv"


CASES = [
    Case("default", "plain tab-delimited CSV, 20 segments, flat records"),
    Case(
        "gzip",
        "as default, compression gzip",
        settings={"compression": "gzip"},
        reference="gzip",
        extension=".csv.gz",
    ),
    Case("pgp", "as default, encrypted to a Curve25519 key", pgp=True),
    Case(
        "gzip+pgp",
        "as default, gzip then encrypted",
        settings={"compression": "gzip"},
        pgp=True,
    ),
    Case(
        "dedup",
        "20% of records repeat an identity; deduplication_keys [email]",
        duplicates=0.2,
        settings={"deduplication_keys": ["email"]},
        reference="dedup",
    ),
    Case("1000 segments", "as default with 1,000 segments (skewed sizes)", segments=1000),
    Case(
        "fan-out",
        "segmentMembership map, 1-5 segments per record (3 on average), 20 segments",
        shape="membership",
    ),
    Case(
        "parquet",
        "as default, file_type parquet (pyarrow)",
        settings={"file_type": "parquet"},
        reference="parquet",
        extension=".parquet",
    ),
]
SIZES = {"100k": 100_000, "1m": 1_000_000, "10m": 10_000_000}


@dataclass
class Run:
    """One child process: how long, how much memory, what it said."""

    seconds: float
    rss_kib: int
    cpu_seconds: float
    returncode: int
    stdout: str
    stderr: str


# The child's peak RSS must be its own. Linux carries the high-water RSS of the process image
# an execve replaces into the new one (and the bench itself holds boto3 and the inputs' meta),
# so the child is started by a small launcher: /usr/bin/time, else a bare Python (-S -I).
TIME = Path("/usr/bin/time")
LAUNCHER = """import json, os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as f:
    json.dump([usage.ru_maxrss, usage.ru_utime + usage.ru_stime], f)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def spawn(argv: list[str], stdin: Path, env: dict[str, str], out_dir: Path) -> Run:
    """Run argv with stdin from a file: wall time around it, its own peak RSS and CPU time."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stdout_path, stderr_path = out_dir / "stdout", out_dir / "stderr"
    usage_path = out_dir / "usage"
    if TIME.exists():
        launcher = [str(TIME), "-f", "%M %U %S", "-o", str(usage_path)]
    else:
        launcher = [sys.executable, "-S", "-I", "-c", LAUNCHER, str(usage_path)]
    with stdin.open("rb") as fin, stdout_path.open("wb") as fout, stderr_path.open("wb") as ferr:
        start = time.perf_counter()
        proc = subprocess.run([*launcher, *argv], stdin=fin, stdout=fout, stderr=ferr, env=env,
                              cwd=out_dir, check=False)  # fmt: skip
        seconds = time.perf_counter() - start
    if TIME.exists():
        # time -o writes "Command exited with non-zero status N" first when it failed.
        rss, user, system = usage_path.read_text().split()[-3:]
        rss_kib, cpu = int(rss), float(user) + float(system)
    else:
        rss_kib, cpu = json.loads(usage_path.read_text())
    return Run(
        seconds=seconds,
        rss_kib=rss_kib,
        cpu_seconds=cpu,
        returncode=proc.returncode,
        stdout=stdout_path.read_text(errors="replace"),
        stderr=stderr_path.read_text(errors="replace"),
    )


class Bench:
    """The server, the bucket, the key and the two commands."""

    def __init__(
        self, endpoint: str, workdir: Path, pgp_key: str | None, source: Path | None
    ) -> None:
        self.endpoint = endpoint
        self.workdir = workdir
        self.pgp_key = pgp_key
        self.env = {
            **os.environ,
            **FAKE_CREDENTIALS,
            "AWS_CONFIG_FILE": "/nonexistent/aws-config",
            "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/aws-credentials",
        }
        self.env.pop("PYTHONPATH", None)
        # Both sides run with bytecode caches, as a pip-installed plugin does: with
        # PYTHONDONTWRITEBYTECODE set (some sandboxes and CI images set it), the target's
        # own modules (an editable install or --rev source) would be compiled from source
        # on every start, about 0.25 s more, while the reference's imports are cached.
        self.env.pop("PYTHONDONTWRITEBYTECODE", None)
        self.target_env = {**self.env, "PYTHONPATH": str(source)} if source else self.env
        self.s3 = boto3.client(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            region_name=FAKE_CREDENTIALS["AWS_DEFAULT_REGION"],
        )
        self.spool = workdir / "spool"
        self.spool.mkdir(parents=True, exist_ok=True)
        self.last_target: Run | None = None

    def empty_bucket(self) -> None:
        """Drop everything moto holds (it keeps objects in memory) and make the bucket anew."""
        url = f"{self.endpoint}/moto-api/reset"  # http://127.0.0.1:<port>, our own server
        request = urllib.request.Request(url, method="POST")  # noqa: S310
        with urllib.request.urlopen(request, timeout=30):  # noqa: S310
            pass
        self.s3.create_bucket(Bucket=BUCKET)

    def objects(self) -> dict[str, int]:
        """Every object in the bucket: key -> size."""
        found: dict[str, int] = {}
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
            found.update({o["Key"]: o["Size"] for o in page.get("Contents", [])})
        return found

    def config(self, case: Case, values: str) -> Path:
        """The target's config file for a case and record shape."""
        config: dict[str, Any] = {
            "bucket": BUCKET,
            "endpoint_url": self.endpoint,
            "region": "us-east-1",
            "aws_access_key_id": FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            "aws_secret_access_key": FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            "export_time": EXPORT_TIME,
            "run_id": "bench",
            "folder_path": "target",
            "file_name_template": "%SEGMENT_ID%",
            "fields": COLUMNS if values == "strings" else REALISTIC_COLUMNS,
            "temp_dir": str(self.spool),
            **case.settings,
        }
        if case.pgp:
            config["pgp_public_key"] = self.pgp_key
        path = self.workdir / "configs" / f"{case.name.replace(' ', '-')}-{values}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(config, indent=1))
        return path

    def run_target(self, config: Path, stream: Path, meta: dict[str, Any], rows: int) -> Run:
        """Run the target; stop the bench unless it delivered `rows` rows and the STATE."""
        found = self.try_target(config, stream, meta, rows)
        if isinstance(found, str):
            assert self.last_target is not None
            fail("target", found, self.last_target)
        return found

    def try_target(self, config: Path, stream: Path, meta: dict[str, Any], rows: int) -> Run | str:
        """Run the target: the run, or what is wrong with it (kept in `last_target`)."""
        self.empty_bucket()
        run = spawn([str(TARGET), "--config", str(config)], stream, self.target_env,
                    self.workdir / "last-target")  # fmt: skip
        self.last_target = run
        finished = FINISHED.search(run.stderr)
        problem = ""
        if run.returncode != 0:
            problem = f"exit {run.returncode}"
        elif finished is None:
            problem = "no 'Export finished' line"
        elif int(finished[2]) != rows:
            problem = f"{finished[2]} rows written, {rows} expected"
        elif len(self.objects()) != int(finished[1]) or int(finished[1]) < meta["segments_used"]:
            problem = f"{len(self.objects())} objects, log says {finished[1]} files"
        else:
            lines = run.stdout.strip().splitlines()
            last = json.loads(lines[-1]) if lines else {}  # a target emits the state value
            if last != meta["state"]:
                problem = f"last STATE {last!r}, expected {meta['state']!r}"
        return problem or run

    def run_reference(self, stream: Path, meta: dict[str, Any], case: Case, values: str) -> Run:
        """Run the case's reference; stop the bench unless it wrote every row and file."""
        self.empty_bucket()
        argv = [sys.executable, str(HERE / "reference.py"), "--endpoint", self.endpoint,
                "--bucket", BUCKET, "--temp-dir", str(self.spool), "--values", values,
                "--mode", case.reference]  # fmt: skip
        if case.reference == "parquet":
            compression = case.settings.get("compression", "none")
            argv += ["--parquet-compression", compression]
        run = spawn(argv, stream, self.env, self.workdir / "last-reference")
        rows = meta["dedup_rows"] if case.reference == "dedup" else meta["rows"]
        problem = ""
        if run.returncode != 0:
            problem = f"exit {run.returncode}"
        elif run.stdout.strip() != str(rows):
            problem = f"{run.stdout.strip()} rows written, {rows} expected"
        elif len(self.objects()) != meta["segments_used"]:
            problem = f"{len(self.objects())} objects, {meta['segments_used']} expected"
        if problem:
            fail("reference", problem, run)
        return run


def fail(who: str, problem: str, run: Run) -> None:
    """Stop the bench: a broken run must never be reported as fast."""
    sys.stderr.write(run.stderr[-4000:])
    raise SystemExit(f"bench: the {who} run failed: {problem}")


COMPARED = [
    Case("flat", "", shape="flat"),
    Case("membership", "", shape="membership"),
    Case(
        "dedup", "", duplicates=0.2, settings={"deduplication_keys": ["email"]}, reference="dedup"
    ),
]
"""What the byte comparison runs (plain CSV files compare byte for byte)."""


def compare_bytes(bench: Bench, values_list: list[str]) -> None:
    """Once, at a small size: the target's and the reference's files, byte for byte."""
    for values in values_list:
        for case in COMPARED:
            stream, meta = cached(bench.workdir, 3000, segments=20, shape=case.shape,
                                  duplicates=case.duplicates, values=values)  # fmt: skip
            rows = meta["dedup_rows"] if case.duplicates else meta["rows"]
            bench.run_target(bench.config(case, values), stream, meta, rows)
            target = {k.removeprefix("target/").removesuffix(".csv"): k for k in bench.objects()}
            target_bytes = {
                seg: bench.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
                for seg, key in target.items()
            }
            bench.run_reference(stream, meta, case, values)
            same = 0
            for key in bench.objects():
                seg = key.removeprefix("ref/").removesuffix(".csv")
                ref = bench.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
                # csv.writer escapes a quote inside quotes by doubling it; AEP (the target)
                # with a backslash. The bench's values hold no backslash of their own.
                ours = target_bytes.get(seg, b"").replace(b'\\"', b'""')
                same += ours == ref
                if ours != ref:  # kept to look at
                    differ = bench.workdir / "differ"
                    differ.mkdir(exist_ok=True)
                    (differ / f"{values}-{case.name}-target.csv").write_bytes(ours)
                    (differ / f"{values}-{case.name}-reference.csv").write_bytes(ref)
            total = len(target_bytes)
            what = f"{values} {case.name}"
            if same == total == meta["segments_used"]:
                log(f"check: target and reference files are byte-identical ({what}, {same} files;"
                    ' a quote escaped as \\" taken as "")')  # fmt: skip
            else:
                log(f"WARNING: only {same} of {total} {what} files are byte-identical")


def log(text: str) -> None:
    """Progress on stderr, so stdout is the table."""
    print(text, file=sys.stderr, flush=True)


def make_pgp_key(home: str) -> str:
    """A throwaway Curve25519 recipient key, as bench_pgp.py makes it."""
    from bench_pgp import make_key  # noqa: PLC0415 (only when a PGP case runs)

    return make_key(home, "cv25519")[0]


def git(*argv: str) -> str:
    """A git command's output in the repo (empty on failure)."""
    done = subprocess.run(["git", "-C", str(ROOT), *argv], capture_output=True, text=True,
                          check=False)  # fmt: skip
    return done.stdout.strip()


def extract(rev: str, workdir: Path) -> tuple[Path, str]:
    """`target_adobe_s3/` as committed in rev, under workdir; (its directory, short hash)."""
    commit = git("rev-parse", "--short", f"{rev}^{{commit}}")
    if not commit:
        raise SystemExit(f"bench: unknown revision {rev!r}")
    source = workdir / f"src-{commit}"
    if not (source / "target_adobe_s3").is_dir():
        shutil.rmtree(source, ignore_errors=True)
        source.mkdir(parents=True)
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit, "target_adobe_s3"],
                                 capture_output=True, check=True).stdout  # fmt: skip
        subprocess.run(["tar", "-x", "-C", str(source)], input=archive, check=True)
    return source, commit


def machine(commit: str | None) -> str:
    """nproc, CPU model, RAM, OS, Python and what was measured, on one line."""
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    ram = "?"
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            ram = f"{int(line.split()[1]) / 1024 / 1024:.0f} GiB"
    if commit:
        last = git("log", "-1", "--format=%h", commit, "--", "target_adobe_s3")
        measured = f"target_adobe_s3/ of commit {commit} (last changed in {last})"
    else:
        dirty = git("status", "--porcelain", "--", "target_adobe_s3")
        measured = f"working tree at commit {git('rev-parse', '--short', 'HEAD') or '?'}" + (
            " with uncommitted changes in target_adobe_s3/" if dirty else ""
        )
    return (
        f"{os.cpu_count()} cores ({cpu}), {ram} RAM, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}; {measured}"
    )


def mib(kib: int) -> str:
    return f"{kib / 1024:.1f} MiB"


def rate(value: float) -> str:
    return f"{value:,.0f}"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100k,1m", help=f"comma-separated: {', '.join(SIZES)}")
    parser.add_argument("--cases", default="all", help="comma-separated case names, or all")
    parser.add_argument("--values", default=",".join(VALUES), help="record shapes, comma-separated")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/target-adobe-s3-bench"))  # noqa: S108
    parser.add_argument("--quick", action="store_true", help="100k only, 1 round (development)")
    parser.add_argument("--no-compare", action="store_true", help="skip the byte comparison")
    parser.add_argument("--rev", help="measure target_adobe_s3/ as committed in REV (e.g. HEAD)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.rounds = "100k", 1
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    names = {c.name for c in CASES}
    args.case_list = (
        CASES if args.cases == "all"
        else [c for c in CASES if c.name in args.cases.split(",")]
    )  # fmt: skip
    args.values_list = [v for v in VALUES if v in args.values.split(",")]
    unknown = set(args.cases.split(",")) - names - {"all"}
    bad_sizes = set(args.sizes.split(",")) - set(SIZES)
    bad_values = set(args.values.split(",")) - set(VALUES)
    if unknown or bad_sizes or bad_values:
        parser.error(f"unknown cases {sorted(unknown)}, sizes {sorted(bad_sizes)} or values "
                     f"{sorted(bad_values)}; cases: {', '.join(sorted(names))}")  # fmt: skip
    return args


def main() -> None:
    """Run every case at every size and record shape; print the table."""
    args = parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    sizes = [SIZES[s] for s in args.sizes.split(",")]
    gpg_home = ""
    pgp_key = None
    if any(c.pgp for c in args.case_list):
        # Short (gpg-agent's socket path has a length limit), made 0700 by us.
        gpg_home = f"/tmp/g{os.getpid()}"  # noqa: S108
        Path(gpg_home).mkdir(mode=0o700, exist_ok=True)
        pgp_key = make_pgp_key(gpg_home)
    source, commit = extract(args.rev, args.workdir) if args.rev else (None, None)
    results: list[dict[str, Any]] = []
    began = time.monotonic()
    try:
        with moto_server() as endpoint:
            bench = Bench(endpoint, args.workdir, pgp_key, source)
            if not args.no_compare:
                compare_bytes(bench, args.values_list)
            skipped = {c.name: why for c in args.case_list if (why := unsupported(bench, c))}
            for size in sizes:
                for values in args.values_list:
                    for case in args.case_list:
                        if case.name in skipped:
                            results.append(skip(case, values, size, skipped[case.name]))
                        else:
                            results.append(measure(bench, case, values, size, args.rounds))
    finally:
        if gpg_home:
            subprocess.run(["gpgconf", "--kill", "gpg-agent"],
                           env={**os.environ, "GNUPGHOME": gpg_home},
                           check=False, capture_output=True)  # fmt: skip
            shutil.rmtree(gpg_home, ignore_errors=True)
    took = time.monotonic() - began
    print(table(results))
    print(f"\n{machine(commit)}; {args.rounds} round(s); bench took {took / 60:.1f} min.")
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(commit), "results": results}, indent=1))


def unsupported(bench: Bench, case: Case) -> str:
    """Why a case cannot run here ("" when it can): the target or the reference lacks it."""
    if case.reference == "parquet" and importlib.util.find_spec("pyarrow") is None:
        return "pyarrow is not installed (the reference needs it)"
    if case.reference != "parquet":
        return ""
    stream, meta = cached(bench.workdir, 3000, segments=20, shape=case.shape, duplicates=0.0)
    found = bench.try_target(bench.config(case, "strings"), stream, meta, meta["rows"])
    if isinstance(found, str):
        stderr = bench.last_target.stderr if bench.last_target else ""
        lines = stderr.strip().splitlines() or [found]
        why = f"the target refuses it: {lines[-1][:200]}"
        log(f"{case.name}: skipped, {why}")
        return why
    return ""


def skip(case: Case, values: str, size: int, why: str) -> dict[str, Any]:
    """The result of a case that did not run."""
    return {"case": case.name, "values": values, "records": size, "skipped": why}


def measure(bench: Bench, case: Case, values: str, size: int, rounds: int) -> dict[str, Any]:
    """Time the target and the reference alternately for `rounds` rounds; the case's result."""
    log(f"{case.name} ({values}) {size:,}: generating (or reusing) the input ...")
    stream, meta = cached(
        bench.workdir,
        size,
        segments=case.segments,
        shape=case.shape,
        duplicates=case.duplicates,
        values=values,
    )
    rows = meta["dedup_rows"] if case.duplicates else meta["rows"]
    config = bench.config(case, values)
    target_runs: list[Run] = []
    ref_runs: list[Run] = []
    for r in range(rounds):
        order = ["target", "reference"] if r % 2 == 0 else ["reference", "target"]
        for who in order:
            if who == "target":
                target_runs.append(bench.run_target(config, stream, meta, rows))
            else:
                ref_runs.append(bench.run_reference(stream, meta, case, values))
        t, ref = target_runs[-1], ref_runs[-1]
        log(
            f"  round {r + 1}: target {t.seconds:.2f} s {mib(t.rss_kib)}, "
            f"reference {ref.seconds:.2f} s {mib(ref.rss_kib)}"
        )
    return {
        "case": case.name,
        "values": values,
        "records": size,
        "rows": rows,
        "reference": case.reference,
        "target_rps": statistics.median(size / t.seconds for t in target_runs),
        "reference_rps": statistics.median(size / t.seconds for t in ref_runs),
        "ratio": statistics.median(
            ref.seconds / t.seconds for t, ref in zip(target_runs, ref_runs, strict=True)
        ),
        "target_rss_kib": max(t.rss_kib for t in target_runs),
        "reference_rss_kib": max(t.rss_kib for t in ref_runs),
        "target_seconds": [round(t.seconds, 3) for t in target_runs],
        "target_cpu_seconds": [round(t.cpu_seconds, 3) for t in target_runs],
        "reference_seconds": [round(t.seconds, 3) for t in ref_runs],
    }


def table(results: list[dict[str, Any]]) -> str:
    """The markdown table."""
    head = ["case", "records", "values", "reference", "target rec/s", "reference rec/s", "ratio",
            "target peak RSS", "reference peak RSS"]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for r in results:
        cells = [r["case"], f"{r['records']:,}", r["values"]]
        if "skipped" in r:
            cells += ["-", f"skipped: {r['skipped']}", "", "", "", ""]
        else:
            cells += [
                r["reference"],
                rate(r["target_rps"]),
                rate(r["reference_rps"]),
                f"{r['ratio']:.2f}",
                mib(r["target_rss_kib"]),
                mib(r["reference_rss_kib"]),
            ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()

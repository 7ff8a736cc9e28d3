"""The dedup store alone: the bench's rows offered to `DedupSet`, then read back, in this process.

    .venv/bin/python bench/bench_dedup.py [--records 100000] [--values strings,realistic]
        [--memory-mb 2] [--repeat 3] [--workdir /tmp/target-adobe-s3-bench]

The dedup case's input (20% repeated identities, `deduplication_keys` [email]) goes through
the fast path's decoder and StreamWriter once, into a sink that keeps what `dedup_row` is
handed (segment, key, time, compare texts, row bytes). Each pass then offers those rows to
a fresh `DedupSet` with the target's default budget and reads every segment's winners, as
`SegmentFiles.drain_dedup` does. Prints the CPU time per record of each phase
(`time.process_time`, the best of `--repeat` passes), and how many spilled runs were held
at the end of input.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson
from bench_rows import Rows
from generate import COLUMNS, REALISTIC_COLUMNS, STREAM, VALUES, cached

from target_adobe_s3.files.dedup import DedupSet
from target_adobe_s3.formats.csv import CsvFormat
from target_adobe_s3.formats.dialect import CsvDialect
from target_adobe_s3.intake.decoder import RecordDecoder
from target_adobe_s3.rows.tally import Tally
from target_adobe_s3.rows.writer import StreamWriter

Offer = tuple[str, tuple[str, ...], Any, tuple[str, ...], bytes]


class KeepingSink:
    """A RowSink that keeps what it is handed for the dedup store."""

    def __init__(self) -> None:
        self.offers: list[Offer] = []

    def register(self, segment_id: str, name: str, stream: str, header: tuple[str, ...]) -> None:
        """Nothing to open."""

    def write_row(self, segment_id: str, line: bytes) -> None:
        """Not used with deduplication."""

    def dedup_row(self, *args: Any) -> None:
        """Keep the offer."""
        self.offers.append(args)  # type: ignore[arg-type]


def offers_of(lines: list[bytes], schema: dict[str, Any], columns: list[str]) -> list[Offer]:
    """What the fast path hands the dedup store for these lines."""
    sink = KeepingSink()
    writer = StreamWriter(
        STREAM,
        schema,
        settings=Rows(fields=tuple((c, None) for c in columns), dedup_keys=("email",)),
        sink=sink,  # type: ignore[arg-type]
        file_format=CsvFormat(CsvDialect()),
        tally=Tally(),
        progress=lambda _: None,
        typed=True,
    )
    handle = RecordDecoder(STREAM, schema, key_properties=["email"]).compile_line(writer.write)
    for line in lines:
        handle(line)
    return sink.offers


def one_pass(
    offers: list[Offer], memory: int, encrypt: bool, spool: Path
) -> tuple[float, float, int, int]:
    """CPU seconds to add every offer, then to read every winner; runs spilled; winners."""
    # In the bench's spool, as the target spills: creating a file directly in a big /tmp
    # costs several times as much.
    spool.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench-dedup-", dir=spool) as tmp:
        store = DedupSet(Path(tmp), memory_bytes=memory, encrypt_spill=encrypt)
        add = store.add
        start = time.process_time()
        for offer in offers:
            add(*offer)
        added = time.process_time()
        runs = len(store._runs)  # a bench's look inside
        winners = 0
        for segment_id in store.segments():
            for block in store.winner_blocks(segment_id):
                winners += len(block)
        done = time.process_time()
        store.close()
    return added - start, done - added, runs, winners


def main() -> None:
    """Time the dedup store for each record shape."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--values", default=",".join(VALUES))
    parser.add_argument("--memory-mb", type=float, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--encrypt", action="store_true")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/target-adobe-s3-bench"))  # noqa: S108
    args = parser.parse_args()
    memory = int(args.memory_mb * 1024 * 1024)
    for values in args.values.split(","):
        stream, _ = cached(args.workdir, args.records, segments=20, shape="flat",
                           duplicates=0.2, values=values)  # fmt: skip
        raw = stream.read_bytes().splitlines()
        schema = orjson.loads(raw[0])["schema"]
        lines = [line for line in raw if line.startswith(b'{"type":"RECORD"')]
        columns = COLUMNS if values == "strings" else REALISTIC_COLUMNS
        offers = offers_of(lines, schema, columns)
        spool = args.workdir / "spool"
        passes = [one_pass(offers, memory, args.encrypt, spool) for _ in range(args.repeat)]
        add = min(p[0] for p in passes) / len(offers) * 1e6
        read = min(p[1] for p in passes) / len(offers) * 1e6
        _, _, runs, winners = passes[0]
        print(f"{values:9}: add {add:.2f} us, winners {read:.2f} us, total {add + read:.2f} us "
              f"per record (best of {args.repeat}); {runs} runs at end of input, "
              f"{winners} winners")  # fmt: skip
        sys.stdout.flush()


if __name__ == "__main__":
    main()

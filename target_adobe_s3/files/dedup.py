"""AEP deduplication keys: one row per key value in each segment file, in bounded memory.

The rule, in order (see `time_rank.time_rank` for how times compare):

1. the latest qualification time wins; a missing time loses to any other, and a present
   but unparsable one loses to every parsable time;
2. on a tie, the row whose compare texts (a tuple of str) are lexicographically first
   (held as one str that orders the same way: `compare_text`);
3. then the payload bytes that sort first, so the result never depends on input order.

Winners come out ordered by key (tuples of str, by code point). Per segment a dict
key -> best row collapses duplicates in memory; when the rows held by all segments
exceed the byte budget, the largest segment is sorted by key and written to a run file
(see `spill`), and `winners` merges the runs with what is still in memory.

The merge works a chunk at a time, not an entry at a time: every key up to the smallest
last key of the blocks at hand can come in no later block (a run holds each key once, in
order), so those entries are taken from every block, sorted together (C's sort merges the
sorted slices) and collapsed to the first entry of each key (a dict built backwards), with
no Python code per entry.
"""

from __future__ import annotations

import heapq
import weakref
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from itertools import chain, islice
from operator import itemgetter
from pathlib import Path

from target_adobe_s3.files.spill import (
    Entry,
    Key,
    Pref,
    Run,
    SpillCipher,
    blocks_of,
    read_blocks,
    write_run,
)
from target_adobe_s3.files.time_rank import time_rank

# Runs merged at once; a segment with more is first merged down in passes of this many,
# so at most FAN_IN + 1 run files are open at a time.
FAN_IN = 64
# Approximate bytes per entry beyond its texts: the dict slot, tuples and object headers.
ENTRY_OVERHEAD = 100
TEXT_OVERHEAD = 50
# Up to this many sources, a merge takes every block's entries up to the smallest last key
# at once (Python work per block); past it, the blocks at hand cover too little of the keys
# for that to pay, and entries go through a heap one by one.
WATERMARK_SOURCES = 24
CHUNK = 1024  # entries collapsed at a time on the heap's way


def entry_bytes(key: Key, pref: Pref) -> int:
    """Approximate memory held by one in-memory entry (`add` counts it inline)."""
    size = sum(map(len, key)) + len(pref[2]) + len(pref[3])
    return ENTRY_OVERHEAD + TEXT_OVERHEAD * (len(key) + 1) + size


def compare_text(texts: tuple[str, ...]) -> str:
    """One str that orders as the tuple of texts does (code points, element by element).

    Each text ends with NUL NUL and a NUL inside a text is written NUL SOH, so a text that
    ends sorts before any longer one, and a shorter tuple before a longer one it begins.
    One str instead of a tuple of them holds a row in a fraction of the memory, compares
    in one call, and spills as one field.
    """
    if "\x00" in "".join(texts):  # a text holds a NUL
        return "\x00\x00".join((*(text.replace("\x00", "\x00\x01") for text in texts), ""))
    return "\x00\x00".join(texts) + "\x00\x00" if texts else ""


_FIRST = itemgetter(0)


def best_per_key(entries: list[Entry]) -> list[Entry]:
    """Entries of sorted runs, each key once per run: sorted, the best of each key only."""
    entries.sort()
    # Built backwards, the dict keeps each key's first entry and lists the keys backwards.
    return list(reversed(dict(reversed(entries)).items()))


def merge_runs(sources: list[Iterator[list[Entry]]]) -> Iterator[list[Entry]]:
    """Merge sources of sorted blocks into sorted blocks of winners, each key once.

    Each source yields blocks of entries, sorted by key across its blocks, each key at most
    once. One block per source is held at a time.
    """
    if len(sources) > WATERMARK_SOURCES:
        return _heap_merge(sources)
    return _watermark_merge(sources)


def _heap_merge(sources: list[Iterator[list[Entry]]]) -> Iterator[list[Entry]]:
    """merge_runs for many sources: entry by entry through a heap, collapsed in chunks."""
    merged = heapq.merge(*map(chain.from_iterable, sources))
    carry: list[Entry] = []
    while True:
        chunk = carry + list(islice(merged, CHUNK))
        if len(chunk) < len(carry) + CHUNK:  # the end
            if chunk:
                yield best_per_key(chunk)
            return
        cut = bisect_left(chunk, chunk[-1][0], key=_FIRST)  # the last key may go on
        carry = chunk[cut:]
        if cut:
            yield best_per_key(chunk[:cut])


def _watermark_merge(sources: list[Iterator[list[Entry]]]) -> Iterator[list[Entry]]:
    """merge_runs for few sources: a chunk of every block at a time."""
    live: list[tuple[list[Entry], Iterator[list[Entry]]]] = []
    for source in sources:
        block = next(source, None)
        if block:
            live.append((block, source))
    starts = [0] * len(live)
    while len(live) > 1:
        mark = min([block[-1][0] for block, _ in live])  # no later block holds a key <= mark
        chunk: list[Entry] = []
        for i, (block, _) in enumerate(live):
            end = bisect_right(block, mark, starts[i], key=_FIRST)
            chunk += block[starts[i] : end]
            starts[i] = end
        kept: list[tuple[list[Entry], Iterator[list[Entry]]]] = []
        kept_starts: list[int] = []
        for i, (block, source) in enumerate(live):
            if starts[i] < len(block):
                kept.append((block, source))
                kept_starts.append(starts[i])
                continue
            following = next(source, None)
            if following:
                kept.append((following, source))
                kept_starts.append(0)
        live, starts = kept, kept_starts
        yield best_per_key(chunk)
    if live:  # one source left: its keys are unique and sorted already
        block, source = live[0]
        yield block[starts[0] :]
        yield from source


def _in_blocks(chunks: Iterable[list[Entry]], count: int) -> Iterator[list[Entry]]:
    """The entries of `chunks` again, in blocks of `count` (the last one shorter)."""
    count = max(count, 1)
    pending: list[Entry] = []
    for chunk in chunks:
        pending += chunk
        if len(pending) >= count:
            whole = len(pending) - len(pending) % count
            yield from blocks_of(pending[:whole], count)
            del pending[:whole]
    if pending:
        yield pending


def _joined(blocks: Iterator[list[Entry]], count: int) -> Iterator[list[Entry]]:
    """Each `count` consecutive blocks as one."""
    joined: list[Entry] = []
    for n, block in enumerate(blocks, 1):
        joined += block
        if n % count == 0:
            yield joined
            joined = []
    if joined:
        yield joined


@dataclass
class _Segment:
    best: dict[Key, Pref] = field(default_factory=dict)
    size: int = 0
    runs: list[Run] = field(default_factory=list)
    added: int = 0
    distinct: int | None = None  # set when winners() was fully consumed
    busy: bool = False


def _remove_runs(runs: dict[Path, Run], spare: list[Path]) -> None:
    for run in list(runs.values()):
        run.remove()
    runs.clear()
    for path in spare:
        path.unlink(missing_ok=True)
    spare.clear()


class DedupSet:
    """Deduplicates the rows of many segments with one shared memory budget.

    `memory_bytes` bounds the entries held in memory, as counted by `entry_bytes`; a merge
    adds up to about as much again (2 * FAN_IN blocks, decoded, shared by its runs; a
    compaction while rows come in holds one block per run, about half of it). With
    `encrypt_spill`, run files hold only AES-256-GCM ciphertext under a key that is never
    written anywhere. Not thread-safe.
    """

    def __init__(
        self, spill_dir: Path, *, memory_bytes: int = 64 * 1024 * 1024, encrypt_spill: bool = False
    ) -> None:
        if memory_bytes < 0:
            raise ValueError("memory_bytes must not be negative")
        self._dir = Path(spill_dir)
        self._memory = memory_bytes
        self._cipher = SpillCipher() if encrypt_spill else None
        # A merge holds one block per open run, decoded (~2-3x its size): FAN_IN of them
        # stay around half the budget.
        self._block = min(max(memory_bytes // (4 * FAN_IN), 4096), 1 << 20)
        self._segments: dict[str, _Segment] = {}
        self._total = 0
        self._runs: dict[Path, Run] = {}  # every live run file, for close()
        # Files of runs merged away, kept to be overwritten by the next runs (at most
        # FAN_IN: a merge frees as many); removed when no run is left.
        self._spare: list[Path] = []
        self._closed = False
        self._cleanup = weakref.finalize(self, _remove_runs, self._runs, self._spare)

    def add(
        self,
        segment_id: str,
        key: tuple[str, ...],
        time: object,
        compare: tuple[str, ...],
        payload: bytes,
    ) -> None:
        """Offer one row of a segment (see `time_rank` for the accepted times)."""
        if self._closed:  # _check_open, inlined on the per-row path
            raise ValueError("the dedup set is closed")
        segment = self._segments.get(segment_id)
        if segment is None:
            segment = self._segments[segment_id] = _Segment()
        elif segment.busy or segment.distinct is not None:
            raise ValueError(f"segment {segment_id!r} is being or was already read")
        time_class, ns = time_rank(time)
        text = compare_text(tuple(compare))
        payload = bytes(payload)
        key = tuple(key)
        segment.added += 1
        best = segment.best
        old = best.get(key)
        if old is None:  # entry_bytes(key, pref), inlined
            delta = ENTRY_OVERHEAD + TEXT_OVERHEAD * (len(key) + 1) + sum(map(len, key))
            delta += len(text) + len(payload)
        else:
            pref: Pref = (-time_class, -ns, text, payload)
            if old <= pref:
                return
            delta = len(text) + len(payload) - len(old[2]) - len(old[3])
        best[key] = (-time_class, -ns, text, payload)
        segment.size += delta
        self._total += delta
        while self._total > self._memory and self._spill_largest():
            pass

    def segments(self) -> list[str]:
        """Segment ids that received rows, sorted."""
        return sorted(self._segments)

    def winners(self, segment_id: str) -> Iterator[bytes]:
        """Stream the winning payloads of a segment, ordered by key.

        Once fully consumed, the segment's runs and memory are released and it cannot be
        read or added to again; an abandoned iteration leaves it as it was.
        """
        self._check_open()
        segment = self._segments[segment_id]
        if segment.distinct is not None:
            raise ValueError(f"segment {segment_id!r} was already read")
        return self._payloads(self._merge(segment))

    def winner_blocks(self, segment_id: str) -> Iterator[list[bytes]]:
        """`winners`, in lists of consecutive payloads (fewer calls for the caller)."""
        self._check_open()
        segment = self._segments[segment_id]
        if segment.distinct is not None:
            raise ValueError(f"segment {segment_id!r} was already read")
        return self._merge(segment)

    @staticmethod
    def _payloads(blocks: Iterator[list[bytes]]) -> Iterator[bytes]:
        try:
            for block in blocks:
                yield from block
        finally:
            blocks.close()  # type: ignore[attr-defined]  # _merge's generator

    def stats(self, segment_id: str) -> tuple[int, int]:
        """(rows added, duplicates dropped) of a segment.

        Dropped is exact once `winners` was fully consumed; before that it counts only the
        duplicates collapsed so far (a lower bound: rows spilled in different runs are
        only compared during the merge).
        """
        segment = self._segments[segment_id]
        if segment.distinct is not None:
            return segment.added, segment.added - segment.distinct
        held = len(segment.best) + sum(run.entries for run in segment.runs)
        return segment.added, segment.added - held

    def close(self) -> None:
        """Delete all spill files and drop what is held in memory; idempotent."""
        self._closed = True
        self._cleanup()
        for segment in self._segments.values():
            segment.best.clear()
            segment.runs.clear()
            segment.size = 0
        self._total = 0

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError("the dedup set is closed")

    def _spill_largest(self) -> bool:
        candidates = [s for s in self._segments.values() if s.best and not s.busy]
        if not candidates:
            return False
        segment = max(candidates, key=lambda s: s.size)
        entries = sorted(segment.best.items(), key=_FIRST)
        count = self._block * len(entries) // max(segment.size, 1)
        self._keep(segment, self._write(blocks_of(entries, count)))
        segment.best = {}
        self._total -= segment.size
        segment.size = 0
        self._compact(segment)
        return True

    def _compact(self, segment: _Segment) -> None:
        """Merge FAN_IN runs of one level into one run of the next, as they pile up.

        A long run spills many small runs; kept as they are, their count (and the memory
        that tracks them) would grow with the input. Tiered like this, a segment holds
        fewer than FAN_IN runs per level, and each entry is rewritten once per level
        (log base FAN_IN of the spills).
        """
        while True:
            levels: dict[int, list[Run]] = defaultdict(list)
            for run in segment.runs:
                levels[run.level].append(run)
            full = [runs for _, runs in sorted(levels.items()) if len(runs) >= FAN_IN]
            if not full:
                return
            batch = full[0][:FAN_IN]
            run = self._merged_run(batch)
            run.level = batch[0].level + 1
            self._drop(segment, batch)
            self._keep(segment, run)

    def _merged_run(self, runs: list[Run]) -> Run:
        """One run of the winners of `runs`, in blocks of about their size."""
        per_entry = sum(run.size for run in runs) / max(sum(run.entries for run in runs), 1)
        with ExitStack() as stack:
            chunks = merge_runs(self._sources(stack, runs, 1))
            return self._write(_in_blocks(chunks, int(self._block / per_entry)))

    def _write(self, blocks: Iterable[list[Entry]]) -> Run:
        """A new run of these blocks, in a spare file when there is one."""
        reuse = self._spare.pop() if self._spare else None
        return write_run(self._dir, blocks, self._cipher, reuse)

    def _keep(self, segment: _Segment, run: Run) -> None:
        segment.runs.append(run)
        self._runs[run.path] = run

    def _drop(self, segment: _Segment, runs: list[Run]) -> None:
        for run in runs:
            self._runs.pop(run.path, None)
            segment.runs.remove(run)
            if len(self._spare) < FAN_IN and self._runs:
                self._spare.append(run.path)
            else:
                run.remove()
        if not self._runs:  # nothing left to spill into them soon
            for path in self._spare:
                path.unlink(missing_ok=True)
            self._spare.clear()

    def _sources(
        self, stack: ExitStack, runs: list[Run], blocks: int
    ) -> list[Iterator[list[Entry]]]:
        """Readers of the runs, each yielding `blocks` of a run's blocks at a time."""
        readers = [
            read_blocks(run, stack.enter_context(run.path.open("rb")), self._cipher) for run in runs
        ]
        if blocks <= 1:
            return readers
        return [_joined(reader, blocks) for reader in readers]

    def _merge(self, segment: _Segment) -> Iterator[list[bytes]]:
        if segment.busy or segment.distinct is not None:
            raise ValueError("segment is being or was already read")
        segment.busy = True
        try:
            while len(segment.runs) > FAN_IN:  # merge down in passes, FAN_IN files open
                self._check_open()  # close() during a pass: write no new file
                batch = segment.runs[:FAN_IN]
                run = self._merged_run(batch)
                self._drop(segment, batch)
                self._keep(segment, run)
            emitted = 0
            with ExitStack() as stack:
                # 2 * FAN_IN blocks, decoded, are about the budget (the documented second
                # budget: the process grows by up to twice it): fewer runs read more blocks
                # at a time each, so that each step of the merge takes more entries.
                ahead = 2 * FAN_IN // max(len(segment.runs), 1)
                streams = self._sources(stack, segment.runs, ahead)
                if segment.best:
                    streams.append(iter([sorted(segment.best.items(), key=_FIRST)]))
                for block in merge_runs(streams):
                    emitted += len(block)
                    yield [pref[3] for _, pref in block]
            self._drop(segment, list(segment.runs))
            segment.distinct = emitted
            segment.best = {}
            self._total -= segment.size
            segment.size = 0
        finally:
            segment.busy = False

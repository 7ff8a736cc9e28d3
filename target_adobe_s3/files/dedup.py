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
"""

from __future__ import annotations

import heapq
import weakref
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from itertools import groupby
from operator import itemgetter
from pathlib import Path

from target_adobe_s3.files.spill import Entry, Key, Pref, Run, SpillCipher, read_run, write_run
from target_adobe_s3.files.time_rank import time_rank

# Runs merged at once; a segment with more is first merged down in passes of this many,
# so at most FAN_IN + 1 run files are open at a time.
FAN_IN = 64
# Approximate bytes per entry beyond its texts: the dict slot, tuples and object headers.
ENTRY_OVERHEAD = 100
TEXT_OVERHEAD = 50


def entry_bytes(key: Key, pref: Pref) -> int:
    """Approximate memory held by one in-memory entry."""
    size = sum(map(len, key)) + len(pref[2]) + len(pref[3])
    return ENTRY_OVERHEAD + TEXT_OVERHEAD * (len(key) + 1) + size


def compare_text(texts: tuple[str, ...]) -> str:
    """One str that orders as the tuple of texts does (code points, element by element).

    Each text ends with NUL NUL and a NUL inside a text is written NUL SOH, so a text that
    ends sorts before any longer one, and a shorter tuple before a longer one it begins.
    One str instead of a tuple of them holds a row in a fraction of the memory, compares
    in one call, and spills as one field.
    """
    joined = "\x00\x00".join((*texts, ""))
    if joined.count("\x00") != 2 * len(texts):  # a text holds a NUL
        joined = "\x00\x00".join((*(text.replace("\x00", "\x00\x01") for text in texts), ""))
    return joined


def best_per_key(entries: Iterable[Entry]) -> Iterator[Entry]:
    """The first entry of each key in a stream sorted by (key, pref): the winner."""
    for _key, group in groupby(entries, key=itemgetter(0)):
        yield next(group)


@dataclass
class _Segment:
    best: dict[Key, Pref] = field(default_factory=dict)
    size: int = 0
    runs: list[Run] = field(default_factory=list)
    added: int = 0
    distinct: int | None = None  # set when winners() was fully consumed
    busy: bool = False


def _remove_runs(runs: dict[Path, Run]) -> None:
    for run in list(runs.values()):
        run.remove()
    runs.clear()


class DedupSet:
    """Deduplicates the rows of many segments with one shared memory budget.

    `memory_bytes` bounds the entries held in memory, as counted by `entry_bytes`; during
    `winners` the merge adds about half of it again (one block per open run). With
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
        self._closed = False
        self._cleanup = weakref.finalize(self, _remove_runs, self._runs)

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
        pref: Pref = (-time_class, -ns, compare_text(tuple(compare)), bytes(payload))
        key = tuple(key)
        segment.added += 1
        old = segment.best.get(key)
        if old is not None and old <= pref:
            return
        segment.best[key] = pref
        delta = entry_bytes(key, pref) - (0 if old is None else entry_bytes(key, old))
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
        return self._merge(segment)

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
        entries = sorted(segment.best.items(), key=itemgetter(0))
        self._keep(segment, write_run(self._dir, entries, self._cipher, self._block))
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
            with ExitStack() as stack:
                stream = best_per_key(heapq.merge(*self._merged(stack, batch)))
                run = write_run(self._dir, stream, self._cipher, self._block)
            run.level = batch[0].level + 1
            self._drop(segment, batch)
            self._keep(segment, run)

    def _keep(self, segment: _Segment, run: Run) -> None:
        segment.runs.append(run)
        self._runs[run.path] = run

    def _drop(self, segment: _Segment, runs: list[Run]) -> None:
        for run in runs:
            run.remove()
            self._runs.pop(run.path, None)
            segment.runs.remove(run)

    def _merged(self, stack: ExitStack, runs: list[Run]) -> list[Iterator[Entry]]:
        return [
            read_run(run, stack.enter_context(run.path.open("rb")), self._cipher) for run in runs
        ]

    def _merge(self, segment: _Segment) -> Iterator[bytes]:
        if segment.busy or segment.distinct is not None:
            raise ValueError("segment is being or was already read")
        segment.busy = True
        try:
            while len(segment.runs) > FAN_IN:  # merge down in passes, FAN_IN files open
                self._check_open()  # close() during a pass: write no new file
                batch = segment.runs[:FAN_IN]
                with ExitStack() as stack:
                    stream = best_per_key(heapq.merge(*self._merged(stack, batch)))
                    run = write_run(self._dir, stream, self._cipher, self._block)
                self._drop(segment, batch)
                self._keep(segment, run)
            emitted = 0
            with ExitStack() as stack:
                streams = self._merged(stack, segment.runs)
                streams.append(iter(sorted(segment.best.items(), key=itemgetter(0))))
                for _key, pref in best_per_key(heapq.merge(*streams)):
                    emitted += 1
                    yield pref[3]
            self._drop(segment, list(segment.runs))
            segment.distinct = emitted
            segment.best = {}
            self._total -= segment.size
            segment.size = 0
        finally:
            segment.busy = False

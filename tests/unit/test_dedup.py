"""Deduplication: the winner rule, output order, spilling, encryption of spills, cleanup."""

from __future__ import annotations

import random
import stat
from collections.abc import Generator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, cast

import pytest

from target_adobe_s3.files import dedup
from target_adobe_s3.files.dedup import DedupSet
from target_adobe_s3.files.spill import Run, SpillError, write_run

Row = tuple[str, tuple[str, ...], object, tuple[str, ...], bytes]
NS = 1_000_000_000
T0 = 1_714_544_284  # 2024-05-01T06:18:04Z


def run_all(rows: list[Row], spill_dir: Path, **options: object) -> dict[str, list[bytes]]:
    """Winners of every segment of a fresh set (closed afterwards)."""
    dedup_set = DedupSet(spill_dir, **options)  # type: ignore[arg-type]
    try:
        for row in rows:
            dedup_set.add(*row)
        return {s: list(dedup_set.winners(s)) for s in dedup_set.segments()}
    finally:
        dedup_set.close()


def winners_of(rows: list[Row], spill_dir: Path) -> list[bytes]:
    return run_all(rows, spill_dir)["s"]


def row(key: str, time: object, compare: str, payload: str) -> Row:
    return ("s", (key,), time, (compare,), payload.encode())


# --- the winner rule -------------------------------------------------------------------


@pytest.mark.parametrize("order", [1, -1])
def test_later_time_wins_in_either_order(tmp_path: Path, order: int) -> None:
    rows = [
        row("k", "2024-05-01T06:18:04Z", "b", "late"),
        row("k", "2024-05-01T06:18:03Z", "a", "early"),
    ][::order]
    assert winners_of(rows, tmp_path) == [b"late"]


@pytest.mark.parametrize("order", [1, -1])
def test_tied_times_are_broken_by_the_compare_texts(tmp_path: Path, order: int) -> None:
    rows = [
        row("k", "2024-05-01T06:00:00Z", "b", "second"),
        row("k", "2024-05-01T08:00:00+02:00", "a", "first"),  # the same instant
    ][::order]
    assert winners_of(rows, tmp_path) == [b"first"]


@pytest.mark.parametrize("order", [1, -1])
def test_compare_is_a_tuple_of_texts(tmp_path: Path, order: int) -> None:
    rows: list[Row] = [
        ("s", ("k",), None, ("a", "z"), b"az"),
        ("s", ("k",), None, ("a", "b", "c"), b"abc"),
        ("s", ("k",), None, ("ab",), b"ab"),
    ]
    assert winners_of(rows[::order], tmp_path) == [b"abc"]


@pytest.mark.parametrize("order", [1, -1])
@pytest.mark.parametrize("missing", [None, "", "  "])
def test_missing_time_loses_to_any_time(tmp_path: Path, order: int, missing: object) -> None:
    rows = [
        row("k", missing, "a", "missing"),
        row("k", "1970-01-01T00:00:00Z", "z", "epoch"),
    ][::order]
    assert winners_of(rows, tmp_path) == [b"epoch"]


@pytest.mark.parametrize("order", [1, -1])
def test_unparsable_time_ranks_between_parsable_and_missing(tmp_path: Path, order: int) -> None:
    rows = [row("k", "yesterday", "a", "bad"), row("k", "0001-01-01T00:00:00Z", "z", "old")]
    assert winners_of(rows[::order], tmp_path) == [b"old"]
    rows = [row("k", None, "a", "missing"), row("k", "soon", "z", "bad")]
    assert winners_of(rows[::order], tmp_path) == [b"bad"]
    rows = [row("k", "soon", "z", "bad-z"), row("k", "2024-13-01", "a", "bad-a")]
    assert winners_of(rows[::order], tmp_path) == [b"bad-a"]  # all unparsable times tie


@pytest.mark.parametrize("order", [1, -1])
def test_compare_texts_holding_nuls_still_order_as_tuples(tmp_path: Path, order: int) -> None:
    rows: list[Row] = [
        ("s", ("k",), None, ("a\x00", "z"), b"nul"),
        ("s", ("k",), None, ("a", "b"), b"short"),
        ("t", ("k",), None, ("a\x00\x01",), b"nul-soh"),
        ("t", ("k",), None, ("a\x00", "\x00"), b"nul-nul"),
        ("u", ("k",), None, ("",), b"one-empty"),
        ("u", ("k",), None, (), b"none"),
    ]
    out = run_all(rows[::order], tmp_path)
    assert out == {"s": [b"short"], "t": [b"nul-nul"], "u": [b"none"]}


def test_compare_text_orders_and_equals_as_the_tuple_does() -> None:
    rng = random.Random(5)
    alphabet = ["", "\x00", "\x01", "a", "b", "é", "\U0001f600", "\x00\x00", "a\x00"]
    tuples = {
        tuple("".join(rng.choices(alphabet, k=rng.randrange(3))) for _ in range(rng.randrange(4)))
        for _ in range(600)
    }
    by_tuple = sorted(tuples)
    assert sorted(tuples, key=dedup.compare_text) == by_tuple
    assert len({dedup.compare_text(t) for t in tuples}) == len(tuples)
    assert dedup.compare_text(("a", "b")) == "a\x00\x00b\x00\x00"
    assert dedup.compare_text(()) == ""


def test_equal_time_and_compare_falls_back_to_payload(tmp_path: Path) -> None:
    rows = [row("k", None, "a", "y"), row("k", None, "a", "x"), row("k", None, "a", "z")]
    assert winners_of(rows, tmp_path) == [b"x"]
    assert winners_of(rows[::-1], tmp_path) == [b"x"]


# --- keys and output order --------------------------------------------------------------


def test_two_key_dedup_ordered_by_key(tmp_path: Path) -> None:
    rows: list[Row] = [
        ("s", ("b", "1"), T0, (), b"b1-old"),
        ("s", ("a", "2"), T0, (), b"a2"),
        ("s", ("b", "1"), T0 + 1, (), b"b1-new"),
        ("s", ("a", "10"), T0, (), b"a10"),
        ("s", ("", "1"), T0, (), b"-1"),
        ("s", ("b", ""), T0, (), b"b-"),
        ("s", ("a", "2"), T0 - 1, (), b"a2-old"),
        ("t", ("a", "2"), T0 - 1, (), b"other segment"),
    ]
    out = run_all(rows, tmp_path)
    # keys compare as tuples of text: ("a", "10") < ("a", "2"); "" sorts first
    assert out == {"s": [b"-1", b"a10", b"a2", b"b-", b"b1-new"], "t": [b"other segment"]}


def test_segments_and_stats(tmp_path: Path) -> None:
    dedup_set = DedupSet(tmp_path)
    for i in range(10):
        dedup_set.add("z", (str(i % 3),), T0 + i, (), b"%d" % i)
    dedup_set.add("a", ("k",), None, (), b"x")
    assert dedup_set.segments() == ["a", "z"]
    assert dedup_set.stats("z") == (10, 7)
    assert list(dedup_set.winners("z")) == [b"9", b"7", b"8"]
    assert dedup_set.stats("z") == (10, 7)
    assert dedup_set.stats("a") == (1, 0)
    with pytest.raises(ValueError, match="already read"):
        dedup_set.winners("z")
    with pytest.raises(ValueError, match="already read"):
        dedup_set.add("z", ("k",), None, (), b"y")
    with pytest.raises(KeyError):
        dedup_set.winners("unknown")
    dedup_set.close()
    dedup_set.close()  # idempotent
    for segment in ("new", "a"):
        with pytest.raises(ValueError, match="closed"):
            dedup_set.add(segment, ("k",), None, (), b"y")


def test_stats_lower_bound_before_merge_then_exact(tmp_path: Path) -> None:
    dedup_set = DedupSet(tmp_path, memory_bytes=0)  # every row spills on its own
    for i in range(6):
        dedup_set.add("s", ("k",), T0 + i, (), b"%d" % i)
    assert dedup_set.stats("s") == (6, 0)  # not compared yet: in different runs
    assert list(dedup_set.winners("s")) == [b"5"]
    assert dedup_set.stats("s") == (6, 5)
    dedup_set.close()


def test_abandoned_iteration_can_start_again(tmp_path: Path) -> None:
    dedup_set = DedupSet(tmp_path, memory_bytes=500)
    for i in range(50):
        dedup_set.add("s", (f"{i:02d}",), None, (), b"%d" % i)
    first = cast(Generator[bytes, None, None], dedup_set.winners("s"))
    assert next(first) == b"0"
    with pytest.raises(ValueError, match="being or was already read"):
        next(dedup_set.winners("s"))
    with pytest.raises(ValueError, match="being or was already read"):
        dedup_set.add("s", ("x",), None, (), b"x")
    first.close()
    assert list(dedup_set.winners("s")) == [b"%d" % i for i in range(50)]
    dedup_set.close()


# --- determinism, spilling and encryption ------------------------------------------------


def sample_rows(rng: random.Random, count: int, segments: int, keys: int) -> list[Row]:
    """Rows with many duplicates and a mix of time representations of few instants."""
    rows: list[Row] = []
    for i in range(count):
        instant = T0 + rng.randrange(5)
        kind = rng.randrange(7)
        time: object = {
            0: None,
            1: "not a time",
            2: instant,
            3: datetime.fromtimestamp(instant, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            4: datetime.fromtimestamp(instant, timezone(timedelta(hours=-5))).isoformat(),
            5: datetime.fromtimestamp(instant, timezone.utc),
            6: float(instant),
        }[kind]
        segment = f"seg-{rng.randrange(segments)}"
        key = (f"id{rng.randrange(keys)}", rng.choice(["", "x", "é", "\U0001f600"]))
        compare = (rng.choice(["a", "b", "ab"]), str(rng.randrange(3)))
        payload = f"MARKER-{i}-{','.join(key)},{','.join(compare)},{time}\n".encode()
        rows.append((segment, key, time, compare, payload))
    return rows


def reference(rows: list[Row]) -> dict[str, list[bytes]]:
    """Naive dedup: all rows in memory, times ranked from the instant they were built from."""

    def instant(value: object) -> tuple[int, float]:
        if value is None:
            return (0, 0)
        if value == "not a time":
            return (1, 0)
        if isinstance(value, datetime):
            return (2, value.timestamp())
        if isinstance(value, str):
            return (2, datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())
        assert isinstance(value, (int, float))
        return (2, float(value))

    best: dict[str, dict[tuple[str, ...], Row]] = {}
    for r in rows:
        segment, key, time, compare, payload = r
        current = best.setdefault(segment, {}).get(key)
        if current is None:
            best[segment][key] = r
            continue
        mine, theirs = instant(time), instant(current[2])
        if mine > theirs or (mine == theirs and (compare, payload) < (current[3], current[4])):
            best[segment][key] = r
    return {s: [best[s][k][4] for k in sorted(best[s])] for s in sorted(best)}


def test_same_rows_in_any_order_give_identical_bytes(tmp_path: Path) -> None:
    rows = sample_rows(random.Random(7), 400, 3, 40)
    outputs = set()
    for seed in range(5):
        shuffled = rows[:]
        random.Random(seed).shuffle(shuffled)
        for memory in (64 * 1024 * 1024, 3000):
            outputs.add(repr(run_all(shuffled, tmp_path, memory_bytes=memory)))
    assert len(outputs) == 1
    assert outputs == {repr(reference(rows))}


@pytest.mark.parametrize("encrypt", [False, True])
def test_tiny_budget_spills_and_matches_the_unbounded_run(
    tmp_path: Path, encrypt: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    modes: list[int] = []

    def watched_write_run(*args: Any) -> Run:
        run = write_run(*args)
        modes.append(stat.S_IMODE(run.path.stat().st_mode))
        return run

    monkeypatch.setattr(dedup, "write_run", watched_write_run)
    rows = sample_rows(random.Random(1), 3000, 5, 300)
    unbounded = run_all(rows, tmp_path / "big")
    assert modes == []  # the default budget never spills these rows
    spill_dir = tmp_path / "spill"
    spill_dir.mkdir(mode=0o700)
    dedup_set = DedupSet(spill_dir, memory_bytes=2000, encrypt_spill=encrypt)
    for r in rows:
        dedup_set.add(*r)
    files = list(spill_dir.iterdir())
    assert len(files) > 10
    assert set(modes) == {0o600}
    assert len(modes) > len(files)  # runs that piled up were merged into fewer as they came
    contents = b"".join(path.read_bytes() for path in files)
    if encrypt:
        assert b"MARKER" not in contents
    else:
        assert b"MARKER" in contents  # the check above would catch plaintext
    out = {s: list(dedup_set.winners(s)) for s in dedup_set.segments()}
    assert out == unbounded == reference(rows)
    assert sum(dedup_set.stats(s)[1] for s in out) == 3000 - sum(map(len, out.values()))
    assert list(spill_dir.iterdir()) == []  # merged runs are deleted at once
    dedup_set.close()
    assert list(spill_dir.iterdir()) == []


def test_close_removes_unmerged_spill_files(tmp_path: Path) -> None:
    dedup_set = DedupSet(tmp_path, memory_bytes=1000, encrypt_spill=True)
    for r in sample_rows(random.Random(2), 500, 20, 100):
        dedup_set.add(*r)
    assert list(tmp_path.iterdir())
    dedup_set.close()
    assert list(tmp_path.iterdir()) == []


def test_spilled_runs_are_merged_in_tiers_so_their_count_stays_small(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """300 spills of one segment, FAN_IN 4: at most 3 runs per level, log4(300) levels."""
    monkeypatch.setattr(dedup, "FAN_IN", 4)
    rows = sample_rows(random.Random(3), 300, 1, 60)
    dedup_set = DedupSet(tmp_path, memory_bytes=0, encrypt_spill=True)
    most = 0
    for r in rows:
        dedup_set.add(*r)
        most = max(most, len(list(tmp_path.iterdir())))
    assert 5 <= len(list(tmp_path.iterdir())) <= most <= 3 * 5 + 1
    assert {"seg-0": list(dedup_set.winners("seg-0"))} == reference(rows)
    assert list(tmp_path.iterdir()) == []
    dedup_set.close()


@pytest.mark.parametrize("encrypt", [False, True])
def test_a_damaged_run_is_an_error(tmp_path: Path, encrypt: bool) -> None:
    dedup_set = DedupSet(tmp_path, memory_bytes=0, encrypt_spill=encrypt)
    dedup_set.add("s", ("k",), None, ("c",), b"payload")
    dedup_set.add("s", ("j",), None, ("c",), b"payload")
    first = sorted(tmp_path.iterdir())[0]
    first.write_bytes(first.read_bytes()[:-3])
    with pytest.raises(SpillError):
        list(dedup_set.winners("s"))
    dedup_set.close()
    assert list(tmp_path.iterdir()) == []


def test_encrypted_blocks_cannot_be_swapped(tmp_path: Path) -> None:
    dedup_set = DedupSet(tmp_path, memory_bytes=0, encrypt_spill=True)
    dedup_set.add("s", ("k",), None, (), b"one")
    dedup_set.add("s", ("k",), None, (), b"two")
    a, b = sorted(tmp_path.iterdir(), key=lambda p: p.stat().st_mtime_ns)
    data_a, data_b = a.read_bytes(), b.read_bytes()
    a.write_bytes(data_b)
    b.write_bytes(data_a)
    with pytest.raises(SpillError, match="authentication"):
        list(dedup_set.winners("s"))
    dedup_set.close()


@pytest.mark.parametrize("case", range(20))
def test_matches_a_naive_reference(tmp_path: Path, case: int) -> None:
    rng = random.Random(1000 + case)
    rows = sample_rows(rng, rng.randrange(1, 800), rng.randrange(1, 6), rng.randrange(1, 200))
    memory = rng.choice([0, 500, 5000, 50_000, 64 * 1024 * 1024])
    out = run_all(rows, tmp_path, memory_bytes=memory, encrypt_spill=rng.random() < 0.5)
    assert out == reference(rows)
    assert list(tmp_path.iterdir()) == []


# --- the merge's two ways, the wide spill form -------------------------------------------


def sorted_runs(rng: random.Random, runs: int, keys: int) -> list[list[list[dedup.Entry]]]:
    """Runs as spilled: sorted, each key once, in blocks of 1-5 entries; keys shared."""
    out = []
    for _ in range(runs):
        picked = sorted({(f"k{rng.randrange(keys):04d}",) for _ in range(rng.randrange(30))})
        entries = [
            (key, (-2, -rng.randrange(3), rng.choice(["a", "b"]), b"%d" % rng.randrange(9)))
            for key in picked
        ]
        blocks, start = [], 0
        while start < len(entries):
            size = rng.randrange(1, 6)
            blocks.append(entries[start : start + size])
            start += size
        out.append(blocks)
    return out


@pytest.mark.parametrize("seed", range(12))
def test_the_heap_and_the_watermark_merges_agree_with_a_sort(seed: int) -> None:
    rng = random.Random(seed)
    runs = sorted_runs(rng, rng.randrange(1, 40), rng.randrange(1, 80))
    every = sorted(entry for blocks in runs for block in blocks for entry in block)
    expected = {}
    for key, pref in reversed(every):
        expected[key] = pref
    expected_list = sorted(expected.items())
    heap = [e for b in dedup._heap_merge([iter(r) for r in runs]) for e in b]
    mark = [e for b in dedup._watermark_merge([iter(r) for r in runs]) for e in b]
    assert heap == mark == expected_list


@pytest.mark.parametrize("encrypt", [False, True])
def test_times_past_64_bit_nanoseconds_spill_and_merge(tmp_path: Path, encrypt: bool) -> None:
    """Years past 2262 or before 1678 take the spill's wide form; the rule is unchanged."""
    rows = [
        row("k", "9999-12-31T23:59:59Z", "a", "late"),
        row("k", "0001-01-01T00:00:00Z", "a", "early"),
        row("k", "2024-05-01T06:18:04Z", "a", "now"),
        row("j", "0001-01-01T00:00:00Z", "a", "only"),
    ]
    for order in (1, -1):
        out = run_all(rows[::order], tmp_path, memory_bytes=0, encrypt_spill=encrypt)
        assert out == {"s": [b"only", b"late"]}


def test_many_runs_merge_entry_by_entry_and_few_by_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both ways of merging give the naive reference's bytes (FAN_IN large: one pass)."""
    rows = sample_rows(random.Random(11), 1500, 2, 400)
    for sources in (0, 1000):
        monkeypatch.setattr(dedup, "WATERMARK_SOURCES", sources)
        assert run_all(rows, tmp_path, memory_bytes=4000) == reference(rows)
        assert list(tmp_path.iterdir()) == []

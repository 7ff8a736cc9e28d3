"""Fanned-out rows spliced together: a record's own columns encoded once, each member's added.

A record with a membership map becomes one row per member, and the rows differ only in the
member's segment columns (id, name, status, qualification time). For a format whose row is
its fields' texts joined by a separator, each field written by itself (CSV, every dialect),
the record's own columns can be encoded once, in the runs they form between the member's
columns, and each member's row spliced from those pieces and its own: the bytes of encoding
the whole row, for a fraction of the work. Pure functions, no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from operator import itemgetter
from typing import Any

Encoder = Callable[[Any], bytes]
"""A row's field texts (a sequence; None for a null) to its line, ending in a newline."""
RecordRows = Callable[[Sequence[Any]], Callable[[Sequence[Any]], bytes]]
"""The record's own texts (all columns) to the function making each member's line."""


def column_runs(width: int, member_at: Mapping[int, int]) -> list[tuple[bool, list[int]]]:
    """The columns in maximal runs of the record's own (False) and the member's (True)."""
    runs: list[tuple[bool, list[int]]] = []
    for index in range(width):
        is_member = index in member_at
        if runs and runs[-1][0] == is_member:
            runs[-1][1].append(index)
        else:
            runs.append((is_member, [index]))
    return runs


def _picker(indexes: Sequence[int]) -> Callable[[Sequence[Any]], Sequence[Any]]:
    """The values at `indexes`, as a tuple or list (one C call for two or more)."""
    if len(indexes) == 1:
        (only,) = indexes
        return lambda values: [values[only]]
    return itemgetter(*indexes)  # a tuple, for 2 or more


def spliced_rows(
    width: int,
    member_at: Mapping[int, int],
    encoder_of: Callable[[Sequence[int]], Encoder],
    separator: bytes,
) -> RecordRows | None:
    """How to make a fanned-out record's rows from pieces, or None when there is no gain.

    Args:
        width: The number of columns.
        member_at: Column index -> which member value it holds (0 id, 1 name, 2 status,
            3 qualification time).
        encoder_of: The row encoder for the columns at some indexes (in order).
        separator: What joins two fields' texts in a line.

    Returns:
        `for_record(texts)` (the record's own column texts, by column index; the member's
        columns are not read) returning `line_of(member_texts)` (the member's four texts)
        -> the row's line; None when every column, or none, is the member's.
    """
    runs = column_runs(width, member_at)
    if len(runs) < 2:  # one run: nothing to splice
        return None
    pieces: list[tuple[bool, Callable[[Sequence[Any]], Sequence[Any]], Encoder]] = []
    for is_member, indexes in runs:
        sources = [member_at[index] for index in indexes] if is_member else indexes
        pieces.append((is_member, _picker(sources), encoder_of(indexes)))
    if [is_member for is_member, _, _ in pieces] == [False, True]:  # the member's last
        (_, pick_own, encode_own), (_, pick_member, encode_member) = pieces

        def for_record_then_member(texts: Sequence[Any]) -> Callable[[Sequence[Any]], bytes]:
            prefix = encode_own(pick_own(texts))[:-1] + separator
            return lambda member: prefix + encode_member(pick_member(member))

        return for_record_then_member

    def for_record(texts: Sequence[Any]) -> Callable[[Sequence[Any]], bytes]:
        own = [
            None if is_member else encode(pick(texts))[:-1] for is_member, pick, encode in pieces
        ]

        def line_of(member: Sequence[Any]) -> bytes:
            parts = [
                encode(pick(member))[:-1] if is_member else part
                for (is_member, pick, encode), part in zip(pieces, own, strict=True)
            ]
            return separator.join(parts) + b"\n"  # type: ignore[arg-type]  # no None left

        return line_of

    return for_record

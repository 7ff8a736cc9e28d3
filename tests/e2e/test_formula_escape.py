"""csv_formula_escape through the CLI: formula-like strings get a leading `'`, nothing else."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.support.helpers import export_and_take, record_message, schema_message

SCHEMA = {
    "type": "object",
    "properties": {
        "segment_id": {"type": "string"},
        "note": {"type": ["string", "null"]},
        "delta": {"type": ["integer", "null"]},
    },
}
NOTES = ["=SUM(A1:A2)", "+1 555 0100", "-x", "@cmd", "\tpad", "\rcr", "plain", "a=b", "", None]


def _rows(objects: dict[str, bytes]) -> list[str]:
    (body,) = objects.values()
    return body.decode().splitlines()


def _messages() -> list[dict[str, Any]]:
    return [schema_message("m", SCHEMA)] + [
        record_message("m", {"segment_id": "s", "note": note, "delta": -5}) for note in NOTES
    ]


def test_off_by_default_values_are_written_as_received(
    config: dict, s3: Any, tmp_path: Path
) -> None:
    _, found = export_and_take(config, _messages(), tmp_path, s3)
    rows = _rows(found)
    assert rows[1] == "s\t=SUM(A1:A2)\t-5"
    assert rows[3] == "s\t-x\t-5"


def test_on_escapes_formula_strings_but_not_numbers(config: dict, s3: Any, tmp_path: Path) -> None:
    _, found = export_and_take({**config, "csv_formula_escape": True}, _messages(), tmp_path, s3)
    body = b"".join(found.values()).decode()
    assert body == (
        "segment_id\tnote\tdelta\n"
        "s\t'=SUM(A1:A2)\t-5\n"
        "s\t'+1 555 0100\t-5\n"
        "s\t'-x\t-5\n"
        "s\t'@cmd\t-5\n"
        's\t"\'\tpad"\t-5\n'
        's\t"\'\rcr"\t-5\n'
        "s\tplain\t-5\n"
        "s\ta=b\t-5\n"
        "s\t\t-5\n"
        "s\t\t-5\n"
    )


def test_ndjson_files_are_never_escaped(config: dict, s3: Any, tmp_path: Path) -> None:
    settings = {**config, "csv_formula_escape": True, "file_type": "json"}
    _, found = export_and_take(settings, _messages(), tmp_path, s3)
    notes = [json.loads(line)["note"] for line in _rows(found)]
    assert notes == NOTES

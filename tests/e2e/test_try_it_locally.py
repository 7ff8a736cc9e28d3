"""docs/try-it-locally.md, run as written: its `sh` blocks, in order, in one bash.

The blocks run in a temp folder laid out like a clone's root (`.venv` and `demo/` linked
in), with `PORT` set to a free port: the doc's one documented variable. What they print is
checked: the `--check` lines, the three files listed, the header and a row read back, the
STATE kept in state.json, and the server gone after the last block.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.support.s3_servers import free_port

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "try-it-locally.md"
SH_BLOCK = re.compile(r"^```sh\n(.*?)^```$", re.MULTILINE | re.DOTALL)
SEGMENTS = {
    "Luxury Audience": "25768be6-4a1c-4f0e-9d3e-3c0b8a1e5f10",
    "Lapsed Buyers": "8f14e45f-ceea-467a-9af0-2b1c3d4e5f60",
    "Newsletter Fans": "c9f0f895-fb98-4b91-8d7e-1a2b3c4d5e6f",
}


def blocks() -> list[str]:
    return SH_BLOCK.findall(DOC.read_text(encoding="utf-8"))


def test_the_doc_walks_every_step() -> None:
    """Start, bucket, config, check and export, list and read, stop: each is a shell block."""
    steps = blocks()
    assert len(steps) == 6
    start, bucket, config, export, read, stop = steps
    assert 'moto_server -H 127.0.0.1 -p "$PORT"' in start
    assert 'PORT="${PORT:-9000}"' in start
    assert "create_bucket(Bucket='my-audiences')" in bucket
    assert "cat > config.json" in config
    assert "target-adobe-s3 --config config.json < demo/sample.singer > state.json" in export
    assert "list_objects_v2" in read
    assert "get_object" in read
    assert stop.strip() == 'kill "$MOTO_PID"'


def port_is_closed(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) != 0


def test_the_doc_runs_as_written(tmp_path: Path) -> None:
    (tmp_path / ".venv").symlink_to(Path(sys.prefix))  # the venv running the tests
    (tmp_path / "demo").symlink_to(ROOT / "demo")
    port = free_port()
    process = subprocess.Popen(
        ["bash", "-euo", "pipefail", "-c", "\n".join(blocks())],
        cwd=tmp_path,
        env={**os.environ, "PORT": str(port)},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group: the server goes with it on failure
    )
    try:
        stdout, stderr = process.communicate(timeout=300)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 0, stderr
    lines = stdout.splitlines()

    config = json.loads((tmp_path / "config.json").read_text())
    assert config["endpoint_url"] == f"http://127.0.0.1:{port}"
    checked = [line.split()[:2] for line in lines if " s3:" in line]  # `status  action  ...`
    assert ["ok", "s3:PutObject"] in checked
    assert all(status == "ok" for status, _ in checked), stdout

    keys = [line for line in lines if line.startswith("acme/")]
    assert len(keys) == 3, stdout
    for key, (name, segment_id) in zip(keys, sorted(SEGMENTS.items()), strict=True):
        pattern = rf"acme/campaigns/{name}/Local_Try_segment{segment_id}_\d{{8}}_\d{{6}}\.csv"
        assert re.fullmatch(pattern, key), key
    first = lines[lines.index(keys[-1]) + 1 :]  # Lapsed Buyers, the first key in order
    assert first[0] == "email\tfirst_name\tsegment_status"
    assert "bruno.moreau1@example.com\tBruno\trealized" in first[1:]
    assert len([row for row in first[1:] if row]) == 8

    state = {"bookmarks": {"segment_members": {"offset": 24}}}
    assert json.loads((tmp_path / "state.json").read_text()) == state
    assert json.dumps(state) in lines

    deadline = time.monotonic() + 30  # `kill` returns before the server has exited
    while not port_is_closed(port) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert port_is_closed(port), "the last block left the server running"

"""The target killed while a multipart upload is in flight: nothing partial under a final key.

The proxy (tests/support/faultproxy.py) holds part 2 of segment `b`'s upload unanswered (part 1
went up while input was read; part 2, the last, goes when input ends); the test waits on
the proxy's event that says the part has arrived (no sleeps, no timing), then signals the
target. Segment `a` goes up whole beside it.
SIGTERM during input reading is tested in tests/e2e/test_failures.py.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from target_adobe_s3.files.spool import STALE_AFTER
from target_adobe_s3.s3.upload import PART_SIZE
from tests.support.faultproxy import FaultProxy, Rule
from tests.support.helpers import (
    MEMBER_SCHEMA,
    TARGET,
    big_segment_records,
    objects,
    open_uploads,
    record_message,
    rows_by_segment,
    run_target,
    schema_message,
    sent_by_segment,
    singer_text,
    state_message,
    write_config,
)

STATE = {"bookmark": 7}
BIG_KEY = "amazon_s3_segmentb_20240501_061804.csv"
PART_2 = r"[?&]partNumber=2(&|$)"
INPUT = singer_text(
    [
        schema_message("m", MEMBER_SCHEMA),
        *(record_message("m", {"segment_id": "a", "email": f"{i}@x.com"}) for i in range(20)),
        *big_segment_records("b", PART_SIZE + 1024 * 1024, seed=9),
        state_message(STATE),
    ]
).encode()
SENT = sent_by_segment(INPUT)


@pytest.fixture
def proxy(s3_endpoint: str) -> Iterator[FaultProxy]:
    with FaultProxy(s3_endpoint) as running:
        yield running


@pytest.fixture
def via_proxy(config: dict[str, Any], proxy: FaultProxy) -> dict[str, Any]:
    """Through the proxy; the timeout is long so the held part never times out."""
    return {**config, "endpoint_url": proxy.url, "request_timeout": 120}


def start_and_hold_part_2(
    config: dict[str, Any], proxy: FaultProxy, tmp_path: Path
) -> tuple[subprocess.Popen[bytes], Rule]:
    """Start the target on INPUT; returns once part 2 of `b` is held by the proxy."""
    rule = proxy.add("stall", method="PUT", pattern=PART_2)
    out, err = (tmp_path / "stdout").open("wb"), (tmp_path / "stderr").open("wb")
    with out, err:
        process = subprocess.Popen(
            [TARGET, "--config", str(write_config(config, tmp_path))],
            stdin=subprocess.PIPE,
            stdout=out,
            stderr=err,
        )
    assert process.stdin is not None
    with process.stdin:
        process.stdin.write(INPUT)
    if not rule.hit.wait(120):
        process.kill()
        process.wait()
        pytest.fail("part 2 never reached the proxy: " + (tmp_path / "stderr").read_text())
    return process, rule


def assert_every_object_complete(s3: Any, bucket: str) -> dict[str, bytes]:
    """Each object in the bucket holds every row of its segment (and nothing else)."""
    found = objects(s3, bucket)
    for key, data in found.items():
        rows = rows_by_segment({key: data})
        assert len(rows) == 1, key
        ((segment, values),) = rows.items()
        assert values == SENT[segment], f"{key} is not the whole of segment {segment}"
    return found


def test_sigkill_mid_upload_leaves_nothing_partial_and_a_rerun_delivers(
    via_proxy: dict[str, Any], proxy: FaultProxy, s3: Any, tmp_path: Path, spool_dir: Path
) -> None:
    bucket = via_proxy["bucket"]
    process, _rule = start_and_hold_part_2(via_proxy, proxy, tmp_path)
    process.kill()
    assert process.wait(60) == -signal.SIGKILL
    proxy.clear()
    assert (tmp_path / "stdout").read_bytes() == b""  # no STATE
    # Segment `a` may have gone up whole beside `b` (files go up in parallel); `b` is not
    # an object, only an upload that was never completed (SIGKILL leaves no chance to
    # abort it).
    assert set(assert_every_object_complete(s3, bucket)) <= {BIG_KEY.replace("b_", "a_")}
    assert open_uploads(s3, bucket) == [BIG_KEY]
    # SIGKILL leaves the run's private spool directory behind, files and all.
    (stale,) = spool_dir.iterdir()
    assert stale.name.startswith("target-adobe-s3-")
    assert stat.S_IMODE(stale.stat().st_mode) == 0o700
    # `a`'s whole file and `b`'s two part buffers (part 1's, emptied for reuse once it is
    # up, and part 2's, held by the proxy): never `b`'s whole file, at most a part each.
    left = sorted(stale.iterdir())
    assert [p.name[:11] for p in left] == ["part-000001", "part-000002", "part-000003"]
    assert max(p.stat().st_size for p in left) <= PART_SIZE

    rerun = run_target({**via_proxy, "request_timeout": 10}, INPUT, tmp_path)
    assert rerun.returncode == 0, rerun.stderr
    assert rerun.stdout_lines == [json.dumps(STATE)]
    found = assert_every_object_complete(s3, bucket)
    assert rows_by_segment(found) == SENT
    assert list(spool_dir.iterdir()) == [stale]  # too recent to judge: it is left alone
    assert open_uploads(s3, bucket) == [BIG_KEY]  # the killed run's upload is still open

    # Ten minutes on, the next run removes what the killed one left, and says so.
    old = time.time() - STALE_AFTER - 1
    for path in [stale, *stale.iterdir()]:
        os.utime(path, (old, old))
    later = run_target({**via_proxy, "request_timeout": 10}, INPUT, tmp_path)
    assert later.returncode == 0, later.stderr
    assert f"Removed {stale}, left by an earlier run that was killed" in later.stderr
    assert list(spool_dir.iterdir()) == []


def test_sigterm_mid_upload_aborts_it(
    via_proxy: dict[str, Any], proxy: FaultProxy, s3: Any, tmp_path: Path, spool_dir: Path
) -> None:
    bucket = via_proxy["bucket"]
    process, _rule = start_and_hold_part_2(via_proxy, proxy, tmp_path)
    os.kill(process.pid, signal.SIGTERM)
    assert process.wait(60) == 128 + signal.SIGTERM
    assert (tmp_path / "stdout").read_bytes() == b""
    stderr = (tmp_path / "stderr").read_text()
    assert "Stopped by SIGTERM" in stderr
    assert "Traceback" not in stderr
    assert open_uploads(s3, bucket) == []
    assert [seen.status for seen in proxy.seen("DELETE", r"\?uploadId=")] == [204]
    assert BIG_KEY not in assert_every_object_complete(s3, bucket)
    assert list(spool_dir.iterdir()) == []


@pytest.mark.parametrize("refusal", ["not_implemented", "access_denied"])
def test_sigterm_aborts_the_upload_by_its_id_when_listing_uploads_is_refused(
    via_proxy: dict[str, Any],
    proxy: FaultProxy,
    s3: Any,
    tmp_path: Path,
    spool_dir: Path,
    refusal: str,
) -> None:
    """A server answering ListMultipartUploads with 501 (s3rver), or a policy without
    s3:ListBucketMultipartUploads: the run's own upload is still aborted, by its id."""
    bucket = via_proxy["bucket"]
    listing = proxy.add(refusal, method="GET", pattern=r"[?&]uploads(=|&|$)", times=None)
    process, _rule = start_and_hold_part_2(via_proxy, proxy, tmp_path)
    os.kill(process.pid, signal.SIGTERM)
    assert process.wait(60) == 128 + signal.SIGTERM
    assert (tmp_path / "stdout").read_bytes() == b""
    assert "Traceback" not in (tmp_path / "stderr").read_text()
    assert open_uploads(s3, bucket) == []  # listed straight from the server
    aborts = proxy.seen("DELETE", r"\?uploadId=")
    assert [(seen.target.split("?")[0].rsplit("/", 1)[1], seen.status) for seen in aborts] == [
        (BIG_KEY, 204)
    ]
    assert listing.fired >= 1  # the best-effort listing was tried, and refused
    assert BIG_KEY not in assert_every_object_complete(s3, bucket)
    assert list(spool_dir.iterdir()) == []

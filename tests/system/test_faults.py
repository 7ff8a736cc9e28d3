"""S3 faults between the target and the server: retried as configured, else a clean failure.

The target CLI runs as a subprocess with `endpoint_url` pointing at tests/support/faultproxy.py,
which forwards to the local moto server and injects 500s, 503 SlowDowns, connection
resets in the middle of a request body and stalls. Objects are compared byte for byte
with those of a clean run of the same input and config (fixed export_time and run_id).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from target_adobe_s3.s3.upload import PART_SIZE
from tests.support.faultproxy import FaultProxy
from tests.support.helpers import (
    MEMBER_SCHEMA,
    TARGET,
    Run,
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

STATE = {"bookmark": 42}
SMALL_KEY = "amazon_s3_segmenta_20240501_061804.csv"
"""Segment `a`: a few rows, one PutObject, uploaded first (segments go in id order)."""
BIG_KEY = "amazon_s3_segmentb_20240501_061804.csv"
"""Segment `b`: over PART_SIZE even gzipped, a multipart upload of two parts."""
PART_1 = r"[?&]partNumber=1(&|$)"
PART_2 = r"[?&]partNumber=2(&|$)"
COMPLETE = r"\?uploadId=[^&]+$"


def export_input(big_size: int) -> bytes:
    """Segment `a` (20 rows), then segment `b` with over `big_size` bytes of rows, a STATE."""
    return singer_text(
        [
            schema_message("m", MEMBER_SCHEMA),
            *(record_message("m", {"segment_id": "a", "email": f"{i}@x.com"}) for i in range(20)),
            *big_segment_records("b", big_size, seed=5),
            state_message(STATE),
        ]
    ).encode()


INPUT = export_input(PART_SIZE + 1024 * 1024)
"""Segment `b`'s plain CSV is a part of PART_SIZE and a part of about 1 MiB."""
INPUT_GZ = export_input(PART_SIZE * 3 // 2)
"""Large enough for segment `b` to need two parts even gzipped and encrypted."""


class Baseline:
    """Objects of clean runs (no proxy) of INPUT, per config variant, made once."""

    def __init__(self, s3: Any, config: dict[str, Any], tmp: Path) -> None:
        self.s3, self.config, self.tmp = s3, config, tmp
        self._found: dict[str, dict[str, bytes]] = {}

    def objects(self, data: bytes = INPUT, **changes: Any) -> dict[str, bytes]:
        name = json.dumps(changes, sort_keys=True) + str(hash(data))
        if name not in self._found:
            run = run_target({**self.config, **changes}, data, self.tmp)
            assert run.returncode == 0, run.stderr
            found = objects(self.s3, self.config["bucket"])
            for key in found:
                self.s3.delete_object(Bucket=self.config["bucket"], Key=key)
            self._found[name] = found
        return self._found[name]


@pytest.fixture(scope="module")
def baseline(s3: Any, s3_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Baseline:
    tmp = tmp_path_factory.mktemp("baseline")
    s3.create_bucket(Bucket="faults-baseline")
    config = {
        "bucket": "faults-baseline",
        "endpoint_url": s3_endpoint,
        "region": "us-east-1",
        "export_time": "2024-05-01T06:18:04Z",
        "run_id": "run-1",
        "temp_dir": str(tmp),
    }
    return Baseline(s3, config, tmp)


@pytest.fixture
def proxy(s3_endpoint: str) -> Iterator[FaultProxy]:
    with FaultProxy(s3_endpoint) as running:
        yield running


@pytest.fixture
def via_proxy(config: dict[str, Any], proxy: FaultProxy) -> dict[str, Any]:
    """The test's config, with the target talking to S3 through the proxy."""
    return {**config, "endpoint_url": proxy.url, "retry_max_attempts": 3, "request_timeout": 5}


def assert_delivered(run: Run, s3: Any, bucket: str, expected: dict[str, bytes]) -> None:
    assert run.returncode == 0, run.stderr
    assert run.stdout_lines == [json.dumps(STATE)]
    assert objects(s3, bucket) == expected
    assert open_uploads(s3, bucket) == []


def assert_failed_cleanly(run: Run, s3: Any, bucket: str, spool_dir: Path, key: str) -> str:
    """Exit 1, one error line naming the object, no STATE, nothing left open or spooled."""
    assert run.returncode == 1
    assert run.stdout == ""
    assert "Traceback" not in run.stderr
    errors = [line for line in run.stderr.splitlines() if "Export failed" in line]
    assert len(errors) == 1, run.stderr
    assert f"s3://{bucket}/{key}" in errors[0]
    assert open_uploads(s3, bucket) == []
    assert list(spool_dir.iterdir()) == []
    return errors[0]


def outcomes(proxy: FaultProxy, method: str, pattern: str) -> list[str | int | None]:
    """What each attempt of matching requests got: the fault's name or the status."""
    return [seen.fault or seen.status for seen in proxy.seen(method, pattern)]


# --- the client ------------------------------------------------------------------------


def test_check_command_retries_through_faults(
    via_proxy: dict[str, Any], proxy: FaultProxy, s3: Any, tmp_path: Path
) -> None:
    proxy.add("internal_error", method="PUT", pattern="target-adobe-s3-check-")
    proxy.add("slow_down", method="GET", pattern="target-adobe-s3-check-")
    done = subprocess.run(
        [TARGET, "--config", str(write_config(via_proxy, tmp_path)), "--check"],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert outcomes(proxy, "PUT", "check-") == ["internal_error", 200]
    # The probe's GetObject (the listing of its multipart upload is a GET too, `?uploads&prefix=`)
    assert outcomes(proxy, "GET", r"/target-adobe-s3-check-\w+\.txt$") == ["slow_down", 200]
    assert objects(s3, via_proxy["bucket"]) == {}  # the probe was deleted


# --- transient faults: retried, the run delivers what a clean run does ------------------


@pytest.mark.parametrize(
    ("fault", "method", "pattern", "mode"),
    [
        ("internal_error", "PUT", PART_2, "standard"),
        ("slow_down", "PUT", SMALL_KEY, "adaptive"),
        ("internal_error", "POST", COMPLETE, "standard"),
        ("reset", "PUT", PART_1, "standard"),
        ("reset", "PUT", SMALL_KEY, "standard"),
    ],
)
def test_one_fault_is_retried(
    via_proxy: dict[str, Any],
    proxy: FaultProxy,
    baseline: Baseline,
    s3: Any,
    tmp_path: Path,
    fault: str,
    method: str,
    pattern: str,
    mode: str,
) -> None:
    proxy.add(fault, method=method, pattern=pattern)
    run = run_target({**via_proxy, "retry_mode": mode}, INPUT, tmp_path)
    assert_delivered(run, s3, via_proxy["bucket"], baseline.objects())
    assert outcomes(proxy, method, pattern) == [fault, 200]


def test_lost_answers_are_retried_and_leave_no_upload_open(
    via_proxy: dict[str, Any], proxy: FaultProxy, baseline: Baseline, s3: Any, tmp_path: Path
) -> None:
    """S3 acted, the client never heard: the retried create must not orphan an upload."""
    proxy.add("drop_answer", method="POST", pattern=r"\?uploads")
    proxy.add("drop_answer", method="PUT", pattern=PART_1)
    proxy.add("drop_answer", method="POST", pattern=COMPLETE)
    run = run_target(via_proxy, INPUT, tmp_path)
    assert_delivered(run, s3, via_proxy["bucket"], baseline.objects())
    assert outcomes(proxy, "POST", r"\?uploads") == ["drop_answer", 200]
    assert outcomes(proxy, "PUT", PART_1) == ["drop_answer", 200]
    assert outcomes(proxy, "POST", COMPLETE) == ["drop_answer", 200]


def test_stall_past_the_timeout_is_retried(
    via_proxy: dict[str, Any], proxy: FaultProxy, baseline: Baseline, s3: Any, tmp_path: Path
) -> None:
    proxy.add("stall", method="PUT", pattern=PART_2)
    run = run_target({**via_proxy, "request_timeout": 1}, INPUT, tmp_path)
    assert_delivered(run, s3, via_proxy["bucket"], baseline.objects())
    assert outcomes(proxy, "PUT", PART_2) == ["stall", 200]


def test_stall_while_sending_a_part_is_retried(
    via_proxy: dict[str, Any], proxy: FaultProxy, baseline: Baseline, s3: Any, tmp_path: Path
) -> None:
    proxy.add("stall_mid_body", method="PUT", pattern=PART_1)
    run = run_target({**via_proxy, "request_timeout": 1}, INPUT, tmp_path)
    assert_delivered(run, s3, via_proxy["bucket"], baseline.objects())
    assert outcomes(proxy, "PUT", PART_1) == ["stall_mid_body", 200]


def test_slow_answer_within_the_timeout_is_not_retried(
    via_proxy: dict[str, Any], proxy: FaultProxy, baseline: Baseline, s3: Any, tmp_path: Path
) -> None:
    proxy.add("delay", method="PUT", pattern=PART_1, seconds=0.5)
    run = run_target({**via_proxy, "request_timeout": 10}, INPUT, tmp_path)
    assert_delivered(run, s3, via_proxy["bucket"], baseline.objects())
    assert outcomes(proxy, "PUT", PART_1) == ["delay"]


def test_faults_with_gzip_and_encryption(
    via_proxy: dict[str, Any],
    proxy: FaultProxy,
    baseline: Baseline,
    s3: Any,
    tmp_path: Path,
    gpg_keys: Any,
) -> None:
    encrypted = {"compression": "gzip", "pgp_public_key": gpg_keys.public["cv25519"]}
    clean = baseline.objects(INPUT_GZ, **encrypted)
    proxy.add("reset", method="PUT", pattern=PART_1)
    proxy.add("internal_error", method="PUT", pattern=PART_2)
    proxy.add("slow_down", method="PUT", pattern=SMALL_KEY)
    run = run_target({**via_proxy, **encrypted}, INPUT_GZ, tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout_lines == [json.dumps(STATE)]
    found = objects(s3, via_proxy["bucket"])
    assert sorted(found) == sorted(clean) == [SMALL_KEY + ".gz.gpg", BIG_KEY + ".gz.gpg"]
    assert len(found[BIG_KEY + ".gz.gpg"]) > PART_SIZE  # really two parts
    for key, data in found.items():
        mine, theirs = gpg_keys.decrypt(data), gpg_keys.decrypt(clean[key])
        assert mine.ok, mine.status
        assert mine.plaintext == theirs.plaintext
    assert outcomes(proxy, "PUT", PART_1) == ["reset", 200]
    assert outcomes(proxy, "PUT", PART_2) == ["internal_error", 200]
    assert open_uploads(s3, via_proxy["bucket"]) == []


# --- persistent faults: a clean failure after exactly retry_max_attempts attempts ------


@pytest.mark.parametrize(
    ("fault", "pattern", "key"),
    [
        ("internal_error", PART_1, BIG_KEY),
        ("slow_down", SMALL_KEY, SMALL_KEY),
        ("reset", PART_2, BIG_KEY),
        ("stall", PART_1, BIG_KEY),
    ],
)
def test_persistent_fault_fails_cleanly(
    via_proxy: dict[str, Any],
    proxy: FaultProxy,
    s3: Any,
    tmp_path: Path,
    spool_dir: Path,
    fault: str,
    pattern: str,
    key: str,
) -> None:
    proxy.add(fault, method="PUT", pattern=pattern, times=None)
    config = {**via_proxy, "retry_max_attempts": 2, "request_timeout": 1}
    run = run_target(config, INPUT, tmp_path)
    error = assert_failed_cleanly(run, s3, config["bucket"], spool_dir, key)
    assert outcomes(proxy, "PUT", pattern) == [fault, fault]
    delivered = objects(s3, config["bucket"])
    assert key not in delivered
    # Files go up in parallel: another one may have landed, whole; the failing one never.
    assert set(delivered) <= {SMALL_KEY, BIG_KEY} - {key}
    if key == BIG_KEY:
        assert len(proxy.seen("DELETE", r"\?uploadId=")) == 1  # the upload was aborted
    assert "No STATE was emitted" in error


def test_create_answers_always_lost_fails_and_leaves_no_upload_open(
    via_proxy: dict[str, Any], proxy: FaultProxy, s3: Any, tmp_path: Path, spool_dir: Path
) -> None:
    proxy.add("drop_answer", method="POST", pattern=r"\?uploads", times=None)
    run = run_target({**via_proxy, "retry_max_attempts": 2}, INPUT, tmp_path)
    assert_failed_cleanly(run, s3, via_proxy["bucket"], spool_dir, BIG_KEY)
    # S3 made an upload at each attempt; the target never learnt their ids.
    assert outcomes(proxy, "POST", r"\?uploads") == ["drop_answer", "drop_answer"]
    assert len(proxy.seen("DELETE", r"\?uploadId=")) == 2


@pytest.mark.parametrize(("failures", "attempts", "ok"), [(2, 3, True), (2, 2, False)])
def test_retry_max_attempts_is_honoured(
    via_proxy: dict[str, Any],
    proxy: FaultProxy,
    baseline: Baseline,
    s3: Any,
    tmp_path: Path,
    spool_dir: Path,
    failures: int,
    attempts: int,
    ok: bool,
) -> None:
    proxy.add("internal_error", method="PUT", pattern=PART_2, times=failures)
    run = run_target({**via_proxy, "retry_max_attempts": attempts}, INPUT, tmp_path)
    if ok:
        assert_delivered(run, s3, via_proxy["bucket"], baseline.objects())
        assert outcomes(proxy, "PUT", PART_2) == ["internal_error"] * failures + [200]
    else:
        assert_failed_cleanly(run, s3, via_proxy["bucket"], spool_dir, BIG_KEY)
        assert outcomes(proxy, "PUT", PART_2) == ["internal_error"] * attempts


def test_single_attempt_means_no_retry(
    via_proxy: dict[str, Any], proxy: FaultProxy, s3: Any, tmp_path: Path, spool_dir: Path
) -> None:
    proxy.add("slow_down", method="PUT", pattern=SMALL_KEY)
    run = run_target({**via_proxy, "retry_max_attempts": 1}, INPUT, tmp_path)
    error = assert_failed_cleanly(run, s3, via_proxy["bucket"], spool_dir, SMALL_KEY)
    assert "SlowDown" in error
    assert outcomes(proxy, "PUT", SMALL_KEY) == ["slow_down"]
    assert objects(s3, via_proxy["bucket"]) == {}


# --- a later file fails after an earlier one was delivered ----------------------------


def test_later_file_fails_then_rerun_delivers_everything(
    via_proxy: dict[str, Any],
    proxy: FaultProxy,
    baseline: Baseline,
    s3: Any,
    tmp_path: Path,
    spool_dir: Path,
) -> None:
    clean = baseline.objects()
    bucket = via_proxy["bucket"]
    # `b`'s first part went up during input; after it, one thread takes the rest in
    # order: `b`'s last part, `a` (put whole and verified), then `b`'s completion fails.
    rule = proxy.add("internal_error", method="POST", pattern=COMPLETE, times=None)
    config = {**via_proxy, "retry_max_attempts": 2, "upload_concurrency": 1}
    failed = run_target(config, INPUT, tmp_path)
    assert_failed_cleanly(failed, s3, bucket, spool_dir, BIG_KEY)
    # At least once: the earlier file stays, complete; the failed one is absent.
    assert objects(s3, bucket) == {SMALL_KEY: clean[SMALL_KEY]}
    proxy.clear()
    assert rule.fired == 2
    rerun = run_target(config, INPUT, tmp_path)
    assert_delivered(rerun, s3, bucket, clean)
    assert rows_by_segment(objects(s3, bucket)) == sent_by_segment(INPUT)
    assert list(spool_dir.iterdir()) == []


@pytest.mark.parametrize("refusal", ["access_denied", "not_implemented"])
def test_a_failure_aborts_the_other_uploads_by_id_when_listing_is_refused(
    via_proxy: dict[str, Any],
    proxy: FaultProxy,
    s3: Any,
    tmp_path: Path,
    spool_dir: Path,
    refusal: str,
) -> None:
    """Segment `a` fails while `b`'s part 2 hangs in its thread: the main thread aborts
    `b`'s upload by its UploadId, though ListMultipartUploads is refused."""
    bucket = via_proxy["bucket"]
    held = proxy.add("stall", method="PUT", pattern=PART_2)
    proxy.add("internal_error", method="PUT", pattern=SMALL_KEY, times=None, gate=held.hit)
    listing = proxy.add(refusal, method="GET", pattern=r"[?&]uploads(=|&|$)", times=None)
    config = {**via_proxy, "retry_max_attempts": 1, "request_timeout": 60}
    run = run_target(config, INPUT, tmp_path)
    error = assert_failed_cleanly(run, s3, bucket, spool_dir, SMALL_KEY)  # none left open
    assert "InternalError" in error
    assert outcomes(proxy, "DELETE", r"\?uploadId=") == [204]
    assert listing.fired >= 1
    assert objects(s3, bucket) == {}

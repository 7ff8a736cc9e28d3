"""STATE is released only after every file holding earlier records is in S3."""

from __future__ import annotations

import io
import logging
from contextlib import redirect_stdout
from typing import Any

import pytest

from target_adobe_s3.errors import DeliveryError
from target_adobe_s3.export import Export
from target_adobe_s3.target import TargetAdobeS3
from tests.support.helpers import (
    MEMBER_SCHEMA,
    objects,
    record_message,
    schema_message,
    singer_text,
)
from tests.support.helpers import state_message as state

MESSAGES = [
    schema_message("m", MEMBER_SCHEMA),
    record_message("m", {"segment_id": "s1", "email": "a@x.com"}),
    state({"n": 1}),
    record_message("m", {"segment_id": "s2", "email": "b@x.com"}),
    state({"n": 2}),
]


@pytest.mark.parametrize("validation", ["types", "full"])
def test_mid_run_drains_hold_state_until_upload(
    config: dict,
    s3: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    validation: str,
) -> None:
    """Full validation takes the SDK's record path, which drains per record here."""
    target = TargetAdobeS3(config={**config, "schema_validation": validation})
    target._MAX_RECORD_AGE_IN_MINUTES = -1.0
    out = io.StringIO()
    seen_at_delivery: list[str] = []
    deliver = Export.deliver

    def spy(self: Export) -> Any:
        result = deliver(self)
        seen_at_delivery.append(out.getvalue())
        return result

    monkeypatch.setattr(Export, "deliver", spy)
    with caplog.at_level(logging.INFO), redirect_stdout(out):
        target.process_lines(io.StringIO(singer_text(MESSAGES)))
        if validation == "full":
            assert "Draining all sinks" in caplog.text  # the SDK did drain mid-run
        assert out.getvalue() == ""  # ...and no STATE escaped
        assert objects(s3, config["bucket"]) == {}
        target.process_endofpipe()
    assert seen_at_delivery == [""]  # nothing on stdout while files were uploading
    assert out.getvalue().splitlines() == ['{"n": 2}']
    assert len(objects(s3, config["bucket"])) == 2


def test_failed_delivery_emits_no_state(config: dict, s3: Any) -> None:
    target = TargetAdobeS3(config=config)
    out = io.StringIO()
    with redirect_stdout(out):
        target.process_lines(io.StringIO(singer_text(MESSAGES)))
        s3.delete_bucket(Bucket=config["bucket"])  # the destination disappears mid-run
        with pytest.raises(DeliveryError, match="NoSuchBucket"):
            target.process_endofpipe()
    assert out.getvalue() == ""

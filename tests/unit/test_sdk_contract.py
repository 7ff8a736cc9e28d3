"""Fails loudly when the SDK names this target overrides or relies on change.

The target replaces a few private hooks of singer-sdk (pinned to 0.54.x in
pyproject.toml). When upgrading the SDK, this test says which ones moved.
"""

from __future__ import annotations

import inspect
import re
from importlib.metadata import version

import pytest
from singer_sdk import plugin_base
from singer_sdk.contrib import msgspec as sdk_msgspec
from singer_sdk.singerlib.encoding import GenericSingerReader
from singer_sdk.sinks import RecordSink
from singer_sdk.sinks import core as sink_core
from singer_sdk.sinks.core import Sink
from singer_sdk.target_base import Target


def test_sdk_minor_version_is_the_pinned_one() -> None:
    assert version("singer-sdk").startswith("0.54.")


@pytest.mark.parametrize(
    ("owner", "name", "params"),
    [
        (Target, "_write_state_message", ["self", "state"]),
        (Target, "_handle_termination", ["self", "signum", "frame"]),
        (Target, "invoke", ["about", "about_format", "config", "file_input"]),
        (Target, "process_endofpipe", ["self"]),
        (Target, "drain_all", ["self", "is_endofpipe"]),
        (RecordSink, "_validate_and_parse", ["self", "record"]),
        (RecordSink, "_after_process_record", ["self", "context"]),
        (RecordSink, "_singer_validate_message", ["self", "record"]),
        (GenericSingerReader, "process_lines", ["self", "file_input", "callbacks"]),
        (GenericSingerReader, "assert_line_requires", ["line_dict", "requires"]),
    ],
)
def test_overridden_hooks_keep_their_signatures(owner: type, name: str, params: list) -> None:
    method = getattr(owner, name)
    assert list(inspect.signature(method).parameters) == params


def test_names_used_from_sdk_modules_exist() -> None:
    assert hasattr(plugin_base, "_ConfigInput")
    assert hasattr(plugin_base, "JSONSchemaValidator")  # --check validates as a run does
    assert "_env_var_config" in dir(plugin_base.PluginBase)  # --check with --config ENV
    assert "get_singer_command" in vars(plugin_base.PluginBase)  # --check is added to it
    assert hasattr(sdk_msgspec, "decoder")
    assert hasattr(sdk_msgspec, "MsgSpecReader")
    assert "_MAX_RECORD_AGE_IN_MINUTES" in vars(Target)
    # drain_all still writes STATE through the hook we hold it in.
    assert "_write_state_message" in inspect.getsource(Target.drain_all)
    # the sink keeps its validator where _validate_and_parse reads it.
    assert "self._validator" in inspect.getsource(Sink.__init__)


def test_the_fast_path_does_what_the_sdk_record_path_does() -> None:
    """The fast path skips `Target._process_record_message`; it reproduces these steps.

    When an SDK release adds a step, this fails: decide whether the fast path needs it.
    """
    source = inspect.getsource(Target._process_record_message)
    steps = set(re.findall(r"\bsink\.(\w+)", source)) | set(re.findall(r"\bself\.(\w+)", source))
    assert steps == {
        # the fast path: intake.decoder.RecordDecoder (types, required, key properties) ...
        "_validate_and_parse",
        "_singer_validate_message",
        # ... intake.fast.FastRecords (counts in batches) ...
        "tally_record_read",
        "record_counter_metric",
        "_after_process_record",
        # ... and rows.StreamWriter.write.
        "process_record",
        # what only the SDK's path needs: stream maps, metadata, batching and drains
        # (this target's sinks never fill: rows go straight to the spool)
        "_assert_line_requires",
        "mapper",
        "_assert_sink_exists",
        "get_sink",
        "_get_context",
        "include_sdc_metadata_properties",
        "_add_sdc_metadata_to_record",
        "_remove_sdc_metadata_from_record",
        "preprocess_record",  # SegmentSink keeps the default, which returns the record
        "is_full",
        "logger",
        "drain_one",
        "stream_name",
        "current_size",
        "_handle_max_record_age",
    }


def test_an_invalid_schema_is_reported_from_jsonschema() -> None:
    """sinks.describe_bad_schema reads the SchemaError the SDK raises InvalidJSONSchema from."""
    source = inspect.getsource(sink_core)
    assert "except jsonschema.SchemaError as e" in source
    assert "raise InvalidJSONSchema(error_message) from e" in source

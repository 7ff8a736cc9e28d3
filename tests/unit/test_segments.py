"""Which segment a row belongs to (target_adobe_s3.rows.segments)."""

from __future__ import annotations

from typing import Any

import pytest

from target_adobe_s3.errors import InputError, TargetError
from target_adobe_s3.rows.segments import (
    Member,
    Segment,
    SegmentRouting,
    flat_members,
    keeps,
    map_members,
    routing_for,
)

STREAM = "members"
NAMES = {"s1": "Luxury Audience", "42": "Answer", STREAM: "All members"}


def schema(*names: str) -> dict[str, Any]:
    return {"type": "object", "properties": {name: {"type": ["string", "null"]} for name in names}}


# --- routing_for -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("properties", "expected"),
    [
        pytest.param(
            ("segment_id", "segment_name", "email"),
            SegmentRouting(STREAM, "segment_id", "segment_name", NAMES),
            id="id-and-name",
        ),
        pytest.param(
            ("email", "segment_id"),
            SegmentRouting(STREAM, "segment_id", None, NAMES),
            id="id-without-name",
        ),
        pytest.param(
            ("email", "segment_name"),
            SegmentRouting(STREAM, None, None, NAMES),
            id="name-without-id",
        ),
        pytest.param(("email",), SegmentRouting(STREAM, None, None, NAMES), id="neither"),
        pytest.param((), SegmentRouting(STREAM, None, None, NAMES), id="no-properties"),
    ],
)
def test_routing_for(properties: tuple[str, ...], expected: SegmentRouting) -> None:
    routing = routing_for(STREAM, schema(*properties), "segment_id", "segment_name", NAMES)
    assert routing == expected


def test_routing_for_uses_the_configured_field_names() -> None:
    routing = routing_for("s", schema("aud", "aud_label"), "aud", "aud_label", {})
    assert routing == SegmentRouting("s", "aud", "aud_label", {})
    # The default names are not looked at once others are configured.
    routing = routing_for("s", schema("segment_id", "segment_name"), "aud", "aud_label", {})
    assert routing == SegmentRouting("s", None, None, {})


def test_routing_for_schema_without_properties_key() -> None:
    routing = routing_for(STREAM, {"type": "object"}, "segment_id", "segment_name", {})
    assert routing == SegmentRouting(STREAM, None, None, {})


# --- routers: a stream without an id field is one segment ------------------------------------


@pytest.mark.parametrize(
    ("stream", "names", "expected"),
    [
        pytest.param("members", {}, Segment("members", "members"), id="stream-name"),
        pytest.param(
            "members", NAMES, Segment("members", "All members"), id="name-from-segment_names"
        ),
        pytest.param("vip", NAMES, Segment("vip", "vip"), id="other-names-ignored"),
    ],
)
def test_stream_is_the_segment(stream: str, names: dict[str, str], expected: Segment) -> None:
    route = routing_for(stream, schema("email"), "segment_id", "segment_name", names).router()
    # Record contents never matter, not even a segment_id key the schema does not declare.
    assert route({}) == expected
    assert route({"email": "a@x.io", "segment_id": "s1", "segment_name": "Luxury"}) == expected


# --- routers: the id (and name) come from the record -----------------------------------------


def router_with_name() -> Any:
    return routing_for(
        STREAM, schema("segment_id", "segment_name"), "segment_id", "segment_name", NAMES
    ).router()


def router_without_name() -> Any:
    return routing_for(STREAM, schema("segment_id"), "segment_id", "segment_name", NAMES).router()


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        pytest.param(
            {"segment_id": "s1", "segment_name": "From Record"},
            Segment("s1", "From Record"),
            id="name-from-record-wins",
        ),
        pytest.param({"segment_id": "s1"}, Segment("s1", "Luxury Audience"), id="name-missing"),
        pytest.param(
            {"segment_id": "s1", "segment_name": None},
            Segment("s1", "Luxury Audience"),
            id="name-null",
        ),
        pytest.param(
            {"segment_id": "s1", "segment_name": ""},
            Segment("s1", "Luxury Audience"),
            id="name-empty",
        ),
        pytest.param(
            {"segment_id": "s1", "segment_name": True},
            Segment("s1", "Luxury Audience"),
            id="name-bool-ignored",
        ),
        pytest.param(
            {"segment_id": "s1", "segment_name": {"en": "x"}},
            Segment("s1", "Luxury Audience"),
            id="name-object-ignored",
        ),
        pytest.param(
            {"segment_id": "s1", "segment_name": 7}, Segment("s1", "7"), id="name-int-as-text"
        ),
        pytest.param({"segment_id": "new"}, Segment("new", "new"), id="name-falls-back-to-id"),
        pytest.param(
            {"segment_id": "new", "segment_name": ""}, Segment("new", "new"), id="empty-to-id"
        ),
        pytest.param({"segment_id": 42}, Segment("42", "Answer"), id="int-id-names-lookup"),
        pytest.param({"segment_id": 7}, Segment("7", "7"), id="int-id-fallback"),
        pytest.param({"segment_id": 0}, Segment("0", "0"), id="zero-id"),
        pytest.param({"segment_id": -3}, Segment("-3", "-3"), id="negative-id"),
        pytest.param(
            {"segment_id": 12345678901234567890},
            Segment("12345678901234567890", "12345678901234567890"),
            id="big-int-id",
        ),
        pytest.param(
            {"segment_id": "a/b", "segment_name": "x/y"},
            Segment("a/b", "x/y"),
            id="values-unchanged",
        ),
    ],
)
def test_router_with_name_field(record: dict[str, Any], expected: Segment) -> None:
    assert router_with_name()(record) == expected


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        pytest.param({"segment_id": "s1"}, Segment("s1", "Luxury Audience"), id="from-names"),
        pytest.param(
            {"segment_id": "s1", "segment_name": "Undeclared"},
            Segment("s1", "Luxury Audience"),
            id="undeclared-name-field-ignored",
        ),
        pytest.param({"segment_id": "zz"}, Segment("zz", "zz"), id="id"),
        pytest.param({"segment_id": 42}, Segment("42", "Answer"), id="int-id"),
    ],
)
def test_router_without_name_field(record: dict[str, Any], expected: Segment) -> None:
    assert router_without_name()(record) == expected


def missing(stream: str = STREAM, field: str = "segment_id") -> str:
    return f"stream '{stream}': segment id field '{field}' is missing or empty"


def wrong_type(json_type: str, stream: str = STREAM, field: str = "segment_id") -> str:
    return (
        f"stream '{stream}': segment id field '{field}' must be a string or an integer, "
        f"got {json_type}"
    )


@pytest.mark.parametrize(
    ("record", "message"),
    [
        pytest.param({}, missing(), id="missing"),
        pytest.param({"segment_name": "Luxury"}, missing(), id="only-name"),
        pytest.param({"segment_id": None}, missing(), id="null"),
        pytest.param({"segment_id": ""}, missing(), id="empty"),
        pytest.param({"segment_id": True}, wrong_type("boolean"), id="true"),
        pytest.param({"segment_id": False}, wrong_type("boolean"), id="false"),
        pytest.param({"segment_id": {"id": "s1"}}, wrong_type("object"), id="object"),
        pytest.param({"segment_id": {}}, wrong_type("object"), id="empty-object"),
        pytest.param({"segment_id": ["s1"]}, wrong_type("array"), id="list"),
        pytest.param({"segment_id": []}, wrong_type("array"), id="empty-list"),
        pytest.param({"segment_id": 1.5}, wrong_type("number"), id="float"),
    ],
)
def test_router_rejects_bad_ids(record: dict[str, Any], message: str) -> None:
    route = router_with_name()
    with pytest.raises(InputError, match=r"^stream 'members': ") as caught:
        route(record)
    assert str(caught.value) == message
    assert isinstance(caught.value, TargetError)


@pytest.mark.parametrize(
    ("record", "message"),
    [
        pytest.param({"segment_id": "s1"}, missing("audiences", "aud"), id="other-field-missing"),
        pytest.param({"aud": False}, wrong_type("boolean", "audiences", "aud"), id="bool"),
    ],
)
def test_error_names_the_configured_field_and_stream(record: dict[str, Any], message: str) -> None:
    route = routing_for("audiences", schema("aud"), "aud", "aud_name", {}).router()
    with pytest.raises(InputError, match=r"^stream 'audiences': segment id field 'aud' ") as caught:
        route(record)
    assert str(caught.value) == message


# --- membership map fan-out and export modes --------------------------------------------------


def test_map_members_one_per_segment_in_every_namespace() -> None:
    members = map_members("p", "segmentMembership", {"s1": "Luxury"})
    record = {
        "segmentMembership": {
            "ups": {
                "s1": {"status": "realized", "lastQualificationTime": "t1"},
                "s2": {"status": "exited"},
            },
            "ecid": {"s3": None},
            "empty": None,
        }
    }
    assert members(record) == [
        Member(Segment("s1", "Luxury"), "realized", "t1"),
        Member(Segment("s2", "s2"), "exited", None),
        Member(Segment("s3", "s3"), None, None),
    ]
    assert members({"email": "x"}) == []
    assert members({"segmentMembership": None}) == []


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ([1], "field 'segmentMembership' must be an object, got array"),
        ("realized", "field 'segmentMembership' must be an object, got string"),
        ({"ups": "s1"}, "namespace 'ups' must map segment ids to objects"),
        ({"ups": {"s1": "realized"}}, "segment 's1' must be an object with a status"),
        ({"ups": {"": {}}}, "namespace 'ups' has an empty segment id"),
    ],
)
def test_map_members_bad_shapes_name_the_stream_and_field(value: Any, message: str) -> None:
    members = map_members("p", "segmentMembership", {})
    with pytest.raises(InputError, match="stream 'p'") as caught:
        members({"segmentMembership": value})
    assert message in str(caught.value)


def test_flat_members_take_status_and_time_from_the_record() -> None:
    route = routing_for(STREAM, schema("segment_id"), "segment_id", "segment_name", {}).router()
    members = flat_members(route, "st", "qt")
    assert members({"segment_id": "s", "st": "exited", "qt": "t"}) == [
        Member(Segment("s", "s"), "exited", "t")
    ]
    assert members({"segment_id": "s", "st": 3}) == [Member(Segment("s", "s"), None, None)]


@pytest.mark.parametrize(
    ("mode", "status", "kept"),
    [
        ("full", "realized", True),
        ("full", "existing", True),
        ("full", "exited", False),
        ("full", "EXITED", False),
        ("full", None, True),
        ("incremental", "exited", True),
        ("incremental", "realized", True),
        ("incremental", None, True),
    ],
)
def test_export_modes(mode: str, status: str | None, kept: bool) -> None:
    assert keeps(mode, status) is kept

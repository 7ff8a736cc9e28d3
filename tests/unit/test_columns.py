"""Column selection, flattening, renaming and value lookup (target_adobe_s3.rows.columns)."""

from __future__ import annotations

from typing import Any

import pytest

from target_adobe_s3.rows.columns import (
    Column,
    compile_getter,
    parse_fields,
    schema_columns,
    select_columns,
)
from tests.support.helpers import TAP_JSONL_SCHEMA

STREAM = "members"

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "email": {"type": ["string", "null"]},
        "person": {
            "type": ["object", "null"],
            "properties": {
                "name": {
                    "type": "object",
                    "properties": {
                        "firstName": {"type": "string"},
                        "lastName": {"type": "string"},
                    },
                },
                "age": {"type": "integer"},
            },
        },
        "e.mail": {"type": "string"},
        "attributes": {"type": "object"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "score": {"type": ["number", "null"]},
    },
}

SCHEMA_HEADERS = (
    "email, person.name.firstName, person.name.lastName, person.age, e.mail, attributes, "
    "tags, score"
)


def not_in_schema(index: int, source: str) -> str:
    return (
        f"fields[{index}]: '{source}' is not in the schema of stream '{STREAM}' "
        f"(it has: {SCHEMA_HEADERS})"
    )


# --- parse_fields ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        pytest.param([], [], id="empty"),
        pytest.param(["email"], [("email", None)], id="one-string"),
        pytest.param(
            ["email", "person.name.firstName"],
            [("email", None), ("person.name.firstName", None)],
            id="strings-keep-order",
        ),
        pytest.param([{"source": "email"}], [("email", None)], id="object-without-target"),
        pytest.param(
            [{"source": "email", "target": None}], [("email", None)], id="object-null-target"
        ),
        pytest.param(
            [{"source": "person.name.firstName", "target": "First Name"}],
            [("person.name.firstName", "First Name")],
            id="object-with-target",
        ),
        pytest.param(
            ["score", {"source": "email", "target": "Email"}, "tags"],
            [("score", None), ("email", "Email"), ("tags", None)],
            id="mixed",
        ),
    ],
)
def test_parse_fields(fields: list[object], expected: list[tuple[str, str | None]]) -> None:
    assert parse_fields(fields) == expected


SHAPE = 'expected a source path string or an object {"source": "...", "target": "Header"}'
BAD_SOURCE = "'source' must be a non-empty path such as 'person.email'"
BAD_TARGET = "'target' must be a non-empty string"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        pytest.param([3], f"fields[0]: {SHAPE}, got 3", id="int"),
        pytest.param(["email", 3], f"fields[1]: {SHAPE}, got 3", id="int-second"),
        pytest.param([None], f"fields[0]: {SHAPE}, got None", id="null"),
        pytest.param([["email"]], f"fields[0]: {SHAPE}, got ['email']", id="list"),
        pytest.param(
            ["a", "b", {"src": "email"}],
            f"fields[2]: {SHAPE}, got {{'src': 'email'}}",
            id="unknown-key",
        ),
        pytest.param(
            [{"source": "email", "target": "E", "extra": 1}],
            f"fields[0]: {SHAPE}, got {{'source': 'email', 'target': 'E', 'extra': 1}}",
            id="extra-key",
        ),
        pytest.param([""], f"fields[0]: {BAD_SOURCE}", id="empty-string"),
        pytest.param(["email", " . "], f"fields[1]: {BAD_SOURCE}", id="dots-and-spaces"),
        pytest.param([{"source": ""}], f"fields[0]: {BAD_SOURCE}", id="empty-source"),
        pytest.param([{"target": "Email"}], f"fields[0]: {BAD_SOURCE}", id="no-source"),
        pytest.param([{}], f"fields[0]: {BAD_SOURCE}", id="empty-object"),
        pytest.param([{"source": 5}], f"fields[0]: {BAD_SOURCE}", id="int-source"),
        pytest.param(
            ["email", {"source": "email", "target": 5}],
            f"fields[1]: {BAD_TARGET}",
            id="int-target",
        ),
        pytest.param([{"source": "email", "target": ""}], f"fields[0]: {BAD_TARGET}", id="empty"),
        pytest.param(
            [{"source": "email", "target": ["E"]}], f"fields[0]: {BAD_TARGET}", id="list-target"
        ),
    ],
)
def test_parse_fields_rejects(fields: list[object], message: str) -> None:
    with pytest.raises(ValueError, match=r"^fields\[") as caught:
        parse_fields(fields)
    assert str(caught.value) == message


# --- schema_columns --------------------------------------------------------------------------


def test_schema_columns_flattens_in_schema_order() -> None:
    assert schema_columns(SCHEMA) == [
        Column(("email",), "email"),
        Column(("person", "name", "firstName"), "person_name_firstName"),
        Column(("person", "name", "lastName"), "person_name_lastName"),
        Column(("person", "age"), "person_age"),
        Column(("e.mail",), "e_mail"),
        Column(("attributes",), "attributes"),
        Column(("tags",), "tags"),
        Column(("score",), "score"),
    ]


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        pytest.param({}, [], id="no-properties"),
        pytest.param({"type": "object", "properties": {}}, [], id="empty-properties"),
        pytest.param(
            {"properties": {"b": {"type": "string"}, "a": {"type": "string"}}},
            [Column(("b",), "b"), Column(("a",), "a")],
            id="order-not-sorted",
        ),
        pytest.param(
            {"properties": {"free": {"type": "object"}}},
            [Column(("free",), "free")],
            id="object-without-properties",
        ),
        pytest.param(
            {"properties": {"free": {"type": ["object", "null"], "properties": {}}}},
            [Column(("free",), "free")],
            id="object-with-empty-properties",
        ),
        pytest.param(
            {
                "properties": {
                    "items": {
                        "type": "array",
                        "items": {"type": "object", "properties": {"x": {"type": "string"}}},
                    }
                }
            },
            [Column(("items",), "items")],
            id="array-of-objects",
        ),
        pytest.param(
            {"properties": {"anything": {}}},
            [Column(("anything",), "anything")],
            id="untyped",
        ),
        pytest.param(
            {
                "properties": {
                    "a": {
                        "type": ["null", "object"],
                        "properties": {
                            "b": {"type": "object", "properties": {"c": {"type": "integer"}}},
                            "d": {"type": "boolean"},
                        },
                    }
                }
            },
            [Column(("a", "b", "c"), "a_b_c"), Column(("a", "d"), "a_d")],
            id="nullable-nested",
        ),
    ],
)
def test_schema_columns(schema: dict[str, Any], expected: list[Column]) -> None:
    assert schema_columns(schema) == expected


# --- select_columns --------------------------------------------------------------------------


def test_select_columns_without_fields_is_every_schema_column() -> None:
    assert select_columns([], SCHEMA, STREAM) == schema_columns(SCHEMA)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        pytest.param(["email"], [Column(("email",), "email")], id="one"),
        pytest.param(
            ["score", "email"],
            [Column(("score",), "score"), Column(("email",), "email")],
            id="order-of-fields",
        ),
        pytest.param(
            [{"source": "email", "target": "Email Address"}],
            [Column(("email",), "Email Address")],
            id="rename",
        ),
        pytest.param(
            ["person.name.firstName"],
            [Column(("person", "name", "firstName"), "person_name_firstName")],
            id="nested-path",
        ),
        pytest.param(
            [{"source": "person.name.lastName", "target": "Last"}],
            [Column(("person", "name", "lastName"), "Last")],
            id="nested-renamed",
        ),
        pytest.param(
            ["person.name"],
            [Column(("person", "name"), "person_name")],
            id="whole-nested-object",
        ),
        pytest.param(["e.mail"], [Column(("e.mail",), "e_mail")], id="dotted-top-level-name"),
        pytest.param(
            ["attributes.loyalty.tier"],
            [Column(("attributes", "loyalty", "tier"), "attributes_loyalty_tier")],
            id="under-free-form-object",
        ),
        pytest.param(
            [{"source": "attributes.x", "target": "X"}, "tags"],
            [Column(("attributes", "x"), "X"), Column(("tags",), "tags")],
            id="free-form-renamed",
        ),
        pytest.param(
            [{"source": "email", "target": "email2"}, "email"],
            [Column(("email",), "email2"), Column(("email",), "email")],
            id="same-source-twice-renamed",
        ),
    ],
)
def test_select_columns(fields: list[object], expected: list[Column]) -> None:
    assert select_columns(parse_fields(fields), SCHEMA, STREAM) == expected


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        pytest.param(["nope"], not_in_schema(0, "nope"), id="unknown-top-level"),
        pytest.param(
            ["email", "person.name.middleName"],
            not_in_schema(1, "person.name.middleName"),
            id="unknown-nested",
        ),
        pytest.param(["email.domain"], not_in_schema(0, "email.domain"), id="under-a-string"),
        pytest.param(["tags.first"], not_in_schema(0, "tags.first"), id="under-an-array"),
        pytest.param(
            ["person.name.firstName.x"],
            not_in_schema(0, "person.name.firstName.x"),
            id="under-a-nested-leaf",
        ),
        pytest.param(["e.mail.x"], not_in_schema(0, "e.mail.x"), id="under-dotted-name"),
    ],
)
def test_select_columns_unknown_source(fields: list[object], message: str) -> None:
    with pytest.raises(ValueError, match=r"^fields\[") as caught:
        select_columns(parse_fields(fields), SCHEMA, STREAM)
    assert str(caught.value) == message


def test_unknown_source_lists_at_most_twenty_known_headers() -> None:
    schema = {"properties": {f"c{i}": {"type": "string"} for i in range(25)}}
    with pytest.raises(ValueError, match=r"^fields\[0\]") as caught:
        select_columns([("missing", None)], schema, "wide")
    known = ", ".join(f"c{i}" for i in range(20))
    assert str(caught.value) == (
        f"fields[0]: 'missing' is not in the schema of stream 'wide' (it has: {known})"
    )


def duplicate(header: str) -> str:
    return (
        f"stream '{STREAM}': two columns are named '{header}'; "
        'rename one with a {"source", "target"} entry in `fields`'
    )


@pytest.mark.parametrize(
    ("fields", "schema", "message"),
    [
        pytest.param(["email", "email"], SCHEMA, duplicate("email"), id="same-field-twice"),
        pytest.param(
            ["email", {"source": "score", "target": "email"}],
            SCHEMA,
            duplicate("email"),
            id="rename-onto-existing",
        ),
        pytest.param(
            [{"source": "email", "target": "X"}, {"source": "score", "target": "X"}],
            SCHEMA,
            duplicate("X"),
            id="two-renames",
        ),
        pytest.param(
            ["e.mail", "attributes", {"source": "email", "target": "e_mail"}],
            SCHEMA,
            duplicate("e_mail"),
            id="dotted-name-vs-rename",
        ),
        pytest.param(
            [],
            {
                "properties": {
                    "a_b": {"type": "string"},
                    "a": {"type": "object", "properties": {"b": {"type": "string"}}},
                }
            },
            duplicate("a_b"),
            id="flattened-collides-without-fields",
        ),
    ],
)
def test_select_columns_duplicate_headers(
    fields: list[object], schema: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=r"^stream ") as caught:
        select_columns(parse_fields(fields), schema, STREAM)
    assert str(caught.value) == message


def test_dotted_top_level_name_has_the_same_header_with_and_without_fields() -> None:
    schema = {"properties": {"e.mail": {"type": "string"}}}
    assert select_columns([], schema, STREAM) == [Column(("e.mail",), "e_mail")]
    assert select_columns([("e.mail", None)], schema, STREAM) == [Column(("e.mail",), "e_mail")]


# --- compile_getter --------------------------------------------------------------------------

FLAT = [Column(("email",), "email"), Column(("e.mail",), "e_mail"), Column(("score",), "s")]
NESTED = [
    Column(("email",), "email"),
    Column(("person", "name", "firstName"), "person_name_firstName"),
    Column(("person", "age"), "person_age"),
    Column(("e.mail",), "e_mail"),
]


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        pytest.param(
            {"email": "a@x.io", "e.mail": "b@x.io", "score": 1.5},
            ["a@x.io", "b@x.io", 1.5],
            id="all-present",
        ),
        pytest.param({"score": 0, "other": 1}, [None, None, 0], id="missing-keys"),
        pytest.param({}, [None, None, None], id="empty-record"),
        pytest.param(
            {"email": None, "e.mail": "", "score": False}, [None, "", False], id="falsy-kept"
        ),
        pytest.param(
            {"e": {"mail": "nested"}, "email": ["l"]},
            [["l"], None, None],
            id="dotted-name-is-not-a-path",
        ),
    ],
)
def test_compile_getter_flat(record: dict[str, Any], expected: list[Any]) -> None:
    assert compile_getter(FLAT)(record) == expected


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        pytest.param(
            {
                "email": "a@x.io",
                "person": {"name": {"firstName": "Ada"}, "age": 36},
                "e.mail": "b@x.io",
            },
            ["a@x.io", "Ada", 36, "b@x.io"],
            id="all-present",
        ),
        pytest.param({}, [None, None, None, None], id="empty-record"),
        pytest.param(
            {"email": "a@x.io", "person": {"age": 7}},
            ["a@x.io", None, 7, None],
            id="missing-intermediate",
        ),
        pytest.param({"person": None}, [None, None, None, None], id="null-intermediate"),
        pytest.param(
            {"person": {"name": "Ada Lovelace", "age": 36}},
            [None, None, 36, None],
            id="string-intermediate",
        ),
        pytest.param(
            {"person": {"name": ["Ada"], "age": {"years": 36}}},
            [None, None, {"years": 36}, None],
            id="list-intermediate-and-object-leaf",
        ),
        pytest.param({"person": 5}, [None, None, None, None], id="int-intermediate"),
        pytest.param(
            {"person": {"name": {"firstName": None}}},
            [None, None, None, None],
            id="null-leaf",
        ),
        pytest.param(
            {"person.name.firstName": "flat", "e": {"mail": "nested"}},
            [None, None, None, None],
            id="paths-are-not-dotted-keys",
        ),
    ],
)
def test_compile_getter_nested(record: dict[str, Any], expected: list[Any]) -> None:
    assert compile_getter(NESTED)(record) == expected


def test_compile_getter_without_columns() -> None:
    assert compile_getter([])({"email": "a@x.io"}) == []


def test_getter_follows_selected_columns() -> None:
    columns = select_columns(
        parse_fields(["person.name.lastName", {"source": "attributes.tier", "target": "T"}]),
        SCHEMA,
        STREAM,
    )
    record = {"person": {"name": {"lastName": "King"}}, "attributes": {"tier": "gold"}}
    assert [c.header for c in columns] == ["person_name_lastName", "T"]
    assert compile_getter(columns)(record) == ["King", "gold"]


# --- Singer metadata (`_sdc_*`) ----------------------------------------------------------


def test_default_columns_leave_singer_metadata_out() -> None:
    columns = select_columns([], TAP_JSONL_SCHEMA, STREAM)
    assert [c.header for c in columns] == ["segment_id", "email", "person__sdc_note"]


def test_fields_can_name_singer_metadata() -> None:
    fields = parse_fields(["email", {"source": "_sdc_filename", "target": "file"}])
    columns = select_columns(fields, TAP_JSONL_SCHEMA, STREAM)
    assert columns == [Column(("email",), "email"), Column(("_sdc_filename",), "file")]


def test_an_unknown_source_lists_singer_metadata_too() -> None:
    with pytest.raises(ValueError, match=r"it has: segment_id, email, _sdc_filename, "):
        select_columns(parse_fields(["_sdc_nope"]), TAP_JSONL_SCHEMA, STREAM)

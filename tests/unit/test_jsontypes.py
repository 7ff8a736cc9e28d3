"""JSON type names in messages (target_adobe_s3.jsontypes): one function for every layer."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from target_adobe_s3.jsontypes import json_type_name, type_word


@pytest.mark.parametrize(
    ("value", "name"),
    [
        ("realized", "string"),
        ("", "string"),
        (7, "integer"),
        (1.5, "number"),
        (Decimal("1.50"), "number"),
        (True, "boolean"),
        (False, "boolean"),
        (None, "null"),
        ({"a": 1}, "object"),
        ([1], "array"),
    ],
)
def test_a_value_is_named_by_its_json_type(value: Any, name: str) -> None:
    assert json_type_name(value) == name


@pytest.mark.parametrize(
    ("word", "name"),
    [("str", "string"), ("Decimal", "number"), ("object", "object"), ("null", "null")],
)
def test_msgspec_and_python_type_words_become_json_type_names(word: str, name: str) -> None:
    assert type_word(word) == name


def test_an_unknown_type_word_is_kept() -> None:
    assert type_word("bytes") == "bytes"

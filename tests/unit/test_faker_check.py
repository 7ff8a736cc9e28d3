"""`fake` in stream maps needs faker: settings.faker_problems, with faker present and absent."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from target_adobe_s3.settings import FAKER_EXTRA, Settings, faker_problems

USES_FAKE: list[dict[str, Any]] = [
    {"stream_maps": {"members": {"email": "fake.email()"}}},
    {"stream_maps": {"members": {"__filter__": "fake.boolean() and True"}}},
    {"stream_maps": {"members": {"name": "first + ' ' + fake.last_name()"}}},
    {"stream_maps": {"a": {"x": "1"}, "b": {"nested": {"deeper": ["x", "(fake.name())"]}}}},
]
NO_FAKE: list[dict[str, Any]] = [
    {},
    {"stream_maps": {}},
    {"stream_maps": {"members": {"email": "md5(email)", "fake_email": "email"}}},
    {"stream_maps": {"members": {"note": "fake_name.upper()"}}},  # a field called fake_name
    {"stream_maps": {"members": {"email": None}}, "faker_config": {}},
]


@pytest.fixture
def no_faker(monkeypatch: pytest.MonkeyPatch) -> None:
    """faker cannot be found nor imported (find_spec answers None, as without the package)."""
    monkeypatch.setitem(sys.modules, "faker", None)


@pytest.mark.usefixtures("no_faker")
@pytest.mark.parametrize("config", USES_FAKE)
def test_fake_without_faker_names_the_extra(config: dict[str, Any]) -> None:
    (problem,) = faker_problems(config)
    assert problem.startswith("stream_maps: an expression uses `fake`")
    assert problem.endswith(f"install it: {FAKER_EXTRA}")
    assert "\n" not in problem


@pytest.mark.usefixtures("no_faker")
def test_faker_config_without_faker_names_the_extra() -> None:
    (problem,) = faker_problems({"faker_config": {"seed": 3}})
    assert problem.startswith("faker_config: ")
    assert problem.endswith(FAKER_EXTRA)


@pytest.mark.usefixtures("no_faker")
@pytest.mark.parametrize("config", NO_FAKE)
def test_maps_without_fake_need_no_faker(config: dict[str, Any]) -> None:
    assert faker_problems(config) == []


@pytest.mark.parametrize("config", [*USES_FAKE, {"faker_config": {"seed": 3}}])
def test_with_faker_installed_there_is_no_problem(config: dict[str, Any]) -> None:
    pytest.importorskip("faker")  # in the dev extras
    assert faker_problems(config) == []


@pytest.mark.usefixtures("no_faker")
def test_settings_report_it_with_the_other_problems() -> None:
    settings, problems = Settings.from_config(
        {"bucket": "Bad_Bucket", "stream_maps": {"m": {"e": "fake.email()"}}}
    )
    assert settings is None
    assert [p.split(":")[0] for p in problems] == ["bucket", "stream_maps"]

"""Names that are not settings: each is reported with the setting it most likely meant.

A misspelt setting would otherwise be ignored: `pgp_public_kye` would upload every file
unencrypted. Settings may also come from the environment as TARGET_ADOBE_S3_<NAME>.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Mapping
from typing import Any

ENV_PREFIX = "TARGET_ADOBE_S3_"
"""Settings read from the environment (`--config ENV`) are TARGET_ADOBE_S3_<NAME>."""
_PLAIN_NAME_RE = re.compile(r"[A-Za-z0-9_.-]+")
_NOT_SETTINGS = frozenset({"", "loglevel"})  # TARGET_ADOBE_S3_LOGLEVEL: the SDK's log level


def closest_setting(name: str, known: Collection[str]) -> str | None:
    """The known setting `name` most likely meant (case, `-` for `_`, a typo), if any."""
    normal = name.strip().lower().replace("-", "_").replace(" ", "_")
    if normal in known:
        return normal
    found = difflib.get_close_matches(normal, sorted(known), n=1)
    return found[0] if found else None


def unknown_settings(config: Mapping[str, Any], known: Collection[str]) -> list[str]:
    """One line for each name in `config` that is not a setting, with the closest one.

    A misspelt setting would otherwise be ignored: `pgp_public_kye` would upload every
    file unencrypted.
    """
    problems = []
    for name in config:
        if name in known:
            continue
        label = name if _PLAIN_NAME_RE.fullmatch(name) else repr(name)
        closest = closest_setting(name, known)
        hint = f"did you mean {closest}?" if closest else "see target-adobe-s3 --about"
        problems.append(f"{label}: unknown setting; {hint}")
    return problems


def unknown_env_settings(environ: Mapping[str, str], known: Collection[str]) -> list[str]:
    """One line for each TARGET_ADOBE_S3_<NAME> variable that looks like a misspelt setting.

    Only close misspellings count: other tools share the prefix (the SDK's LOGLEVEL,
    Meltano's TARGET_ADOBE_S3__<EXTRA>), and the SDK reads known names only.
    """
    problems = []
    for variable in sorted(environ):
        if not variable.startswith(ENV_PREFIX):
            continue
        name = variable[len(ENV_PREFIX) :].lower()
        if name in known or name.startswith("_") or name in _NOT_SETTINGS:
            continue
        found = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.8)
        if found:
            expected = ENV_PREFIX + found[0].upper()
            problems.append(f"{variable}: unknown setting; did you mean {expected}?")
    return problems

"""The command line's edges: `--config` files, settings problems, what a run ends by saying.

Each is one line for the user: a config file that cannot be read or is not a JSON object,
a settings problem (with where settings are read from when one is missing), input that
held nothing to export, and the one line a failed run ends with.
"""

from __future__ import annotations

import errno
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from singer_sdk.exceptions import SingerSDKError
from singer_sdk.helpers._util import load_json
from singer_sdk.singerlib.exceptions import SingerError

from target_adobe_s3.errors import InputError, TargetError
from target_adobe_s3.jsontypes import json_type_name
from target_adobe_s3.setting_names import ENV_PREFIX

USER_ERRORS = (TargetError, SingerError, SingerSDKError)
"""Mistakes in the input or the settings, or refusals by S3: one line, no traceback."""
DISK_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.EROFS})
"""I/O errors that come from the disk under temp_dir (the only files a run writes)."""
_EXAMPLE = '{"bucket": "my-bucket"}'
WAITING = (
    "Waiting for Singer messages on stdin, which is a terminal: pipe a tap's output in "
    "(tap | target-adobe-s3 --config config.json), or end the input with Ctrl-D"
)


def read_config_file(path: str) -> dict[str, Any]:
    """The settings in one `--config` file, which must hold a JSON object.

    Raises:
        TargetError: the file is missing, unreadable, not JSON or not an object.
    """
    where = f"config file '{path}'"
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TargetError(f"{where} was not found; check the path given to --config") from None
    except IsADirectoryError:
        raise TargetError(f"{where} is a folder; give --config the path of a JSON file") from None
    except UnicodeDecodeError:
        raise TargetError(f"{where} is not UTF-8 text; save the settings as UTF-8 JSON") from None
    except OSError as exc:
        problem = f"{where} cannot be read ({exc.strerror}); check its permissions"
        raise TargetError(problem) from None
    if not text.strip():
        raise TargetError(f"{where} is empty; write the settings as a JSON object like {_EXAMPLE}")
    try:
        config: object = load_json(text)
    except (ValueError, RecursionError) as exc:
        line, column = getattr(exc, "lineno", None), getattr(exc, "colno", None)
        at = f" at line {line}, column {column}" if line else ""
        what = getattr(exc, "msg", "nested too deeply")
        raise TargetError(
            f"{where} is not JSON ({what}{at}); write the settings as a JSON object like "
            f"{_EXAMPLE} (YAML is not read)"
        ) from None
    if not isinstance(config, dict):
        kind = "null" if config is None else json_type_name(config)
        raise TargetError(
            f"{where} holds a JSON {kind}, not an object; write the settings as a JSON object "
            f"like {_EXAMPLE}"
        )
    return config


def config_error_lines(
    errors: Sequence[str], *, parse_env: bool, environ: Mapping[str, str]
) -> list[str]:
    """One line per settings problem; a missing setting also says where settings are read.

    `TARGET_ADOBE_S3_*` variables are read only with `--config ENV`: when they are set
    without it, a missing setting says so.
    """
    in_env = any(name.startswith(ENV_PREFIX) for name in environ)
    lines = []
    for error in errors:
        missing = re.fullmatch(r"'(\w+)' is a required property", error)
        if missing is None:
            lines.append(f"Config validation failed: {error}")
            continue
        variable = ENV_PREFIX + missing.group(1).upper()
        if parse_env:
            hint = f"set it in a --config file or as {variable}"
        elif in_env:
            hint = (
                f"{ENV_PREFIX}* environment variables are set, but they are read only with "
                "`--config ENV`: add it"
            )
        else:
            hint = f"set it in a --config file, or as {variable} with `--config ENV`"
        lines.append(f"Config validation failed: {error}; {hint}")
    return lines


def nothing_exported(counts: Mapping[str, int], files: int) -> str | None:
    """The warning for a run that wrote no file because no records came in, else None."""
    if files or counts.get("RECORD"):
        return None
    if not sum(counts.values()):
        return (
            "The input was empty (no Singer messages): nothing was exported. Check that the "
            "tap ran and that its output is piped into target-adobe-s3"
        )
    seen = ", ".join(f"{count} {kind}" for kind, count in sorted(counts.items()) if count)
    return f"The input held no RECORD messages ({seen}): nothing was exported"


class SpoolDisk(Protocol):
    """The run's spool as a failure line needs it (see `files.spool.Spool`)."""

    directory: Path

    def failure(self, exc: OSError) -> str:
        """What a disk error while spooling means (temp_dir, free space, what was spooled)."""
        ...


def is_disk_error(exc: OSError, spool: SpoolDisk) -> bool:
    """Whether an I/O error came from the disk under temp_dir."""
    if exc.errno in DISK_ERRNOS:
        return True
    name = exc.filename if isinstance(exc.filename, str) else ""
    return bool(name) and Path(name).is_relative_to(spool.directory)


def failure_line(exc: BaseException, line_number: int, spool: SpoolDisk) -> str:
    """The one line that says what went wrong and where (`line_number`: 0 when unknown)."""
    where = ""
    if isinstance(exc, (InputError, SingerError, SingerSDKError)) and line_number:
        where = f" at input line {line_number}"
    text = str(exc).rstrip()
    if isinstance(exc, OSError) and is_disk_error(exc, spool):
        text = spool.failure(exc)
    text = text.removesuffix(".") if not text.endswith("..") else text
    return f"Export failed{where}: {text}. No STATE was emitted for undelivered records."

"""Secrets kept out of every log line: known values (and their Base64), credential headers.

botocore's debug log (LOGLEVEL=DEBUG) prints request headers, presigned URLs and STS's
answers; a log record factory rewrites any record that would show a secret.
"""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Callable
from typing import Any

# What botocore's debug log shows of credentials: the key id in Authorization headers and
# presigned URLs, the session token as a header, and STS's XML answer with temporary keys.
_CREDENTIAL_TEXT = (
    (re.compile(r"(Credential=)[^/\s,'\"&%]+"), r"\1***"),  # also X-Amz-Credential=
    (
        re.compile(r"(X-Amz-Security-Token['\"]?\s*[:=]\s*b?['\"]?)[^'\"\s,}&]+", re.IGNORECASE),
        r"\1***",
    ),
    (re.compile(r"(<(AccessKeyId|SecretAccessKey|SessionToken)>)[^<]*(</\2>)"), r"\1***\3"),
)
_secrets: set[str] = set()
_installed_factory: list[Callable[..., logging.LogRecord]] = []


def redact(text: str) -> str:
    """`text` with every known secret (and its Base64) and any credential header hidden."""
    for secret in sorted(_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, "***")
    for pattern, replacement in _CREDENTIAL_TEXT:
        text = pattern.sub(replacement, text)
    return text


def hide_secrets(*values: Any) -> None:
    """Hide these values (and their Base64) from every log record from now on.

    Installs, once, a log record factory that rewrites any record holding a secret, so
    botocore's debug log (LOGLEVEL=DEBUG prints request headers and STS answers) and any
    message naming a setting's value cannot show one.
    """
    for value in values:
        text = str(value or "")
        if len(text) >= 4:
            _secrets.add(text)
            _secrets.add(base64.b64encode(text.encode()).decode())
    if _installed_factory:
        return
    previous = logging.getLogRecordFactory()
    _installed_factory.append(previous)

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a bad format string is the logging module's to report
            return record
        hidden = redact(message)
        if hidden != message:
            record.msg, record.args = hidden, None
        return record

    logging.setLogRecordFactory(factory)

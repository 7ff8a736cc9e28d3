"""The S3 and credential settings, typed: what the s3 layer is given instead of the raw config.

Built by `target_adobe_s3.settings` from the config the SDK checked and filled with the
schema's defaults; an optional setting that is not set (or set empty) is None. Secrets are
left out of `repr`, so a Settings object in a log line or a traceback shows none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

RetryMode = Literal["standard", "adaptive"]
Checksums = Literal["when_supported", "when_required"]


@dataclass(frozen=True)
class S3Settings:
    """Where files go and how the S3 client reaches it."""

    bucket: str
    region: str | None
    endpoint_url: str | None
    aws_access_key_id: str | None = field(repr=False)
    aws_secret_access_key: str | None = field(repr=False)
    aws_session_token: str | None = field(repr=False)
    aws_profile: str | None
    role_arn: str | None
    external_id: str | None = field(repr=False)
    server_side_encryption: str | None
    kms_key_id: str | None
    acl: str | None
    storage_class: str | None
    retry_max_attempts: int
    retry_mode: RetryMode
    request_timeout: int
    request_checksum_calculation: Checksums | None
    response_checksum_validation: Checksums | None
    run_id: str | None
    """The run_id setting when given (the assumed role's session is named after it)."""

    @property
    def secrets(self) -> tuple[str | None, ...]:
        """The values that must never reach a log line (the access key id names the account)."""
        return (
            self.aws_access_key_id,
            self.aws_secret_access_key,
            self.aws_session_token,
            self.external_id,
        )

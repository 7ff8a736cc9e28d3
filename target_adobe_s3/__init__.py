"""target-adobe-s3: export audience segment members to Amazon S3 as AEP does."""

from importlib.metadata import PackageNotFoundError, version

try:
    # The version is declared once, in pyproject.toml; the SDK's --version and --about read
    # the same installed metadata.
    __version__ = version("target-adobe-s3")
except PackageNotFoundError:  # pragma: no cover - imported from a tree that is not installed
    __version__ = "0+unknown"

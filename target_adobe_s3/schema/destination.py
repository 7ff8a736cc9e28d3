"""Settings of the destination: bucket, folder, S3 endpoint, credentials, options, retries."""

from __future__ import annotations

from singer_sdk import typing as th

from target_adobe_s3.naming.macros import known_macros

MACROS_HELP = (
    f"Macros, in upper case: {known_macros(tokens=True)}. "
    "A `%` that does not begin a macro-shaped `%NAME%` is kept as text."
)

DESTINATION = (
    th.Property(
        "bucket",
        th.StringType,
        required=True,
        title="Bucket",
        description="S3 bucket name (S3's naming rules apply).",
        examples=["acme-audiences"],
    ),
    th.Property(
        "folder_path",
        th.StringType,
        default="",
        title="Folder path",
        description="Folder inside the bucket; may contain macros. " + MACROS_HELP,
        examples=["acme/campaigns/%SEGMENT_NAME%"],
    ),
    th.Property(
        "destination_name",
        th.StringType,
        default="amazon_s3",
        title="Destination name",
        description="The export's name, used by %DESTINATION_NAME%.",
        examples=["Acme_Export"],
    ),
    th.Property(
        "region",
        th.StringType,
        title="AWS region",
        description="Region of the bucket, e.g. eu-west-1.",
        examples=["eu-west-1"],
    ),
    th.Property(
        "endpoint_url",
        th.StringType,
        title="Endpoint URL",
        description="An S3-compatible endpoint (MinIO, a local test server, ...).",
        examples=["http://127.0.0.1:9000"],
    ),
    th.Property(
        "aws_access_key_id",
        th.StringType,
        secret=True,
        title="AWS access key id",
        description="Access key id; with none of the credential settings, boto3's "
        "default chain is used.",
        examples=["AKIAIOSFODNN7EXAMPLE"],
    ),
    th.Property(
        "aws_secret_access_key",
        th.StringType,
        secret=True,
        title="AWS secret access key",
        description="Secret access key.",
    ),
    th.Property(
        "aws_session_token",
        th.StringType,
        secret=True,
        title="AWS session token",
        description="Session token for temporary credentials.",
    ),
    th.Property(
        "aws_profile",
        th.StringType,
        title="AWS profile",
        description="A named profile from the AWS config files.",
        examples=["aep-export"],
    ),
    th.Property(
        "role_arn",
        th.StringType,
        title="Role ARN",
        description="IAM role to assume through STS (with the other credentials, or boto3's "
        "default chain, as the source); refreshed before it expires.",
        examples=["arn:aws:iam::123456789012:role/aep-export"],
    ),
    th.Property(
        "external_id",
        th.StringType,
        secret=True,
        title="External id",
        description="External id the role's trust policy requires (with role_arn).",
        examples=["aep-7d1f0c"],
    ),
    th.Property(
        "server_side_encryption",
        th.StringType,
        title="Server-side encryption",
        allowed_values=["AES256", "aws:kms"],
        description="S3 server-side encryption of the uploaded objects.",
        examples=["aws:kms"],
    ),
    th.Property(
        "kms_key_id",
        th.StringType,
        title="KMS key id",
        description="KMS key (id, ARN or alias) for server_side_encryption aws:kms.",
        examples=["alias/aep-exports"],
    ),
    th.Property(
        "acl",
        th.StringType,
        title="Canned ACL",
        allowed_values=[
            "private",
            "bucket-owner-full-control",
            "bucket-owner-read",
            "authenticated-read",
            "aws-exec-read",
            "public-read",
        ],
        description="Canned ACL for each object, e.g. bucket-owner-full-control when "
        "delivering into another account's bucket.",
        examples=["bucket-owner-full-control"],
    ),
    th.Property(
        "storage_class",
        th.StringType,
        title="Storage class",
        allowed_values=[
            "STANDARD",
            "STANDARD_IA",
            "ONEZONE_IA",
            "INTELLIGENT_TIERING",
            "GLACIER_IR",
            "REDUCED_REDUNDANCY",
        ],
        description="S3 storage class of the uploaded objects.",
        examples=["STANDARD_IA"],
    ),
    th.Property(
        "retry_max_attempts",
        th.IntegerType,
        default=5,
        title="Retry attempts",
        description="Attempts per S3 request, the first included, before a transient error "
        "(500, 503 SlowDown, a reset or timed-out connection) fails the run.",
        examples=[10],
    ),
    th.Property(
        "retry_mode",
        th.StringType,
        default="standard",
        title="Retry mode",
        allowed_values=["standard", "adaptive"],
        description="boto3's retry mode: `standard` (exponential backoff with jitter) or "
        "`adaptive` (also slows the client down when S3 throttles).",
        examples=["adaptive"],
    ),
    th.Property(
        "request_timeout",
        th.IntegerType,
        default=60,
        title="Request timeout",
        description="Seconds to wait for S3 to connect or to send data before the attempt "
        "counts as failed (and is retried, see retry_max_attempts).",
        examples=[30],
    ),
    th.Property(
        "upload_concurrency",
        th.IntegerType,
        default=4,
        title="Upload concurrency",
        description="Uploads at the same time: the threads that send each file's full "
        "8 MiB parts while input is read, then complete the files once it ends. At most "
        "two parts per thread wait; then input waits for S3.",
        examples=[8],
    ),
    th.Property(
        "request_checksum_calculation",
        th.StringType,
        default="when_supported",
        title="Request checksum calculation",
        allowed_values=["when_supported", "when_required"],
        description="botocore's setting. `when_supported`: every upload carries a SHA-256 "
        "that S3 checks and keeps, and each object's checksum and size are verified after "
        "upload. Over HTTPS botocore sends it in an aws-chunked body with a trailing "
        "checksum, which some S3-compatible servers store as the content (s3rver 3.7.1: "
        "the run then fails and deletes the object): use `when_required` there (no checksum "
        "is sent that S3 does not require; objects are verified by size).",
        examples=["when_required"],
    ),
    th.Property(
        "response_checksum_validation",
        th.StringType,
        default="when_supported",
        title="Response checksum validation",
        allowed_values=["when_supported", "when_required"],
        description="botocore's setting: `when_supported` validates the checksum a server "
        "sends with an object that is read (the --check probe); `when_required` only when "
        "asked. Set it to `when_required` with request_checksum_calculation for servers "
        "that send checksums they do not compute as S3 does (s3rver needs only the other).",
        examples=["when_required"],
    ),
)
"""Where files go and how S3 is reached, in the order `--about` lists them."""

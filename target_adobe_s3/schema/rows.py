"""Settings of the rows: which segments a record is in, and which columns a row has."""

from __future__ import annotations

from singer_sdk import typing as th

FIELD_ENTRY = th.CustomType(
    {
        "anyOf": [
            {"type": "string"},
            {
                "type": "object",
                "properties": {"source": {"type": "string"}, "target": {"type": "string"}},
                "required": ["source"],
            },
        ]
    }
)

SEGMENTS = (
    th.Property(
        "segment_id_field",
        th.StringType,
        default="segment_id",
        title="Segment id field",
        description="Record field holding the segment id. A stream whose schema "
        "lacks it is one segment named after the stream.",
        examples=["audience_id"],
    ),
    th.Property(
        "segment_name_field",
        th.StringType,
        default="segment_name",
        title="Segment name field",
        description="Record field holding the segment name.",
        examples=["audience_name"],
    ),
    th.Property(
        "segment_status_field",
        th.StringType,
        default="segment_status",
        title="Segment status field",
        description="Record field holding the membership status (realized, existing, exited).",
        examples=["status"],
    ),
    th.Property(
        "segment_membership_field",
        th.StringType,
        default="segmentMembership",
        title="Segment membership field",
        description="Record field holding an AEP-style membership map {namespace: "
        '{segment_id: {"status": ..., "lastQualificationTime": ...}}}; a record '
        "carrying it yields one row per segment in the map.",
        examples=["segmentMembership"],
    ),
    th.Property(
        "export_mode",
        th.StringType,
        default="full",
        allowed_values=["full", "incremental"],
        title="Export mode",
        description="full: current members only (status exited is left out); "
        "incremental: realized, existing and exited members.",
        examples=["incremental"],
    ),
    th.Property(
        "qualification_time_field",
        th.StringType,
        default="last_qualification_time",
        title="Qualification time field",
        description="Record field holding the time a member qualified; the latest wins "
        "among duplicates (taken from the membership map when fanned out).",
        examples=["qualified_at"],
    ),
    th.Property(
        "segment_names",
        th.ObjectType(additional_properties=th.StringType),
        default={},
        title="Segment names",
        description="Map of segment id to name, for streams that carry only ids.",
        examples=[{"25768be6-4a1c-4f0e-9d3e-3c0b8a1e5f10": "Luxury Audience"}],
    ),
)
"""How a record finds its segments (flat fields or an AEP membership map)."""

COLUMNS = (
    th.Property(
        "fields",
        th.ArrayType(FIELD_ENTRY),
        title="Fields",
        description='Columns in order: "source.path" strings or {"source": ..., '
        '"target": "Header"} objects. Default: every schema property, nested ones '
        "flattened with `.` replaced by `_`, except Singer's `_sdc_*` metadata (such as "
        "`_sdc_filename`, a path on the tap's host), which is exported only when named here.",
        examples=[["email", {"source": "person.firstName", "target": "first_name"}]],
    ),
    th.Property(
        "mandatory_fields",
        th.ArrayType(th.StringType),
        default=[],
        title="Mandatory fields",
        description="Source paths a row must have (not absent, null or empty); rows "
        "missing any are skipped and counted.",
        examples=[["person.email"]],
    ),
    th.Property(
        "deduplication_keys",
        th.ArrayType(th.StringType),
        default=[],
        title="Deduplication keys",
        description="Up to two source paths; one row per key value per file, the "
        "latest qualification time winning.",
        examples=[["email"]],
    ),
    th.Property(
        "dedup_memory_mb",
        th.IntegerType,
        default=2,
        title="Dedup memory (MiB)",
        description="Memory the deduplication may hold before it spills sorted runs to "
        "temp files (encrypted when pgp_public_key is set). Counted approximately: the "
        "process grows by up to about twice this.",
        examples=[256],
    ),
)
"""The columns of a row, the rows that are skipped, and deduplication."""

"""One export run: rows go to per-segment spool files, then each file goes to S3."""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from target_adobe_s3.errors import DeliveryError, InputError
from target_adobe_s3.files.spool import Encoding, Part, Spool
from target_adobe_s3.formats.csv import compile_row_formatter
from target_adobe_s3.naming.macros import SegmentValues
from target_adobe_s3.naming.manifest import Delivered, manifest_bytes, manifest_key
from target_adobe_s3.naming.safety import MacroError, join_key
from target_adobe_s3.rows.columns import default_header
from target_adobe_s3.rows.writer import StreamWriter
from target_adobe_s3.s3.client import Uploads, limit_malloc_arenas, upload_bytes
from target_adobe_s3.summary import SKIP_DUPLICATE, Progress, Tally

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from target_adobe_s3.files.dedup import DedupSet
    from target_adobe_s3.rows.segments import Segment
    from target_adobe_s3.settings import Settings

__all__ = ["Delivered", "Export", "StreamWriter"]


def extension(settings: Settings) -> str:
    """`.csv` or `.json`, then `.gz` with gzip, then `.gpg` with encryption."""
    ext = ".json" if settings.file_type == "json" else ".csv"
    if settings.compression == "gzip":
        ext += ".gz"
    if settings.recipient is not None:
        ext += ".gpg"
    return ext


@dataclass(frozen=True)
class SegmentFile:
    """What a segment's files share: name, the stream that opened it, the header."""

    segment_id: str
    segment_name: str
    stream_name: str
    header: tuple[str, ...]

    def values(self) -> SegmentValues:
        """The values its macros expand to."""
        return SegmentValues(self.segment_id, self.segment_name, self.stream_name)


class Export:
    """The spool, the dedup store and the uploads of one run."""

    def __init__(
        self,
        settings: Settings,
        client: S3Client,
        logger: logging.Logger,
        object_options: Mapping[str, str] | None = None,
    ) -> None:
        self.settings = settings
        self.client = client
        self.logger = logger
        self.object_options = dict(object_options or {})
        self.format_row = compile_row_formatter(settings.dialect)
        limit_malloc_arenas()
        self.spool = Spool(settings.temp_dir, Encoding(settings.compression, settings.recipient))
        for stale in self.spool.stale_removed:
            logger.warning("Removed %s, left by an earlier run that was killed", stale)
        self.extension = extension(settings)
        self.tally = Tally()
        self.progress = Progress(logger)
        self.delivered: list[Delivered] = []
        self._files: dict[str, SegmentFile] = {}
        self._writers: list[StreamWriter] = []
        self._dedup: DedupSet | None = None
        if settings.dedup_keys:
            from target_adobe_s3.files.dedup import DedupSet  # noqa: PLC0415 (only when set)

            spill = self.spool.directory / "dedup"
            spill.mkdir(mode=0o700)
            self._dedup = DedupSet(
                spill,
                memory_bytes=settings.dedup_memory_mb * 1024 * 1024,
                encrypt_spill=settings.recipient is not None,
            )

    def stream_writer(
        self, stream_name: str, schema: Mapping[str, Any], *, typed: bool = False
    ) -> StreamWriter:
        """A writer for one stream's records (columns and routing from its schema).

        `typed`: the records are checked against the schema before they are written.
        """
        writer = StreamWriter(self, stream_name, schema, typed=typed)
        self._writers.append(writer)
        return writer

    # --- rows ---------------------------------------------------------------------------

    def register(self, segment: Segment, stream_name: str, header: tuple[str, ...]) -> None:
        """Note that a stream writes to a segment; the first stream fixes its columns."""
        known = self._files.get(segment.segment_id)
        if known is None:
            self._files[segment.segment_id] = SegmentFile(
                segment.segment_id, segment.segment_name, stream_name, header
            )
        elif known.header != header:
            if known.stream_name == stream_name:
                raise InputError(
                    f"stream '{stream_name}' changed its columns while the file of segment "
                    f"'{segment.segment_id}' is open: {list(known.header)} became "
                    f"{list(header)}; a file has one header, so keep the stream's columns the "
                    "same (the `fields` setting fixes them)"
                )
            raise InputError(
                f"stream '{stream_name}' sends rows to segment '{segment.segment_id}', whose "
                f"file already has other columns (from stream '{known.stream_name}'): "
                f"{list(known.header)} vs {list(header)}; give both streams the same "
                "columns with the `fields` setting"
            )

    def write_row(self, segment_id: str, line: bytes) -> None:
        """Append one formatted row to the segment's current part (rolling over when full)."""
        part = self.spool.get(segment_id)
        if part is None:
            part = self._open(self._files[segment_id], 1)
        elif part.rows >= self.settings.max_rows_per_file:
            part = self._open(self._files[segment_id], part.number + 1, previous=part)
        part.write(line, rows=1)

    def dedup_row(
        self,
        segment_id: str,
        key: tuple[str, ...],
        time: Any,
        compare: tuple[str, ...],
        line: bytes,
    ) -> None:
        """Hand a row to the dedup store; winners are written at end of input."""
        assert self._dedup is not None
        self._dedup.add(segment_id, key, time, compare, line)

    def _header(self, header: tuple[str, ...]) -> bytes:
        if self.settings.file_type == "json" or not self.settings.dialect.header:
            return b""
        return self.format_row(list(header)).encode()

    def _file_name(self, values: SegmentValues, number: int, suffix: str = "") -> str:
        """A part's file name: template, clash suffix, `_<number>` after part 1, extension."""
        name = self.settings.file_name.expand(self.settings.run, values)
        return name + suffix + (f"_{number}" if number > 1 else "") + self.extension

    def _open(self, file: SegmentFile, number: int, previous: Part | None = None) -> Part:
        """Start part `number` of a segment's file (closing the full one before it)."""
        if previous is not None:
            previous.close()
        return self.spool.open(
            file.segment_id,
            file.segment_name,
            file.stream_name,
            file.header,
            first=self._header(file.header),
            literal_name=self._file_name(file.values(), number).removesuffix(".gpg"),
            number=number,
        )

    def _drain_dedup(self) -> None:
        """Write each deduplicated segment's winners into its parts."""
        if self._dedup is None:
            return
        for segment_id in self._dedup.segments():
            for line in self._dedup.winners(segment_id):
                self.write_row(segment_id, line)
            _, dropped = self._dedup.stats(segment_id)
            if dropped:
                file = self._files[segment_id]
                self.tally.skip(segment_id, file.segment_name, SKIP_DUPLICATE, dropped)
        self._dedup.close()

    def _add_empty_files(self) -> None:
        """Header-only files for segments named in `segment_names` that got no rows."""
        if not self.settings.export_empty_files:
            return
        streams = {w.stream_name for w in self._writers}
        stream = streams.pop() if len(streams) == 1 else ""
        header = (
            self._writers[0].header
            if self._writers
            else tuple(
                target or default_header(source.split("."))
                for source, target in self.settings.fields
            )
        )
        for segment_id, name in sorted(self.settings.segment_names.items()):
            if segment_id not in self._files:
                file = SegmentFile(segment_id, name, stream, header)
                self._files[segment_id] = file
                self._open(file, 1)

    # --- delivery -----------------------------------------------------------------------

    def _planned_keys(self, parts: list[Part]) -> list[tuple[Part, str]]:
        """The object key of every part; segments whose keys clash get a hash suffix."""
        settings, run = self.settings, self.settings.run

        def key_for(part: Part, suffix: str) -> str:
            values = SegmentValues(part.segment_id, part.segment_name, part.stream_name)
            name = self._file_name(values, part.number, suffix)
            try:
                return join_key(settings.folder.expand(run, values), name)
            except MacroError as exc:
                raise DeliveryError(f"segment '{part.segment_id}': {exc}") from None

        firsts = [part for part in parts if part.number == 1]
        base = {part.segment_id: key_for(part, "") for part in firsts}
        suffixes = dict.fromkeys(base, "")
        groups: dict[str, list[str]] = defaultdict(list)
        for segment_id, key in base.items():
            groups[key].append(segment_id)
        for key, group in groups.items():
            if len(group) > 1:
                self.logger.warning(
                    "%d segments would share the key %s; each gets a suffix from its segment "
                    "id (add %%SEGMENT_ID%% to file_name_template to avoid this)",
                    len(group),
                    key,
                )
                for segment_id in group:
                    digest = hashlib.sha256(segment_id.encode()).hexdigest()[:8]
                    suffixes[segment_id] = f"_{digest}"
        planned = [(part, key_for(part, suffixes[part.segment_id])) for part in parts]
        if len({key for _, key in planned}) != len(planned):
            raise DeliveryError("two files map to the same object key even after suffixing")
        return planned

    def deliver(self) -> list[Delivered]:
        """Upload every file (several at a time), then the manifest, each one verified.

        Returns what is now completely in S3, in upload-plan order. When one upload
        fails (S3 refused, or stored something else, see `storage.verify_stored`), or the
        run is stopped (SIGTERM) while they go, the others are told to stop: their
        multipart uploads are aborted by UploadId from this thread, small objects still
        in flight may land whole (delivery is at least once), and the error is raised.
        """
        self._drain_dedup()
        self._add_empty_files()
        bucket = self.settings.bucket
        planned = self._planned_keys(self.spool.finish())
        uploads = Uploads(self.client, bucket, self.object_options)
        results = uploads.start(
            [(key, part.path, part.sha256) for part, key in planned],
            self.settings.upload_concurrency,
        )
        try:
            for (part, key), result in zip(planned, results, strict=True):
                result.result()
                self._delivered(part, key)
        except BaseException:
            for problem in uploads.stop():
                self.logger.warning("%s", problem)
            raise
        if self.settings.include_manifest:
            self._deliver_manifest()
        return self.delivered

    def _delivered(self, part: Part, key: str) -> None:
        """Record and log a file that is now completely in S3 and verified."""
        done = Delivered(
            part.segment_id,
            part.segment_name,
            key,
            part.rows,
            part.size,
            part.sha256,
            part.number,
        )
        self.delivered.append(done)
        segment = self.tally.segment(part.segment_id, part.segment_name)
        segment.rows += part.rows
        segment.files += 1
        segment.size += part.size
        self.logger.info(
            "Delivered s3://%s/%s (%d rows, %d bytes, part %d)",
            self.settings.bucket,
            key,
            done.rows,
            done.size,
            done.part,
        )

    def _deliver_manifest(self) -> None:
        """Write the manifest after every data file of the run is in S3."""
        settings, run = self.settings, self.settings.run
        try:
            key = manifest_key(settings.folder.run_folder(run), run.destination_name, run.run_id)
        except MacroError as exc:
            raise DeliveryError(f"manifest: {exc}") from None
        document = manifest_bytes(run.run_id, run.export_time, self.delivered)
        options = {**self.object_options, "ContentType": "application/json"}
        upload_bytes(self.client, settings.bucket, key, document, options=options)
        self.logger.info("Delivered s3://%s/%s (manifest)", settings.bucket, key)

    def close(self) -> None:
        """Remove every temp file (idempotent)."""
        if self._dedup is not None:
            self._dedup.close()
        self.spool.remove()

"""One export run: rows → segment files → keys → uploads → verify → manifest; the summary data.

Each step is another layer's: `rows` makes the rows, `formats` their bytes, `files` the
segment files and their parts, `naming` the keys, `s3` the uploads and their checks. This
module builds them for the run's settings and wires them: a part's key is known when it
opens, so its full upload parts go up while input is read; `deliver` completes the uploads
after end of input.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from concurrent.futures import FIRST_EXCEPTION, wait
from typing import TYPE_CHECKING, Any

from target_adobe_s3.errors import DeliveryError
from target_adobe_s3.files.parts import Encoding
from target_adobe_s3.files.segment_files import SegmentFile, SegmentFiles, dedup_store
from target_adobe_s3.files.spool import Spool
from target_adobe_s3.formats import build_format
from target_adobe_s3.memory import limit_malloc_arenas
from target_adobe_s3.naming.keys import KeyBook, Naming, extension
from target_adobe_s3.naming.macros import SegmentValues
from target_adobe_s3.naming.manifest import Delivered, manifest_bytes, manifest_key
from target_adobe_s3.naming.safety import MacroError
from target_adobe_s3.rows.columns import default_header
from target_adobe_s3.rows.tally import SKIP_DUPLICATE, Tally
from target_adobe_s3.rows.writer import StreamWriter
from target_adobe_s3.s3.stream import ObjectUpload, Uploads
from target_adobe_s3.s3.upload import upload_bytes
from target_adobe_s3.summary import Progress

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from target_adobe_s3.files.parts import Part
    from target_adobe_s3.settings import Settings

__all__ = ["Delivered", "Export", "StreamWriter"]


def _values(part: Part) -> SegmentValues:
    """What naming needs of a part: its segment's id and name, its stream."""
    return SegmentValues(part.segment_id, part.segment_name, part.stream_name)


class Export:
    """The segment files, the uploads and the counts of one run."""

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
        self.format = build_format(settings)
        limit_malloc_arenas()
        # gzip around the file (`.gz`), unless the format compresses inside it (Parquet).
        compression = self.format.outer_compression(settings.compression)
        encoding = Encoding(compression, settings.recipient)
        encrypted = settings.recipient is not None
        self.naming = Naming(
            settings.folder,
            settings.file_name,
            settings.run,
            extension(self.format.extension, compression, encrypted),
        )
        self.keys = KeyBook(self.naming)
        # OpenPGP's literal data names the file as it is inside the encryption.
        self._literal_ext = extension(self.format.extension, compression, False)
        self.content_type = encoding.content_type(self.format.content_type)
        options = {"ContentType": self.content_type, **self.object_options}
        self.uploads = Uploads(client, settings.bucket, options, settings.upload_concurrency)
        self._objects: dict[tuple[str, int], ObjectUpload] = {}
        self.spool = Spool(settings.temp_dir, encoding, self._upload_of)
        for stale in self.spool.stale_removed:
            logger.warning("Removed %s, left by an earlier run that was killed", stale)
        self.tally = Tally()
        self.progress = Progress(logger)
        self.delivered: list[Delivered] = []
        self._writers: list[StreamWriter] = []
        dedup = None
        if settings.dedup_keys:
            memory = settings.dedup_memory_mb * 1024 * 1024
            dedup = dedup_store(self.spool, memory, encrypt_spill=encrypted)
        self.files = SegmentFiles(
            self.spool, self.format, settings.max_rows_per_file, self._literal_name, dedup
        )

    def stream_writer(
        self, stream_name: str, schema: Mapping[str, Any], *, typed: bool = False
    ) -> StreamWriter:
        """A writer for one stream's records (columns and routing from its schema).

        `typed`: the records are checked against the schema before they are written.
        """
        writer = StreamWriter(
            stream_name,
            schema,
            settings=self.settings,
            sink=self.files,
            file_format=self.format,
            tally=self.tally,
            progress=self.progress.add,
            typed=typed,
        )
        self._writers.append(writer)
        return writer

    def _literal_name(self, file: SegmentFile, number: int) -> str:
        values = SegmentValues(file.segment_id, file.segment_name, file.stream_name)
        return self.naming.name(values, number, ext=self._literal_ext)

    def _upload_of(self, part: Part) -> ObjectUpload:
        """The upload of a part that opens, under its key (the outlet of its full parts).

        The key is a pure function of the segment's values and the part's number
        (`%SEGMENT_ID%` is in every key), so it is known when the part opens, whatever
        the order segments arrive in; `KeyBook` refuses a key another part already has.

        Raises:
            DeliveryError: the folder cannot hold the segment's values, or two parts
                would share a key (named).
        """
        key = self.keys.key(_values(part), part.number)
        upload = self.uploads.object(key)
        self._objects[part.segment_id, part.number] = upload
        return upload

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
            self.files.add_empty(SegmentFile(segment_id, name, stream, header))

    def deliver(self) -> list[Delivered]:
        """Finish every file, complete its upload (several at a time), then the manifest.

        Full parts went up while input was read; this writes the deduplicated files, sends
        each file's last part, completes each multipart upload or puts each small file
        whole, and checks each object. Returns what is now completely in S3, in segment
        and part order. When one upload fails (S3 refused, or stored something else, see
        `s3.verify`), or the run is stopped (SIGTERM) meanwhile, the others are told to
        stop: their multipart uploads are aborted by UploadId from this thread, small
        objects in flight may land whole (delivery is at least once), and the error is
        raised.
        """
        try:
            for file, dropped in self.files.drain_dedup():
                self.tally.skip(file.segment_id, file.segment_name, SKIP_DUPLICATE, dropped)
            self._add_empty_files()
            parts = self.files.finish()
            finishing = []
            for part in parts:
                upload = self._objects[part.segment_id, part.number]
                path = None if part.streamed else part.path
                finishing.append((part, upload, upload.finish(path, part.size, part.sha256)))
            wait([done for _, _, done in finishing], return_when=FIRST_EXCEPTION)
            self.uploads.raise_failure()
            for part, upload, done in finishing:
                done.result()
                self._delivered(part, upload.key)
        except BaseException:
            self._stop_uploads()
            raise
        if self.settings.include_manifest:
            self._deliver_manifest()
        return self.delivered

    def _stop_uploads(self) -> None:
        """Abort every multipart upload still open (idempotent); log what stays open."""
        for problem in self.uploads.stop():
            self.logger.warning("%s", problem)

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
        """Abort the uploads still open, and remove every temp file (idempotent).

        After a successful `deliver` nothing is open; after a failure or a signal during
        input, this aborts the uploads started while input was read.
        """
        self._stop_uploads()
        self.files.close()
        self.spool.remove()

# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to the ssec.s3 collection, not a public API: it may change in any release.
"""Moving data: local hashing, part sizes, encrypted upload, verified download, streamed compare.

Transfers of more than one part go through s3transfer (the engine of the aws cli and boto3), with the
SSE-C parameters on every request, a part size that keeps every upload within
1000 parts (Scaleway's limit), and memory bounded by concurrency x part size.
An object of one part is one PutObject or GetObject on the client: s3transfer would make the same request,
but starting its thread pools for it costs more CPU than the request (measured: 3.7 against 1.8 ms per
small object), and a sync of many small files pays that once per file.
"""

from __future__ import annotations

import hashlib
import io
import os
import time

from ansible_collections.ssec.s3.plugins.module_utils import _digest as digest, _local_files as local_files
from ansible_collections.ssec.s3.plugins.module_utils._errors import DELETE, SsecError, s3_errors

MIB = 1024 * 1024
MAX_PARTS = 1000
DEFAULT_PART_SIZE = 8 * MIB
# S3's smallest part (all but the last): s3transfer raises a smaller chunk size to it anyway,
# so the part count must be computed from it too.
MIN_PART_SIZE = 5 * MIB
_READ_SIZE = MIB
# Memory for parts in flight: concurrency is lowered when parts are large.
_MAX_BUFFERED = 256 * MIB
# A file changed during its upload is hashed and uploaded again, this many times in all.
UPLOAD_ATTEMPTS = 3
# A GetObject whose body breaks off is sent again, this many times in all (s3transfer's own figure).
DOWNLOAD_ATTEMPTS = 5
_TIMESTAMP_SLACK_NS = 2 * 10 ** 9
_UNFINISHED_UPLOAD_HINT = (
    "If the server could not be reached to abort it, the multipart upload stays open there (its parts take space; "
    "no object is created): find it with 'aws s3api list-multipart-uploads' and end it with "
    "'aws s3api abort-multipart-upload', or let a lifecycle rule (AbortIncompleteMultipartUpload) remove it."
)


def part_size(size, minimum=DEFAULT_PART_SIZE) -> int:
    """Smallest whole-MiB part size >= ``minimum`` (and >= S3's 5 MiB) that needs at most 1000 parts."""
    needed = max(minimum, MIN_PART_SIZE, -(-size // MAX_PARTS))
    return -(-needed // MIB) * MIB


def part_count(size, chunk) -> int:
    return max(1, -(-size // chunk))


def _hash_handle(handle, hasher, size) -> int:
    """Feed everything ``handle`` (unbuffered) still holds to ``hasher``; returns the byte count. ``size``: the
    file's size when opened (a small file gets a small buffer: zeroing 1 MiB per file costs more than hashing it)."""
    buffer = memoryview(bytearray(min(_READ_SIZE, size + 1)))
    total = 0
    for count in iter(lambda: handle.readinto(buffer), 0):
        hasher.update(buffer[:count])
        total += count
    return total


def _hash_file(path, hasher) -> str:
    with open(path, "rb", buffering=0) as handle:
        _hash_handle(handle, hasher, os.fstat(handle.fileno()).st_size)
    return hasher.hexdigest()


def sha256_file(path) -> str:
    return _hash_file(path, hashlib.sha256())


def md5_file(path) -> str:
    return _hash_file(path, hashlib.md5(usedforsecurity=False))


def _identity(info):
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)


class Source:
    """What to upload: a local file or bytes given inline, with its size and plaintext SHA-256.

    A file also keeps its identity (device, inode, size, mtime, ctime) from before it was hashed, so that a
    change between hashing and the end of an upload can be told (``changed``).
    """

    # A sync of 100 000 new files holds one per file until they are uploaded: slots keep each small.
    __slots__ = ("path", "data", "retries", "hashed_at_ns", "identity", "size", "sha256")

    def __init__(self, path=None, data=None):
        self.path = path
        self.data = data
        self.retries = 0  # how many times upload() read it again because it changed
        if path is not None:
            self.hash()
        else:
            self.size = len(data)
            self.sha256 = hashlib.sha256(data).hexdigest()

    def hash(self):
        """(Re)read the file: its identity first, then size and SHA-256 of the bytes actually read."""
        with open(self.path, "rb", buffering=0) as handle:
            self.hashed_at_ns = time.time_ns()
            info = os.fstat(handle.fileno())
            self.identity = _identity(info)  # the identity of what is read (sync's record keeps it)
            hasher = hashlib.sha256()
            self.size = _hash_handle(handle, hasher, info.st_size)
        self.sha256 = hasher.hexdigest()

    def changed(self) -> bool:
        """Has the file changed since it was hashed? Inline data never does."""
        if self.path is None:
            return False
        try:
            info = os.stat(self.path)
        except OSError:
            return True
        if _identity(info) != self.identity:
            return True
        # A write in the same timestamp tick as the last one before hashing leaves mtime and ctime as they were
        # (coarse clocks, 2 s on some file systems): for a file that recent, only its bytes can tell.
        if info.st_mtime_ns + _TIMESTAMP_SLACK_NS >= self.hashed_at_ns:
            return sha256_file(self.path) != self.sha256
        return False

    def open(self):
        return open(self.path, "rb") if self.path is not None else io.BytesIO(self.data)

    def md5(self):
        if self.path is not None:
            return md5_file(self.path)
        return hashlib.md5(self.data, usedforsecurity=False).hexdigest()


def _transfer_manager(client, chunk, concurrency):
    from boto3.s3.transfer import TransferConfig, create_transfer_manager

    concurrency = max(1, min(concurrency, _MAX_BUFFERED // chunk))
    config = TransferConfig(
        multipart_threshold=chunk,
        multipart_chunksize=chunk,
        max_concurrency=concurrency,
        use_threads=True,
    )
    return create_transfer_manager(client, config)


def upload(client, bucket, name, source, key, metadata=None, content_type=None, storage_class=None,
           min_part_size=DEFAULT_PART_SIZE, concurrency=8) -> int:
    """Upload ``source`` encrypted with ``key``, its sealed digest in the metadata; returns the part count.

    The digest is sealed before the data is read, so a file that changed meanwhile would leave an object whose
    digest describes other bytes (every download refused, every rerun fooled): it is hashed and uploaded
    again, and after the last attempt the object is deleted and the upload fails.
    """
    source.retries = 0
    while True:
        parts = _upload_once(client, bucket, name, source, key, metadata, content_type, storage_class,
                             min_part_size, concurrency)
        if not source.changed():
            return parts
        if source.retries + 1 >= UPLOAD_ATTEMPTS:
            with s3_errors("delete s3://%s/%s, uploaded from a file that kept changing" % (bucket, name),
                           write=DELETE):
                client.delete_object(Bucket=bucket, Key=name)
            raise SsecError("src %s changed while it was uploaded to s3://%s/%s, %d times in a row. The object was "
                            "deleted, since its content could not match its stored digest. Run the task again when "
                            "nothing writes to the file any more (or upload a copy of it)."
                            % (source.path, bucket, name, UPLOAD_ATTEMPTS))
        source.retries += 1
        source.hash()


def _upload_once(client, bucket, name, source, key, metadata, content_type, storage_class, min_part_size,
                 concurrency) -> int:
    """s3transfer puts the key on every UploadPart and on Complete, and aborts a failed multipart upload."""
    chunk = part_size(source.size, min_part_size)
    extra = dict(key.request_params())
    extra["Metadata"] = dict(metadata or {}, **{digest.METADATA_NAME: digest.seal(key, source.sha256)})
    if content_type:
        extra["ContentType"] = content_type
    if storage_class:
        extra["StorageClass"] = storage_class
    try:
        with s3_errors("upload s3://%s/%s" % (bucket, name), write=True):
            if source.size <= chunk:
                with source.open() as body:  # seekable: botocore rewinds it for a retry
                    client.put_object(Bucket=bucket, Key=name, Body=body, **extra)
                return 1
            with _transfer_manager(client, chunk, concurrency) as manager:
                if source.path is not None:
                    # By name, each worker reads its part as it sends it; a file object would be read
                    # ahead into memory, up to 15 parts (max_in_memory_upload_chunks + submission threads).
                    manager.upload(source.path, bucket, name, extra_args=extra).result()
                else:
                    with source.open() as body:
                        manager.upload(body, bucket, name, extra_args=extra).result()
    except SsecError as exc:
        if source.size > chunk and exc.status is None:
            # The connection was lost: the abort of the multipart upload may not have reached the server either.
            raise SsecError("%s %s" % (exc.message, _UNFINISHED_UPLOAD_HINT), code=exc.code, status=exc.status) from None
        raise
    return part_count(source.size, chunk) if source.size > chunk else 1


def write_download(module, client, remote, key, dest, concurrency=8, backup=False):
    """Download ``remote`` to ``dest`` through local_files.write_file, verified; return the backup path, if any.

    Any failure (transfer, verification, final rename) leaves ``dest`` as it was.
    """
    def fill(handle):
        chunk = part_size(remote.size or 0)
        extra = dict(key.request_params() if key else {}, **_version(remote))
        with s3_errors("download s3://%s/%s" % (remote.bucket, remote.name)):
            if remote.size is not None and remote.size <= chunk:
                _get_into(client, remote, extra, handle)
                return
            with _transfer_manager(client, chunk, concurrency) as manager:
                manager.download(remote.bucket, remote.name, handle, extra_args=extra).result()

    return local_files.write_file(module, dest, fill, verify=lambda path: verify_download(path, remote),
                                  backup=backup, option="dest")[1]


def _get_into(client, remote, extra, handle):
    """One GetObject into ``handle``; a body cut or stalled midway is fetched again from the start, as
    s3transfer does (botocore retries only until the headers arrive)."""
    from s3transfer.utils import S3_RETRYABLE_DOWNLOAD_ERRORS  # here: module_utils import without the SDK

    for attempt in range(DOWNLOAD_ATTEMPTS):
        handle.seek(0)
        handle.truncate()
        body = client.get_object(Bucket=remote.bucket, Key=remote.name, **extra)["Body"]
        try:
            for chunk in body.iter_chunks(_READ_SIZE):
                handle.write(chunk)
            return
        except S3_RETRYABLE_DOWNLOAD_ERRORS:
            if attempt + 1 == DOWNLOAD_ATTEMPTS:
                raise
        finally:
            body.close()


def verify_download(path, remote) -> None:
    """Check a downloaded file against what the object says it holds."""
    size = os.path.getsize(path)
    if remote.size is not None and size != remote.size:
        raise SsecError("The download of s3://%s/%s is incomplete (%d of %d bytes); the destination was left "
                        "untouched. Run the task again." % (remote.bucket, remote.name, size, remote.size))
    if remote.sha256 is not None and sha256_file(path) != remote.sha256:
        raise SsecError("The download of s3://%s/%s does not match the content digest stored with the object; "
                        "the destination was left untouched. The object may have changed during the download "
                        "(run the task again) or been altered on the server." % (remote.bucket, remote.name))
    if remote.sha256 is None and remote.rclone_md5 and md5_file(path) != remote.rclone_md5:
        raise SsecError("The download of s3://%s/%s does not match the MD5 rclone stored with the object; "
                        "the destination was left untouched." % (remote.bucket, remote.name))


def same_content(client, remote, key, local) -> bool:
    """Does the object hold exactly the bytes of ``local`` (a Source or a local path)?

    Cheapest evidence first: the sealed digest, then rclone's MD5, then a streamed comparison
    (no temp file; stops at the first difference).
    """
    if not isinstance(local, Source):
        local = Source(path=local)
    if remote.size is not None and remote.size != local.size:
        return False
    if remote.digest_problem:
        # Equal bytes or not, a digest this key cannot open must be sealed anew: it is a difference.
        return False
    if remote.sha256 is not None:
        return remote.sha256 == local.sha256
    if remote.rclone_md5:
        return remote.rclone_md5 == local.md5()
    return _stream_equal(client, remote, key, local)


def _stream_equal(client, remote, key, local) -> bool:
    params = dict({"Bucket": remote.bucket, "Key": remote.name}, **_version(remote))
    if key is not None:
        params.update(key.request_params())
    with s3_errors("read s3://%s/%s to compare it" % (remote.bucket, remote.name)):
        body = client.get_object(**params)["Body"]
        try:
            with local.open() as handle:
                for chunk in body.iter_chunks(_READ_SIZE):
                    if handle.read(len(chunk)) != chunk:
                        return False
                return handle.read(1) == b""
        finally:
            body.close()


def _version(remote):
    """The VersionId of a read, when one version was asked for (ssec.s3.download version_id)."""
    return {"VersionId": remote.version_id} if remote.version_id is not None else {}

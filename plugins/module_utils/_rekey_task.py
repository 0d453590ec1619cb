# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to the ssec.s3 collection, not a public API: it may change in any release.
"""Backend of ssec.s3.rekey: re-encrypt existing objects under a new SSE-C key, in place.

Each object is classified from HEADs only (remote.inspect, with the old key and, when needed, the new one),
then rewritten onto itself by the server:

- up to the threshold, one CopyObject with the old key as copy-source key and the new key, metadata replaced
  by the source's own (the content digest re-sealed under the new key), content type and headers carried over;
- above it, a multipart copy (UploadPartCopy with the copy-source key on every part).

Servers that cannot copy from an SSE-C source get a streamed re-encryption instead: ranged GET with the old
key, UploadPart with the new key (one GET and one PutObject for an object that fits in one part), bounded
memory, nothing on disk. Measured: SeaweedFS answers 501 to UploadPartCopy; Ceph RGW answers 501 to
CopyObject, and to UploadPartCopy 400, as it decrypts the source with the destination's key. The first such
answer of a run decides for the objects after it.

Every source read is conditional on the ETag of the HEAD that decided, so an object replaced meanwhile fails
instead of being copied with stale metadata. Every rewrite is verified by a HEAD under the new key.
"""

from __future__ import annotations

import base64
import collections
import hashlib
import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

from ansible_collections.ssec.s3.plugins.module_utils import (
    _bulk as bulk, _digest as digest, _policy as policy, _remote as remote_state, _transfer as transfer,
    _versions as versions)
from ansible_collections.ssec.s3.plugins.module_utils._errors import SsecError, http_error, s3_errors
from ansible_collections.ssec.s3.plugins.module_utils._policy import State
from ansible_collections.ssec.s3.plugins.module_utils._remote import SSE_C
from ansible_collections.ssec.s3.plugins.module_utils._sync_names import in_share, prefix_shard

LISTS = ("rotated", "already_rotated", "unknown_key", "plaintext", "failed")
# What to do with an object, from its state under the old and the new key.
ROTATE, ALREADY_ROTATED, UNKNOWN_KEY, PLAINTEXT, ABSENT = "rotate", "already_rotated", "unknown_key", "plaintext", "absent"
COPY, MULTIPART_COPY, REENCRYPT_STREAM = "copy", "multipart-copy", "reencrypt-stream"
MIB = transfer.MIB
# CopyObject's own limit: larger objects can only be rewritten in parts.
MAX_COPY_MB = 5120
# Memory for parts held by the streamed re-encryption: fewer workers when parts are large.
_STREAM_BUFFER_BUDGET = 256 * MIB
# Headers that a copy with MetadataDirective=REPLACE resets: carried over from the source's HEAD.
PRESERVED_HEADERS = ("CacheControl", "ContentDisposition", "ContentEncoding", "ContentLanguage", "WebsiteRedirectLocation")


class _CopyRefused(Exception):
    """The server cannot copy parts from this source (501 SeaweedFS, 400 Ceph RGW): stream instead."""


# ---- pure decisions -------------------------------------------------------------------------------------
# The list each policy.rotate reason puts an object in.
_OUTCOMES = {policy.Why.ROTATE: ROTATE, policy.Why.ROTATED: ALREADY_ROTATED, State.OTHER_KEY: UNKNOWN_KEY,
             State.UNKNOWN: UNKNOWN_KEY, State.PLAINTEXT: PLAINTEXT, State.OTHER_SSE: PLAINTEXT, State.ABSENT: ABSENT}


def decide(under_old, under_new=None, encrypt_plaintext=False):
    """(outcome, rewrite?) of policy.rotate for an object seen with the old key (and, when that does not open
    it, with the new one); None when the HEAD under the new key is needed and was not given."""
    verdict = policy.rotate(under_old.kind, under_new.kind if under_new is not None else None, encrypt_plaintext)
    if verdict is None:
        return None
    return _OUTCOMES[verdict.why], verdict.action == policy.Action.WRITE


def classify(under_old, under_new=None):
    """ROTATE, ALREADY_ROTATED, UNKNOWN_KEY, PLAINTEXT or ABSENT (see decide)."""
    decided = decide(under_old, under_new)
    return decided and decided[0]


def method_for(size, threshold_bytes, encrypted=True):
    """CopyObject up to the threshold (an empty object is always one copy); above it, a multipart copy of an
    SSE-C object, a streamed re-encryption of a plaintext one.

    A plaintext object is read anyway to compute its digest, and SeaweedFS (4.48) completes UploadPartCopy from a
    plaintext source into an SSE-C upload, yet builds an object that no full GET can read (500, HEAD looks fine).
    """
    if not size or size <= threshold_bytes:
        return COPY
    return MULTIPART_COPY if encrypted else REENCRYPT_STREAM


def part_ranges(size, chunk):
    """(part number, first byte, last byte) of every part of an object of ``size`` bytes."""
    return [(number, start, min(start + chunk, size) - 1) for number, start in enumerate(range(0, size, chunk), 1)]


def stream_workers(concurrency, chunk):
    """How many parts the streamed re-encryption holds at once: ``concurrency``, fewer for huge parts."""
    return max(1, min(concurrency, _STREAM_BUFFER_BUDGET // chunk))


def rewritten_metadata(source, old_key, new_key, sha256=None):
    """(user metadata for the rewritten object, what happened to the digest).

    The digest is re-sealed under the new key (``resealed``); a plaintext object hashed on the way gets a new one
    (``sealed``); a digest that does not open with the old key is dropped (``dropped``), since it could not be
    opened under the new key either; ``absent`` when there was none.
    """
    metadata = dict(source.metadata or {})
    if sha256 is not None:
        metadata[digest.METADATA_NAME] = digest.seal(new_key, sha256)
        return metadata, "sealed"
    if not source.sealed_digest:
        return metadata, "absent"
    try:
        metadata[digest.METADATA_NAME] = digest.rotate(old_key, new_key, source.sealed_digest)
    except digest.DigestError:
        return metadata, "dropped"
    return metadata, "resealed"


def _preserved(head, storage_class):
    params = {name: head[name] for name in PRESERVED_HEADERS if head.get(name)}
    if storage_class and storage_class != "STANDARD":
        params["StorageClass"] = storage_class
    return params


def copy_params(item, old_key, new_key):
    """The CopyObject request that rewrites ``item`` onto itself under ``new_key``."""
    params = {
        "Bucket": item.bucket,
        "Key": item.name,
        "CopySource": {"Bucket": item.bucket, "Key": item.name},
        "MetadataDirective": "REPLACE",
        "Metadata": item.metadata,
    }
    params.update(item.headers)
    if item.etag:
        params["CopySourceIfMatch"] = item.etag
    if item.encrypted:
        params.update(old_key.copy_source_params())
    params.update(new_key.request_params())
    return params


class Item:
    """One object to rewrite: where it is, what it holds, what to write with it."""

    def __init__(self, bucket, source, head, previous_state, method):
        self.bucket = bucket
        self.name = source.name
        self.source = source
        self.size = source.size or 0
        self.etag = head.get("ETag")
        self.previous_state = previous_state
        self.encrypted = previous_state == SSE_C
        self.method = method
        self.headers = _preserved(head, source.storage_class)
        if source.content_type:
            self.headers["ContentType"] = source.content_type
        self.metadata = None
        self.digest = None
        self.tags = None  # read when the rewrite needs them
        self.sha256 = source.sha256

    @property
    def url(self):
        return "s3://%s/%s" % (self.bucket, self.name)

    def copy_source(self):
        """Where the data is read from: the object itself (ssec.s3.copy reads another one)."""
        return {"Bucket": self.bucket, "Key": self.name}

    @property
    def source_url(self):
        return self.url

    def entry(self):
        return {"object": self.name, "size": self.size, "method": self.method, "previous_state": self.previous_state,
                "digest": self.digest}


# ---- the work -------------------------------------------------------------------------------------------
class Rekeyer:
    def __init__(self, client, bucket, old_key, new_key, encrypt_plaintext=False, concurrency=8,
                 threshold_mb=MAX_COPY_MB, check_mode=False):
        self.client = client
        self.bucket = bucket
        self.old_key = old_key
        self.new_key = new_key
        self.encrypt_plaintext = encrypt_plaintext
        self.concurrency = max(1, concurrency)
        self.threshold = threshold_mb * MIB
        self.check_mode = check_mode
        # (method, encrypted source) the server refused in this run: the objects after it are streamed at once.
        self.refused = set()
        # Parts of streamed objects held in memory at once, over all the objects in flight.
        self._buffers = threading.BoundedSemaphore(max(1, _STREAM_BUFFER_BUDGET // transfer.DEFAULT_PART_SIZE))

    def method(self, size, encrypted):
        """method_for, and streamed when the server already refused that way to copy in this run."""
        method = method_for(size, self.threshold, encrypted)
        return REENCRYPT_STREAM if (method, encrypted) in self.refused else method

    @staticmethod
    def one_part(item):
        return item.size <= transfer.part_size(item.size)

    def inline(self, item):
        """Rewritten during the first pass, objects in parallel: a copy, or a stream of one part.

        The others come after it, one at a time with their parts in parallel."""
        return item.method == COPY or (item.method == REENCRYPT_STREAM and self.one_part(item))

    def examine(self, name, listed_size=None):
        """(state, entry, item): item is what to rewrite (None when nothing is to be written).

        ``listed_size`` is the size from the listing (None for an object that was not listed): a HEAD without
        the object's key tells none.
        """
        listed = listed_size is not None
        seen = remote_state.inspect(self.client, self.bucket, name, self.old_key, listed=listed)
        decided = decide(seen, None, self.encrypt_plaintext)
        if decided is None:
            # SSE-C, not under the old key: under the new one, or an unknown key? (It exists: no listing needed.)
            under_new = remote_state.inspect(self.client, self.bucket, name, self.new_key, listed=True)
            decided = decide(seen, under_new, self.encrypt_plaintext)
            seen = under_new if decided[0] in (PLAINTEXT, ALREADY_ROTATED) else seen
        state, rewrite = decided
        entry = {"object": name, "size": seen.size if seen.size is not None else listed_size}
        if state == PLAINTEXT:
            entry["encryption"] = seen.encryption
        if rewrite:
            previous = SSE_C if state == ROTATE else seen.state
            item = Item(self.bucket, seen, seen.head, previous, self.method(seen.size, state == ROTATE))
            return state, entry, item
        return state, entry, None

    def _prepare(self, item):
        """The metadata the rewritten object gets (a plaintext object is read once for its digest)."""
        sha256 = None
        if not item.encrypted and not self.check_mode:
            sha256 = self._hash_plaintext(item)
            item.sha256 = sha256
        item.metadata, item.digest = rewritten_metadata(item.source, self.old_key, self.new_key, sha256)
        if not item.encrypted:
            item.digest = "sealed"  # also in check mode, where the data is not read
            if not self.check_mode:
                self._tags(item)  # before any copy: RGW's copy of a plaintext object drops them

    def rewrite(self, item):
        """Rewrite one object under the new key (or only plan it, in check mode); returns its ``rotated`` entry.

        None when the server refused to copy it and it is too large for the first pass (``inline``): it is then
        planned as a stream; call again in the second pass.
        """
        if item.metadata is None:
            self._prepare(item)
        if self.check_mode:
            return item.entry()
        if (item.method, item.encrypted) in self.refused:  # learnt from another object since this one was planned
            item.method = REENCRYPT_STREAM
        if item.method == COPY:
            if self._copy(item):
                return item.entry()
            self.refused.add((COPY, item.encrypted))
            item.method = REENCRYPT_STREAM
            if not self.inline(item):
                return None
        if item.method == REENCRYPT_STREAM and self.one_part(item):
            self._stream_whole(item)
        else:
            self._multipart(item)
            self._check_readable(item)
        self._verify(item)
        return item.entry()

    def _copy(self, item):
        """One CopyObject onto itself, verified; False when the server cannot copy this kind of source: it answers
        501 (RGW, SSE-C source), or it ignores the new key and leaves a plaintext source plaintext (RGW)."""
        try:
            with s3_errors("copy %s onto itself under the new key" % item.url, write=True):
                self.client.copy_object(**copy_params(item, self.old_key, self.new_key))
        except SsecError as exc:
            if _not_implemented(exc):
                return False
            error = exc
        else:
            after = remote_state.inspect(self.client, item.bucket, item.name, self.new_key, listed=True)
            if not item.encrypted and after.kind in State.UNENCRYPTED:
                # The same bytes, still plaintext: stream them, read conditional on what the copy wrote.
                item.etag = after.head.get("ETag")
                return False
            self._check(item, after)
            return True
        # The answer may be lost after the server made the copy; the SDK's retry then finds the object under the
        # new key and fails. A copy that verifies is done, whatever the answer said.
        if not self._copied_anyway(item):
            raise error
        return True

    def _hash_plaintext(self, item):
        """SHA-256 of a plaintext object, streamed (bounded memory), so its encrypted copy carries a digest."""
        params = {"Bucket": item.bucket, "Key": item.name}
        if item.etag:
            params["IfMatch"] = item.etag
        hasher = hashlib.sha256()
        with s3_errors("read %s to compute its SHA-256" % item.url):
            body = self.client.get_object(**params)["Body"]
            try:
                for chunk in body.iter_chunks(MIB):
                    hasher.update(chunk)
            finally:
                body.close()
        return hasher.hexdigest()

    def _check_readable(self, item):
        """A full GET of a multipart rewrite must start: a HEAD alone has been seen to pass on unreadable objects."""
        with s3_errors("read %s back after the multipart rewrite (it may now be unreadable: inspect it)" % item.url):
            body = self.client.get_object(Bucket=item.bucket, Key=item.name, **self.new_key.request_params())["Body"]
            try:
                body.read(1)
            finally:
                body.close()

    def _copied_anyway(self, item) -> bool:
        try:
            self._verify(item)
        except SsecError:
            return False
        return True

    def _verify(self, item):
        self._check(item, remote_state.inspect(self.client, item.bucket, item.name, self.new_key, listed=True))

    @staticmethod
    def _check(item, after):
        """Is ``after`` (the object seen with the new key) the rewrite of ``item``? Raises when not."""
        if not policy.rotated(after.kind):
            raise SsecError("%s is not encrypted with the new key after the copy (%s). Inspect it with ssec.s3.object_info "
                            "and run the task again." % (item.url, after.state))
        if after.size != item.size:
            raise SsecError("%s has %s bytes after the copy instead of %s. Inspect it with ssec.s3.object_info."
                            % (item.url, after.size, item.size))
        if item.sha256 and after.sha256 != item.sha256:
            raise SsecError("The content digest of %s does not open with the new key after the copy (%s). Inspect it with "
                            "ssec.s3.object_info." % (item.url, after.digest_problem or "another SHA-256"))

    # ---- multipart ---------------------------------------------------------------------------------------
    def _multipart(self, item):
        chunk = transfer.part_size(item.size)
        ranges = part_ranges(item.size, chunk)
        tags = self._tags(item)
        rewritten = False
        if item.method == MULTIPART_COPY:
            try:
                self._in_upload(item, tags, lambda upload_id: self._copy_parts(item, upload_id, ranges))
                rewritten = True
            except _CopyRefused:
                self.refused.add((MULTIPART_COPY, item.encrypted))
                item.method = REENCRYPT_STREAM
        if not rewritten:
            workers = stream_workers(self.concurrency, chunk)
            self._in_upload(item, tags, lambda upload_id: self._stream_parts(item, upload_id, ranges, workers))
        if tags:
            # Ceph RGW ignores the tags given to CreateMultipartUpload: set them on the object (AWS keeps them).
            try:
                with s3_errors("set the tags (%s) of %s again" % (_tagging(tags), item.url)):
                    self.client.put_object_tagging(Bucket=item.bucket, Key=item.name, Tagging={"TagSet": tags})
            except SsecError as exc:
                raise SsecError("%s It is rewritten under the new key without them: set them with 'aws s3api "
                                "put-object-tagging'." % exc.message, code=exc.code, status=exc.status) from None

    def _tags(self, item):
        """The object's tags (read once), which a new object or upload must be given (CopyObject keeps them)."""
        if item.tags is not None:
            return item.tags
        try:
            with s3_errors("read the tags of %s" % item.url):
                tags = self.client.get_object_tagging(Bucket=item.bucket, Key=item.name).get("TagSet") or []
        except SsecError as exc:
            if not _not_implemented(exc):
                raise
            tags = []  # a server without tagging: the object has none to carry over
        item.tags = [{"Key": tag["Key"], "Value": tag["Value"]} for tag in tags]
        return item.tags

    def create_params(self, item, tags=None):
        params = {"Bucket": item.bucket, "Key": item.name, "Metadata": item.metadata}
        params.update(item.headers)
        if tags:
            params["Tagging"] = _tagging(tags)
        params.update(self.new_key.request_params())
        return params

    def _in_upload(self, item, tags, send_parts):
        """Create a multipart upload, send its parts, complete it; abort it on any failure."""
        with s3_errors("start the multipart rewrite of %s" % item.url, write=True):
            upload_id = self.client.create_multipart_upload(**self.create_params(item, tags))["UploadId"]
        try:
            parts = send_parts(upload_id)
            try:
                # Its answer is not read: RGW's carries an empty ETag.
                with s3_errors("complete the multipart rewrite of %s" % item.url, write=True):
                    self.client.complete_multipart_upload(Bucket=item.bucket, Key=item.name, UploadId=upload_id,
                                                          MultipartUpload={"Parts": parts}, **self.new_key.request_params())
            except SsecError:
                # The answer may be lost after the server completed it; the SDK's retry then finds no such upload.
                if not self._copied_anyway(item):
                    raise
        except BaseException as exc:
            problem = self._abort(item, upload_id)
            if problem and isinstance(exc, SsecError):
                raise SsecError("%s %s" % (exc.message, problem), code=exc.code, status=exc.status) from None
            if problem:
                raise SsecError(problem) from None
            raise

    def _abort(self, item, upload_id):
        try:
            with s3_errors("abort"):
                self.client.abort_multipart_upload(Bucket=item.bucket, Key=item.name, UploadId=upload_id)
        except SsecError as exc:
            if exc.status == 404:
                return None  # no such upload (any more): nothing is left open
            # Returned, not raised: the caller adds it to the failure that made the abort necessary.
            return ("The unfinished multipart upload %s of %s could not be aborted (%s): abort it with "
                    "'aws s3api abort-multipart-upload' or a lifecycle rule." % (upload_id, item.url, exc.message))
        return None

    def upload_part_copy_params(self, item, upload_id, part):
        number, first, last = part
        params = {
            "Bucket": item.bucket, "Key": item.name, "UploadId": upload_id, "PartNumber": number,
            "CopySource": item.copy_source(),
            "CopySourceRange": "bytes=%d-%d" % (first, last),
        }
        if item.etag:
            params["CopySourceIfMatch"] = item.etag
        if item.encrypted:
            params.update(self.old_key.copy_source_params())
        params.update(self.new_key.request_params())
        return params

    def _copy_part(self, item, upload_id, part):
        try:
            with s3_errors("copy part %d of %s" % (part[0], item.url), write=True):
                answer = self.client.upload_part_copy(**self.upload_part_copy_params(item, upload_id, part))
        except SsecError as exc:
            if part[0] == 1 and _refuses_part_copy(exc, item.encrypted):
                raise _CopyRefused() from None
            raise
        return {"PartNumber": part[0], "ETag": answer["CopyPartResult"]["ETag"]}

    def _copy_parts(self, item, upload_id, ranges):
        # The first part alone: a server that cannot copy parts from an SSE-C source says so once.
        first = self._copy_part(item, upload_id, ranges[0])
        return [first] + _run_parts(lambda part: self._copy_part(item, upload_id, part), ranges[1:], self.concurrency)

    def _read(self, item, what, byte_range=None):
        """The plaintext of the source (or of a range of it), read with the old key and conditional on its ETag."""
        params = dict(item.copy_source())
        if byte_range:
            params["Range"] = "bytes=%d-%d" % byte_range
        if item.etag:
            params["IfMatch"] = item.etag
        if item.encrypted:
            params.update(self.old_key.request_params())
        with s3_errors("read %s of %s" % (what, item.source_url)):
            body = self.client.get_object(**params)["Body"]
            try:
                data = body.read()
            finally:
                body.close()
        expected = byte_range[1] - byte_range[0] + 1 if byte_range else item.size
        if len(data) != expected:
            raise SsecError("%s of %s came back with %d bytes instead of %d: it changed while it was read. "
                            "Run the task again." % (what.capitalize(), item.source_url, len(data), expected))
        return data

    def _stream_whole(self, item):
        """An object that fits in one part: one GET with the old key, one PutObject with the new key."""
        tags = self._tags(item)
        with self._buffers:
            data = self._read(item, "the data")
            with s3_errors("write %s under the new key" % item.url, write=True):
                self.client.put_object(Body=data, ContentMD5=_md5(data), **self.create_params(item, tags))

    def _stream_part(self, item, upload_id, part):
        number, first, last = part
        with self._buffers:
            data = self._read(item, "part %d" % number, (first, last))
            with s3_errors("upload part %d of %s" % (number, item.url), write=True):
                answer = self.client.upload_part(Bucket=item.bucket, Key=item.name, UploadId=upload_id, PartNumber=number,
                                                 Body=data, ContentMD5=_md5(data), **self.new_key.request_params())
        return {"PartNumber": number, "ETag": answer["ETag"]}

    def _stream_parts(self, item, upload_id, ranges, workers):
        return _run_parts(lambda part: self._stream_part(item, upload_id, part), ranges, workers)


def _tagging(tags):
    """Tags as the Tagging parameter of PutObject and CreateMultipartUpload wants them (URL query form)."""
    return urlencode([(tag["Key"], tag["Value"]) for tag in tags])


def _md5(data):
    """Content-MD5 of a body: the server checks what it received (of the plaintext, under SSE-C)."""
    return base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode("ascii")


def _not_implemented(exc):
    status, code = http_error(exc)
    return status == 501 or code == "NotImplemented"


def _refuses_part_copy(exc, encrypted):
    """Refused UploadPartCopy: 501 (SeaweedFS), or for an SSE-C source 400 (RGW decrypts it with the new key)."""
    return _not_implemented(exc) or (encrypted and http_error(exc)[0] == 400)


def _run_parts(function, parts, workers):
    """``function(part)`` for every part, at most ``workers`` at once, in order; the first failure cancels the rest."""
    if not parts:
        return []
    pool = ThreadPoolExecutor(max_workers=max(1, min(workers, len(parts))))
    try:
        futures = [pool.submit(function, part) for part in parts]
        return [future.result() for future in futures]
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


# ---- the task -------------------------------------------------------------------------------------------
def _check_options(params, old_key, new_key):
    if old_key == new_key:
        raise SsecError("The old and the new key are the same key (MD5 %s): there is nothing to rotate. Give the key the "
                        "objects are encrypted with as old_sse_customer_key(_file), and the new key as "
                        "sse_customer_key(_file)." % new_key.md5)
    prefix_shard(params)
    if not 1 <= params["multipart_copy_threshold_mb"] <= MAX_COPY_MB:
        raise SsecError("multipart_copy_threshold_mb must be between 1 and %d (CopyObject copies at most 5 GiB)." % MAX_COPY_MB)


def _listing(client, params):
    """(name, size) of the objects to rotate; the size of a single object is unknown until its HEAD."""
    if params["object"] is not None:
        return [(params["object"], None)]
    # The share of a name comes from what follows the prefix, the rule of object_info's shares too.
    return in_share(bulk.list_objects(client, params["bucket"], params["prefix"]), params["prefix"],
                    prefix_shard(params))


def _versioning_note(client, bucket):
    try:
        with s3_errors("read the versioning of bucket %s" % bucket):
            status = client.get_bucket_versioning(Bucket=bucket).get("Status")
    except SsecError:
        return None  # not every server or policy allows it; the note is advice only
    if status not in ("Enabled", "Suspended"):
        return None
    return ("Versioning is %s on bucket %s: the previous versions of the rotated objects are still stored under the old key. "
            "Keep the old key until they are deleted or expire." % (status.lower(), bucket))


def describe(counts, methods, check_mode, encrypt_plaintext):
    """The result in a few sentences."""
    verb = "Would rotate" if check_mode else "Rotated"
    if counts["rotated"]:
        parts = ["%s %s to the new key" % (verb, bulk.plural(counts["rotated"], "object"))]
    else:
        parts = ["Nothing %s rotated" % ("would be" if check_mode else "was")]
    how = []
    if methods.get(MULTIPART_COPY):
        how.append("%d by multipart copy" % methods[MULTIPART_COPY])
    if methods.get(REENCRYPT_STREAM):
        how.append("%d by streamed re-encryption through this host%s" % (
            methods[REENCRYPT_STREAM],
            ", as the server cannot copy SSE-C objects onto a new key" if methods.get("fallback") else ""))
    if how:
        parts[0] += " (%s)" % "; ".join(how)
    if counts["already_rotated"]:
        parts.append("%s already under the new key" % bulk.plural(counts["already_rotated"], "object"))
    if counts["unknown_key"]:
        parts.append("%s under an unknown key, left untouched" % bulk.plural(counts["unknown_key"], "object"))
    if counts["plaintext"]:
        parts.append("%s not SSE-C encrypted%s" % (
            bulk.plural(counts["plaintext"], "object"),
            " (encrypted in place)" if encrypt_plaintext else ", left as is (encrypt_plaintext: true encrypts them)"))
    if counts["failed"]:
        parts.append("%s failed" % bulk.plural(counts["failed"], "object"))
    return "; ".join(parts) + "."


def rekey(module):
    params = module.params
    new_key = module.customer_key()
    old_key = module.customer_key("old_")
    _check_options(params, old_key, new_key)
    client = module.client(max_pool_connections=params["concurrency"] + 4)
    work = Rekeyer(client, params["bucket"], old_key, new_key, params["encrypt_plaintext"], params["concurrency"],
                   params["multipart_copy_threshold_mb"], module.check_mode)
    engine = bulk.Engine(params["concurrency"])
    cleanup = params.get("noncurrent_versions") == "delete"
    tally = bulk.Tally(LISTS + (("deleted_versions",) if cleanup else ()))
    methods = collections.Counter()
    deferred = []
    # Objects whose current version is under the new key (verified), and those check mode would rotate.
    settled, planned = set(), set()

    def first_pass(listed):
        # Plan, and apply at once what is cheap (a copy, a one-part stream): nothing waits for the whole listing.
        state, entry, item = work.examine(*listed)
        if item is not None and work.inline(item):
            done = work.rewrite(item)
            return state, entry, item if done is None else done
        return state, entry, item

    def rotated(entry):
        tally.add("rotated", entry)
        (planned if module.check_mode else settled).add(entry["object"])
        methods[entry["method"]] += 1
        # An SSE-C object is streamed only after the server refused to copy it.
        methods["fallback"] += entry["method"] == REENCRYPT_STREAM and entry["previous_state"] == SSE_C

    for (name, size), outcome, error in engine.each(first_pass, _listing(client, params)):
        if error is not None:
            tally.add("failed", {"object": name, "size": size, "error": error})
            continue
        state, entry, done = outcome
        if state == ABSENT:
            if params["object"] is not None:
                raise SsecError("s3://%s/%s does not exist. Check bucket and object." % (params["bucket"], name))
            continue  # deleted since it was listed
        if state != ROTATE:  # a rotated object is listed once done
            tally.add(state, entry)
        if state == ALREADY_ROTATED:
            settled.add(name)
        if isinstance(done, Item):
            deferred.append(done)
        elif done is not None:
            rotated(done)
    # Objects rewritten in parts (above the threshold, or too large for one part) one at a time, parts in parallel.
    for item, entry, error in engine.each(work.rewrite, deferred, concurrency=1):
        if error is not None:
            tally.add("failed", {"object": item.name, "size": item.size, "error": error})
        else:
            rotated(entry)
    if cleanup:
        scope = params["object"] if params["object"] is not None else params["prefix"]
        for listed, deleted, error in versions.delete_noncurrent(client, params["bucket"], scope, old_key, settled,
                                                                 planned, module.check_mode, params["concurrency"]):
            if error is not None:
                tally.add("failed", {"object": listed["object"], "version_id": listed["version_id"], "error": error})
            elif deleted is not None:
                tally.add("deleted_versions", deleted)

    changed = tally.counts["rotated"] > 0 or tally.counts.get("deleted_versions", 0) > 0
    result = dict(tally.result(), changed=changed, bucket=params["bucket"],
                  sse_customer_key_md5=new_key.md5, old_sse_customer_key_md5=old_key.md5)
    # Ansible reads a result key named "failed" as the task's failure flag: the list goes by another name.
    result["failed_entries"] = result.pop("failed")
    result["diff"] = rotation_diff(result["rotated"], old_key, new_key)
    result.update({name: params[name] for name in ("object", "prefix") if params[name] is not None})
    result["msg"] = describe(tally.counts, methods, module.check_mode, params["encrypt_plaintext"])
    if cleanup:
        result["msg"] += " %s %s that the old key opens." % (
            "Would delete" if module.check_mode else "Deleted",
            bulk.plural(tally.counts["deleted_versions"], "noncurrent version"))
        before, after = versions.deleted_versions_diff(result["deleted_versions"], old_key)
        result["diff"]["before"].update(before)
        result["diff"]["after"].update(after)
    elif tally.counts["rotated"]:
        note = _versioning_note(client, params["bucket"])
        if note:
            result["versioning_note"] = note
            result["msg"] += " " + note
    if tally.counts["failed"] or (tally.counts["unknown_key"] and params["fail_on_unknown_key"]):
        message = failure_message(result, params["fail_on_unknown_key"])
        del result["msg"]
        raise SsecError(message, result=result)
    return result


def rotation_diff(rotated, old_key, new_key):
    """Diff mode: the encryption and key fingerprint of every rotated object (as listed), before and after."""
    before, after = {}, {}
    for entry in rotated:
        encrypted = entry["previous_state"] == SSE_C
        before[entry["object"]] = {"encryption": entry["previous_state"], "sse_customer_key_md5": old_key.md5 if encrypted else None}
        after[entry["object"]] = {"encryption": SSE_C, "sse_customer_key_md5": new_key.md5}
    return {"before": before, "after": after}


def failure_message(result, fail_on_unknown_key):
    """Why the task fails, after the summary of what it did."""
    message = "Not every object was rotated. " + result["msg"]
    if result["failed_entries"]:
        first = result["failed_entries"][0]
        message += " First failure, %s: %s" % (first["object"], first["error"])
    if result["counts"]["unknown_key"] and fail_on_unknown_key:
        message += (" Objects under an unknown key (listed in unknown_key) fail the task: give the key they were written "
                    "with, or set fail_on_unknown_key: false to leave them as they are.")
    return message

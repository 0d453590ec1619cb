# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to the ssec.s3 collection, not a public API: it may change in any release.
"""Backend of ssec.s3.copy: server-side copy of SSE-C objects to another name, bucket and key (promotion).

Each object is decided from HEADs only: the source with the source key, the destination with the destination
key. The sealed content digest of each side opens with its own key, so an unchanged destination is recognised
without reading data; a source without a digest is read once to hash it. What may be replaced is the rule of
ssec.s3.object (``object_task._needs_upload``): never an object under another key unless ``overwrite: always``.

The rewrite itself is rekey's machinery (``rekey_task.Rekeyer``) pointed at another source: CopyObject with the
source key as copy-source key up to the threshold, UploadPartCopy above it, and the streamed fallback (ranged GET
with the source key, PutObject / UploadPart with the destination key) where the server refuses to copy from an
SSE-C source (SeaweedFS: UploadPartCopy 501; Ceph RGW: CopyObject 501, UploadPartCopy 400). The destination gets
the source's digest re-sealed under the destination key, and is verified by a HEAD under it.
"""

from __future__ import annotations

import collections
import hashlib

from ansible_collections.ssec.s3.plugins.module_utils import (
    _bulk as bulk, _digest as digest, _object_task as object_task, _policy as policy, _remote as remote_state,
    _rekey_task as rekey_task, _transfer as transfer, _versions as versions)
from ansible_collections.ssec.s3.plugins.module_utils._errors import SsecError, s3_errors
from ansible_collections.ssec.s3.plugins.module_utils._module import bucket_name_problem, object_name_problem
from ansible_collections.ssec.s3.plugins.module_utils._policy import Action, State
from ansible_collections.ssec.s3.plugins.module_utils._remote import SSE_C
from ansible_collections.ssec.s3.plugins.module_utils._rekey_task import MAX_COPY_MB, MIB, MULTIPART_COPY, REENCRYPT_STREAM

LISTS = ("copied", "unchanged", "skipped", "failed")
_SOURCE_KEY_HINT = ("Give the key it was written with as source_sse_customer_key or source_sse_customer_key_file "
                    "(without them, the destination key is used for the source too).")


# ---- the source -----------------------------------------------------------------------------------------
def inspect_source(client, bucket, name, key, version_id=None, listed=False):
    """The source's state under the source key; with ``version_id``, that version's (a delete marker is refused)."""
    if version_id is None:
        return remote_state.inspect(client, bucket, name, key, listed=listed)
    source = versions.inspect_version(client, bucket, name, version_id, key)
    if source.delete_marker:
        raise SsecError(versions.missing_message(source))
    return source


def source_problem(source, key, version_id=None):
    """Why policy.copy refused ``source`` (seen with the source key), in the words of the error."""
    url = remote_state.url(source.bucket, source.name, version_id)
    if source.kind == State.ABSENT:
        if version_id:
            return ("%s does not exist: check source_version_id (ssec.s3.object_info with versions: true lists "
                    "the versions)." % url)
        return "%s does not exist. Check source_bucket and source_object (or source_prefix)." % url
    if source.kind in State.UNENCRYPTED:
        return ("%s is not SSE-C encrypted (%s): ssec.s3.copy copies objects encrypted with a customer key. Upload "
                "it with ssec.s3.object, or encrypt it in place with ssec.s3.rekey (encrypt_plaintext: true)."
                % (url, source.state))
    return "%s is encrypted with another SSE-C key: the source key (MD5 %s) does not open it. %s" % (
        url, key.md5, _SOURCE_KEY_HINT)


class SourceContent(transfer.Source):  # pylint: disable=super-init-not-called
    """The source's content as object_task's decision sees a local source: size, SHA-256 (from the sealed digest,
    else read once with the source key), MD5 only when rclone stored one, and a stream to compare with."""

    def __init__(self, client, source, key, version_id=None):
        self.client = client
        self.source = source
        self.key = key
        self.version_id = version_id
        self.size = source.size
        self._sha256 = source.sha256
        self.read = False  # whether data had to be read to know the SHA-256

    def get_params(self):
        params = {"Bucket": self.source.bucket, "Key": self.source.name}
        params.update(self.key.request_params())
        if self.version_id:
            params["VersionId"] = self.version_id
        if self.source.head.get("ETag"):
            params["IfMatch"] = self.source.head["ETag"]
        return params

    @property
    def known_sha256(self):
        """The SHA-256 if it is known without reading data (from the digest, or read already), else None."""
        return self._sha256

    @property
    def sha256(self):
        if self._sha256 is None:
            hasher = hashlib.sha256()
            with s3_errors("read %s to compute its SHA-256 (it has no content digest)"
                           % remote_state.url(self.source.bucket, self.source.name, self.version_id)):
                body = self.client.get_object(**self.get_params())["Body"]
                try:
                    for chunk in body.iter_chunks(MIB):
                        hasher.update(chunk)
                finally:
                    body.close()
            self._sha256 = hasher.hexdigest()
            self.read = True
        return self._sha256

    def md5(self):
        return self.source.rclone_md5

    def open(self):
        """The source's plaintext as a readable stream (transfer.same_content compares it with the destination)."""
        with s3_errors("read %s to compare it" % remote_state.url(self.source.bucket, self.source.name, self.version_id)):
            body = self.client.get_object(**self.get_params())["Body"]
        return _Closing(body)


class _Closing:
    def __init__(self, body):
        self.body = body

    def read(self, size=-1):
        return self.body.read(size if size >= 0 else None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.body.close()


# ---- the decision ---------------------------------------------------------------------------------------
def wanted_attributes(source, metadata, content_type):
    """(metadata, content type) of the destination: as given, else carried from the source."""
    wanted = object_task.wanted_metadata(metadata)
    if wanted is None:
        wanted = dict(source.metadata or {})
    return wanted, content_type or source.content_type


def stored_metadata(metadata, sha256, dest_key):
    """The user metadata the copy is written with: ``metadata`` and the content digest sealed under the
    destination key (none in check mode for a source whose digest was not needed)."""
    stored = dict(metadata)
    if sha256:
        stored[digest.METADATA_NAME] = digest.seal(dest_key, sha256)
    return stored


def decide(client, content, dest, dest_key, overwrite, metadata, content_type):
    """(copy?, (message done, message in check mode)) for a destination, once policy.copy allowed the source:
    ssec.s3.object's decision for an upload over ``dest`` (policy.upload, then the comparison of digests,
    metadata and content type). Raises SsecError for an object under another key unless overwrite: always."""
    params = {"overwrite": overwrite, "content_type": content_type, "storage_class": None}
    copy, messages = object_task._needs_upload(  # pylint: disable=protected-access
        client, dest, dest_key, content, params, metadata)
    return copy, tuple(message.replace("Uploaded", "Copied").replace("upload", "copy")
                       .replace("Would copy a new encrypted object", "Would copy the object")
                       .replace("Copied a new encrypted object", "Copied the object") for message in messages)


# ---- the rewrite ----------------------------------------------------------------------------------------
class CopyItem(rekey_task.Item):
    """One object to copy: rekey's Item with a source elsewhere (bucket, name, version)."""

    def __init__(self, source, version_id, dest, method, metadata, content_type, sha256):
        super().__init__(dest.bucket, source, source.head, SSE_C, method)
        self.name = dest.name
        self.source_bucket = source.bucket
        self.source_name = source.name
        self.version_id = version_id
        self.previous_state = dest.state
        self.metadata = metadata
        if content_type:
            self.headers["ContentType"] = content_type
        self.sha256 = sha256
        self.written_version = None  # the destination's version id, when the bucket keeps versions

    def copy_source(self):
        source = {"Bucket": self.source_bucket, "Key": self.source_name}
        if self.version_id:
            source["VersionId"] = self.version_id
        return source

    @property
    def source_url(self):
        return remote_state.url(self.source_bucket, self.source_name, self.version_id)

    def entry(self):
        return {"object": self.name, "source_object": self.source_name, "size": self.size, "method": self.method,
                "previous_state": self.previous_state}


class Copier(rekey_task.Rekeyer):
    """Rekeyer with the source read from another object: old_key is the source key, new_key the destination's."""

    def copy_params(self, item):
        """The CopyObject request: the source key as copy-source key, the destination key, metadata replaced by
        the destination's (the digest sealed under the destination key)."""
        params = {"Bucket": item.bucket, "Key": item.name, "CopySource": item.copy_source(),
                  "MetadataDirective": "REPLACE", "Metadata": item.metadata}
        params.update(item.headers)
        if item.etag:
            params["CopySourceIfMatch"] = item.etag
        params.update(self.old_key.copy_source_params())
        params.update(self.new_key.request_params())
        return params

    def _copy(self, item):
        params = self.copy_params(item)
        action = "copy %s to %s" % (remote_state.url(item.source_bucket, item.source_name, item.version_id), item.url)
        try:
            with s3_errors(action, write=True):
                self.client.copy_object(**params)
        except SsecError as exc:
            if rekey_task._not_implemented(exc):  # pylint: disable=protected-access
                return False
            error = exc
        else:
            self._verify(item)
            return True
        if not self._copied_anyway(item):
            raise error
        return True

    def _verify(self, item):
        after = remote_state.inspect(self.client, item.bucket, item.name, self.new_key, listed=True)
        self._check(item, after)
        item.written_version = after.head.get("VersionId")

    def _tags(self, item):
        """The source's tags (a CopyObject carries them; a new object or upload must be given them)."""
        if item.tags is not None:
            return item.tags
        params = {"Bucket": item.source_bucket, "Key": item.source_name}
        if item.version_id:
            params["VersionId"] = item.version_id
        try:
            with s3_errors("read the tags of %s" % remote_state.url(item.source_bucket, item.source_name, item.version_id)):
                tags = self.client.get_object_tagging(**params).get("TagSet") or []
        except SsecError as exc:
            if not rekey_task._not_implemented(exc):  # pylint: disable=protected-access
                raise
            tags = []  # a server without tagging: the source has none to carry over
        item.tags = [{"Key": tag["Key"], "Value": tag["Value"]} for tag in tags]
        return item.tags

    def write(self, item):
        """Copy one object (plan it, in check mode); the streamed fallback of a large object in the same call."""
        entry = self.rewrite(item)
        return entry if entry is not None else self.rewrite(item)


# ---- the task -------------------------------------------------------------------------------------------
def check_options(params, source_bucket):
    """Refuse, before any request, what can only fail or copy an object onto itself."""
    if not 1 <= params["multipart_copy_threshold_mb"] <= MAX_COPY_MB:
        raise SsecError("multipart_copy_threshold_mb must be between 1 and %d (CopyObject copies at most 5 GiB)."
                        % MAX_COPY_MB)
    if params["source_object"] is not None:
        if params["prefix"] is not None:
            raise SsecError("source_object copies one object to object; give object (or nothing, to keep the name), "
                            "not prefix. To copy a prefix, use source_prefix with prefix.")
        if source_bucket == params["bucket"] and params["source_object"] == params["object"] \
                and not params["source_version_id"]:
            raise SsecError("s3://%s/%s is both source and destination: a copy onto itself changes nothing but the "
                            "key. To re-encrypt an object in place under a new key, use ssec.s3.rekey; to copy it, "
                            "give another bucket or object." % (source_bucket, params["object"]))
        return
    if params["object"] is not None:
        raise SsecError("source_prefix copies a prefix to prefix; give prefix (or nothing, to keep the names), "
                        "not object.")
    if params["source_version_id"] is not None:
        raise SsecError("source_version_id names a version of one object: use it with source_object, not "
                        "source_prefix.")
    source_prefix, prefix = params["source_prefix"], params["prefix"]
    if source_bucket == params["bucket"] and (prefix.startswith(source_prefix) or source_prefix.startswith(prefix)):
        raise SsecError("source_prefix %r and prefix %r overlap in bucket %s: the copy would list its own copies. "
                        "To re-encrypt objects in place, use ssec.s3.rekey; otherwise give prefixes that do not "
                        "contain each other, or another bucket." % (source_prefix, prefix, source_bucket))


def _after(dest, size, sha256, metadata, content_type, key):
    return {"exists": True, "encryption": SSE_C, "key_matches": True, "size": size, "sha256": sha256,
            "content_type": content_type, "metadata": metadata, "sse_customer_key_md5": key.md5}


class Task:
    """One run of ssec.s3.copy: the keys, the client, the rewriting machinery and the options."""

    def __init__(self, module):
        params = module.params
        self.params = params
        self.module = module
        self.check_mode = module.check_mode
        self.dest_key = module.customer_key()
        self.source_key = module.customer_key("source_", required=False) or self.dest_key
        self.source_bucket = params["source_bucket"] or params["bucket"]
        problem = bucket_name_problem(self.source_bucket)
        if problem:
            raise SsecError("source_" + problem)
        if params["source_object"] is not None and params["object"] is None:
            params["object"] = params["source_object"]
        if params["source_prefix"] is not None and params["prefix"] is None:
            params["prefix"] = params["source_prefix"]
        check_options(params, self.source_bucket)
        for option in ("object", "prefix"):
            problem = params[option] is not None and object_name_problem(params[option], option)
            if problem:
                raise SsecError(problem)
        object_task.wanted_metadata(params["metadata"])
        object_task.check_content_type(params["content_type"])
        self.client = module.client(max_pool_connections=params["concurrency"] + 4)
        self.copier = Copier(self.client, params["bucket"], self.source_key, self.dest_key,
                             concurrency=params["concurrency"], threshold_mb=params["multipart_copy_threshold_mb"],
                             check_mode=module.check_mode)

    def examine(self, source_name, dest_name, listed=False, version_id=None):
        """(outcome, detail, item): outcome one of LISTS, "absent" or "problem"; item is what to write, or None.

        ``detail`` is a message for a refusal, else what the decision saw."""
        source = inspect_source(self.client, self.source_bucket, source_name, self.source_key, version_id, listed)
        dest = remote_state.inspect(self.client, self.params["bucket"], dest_name, self.dest_key)
        verdict = policy.copy(source.kind, dest.kind, self.params["overwrite"])
        if verdict.action == Action.REFUSE and source.kind != State.THIS_KEY:
            # A plaintext source is left out of a prefix like any object the task is not for; a source the key
            # does not open fails (a wrong source key must not pass as a copy of nothing).
            kind = {State.ABSENT: "absent", State.PLAINTEXT: "skipped", State.OTHER_SSE: "skipped"}.get(
                source.kind, "problem")
            return kind, source_problem(source, self.source_key, version_id), None
        if verdict.action == Action.REFUSE:
            return "skipped", ("%s is encrypted with another SSE-C key, so it was left untouched. %s"
                               % (remote_state.url(dest.bucket, dest.name), object_task._OTHER_KEY_HINT)), None  # pylint: disable=protected-access
        content = SourceContent(self.client, source, self.source_key, version_id)
        metadata, content_type = wanted_attributes(source, self.params["metadata"], self.params["content_type"])
        # A carried content type is written but not compared (like ssec.s3.object without content_type): SeaweedFS
        # stores application/octet-stream as a type guessed from the name, which would never match.
        copy, messages = decide(self.client, content, dest, self.dest_key, self.params["overwrite"], metadata,
                                self.params["content_type"])
        detail = {"source": source, "dest": dest, "content": content, "messages": messages,
                  "metadata": metadata, "content_type": content_type}
        if not copy:
            return ("skipped" if verdict.action == Action.KEEP else "unchanged"), detail, None
        # The destination's digest is the source's, sealed under the destination key (read once when it had none).
        sha256 = content.sha256 if (content.known_sha256 or not self.check_mode) else None
        stored = stored_metadata(metadata, sha256, self.dest_key)
        item = CopyItem(source, version_id, dest, self.copier.method(source.size, True), stored, content_type, sha256)
        return "copied", detail, item


def copy_one(task):
    params = task.params
    version_id = params["source_version_id"]
    outcome, detail, item = task.examine(params["source_object"], params["object"], version_id=version_id)
    if outcome in ("absent", "problem", "skipped") and not isinstance(detail, dict):
        raise SsecError(detail)
    source, dest, content = detail["source"], detail["dest"], detail["content"]
    result = {
        "bucket": params["bucket"], "object": params["object"], "source_bucket": task.source_bucket,
        "source_object": params["source_object"], "sse_customer_key_md5": task.dest_key.md5,
        "source_sse_customer_key_md5": task.source_key.md5, "previous_state": dest.state, "size": source.size,
        "changed": item is not None, "method": None, "msg": detail["messages"][task.check_mode],
    }
    if version_id:
        result["source_version_id"] = version_id
    if item is not None:
        entry = task.copier.write(item)
        result["method"] = entry["method"]
        if item.written_version:
            result["version_id"] = item.written_version
    result["sha256"] = content.known_sha256
    if content.read:
        result["msg"] += " The source has no content digest, so it was read once to compute its SHA-256."
    after = _after(dest, source.size, result["sha256"], detail["metadata"], detail["content_type"], task.dest_key) \
        if item is not None else dest.summary()
    result["diff"] = {"before": dest.summary(), "after": after}
    return result


def copy_prefix(task):
    params = task.params
    source_prefix, prefix = params["source_prefix"], params["prefix"]
    tally = bulk.Tally(LISTS)
    methods = collections.Counter()
    deferred = []
    other_key = 0
    diff = {"before": {}, "after": {}}

    def first_pass(listed):
        name, _size = listed
        dest_name = prefix + name[len(source_prefix):]
        outcome, detail, item = task.examine(name, dest_name, listed=True)
        if item is not None and task.copier.inline(item):
            done = task.copier.rewrite(item)
            return outcome, dest_name, detail, (item if done is None else done)
        return outcome, dest_name, detail, item

    def copied(entry, item):
        tally.add("copied", entry)
        methods[entry["method"]] += 1
        diff["before"][entry["object"]] = {"exists": item.previous_state != "absent", "state": item.previous_state}
        diff["after"][entry["object"]] = {"exists": True, "state": SSE_C, "sha256": item.sha256,
                                          "sse_customer_key_md5": task.dest_key.md5}

    engine = bulk.Engine(params["concurrency"])
    listing = bulk.list_objects(task.client, task.source_bucket, source_prefix)
    for (name, size), outcome, error in engine.each(first_pass, listing):
        dest_name = prefix + name[len(source_prefix):]
        base = {"object": dest_name, "source_object": name}
        if error is not None:
            tally.add("failed", dict(base, size=size, error=error))
            continue
        outcome, dest_name, detail, done = outcome
        if outcome == "absent":
            continue  # deleted since it was listed
        if outcome == "problem":
            tally.add("failed", dict(base, size=size, error=detail))
        elif outcome == "skipped":
            other_key += isinstance(detail, str) and "another SSE-C key" in detail
            reason = detail if isinstance(detail, str) else detail["messages"][task.check_mode]
            tally.add("skipped", dict(base, reason=reason))
        elif outcome == "unchanged":
            tally.add("unchanged", dict(base, size=size))
        elif isinstance(done, CopyItem):
            deferred.append(done)
        else:
            copied(done, _ItemView(done, detail))
    # Objects copied in parts (or streamed in parts) one at a time, their parts in parallel.
    for item, entry, error in engine.each(task.copier.write, deferred, concurrency=1):
        if error is not None:
            tally.add("failed", {"object": item.name, "source_object": item.source_name, "size": item.size,
                                 "error": error})
        else:
            copied(entry, item)
    result = dict(tally.result(), bucket=params["bucket"], prefix=prefix, source_bucket=task.source_bucket,
                  source_prefix=source_prefix, sse_customer_key_md5=task.dest_key.md5,
                  source_sse_customer_key_md5=task.source_key.md5, changed=tally.counts["copied"] > 0, diff=diff)
    # "skipped" and "failed" are Ansible's own result keys.
    result["skipped_entries"] = result.pop("skipped")
    result["failed_entries"] = result.pop("failed")
    result["msg"] = describe(tally.counts, methods, task.check_mode)
    if other_key:
        task.module.warn("%s at the destination encrypted with another SSE-C key, left untouched (see skipped_entries; "
                         "overwrite: always replaces them)." % bulk.plural(other_key, "object"))
    if tally.counts["failed"]:
        first = result["failed_entries"][0]
        raise SsecError("Not every object was copied. %s First failure, %s: %s"
                        % (result.pop("msg"), first["source_object"], first["error"]), result=result)
    return result


class _ItemView:
    """What the diff of a copied object needs, from its entry and decision (the item was written inline)."""

    def __init__(self, entry, detail):
        self.previous_state = entry["previous_state"]
        self.sha256 = detail["content"].known_sha256


def describe(counts, methods, check_mode):
    verb = "Would copy" if check_mode else "Copied"
    if counts["copied"]:
        text = "%s %s" % (verb, bulk.plural(counts["copied"], "object"))
        how = ["%d by %s" % (methods[name], label) for name, label in (
            (MULTIPART_COPY, "multipart copy"),
            (REENCRYPT_STREAM, "streamed re-encryption through this host, as the server cannot copy these SSE-C "
                               "objects")) if methods.get(name)]
        if how:
            text += " (%s)" % "; ".join(how)
    else:
        text = "Nothing %s copied" % ("would be" if check_mode else "was")
    parts = [text]
    if counts["unchanged"]:
        unchanged = bulk.plural(counts["unchanged"], "object")
        parts.append("%s already held the same content under the destination key" % unchanged)
    if counts["skipped"]:
        parts.append("%s skipped (see skipped_entries)" % bulk.plural(counts["skipped"], "object"))
    if counts["failed"]:
        parts.append("%s failed" % bulk.plural(counts["failed"], "object"))
    return "; ".join(parts) + "."


def copy(module):
    task = Task(module)
    if module.params["source_object"] is not None:
        return copy_one(task)
    return copy_prefix(task)

# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to the ssec.s3 collection, not a public API: it may change in any release.
"""What an object is, as far as a key holder can tell: one HEAD (two at most), no data read.

Servers disagree on a key sent for an object that is not SSE-C encrypted
(AWS and MinIO answer 400, SeaweedFS and Ceph RGW 200 without SSE-C headers),
and on a wrong key (AWS 403, RGW 400), so the state is decided from the
response headers, and an error only leads to a second HEAD without the key.

A 400 to both HEADs is what an SSE-C object under another key gets from RGW,
but also what a server answers for a name it refuses (SeaweedFS: ``./y``,
``a/../b``). Only a listing that shows exactly that name tells the two apart.
"""

from __future__ import annotations

import base64
import binascii

from ansible_collections.ssec.s3.plugins.module_utils import _digest as digest, _policy as policy
from ansible_collections.ssec.s3.plugins.module_utils._errors import SsecError, s3_errors

# The public values of ``encryption`` (object_info, rekey) and ``previous_state``; decisions use ``kind``.
ABSENT, ENCRYPTION_NONE, SSE_C = "absent", "none", "sse-c"
# rclone keeps the plaintext MD5 of what it uploaded here (base64 of the binary MD5, unencrypted).
RCLONE_MD5_METADATA = "md5chksum"


class RemoteObject:
    """The state of one object, relative to one key (or to no key)."""

    # A sync or survey of 100 000 objects holds one per object: slots keep each small.
    __slots__ = ("bucket", "name", "exists", "encryption", "key_matches", "head", "size", "content_type",
                 "last_modified", "storage_class", "sealed_digest", "metadata", "sha256", "digest_problem",
                 "version_id", "is_latest", "delete_marker", "etag", "key_label", "key_label_md5")

    def __init__(self, bucket, name, exists=False, encryption=ABSENT, key_matches=None, head=None, key=None):
        # Set for one version asked by its id (versions.inspect_version): reads then name that version.
        self.version_id = None
        self.is_latest = None
        self.delete_marker = False
        # The known key that opens it, when object_info was given known_keys (key_inventory.identify).
        self.key_label = self.key_label_md5 = None
        self.bucket = bucket
        self.name = name
        self.exists = exists
        self.encryption = encryption
        self.key_matches = key_matches
        # The HEAD answer this state was read from ({} when none could be read), without botocore's copy of the
        # raw headers: a sync of 100 000 objects keeps one state per object, and those are most of its size.
        head = {field: value for field, value in (head or {}).items() if field != "ResponseMetadata"}
        self.head = head
        self.etag = head.get("ETag")
        self.size = head.get("ContentLength")
        self.content_type = head.get("ContentType")
        self.last_modified = head.get("LastModified")
        # Unknown (None) without a readable HEAD (an SSE-C object asked without its key), not a guess.
        self.storage_class = head.get("StorageClass", "STANDARD") if head else None
        metadata = {name.lower(): value for name, value in (head.get("Metadata") or {}).items()}
        self.sealed_digest = metadata.pop(digest.METADATA_NAME, None)
        # User metadata without the collection's own digest entry; unknown (None) without a readable HEAD.
        self.metadata = metadata if head else None
        self.sha256 = None
        self.digest_problem = None
        if self.sealed_digest and key is not None and key_matches:
            try:
                self.sha256 = digest.unseal(key, self.sealed_digest)
            except digest.DigestError as exc:
                self.digest_problem = exc.message

    @property
    def kind(self):
        """The policy.State of the object: what the policy decides on."""
        return policy.state_of(self.exists, self.encryption == SSE_C,
                               self.encryption not in (ENCRYPTION_NONE, SSE_C), self.key_matches)

    @property
    def state(self):
        """``absent``, ``plaintext``, ``sse-c`` or the server-side encryption the server reports (public)."""
        if not self.exists:
            return ABSENT
        return policy.State.PLAINTEXT if self.encryption == ENCRYPTION_NONE else self.encryption

    @property
    def rclone_md5(self):
        """rclone's plaintext MD5 as lowercase hex, or None when absent or not an MD5."""
        return _md5_hex((self.metadata or {}).get(RCLONE_MD5_METADATA))

    def summary(self):
        """The before/after view of diff mode and of object_info: fingerprints, never key material."""
        return {
            "exists": self.exists,
            "encryption": self.encryption if self.exists else None,
            "key_matches": self.key_matches,
            "size": self.size,
            "sha256": self.sha256,
            "content_type": self.content_type,
            "metadata": self.metadata,
        }


def _md5_hex(value):
    # rclone writes base64 of the 16-byte MD5; accept 32 hex digits too. Anything else is ignored.
    value = (value or "").strip()
    if len(value) == 32:
        try:
            return bytes.fromhex(value).hex()
        except ValueError:
            pass  # not hex after all: try it as base64 below
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw.hex() if len(raw) == 16 else None


def url(bucket, name, version_id=None):
    """How messages name an object, or one version of it."""
    return "s3://%s/%s%s" % (bucket, name, " (version %s)" % version_id if version_id is not None else "")


def key_md5s(header):
    # SeaweedFS repeats the header ("X==, X=="): accept any number of identical values.
    return {part.strip() for part in (header or "").split(",") if part.strip()}


def _encryption(head):
    if head.get("SSECustomerAlgorithm") or head.get("SSECustomerKeyMD5"):
        return SSE_C
    return head.get("ServerSideEncryption") or ENCRYPTION_NONE


def _head(client, bucket, name, key, version_id=None):
    """(status, headers) of a HEAD; failures without an HTTP status (transport, TLS) leave as SsecError."""
    params = {"Bucket": bucket, "Key": name}
    if version_id is not None:
        params["VersionId"] = version_id
    if key is not None:
        params.update(key.request_params())
    try:
        with s3_errors("read the state of s3://%s/%s" % (bucket, name)):
            return 200, client.head_object(**params)
    except SsecError as exc:
        if exc.status is None:
            raise
        # The status is the answer: the caller decides what it means (a HEAD error has no body to read).
        return exc.status, None


def _fail(bucket, name, status, detail):
    raise SsecError("Failed to read the state of s3://%s/%s (HTTP %s): %s" % (bucket, name, status, detail),
                    status=status)


def _check_bucket(client, bucket):
    """A HEAD 404 has no body: tell a missing bucket from a missing object."""
    try:
        with s3_errors("find bucket %s" % bucket):
            client.head_bucket(Bucket=bucket)
    except SsecError as exc:
        if exc.status == 404:
            raise SsecError("Bucket %s does not exist: create it first, or correct the bucket name." % bucket,
                            code="NoSuchBucket", status=404) from None
        raise


def _is_listed(client, bucket, name):
    """Does a listing show an object of exactly this name? (The first name under a prefix equal to it is itself.)"""
    with s3_errors("list s3://%s/%s to tell whether the object exists" % (bucket, name)):
        answer = client.list_objects_v2(Bucket=bucket, Prefix=name, MaxKeys=1)
    return any(entry.get("Key") == name for entry in answer.get("Contents") or ())


def _refused_everywhere(client, bucket, name, key, listed):
    """HEAD answered 400 with the key (when one was given) and without it: SSE-C, or a refused name?

    True when the object exists (so it is SSE-C, and the key, if any, is not its key); otherwise raises an
    error naming the real problem.
    """
    if listed:
        return True
    asked = "with and without the key" if key is not None else "without a key"
    try:
        if _is_listed(client, bucket, name):
            return True
    except SsecError as exc:
        if exc.status != 403:
            raise
        _fail(bucket, name, 400, "the server refused the request %s, and listing the bucket to find out why was denied. "
                                 "Either the object is SSE-C encrypted %s, or the server does not accept this object "
                                 "name. Check the key and the name, or allow s3:ListBucket on the bucket."
              % (asked, "with another key" if key is not None else "(give its key)"))
    _fail(bucket, name, 400, "the server refused the request %s, and no object of that name is listed: the server does "
                             "not accept this object name (servers refuse or rewrite names with '.' or '..' segments "
                             "or '//'). Use another name." % asked)
    return False  # not reached


def inspect(client, bucket, name, key=None, listed=False, version_id=None) -> RemoteObject:
    """The state of one object relative to ``key`` (or to no key).

    ``listed``: the name comes from a listing just made, so the object is known to exist (or to have existed).
    ``version_id``: the HEADs ask for that version (give ``listed`` only when a version listing showed it).
    """
    status, head = _head(client, bucket, name, key, version_id)
    if status == 404:
        _check_bucket(client, bucket)
        return RemoteObject(bucket, name)
    if status == 200:
        encryption = _encryption(head)
        if encryption != SSE_C:
            return RemoteObject(bucket, name, True, encryption, None, head)
        if key is None:
            return RemoteObject(bucket, name, True, SSE_C, None, head)
        matches = key_md5s(head.get("SSECustomerKeyMD5")) == {key.md5}
        return RemoteObject(bucket, name, True, SSE_C, matches, head, key)
    if status in (400, 403) and key is not None:
        # Not SSE-C (400 on AWS/MinIO), or SSE-C under another key (403 on AWS, 400 on RGW): ask without the key.
        plain_status, plain_head = _head(client, bucket, name, None, version_id)
        if plain_status == 200 and _encryption(plain_head) != SSE_C:
            return RemoteObject(bucket, name, True, _encryption(plain_head), None, plain_head)
        if plain_status == 404:
            _check_bucket(client, bucket)
            return RemoteObject(bucket, name)  # deleted between the two HEADs
        # A 403 to the key and a 400 without it is AWS's answer for another key; two 400s need more evidence.
        if plain_status == 400 and (status == 403 or _refused_everywhere(client, bucket, name, key, listed)):
            return RemoteObject(bucket, name, True, SSE_C, False)
        status = plain_status
    elif status == 400 and key is None and _refused_everywhere(client, bucket, name, key, listed):
        # SSE-C objects refuse a HEAD without their key.
        return RemoteObject(bucket, name, True, SSE_C, None)
    if status == 403:
        _fail(bucket, name, status, "access denied. Check that the credentials may read this bucket "
                                    "(s3:GetObject) and that the access and secret keys are right.")
    _fail(bucket, name, status, "unexpected answer from the server.")
    return None  # not reached

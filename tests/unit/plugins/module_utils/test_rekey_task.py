# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ssec.s3.rekey: the decisions, and the request shape of the rewrites at the API boundary (botocore's Stubber).

No server here performs UploadPartCopy from an SSE-C source (SeaweedFS answers 501), so the multipart-copy path is
checked request by request: the copy-source key on every part, the new key on Create, every part and Complete.
The streamed fallback also runs for real against SeaweedFS in the rekey integration target.
"""

from __future__ import annotations

import base64
import collections
import datetime
import hashlib
import io

import pytest
from botocore.response import StreamingBody

from ansible_collections.ssec.s3.plugins.module_utils import _digest as digest, _rekey_task as rekey_task
from ansible_collections.ssec.s3.plugins.module_utils._errors import SsecError
from ansible_collections.ssec.s3.plugins.module_utils._rekey_task import (
    ABSENT,
    ALREADY_ROTATED,
    COPY,
    MULTIPART_COPY,
    PLAINTEXT,
    REENCRYPT_STREAM,
    ROTATE,
    UNKNOWN_KEY,
    Rekeyer,
    classify,
    copy_params,
    describe,
    method_for,
    part_ranges,
    rewritten_metadata,
    stream_workers,
)
from ansible_collections.ssec.s3.plugins.module_utils._remote import ENCRYPTION_NONE as NONE, SSE_C, RemoteObject
from ansible_collections.ssec.s3.plugins.module_utils._sse_key import CustomerKey

pytestmark = pytest.mark.usefixtures("no_network")

OLD = CustomerKey(bytes(range(32)))
NEW = CustomerKey(bytes(range(32, 64)))
MIB = 1024 * 1024
BUCKET, NAME, ETAG = "bucket", "dir/big.bin", '"0123456789abcdef0123456789abcdef-3"'
DATA_SHA256 = hashlib.sha256(b"the plaintext").hexdigest()


def remote(exists=True, encryption=SSE_C, key_matches=True, head=None, key=OLD, name=NAME):
    return RemoteObject(BUCKET, name, exists, encryption, key_matches, head, key)


def head(size, key=OLD, sealed=True, **extra):
    answer = {"ContentLength": size, "ContentType": "application/x-big", "ETag": ETAG, "Metadata": {"kind": "big"},
              "LastModified": datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)}
    if key is not None:
        answer.update(SSECustomerAlgorithm="AES256", SSECustomerKeyMD5="%s, %s" % (key.md5, key.md5))
    if sealed:
        answer["Metadata"]["ssec-sha256"] = digest.seal(key or OLD, DATA_SHA256)
    answer.update(extra)
    return answer


# ---- decisions ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("under_old, under_new, expected", [
    (remote(exists=False), None, ABSENT),
    (remote(encryption=NONE, key_matches=None), None, PLAINTEXT),
    (remote(encryption="AES256", key_matches=None), None, PLAINTEXT),
    (remote(key_matches=True), None, ROTATE),
    (remote(key_matches=False), None, None),  # needs the HEAD under the new key
    (remote(key_matches=False), remote(key_matches=True, key=NEW), ALREADY_ROTATED),
    (remote(key_matches=False), remote(key_matches=False, key=NEW), UNKNOWN_KEY),
    (remote(key_matches=False), remote(exists=False), ABSENT),
    (remote(key_matches=False), remote(encryption=NONE, key_matches=None), PLAINTEXT),
])
def test_classify(under_old, under_new, expected):
    assert classify(under_old, under_new) == expected


@pytest.mark.parametrize("size, encrypted, expected", [
    (0, True, COPY),
    (5 * MIB, True, COPY),
    (5 * MIB + 1, True, MULTIPART_COPY),
    (5 * MIB + 1, False, REENCRYPT_STREAM),
    (5 * MIB, False, COPY),
])
def test_method_for(size, encrypted, expected):
    assert method_for(size, 5 * MIB, encrypted) == expected


def test_part_ranges_cover_the_object_exactly():
    assert part_ranges(20 * MIB, 8 * MIB) == [(1, 0, 8 * MIB - 1), (2, 8 * MIB, 16 * MIB - 1), (3, 16 * MIB, 20 * MIB - 1)]
    assert part_ranges(16 * MIB, 8 * MIB) == [(1, 0, 8 * MIB - 1), (2, 8 * MIB, 16 * MIB - 1)]
    assert part_ranges(3, 8 * MIB) == [(1, 0, 2)]


def test_stream_workers_bound_memory():
    assert stream_workers(8, 8 * MIB) == 8
    assert stream_workers(8, 100 * MIB) == 2
    assert stream_workers(8, 1024 * MIB) == 1
    assert stream_workers(0, 8 * MIB) == 1


def test_metadata_digest_resealed_under_the_new_key():
    source = remote(head=head(10))
    metadata, state = rewritten_metadata(source, OLD, NEW)
    assert state == "resealed"
    assert metadata["kind"] == "big"
    assert digest.unseal(NEW, metadata["ssec-sha256"]) == DATA_SHA256
    with pytest.raises(digest.DigestError):
        digest.unseal(OLD, metadata["ssec-sha256"])
    assert "ssec-sha256" not in source.metadata  # the source's view is not changed


def test_metadata_without_digest_altered_digest_and_plaintext():
    assert rewritten_metadata(remote(head=head(10, sealed=False)), OLD, NEW) == ({"kind": "big"}, "absent")
    altered = remote(head=head(10, sealed=False, Metadata={"kind": "big", "ssec-sha256": "v1.garbage"}))
    assert rewritten_metadata(altered, OLD, NEW) == ({"kind": "big"}, "dropped")
    plain = remote(encryption=NONE, key_matches=None, head=head(10, key=None, sealed=False))
    metadata, state = rewritten_metadata(plain, OLD, NEW, sha256=DATA_SHA256)
    assert state == "sealed"
    assert digest.unseal(NEW, metadata["ssec-sha256"]) == DATA_SHA256


def item_for(size, encrypted=True, threshold=5 * MIB, **extra):
    answer = head(size, key=OLD if encrypted else None, sealed=encrypted, **extra)
    source = remote(encryption=SSE_C if encrypted else NONE, key_matches=True if encrypted else None, head=answer,
                    key=OLD if encrypted else None)
    item = rekey_task.Item(BUCKET, source, answer, SSE_C if encrypted else "plaintext",
                           method_for(size, threshold, encrypted))
    item.metadata, item.digest = rewritten_metadata(source, OLD, NEW, None if encrypted else DATA_SHA256)
    return item


def test_copy_params_of_an_sse_c_object():
    item = item_for(100, CacheControl="max-age=60", ContentDisposition="attachment", StorageClass="STANDARD_IA")
    params = copy_params(item, OLD, NEW)
    assert params.pop("Metadata") is item.metadata
    assert params == {
        "Bucket": BUCKET, "Key": NAME, "CopySource": {"Bucket": BUCKET, "Key": NAME}, "MetadataDirective": "REPLACE",
        "ContentType": "application/x-big", "CacheControl": "max-age=60", "ContentDisposition": "attachment",
        "StorageClass": "STANDARD_IA", "CopySourceIfMatch": ETAG,
        "CopySourceSSECustomerAlgorithm": "AES256", "CopySourceSSECustomerKey": OLD.b64, "CopySourceSSECustomerKeyMD5": OLD.md5,
        "SSECustomerAlgorithm": "AES256", "SSECustomerKey": NEW.b64, "SSECustomerKeyMD5": NEW.md5,
    }


def test_copy_params_of_a_plaintext_object_name_no_copy_source_key():
    params = copy_params(item_for(100, encrypted=False, StorageClass="STANDARD"), OLD, NEW)
    assert not [name for name in params if name.startswith("CopySourceSSE")]
    assert "StorageClass" not in params  # the default class is not forced
    assert params["SSECustomerKeyMD5"] == NEW.md5


def test_describe():
    counts = {"rotated": 3, "already_rotated": 1, "unknown_key": 2, "plaintext": 1, "failed": 0}
    methods = collections.Counter({COPY: 1, REENCRYPT_STREAM: 2, "fallback": 1})
    message = describe(counts, methods, False, False)
    assert message.startswith("Rotated 3 objects to the new key (2 by streamed re-encryption through this host, as the server")
    assert "1 object already under the new key" in message
    assert "2 objects under an unknown key, left untouched" in message
    assert "encrypt_plaintext: true" in message
    nothing = describe(dict(counts, rotated=0, unknown_key=0, plaintext=0), collections.Counter(), True, False)
    assert nothing == "Nothing would be rotated; 1 object already under the new key."


def test_the_same_key_twice_is_refused_before_any_request():
    params = {"concurrency": 8, "multipart_copy_threshold_mb": 5120}
    with pytest.raises(SsecError, match="same key"):
        rekey_task._check_options(params, OLD, CustomerKey(OLD.raw))
    with pytest.raises(SsecError, match="multipart_copy_threshold_mb"):
        rekey_task._check_options(dict(params, multipart_copy_threshold_mb=5121), OLD, NEW)


def test_rotation_diff_shows_fingerprints_only(assert_no_key_material):
    entries = [{"object": "a", "previous_state": SSE_C}, {"object": "b", "previous_state": "plaintext"}]
    diff = rekey_task.rotation_diff(entries, OLD, NEW)
    assert diff["before"] == {"a": {"encryption": SSE_C, "sse_customer_key_md5": OLD.md5},
                              "b": {"encryption": "plaintext", "sse_customer_key_md5": None}}
    assert diff["after"]["b"] == {"encryption": SSE_C, "sse_customer_key_md5": NEW.md5}
    for key in (OLD, NEW):
        assert_no_key_material(diff, key.raw)


# ---- the request shape, at the API boundary --------------------------------------------------------------


class SealedFor:
    """Matches user metadata whose digest opens under ``key`` to ``sha256``, the other entries equal to ``rest``."""

    def __init__(self, key, sha256, rest):
        self.key, self.sha256, self.rest = key, sha256, rest

    def __eq__(self, other):
        other = dict(other)
        return digest.unseal(self.key, other.pop("ssec-sha256")) == self.sha256 and other == self.rest

    def __repr__(self):
        return "SealedFor(%r, %s, %r)" % (self.key, self.sha256, self.rest)


def body(data):
    return StreamingBody(io.BytesIO(data), len(data))


def sse(key, prefix=""):
    return {prefix + name: value for name, value in key.request_params().items()}


def expect_create(stubber, upload_id):
    stubber.add_response("create_multipart_upload", {"UploadId": upload_id}, {
        "Bucket": BUCKET, "Key": NAME, "Metadata": SealedFor(NEW, DATA_SHA256, {"kind": "big"}),
        "ContentType": "application/x-big", "Tagging": "team=data", **sse(NEW)})


def expect_tags(stubber):
    stubber.add_response("get_object_tagging", {"TagSet": [{"Key": "team", "Value": "data"}]}, {"Bucket": BUCKET, "Key": NAME})


def expect_tags_set(stubber):
    stubber.add_response("put_object_tagging", {}, {"Bucket": BUCKET, "Key": NAME,
                                                    "Tagging": {"TagSet": [{"Key": "team", "Value": "data"}]}})


def expect_readable_and_verified(stubber, size):
    stubber.add_response("get_object", {"Body": body(b"x")}, {"Bucket": BUCKET, "Key": NAME, **sse(NEW)})
    stubber.add_response("head_object", head(size, key=NEW), {"Bucket": BUCKET, "Key": NAME, **sse(NEW)})


def test_multipart_copy_puts_the_copy_source_key_on_every_part(stubbed):
    client, stubber = stubbed
    size = 20 * MIB  # parts of 8 MiB: 3 parts
    item = item_for(size)
    expect_tags(stubber)
    expect_create(stubber, "up-1")
    for number, first, last in part_ranges(size, 8 * MIB):
        stubber.add_response("upload_part_copy", {"CopyPartResult": {"ETag": '"p%d"' % number}}, {
            "Bucket": BUCKET, "Key": NAME, "UploadId": "up-1", "PartNumber": number,
            "CopySource": {"Bucket": BUCKET, "Key": NAME}, "CopySourceRange": "bytes=%d-%d" % (first, last),
            "CopySourceIfMatch": ETAG, **sse(OLD, "CopySource"), **sse(NEW)})
    stubber.add_response("complete_multipart_upload", {}, {
        "Bucket": BUCKET, "Key": NAME, "UploadId": "up-1",
        "MultipartUpload": {"Parts": [{"PartNumber": n, "ETag": '"p%d"' % n} for n in (1, 2, 3)]}, **sse(NEW)})
    expect_tags_set(stubber)
    expect_readable_and_verified(stubber, size)

    entry = Rekeyer(client, BUCKET, OLD, NEW, concurrency=1, threshold_mb=5).rewrite(item)
    assert entry == {"object": NAME, "size": size, "method": MULTIPART_COPY, "previous_state": SSE_C, "digest": "resealed"}


def test_501_on_upload_part_copy_aborts_and_streams_part_by_part(stubbed):
    client, stubber = stubbed
    size = 20 * MIB
    data = bytes(range(256)) * (size // 256)
    item = item_for(size)
    expect_tags(stubber)
    expect_create(stubber, "up-1")
    stubber.add_client_error("upload_part_copy", "NotImplemented", "A header you provided implies functionality that "
                             "is not implemented", 501)
    stubber.add_response("abort_multipart_upload", {}, {"Bucket": BUCKET, "Key": NAME, "UploadId": "up-1"})
    expect_create(stubber, "up-2")
    for number, first, last in part_ranges(size, 8 * MIB):
        stubber.add_response("get_object", {"Body": body(data[first:last + 1])}, {
            "Bucket": BUCKET, "Key": NAME, "Range": "bytes=%d-%d" % (first, last), "IfMatch": ETAG, **sse(OLD)})
        stubber.add_response("upload_part", {"ETag": '"s%d"' % number}, {
            "Bucket": BUCKET, "Key": NAME, "UploadId": "up-2", "PartNumber": number, "Body": data[first:last + 1],
            "ContentMD5": base64.b64encode(hashlib.md5(data[first:last + 1]).digest()).decode(), **sse(NEW)})
    stubber.add_response("complete_multipart_upload", {}, {
        "Bucket": BUCKET, "Key": NAME, "UploadId": "up-2",
        "MultipartUpload": {"Parts": [{"PartNumber": n, "ETag": '"s%d"' % n} for n in (1, 2, 3)]}, **sse(NEW)})
    expect_tags_set(stubber)
    expect_readable_and_verified(stubber, size)

    entry = Rekeyer(client, BUCKET, OLD, NEW, concurrency=1, threshold_mb=5).rewrite(item)
    assert entry["method"] == REENCRYPT_STREAM


def test_a_failed_part_aborts_the_upload(stubbed, assert_no_key_material):
    client, stubber = stubbed
    size = 20 * MIB
    item = item_for(size)
    expect_tags(stubber)
    expect_create(stubber, "up-1")
    stubber.add_response("upload_part_copy", {"CopyPartResult": {"ETag": '"p1"'}})
    stubber.add_client_error("upload_part_copy", "PreconditionFailed", "At least one of the pre-conditions you "
                             "specified did not hold", 412)
    stubber.add_response("abort_multipart_upload", {}, {"Bucket": BUCKET, "Key": NAME, "UploadId": "up-1"})

    with pytest.raises(SsecError) as caught:
        Rekeyer(client, BUCKET, OLD, NEW, concurrency=1, threshold_mb=5).rewrite(item)
    assert "copy part 2 of s3://%s/%s" % (BUCKET, NAME) in caught.value.message
    assert "HTTP 412" in caught.value.message
    for key in (OLD, NEW):
        assert_no_key_material(caught.value.message, key.raw)


def test_an_abort_that_fails_is_reported(stubbed):
    client, stubber = stubbed
    item = item_for(20 * MIB)
    expect_tags(stubber)
    expect_create(stubber, "up-1")
    stubber.add_client_error("upload_part_copy", "AccessDenied", "Access Denied", 403)
    stubber.add_client_error("abort_multipart_upload", "AccessDenied", "Access Denied", 403)
    with pytest.raises(SsecError, match="up-1 of s3://bucket/dir/big.bin could not be aborted"):
        Rekeyer(client, BUCKET, OLD, NEW, concurrency=1, threshold_mb=5).rewrite(item)


def test_single_copy_then_verify(stubbed):
    client, stubber = stubbed
    item = item_for(100)
    expected = copy_params(item, OLD, NEW)
    expected["Metadata"] = SealedFor(NEW, DATA_SHA256, {"kind": "big"})
    stubber.add_response("copy_object", {"CopyObjectResult": {"ETag": ETAG}}, expected)
    stubber.add_response("head_object", head(100, key=NEW), {"Bucket": BUCKET, "Key": NAME, **sse(NEW)})
    assert Rekeyer(client, BUCKET, OLD, NEW).rewrite(item)["method"] == COPY


def test_a_copy_that_does_not_verify_fails(stubbed):
    client, stubber = stubbed
    item = item_for(100)
    stubber.add_response("copy_object", {})
    stubber.add_response("head_object", head(99, key=NEW))  # one byte short
    with pytest.raises(SsecError, match="99 bytes after the copy instead of 100"):
        Rekeyer(client, BUCKET, OLD, NEW).rewrite(item)


def test_check_mode_sends_nothing(stubbed):
    client, _stubber = stubbed  # any request would fail: nothing is queued
    entry = Rekeyer(client, BUCKET, OLD, NEW, threshold_mb=5, check_mode=True).rewrite(item_for(20 * MIB))
    assert entry["method"] == MULTIPART_COPY
    plain = Rekeyer(client, BUCKET, OLD, NEW, check_mode=True).rewrite(item_for(100, encrypted=False))
    assert plain["digest"] == "sealed"


def test_examine_an_object_under_the_old_key_keeps_its_headers(stubbed):
    client, stubber = stubbed
    stubber.add_response("head_object", head(100, CacheControl="no-cache"), {"Bucket": BUCKET, "Key": NAME, **sse(OLD)})
    state, entry, item = Rekeyer(client, BUCKET, OLD, NEW).examine(NAME, 100)
    assert state == ROTATE
    assert entry == {"object": NAME, "size": 100}
    assert item.etag == ETAG
    assert item.headers == {"CacheControl": "no-cache", "ContentType": "application/x-big"}
    assert item.sha256 == DATA_SHA256


def test_examine_an_object_under_an_unknown_key(stubbed):
    client, stubber = stubbed
    for key in (OLD, NEW):
        stubber.add_client_error("head_object", "403", "", 403, expected_params={"Bucket": BUCKET, "Key": NAME, **sse(key)})
        stubber.add_client_error("head_object", "400", "", 400, expected_params={"Bucket": BUCKET, "Key": NAME})
    state, entry, item = Rekeyer(client, BUCKET, OLD, NEW).examine(NAME, 42)
    assert (state, entry, item) == (UNKNOWN_KEY, {"object": NAME, "size": 42}, None)


def test_versioning_note(stubbed):
    client, stubber = stubbed
    stubber.add_response("get_bucket_versioning", {"Status": "Enabled"}, {"Bucket": BUCKET})
    stubber.add_client_error("get_bucket_versioning", "AccessDenied", "", 403)
    stubber.add_response("get_bucket_versioning", {}, {"Bucket": BUCKET})
    assert "old key" in rekey_task._versioning_note(client, BUCKET)
    assert rekey_task._versioning_note(client, BUCKET) is None  # an error is only no advice
    assert rekey_task._versioning_note(client, BUCKET) is None


def test_a_copy_whose_answer_was_lost_counts_when_the_object_verifies(stubbed):
    """The server made the copy but the answer was lost; the SDK's retry (source key now wrong) failed."""
    client, stubber = stubbed
    item = item_for(100)
    stubber.add_client_error("copy_object", "InternalError", "We encountered an internal error", 500)
    stubber.add_response("head_object", head(100, key=NEW), {"Bucket": BUCKET, "Key": NAME, **sse(NEW)})
    assert Rekeyer(client, BUCKET, OLD, NEW).rewrite(item)["method"] == COPY


def test_a_failed_copy_that_did_not_happen_is_reported(stubbed):
    client, stubber = stubbed
    item = item_for(100)
    stubber.add_client_error("copy_object", "InternalError", "We encountered an internal error", 500)
    stubber.add_client_error("head_object", "403", "", 403)  # still under the old key: the new one does not open it
    with pytest.raises(SsecError, match=r"Failed to copy s3://bucket/dir/big.bin onto itself.*\(HTTP 500\)"):
        Rekeyer(client, BUCKET, OLD, NEW).rewrite(item)


# ---- what a refusal changes ------------------------------------------------------------------------------
def client_error(status, code):
    from botocore.exceptions import ClientError

    return ClientError({"Error": {"Code": code, "Message": ""}, "ResponseMetadata": {"HTTPStatusCode": status}}, "UploadPartCopy")


@pytest.mark.parametrize("status, code, encrypted, expected", [
    (501, "NotImplemented", True, True),  # SeaweedFS
    (400, "InvalidArgument", True, True),  # Ceph RGW: decrypted with the destination's key
    (400, "InvalidArgument", False, False),  # a plaintext source: a 400 is about something else
    (403, "AccessDenied", True, False),
    (412, "PreconditionFailed", True, False),
])
def test_which_answers_refuse_a_part_copy(status, code, encrypted, expected):
    assert rekey_task._refuses_part_copy(client_error(status, code), encrypted) is expected


def test_a_refusal_plans_the_later_objects_as_streams():
    work = Rekeyer(None, BUCKET, OLD, NEW, threshold_mb=5)
    assert work.method(100, True) == COPY and work.method(20 * MIB, True) == MULTIPART_COPY
    work.refused.add((COPY, True))
    assert work.method(100, True) == REENCRYPT_STREAM
    assert work.method(100, False) == COPY  # a plaintext source is another case
    work.refused.add((MULTIPART_COPY, True))
    assert work.method(20 * MIB, True) == REENCRYPT_STREAM


def test_only_copies_and_one_part_streams_run_in_the_first_pass():
    work = Rekeyer(None, BUCKET, OLD, NEW, threshold_mb=5)
    assert work.inline(item_for(100))
    assert not work.inline(item_for(20 * MIB))  # a multipart copy
    streamed = item_for(8 * MIB)
    streamed.method = REENCRYPT_STREAM
    assert work.inline(streamed)  # one part of 8 MiB
    streamed = item_for(8 * MIB + 1)
    streamed.method = REENCRYPT_STREAM
    assert not work.inline(streamed)

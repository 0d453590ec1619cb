# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ssec.s3.copy: the decisions, from object states built by hand; the request shapes, built without a server.

The copies themselves run against SeaweedFS and Ceph RGW in the copy integration target.
"""

from __future__ import annotations

import collections
import datetime
import hashlib

import pytest

from ansible_collections.ssec.s3.plugins.module_utils import _copy_task as copy_task, _digest as digest
from ansible_collections.ssec.s3.plugins.module_utils._copy_task import (
    Copier,
    CopyItem,
    check_options,
    decide,
    describe,
    source_problem,
    stored_metadata,
    wanted_attributes,
)
from ansible_collections.ssec.s3.plugins.module_utils._errors import SsecError
from ansible_collections.ssec.s3.plugins.module_utils._remote import ENCRYPTION_NONE, SSE_C, RemoteObject
from ansible_collections.ssec.s3.plugins.module_utils._sse_key import CustomerKey

pytestmark = pytest.mark.usefixtures("no_network")

SOURCE_KEY = CustomerKey(bytes(range(32)))
DEST_KEY = CustomerKey(bytes(range(32, 64)))
SHA256 = hashlib.sha256(b"release 1.4.2\n").hexdigest()
OTHER_SHA256 = hashlib.sha256(b"release 1.4.3\n").hexdigest()
ETAG = '"0123456789abcdef0123456789abcdef"'


class NoRequests:
    """A client that fails the test on any request: the decision must be made from the HEADs already read."""

    def __getattr__(self, name):
        raise AssertionError("a request was made: %s" % name)


def head(key, sha256=SHA256, metadata=None, size=14, content_type="application/gzip"):
    answer = {"ContentLength": size, "ContentType": content_type, "ETag": ETAG,
              "Metadata": dict(metadata if metadata is not None else {"release": "1.4.2"}),
              "LastModified": datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc),
              "SSECustomerAlgorithm": "AES256", "SSECustomerKeyMD5": key.md5}
    if sha256:
        answer["Metadata"]["ssec-sha256"] = digest.seal(key, sha256)
    return answer


def source(sha256=SHA256, **kwargs):
    return RemoteObject("staging", "app.tar.gz", True, SSE_C, True, head(SOURCE_KEY, sha256, **kwargs), SOURCE_KEY)


def dest(exists=True, encryption=SSE_C, key_matches=True, sha256=SHA256, **kwargs):
    if not exists:
        return RemoteObject("production", "app.tar.gz")
    if encryption != SSE_C:
        return RemoteObject("production", "app.tar.gz", True, encryption, None, {"ContentLength": 14, "ETag": ETAG})
    if not key_matches:
        return RemoteObject("production", "app.tar.gz", True, SSE_C, False)
    return RemoteObject("production", "app.tar.gz", True, SSE_C, True, head(DEST_KEY, sha256, **kwargs), DEST_KEY)


def content(src, client=None):
    return copy_task.SourceContent(client or NoRequests(), src, SOURCE_KEY)


def decided(src, dst, overwrite="different", metadata=None, content_type=None):
    wanted, _type = wanted_attributes(src, metadata, content_type)
    return decide(NoRequests(), content(src), dst, DEST_KEY, overwrite, wanted, content_type)


# ---- the decision: both digests known, no data read ------------------------------------------------------
def test_both_digests_equal_is_unchanged_without_reading_data():
    copy, messages = decided(source(), dest())
    assert copy is False
    assert messages[0] == "The object already holds this content, encrypted with this key."


@pytest.mark.parametrize("dst, overwrite, expected, message", [
    (dest(exists=False), "different", True, "Copied the object."),
    (dest(sha256=OTHER_SHA256), "different", True, "Copied the object again: its content differed."),
    (dest(metadata={"release": "1.4.1"}), "different", True, "Copied the object again: its metadata differed."),
    (dest(), "always", True, "Copied the object again (overwrite: always)."),
    (dest(sha256=OTHER_SHA256), "never", False, "The object exists and overwrite: never keeps it as it is."),
    (dest(exists=False), "never", True, "Copied the object."),
    (dest(encryption=ENCRYPTION_NONE), "different", True,
     "Replaced the plaintext object with one encrypted with the customer key."),
    (dest(key_matches=False), "always", True, "Copied the object again (overwrite: always)."),
])
def test_destination_decisions(dst, overwrite, expected, message):
    copy, messages = decided(source(), dst, overwrite)
    assert (copy, messages[0]) == (expected, message)


def test_check_mode_message():
    assert decided(source(), dest(exists=False))[1][1] == "Would copy the object."


def test_an_object_under_another_key_is_never_replaced_silently():
    with pytest.raises(SsecError, match="encrypted with another SSE-C key, so it was left untouched.*overwrite: always"):
        decided(source(), dest(key_matches=False))
    assert decided(source(), dest(key_matches=False), "never")[0] is False


def test_a_given_content_type_is_compared_a_carried_one_is_not():
    assert decided(source(), dest(content_type="application/octet-stream"))[0] is False
    assert decided(source(), dest(content_type="application/octet-stream"), content_type="application/gzip")[0]


def test_metadata_given_replaces_the_sources():
    copy, messages = decided(source(), dest(), metadata={"release": "1.4.2", "channel": "stable"})
    assert copy and "metadata differed" in messages[0]
    assert wanted_attributes(source(), None, None) == ({"release": "1.4.2"}, "application/gzip")
    assert wanted_attributes(source(), {"Channel": "x"}, "text/plain") == ({"channel": "x"}, "text/plain")
    with pytest.raises(SsecError, match="ssec-sha256"):
        wanted_attributes(source(), {"ssec-sha256": "x"}, None)


def test_a_source_without_digest_is_read_to_compare():
    # The destination's digest is known, the source's is not: the SHA-256 of the source must be read.
    with pytest.raises(SsecError, match="compute its SHA-256.*a request was made: get_object"):
        decided(source(sha256=None), dest())


# ---- the source ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("src, version_id, expected", [
    (RemoteObject("staging", "a"), None, "s3://staging/a does not exist. Check source_bucket and source_object"),
    (RemoteObject("staging", "a"), "v1", "s3://staging/a (version v1) does not exist: check source_version_id"),
    (RemoteObject("staging", "a", True, ENCRYPTION_NONE, None, {"ContentLength": 1}), None,
     "s3://staging/a is not SSE-C encrypted (plaintext): ssec.s3.copy copies objects encrypted with a customer key"),
    (RemoteObject("staging", "a", True, SSE_C, False), None,
     "s3://staging/a is encrypted with another SSE-C key: the source key (MD5 %s) does not open it. Give the key it "
     "was written with as source_sse_customer_key" % SOURCE_KEY.md5),
])
def test_source_problems(src, version_id, expected, assert_no_key_material):
    message = source_problem(src, SOURCE_KEY, version_id)
    assert message.startswith(expected)
    assert_no_key_material(message, SOURCE_KEY.raw)


# ---- options refused before any request ----------------------------------------------------------------
def params(**kwargs):
    base = {"bucket": "production", "object": None, "prefix": None, "source_object": None, "source_prefix": None,
            "source_version_id": None, "multipart_copy_threshold_mb": 5120}
    base.update(kwargs)
    return base


@pytest.mark.parametrize("given, source_bucket, message", [
    (params(source_object="a", object="a"), "production", "both source and destination.*use ssec.s3.rekey"),
    (params(source_prefix="rel/", prefix="rel/copy/"), "production", "overlap in bucket production"),
    (params(source_prefix="rel/copy/", prefix="rel/"), "production", "overlap"),
    (params(source_prefix="", prefix="x/"), "production", "overlap"),
    (params(source_prefix="rel/", prefix="rel/", source_version_id="v1"), "staging", "use it with source_object"),
    (params(source_object="a", prefix="p/"), "staging", "not prefix"),
    (params(source_prefix="p/", object="a"), "staging", "not object"),
    (params(source_object="a", object="b", multipart_copy_threshold_mb=5121), "staging", "at most 5 GiB"),
])
def test_refused_options(given, source_bucket, message):
    with pytest.raises(SsecError, match=message):
        check_options(given, source_bucket)


@pytest.mark.parametrize("given, source_bucket", [
    (params(source_object="a", object="a"), "staging"),  # another bucket
    (params(source_object="a", object="a", source_version_id="v1"), "production"),  # restore a version
    (params(source_prefix="rel/", prefix="prod/"), "production"),
    (params(source_prefix="rel/", prefix="rel/"), "staging"),
])
def test_accepted_options(given, source_bucket):
    check_options(given, source_bucket)


# ---- what is written ------------------------------------------------------------------------------------
def test_the_copy_gets_the_digest_sealed_under_the_destination_key():
    stored = stored_metadata({"release": "1.4.2"}, SHA256, DEST_KEY)
    assert digest.unseal(DEST_KEY, stored.pop("ssec-sha256")) == SHA256
    assert stored == {"release": "1.4.2"}
    sealed = stored_metadata({}, SHA256, DEST_KEY)["ssec-sha256"]
    with pytest.raises(digest.DigestError):
        digest.unseal(SOURCE_KEY, sealed)
    assert stored_metadata({"a": "b"}, None, DEST_KEY) == {"a": "b"}


def item(version_id="v1", size=14, threshold=5120):
    src = source()
    metadata = stored_metadata({"release": "1.4.2"}, SHA256, DEST_KEY)
    method = copy_task.rekey_task.method_for(size, threshold * 1024 * 1024)
    return CopyItem(src, version_id, dest(exists=False), method, metadata, "application/gzip", SHA256)


def test_copy_request_names_the_source_version_and_both_keys(assert_no_key_material):
    params = Copier(None, "production", SOURCE_KEY, DEST_KEY).copy_params(item())
    metadata = params.pop("Metadata")
    assert params == {
        "Bucket": "production", "Key": "app.tar.gz", "MetadataDirective": "REPLACE", "ContentType": "application/gzip",
        "CopySource": {"Bucket": "staging", "Key": "app.tar.gz", "VersionId": "v1"}, "CopySourceIfMatch": ETAG,
        "CopySourceSSECustomerAlgorithm": "AES256", "CopySourceSSECustomerKey": SOURCE_KEY.b64,
        "CopySourceSSECustomerKeyMD5": SOURCE_KEY.md5,
        "SSECustomerAlgorithm": "AES256", "SSECustomerKey": DEST_KEY.b64, "SSECustomerKeyMD5": DEST_KEY.md5,
    }
    assert digest.unseal(DEST_KEY, metadata["ssec-sha256"]) == SHA256
    entry = item().entry()
    assert entry == {"object": "app.tar.gz", "source_object": "app.tar.gz", "size": 14, "method": "copy",
                     "previous_state": "absent"}
    for key in (SOURCE_KEY, DEST_KEY):
        assert_no_key_material(entry, key.raw)


def test_part_copy_request_reads_the_source_not_the_destination():
    big = item(version_id=None, size=20 * 1024 * 1024, threshold=5)
    assert big.method == "multipart-copy"
    params = Copier(None, "production", SOURCE_KEY, DEST_KEY).upload_part_copy_params(big, "up-1", (2, 100, 199))
    assert params["CopySource"] == {"Bucket": "staging", "Key": "app.tar.gz"}
    assert (params["Bucket"], params["Key"], params["PartNumber"]) == ("production", "app.tar.gz", 2)
    assert params["CopySourceRange"] == "bytes=100-199"
    assert params["CopySourceSSECustomerKeyMD5"] == SOURCE_KEY.md5
    assert params["SSECustomerKeyMD5"] == DEST_KEY.md5


def test_describe():
    counts = {"copied": 3, "unchanged": 1, "skipped": 2, "failed": 0}
    methods = collections.Counter({"copy": 1, "reencrypt-stream": 2})
    message = describe(counts, methods, False)
    assert message.startswith("Copied 3 objects (2 by streamed re-encryption through this host")
    assert "1 object already held the same content under the destination key" in message
    assert "2 objects skipped (see skipped_entries)" in message
    assert describe(dict(counts, copied=0, skipped=0), collections.Counter(), True) == \
        "Nothing would be copied; 1 object already held the same content under the destination key."


# ---- answers read from the SsecError of s3_errors (botocore's Stubber: no server here lacks tagging) --------------

TAGS_PARAMS = {"Bucket": "staging", "Key": "app.tar.gz", "VersionId": "v1"}


def test_a_server_without_tagging_gives_the_copy_no_tags(stubbed):
    client, stubber = stubbed
    stubber.add_client_error("get_object_tagging", "NotImplemented", "", 501, expected_params=TAGS_PARAMS)
    assert Copier(client, "production", SOURCE_KEY, DEST_KEY)._tags(item()) == []  # pylint: disable=protected-access


def test_a_refused_tags_read_fails_the_copy(stubbed):
    client, stubber = stubbed
    stubber.add_client_error("get_object_tagging", "AccessDenied", "Access Denied", 403, expected_params=TAGS_PARAMS)
    with pytest.raises(SsecError) as caught:
        Copier(client, "production", SOURCE_KEY, DEST_KEY)._tags(item())  # pylint: disable=protected-access
    assert caught.value.status == 403
    assert caught.value.message.startswith("Failed to read the tags of s3://staging/app.tar.gz (version v1): Access Denied")


def test_a_copy_the_server_does_not_implement_is_streamed_instead(stubbed):
    client, stubber = stubbed
    stubber.add_client_error("copy_object", "NotImplemented", "", 501)
    assert Copier(client, "production", SOURCE_KEY, DEST_KEY)._copy(item()) is False  # pylint: disable=protected-access

# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""AWS's own answers, which neither SeaweedFS nor Ceph RGW gives, at the API boundary (botocore's Stubber).

Only these request shapes are stubbed: a HEAD with a key for a plaintext object (AWS: 400; SeaweedFS and RGW
ignore the key and answer 200), a HEAD with a wrong key (AWS: 403; SeaweedFS 403 too, RGW 400), and an SSE-C write
to a bucket that blocks SSE-C (AWS only: 403 AccessDenied even with the right key). What the servers here answer
is tested against them in tests/functional/test_rekey_backends.py.
"""

from __future__ import annotations

import pytest

from ansible_collections.ssec.s3.plugins.module_utils import _digest as digest, _remote as remote
from ansible_collections.ssec.s3.plugins.module_utils._errors import SsecError
from ansible_collections.ssec.s3.plugins.module_utils._rekey_task import COPY, Item, Rekeyer, rewritten_metadata
from ansible_collections.ssec.s3.plugins.module_utils._sse_key import CustomerKey

pytestmark = pytest.mark.usefixtures("no_network")

KEY = CustomerKey(bytes(range(32)))
OTHER = CustomerKey(bytes(range(1, 33)))
BUCKET, NAME = "bucket", "dir/object.bin"
SHA256 = "ab" * 32


def head_params(key=None):
    params = {"Bucket": BUCKET, "Key": NAME}
    if key is not None:
        params.update(key.request_params())
    return params


def test_aws_400_for_a_key_sent_to_a_plaintext_object(stubbed):
    client, stubber = stubbed
    stubber.add_client_error("head_object", "400", "", 400, expected_params=head_params(KEY))
    stubber.add_response("head_object", {"ContentLength": 10, "ContentType": "text/plain", "Metadata": {"a": "b"}},
                         head_params())
    seen = remote.inspect(client, BUCKET, NAME, KEY)
    assert (seen.exists, seen.encryption, seen.key_matches, seen.size) == (True, remote.ENCRYPTION_NONE, None, 10)
    assert seen.metadata == {"a": "b"}


def test_aws_400_for_a_key_sent_to_an_sse_s3_object(stubbed):
    client, stubber = stubbed
    stubber.add_client_error("head_object", "400", "", 400, expected_params=head_params(KEY))
    stubber.add_response("head_object", {"ContentLength": 10, "ServerSideEncryption": "AES256"}, head_params())
    assert remote.inspect(client, BUCKET, NAME, KEY).state == "AES256"


def test_aws_403_for_a_wrong_key_needs_no_listing(stubbed):
    """403 with the key and 400 without it: AWS's answer for an SSE-C object under another key, nothing else."""
    client, stubber = stubbed
    stubber.add_client_error("head_object", "403", "", 403, expected_params=head_params(OTHER))
    stubber.add_client_error("head_object", "400", "", 400, expected_params=head_params())
    seen = remote.inspect(client, BUCKET, NAME, OTHER)
    assert (seen.exists, seen.encryption, seen.key_matches, seen.size) == (True, remote.SSE_C, False, None)


def sse_c_item(size=100):
    answer = {"ContentLength": size, "ETag": '"e"', "Metadata": {digest.METADATA_NAME: digest.seal(KEY, SHA256)},
              "SSECustomerAlgorithm": "AES256", "SSECustomerKeyMD5": KEY.md5}
    source = remote.RemoteObject(BUCKET, NAME, True, remote.SSE_C, True, answer, KEY)
    item = Item(BUCKET, source, answer, remote.SSE_C, COPY)
    item.metadata, item.digest = rewritten_metadata(source, KEY, OTHER)
    return item


def test_aws_403_on_an_sse_c_write_to_a_bucket_that_blocks_it(stubbed, assert_no_key_material):
    """The copy is refused with 403 (SSE-C writes blocked); the object is still under the old key (403 to the new
    one): the failure says how to allow SSE-C writes, and carries no key material."""
    client, stubber = stubbed
    stubber.add_client_error("copy_object", "AccessDenied", "Access Denied", 403)
    stubber.add_client_error("head_object", "403", "", 403, expected_params=head_params(OTHER))
    stubber.add_client_error("head_object", "400", "", 400, expected_params=head_params())
    with pytest.raises(SsecError) as caught:
        Rekeyer(client, BUCKET, KEY, OTHER).rewrite(sse_c_item())
    message = caught.value.message
    assert message.startswith("Failed to copy s3://bucket/dir/object.bin onto itself under the new key: Access Denied (HTTP 403).")
    assert "BlockedEncryptionTypes" in message and "PutBucketEncryption" in message
    for key in (KEY, OTHER):
        assert_no_key_material(message, key.raw)

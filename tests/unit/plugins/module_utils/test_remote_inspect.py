# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every branch of remote.inspect, at the API boundary (botocore's Stubber: the request shapes and the
decision taken on each answer).

What each server really answers is tested against SeaweedFS and Ceph RGW (tests/functional/
test_rekey_backends.py, test_found_object.py, the object_info integration target); here each answer is
given once, so that every path through the first HEAD, the second HEAD (without the key), the bucket
check and the listing is taken, and the state or the message it ends in is checked.
"""

from __future__ import annotations

import pytest
from botocore import exceptions as bex

from ansible_collections.ssec.s3.plugins.module_utils import _digest as digest, _remote as remote
from ansible_collections.ssec.s3.plugins.module_utils._errors import SsecError
from ansible_collections.ssec.s3.plugins.module_utils._sse_key import CustomerKey

pytestmark = pytest.mark.usefixtures("no_network")

KEY = CustomerKey(bytes(range(32)))
OTHER = CustomerKey(bytes(range(1, 33)))
BUCKET, NAME = "bucket", "dir/object.bin"
SHA256 = "cd" * 32


def head_params(key=None):
    params = {"Bucket": BUCKET, "Key": NAME}
    if key is not None:
        params.update(key.request_params())
    return params


def head(stubber, answer, key=None):
    """Queue one HEAD: ``answer`` is a status (an error without a body) or the headers of a 200."""
    if isinstance(answer, int):
        stubber.add_client_error("head_object", str(answer), "", answer, expected_params=head_params(key))
    else:
        stubber.add_response("head_object", answer, head_params(key))


def head_bucket(stubber, status=200):
    if status == 200:
        stubber.add_response("head_bucket", {}, {"Bucket": BUCKET})
    else:
        stubber.add_client_error("head_bucket", str(status), "", status, expected_params={"Bucket": BUCKET})


def listing(stubber, names=(), status=200):
    params = {"Bucket": BUCKET, "Prefix": NAME, "MaxKeys": 1}
    if status == 200:
        stubber.add_response("list_objects_v2", {"Contents": [{"Key": name} for name in names]}, params)
    else:
        stubber.add_client_error("list_objects_v2", "AccessDenied" if status == 403 else "InternalError", "", status,
                                 expected_params=params)


def sse_c(key, **extra):
    return dict({"ContentLength": 7, "SSECustomerAlgorithm": "AES256", "SSECustomerKeyMD5": key.md5}, **extra)


def state(seen):
    return seen.exists, seen.encryption, seen.key_matches


# ---- the first HEAD answers 200 -----------------------------------------------------------------------

@pytest.mark.parametrize("headers, encryption, state_name", [
    ({"ContentLength": 3}, remote.ENCRYPTION_NONE, "plaintext"),
    ({"ContentLength": 3, "ServerSideEncryption": "AES256"}, "AES256", "AES256"),
    ({"ContentLength": 3, "ServerSideEncryption": "aws:kms"}, "aws:kms", "aws:kms"),
])
@pytest.mark.parametrize("key", [None, KEY])
def test_200_without_sse_c_headers_is_what_the_server_reports(stubbed, headers, encryption, state_name, key):
    client, stubber = stubbed
    head(stubber, headers, key)
    seen = remote.inspect(client, BUCKET, NAME, key)
    assert state(seen) == (True, encryption, None) and seen.state == state_name and seen.size == 3


def test_200_with_sse_c_headers_and_no_key_is_sse_c_of_unknown_key(stubbed):
    client, stubber = stubbed
    head(stubber, sse_c(KEY))
    assert state(remote.inspect(client, BUCKET, NAME)) == (True, remote.SSE_C, None)


@pytest.mark.parametrize("header, matches", [
    (KEY.md5, True),
    ("%s, %s" % (KEY.md5, KEY.md5), True),  # SeaweedFS repeats the header
    (OTHER.md5, False),
    ("%s, %s" % (KEY.md5, OTHER.md5), False),  # two different values match no key
])
def test_200_with_sse_c_headers_compares_the_key_md5(stubbed, header, matches):
    client, stubber = stubbed
    head(stubber, sse_c(KEY, SSECustomerKeyMD5=header), KEY)
    assert state(remote.inspect(client, BUCKET, NAME, KEY)) == (True, remote.SSE_C, matches)


def test_the_sealed_digest_is_opened_only_with_the_matching_key(stubbed):
    client, stubber = stubbed
    sealed = digest.seal(KEY, SHA256)
    head(stubber, sse_c(KEY, Metadata={digest.METADATA_NAME: sealed, "owner": "ops"}), KEY)
    seen = remote.inspect(client, BUCKET, NAME, KEY)
    assert (seen.sha256, seen.digest_problem, seen.metadata) == (SHA256, None, {"owner": "ops"})


def test_a_digest_sealed_under_another_key_is_a_problem_not_a_digest(stubbed):
    client, stubber = stubbed
    head(stubber, sse_c(KEY, Metadata={digest.METADATA_NAME: digest.seal(OTHER, SHA256)}), KEY)
    seen = remote.inspect(client, BUCKET, NAME, KEY)
    assert seen.sha256 is None and "does not open with this key" in seen.digest_problem


# ---- the first HEAD answers 404 -----------------------------------------------------------------------

@pytest.mark.parametrize("key", [None, KEY])
def test_404_in_an_existing_bucket_is_absent(stubbed, key):
    client, stubber = stubbed
    head(stubber, 404, key)
    head_bucket(stubber)
    seen = remote.inspect(client, BUCKET, NAME, key)
    assert (seen.exists, seen.state, seen.storage_class, seen.metadata) == (False, "absent", None, None)


def test_404_of_the_bucket_says_to_create_it(stubbed):
    client, stubber = stubbed
    head(stubber, 404, KEY)
    head_bucket(stubber, 404)
    with pytest.raises(SsecError) as caught:
        remote.inspect(client, BUCKET, NAME, KEY)
    assert caught.value.message.startswith("Bucket bucket does not exist: create it first")
    assert (caught.value.code, caught.value.status) == ("NoSuchBucket", 404)


def test_a_denied_bucket_check_is_reported_as_it_is(stubbed):
    client, stubber = stubbed
    head(stubber, 404)
    head_bucket(stubber, 403)
    with pytest.raises(SsecError) as caught:
        remote.inspect(client, BUCKET, NAME)
    assert caught.value.status == 403 and "find bucket bucket" in caught.value.message


# ---- the first HEAD (with the key) is refused: the second HEAD, without the key -------------------------

@pytest.mark.parametrize("first", [400, 403])
def test_second_head_200_without_sse_c_is_plaintext(stubbed, first):
    client, stubber = stubbed
    head(stubber, first, KEY)
    head(stubber, {"ContentLength": 5, "Metadata": {"a": "b"}})
    seen = remote.inspect(client, BUCKET, NAME, KEY)
    assert state(seen) == (True, remote.ENCRYPTION_NONE, None) and seen.metadata == {"a": "b"}


def test_second_head_200_with_sse_c_headers_is_not_understood(stubbed):
    """The object refused the key, then showed SSE-C headers to a HEAD without one: no server does that."""
    client, stubber = stubbed
    head(stubber, 400, KEY)
    head(stubber, sse_c(OTHER))
    with pytest.raises(SsecError, match=r"\(HTTP 200\): unexpected answer from the server"):
        remote.inspect(client, BUCKET, NAME, KEY)


@pytest.mark.parametrize("first", [400, 403])
def test_second_head_404_is_an_object_deleted_between_the_two(stubbed, first):
    client, stubber = stubbed
    head(stubber, first, KEY)
    head(stubber, 404)
    head_bucket(stubber)
    assert state(remote.inspect(client, BUCKET, NAME, KEY)) == (False, remote.ABSENT, None)


def test_403_then_400_is_sse_c_under_another_key_without_a_listing(stubbed):
    client, stubber = stubbed
    head(stubber, 403, OTHER)
    head(stubber, 400)
    assert state(remote.inspect(client, BUCKET, NAME, OTHER)) == (True, remote.SSE_C, False)


def test_400_twice_for_a_listed_name_is_sse_c_under_another_key(stubbed):
    client, stubber = stubbed
    head(stubber, 400, OTHER)
    head(stubber, 400)
    assert state(remote.inspect(client, BUCKET, NAME, OTHER, listed=True)) == (True, remote.SSE_C, False)


@pytest.mark.parametrize("names, expected", [([NAME], (True, remote.SSE_C, False)), ([NAME + "x"], None), ([], None)])
def test_400_twice_asks_the_listing(stubbed, names, expected):
    client, stubber = stubbed
    head(stubber, 400, OTHER)
    head(stubber, 400)
    listing(stubber, names)
    if expected:
        assert state(remote.inspect(client, BUCKET, NAME, OTHER)) == expected
        return
    with pytest.raises(SsecError) as caught:
        remote.inspect(client, BUCKET, NAME, OTHER)
    assert "refused the request with and without the key, and no object of that name is listed" in caught.value.message
    assert "Use another name." in caught.value.message


def test_400_twice_and_a_denied_listing_names_both_causes(stubbed):
    client, stubber = stubbed
    head(stubber, 400, OTHER)
    head(stubber, 400)
    listing(stubber, status=403)
    with pytest.raises(SsecError) as caught:
        remote.inspect(client, BUCKET, NAME, OTHER)
    message = caught.value.message
    assert "listing the bucket to find out why was denied" in message and "with another key" in message
    assert "allow s3:ListBucket" in message and caught.value.status == 400


def test_400_twice_and_a_failing_listing_reports_the_listing(stubbed):
    client, stubber = stubbed
    head(stubber, 400, OTHER)
    head(stubber, 400)
    listing(stubber, status=500)
    with pytest.raises(SsecError) as caught:
        remote.inspect(client, BUCKET, NAME, OTHER)
    assert caught.value.status == 500 and "to tell whether the object exists" in caught.value.message


@pytest.mark.parametrize("second, words", [(403, "access denied"), (500, "unexpected answer")])
def test_other_answers_to_the_second_head_fail_with_that_status(stubbed, second, words):
    client, stubber = stubbed
    head(stubber, 400, KEY)
    head(stubber, second)
    with pytest.raises(SsecError) as caught:
        remote.inspect(client, BUCKET, NAME, KEY)
    assert caught.value.status == second and words in caught.value.message


# ---- the first HEAD (without a key) is refused --------------------------------------------------------

def test_400_without_a_key_for_a_listed_name_is_sse_c(stubbed):
    client, stubber = stubbed
    head(stubber, 400)
    listing(stubber, [NAME])
    assert state(remote.inspect(client, BUCKET, NAME)) == (True, remote.SSE_C, None)


def test_400_without_a_key_for_an_unlisted_name_is_a_refused_name(stubbed):
    client, stubber = stubbed
    head(stubber, 400)
    listing(stubber, [])
    with pytest.raises(SsecError, match="refused the request without a key, and no object of that name is listed"):
        remote.inspect(client, BUCKET, NAME)


def test_400_without_a_key_and_a_denied_listing_says_give_its_key(stubbed):
    client, stubber = stubbed
    head(stubber, 400)
    listing(stubber, status=403)
    with pytest.raises(SsecError, match=r"SSE-C encrypted \(give its key\)"):
        remote.inspect(client, BUCKET, NAME)


@pytest.mark.parametrize("status, words", [(403, "access denied. Check that the credentials may read"),
                                           (500, "unexpected answer"), (503, "unexpected answer")])
def test_other_answers_without_a_key_fail_with_that_status(stubbed, status, words):
    client, stubber = stubbed
    head(stubber, status)
    with pytest.raises(SsecError) as caught:
        remote.inspect(client, BUCKET, NAME)
    assert caught.value.status == status and words in caught.value.message


def test_a_first_head_500_with_a_key_asks_no_second_head(stubbed):
    client, stubber = stubbed
    head(stubber, 500, KEY)
    with pytest.raises(SsecError, match="HTTP 500"):
        remote.inspect(client, BUCKET, NAME, KEY)


# ---- no HTTP answer at all ---------------------------------------------------------------------------

class _Unreachable:
    def head_object(self, **_params):
        raise bex.EndpointConnectionError(endpoint_url="https://s3.example.test")


def test_a_transport_failure_is_described_not_taken_for_a_status():
    with pytest.raises(SsecError) as caught:
        remote.inspect(_Unreachable(), BUCKET, NAME, KEY)
    assert caught.value.status is None and "could not be reached" in caught.value.message
    assert caught.value.__context__ is None  # nothing of the original, which may hold request data


# ---- what the state carries ------------------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    ("1B2M2Y8AsgTpgAmY7PhCfg==", "d41d8cd98f00b204e9800998ecf8427e"),
    ("d41d8cd98f00b204e9800998ecf8427e", "d41d8cd98f00b204e9800998ecf8427e"),
    ("D41D8CD98F00B204E9800998ECF8427E", "d41d8cd98f00b204e9800998ecf8427e"),
    ("not base64!", None), ("AAAA", None), ("", None), ("zz" * 16, None),
])
def test_rclone_md5(value, expected):
    seen = remote.RemoteObject(BUCKET, NAME, True, remote.ENCRYPTION_NONE, head={"Metadata": {"MD5chksum": value}})
    assert seen.rclone_md5 == expected


def test_summary_has_fingerprints_only(assert_no_key_material):
    sealed = digest.seal(KEY, SHA256)
    seen = remote.RemoteObject(BUCKET, NAME, True, remote.SSE_C, True,
                               sse_c(KEY, ContentType="text/plain", Metadata={digest.METADATA_NAME: sealed}), KEY)
    assert seen.summary() == {"exists": True, "encryption": remote.SSE_C, "key_matches": True, "size": 7,
                              "sha256": SHA256, "content_type": "text/plain", "metadata": {}}
    assert_no_key_material(seen.summary(), KEY.raw)
    assert remote.RemoteObject(BUCKET, NAME).summary()["encryption"] is None

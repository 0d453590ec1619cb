# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The error boundary: scrubbing key material and translating SDK errors into actionable messages."""

from __future__ import annotations

import base64
import os
import traceback

import pytest
from botocore import exceptions as bex

from ansible_collections.ssec.s3.plugins.module_utils._errors import (
    DELETE,
    REDACTED,
    SsecError,
    describe_client_error,
    describe_exception,
    http_error,
    registered_secrets,
    s3_errors,
    scrub,
    secret_forms,
)
from ansible_collections.ssec.s3.plugins.module_utils._sse_key import CustomerKey

pytestmark = pytest.mark.usefixtures("no_network")

# Base64 holds '+' and '/' (urlsafe differs) and '=' (unpadded differs); the bytes repr has escapes.
RAW = b"\xfb\xef\xbe\xff\xff\xff" + b"\x00\x01\x7f\x80'\"\\\n" + bytes(range(0xE0, 0xF2))
assert len(RAW) == 32


def independent_forms(raw):
    """The forms of key material the boundary must catch, derived here without the module."""
    b64 = base64.b64encode(raw).decode()
    urlsafe = base64.urlsafe_b64encode(raw).decode()
    return {
        "base64": b64,
        "base64-urlsafe": urlsafe,
        "base64-unpadded": b64.rstrip("="),
        "base64-urlsafe-unpadded": urlsafe.rstrip("="),
        "hex": raw.hex(),
        "HEX": raw.hex().upper(),
        "base64-of-base64": base64.b64encode(b64.encode()).decode(),
        "bytes-repr": repr(raw)[2:-1],
        "latin-1-text": raw.decode("latin-1"),
    }


def test_secret_forms_cover_every_expected_form():
    forms = secret_forms(RAW)
    for name, form in independent_forms(RAW).items():
        assert form in forms, name
    # The test key really makes those forms distinct from each other.
    assert len(set(independent_forms(RAW).values())) == len(independent_forms(RAW))


@pytest.mark.parametrize("name", sorted(independent_forms(RAW)))
def test_scrub_removes_each_form_of_a_registered_key(name):
    CustomerKey(RAW)  # registers it
    form = independent_forms(RAW)[name]
    text = "before <%s> after" % form
    assert scrub(text) == "before <%s> after" % REDACTED


def test_scrub_removes_all_forms_at_once_and_leaves_other_text(assert_no_key_material):
    CustomerKey(RAW)
    text = "\n".join("%s=%s;" % (name, form) for name, form in independent_forms(RAW).items())
    scrubbed = scrub(text)
    assert_no_key_material(scrubbed, RAW)
    for name in independent_forms(RAW):
        assert "%s=%s;" % (name, REDACTED) in scrubbed
    assert scrub("nothing secret here: AES256, HTTP 403") == "nothing secret here: AES256, HTTP 403"


def test_every_key_object_registers_its_forms():
    raw = os.urandom(32)
    assert not secret_forms(raw) <= registered_secrets()
    CustomerKey(raw)
    assert secret_forms(raw) <= registered_secrets()


def test_ssec_error_messages_are_scrubbed_when_created(assert_no_key_material):
    key = CustomerKey(RAW)
    error = SsecError("bad key %s (hex %s)" % (key.b64, RAW.hex()), code="X", status=400)
    for text in (error.message, str(error), repr(error), error.args):
        assert_no_key_material(text, RAW)
    assert error.message == "bad key %s (hex %s)" % (REDACTED, REDACTED)
    assert (error.code, error.status) == ("X", 400)


# --- botocore's ParamValidationError prints parameter values -------------------------------

def _client():
    import boto3

    return boto3.client("s3", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")


def _invalid_put(key, variant):
    """A put_object that botocore rejects while validating, before any network I/O."""
    if variant == "base64-key-and-md5":  # the request shape the collection uses
        sse = {"SSECustomerKey": key.b64, "SSECustomerKeyMD5": key.md5}
    elif variant == "raw-key-and-md5":  # the mixed-up shape: botocore prints the key's bytes repr
        sse = {"SSECustomerKey": key.raw, "SSECustomerKeyMD5": key.md5}
    elif variant == "base64-bytes-key-and-md5":  # the key's base64, as bytes
        sse = {"SSECustomerKey": key.b64.encode(), "SSECustomerKeyMD5": key.md5}
    else:
        raise AssertionError(variant)
    _client().put_object(Bucket="b", Key="k", Body=b"", SSECustomerAlgorithm="AES256", StorageClass=123, **sse)


VARIANTS = ["base64-key-and-md5", "raw-key-and-md5", "base64-bytes-key-and-md5"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_param_validation_error_leaves_scrubbed_and_unchained(variant, assert_no_key_material):
    raw = os.urandom(32)
    key = CustomerKey(raw)

    with pytest.raises(bex.ParamValidationError) as original:
        _invalid_put(key, variant)
    if variant != "base64-key-and-md5":
        # The test is only worth something if botocore really leaks the key here.
        assert any(form in str(original.value) for form in secret_forms(raw))

    with pytest.raises(SsecError) as info:
        with s3_errors("upload"):
            _invalid_put(key, variant)
    error = info.value
    assert error.__class__ is SsecError  # the generic boundary error, not a subclass
    assert error.message.startswith("Failed to upload: invalid request parameters: ")
    assert "StorageClass" in error.message  # what was wrong is still said
    assert error.__cause__ is None
    assert error.__context__ is None
    formatted = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    assert "ParamValidationError" not in formatted
    assert "During handling of the above exception" not in formatted
    for text in (error.message, str(error), repr(error), formatted):
        assert_no_key_material(text, raw)


def test_s3_errors_is_unchained_even_inside_an_outer_handler(assert_no_key_material):
    key = CustomerKey(os.urandom(32))
    info = None
    try:
        raise KeyError("an unrelated error being handled")
    except KeyError:
        with pytest.raises(SsecError) as info:
            with s3_errors("upload"):
                _invalid_put(key, "raw-key-and-md5")
    formatted = "".join(traceback.format_exception(type(info.value), info.value, info.value.__traceback__))
    assert "ParamValidationError" not in formatted
    assert_no_key_material(formatted, key.raw)


def test_s3_errors_lets_ssec_errors_through_unchanged():
    error = SsecError("already translated", code="C", status=418)
    with pytest.raises(SsecError) as info:
        with s3_errors("upload"):
            raise error
    assert info.value is error


def test_s3_errors_does_nothing_without_an_error():
    with s3_errors("upload"):
        value = 1
    assert value == 1


def test_s3_errors_does_not_swallow_keyboard_interrupt():
    with pytest.raises(KeyboardInterrupt):
        with s3_errors("upload"):
            raise KeyboardInterrupt()


def test_unknown_exceptions_keep_their_type_and_scrubbed_text(assert_no_key_material):
    key = CustomerKey(os.urandom(32))
    with pytest.raises(SsecError) as info:
        with s3_errors("download"):
            raise RuntimeError("boom with %s" % key.b64)
    assert info.value.message == "Failed to download: RuntimeError: boom with %s" % REDACTED
    assert_no_key_material(info.value.message, key.raw)


# --- ClientError translation ----------------------------------------------------------------

def client_error(status, code=None, message=None, operation="PutObject"):
    response = {"ResponseMetadata": {"HTTPStatusCode": status}}
    if code is not None or message is not None:
        response["Error"] = {name: value for name, value in (("Code", code), ("Message", message)) if value}
    return bex.ClientError(response, operation)


CLIENT_ERRORS = [
    pytest.param(
        client_error(404, "NoSuchBucket", "The specified bucket does not exist"), "upload", False,
        ["Failed to upload: The specified bucket does not exist (HTTP 404).",
         "create it first or correct the bucket name"],
        id="NoSuchBucket",
    ),
    pytest.param(
        client_error(403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist"), "upload",
        True,
        ["(HTTP 403)", "The access key is not known to the server",
         "Check access_key and secret_key", "AWS_ACCESS_KEY_ID", "SCW_ACCESS_KEY"],
        id="InvalidAccessKeyId",
    ),
    pytest.param(
        client_error(403, "SignatureDoesNotMatch", "The request signature we calculated does not match"),
        "download", False,
        ["Failed to download: The request signature we calculated does not match (HTTP 403).",
         "The secret key does not match the access key", "Check access_key and secret_key"],
        id="SignatureDoesNotMatch",
    ),
    pytest.param(
        client_error(400, "400", "Bad Request", "HeadObject"), "read the object", False,
        ["Failed to read the object: Bad Request (HTTP 400).", "the key is missing",
         "some servers refuse a key sent for it"],
        id="HEAD-400-as-botocore-reports-it",
    ),
    pytest.param(
        client_error(400, operation="HeadObject"), "read the object", False,
        ["Failed to read the object (HTTP 400).", "the key is missing"],
        id="HEAD-400-no-body",
    ),
    pytest.param(
        client_error(403, "403", "Forbidden", "HeadObject"), "read the object", False,
        ["(HTTP 403)", "Access denied", "the key is not the one it was encrypted with",
         "otherwise check access_key and secret_key"],
        id="HEAD-403-as-botocore-reports-it",
    ),
    pytest.param(
        client_error(403, operation="HeadObject"), "read the object", False,
        ["Failed to read the object (HTTP 403).", "the key is not the one it was encrypted with"],
        id="HEAD-403-no-body",
    ),
    pytest.param(
        client_error(404, "404", "Not Found", "HeadObject"), "read the object", False,
        ["Not Found (HTTP 404).", "The bucket or object does not exist: check the names."],
        id="HEAD-404",
    ),
    pytest.param(
        client_error(404, operation="HeadObject"), "read the object", False,
        ["Failed to read the object (HTTP 404).", "check the names"],
        id="HEAD-404-no-body",
    ),
    pytest.param(
        client_error(400, "InvalidStorageClass", "The storage class you specified is not valid"), "upload", True,
        ["(HTTP 400)", "does not offer this storage class", "check storage_class, or leave it out"],
        id="InvalidStorageClass",
    ),
    pytest.param(
        client_error(400, "400", "Bad Request"), "upload", True,
        ["Failed to upload: Bad Request (HTTP 400).", "check the task's options (storage_class, metadata"],
        id="400-on-write-names-the-options-not-the-key",
    ),
    pytest.param(
        client_error(400, "KeyTooLongError", "Your key is too long"), "upload", True,
        ["1024 bytes of UTF-8 in all, some servers less", "Use a shorter name."],
        id="KeyTooLongError",
    ),
    pytest.param(
        client_error(403, "AccessDenied", "Access Denied"), "upload", True,
        ["Failed to upload: Access Denied (HTTP 403).", "SSE-C writes are blocked",
         "PutBucketEncryption", "BlockedEncryptionTypes set to NONE",
         "check that the credentials may write to this bucket"],
        id="403-on-write",
    ),
    pytest.param(
        client_error(503, "ServiceUnavailable", "Please reduce your request rate"), "upload", True,
        ["(HTTP 503)", "The server failed after all retries: retry later, or raise retries."],
        id="503",
    ),
    pytest.param(
        client_error(501, "NotImplemented", "A header you provided implies functionality that is not implemented"),
        "copy the object", True,
        ["(HTTP 501)", "The server does not implement this operation."],
        id="501",
    ),
    pytest.param(
        client_error(503, "SlowDown", "Please reduce your request rate."), "upload", True,
        ["(HTTP 503)", "retry later or raise retries"],
        id="SlowDown",
    ),
    pytest.param(
        client_error(400, "ExpiredToken", "The provided token has expired."), "upload", True,
        ["Failed to upload: The provided token has expired (HTTP 400).", "refresh the credentials"],
        id="ExpiredToken",
    ),
]


@pytest.mark.parametrize("exc, action, write, expected", CLIENT_ERRORS)
def test_client_errors_name_the_cause_and_the_fix(exc, action, write, expected):
    error = describe_client_error(exc, action, write=write)
    assert isinstance(error, SsecError)
    for fragment in expected:
        assert fragment in error.message
    assert error.status == exc.response["ResponseMetadata"]["HTTPStatusCode"]
    assert error.code == exc.response.get("Error", {}).get("Code")


def test_403_on_a_read_does_not_talk_about_blocked_writes():
    message = describe_client_error(client_error(403, "AccessDenied", "Access Denied"), "download").message
    assert "BlockedEncryptionTypes" not in message
    assert "not the one it was encrypted with" in message


def test_client_error_inside_s3_errors_keeps_code_and_status():
    with pytest.raises(SsecError) as info:
        with s3_errors("upload", write=True):
            raise client_error(403, "AccessDenied", "Access Denied")
    assert (info.value.code, info.value.status) == ("AccessDenied", 403)
    assert "BlockedEncryptionTypes" in info.value.message
    assert info.value.__context__ is None


# --- transport and credential errors ---------------------------------------------------------

TRANSPORT_ERRORS = [
    pytest.param(
        bex.SSLError(endpoint_url="https://s3.example.test", error="certificate verify failed"),
        ["Failed to upload: TLS error", "certificate verify failed",
         "Set ca_bundle to the CA that signed it", "AWS_CA_BUNDLE", "validate_certs: false"],
        id="SSLError",
    ),
    pytest.param(
        bex.SSLError(endpoint_url="https://127.0.0.1:8333",
                     error="[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)"),
        ["Failed to upload: this port does not speak TLS", "Check the port of endpoint_url"],
        id="SSLError-plain-http-port",
    ),
    pytest.param(
        bex.SSLError(endpoint_url="https://s3.example.test",
                     error="[X509: NO_CERTIFICATE_OR_CRL_FOUND] no certificate or crl found (_ssl.c:4154)"),
        ["Failed to upload: the CA bundle in use holds no certificate", "Set ca_bundle"],
        id="SSLError-empty-ca-bundle",
    ),
    pytest.param(
        bex.EndpointConnectionError(endpoint_url="https://s3.example.test:9999/"),
        ["Failed to upload: the endpoint could not be reached", "https://s3.example.test:9999/",
         "Check endpoint_url, the network, and that the server is running."],
        id="EndpointConnectionError",
    ),
    pytest.param(
        bex.ConnectTimeoutError(endpoint_url="https://s3.example.test/"),
        ["the endpoint could not be reached", "Check endpoint_url"],
        id="ConnectTimeoutError",
    ),
    pytest.param(
        bex.ReadTimeoutError(endpoint_url="https://s3.example.test/"),
        ["the server did not answer in time", "Raise read_timeout or retry later"],
        id="ReadTimeoutError",
    ),
    pytest.param(
        bex.SSLError(endpoint_url="https://s3.example.test/b/o?partNumber=2",
                     error="EOF occurred in violation of protocol (_ssl.c:2427)"),
        ["Failed to upload: the TLS connection broke before the server answered", "EOF occurred",
         "check that the server is running and reachable, then run the task again"],
        id="SSLError-connection-cut",
    ),
    pytest.param(
        bex.ConnectionClosedError(endpoint_url="https://s3.example.test/b/o"),
        ["Failed to upload: the connection to the server was lost in the middle of the transfer",
         "The server may have stopped or restarted", "run the task again"],
        id="ConnectionClosedError",
    ),
    pytest.param(
        bex.ResponseStreamingError(error="IncompleteRead(1009375 bytes read, 7379233 more expected)"),
        ["the connection to the server was lost in the middle of the transfer", "run the task again"],
        id="ResponseStreamingError",
    ),
    pytest.param(
        ConnectionResetError(104, "Connection reset by peer"),
        ["the connection to the server was lost", "Connection reset by peer", "run the task again"],
        id="ConnectionResetError",
    ),
    pytest.param(
        bex.NoCredentialsError(),
        ["Failed to upload: no S3 credentials were found.", "Check access_key and secret_key",
         "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY", "SCW_ACCESS_KEY / SCW_SECRET_KEY"],
        id="NoCredentialsError",
    ),
]


@pytest.mark.parametrize("exc, expected", TRANSPORT_ERRORS)
def test_transport_errors_name_the_cause_and_the_fix(exc, expected):
    direct = describe_exception(exc, "upload")
    with pytest.raises(SsecError) as info:
        with s3_errors("upload"):
            raise exc
    for error in (direct, info.value):
        for fragment in expected:
            assert fragment in error.message
    assert info.value.__context__ is None and info.value.__cause__ is None


class RetriesExceededError(Exception):
    """Shaped like s3transfer's: raised after its own retries of a download, the last error attached."""

    def __init__(self, last_exception):
        super().__init__("Max Retries Exceeded")
        self.last_exception = last_exception


def test_a_download_out_of_retries_is_described_by_its_last_error():
    error = describe_exception(RetriesExceededError(bex.ConnectionClosedError(endpoint_url="https://s3.example.test/")),
                               "download s3://b/o")
    assert error.message.startswith("Failed to download s3://b/o: the connection to the server was lost")
    assert "Max Retries Exceeded" not in error.message


def test_the_blocked_sse_c_hint_names_the_bucket_setting():
    message = describe_client_error(client_error(403, "AccessDenied", "Access Denied"), "upload", write=True).message
    for fragment in ("April 2026", "default encryption configuration", "PutBucketEncryption",
                     "aws s3api put-bucket-encryption", "s3:PutEncryptionConfiguration",
                     "BlockedEncryptionTypes set to NONE"):
        assert fragment in message


def test_403_on_a_delete_talks_about_neither_keys_nor_blocked_sse_c():
    message = describe_client_error(client_error(403, "AccessDenied", "Access Denied"), "delete s3://b/o",
                                    write=DELETE).message
    assert message.startswith("Failed to delete s3://b/o: Access Denied (HTTP 403).")
    assert "may delete objects in this bucket" in message
    assert "BlockedEncryptionTypes" not in message and "key" not in message


@pytest.mark.parametrize("error", [
    "[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)",
    "[SSL: RECORD_LAYER_FAILURE] record layer failure (_ssl.c:1000)",
    "[X509: NO_CERTIFICATE_OR_CRL_FOUND] no certificate or crl found (_ssl.c:4154)",
])
def test_tls_errors_that_are_not_about_the_certificate_do_not_blame_it(error):
    message = describe_exception(bex.SSLError(endpoint_url="https://127.0.0.1:8333", error=error), "upload").message
    assert "could not be verified" not in message
    assert "validate_certs" not in message


# ---- http_error: the one reader of an HTTP status and S3 error code ----
@pytest.mark.parametrize("status, code", [(404, None), (400, "InvalidArgument"), (501, "NotImplemented"), (500, "InternalError")])
def test_http_error_reads_status_and_code_of_a_client_error(status, code):
    assert http_error(client_error(status, code)) == (status, code)


def test_http_error_of_the_ssec_error_made_from_a_client_error_is_the_same():
    exc = client_error(403, "AccessDenied")
    assert http_error(describe_client_error(exc, "read")) == http_error(exc) == (403, "AccessDenied")


@pytest.mark.parametrize("exc", [
    bex.EndpointConnectionError(endpoint_url="https://x.test"),
    ConnectionError("reset"),
    SsecError("no HTTP answer"),
    bex.ClientError({}, "HeadObject"),
])
def test_http_error_is_none_without_an_http_answer(exc):
    assert http_error(exc) == (None, None)


def test_s3_errors_keeps_status_and_code_for_callers_that_branch_on_them():
    with pytest.raises(SsecError) as caught:
        with s3_errors("copy"):
            raise client_error(501, "NotImplemented", "Not implemented", "CopyObject")
    assert http_error(caught.value) == (501, "NotImplemented")
    assert caught.value.__context__ is None and caught.value.__cause__ is None

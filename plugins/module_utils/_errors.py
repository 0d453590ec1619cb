# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to the ssec.s3 collection, not a public API: it may change in any release.
"""The error boundary: one exception type, SDK errors translated, key material scrubbed.

Every key object registers the textual forms of its material here, so any
message that leaves the collection can be scrubbed, whatever produced it
(botocore's ParamValidationError, for one, prints parameter values).
"""

from __future__ import annotations

import base64
import contextlib

REDACTED = "********"
# The ``write`` of s3_errors for a DeleteObject: a write that carries no SSE-C key.
DELETE = "delete"
_secret_forms = set()


class SsecError(Exception):
    """The one exception the collection raises; its message is safe to show.

    ``result``: what a bulk task did before it failed (its lists and counts), returned with the failure.
    """

    def __init__(self, message, code=None, status=None, result=None):
        super().__init__(scrub(message))
        self.code = code
        self.status = status
        self.result = result or {}

    @property
    def message(self):
        return self.args[0]


def secret_forms(raw: bytes) -> set:
    """Every textual form in which key material might show up in a message."""
    b64 = base64.b64encode(raw)
    forms = {
        b64,
        base64.urlsafe_b64encode(raw),
        b64.rstrip(b"="),
        base64.urlsafe_b64encode(raw).rstrip(b"="),
        base64.b64encode(b64),
        raw.hex().encode(),
        raw.hex().upper().encode(),
        repr(raw)[2:-1].encode("ascii"),
    }
    texts = {form.decode("ascii") for form in forms}
    texts.add(raw.decode("latin-1"))
    return texts


def register_secret(raw: bytes) -> None:
    _secret_forms.update(secret_forms(raw))


def registered_secrets() -> frozenset:
    return frozenset(_secret_forms)


def scrub(text) -> str:
    """Replace every registered form of key material in ``text``."""
    text = str(text)
    for form in sorted(_secret_forms, key=len, reverse=True):
        if form in text:
            text = text.replace(form, REDACTED)
    return text


_TLS_HINT = (
    "The server's TLS certificate could not be verified. Set ca_bundle to the CA that signed it "
    "(or AWS_CA_BUNDLE); validate_certs: false also works but lets anyone on the path read the key."
)
_CREDENTIALS_HINT = (
    "Check access_key and secret_key (or AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, "
    "SCW_ACCESS_KEY / SCW_SECRET_KEY) and that they belong to this endpoint."
)
_SSE_C_BLOCKED_HINT = (
    "If this is an AWS bucket, SSE-C writes are blocked in it: since April 2026 new buckets block them by default, "
    "as do the existing buckets of accounts that held no SSE-C object. Allow them in the bucket's default "
    "encryption configuration: PutBucketEncryption (aws s3api put-bucket-encryption, permission "
    "s3:PutEncryptionConfiguration) with BlockedEncryptionTypes set to NONE in its rule. "
    "Otherwise check that the credentials may write to this bucket."
)
_CONNECTION_LOST_HINT = (
    "The server may have stopped or restarted, or something on the network cut the connection: check that the "
    "server is running and reachable, then run the task again."
)

# Error codes from the response body, when there is one.
_CODE_HINTS = {
    "NoSuchBucket": "The bucket does not exist: create it first or correct the bucket name.",
    "InvalidBucketName": "The bucket name is not valid for S3: use 3-63 lowercase letters, digits, dots or hyphens.",
    "InvalidAccessKeyId": "The access key is not known to the server. " + _CREDENTIALS_HINT,
    "SignatureDoesNotMatch": "The secret key does not match the access key. " + _CREDENTIALS_HINT,
    "ExpiredToken": "The session token has expired: refresh the credentials.",
    "SlowDown": "The server kept asking to slow down after all retries: retry later or raise retries.",
    "KeyTooLongError": ("The object name is too long for this server: S3 allows 1024 bytes of UTF-8 in all, some "
                        "servers less (SeaweedFS: 255 bytes for each '/'-separated part). Use a shorter name."),
    "InvalidStorageClass": "The server does not offer this storage class: check storage_class, or leave it out.",
}


def _http_hint(status, write):
    if status == 400:
        if write:
            # A write always carries the key: the refusal is about something else the task sent.
            return "The server refused the request as sent: check the task's options (storage_class, metadata, content_type)."
        return ("The server refused the request. If the object is SSE-C encrypted, the key is missing; "
                "if it is not encrypted, some servers refuse a key sent for it.")
    if status == 403:
        if write == DELETE:
            return "Access denied: check that the credentials may delete objects in this bucket."
        if write:
            return _SSE_C_BLOCKED_HINT
        return ("Access denied. For an SSE-C object this means the key is not the one it was "
                "encrypted with; otherwise " + _CREDENTIALS_HINT[0].lower() + _CREDENTIALS_HINT[1:])
    if status == 404:
        return "The bucket or object does not exist: check the names."
    if status == 501:
        return "The server does not implement this operation."
    if status is not None and status >= 500:
        return "The server failed after all retries: retry later, or raise retries."
    return None


def http_error(exc):
    """``(status, code)`` of a failed request: the HTTP status and the S3 error code, each None when unknown.

    The one reader of both, for a botocore ClientError and for the SsecError made from one; any other
    exception (a lost connection, a TLS failure) had no HTTP answer: ``(None, None)``.
    """
    if isinstance(exc, SsecError):
        return exc.status, exc.code
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return None, None
    return (response.get("ResponseMetadata") or {}).get("HTTPStatusCode"), (response.get("Error") or {}).get("Code")


def describe_client_error(exc, action, write=False) -> SsecError:
    """Turn a botocore ClientError into an SsecError saying what happened and what to do."""
    status, code = http_error(exc)
    detail = (exc.response.get("Error", {}).get("Message") or code or "").rstrip(".")
    hint = _CODE_HINTS.get(code) or _http_hint(status, write)
    message = "Failed to %s: %s (HTTP %s)." % (action, detail, status) if detail else \
        "Failed to %s (HTTP %s)." % (action, status)
    if hint:
        message += " " + hint
    return SsecError(message, code=code, status=status)


def describe_exception(exc, action, write=False) -> SsecError:
    """Translate any SDK or transport exception; unknown ones keep only their scrubbed text."""
    from botocore import exceptions as bex  # local: module_utils must import without boto3

    if isinstance(exc, SsecError):
        return exc
    if isinstance(exc, bex.ClientError):
        return describe_client_error(exc, action, write)
    if type(exc).__name__ == "RetriesExceededError" and getattr(exc, "last_exception", None) is not None:
        # s3transfer's wrapper after its own retries of a download: the last error says what went wrong.
        return describe_exception(exc.last_exception, action, write)
    if isinstance(exc, bex.SSLError) and not _is_certificate_problem(exc):
        # A connection cut inside TLS ("EOF occurred in violation of protocol") is no certificate problem.
        return SsecError("Failed to %s: the TLS connection broke before the server answered (%s). %s"
                         % (action, exc, _CONNECTION_LOST_HINT))
    if isinstance(exc, bex.SSLError) and _sign_in(exc, _NOT_TLS_SIGNS):
        return SsecError("Failed to %s: this port does not speak TLS (%s): the endpoint answered in plain text. "
                         "Check the port of endpoint_url: give the server's https port." % (action, exc))
    if isinstance(exc, bex.SSLError) and _sign_in(exc, ("no certificate or crl found",)):
        return SsecError("Failed to %s: the CA bundle in use holds no certificate (%s). Set ca_bundle (or "
                         "AWS_CA_BUNDLE) to the PEM file of the CA that signed the endpoint's certificate."
                         % (action, exc))
    if isinstance(exc, bex.SSLError):
        return SsecError("Failed to %s: TLS error (%s). %s" % (action, exc, _TLS_HINT))
    if isinstance(exc, bex.ReadTimeoutError):
        return SsecError("Failed to %s: the server did not answer in time (%s). Raise read_timeout or "
                         "retry later." % (action, exc))
    if isinstance(exc, (bex.ConnectionClosedError, bex.ResponseStreamingError, ConnectionError)) or \
            type(exc).__name__ in ("ProtocolError", "IncompleteRead", "IncompleteReadError"):
        return SsecError("Failed to %s: the connection to the server was lost in the middle of the transfer "
                         "(%s). %s" % (action, exc, _CONNECTION_LOST_HINT))
    if isinstance(exc, (bex.EndpointConnectionError, bex.ConnectTimeoutError)):
        return SsecError("Failed to %s: the endpoint could not be reached (%s). Check endpoint_url, "
                         "the network, and that the server is running." % (action, exc))
    if isinstance(exc, bex.NoCredentialsError):
        return SsecError("Failed to %s: no S3 credentials were found. %s" % (action, _CREDENTIALS_HINT))
    if isinstance(exc, bex.ParamValidationError):
        return SsecError("Failed to %s: invalid request parameters: %s" % (action, exc))
    return SsecError("Failed to %s: %s: %s" % (action, type(exc).__name__, exc))


# OpenSSL's words for a TLS handshake answered by a plain-http server.
_NOT_TLS_SIGNS = ("wrong version number", "packet length too long", "record layer failure")


def _sign_in(exc, signs) -> bool:
    text = str(exc).lower()
    return any(sign in text for sign in signs)


def _is_certificate_problem(exc) -> bool:
    return _sign_in(exc, ("certificate", "hostname", "doesn't match") + _NOT_TLS_SIGNS)


@contextlib.contextmanager
def s3_errors(action, write=False):
    """Run SDK calls; any failure leaves as one SsecError with a scrubbed message.

    ``write``: True for a request that writes with an SSE-C key (a 403 may be a bucket blocking SSE-C),
    DELETE for a DeleteObject (no key involved), false for a read.

    The original exception is not chained: its text and traceback may carry key material.
    """
    try:
        yield
    except SsecError:
        raise
    except Exception as exc:  # pylint: disable=broad-except
        error = describe_exception(exc, action, write)
    else:
        return
    # Raised here, the error would still get the original as __context__ (the with statement is
    # handling it), and a traceback would print it: drop the link once the raise has set it.
    try:
        raise error from None
    finally:
        error.__context__ = None

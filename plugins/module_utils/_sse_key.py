# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to the ssec.s3 collection, not a public API: it may change in any release.
"""SSE-C customer keys: parsing, fingerprints and the request parameters.

The one place that turns user input (base64 text, a key file in raw, base64
or hex form) into a key object. The key object never prints its material.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import string

from ansible_collections.ssec.s3.plugins.module_utils._errors import SsecError, register_secret

KEY_LENGTH = 32
ALGORITHM = "AES256"
_HEX_DIGITS = frozenset(string.hexdigits.encode())
_MD5_B64_LENGTH = 24
# Longer than any valid key file (64 hex digits plus line ends); a bigger file is reported by size.
MAX_KEY_FILE_SIZE = 4096


class InvalidKeyError(SsecError):
    """A key could not be read or does not have the right shape."""


def md5_b64(raw: bytes) -> str:
    """Base64 of the binary MD5 of raw key bytes: the SSE-C key fingerprint."""
    return base64.b64encode(hashlib.md5(raw, usedforsecurity=False).digest()).decode("ascii")


class CustomerKey:
    """A 32-byte SSE-C key. ``repr``/``str`` show only its MD5 fingerprint."""

    __slots__ = ("_raw", "md5")

    def __init__(self, raw: bytes):
        if not isinstance(raw, bytes) or len(raw) != KEY_LENGTH:
            raise InvalidKeyError("An SSE-C key must be exactly %d bytes." % KEY_LENGTH)
        self._raw = raw
        self.md5 = md5_b64(raw)
        register_secret(raw)

    @classmethod
    def generate(cls) -> CustomerKey:
        return cls(os.urandom(KEY_LENGTH))

    @property
    def raw(self) -> bytes:
        return self._raw

    @property
    def b64(self) -> str:
        return base64.b64encode(self._raw).decode("ascii")

    def request_params(self) -> dict:
        """Parameters for PUT/GET/HEAD/UploadPart, already encoded so botocore leaves them alone."""
        return {
            "SSECustomerAlgorithm": ALGORITHM,
            "SSECustomerKey": self.b64,
            "SSECustomerKeyMD5": self.md5,
        }

    def copy_source_params(self) -> dict:
        """Parameters naming this key as the key of a copy source."""
        return {"CopySource" + name: value for name, value in self.request_params().items()}

    def __eq__(self, other):
        return isinstance(other, CustomerKey) and hmac.compare_digest(self._raw, other._raw)

    def __hash__(self):
        return hash(self.md5)

    def __repr__(self):
        return "CustomerKey(md5=%s)" % self.md5

    __str__ = __repr__

    def __reduce__(self):
        raise TypeError("CustomerKey objects are not serialisable: they hold key material.")


def _decode_base64(text: bytes, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidKeyError(
            "%s is not valid base64 text. Give the base64 of 32 random bytes, "
            "for example the output of 'openssl rand -base64 32'." % what
        ) from None


def key_from_base64(text, what="sse_customer_key") -> CustomerKey:
    """Parse the base64 text form of a key (the form the S3 API uses)."""
    if isinstance(text, str):
        try:
            text = text.encode("ascii")
        except UnicodeEncodeError:
            text = b"\x00"  # any non-ASCII text is invalid base64; never echo it
    compact = b"".join(text.split())
    if len(compact) == 2 * KEY_LENGTH and all(c in _HEX_DIGITS for c in compact):
        # Valid base64 too (of 48 bytes), but surely a key written in hex.
        raise InvalidKeyError(
            "%s holds 64 hex digits, but it takes the base64 text of the key. Convert it with "
            "'xxd -r -p KEYFILE | base64', or give the file as sse_customer_key_file, which accepts hex." % what
        )
    raw = _decode_base64(compact, what)
    if len(raw) != KEY_LENGTH:
        raise InvalidKeyError(
            "%s decodes to %d bytes, but an SSE-C key is exactly %d bytes. "
            "Generate one with 'openssl rand -base64 32' or the ssec.s3.key module."
            % (what, len(raw), KEY_LENGTH)
        )
    return CustomerKey(raw)


def key_file_shape_problem(size) -> str:
    """Why ``size`` bytes cannot be a key file (the content itself is never described)."""
    return ("it holds %d bytes, which is neither a raw key (exactly %d bytes, as 'openssl rand -out FILE 32' "
            "writes), base64 text of 32 bytes, nor 64 hex digits" % (size, KEY_LENGTH))


def parse_key_file_bytes(data: bytes, what="the key file"):
    """Key file contents -> (key, format): 32 raw bytes, base64 text, or 64 hex digits."""
    if len(data) == KEY_LENGTH:
        return CustomerKey(data), "raw"
    text = b"".join(data.split())
    if len(text) == 2 * KEY_LENGTH and all(c in _HEX_DIGITS for c in text):
        return CustomerKey(bytes.fromhex(text.decode("ascii"))), "hex"
    try:
        return key_from_base64(text, what), "base64"
    except InvalidKeyError:
        raise InvalidKeyError(
            "%s is not an SSE-C key: %s. Point to the right file, or create a key with the ssec.s3.key module."
            % (what, key_file_shape_problem(len(data)))
        ) from None


def encode_key_file(key: CustomerKey, key_format: str) -> bytes:
    """The bytes of a key file in ``raw`` or ``base64`` format (base64 ends with a newline, like openssl)."""
    if key_format == "raw":
        return key.raw
    if key_format == "base64":
        return key.b64.encode("ascii") + b"\n"
    raise ValueError("unknown key file format %r" % key_format)


def read_key_file(path) -> CustomerKey:
    what = "Key file %s" % path
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_KEY_FILE_SIZE)
    except IsADirectoryError:
        raise InvalidKeyError("%s is a directory. Give the path of a key file." % what) from None
    except FileNotFoundError:
        raise InvalidKeyError("%s does not exist. Check the path, or create the key with the ssec.s3.key module." % what) from None
    except OSError as exc:
        raise InvalidKeyError("%s cannot be read (%s). Check its permissions." % (what, exc.strerror)) from None
    return parse_key_file_bytes(data, what)[0]


def check_md5(key: CustomerKey, expected_md5, what="sse_customer_key_md5") -> None:
    """Catch the wrong key before any request: compare with the fingerprint the user expects."""
    if expected_md5 is None:
        return
    expected = str(expected_md5).strip()
    if hmac.compare_digest(key.md5.encode(), expected.encode()):
        return
    if len(expected) != _MD5_B64_LENGTH:
        # Not a fingerprint at all (maybe a key pasted into the wrong option): never echo it.
        raise InvalidKeyError(
            "%s is not a key fingerprint: it should be the %d-character base64 of the key's MD5, as "
            "'openssl dgst -md5 -binary KEYFILE | base64' prints. The key given has MD5 %s."
            % (what, _MD5_B64_LENGTH, key.md5)
        )
    raise InvalidKeyError(
        "%s does not match the key: the key given has MD5 %s, but %s was expected. "
        "Use the key that belongs to this fingerprint, or correct %s." % (what, key.md5, expected, what)
    )


def register_key_material(text) -> bool:
    """Register ``text`` as a secret when it is the base64 (or base64url) or hex form of a 32-byte key.

    For options that are not no_log, such as ``sse_customer_key_md5``, where a key may be pasted by mistake:
    Ansible would otherwise echo it in the invocation. Returns whether it was key material.
    """
    compact = "".join(str(text).split())
    if len(compact) == 2 * KEY_LENGTH and all(c in string.hexdigits for c in compact):
        register_secret(bytes.fromhex(compact))
        return True
    try:
        padded = compact + "=" * (-len(compact) % 4)
        raw = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        return False
    if len(raw) != KEY_LENGTH:
        return False
    register_secret(raw)
    return True


def key_argument_spec(prefix="") -> dict:
    """The key option group; ``prefix='old_'`` builds the copy-source key options of rekey."""
    return {
        prefix + "sse_customer_key": {"type": "str", "no_log": True},
        prefix + "sse_customer_key_file": {"type": "path"},
        prefix + "sse_customer_key_md5": {"type": "str", "no_log": False},
        prefix + "sse_customer_algorithm": {"type": "str", "default": ALGORITHM, "choices": [ALGORITHM]},
    }


def key_mutually_exclusive(prefix="") -> list:
    return [[prefix + "sse_customer_key", prefix + "sse_customer_key_file"]]


def key_from_params(params: dict, prefix="", required=True):
    """The key the module parameters describe, or None when none is given and none is required."""
    text = params.get(prefix + "sse_customer_key")
    path = params.get(prefix + "sse_customer_key_file")
    if text is not None and path is not None:
        raise InvalidKeyError(
            "%ssse_customer_key and %ssse_customer_key_file are mutually exclusive: give only one."
            % (prefix, prefix)
        )
    if text is None and path is None:
        if required:
            raise InvalidKeyError(
                "An SSE-C key is required: set %ssse_customer_key (base64 text, e.g. from "
                "lookup('ssec.s3.key', PATH)) or %ssse_customer_key_file (a key file on the host)."
                % (prefix, prefix)
            )
        if params.get(prefix + "sse_customer_key_md5") is not None:
            raise InvalidKeyError(
                "%ssse_customer_key_md5 was given without a key: add %ssse_customer_key or "
                "%ssse_customer_key_file." % (prefix, prefix, prefix)
            )
        return None
    if text is not None:
        key = key_from_base64(text, prefix + "sse_customer_key")
    else:
        key = read_key_file(path)
    check_md5(key, params.get(prefix + "sse_customer_key_md5"), prefix + "sse_customer_key_md5")
    return key

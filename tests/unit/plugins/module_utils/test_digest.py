# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The sealed content digest kept in the ssec-sha256 user metadata."""

from __future__ import annotations

import base64
import hashlib
import os

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ansible_collections.ssec.s3.plugins.module_utils import _digest as digest
from ansible_collections.ssec.s3.plugins.module_utils._digest import DigestError, rotate, seal, unseal
from ansible_collections.ssec.s3.plugins.module_utils._errors import SsecError
from ansible_collections.ssec.s3.plugins.module_utils._sse_key import CustomerKey

KEY = CustomerKey(bytes(range(32)))
OTHER_KEY = CustomerKey(bytes(range(32, 64)))
HELLO_SHA256 = hashlib.sha256(b"hello").hexdigest()
# seal(KEY, HELLO_SHA256, nonce=bytes(12)), pinned: a change of the format breaks every stored digest.
HELLO_TOKEN = "v1.AAAAAAAAAAAAAAAAKhJg41mQWWZw7g7opR3dOxTzTxg81ZlcMTINcPagIgbGOlKLKKNXcidmAA34CrPN"


def test_metadata_name_is_the_documented_one():
    assert digest.METADATA_NAME == "ssec-sha256"


def test_known_answer_matches_an_independent_computation():
    # Derive the token here from the cryptography primitives, following the documented format:
    # "v1." + urlsafe base64 (no padding) of nonce || AES-GCM(HKDF-SHA256(key), sha256, AAD).
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=digest._HKDF_INFO).derive(KEY.raw)
    nonce = bytes(12)
    sealed = nonce + AESGCM(derived).encrypt(nonce, bytes.fromhex(HELLO_SHA256), digest._aad())
    expected = "v1." + base64.urlsafe_b64encode(sealed).decode().rstrip("=")

    assert seal(KEY, HELLO_SHA256, nonce=nonce) == expected


def test_known_answer_is_pinned():
    assert seal(KEY, HELLO_SHA256, nonce=bytes(12)) == HELLO_TOKEN
    assert unseal(KEY, HELLO_TOKEN) == HELLO_SHA256


def test_derivation_inputs_are_pinned():
    # Changing these silently would make every stored digest unreadable.
    assert digest._HKDF_INFO == b"ssec.s3 content digest v1"
    assert digest._aad() == b"ssec-sha256:v1"


@pytest.mark.parametrize("data", [b"", b"hello", os.urandom(1000)], ids=["empty", "hello", "random"])
def test_seal_unseal_round_trip(data):
    key = CustomerKey.generate()
    sha256 = hashlib.sha256(data).hexdigest()
    token = seal(key, sha256)
    assert token.startswith("v1.")
    assert unseal(key, token) == sha256


def test_unseal_accepts_uppercase_hex_input_and_surrounding_blanks():
    token = seal(KEY, HELLO_SHA256.upper())
    assert unseal(KEY, "  %s\n" % token) == HELLO_SHA256


def test_each_seal_uses_a_fresh_nonce():
    tokens = {seal(KEY, HELLO_SHA256) for _round in range(20)}
    assert len(tokens) == 20
    nonces = {base64.urlsafe_b64decode(token[3:] + "=" * (-len(token[3:]) % 4))[:12] for token in tokens}
    assert len(nonces) == 20
    assert all(unseal(KEY, token) == HELLO_SHA256 for token in tokens)


@pytest.mark.parametrize("data", [b"hello", b"", os.urandom(64)], ids=["hello", "empty", "random"])
def test_token_reveals_no_fingerprint_of_the_data(data):
    sha = hashlib.sha256(data)
    md5 = hashlib.md5(data)
    fingerprints = {
        "sha256-hex": sha.hexdigest(),
        "sha256-HEX": sha.hexdigest().upper(),
        "sha256-base64": base64.b64encode(sha.digest()).decode(),
        "sha256-base64url": base64.urlsafe_b64encode(sha.digest()).decode(),
        "sha256-base64url-unpadded": base64.urlsafe_b64encode(sha.digest()).decode().rstrip("="),
        "md5-hex": md5.hexdigest(),
        "md5-base64": base64.b64encode(md5.digest()).decode(),
        "md5-base64url-unpadded": base64.urlsafe_b64encode(md5.digest()).decode().rstrip("="),
    }
    for token in (seal(KEY, sha.hexdigest()), seal(KEY, sha.hexdigest(), nonce=bytes(12))):
        for name, fingerprint in fingerprints.items():
            assert fingerprint not in token, name
        # Nor the raw digest bytes inside the decoded body.
        body = base64.urlsafe_b64decode(token[3:] + "=" * (-len(token[3:]) % 4))
        assert sha.digest() not in body
        assert md5.digest() not in body


def test_wrong_key_does_not_open_the_digest():
    token = seal(KEY, HELLO_SHA256)
    with pytest.raises(DigestError) as info:
        unseal(OTHER_KEY, token)
    assert "does not open with this key" in info.value.message
    assert "sealed under another key or has been altered" in info.value.message


def test_rotate_reseals_under_the_new_key():
    token = seal(KEY, HELLO_SHA256)
    rotated = rotate(KEY, OTHER_KEY, token)
    assert rotated != token
    assert unseal(OTHER_KEY, rotated) == HELLO_SHA256
    with pytest.raises(DigestError):
        unseal(KEY, rotated)


def test_rotate_with_the_wrong_old_key_fails():
    token = seal(KEY, HELLO_SHA256)
    with pytest.raises(DigestError):
        rotate(OTHER_KEY, KEY, token)


def _flip(text, index, bit):
    return text[:index] + chr(ord(text[index]) ^ (1 << bit)) + text[index + 1:]


def test_flipping_any_bit_of_the_token_text_is_detected():
    token = seal(KEY, HELLO_SHA256)
    opened = []
    for index in range(len(token)):
        for bit in range(8):
            tampered = _flip(token, index, bit)
            try:
                result = unseal(KEY, tampered)
            except DigestError:
                continue
            opened.append((index, bit, tampered, result))
    assert not opened


def test_flipping_any_bit_of_the_sealed_bytes_is_detected():
    token = seal(KEY, HELLO_SHA256)
    sealed = base64.urlsafe_b64decode(token[3:] + "=" * (-len(token[3:]) % 4))
    assert len(sealed) == 12 + 32 + 16
    for index in range(len(sealed)):
        for bit in range(8):
            tampered = bytearray(sealed)
            tampered[index] ^= 1 << bit
            text = "v1." + base64.urlsafe_b64encode(bytes(tampered)).decode().rstrip("=")
            with pytest.raises(DigestError, match="does not open with this key"):
                unseal(KEY, text)


BROKEN_TOKENS = [
    pytest.param(HELLO_TOKEN[:-1], "wrong length: it has been altered", id="truncated-by-one"),
    pytest.param(HELLO_TOKEN[:-4], "wrong length: it has been altered", id="truncated-by-four"),
    pytest.param(HELLO_TOKEN[:3 + 16], "wrong length: it has been altered", id="nonce-only"),
    pytest.param(HELLO_TOKEN + "AAAA", "wrong length: it has been altered", id="extended"),
    pytest.param(HELLO_TOKEN[:-1] + "é", "not valid base64: it has been altered", id="non-ascii"),
    pytest.param("v1.A", "not valid base64: it has been altered", id="impossible-base64-length"),
    pytest.param("v1.", "unknown format", id="empty-body"),
    pytest.param("v1", "unknown format", id="no-separator"),
    pytest.param("", "unknown format", id="empty"),
    pytest.param("v2." + HELLO_TOKEN[3:], "unknown format (v2)", id="future-version"),
    pytest.param("V1." + HELLO_TOKEN[3:], "unknown format (V1)", id="version-case"),
    pytest.param(HELLO_TOKEN[3:], "unknown format", id="no-version"),
    pytest.param(HELLO_SHA256, "unknown format", id="plaintext-sha256"),
]


@pytest.mark.parametrize("token, problem", BROKEN_TOKENS)
def test_broken_tokens_raise_digest_error(token, problem):
    with pytest.raises(DigestError) as info:
        unseal(KEY, token)
    assert problem in info.value.message
    assert isinstance(info.value, SsecError)


def test_unknown_version_message_does_not_echo_a_long_prefix():
    with pytest.raises(DigestError) as info:
        unseal(KEY, HELLO_SHA256 + "." + HELLO_TOKEN[3:])
    assert HELLO_SHA256 not in info.value.message
    assert "was not written by this version of ssec.s3" in info.value.message


@pytest.mark.parametrize("sha256_hex", ["", "00" * 31, "00" * 33])
def test_seal_refuses_anything_but_a_sha256(sha256_hex):
    with pytest.raises(ValueError):
        seal(KEY, sha256_hex)


def test_seal_refuses_non_hex_text():
    with pytest.raises(ValueError):
        seal(KEY, "z" * 64)

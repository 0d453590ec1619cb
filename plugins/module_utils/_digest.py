# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to the ssec.s3 collection, not a public API: it may change in any release.
"""The encrypted content digest stored in ``x-amz-meta-ssec-sha256``.

S3 user metadata is not encrypted by SSE-C, so the plaintext SHA-256 is sealed
with AES-GCM under a key derived from the SSE-C key: whoever holds the key can
compare an object with a local file without reading data; the storage operator
sees only ciphertext. Format: ``v1.`` + urlsafe base64 (no padding) of
nonce (12 bytes) || ciphertext of the 32-byte digest || GCM tag (16 bytes).
"""

from __future__ import annotations

import base64
import binascii
import os

from ansible_collections.ssec.s3.plugins.module_utils._errors import SsecError

METADATA_NAME = "ssec-sha256"
_VERSION = "v1"
_HKDF_INFO = b"ssec.s3 content digest v1"
_NONCE_LENGTH = 12
_DIGEST_LENGTH = 32


class DigestError(SsecError):
    """A stored digest cannot be opened: another key, tampering, or an unknown format."""


# CustomerKey -> the AEAD of its digest key: derived once per key and run, not once per object of a sync.
_AEADS = {}


def _aead(key):
    aead = _AEADS.get(key)
    if aead is None:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        from cryptography.hazmat.primitives.kdf.hkdf import HKDF

        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(key.raw)
        aead = _AEADS[key] = AESGCM(derived)
    return aead


def _aad():
    # Binds the ciphertext to its purpose and version, so it cannot be replayed as another field.
    return (METADATA_NAME + ":" + _VERSION).encode("ascii")


def seal(key, sha256_hex, nonce=None) -> str:
    """Encrypt a plaintext SHA-256 (hex) under ``key``; ``nonce`` is for known-answer tests only."""
    digest = bytes.fromhex(sha256_hex)
    if len(digest) != _DIGEST_LENGTH:
        raise ValueError("a SHA-256 digest is 32 bytes")
    nonce = os.urandom(_NONCE_LENGTH) if nonce is None else nonce
    sealed = nonce + _aead(key).encrypt(nonce, digest, _aad())
    return _VERSION + "." + base64.urlsafe_b64encode(sealed).decode("ascii").rstrip("=")


def unseal(key, token) -> str:
    """The plaintext SHA-256 (hex) sealed in ``token``; DigestError if this key did not seal it."""
    from cryptography.exceptions import InvalidTag

    version, _sep, body = str(token).strip().partition(".")
    if version != _VERSION or not body:
        raise DigestError("The stored content digest has an unknown format (%s): it was not written "
                          "by this version of ssec.s3." % version[:8])
    try:
        sealed = base64.b64decode(body + "=" * (-len(body) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise DigestError("The stored content digest is not valid base64: it has been altered.") from None
    if len(sealed) != _NONCE_LENGTH + _DIGEST_LENGTH + 16:
        raise DigestError("The stored content digest has the wrong length: it has been altered.")
    nonce, ciphertext = sealed[:_NONCE_LENGTH], sealed[_NONCE_LENGTH:]
    try:
        return _aead(key).decrypt(nonce, ciphertext, _aad()).hex()
    except InvalidTag:
        raise DigestError("The stored content digest does not open with this key: it was sealed "
                          "under another key or has been altered.") from None


def rotate(old_key, new_key, token) -> str:
    """Re-seal a digest under a new key (key rotation reads no object data)."""
    return seal(new_key, unseal(old_key, token))

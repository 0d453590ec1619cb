# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Key inputs parse to the same 32 bytes as openssl reads, or are refused up front without key material.

Generated key inputs (raw bytes, base64 and base64url with whitespace and newlines, with and without padding,
hex, wrong lengths, unicode, arbitrary text) go to ssec.s3.object_info as ``sse_customer_key`` (text) or
``sse_customer_key_file`` (a file). Accepted: the fingerprint it reports is the MD5 of the bytes openssl
decodes (``openssl base64 -d -A`` of the text without whitespace; 64 hex digits in a file, a 32-byte file as
it is). Every input that strictly is one of the documented forms must be accepted. Refused: no request was
made, and neither the message nor anything else in the result holds the input or any form of its bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import string
import subprocess

from conftest import budget, key_material_forms, run_module
from hypothesis import given
from strategies import key_inputs


ASCII_SPACE = frozenset(" \t\n\r\x0b\x0c")


def openssl_base64(text):
    done = subprocess.run(["openssl", "base64", "-d", "-A"], input=text.encode(), capture_output=True, check=False)
    return done.stdout


def reference(form, value):
    """(bytes openssl reads or the file holds, whether the input is strictly one of the documented forms)."""
    if form == "file" and len(value) == 32:
        return value, True
    text = value.decode("utf-8", "replace") if form == "file" else value
    # ASCII whitespace only, as openssl skips it: a no-break space or another Unicode space is not.
    compact = "".join(char for char in text if char not in ASCII_SPACE)
    if len(compact) == 64 and all(char in string.hexdigits for char in compact):
        # Hex is a documented form of key files only; as sse_customer_key it is refused (it is base64 too).
        return (bytes.fromhex(compact), True) if form == "file" else (None, False)
    try:
        strict = base64.b64decode(compact, validate=True) if compact.isascii() else None
    except (binascii.Error, ValueError):
        strict = None
    return openssl_base64(compact) if compact.isascii() else None, strict is not None and len(strict) == 32


@budget(2)
@given(key_input=key_inputs())
def test_key_inputs_parse_like_openssl_or_are_refused_cleanly(service, counter, tmp_path_factory, key_input):
    form, value = key_input
    task = dict(service.connection(), bucket=service.bucket, object=service.new_prefix() + "absent")
    if form == "text":
        task["sse_customer_key"] = value
    else:
        path = tmp_path_factory.mktemp("key") / "key"
        path.write_bytes(value)
        task["sse_customer_key_file"] = str(path)
    expected, valid = reference(form, value)

    result = run_module("object_info", task)
    if not result.get("failed"):
        assert expected is not None and len(expected) == 32, "accepted %s input that openssl does not read as a key: %r" % (form, value)
        assert result["sse_customer_key_md5"] == base64.b64encode(hashlib.md5(expected).digest()).decode(), (
            "the key taken from %s input %r is not the one openssl reads" % (form, value))
        return

    assert not valid, "a valid %s key input was refused: %r -> %s" % (form, value, result.get("msg"))
    before = counter.accepted
    run_module("object_info", dict(task, **service.connection(counter.url)))
    assert counter.accepted == before, "a refused key was refused only after a request: %s" % result.get("msg")
    shown = json.dumps(result, ensure_ascii=False)
    forms = set()
    for material in (expected, value if isinstance(value, bytes) else None):
        if material and len(material) >= 8:
            forms |= key_material_forms(material)
    compact = "".join(char for char in (value if isinstance(value, str) else value.decode("latin-1"))
                      if char not in ASCII_SPACE)
    if len(compact) >= 12:
        forms.add(compact)
    leaked = sorted(len(material) for material in forms if len(material) >= 8 and material in shown)
    assert not leaked, "the refusal shows key material (forms of %r characters): %s" % (leaked, result.get("msg"))

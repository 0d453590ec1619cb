# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parsing SSE-C keys, their fingerprint, the request parameters, and keeping the key out of text."""

from __future__ import annotations

import base64
import hashlib
import os
import pickle
import shutil
import subprocess

import pytest

from ansible_collections.ssec.s3.plugins.module_utils._errors import SsecError
from ansible_collections.ssec.s3.plugins.module_utils._errors import registered_secrets
from ansible_collections.ssec.s3.plugins.module_utils._sse_key import (
    register_key_material,
    CustomerKey,
    InvalidKeyError,
    check_md5,
    encode_key_file,
    key_from_base64,
    key_from_params,
    md5_b64,
    parse_key_file_bytes,
    read_key_file,
)

# A key whose base64 has '+', '/' and '=' (so urlsafe and unpadded forms differ) and whose
# bytes repr has escapes: every textual form of it is distinct.
RAW = b"\xfb\xef\xbe\xff\xff\xff" + bytes(range(0x80, 0x8B)) + b"\x00'\"\\\n ssec.s3!?"
assert len(RAW) == 32


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def expected_md5(raw: bytes) -> str:
    return b64(hashlib.md5(raw).digest())


# --- parsing -------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "contents, key_format",
    [
        pytest.param(RAW, "raw", id="raw-32-bytes"),
        pytest.param(b64(RAW).encode(), "base64", id="base64-no-newline"),
        pytest.param(b64(RAW).encode() + b"\n", "base64", id="base64-newline"),
        pytest.param(b64(RAW).encode() + b"\r\n", "base64", id="base64-crlf"),
        pytest.param(b"  " + b64(RAW).encode() + b"\n\n", "base64", id="base64-surrounding-blanks"),
        pytest.param(b64(RAW)[:20].encode() + b"\n" + b64(RAW)[20:].encode() + b"\n", "base64",
                     id="base64-wrapped"),
        pytest.param(RAW.hex().encode(), "hex", id="hex-lower"),
        pytest.param(RAW.hex().upper().encode() + b"\n", "hex", id="hex-upper-newline"),
        pytest.param(RAW.hex()[:32].encode() + b"\n" + RAW.hex()[32:].encode() + b"\r\n", "hex",
                     id="hex-split-lines"),
    ],
)
def test_key_file_forms_parse_to_the_same_key(contents, key_format):
    key, found_format = parse_key_file_bytes(contents)
    assert found_format == key_format
    assert key.raw == RAW


@pytest.mark.parametrize("raw", [b"A" * 32, b"\n" * 16 + b" " * 16, b"0123456789abcdef" * 2])
def test_any_32_byte_file_is_a_raw_key_even_if_it_looks_like_text(raw):
    key, key_format = parse_key_file_bytes(raw)
    assert key_format == "raw"
    assert key.raw == raw


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(b64(RAW), id="plain"),
        pytest.param(b64(RAW) + "\n", id="newline"),
        pytest.param("\t " + b64(RAW) + " \r\n", id="blanks"),
        pytest.param(b64(RAW)[:10] + "\n" + b64(RAW)[10:], id="inner-newline"),
        pytest.param(b64(RAW).encode(), id="bytes"),
    ],
)
def test_base64_text_tolerates_whitespace(text):
    assert key_from_base64(text).raw == RAW


WRONG_KEY_FILES = [
    pytest.param(os.urandom(16), id="raw-16-bytes"),
    pytest.param(os.urandom(31), id="raw-31-bytes"),
    pytest.param(os.urandom(33), id="raw-33-bytes"),
    pytest.param(RAW + b"\n", id="raw-key-plus-newline"),
    pytest.param(b64(os.urandom(16)).encode() + b"\n", id="base64-of-16-bytes"),
    pytest.param(b64(os.urandom(33)).encode() + b"\n", id="base64-of-33-bytes"),
    pytest.param(os.urandom(31).hex().encode() + b"\n", id="hex-62-digits"),
    pytest.param(os.urandom(33).hex().encode() + b"\n", id="hex-66-digits"),
    pytest.param(RAW.hex()[:-1].encode() + b"g\n", id="hex-with-a-non-hex-digit"),
    pytest.param(base64.urlsafe_b64encode(RAW) + b"\n", id="urlsafe-base64"),
    pytest.param(b"", id="empty"),
    pytest.param("clé secrète, 32 octets ou plus!!".encode("utf-8"), id="non-ascii-text"),
]


@pytest.mark.parametrize("contents", WRONG_KEY_FILES)
def test_wrong_key_file_contents_say_what_is_wrong_and_what_to_do(contents, assert_no_key_material):
    with pytest.raises(InvalidKeyError) as info:
        parse_key_file_bytes(contents, "Key file /etc/ssec.key")
    message = info.value.message
    assert "Key file /etc/ssec.key is not an SSE-C key: it holds %d bytes" % len(contents) in message
    assert "neither a raw key (exactly 32 bytes" in message
    assert "base64 text of 32 bytes" in message and "64 hex digits" in message
    assert "create a key with the ssec.s3.key module" in message
    assert_no_key_material(message, contents)
    assert_no_key_material(message, b"".join(contents.split()))


WRONG_KEY_TEXTS = [
    pytest.param(b64(os.urandom(16)), "decodes to 16 bytes, but an SSE-C key is exactly 32 bytes", id="16-bytes"),
    pytest.param(b64(os.urandom(31)), "decodes to 31 bytes", id="31-bytes"),
    pytest.param(b64(os.urandom(33)), "decodes to 33 bytes", id="33-bytes"),
    pytest.param(b64(RAW)[:-1], "is not valid base64 text", id="missing-padding"),
    pytest.param(base64.urlsafe_b64encode(RAW).decode(), "is not valid base64 text", id="urlsafe"),
    pytest.param("not a key at all!", "is not valid base64 text", id="punctuation"),
    pytest.param("é" * 44, "is not valid base64 text", id="non-ascii"),
    pytest.param(b64(RAW)[:-2] + "ß=", "is not valid base64 text", id="one-non-ascii-character"),
    pytest.param("", "decodes to 0 bytes", id="empty"),
]


@pytest.mark.parametrize("text, problem", WRONG_KEY_TEXTS)
def test_wrong_key_text_says_what_is_wrong_and_what_to_do(text, problem, assert_no_key_material):
    with pytest.raises(InvalidKeyError) as info:
        key_from_base64(text, "sse_customer_key")
    message = info.value.message
    assert message.startswith("sse_customer_key ")
    assert problem in message
    assert "openssl rand -base64 32" in message
    # The rejected text itself is never echoed, nor any form of what it decodes to.
    if text:
        assert text not in message
    assert_no_key_material(message, text.encode("utf-8"))


@pytest.mark.parametrize("text", [RAW.hex(), RAW.hex().upper(), RAW.hex()[:32] + "\n" + RAW.hex()[32:]])
def test_a_hex_key_given_as_base64_is_recognised(text, assert_no_key_material):
    with pytest.raises(InvalidKeyError) as info:
        key_from_base64(text, "sse_customer_key")
    message = info.value.message
    assert "sse_customer_key holds 64 hex digits" in message and "sse_customer_key_file" in message
    assert_no_key_material(message, RAW)


def test_customer_key_rejects_anything_but_32_bytes():
    for bad in (b"", bytes(31), bytes(33), b64(RAW), bytearray(RAW)):
        with pytest.raises(InvalidKeyError, match="exactly 32 bytes"):
            CustomerKey(bad)


def test_generated_keys_are_random_32_byte_keys():
    keys = {CustomerKey.generate().raw for _round in range(8)}
    assert len(keys) == 8
    assert all(len(raw) == 32 for raw in keys)


def test_encode_key_file_round_trips_in_both_formats():
    key = CustomerKey(RAW)
    assert encode_key_file(key, "raw") == RAW
    assert encode_key_file(key, "base64") == b64(RAW).encode() + b"\n"
    for key_format in ("raw", "base64"):
        assert parse_key_file_bytes(encode_key_file(key, key_format)) == (key, key_format)
    with pytest.raises(ValueError):
        encode_key_file(key, "hex")


# --- fingerprint ---------------------------------------------------------------------------

def test_md5_is_base64_of_the_binary_md5_of_the_raw_key():
    key = CustomerKey(RAW)
    assert key.md5 == md5_b64(RAW) == expected_md5(RAW)
    # The classic mistake: the MD5 of the base64 text.
    assert key.md5 != expected_md5(b64(RAW).encode())


@pytest.mark.skipif(not (shutil.which("openssl") and shutil.which("base64")), reason="needs openssl and base64")
def test_md5_matches_openssl_on_a_key_file_written_by_openssl(tmp_path):
    path = tmp_path / "ssec.key"
    subprocess.run(["openssl", "rand", "-out", str(path), "32"], check=True)
    # Exactly the line users copy today: KEY_DIGEST=$(openssl dgst -md5 -binary ssec.key | base64)
    shell_md5 = subprocess.run(
        ["sh", "-c", 'openssl dgst -md5 -binary "$1" | base64', "sh", str(path)],
        check=True, capture_output=True, text=True,
    )
    key = read_key_file(str(path))
    assert key.raw == path.read_bytes()
    assert key.md5 == shell_md5.stdout.strip()


@pytest.mark.skipif(not shutil.which("openssl"), reason="needs openssl")
def test_base64_text_from_openssl_rand_is_accepted():
    text = subprocess.run(["openssl", "rand", "-base64", "32"], check=True, capture_output=True, text=True).stdout
    key = key_from_base64(text)
    assert key.b64 == text.strip()


def test_check_md5_accepts_the_matching_fingerprint_and_none():
    key = CustomerKey(RAW)
    check_md5(key, None)
    check_md5(key, expected_md5(RAW))
    check_md5(key, "  %s\n" % expected_md5(RAW))


def test_check_md5_mismatch_names_both_fingerprints_and_the_fix(assert_no_key_material):
    key = CustomerKey(RAW)
    wrong = expected_md5(b"another key".ljust(32, b"."))
    with pytest.raises(InvalidKeyError) as info:
        check_md5(key, wrong, "old_sse_customer_key_md5")
    message = info.value.message
    assert "old_sse_customer_key_md5 does not match the key" in message
    assert "has MD5 %s" % key.md5 in message
    assert "but %s was expected" % wrong in message
    assert "Use the key that belongs to this fingerprint, or correct old_sse_customer_key_md5" in message
    assert_no_key_material(message, RAW)


def test_check_md5_of_the_base64_text_is_a_mismatch():
    key = CustomerKey(RAW)
    with pytest.raises(InvalidKeyError, match="does not match the key"):
        check_md5(key, expected_md5(b64(RAW).encode()))


# --- request parameters --------------------------------------------------------------------

def test_request_params_are_base64_key_and_base64_md5_of_the_raw_key():
    assert CustomerKey(RAW).request_params() == {
        "SSECustomerAlgorithm": "AES256",
        "SSECustomerKey": b64(RAW),
        "SSECustomerKeyMD5": expected_md5(RAW),
    }


def test_copy_source_params_name_the_same_key_as_copy_source():
    assert CustomerKey(RAW).copy_source_params() == {
        "CopySourceSSECustomerAlgorithm": "AES256",
        "CopySourceSSECustomerKey": b64(RAW),
        "CopySourceSSECustomerKeyMD5": expected_md5(RAW),
    }


class _Sent(Exception):
    """Stops a request at the moment it would be sent."""


def _headers_sent(operation, **params):
    """The HTTP headers botocore would send for ``operation`` (nothing leaves the process)."""
    import boto3

    client = boto3.client("s3", region_name="us-east-1", endpoint_url="https://s3.example.test",
                          aws_access_key_id="x", aws_secret_access_key="y")
    captured = {}

    def capture(request, **kwargs):
        captured.update({name.lower(): value for name, value in request.headers.items()})
        raise _Sent()

    client.meta.events.register("before-send.s3.*", capture)
    with pytest.raises(_Sent):
        getattr(client, operation)(**params)
    return {name: (value.decode() if isinstance(value, bytes) else value) for name, value in captured.items()}


def test_botocore_sends_request_params_unchanged(no_network):
    key = CustomerKey(RAW)
    headers = _headers_sent("put_object", Bucket="b", Key="k", Body=b"data", **key.request_params())
    assert headers["x-amz-server-side-encryption-customer-algorithm"] == "AES256"
    assert headers["x-amz-server-side-encryption-customer-key"] == b64(RAW)
    assert headers["x-amz-server-side-encryption-customer-key-md5"] == expected_md5(RAW)


def test_botocore_sends_copy_source_params_unchanged(no_network):
    old, new = CustomerKey(RAW), CustomerKey(bytes(range(100, 132)))
    headers = _headers_sent("copy_object", Bucket="b", Key="k", CopySource={"Bucket": "b", "Key": "k"},
                            MetadataDirective="REPLACE", **old.copy_source_params(), **new.request_params())
    assert headers["x-amz-copy-source-server-side-encryption-customer-key"] == old.b64
    assert headers["x-amz-copy-source-server-side-encryption-customer-key-md5"] == old.md5
    assert headers["x-amz-server-side-encryption-customer-key"] == new.b64
    assert headers["x-amz-server-side-encryption-customer-key-md5"] == new.md5


# --- the key never shows up in text --------------------------------------------------------

def _renderings(key):
    """(how, text, the exact text expected): nothing but the fingerprint may show."""
    shown = "CustomerKey(md5=%s)" % key.md5
    yield "repr", repr(key), shown
    yield "str", str(key), shown
    yield "format", format(key), shown
    yield "format-empty-spec", format(key, ""), shown
    yield "str.format", "{0} {0!r} {0!s} {0!a}".format(key), " ".join([shown] * 4)
    yield "f-string", f"{key} {key!r} {key!s} {key!a} {key=}", " ".join([shown] * 4 + ["key=" + shown])
    yield "percent", "%s %r %a" % (key, key, key), " ".join([shown] * 3)
    yield "container", repr([key, (key,), {"key": key}]), "[%s, (%s,), {'key': %s}]" % (shown, shown, shown)


@pytest.mark.parametrize("raw", [RAW, bytes(range(32)), os.urandom(32)], ids=["fixed", "range", "random"])
def test_text_renderings_show_only_the_fingerprint(raw, assert_no_key_material):
    key = CustomerKey(raw)
    assert key.md5 == expected_md5(raw)
    for how, text, expected in _renderings(key):
        assert text == expected, how
        assert_no_key_material(text, raw)


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_a_key_cannot_be_pickled(protocol, assert_no_key_material):
    with pytest.raises(TypeError) as info:
        pickle.dumps(CustomerKey(RAW), protocol=protocol)
    assert "not serialisable" in str(info.value)
    assert_no_key_material(str(info.value), RAW)


def test_a_key_inside_a_structure_cannot_be_pickled():
    with pytest.raises(TypeError):
        pickle.dumps({"params": [CustomerKey(RAW)]})


def test_keys_compare_by_material_and_hash_by_fingerprint():
    assert CustomerKey(RAW) == CustomerKey(bytes(RAW))
    assert CustomerKey(RAW) != CustomerKey(bytes(32))
    assert CustomerKey(RAW) != b64(RAW)
    assert len({CustomerKey(RAW), CustomerKey(bytes(RAW))}) == 1


# --- key_from_params -------------------------------------------------------------------------

def _params(prefix="", **values):
    names = ("sse_customer_key", "sse_customer_key_file", "sse_customer_key_md5")
    params = {prefix + name: None for name in names}
    params[prefix + "sse_customer_algorithm"] = "AES256"
    params.update({prefix + name: value for name, value in values.items()})
    return params


@pytest.fixture
def key_file(tmp_path):
    path = tmp_path / "ssec.key"
    path.write_bytes(RAW)
    return str(path)


@pytest.mark.parametrize("prefix", ["", "old_"])
def test_key_from_params_reads_text_or_file(prefix, key_file):
    assert key_from_params(_params(prefix, sse_customer_key=b64(RAW)), prefix).raw == RAW
    assert key_from_params(_params(prefix, sse_customer_key_file=key_file), prefix).raw == RAW
    assert key_from_params(
        _params(prefix, sse_customer_key=b64(RAW), sse_customer_key_md5=expected_md5(RAW)), prefix
    ).raw == RAW


def test_key_from_params_with_a_prefix_ignores_the_other_group(key_file):
    other = b64(bytes(range(32)))
    params = dict(_params("old_", sse_customer_key=b64(RAW)), **_params(sse_customer_key=other))
    assert key_from_params(params, "old_").raw == RAW
    assert key_from_params(params).raw == bytes(range(32))


@pytest.mark.parametrize("prefix", ["", "old_"])
def test_key_from_params_without_any_key(prefix):
    assert key_from_params(_params(prefix), prefix, required=False) is None


@pytest.mark.parametrize("prefix", ["", "old_"])
@pytest.mark.parametrize(
    "values, required, expected",
    [
        pytest.param(
            {"sse_customer_key": b64(RAW), "sse_customer_key_file": "KEYFILE"}, True,
            ["{p}sse_customer_key and {p}sse_customer_key_file are mutually exclusive", "give only one"],
            id="both",
        ),
        pytest.param(
            {}, True,
            ["An SSE-C key is required", "set {p}sse_customer_key (base64 text",
             "or {p}sse_customer_key_file (a key file"],
            id="neither",
        ),
        pytest.param(
            {"sse_customer_key_md5": expected_md5(RAW)}, True,
            ["An SSE-C key is required", "set {p}sse_customer_key"],
            id="md5-only-required",
        ),
        pytest.param(
            {"sse_customer_key_md5": expected_md5(RAW)}, False,
            ["{p}sse_customer_key_md5 was given without a key",
             "add {p}sse_customer_key or {p}sse_customer_key_file"],
            id="md5-only-optional",
        ),
        pytest.param(
            {"sse_customer_key": b64(RAW), "sse_customer_key_md5": expected_md5(b64(RAW).encode())}, True,
            ["{p}sse_customer_key_md5 does not match the key", "correct {p}sse_customer_key_md5"],
            id="md5-mismatch",
        ),
        pytest.param(
            {"sse_customer_key": b64(RAW[:16])}, True,
            ["{p}sse_customer_key decodes to 16 bytes", "openssl rand -base64 32"],
            id="short-text",
        ),
        pytest.param(
            {"sse_customer_key_file": "MISSING"}, True,
            ["Key file MISSING does not exist", "Check the path, or create the key with the ssec.s3.key module"],
            id="missing-file",
        ),
        pytest.param(
            {"sse_customer_key_file": "DIRECTORY"}, True,
            ["Key file DIRECTORY is a directory", "Give the path of a key file"],
            id="directory",
        ),
        pytest.param(
            {"sse_customer_key_file": "SHORTFILE"}, True,
            ["Key file SHORTFILE is not an SSE-C key: it holds 16 bytes", "create a key with the ssec.s3.key module"],
            id="short-file",
        ),
    ],
)
def test_key_from_params_errors_name_the_problem_and_the_fix(
    prefix, values, required, expected, tmp_path, key_file, assert_no_key_material
):
    (tmp_path / "short.key").write_bytes(RAW[:16])
    paths = {
        "KEYFILE": key_file,
        "MISSING": str(tmp_path / "missing.key"),
        "DIRECTORY": str(tmp_path),
        "SHORTFILE": str(tmp_path / "short.key"),
    }
    values = {name: paths.get(value, value) for name, value in values.items()}
    with pytest.raises(InvalidKeyError) as info:
        key_from_params(_params(prefix, **values), prefix, required=required)
    message = info.value.message
    for fragment in expected:
        fragment = fragment.format(p=prefix)
        for placeholder, path in paths.items():
            fragment = fragment.replace(placeholder, path)
        assert fragment in message
    if not prefix:
        assert "old_" not in message
    assert_no_key_material(message, RAW)
    assert_no_key_material(message, RAW[:16])


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_key_file_names_permissions(key_file):
    os.chmod(key_file, 0)
    with pytest.raises(InvalidKeyError) as info:
        read_key_file(key_file)
    assert "Key file %s cannot be read" % key_file in info.value.message
    assert "Check its permissions" in info.value.message


def test_invalid_key_error_is_an_ssec_error():
    assert issubclass(InvalidKeyError, SsecError)


@pytest.mark.parametrize("form", [
    lambda raw: base64.b64encode(raw).decode(),
    lambda raw: base64.urlsafe_b64encode(raw).decode().rstrip("="),
    lambda raw: raw.hex(),
    lambda raw: " %s\n" % base64.b64encode(raw).decode(),
], ids=["base64", "base64url-unpadded", "hex", "base64-with-whitespace"])
def test_a_key_pasted_into_a_fingerprint_option_is_registered_as_secret(form):
    raw = os.urandom(32)
    assert register_key_material(form(raw)) is True
    assert base64.b64encode(raw).decode() in registered_secrets()


@pytest.mark.parametrize("text", [
    base64.b64encode(hashlib.md5(b"x").digest()).decode(),  # a real fingerprint stays visible
    "not a key at all",
    base64.b64encode(os.urandom(31)).decode(),
], ids=["md5-fingerprint", "text", "31-bytes"])
def test_fingerprints_and_other_text_are_not_registered(text):
    before = registered_secrets()
    assert register_key_material(text) is False
    assert registered_secrets() == before

# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Interoperability with the tools people use today for SSE-C: the aws cli and rclone.

Objects go both ways between those clients and the collection's modules,
against each real S3 server selected by SSEC_BACKENDS (SeaweedFS and Ceph RGW,
over TLS) with the same 32-byte key:
- written by ``aws s3api put-object``, ``aws s3 cp --sse-c`` or ``rclone``
  (no content digest of ours): downloaded by ``ssec.s3.download`` and
  recognised as unchanged by ``ssec.s3.object``;
- written by ``ssec.s3.object`` (single and multipart): read back byte for byte
  by the aws cli and rclone, and refused without the key;
- the digest ``ssec.s3.object`` stores in the user metadata reveals nothing
  about the content to whoever reads the metadata without the key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import math
import re
import uuid

import pytest

from playbook import (
    Key,
    aws,
    aws_sse_c_args,
    open_multipart_uploads,
    random_file,
    rclone,
    run_tasks,
    sha256_file,
)

MIB = 1024 * 1024
DIGEST_METADATA = "ssec-sha256"
RCLONE_MD5_METADATA = "md5chksum"


@pytest.fixture(scope="module")
def s3service(backend_service):
    """Every test of this file runs once per selected backend (conftest.py, SSEC_BACKENDS)."""
    return backend_service


def _object_name(label):
    return "interop/%s-%s" % (label, uuid.uuid4().hex[:12])


def _head(service, bucket, name, key):
    """HEAD with the key, by boto3 directly: the raw metadata as the server keeps it."""
    return service.client().head_object(Bucket=bucket, Key=name, **key.boto3_params())


def _get(service, bucket, name, key):
    return service.client().get_object(Bucket=bucket, Key=name, **key.boto3_params())["Body"].read()


def _same_size_other_content(path, target):
    """A file as long as ``path`` that differs from it in its last byte only (a compare must read it all)."""
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    target.write_bytes(bytes(data))
    return target


# --------------------------------------------------------------------------
# 1. Written by the aws cli / rclone, read and recognised by the modules
# --------------------------------------------------------------------------


def _upload_s3api_put_object(service, bucket, name, path, key):
    aws(service, "s3api", "put-object", "--bucket", bucket, "--key", name, "--body", str(path),
        *aws_sse_c_args(key))


def _upload_s3_cp(service, bucket, name, path, key):
    aws(service, "s3", "cp", str(path), "s3://%s/%s" % (bucket, name), "--only-show-errors",
        "--sse-c", "AES256", "--sse-c-key", "fileb://%s" % key.path)


def _upload_rclone(service, bucket, name, path, key):
    rclone(service, key, "copyto", str(path), "s3test:%s/%s" % (bucket, name))


def _upload_rclone_multipart(service, bucket, name, path, key):
    rclone(service, key, "copyto", "--s3-upload-cutoff", "5M", "--s3-chunk-size", "5M",
           str(path), "s3test:%s/%s" % (bucket, name))


FOREIGN_UPLOADERS = {
    # name: (upload function, size in bytes, multipart?)
    "aws-s3api-put-object": (_upload_s3api_put_object, MIB + 7, False),
    # The aws cli uploads files from 8 MiB on in parts, the key on every part.
    "aws-s3-cp": (_upload_s3_cp, 9 * MIB + 3, True),
    "rclone-copyto": (_upload_rclone, 2 * MIB + 5, False),
    "rclone-copyto-multipart": (_upload_rclone_multipart, 11 * MIB + 1, True),
}


def _rclone_md5_hex(value):
    """rclone's md5chksum (base64 of the binary MD5; hex accepted too) as hex, or None."""
    value = (value or "").strip()
    if len(value) == 32:
        try:
            return bytes.fromhex(value).hex()
        except ValueError:
            pass
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw.hex() if len(raw) == 16 else None


@pytest.mark.parametrize("uploader", sorted(FOREIGN_UPLOADERS))
def test_object_written_by_other_client_is_downloaded_and_recognised(s3service, tmp_path, uploader):
    upload, size, multipart = FOREIGN_UPLOADERS[uploader]
    bucket = s3service.buckets[0]
    key = Key(tmp_path / "ssec.key")
    name = _object_name(uploader)
    source = random_file(tmp_path / "source.bin", size)
    source_sha256 = sha256_file(source)
    upload(s3service, bucket, name, source, key)

    head = _head(s3service, bucket, name, key)
    assert head["ContentLength"] == size
    # Nothing of ours on the object: the modules must compare by other means.
    assert DIGEST_METADATA not in head["Metadata"]
    if multipart:
        # The multipart code path of the other client was really taken.
        assert re.fullmatch(r"[0-9a-f]{32}-[0-9]+", head["ETag"].strip('"')), head["ETag"]
    if uploader.startswith("rclone"):
        # rclone's fast path: it keeps the plaintext MD5 in (unencrypted) user metadata.
        assert RCLONE_MD5_METADATA in head["Metadata"], head["Metadata"]
        assert _rclone_md5_hex(head["Metadata"][RCLONE_MD5_METADATA]) == hashlib.md5(source.read_bytes()).hexdigest()

    dest = tmp_path / "downloaded.bin"
    other = _same_size_other_content(source, tmp_path / "other.bin")
    stale_dest = tmp_path / "stale.bin"
    stale_dest.write_bytes(other.read_bytes())
    key_file = str(key.path)
    common = {"bucket": bucket, "object": name, "sse_customer_key_file": key_file}
    results = run_tasks(s3service, [
        {"ssec.s3.download": dict(common, dest=str(dest))},
        {"ssec.s3.download": dict(common, dest=str(dest))},
        {"ssec.s3.object": dict(common, src=str(source))},
        # Controls, in check mode (nothing written): same size, one byte differs.
        {"ssec.s3.object": dict(common, src=str(other)), "check_mode": True},
        {"ssec.s3.download": dict(common, dest=str(stale_dest)), "check_mode": True},
    ], tmp_path / "play")
    first_download, second_download, upload_again, upload_other, download_over_stale = results

    assert first_download["changed"] is True, first_download["msg"]
    assert dest.read_bytes() == source.read_bytes()
    assert first_download["sha256"] == source_sha256
    assert first_download["size"] == size
    assert second_download["changed"] is False, second_download["msg"]

    assert upload_again["changed"] is False, upload_again["msg"]
    assert upload_again["previous_state"] == "sse-c"
    assert upload_again["sha256"] == source_sha256

    assert upload_other["changed"] is True, upload_other["msg"]
    assert download_over_stale["changed"] is True, download_over_stale["msg"]
    assert stale_dest.read_bytes() == other.read_bytes(), "check mode wrote the file"

    # The object was left as the other client wrote it (not rewritten by the unchanged upload).
    after = _head(s3service, bucket, name, key)
    assert after["ETag"] == head["ETag"]
    assert after["Metadata"] == head["Metadata"]
    assert _get(s3service, bucket, name, key) == source.read_bytes()


# --------------------------------------------------------------------------
# 2. Written by ssec.s3.object, read by the aws cli and rclone
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def module_object(s3service, tmp_path_factory):
    """One object written by ssec.s3.object: (bucket, name, key, local source path)."""
    workdir = tmp_path_factory.mktemp("module-object")
    key = Key(workdir / "ssec.key")
    source = random_file(workdir / "source.bin", 3 * MIB + 11)
    bucket, name = s3service.buckets[0], _object_name("written-by-module")
    result, = run_tasks(s3service, [
        {"ssec.s3.object": {"bucket": bucket, "object": name, "src": str(source),
                            "sse_customer_key_file": str(key.path)}},
    ], workdir / "play")
    assert result["changed"] is True and result["parts"] == 1, result
    return bucket, name, key, source


def _read_s3api_get_object(service, bucket, name, key, target):
    aws(service, "s3api", "get-object", "--bucket", bucket, "--key", name, *aws_sse_c_args(key), str(target))
    return target.read_bytes()


def _read_s3_cp(service, bucket, name, key, target):
    aws(service, "s3", "cp", "s3://%s/%s" % (bucket, name), str(target), "--only-show-errors",
        "--sse-c", "AES256", "--sse-c-key", "fileb://%s" % key.path)
    return target.read_bytes()


def _read_rclone_cat(service, bucket, name, key, target):  # pylint: disable=unused-argument
    return rclone(service, key, "cat", "s3test:%s/%s" % (bucket, name), binary=True).stdout


def _read_rclone_copyto(service, bucket, name, key, target):
    rclone(service, key, "copyto", "s3test:%s/%s" % (bucket, name), str(target))
    return target.read_bytes()


READERS = {
    "aws-s3api-get-object": _read_s3api_get_object,
    "aws-s3-cp": _read_s3_cp,
    "rclone-cat": _read_rclone_cat,
    "rclone-copyto": _read_rclone_copyto,
}


@pytest.mark.parametrize("reader", sorted(READERS))
def test_object_written_by_module_is_read_by_other_client(s3service, module_object, tmp_path, reader):
    bucket, name, key, source = module_object
    data = READERS[reader](s3service, bucket, name, key, tmp_path / "read.bin")
    assert len(data) == source.stat().st_size
    assert data == source.read_bytes()


def test_object_written_by_module_needs_the_key(s3service, module_object, tmp_path):
    bucket, name, _key, _source = module_object
    without_key = aws(s3service, "s3api", "head-object", "--bucket", bucket, "--key", name, check=False)
    assert without_key.returncode != 0
    assert "400" in without_key.stderr and "Bad Request" in without_key.stderr, without_key.stderr
    # With another key the data is not served either: 403 AccessDenied, or on Ceph RGW 400 InvalidArgument
    # (docs/backends.md).
    other = Key(tmp_path / "other.key")
    with_other_key = aws(s3service, "s3api", "get-object", "--bucket", bucket, "--key", name,
                         *aws_sse_c_args(other), str(tmp_path / "out.bin"), check=False)
    assert with_other_key.returncode != 0
    if s3service.backend == "rgw":
        assert "InvalidArgument" in with_other_key.stderr, with_other_key.stderr
    else:
        assert "AccessDenied" in with_other_key.stderr or "403" in with_other_key.stderr, with_other_key.stderr
    assert not (tmp_path / "out.bin").exists() or (tmp_path / "out.bin").stat().st_size == 0


# --------------------------------------------------------------------------
# 3. Multipart objects written by ssec.s3.object
# --------------------------------------------------------------------------


@pytest.mark.parametrize("size, part_size_mb, stored_part_mb", [
    (24 * MIB, 5, 5),
    (16 * MIB + 3, 8, 8),
    # Below S3's 5 MiB minimum part size, parts are 5 MiB, and the reported count says so.
    (12 * MIB, 1, 5),
], ids=["24MiB-by-5", "16MiB-by-8", "12MiB-by-1"])
def test_multipart_object_written_by_module_is_read_by_other_clients(
        s3service, tmp_path, size, part_size_mb, stored_part_mb):
    bucket = s3service.buckets[0]
    key = Key(tmp_path / "ssec.key")
    name = _object_name("multipart")
    source = random_file(tmp_path / "source.bin", size)
    expected_parts = math.ceil(size / (stored_part_mb * MIB))
    assert expected_parts > 1

    result, = run_tasks(s3service, [
        {"ssec.s3.object": {"bucket": bucket, "object": name, "src": str(source), "part_size_mb": part_size_mb,
                            "concurrency": 3, "sse_customer_key_file": str(key.path)}},
    ], tmp_path / "play")
    assert result["changed"] is True, result["msg"]
    assert result["parts"] == expected_parts
    # The server agrees that it was stored in that many parts, with the key: a multipart ETag
    # "<md5>-<parts>"; SeaweedFS also reports PartsCount and the part's size on a HEAD of one part
    # (Ceph RGW 16 ignores partNumber and answers for the whole object: the ETag alone tells there).
    first_part = s3service.client().head_object(Bucket=bucket, Key=name, PartNumber=1, **key.boto3_params())
    assert first_part["ETag"].strip('"').endswith("-%d" % expected_parts)
    if s3service.backend == "rgw":
        assert first_part["ContentLength"] == size
    else:
        assert first_part["PartsCount"] == expected_parts
        assert first_part["ContentLength"] == stored_part_mb * MIB
    assert open_multipart_uploads(s3service.client(), bucket) == []

    expected = source.read_bytes()
    for reader in ("aws-s3-cp", "aws-s3api-get-object", "rclone-copyto"):
        target = tmp_path / ("read-%s.bin" % reader)
        data = READERS[reader](s3service, bucket, name, key, target)
        assert len(data) == size, reader
        assert hashlib.sha256(data).hexdigest() == hashlib.sha256(expected).hexdigest(), reader
        target.unlink()


# --------------------------------------------------------------------------
# 4. The stored content digest reveals nothing without the key
# --------------------------------------------------------------------------


def _text_forms(raw):
    """Every usual text form of a digest: hex, base64, base64url, with and without padding."""
    forms = {raw.hex(), raw.hex().upper()}
    for encoded in (base64.b64encode(raw), base64.urlsafe_b64encode(raw)):
        text = encoded.decode("ascii")
        forms.update({text, text.rstrip("=")})
    return forms


def _decodings(token):
    """Bytes the stored value could stand for, read as hex or base64 in whole or by dot-separated parts."""
    decoded = []
    for part in [token] + token.split("."):
        candidates = [part, part + "=" * (-len(part) % 4)]
        for candidate in candidates:
            for decoder in (base64.b64decode, base64.urlsafe_b64decode, bytes.fromhex):
                try:
                    decoded.append(decoder(candidate))
                except (binascii.Error, ValueError):
                    pass
    return decoded


def test_stored_digest_does_not_reveal_content(s3service, tmp_path):
    bucket = s3service.buckets[0]
    key = Key(tmp_path / "ssec.key")
    source = random_file(tmp_path / "source.bin", 100 * 1024 + 1)
    data = source.read_bytes()
    digests = {"sha256": hashlib.sha256(data).digest(), "md5": hashlib.md5(data).digest()}
    names = [_object_name("digest-a"), _object_name("digest-b")]
    common = {"bucket": bucket, "sse_customer_key_file": str(key.path)}
    results = run_tasks(s3service, [
        {"ssec.s3.object": dict(common, object=name, src=str(source))} for name in names
    ] + [
        # The key holder gets the plaintext SHA-256 back from the stored value.
        {"ssec.s3.object_info": dict(common, object=name)} for name in names
    ], tmp_path / "play")
    uploads, infos = results[:2], results[2:]
    assert all(result["changed"] and result["sha256"] == digests["sha256"].hex() for result in uploads), uploads
    for info in infos:
        assert info["digest"] == "valid" and info["sha256"] == digests["sha256"].hex(), info

    stored = [_head(s3service, bucket, name, key)["Metadata"].get(DIGEST_METADATA) for name in names]
    assert all(stored), "ssec.s3.object stored no %s metadata: %r" % (DIGEST_METADATA, stored)
    assert stored[0] != stored[1], "two uploads of the same content got the same sealed digest (no fresh nonce)"

    for value in stored:
        lowered = value.lower()
        for label, raw in digests.items():
            for form in _text_forms(raw):
                assert form not in value and form.lower() not in lowered, "the %s of the content is readable" % label
            for decoded in _decodings(value):
                assert raw not in decoded, "the %s of the content is in the decoded value" % label

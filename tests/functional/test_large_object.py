# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A 2 GiB object through ssec.s3.object and ssec.s3.download, against the real server.

Proves the multipart path at scale: the key on every part, at most 1000 parts
(Scaleway's limit) as the server itself counts them, a byte-identical
download, idempotent reruns, and no multipart upload left open.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import time
import uuid

import pytest

from playbook import Key, open_multipart_uploads, run_tasks, sha256_file

MIB = 1024 * 1024
SIZE = 2 * 1024 * MIB
MAX_PARTS = 1000
_BLOCK = MIB
_POOL = 64 * MIB


def _write_large_file(path, size):
    """``size`` bytes of random-looking data, fast: a 64 MiB random pool, read at a different offset for
    each 1 MiB block, each block prefixed with its number, so that no two blocks (hence no two parts) are
    the same. Returns the SHA-256 of what was written."""
    pool = os.urandom(_POOL + _BLOCK)
    view = memoryview(pool)
    digest = hashlib.sha256()
    with open(path, "wb") as handle:
        for number in range(-(-size // _BLOCK)):
            length = min(_BLOCK, size - number * _BLOCK)
            offset = (number * 1000003) % _POOL
            for piece in (number.to_bytes(8, "big"), view[offset:offset + length - 8]):
                handle.write(piece)
                digest.update(piece)
    assert os.path.getsize(path) == size
    return digest.hexdigest()


@pytest.fixture
def large_workdir(tmp_path):
    """A work dir whose multi-GiB files are deleted right after the test (not kept by pytest)."""
    yield tmp_path
    shutil.rmtree(tmp_path, ignore_errors=True)


def test_two_gib_object_round_trip(s3service, large_workdir):
    timings = {}
    bucket = s3service.buckets[0]
    client = s3service.client()
    name = "large/two-gib-%s.bin" % uuid.uuid4().hex[:12]
    key = Key(large_workdir / "ssec.key")
    source, dest = large_workdir / "source.bin", large_workdir / "downloaded.bin"

    started = time.monotonic()
    expected_sha256 = _write_large_file(source, SIZE)
    timings["generate"] = time.monotonic() - started
    common = {"bucket": bucket, "object": name, "sse_customer_key_file": str(key.path)}
    upload = None
    try:
        started = time.monotonic()
        upload, download, upload_again, download_again = run_tasks(s3service, [
            {"ssec.s3.object": dict(common, src=str(source))},
            {"ssec.s3.download": dict(common, dest=str(dest))},
            {"ssec.s3.object": dict(common, src=str(source))},
            {"ssec.s3.download": dict(common, dest=str(dest))},
        ], large_workdir / "play")
        timings["playbook"] = time.monotonic() - started

        assert upload["changed"] is True, upload["msg"]
        assert upload["size"] == SIZE
        assert upload["sha256"] == expected_sha256
        assert 1 < upload["parts"] <= MAX_PARTS

        # What the server itself says about the parts (SeaweedFS reports PartsCount on a part HEAD).
        first_part = client.head_object(Bucket=bucket, Key=name, PartNumber=1, **key.boto3_params())
        assert first_part["PartsCount"] == upload["parts"]
        etag = re.fullmatch(r'"?[0-9a-f]{32}-([0-9]+)"?', first_part["ETag"])
        assert etag and int(etag.group(1)) == upload["parts"], first_part["ETag"]
        assert first_part["ContentLength"] * (upload["parts"] - 1) < SIZE <= first_part["ContentLength"] * upload["parts"]
        whole = client.head_object(Bucket=bucket, Key=name, **key.boto3_params())
        assert whole["ContentLength"] == SIZE
        assert open_multipart_uploads(client, bucket) == []

        assert download["changed"] is True, download["msg"]
        assert os.path.getsize(dest) == SIZE
        started = time.monotonic()
        assert sha256_file(dest) == expected_sha256
        timings["verify"] = time.monotonic() - started
        assert not [path.name for path in large_workdir.iterdir() if path.name.endswith(".part")]

        assert upload_again["changed"] is False, upload_again["msg"]
        assert download_again["changed"] is False, download_again["msg"]
    finally:
        client.delete_object(Bucket=bucket, Key=name)
        print("\n2 GiB round trip: %s parts; seconds: %s" % (
            upload.get("parts") if upload else "?", ", ".join("%s %.1f" % item for item in timings.items())))

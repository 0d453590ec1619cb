# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ssec.s3.sync's shard option (issue 12, item 4), run for real against SeaweedFS.

n runs with shard 1/n ... n/n do what one run without shard does: each uploads a disjoint share, together every
name; a pull of one share with delete brings only that share and deletes only names of that share. Checked with
boto3 (listing, decrypted bytes) and the file system.
"""

from __future__ import annotations

import hashlib
import os
import uuid

import pytest

from playbook import Key, run_tasks

SHARDS = 3


@pytest.fixture
def key(tmp_path):
    return Key(tmp_path / "sync.key")


def sync(key, tmp_path, **options):
    return {"ssec.s3.sync": dict(options, sse_customer_key_file=str(key.path)),
            "environment": {"XDG_CACHE_HOME": str(tmp_path / "cache")}}


def test_shards_together_sync_the_whole_tree_once(s3service, tmp_path, key):
    prefix = "sync-shard/%s/" % uuid.uuid4().hex[:8]
    bucket, client = s3service.buckets[0], s3service.client()
    src = tmp_path / "src"
    files = {"d%d/f%02d.txt" % (number % 4, number): os.urandom(100 + number) for number in range(40)}
    for name, body in files.items():
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_bytes(body)

    pushes = [sync(key, tmp_path, mode="push", path=str(src), bucket=bucket, prefix=prefix,
                   shard="%d/%d" % (number, SHARDS)) for number in range(1, SHARDS + 1)]
    results = run_tasks(s3service, pushes + pushes, tmp_path / "push")
    shares = [set(result["uploaded"]) for result in results[:SHARDS]]
    assert all(shares) and sum(len(share) for share in shares) == len(files)  # disjoint, none empty
    assert set().union(*shares) == set(files)
    assert all(result["changed"] is False for result in results[SHARDS:])  # each share converged
    listed = client.list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]
    assert sorted(entry["Key"] for entry in listed) == sorted(prefix + name for name in files)
    for name, body in files.items():
        assert client.get_object(Bucket=bucket, Key=prefix + name, **key.boto3_params())["Body"].read() == body

    # A pull of share 2 with delete: only its names arrive; a local file of share 1 that no object holds stays,
    # one of share 2 that no object holds goes.
    dest = tmp_path / "dest"
    extra = {}
    for number in range(200):  # a stray name in each share
        name = "stray-%03d.txt" % number
        extra.setdefault(share_of(name), name)
    strays = {share: extra[share] for share in (1, 2)}
    dest.mkdir()
    for name in strays.values():
        (dest / name).write_bytes(b"stray\n")
    [pulled] = run_tasks(s3service, [sync(key, tmp_path, mode="pull", path=str(dest), bucket=bucket, prefix=prefix,
                                          shard="2/%d" % SHARDS, delete=True)], tmp_path / "pull")
    assert set(pulled["downloaded"]) == shares[1] and pulled["deleted"] == [strays[2]]
    on_disk = {str(path.relative_to(dest)) for path in dest.rglob("*") if path.is_file()}
    assert on_disk == shares[1] | {strays[1]}
    for name in shares[1]:
        assert (dest / name).read_bytes() == files[name]


def share_of(name):
    """The documented rule: SHA-256 of the relative name, its first 8 bytes big-endian, modulo n, plus 1."""
    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "big") % SHARDS + 1


def test_rekey_shards_together_rotate_every_object_once(s3service, tmp_path, key):
    prefix = "rekey-shard/%s/" % uuid.uuid4().hex[:8]
    bucket, client = s3service.buckets[0], s3service.client()
    new = Key(tmp_path / "new.key")
    bodies = {"o%02d.bin" % number: os.urandom(64 + number) for number in range(30)}
    for name, body in bodies.items():
        client.put_object(Bucket=bucket, Key=prefix + name, Body=body, **key.boto3_params())
    tasks = [{"ssec.s3.rekey": {"bucket": bucket, "prefix": prefix, "shard": "%d/%d" % (number, SHARDS),
                                "old_sse_customer_key_file": str(key.path), "sse_customer_key_file": str(new.path)}}
             for number in range(1, SHARDS + 1)]
    results = run_tasks(s3service, tasks, tmp_path / "rekey")
    shares = [{entry["object"][len(prefix):] for entry in result["rotated"]} for result in results]
    expected = [{name for name in bodies if share_of(name) == number} for number in range(1, SHARDS + 1)]
    assert shares == expected
    assert all(result["counts"]["already_rotated"] == 0 for result in results)  # a share sees only its objects
    for name, body in bodies.items():
        assert client.get_object(Bucket=bucket, Key=prefix + name, **new.boto3_params())["Body"].read() == body
    [refused] = run_tasks(s3service, [{"ssec.s3.rekey": dict(tasks[0]["ssec.s3.rekey"], shard="4/3")}],
                          tmp_path / "bad", allow_failures=True)
    assert refused.get("failed") and "shard '4/3' is not a share" in refused["msg"]

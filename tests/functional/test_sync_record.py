# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ssec.s3.sync's record of what was last verified (issue 12, item 1), run for real.

Every task reaches SeaweedFS through the fault proxy (no faults, it only counts requests) with its own cache
directory (XDG_CACHE_HOME), so the HEAD requests of each run are counted by something other than the module. The
bucket is read with boto3 directly from the service, the tree with the file system. Proved here:

- a rerun that changes nothing sends no HEAD and no GET (push and pull);
- an edit that keeps size and modification time (same-size bytes, mtime put back) is uploaded / fixed;
- an object rewritten by another client (boto3, same size, same key) is uploaded again (push) or downloaded (pull);
- a corrupt or deleted record costs one full check (a HEAD per object), never a wrong answer;
- full_check: true sends a HEAD per object;
- the record is owner-only and holds no plaintext SHA-256 of any file.
"""

from __future__ import annotations

import hashlib
import os
import stat
import time
import uuid

import pytest

from playbook import Key, run_tasks

COUNT = 12
SIZE = 700


@pytest.fixture
def key(tmp_path):
    return Key(tmp_path / "sync.key")


@pytest.fixture
def prefix():
    return "sync-record/%s/" % uuid.uuid4().hex[:8]


def task(proxy, key, cache, **options):
    return {"ssec.s3.sync": dict(options, endpoint_url=proxy.endpoint_url, retries=1,
                                 sse_customer_key_file=str(key.path)),
            "environment": {"XDG_CACHE_HOME": str(cache)}}


def make_tree(root):
    root.mkdir(parents=True)
    files = {"f%02d.txt" % number: os.urandom(SIZE) for number in range(COUNT)}
    files["sub/deep.txt"] = os.urandom(SIZE)
    for name, body in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(body)
    # Files changed less than 2 s ago are re-hashed on a rerun (their identity is not trusted yet): let them age.
    time.sleep(2.2)
    return files


class Runs:
    """Runs sync tasks in turn and counts the HEAD and GET requests each run sent through the proxy."""

    def __init__(self, service, proxy, tmp_path):
        self.service, self.proxy, self.tmp_path, self.number = service, proxy, tmp_path, 0

    def __call__(self, one_task, check=False):
        self.number += 1
        heads, gets = self.proxy.count(method="HEAD"), self.proxy.count(method="GET", path=r"/[^?]*$")
        [result] = run_tasks(self.service, [one_task], self.tmp_path / ("run%d" % self.number), check=check)
        return (result, self.proxy.count(method="HEAD") - heads,
                self.proxy.count(method="GET", path=r"/[^?]*$") - gets)


def same_size_edit(path):
    """New bytes of the same size, the modification time put back: what aws s3 sync cannot see."""
    info = os.stat(path)
    body = os.urandom(info.st_size)
    path.write_bytes(body)
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))
    assert os.stat(path).st_mtime_ns == info.st_mtime_ns and os.stat(path).st_size == info.st_size
    return body


def read(service, key, name):
    return service.client().get_object(Bucket=service.buckets[0], Key=name, **key.boto3_params())["Body"].read()


def records(cache):
    folder = cache / "ssec.s3" / "sync"
    return sorted(folder.glob("*.rec")) if folder.is_dir() else []


def test_push_rerun_sends_no_head_and_stays_exact(s3service, fault_proxy, tmp_path, key, prefix):
    cache, src = tmp_path / "cache", tmp_path / "src"
    files = make_tree(src)
    bucket = s3service.buckets[0]
    push = task(fault_proxy, key, cache, mode="push", path=str(src), bucket=bucket, prefix=prefix)
    runs = Runs(s3service, fault_proxy, tmp_path)

    first, _heads, _gets = runs(push)
    assert first["changed"] is True and first["counts"]["uploaded"] == len(files)

    # (c) A rerun that changes nothing: no HEAD, no GET.
    rerun, heads, gets = runs(push)
    assert rerun["changed"] is False and rerun["counts"]["unchanged"] == len(files)
    assert (heads, gets) == (0, 0)

    # The record: owner-only, and no plaintext SHA-256 of any file in it.
    [record] = records(cache)
    assert stat.S_IMODE(os.stat(record).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(record.parent).st_mode) == 0o700
    text = record.read_text(encoding="utf-8")
    for body in files.values():
        assert hashlib.sha256(body).hexdigest() not in text

    # (a) Same size, same mtime, other bytes: hashed (its ctime changed), found different, uploaded.
    edited = same_size_edit(src / "f03.txt")
    # (b) Another client rewrites an object with the same size under the same key.
    s3service.client().put_object(Bucket=bucket, Key=prefix + "f07.txt", Body=os.urandom(SIZE), **key.boto3_params())
    result, heads, _gets = runs(push)
    assert result["changed"] is True and sorted(result["uploaded"]) == ["f03.txt", "f07.txt"], result["msg"]
    assert heads == 2  # only the two names that changed took the exact path
    assert read(s3service, key, prefix + "f03.txt") == edited
    assert read(s3service, key, prefix + "f07.txt") == files["f07.txt"]

    # (d) A corrupt record costs one full check; so does a deleted one; then the record is back.
    [record] = records(cache)
    raw = bytearray(record.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    record.write_bytes(bytes(raw))
    result, heads, _gets = runs(push)
    assert result["changed"] is False and heads == len(files)
    record.unlink()
    result, heads, _gets = runs(push)
    assert result["changed"] is False and heads == len(files)
    result, heads, _gets = runs(push)
    assert result["changed"] is False and heads == 0

    # (e) full_check: a HEAD for every object.
    full = task(fault_proxy, key, cache, mode="push", path=str(src), bucket=bucket, prefix=prefix, full_check=True)
    result, heads, _gets = runs(full)
    assert result["changed"] is False and heads == len(files)


def test_a_record_under_another_key_is_not_used(s3service, fault_proxy, tmp_path, key, prefix):
    """A record is bound to its key: a file copied over another key's record is ignored (a full check)."""
    cache, src = tmp_path / "cache", tmp_path / "src"
    files = make_tree(src)
    bucket = s3service.buckets[0]
    other = Key(tmp_path / "other.key")
    runs = Runs(s3service, fault_proxy, tmp_path)
    runs(task(fault_proxy, key, cache, mode="push", path=str(src), bucket=bucket, prefix=prefix))
    [ours] = records(cache)
    runs(task(fault_proxy, other, cache, mode="push", path=str(src), bucket=bucket, prefix=prefix))
    [theirs] = [record for record in records(cache) if record != ours]
    ours.write_bytes(theirs.read_bytes())
    result, heads, _gets = runs(task(fault_proxy, key, cache, mode="push", path=str(src), bucket=bucket,
                                     prefix=prefix))
    assert result["changed"] is False and heads == len(files)


def test_pull_rerun_sends_no_head_and_stays_exact(s3service, fault_proxy, tmp_path, key, prefix):
    cache, src, dest = tmp_path / "cache", tmp_path / "src", tmp_path / "dest"
    files = make_tree(src)
    bucket = s3service.buckets[0]
    runs = Runs(s3service, fault_proxy, tmp_path)
    runs(task(fault_proxy, key, tmp_path / "push-cache", mode="push", path=str(src), bucket=bucket, prefix=prefix))
    pull = task(fault_proxy, key, cache, mode="pull", path=str(dest), bucket=bucket, prefix=prefix)

    first, _heads, _gets = runs(pull)
    assert first["changed"] is True and first["counts"]["downloaded"] == len(files)
    # (c) Files written a moment ago are hashed and compared with the record's fingerprints: still no request.
    rerun, heads, gets = runs(pull)
    assert rerun["changed"] is False and (heads, gets) == (0, 0)
    time.sleep(2.2)
    runs(pull)
    rerun, heads, gets = runs(pull)
    assert rerun["changed"] is False and (heads, gets) == (0, 0)

    # (a) A local same-size edit with the mtime put back is seen and undone.
    same_size_edit(dest / "f02.txt")
    # (b) An object rewritten by another client, same size, same key: downloaded.
    rewritten = os.urandom(SIZE)
    s3service.client().put_object(Bucket=bucket, Key=prefix + "f05.txt", Body=rewritten, **key.boto3_params())
    result, heads, _gets = runs(pull)
    assert result["changed"] is True and sorted(result["downloaded"]) == ["f02.txt", "f05.txt"], result["msg"]
    assert heads == 2
    assert (dest / "f02.txt").read_bytes() == files["f02.txt"]
    assert (dest / "f05.txt").read_bytes() == rewritten

    # (d) and (e) for pull: no record, or full_check, means a HEAD per object, and nothing changes.
    for record in records(cache):
        record.unlink()
    result, heads, _gets = runs(pull)
    assert result["changed"] is False and heads == len(files)
    full = task(fault_proxy, key, cache, mode="pull", path=str(dest), bucket=bucket, prefix=prefix, full_check=True)
    result, heads, _gets = runs(full)
    assert result["changed"] is False and heads == len(files)

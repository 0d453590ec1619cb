# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ssec.s3.sync over more names than one batch (2000): a run plans, reviews and applies one batch at a time
(issue 12, item 3: memory flat at 100 000 names). Run for real against the test service, through the fault proxy
(it only counts requests); the bucket is read with boto3, the tree with the file system. Proved here:

- a push of 4010 files stores every one, and the rerun sends no HEAD (uploads of every batch are recorded);
- delete: true removes exactly the objects whose files are gone, whichever batch they fall in;
- a pull into an empty directory brings every object back byte for byte, and its rerun reads nothing;
- two objects that need one local path as a file and a directory fail together, the others are downloaded;
- a batch's transfers are shared between worker processes (on 2 cores or more); one killed midway fails the
  task with advice, and the rerun completes the push.
"""

from __future__ import annotations

import hashlib
import os
import signal
import threading
import time
import uuid

import pytest

from playbook import Key, processes_with, run_tasks

COUNT = 4010  # two full batches and a part of a third


def name_of(number):
    return "d%d/f%05d.txt" % (number % 7, number)


def tree_of(root):
    return {str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in root.rglob("*") if path.is_file()}


def listing(client, bucket, prefix):
    names = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        names.update((entry["Key"][len(prefix):], entry["Size"]) for entry in page.get("Contents", ()))
    return names


def test_sync_of_more_names_than_one_batch(s3service, fault_proxy, tmp_path):
    key, bucket, client = Key(tmp_path / "k.key"), s3service.buckets[0], s3service.client()
    prefix = "batches/%s/" % uuid.uuid4().hex[:8]
    src = tmp_path / "src"
    for number in range(COUNT):
        path = src / name_of(number)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(number % 50))
    cache = tmp_path / "cache"

    def sync(number, allow_failures=False, **options):
        heads = fault_proxy.count(method="HEAD")
        gets = fault_proxy.count(method="GET", path=r"/[^?]*$")
        one = {"ssec.s3.sync": dict(options, endpoint_url=fault_proxy.endpoint_url, bucket=bucket, prefix=prefix,
                                    sse_customer_key_file=str(key.path)),
               "environment": {"XDG_CACHE_HOME": str(cache)}}
        [result] = run_tasks(s3service, [one], tmp_path / ("run%d" % number), allow_failures=allow_failures)
        return (result, fault_proxy.count(method="HEAD") - heads,
                fault_proxy.count(method="GET", path=r"/[^?]*$") - gets)

    pushed, _heads, _gets = sync(1, mode="push", path=str(src))
    assert pushed["counts"]["uploaded"] == COUNT and pushed["counts"]["failed"] == 0, pushed["msg"]
    expected = {name: (src / name).stat().st_size for name in tree_of(src)}
    assert listing(client, bucket, prefix) == expected
    for name in map(name_of, (0, 2001, 4009)):  # one in each batch
        body = client.get_object(Bucket=bucket, Key=prefix + name, **key.boto3_params())["Body"].read()
        assert body == (src / name).read_bytes()

    again, heads, gets = sync(2, mode="push", path=str(src))
    assert again["changed"] is False and again["counts"]["unchanged"] == COUNT and (heads, gets) == (0, 0)

    gone = [name_of(number) for number in (7, 1998, 2005, 4004)]
    for name in gone:
        (src / name).unlink()
    deleted, _heads, _gets = sync(3, mode="push", path=str(src), delete=True)
    assert sorted(deleted["deleted"]) == sorted(gone) and deleted["counts"]["deleted"] == len(gone)
    assert listing(client, bucket, prefix) == {name: size for name, size in expected.items() if name not in gone}

    dest = tmp_path / "dest"
    pulled, _heads, _gets = sync(4, mode="pull", path=str(dest))
    assert pulled["counts"]["downloaded"] == COUNT - len(gone) and pulled["counts"]["failed"] == 0, pulled["msg"]
    assert tree_of(dest) == tree_of(src)
    again, heads, gets = sync(5, mode="pull", path=str(dest), delete=True)
    assert again["changed"] is False and (heads, gets) == (0, 0)

    # "d5" as an object and "d5/..." as objects: one path, a file and a directory. Decided together, they fail
    # together; every other name is unchanged.
    client.put_object(Bucket=bucket, Key=prefix + "d5", Body=b"a file where a directory is", **key.boto3_params())
    fresh = tmp_path / "fresh"
    clashed, _heads, _gets = sync(6, allow_failures=True, mode="pull", path=str(fresh))
    in_d5 = [name for name in tree_of(src) if name.startswith("d5/")]
    assert clashed.get("failed") is True and clashed["counts"]["failed"] == 1 + len(in_d5), clashed["msg"]
    assert "map onto the same local path" in clashed["msg"]
    assert clashed["counts"]["downloaded"] == COUNT - len(gone) - len(in_d5)
    outside_d5 = {name: digest for name, digest in tree_of(src).items() if not name.startswith("d5/")}
    assert not (fresh / "d5").exists() and tree_of(fresh) == outside_d5


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="one worker process per core: needs 2 cores")
def test_a_batch_is_shared_by_worker_processes_and_a_killed_one_fails_the_task(s3service, fault_proxy, tmp_path):
    key, bucket, client = Key(tmp_path / "k.key"), s3service.buckets[0], s3service.client()
    prefix = "workers/%s/" % uuid.uuid4().hex[:8]
    src = tmp_path / "src"
    count = 600  # one batch; 2 workers of 300 transfers each (at least 200 each)
    for number in range(count):
        path = src / name_of(number)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(1 + number % 50))
    cache = tmp_path / "cache"
    marker = ("XDG_CACHE_HOME=%s" % cache).encode()  # the module's environment, which its workers inherit
    task = {"ssec.s3.sync": {"endpoint_url": fault_proxy.endpoint_url, "bucket": bucket, "prefix": prefix,
                             "sse_customer_key_file": str(key.path), "mode": "push", "path": str(src),
                             "concurrency": 4},
            "environment": {"XDG_CACHE_HOME": str(cache)}}
    # The first 4 uploads (2 threads in each of 2 workers) are held: both workers are busy when looked at.
    fault_proxy.stall(20, method="PUT", times=4)
    results = []

    def push():
        results.append(run_tasks(s3service, [task], tmp_path / "run1", allow_failures=True))

    run = threading.Thread(target=push)
    run.start()
    workers, deadline = [], time.monotonic() + 60
    while len(workers) < 2 and time.monotonic() < deadline:
        found = processes_with(marker)
        modules = [pid for pid, parent in found.items() if parent not in found]
        workers = [pid for pid, parent in found.items() if parent in modules]
        time.sleep(0.2)
    assert len(workers) == 2, "worker processes of the module: %s" % workers
    os.kill(workers[0], signal.SIGKILL)
    run.join(timeout=300)
    [failed] = results[0]
    assert failed.get("failed") is True
    assert "worker process of this task ended before it reported (exit code -9" in failed["msg"]
    assert "Run the task again" in failed["msg"]
    assert set(listing(client, bucket, prefix)) < set(tree_of(src))  # the killed worker's share is not all there

    fault_proxy.clear()
    [again] = run_tasks(s3service, [task], tmp_path / "run2")
    assert again["counts"]["failed"] == 0 and again["counts"]["uploaded"] + again["counts"]["unchanged"] == count
    assert again["counts"]["uploaded"] > 0
    assert listing(client, bucket, prefix) == {name: (src / name).stat().st_size for name in tree_of(src)}
    for name in map(name_of, (0, 1, 598, 599)):  # from both shares
        body = client.get_object(Bucket=bucket, Key=prefix + name, **key.boto3_params())["Body"].read()
        assert body == (src / name).read_bytes()

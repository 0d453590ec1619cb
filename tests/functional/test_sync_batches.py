# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ssec.s3.sync over more names than one batch (2000): a run plans, reviews and applies one batch at a time
(issue 12, item 3: memory flat at 100 000 names). Run for real against the test service, through the fault proxy
(it only counts requests); the bucket is read with boto3, the tree with the file system. Proved here:

- a push of 4010 files stores every one, and the rerun sends no HEAD (uploads of every batch are recorded);
- delete: true removes exactly the objects whose files are gone, whichever batch they fall in;
- a pull into an empty directory brings every object back byte for byte, and its rerun reads nothing;
- two objects that need one local path as a file and a directory fail together, the others are downloaded.
"""

from __future__ import annotations

import hashlib
import os
import uuid

from playbook import Key, run_tasks

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

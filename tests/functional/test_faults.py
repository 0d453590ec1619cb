# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Faults between the modules and the server, injected by tests/support/faultproxy.py.

Every task here reaches SeaweedFS through the fault proxy (``endpoint_url`` of the task, the service's CA), with
few retries so that a fault that does not clear fails fast. The proxy cuts connections after N bytes, answers
with S3 errors (503 SlowDown, 500, 403 AccessDenied on SSE-C writes) or holds requests; the SeaweedFS process
itself is killed in one test. After each fault, and after the rerun once the fault is gone, the real state is
read with boto3 directly from the service (not through the proxy): object bytes under the expected key, open
multipart uploads, the local files and temp files.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from playbook import Key, open_multipart_uploads, run_task, run_tasks

KIB = 1024
MIB = 1024 * KIB
# A multipart upload of three parts: the smallest part size S3 allows.
PART_SIZE_MB = 5
LARGE = 2 * PART_SIZE_MB * MIB + 123 * KIB
# A download temp file: ".<name>.<random>.part" beside the destination (local_files.write_file).
TEMP_NAME = re.compile(r"^\..+\.part$")
COPY_SOURCE = "x-amz-copy-source"


# ---- helpers ------------------------------------------------------------------------------------------------


def via(proxy, module, retries=1, **args):
    """A task of ``module`` that goes through the fault proxy, with ``retries`` retries."""
    return {module: dict(args, endpoint_url=proxy.endpoint_url, retries=retries)}


def read(client, bucket, name, key):
    """The plaintext of ``name`` decrypted with ``key``; None when the object does not exist."""
    try:
        return client.get_object(Bucket=bucket, Key=name, **key.boto3_params())["Body"].read()
    except client.exceptions.NoSuchKey:
        return None


def opens_with(client, bucket, name, key) -> bool:
    try:
        head = client.head_object(Bucket=bucket, Key=name, **key.boto3_params())
    except client.exceptions.ClientError:
        return False
    return head.get("SSECustomerKeyMD5", "").split(",")[0].strip() == key.md5_b64


def uploads_under(client, bucket, prefix) -> dict:
    return {upload["UploadId"]: upload["Key"] for upload in open_multipart_uploads(client, bucket)
            if upload["Key"].startswith(prefix)}


def names_under(client, bucket, prefix) -> list:
    names = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        names += [entry["Key"] for entry in page.get("Contents", [])]
    return sorted(names)


def temp_files(directory: Path) -> list:
    return sorted(str(path) for path in directory.rglob("*") if TEMP_NAME.match(path.name))


def local_tree(root: Path) -> dict:
    return {path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in root.rglob("*") if path.is_file()}


def remote_tree(client, bucket, prefix, key) -> dict:
    """relative name -> sha256 of the plaintext, read with ``key``."""
    def one(name):
        return name[len(prefix):], hashlib.sha256(read(client, bucket, name, key)).hexdigest()

    with ThreadPoolExecutor(max_workers=8) as pool:
        return dict(pool.map(one, names_under(client, bucket, prefix)))


def says_what_to_do(message):
    """A failure message names the failure and the next step."""
    assert message.startswith(("Failed to", "1 entry", "Not every object")) or "failed" in message.lower(), message
    assert re.search(r"run the task again|retry later|raise retries|check", message, re.IGNORECASE), message


@pytest.fixture
def prefix():
    return "faults-%s/" % uuid.uuid4().hex[:12]


@pytest.fixture
def key(tmp_path):
    return Key(tmp_path / "ssec.key")


# ---- upload -------------------------------------------------------------------------------------------------


def test_upload_cut_in_a_multipart_upload_is_retried_to_success(s3service, fault_proxy, tmp_path, prefix, key):
    bucket, client = s3service.buckets[0], s3service.client()
    src = tmp_path / "large.bin"
    src.write_bytes(os.urandom(LARGE))
    name = prefix + "large.bin"
    cut = fault_proxy.cut(method="PUT", path=r"partNumber=2\b", bytes_up=MIB, times=1)
    result = run_task(s3service, via(fault_proxy, "ssec.s3.object", retries=2, bucket=bucket, object=name,
                                     src=str(src), part_size_mb=PART_SIZE_MB, concurrency=1,
                                     sse_customer_key_file=str(key.path)), tmp_path / "play")
    assert result["changed"] is True, result["msg"]
    assert cut.fired == 1
    # The cut part was sent again: two requests for part 2, one for each other part.
    assert fault_proxy.count(method="PUT", path=r"partNumber=2\b") == 2
    assert fault_proxy.count(method="PUT", path=r"partNumber=[13]\b") == 2
    assert read(client, bucket, name, key) == src.read_bytes()
    assert not uploads_under(client, bucket, prefix)


def test_upload_cut_every_time_fails_cleanly_then_rerun_converges(s3service, fault_proxy, tmp_path, prefix, key):
    bucket, client = s3service.buckets[0], s3service.client()
    name = prefix + "large.bin"
    old = os.urandom(64 * KIB)
    client.put_object(Bucket=bucket, Key=name, Body=old, **key.boto3_params())
    src = tmp_path / "large.bin"
    src.write_bytes(os.urandom(LARGE))
    task = via(fault_proxy, "ssec.s3.object", retries=1, bucket=bucket, object=name, src=str(src),
               part_size_mb=PART_SIZE_MB, concurrency=2, sse_customer_key_file=str(key.path))
    cut = fault_proxy.cut(method="PUT", path=r"partNumber=2\b", bytes_up=MIB, times=None)
    failed = run_task(s3service, task, tmp_path / "faulty", allow_failures=True)
    assert failed.get("failed") is True, failed
    says_what_to_do(failed["msg"])
    assert "s3://%s/%s" % (bucket, name) in failed["msg"]
    assert cut.fired == 2  # the first attempt and its one retry
    # No partial object replaced the old one, and the failed multipart upload was aborted.
    assert read(client, bucket, name, key) == old
    assert not uploads_under(client, bucket, prefix)

    fault_proxy.clear()
    rerun, again = run_tasks(s3service, [task, task], tmp_path / "rerun")
    assert rerun["changed"] is True and again["changed"] is False, (rerun["msg"], again["msg"])
    assert read(client, bucket, name, key) == src.read_bytes()
    assert not uploads_under(client, bucket, prefix)


def test_transient_503_and_500_are_retried_with_backoff(s3service, fault_proxy, tmp_path, prefix, key):
    bucket, client = s3service.buckets[0], s3service.client()
    name = prefix + "small.bin"
    data = os.urandom(32 * KIB)
    src = tmp_path / "small.bin"
    src.write_bytes(data)
    dest = tmp_path / "dest.bin"
    slow = fault_proxy.fail(method="PUT", path=re.escape(name) + "$", status=503, code="SlowDown", times=2)
    broken = fault_proxy.fail(method="GET", path=re.escape(name) + "$", status=500, code="InternalError", times=1)
    started = time.monotonic()
    upload, download = run_tasks(s3service, [
        via(fault_proxy, "ssec.s3.object", retries=3, bucket=bucket, object=name, src=str(src),
            sse_customer_key_file=str(key.path)),
        via(fault_proxy, "ssec.s3.download", retries=3, bucket=bucket, object=name, dest=str(dest),
            sse_customer_key_file=str(key.path)),
    ], tmp_path / "play")
    print("two tasks with three injected errors: %.1f s" % (time.monotonic() - started))
    assert upload["changed"] is True and download["changed"] is True, (upload["msg"], download["msg"])
    # Two 503s, then the third PUT reached the server; one 500, then the second GET.
    assert (slow.fired, fault_proxy.count(method="PUT", path=re.escape(name) + "$")) == (2, 3)
    assert (broken.fired, fault_proxy.count(method="GET", path=re.escape(name) + "$")) == (1, 2)
    assert read(client, bucket, name, key) == data
    assert dest.read_bytes() == data and not temp_files(tmp_path)


def test_503_that_does_not_clear_fails_with_advice(s3service, fault_proxy, tmp_path, prefix, key):
    bucket, client = s3service.buckets[0], s3service.client()
    name = prefix + "small.bin"
    slow = fault_proxy.fail(method="PUT", status=503, code="SlowDown", times=None)
    result = run_task(s3service, via(fault_proxy, "ssec.s3.object", retries=1, bucket=bucket, object=name,
                                     content="x", sse_customer_key_file=str(key.path)), tmp_path / "play",
                      allow_failures=True)
    assert result.get("failed") is True
    assert slow.fired == 2
    assert "(HTTP 503)" in result["msg"] and "raise retries" in result["msg"], result["msg"]
    assert read(client, bucket, name, key) is None


def test_403_on_an_sse_c_write_explains_the_aws_bucket_setting(s3service, fault_proxy, tmp_path, prefix, key):
    """AWS answers 403 AccessDenied to SSE-C writes in buckets that block SSE-C (the default for new buckets
    since April 2026); the message says which bucket setting allows them."""
    bucket, client = s3service.buckets[0], s3service.client()
    name = prefix + "blocked.bin"
    blocked = fault_proxy.fail(method="PUT", sse_c=True, status=403, code="AccessDenied", message="Access Denied",
                               times=None)
    kept = prefix + "kept.bin"
    client.put_object(Bucket=bucket, Key=kept, Body=b"kept", **key.boto3_params())
    denied = fault_proxy.fail(method="DELETE", status=403, code="AccessDenied", message="Access Denied", times=None)
    result, delete = run_tasks(s3service, [
        via(fault_proxy, "ssec.s3.object", retries=3, bucket=bucket, object=name, content="blocked",
            sse_customer_key_file=str(key.path)),
        via(fault_proxy, "ssec.s3.object", retries=3, bucket=bucket, object=kept, state="absent",
            sse_customer_key_file=str(key.path)),
    ], tmp_path / "play", allow_failures=True)
    # A DeleteObject carries no key: its 403 speaks of permissions only.
    assert delete.get("failed") is True and denied.fired == 1
    assert "may delete objects in this bucket" in delete["msg"], delete["msg"]
    assert "BlockedEncryptionTypes" not in delete["msg"], delete["msg"]
    assert read(client, bucket, kept, key) == b"kept"
    assert result.get("failed") is True
    message = result["msg"]
    assert "Access Denied (HTTP 403)" in message, message
    for fragment in ("SSE-C writes are blocked", "default encryption", "PutBucketEncryption",
                     "BlockedEncryptionTypes", "NONE"):
        assert fragment in message, message
    assert blocked.fired == 1  # a 403 is not retried
    assert read(client, bucket, name, key) is None


# ---- download -----------------------------------------------------------------------------------------------


def test_download_cut_midway_keeps_the_old_dest_then_rerun_converges(s3service, fault_proxy, tmp_path, prefix,
                                                                     key):
    bucket, client = s3service.buckets[0], s3service.client()
    name = prefix + "large.bin"
    data = os.urandom(LARGE)
    client.put_object(Bucket=bucket, Key=name, Body=data, **key.boto3_params())
    dest_dir = tmp_path / "dest"
    dest_dir.mkdir()
    dest = dest_dir / "large.bin"
    dest.write_bytes(b"the old content")
    task = via(fault_proxy, "ssec.s3.download", retries=1, bucket=bucket, object=name, dest=str(dest),
               concurrency=1, sse_customer_key_file=str(key.path))

    cut = fault_proxy.cut(method="GET", path=re.escape(name) + "$", bytes_down=MIB, times=None)
    failed = run_task(s3service, task, tmp_path / "faulty", allow_failures=True)
    assert failed.get("failed") is True, failed
    print("download cut every time: %s" % failed["msg"])
    says_what_to_do(failed["msg"])
    assert cut.fired >= 2
    assert dest.read_bytes() == b"the old content"
    assert temp_files(dest_dir) == []

    # Cut once: the download resumes by itself and succeeds.
    fault_proxy.clear()
    once = fault_proxy.cut(method="GET", path=re.escape(name) + "$", bytes_down=MIB, times=1)
    result, again = run_tasks(s3service, [task, task], tmp_path / "rerun")
    assert once.fired == 1
    assert result["changed"] is True and again["changed"] is False, (result["msg"], again["msg"])
    assert dest.read_bytes() == data
    assert sorted(path.name for path in dest_dir.iterdir()) == ["large.bin"]


def test_stalled_download_times_out_and_is_retried(s3service, fault_proxy, tmp_path, prefix, key):
    bucket, client = s3service.buckets[0], s3service.client()
    name = prefix + "small.bin"
    data = os.urandom(64 * KIB)
    client.put_object(Bucket=bucket, Key=name, Body=data, **key.boto3_params())
    dest = tmp_path / "small.bin"
    # Held far longer than read_timeout (the proxy lets it go when the test ends).
    stall = fault_proxy.stall(60, method="GET", path=re.escape(name) + "$", times=1)
    result = run_task(s3service, via(fault_proxy, "ssec.s3.download", retries=2, read_timeout=4, bucket=bucket,
                                     object=name, dest=str(dest), sse_customer_key_file=str(key.path)),
                      tmp_path / "play")
    assert result["changed"] is True and stall.fired == 1, result["msg"]
    assert fault_proxy.count(method="GET", path=re.escape(name) + "$") == 2
    assert dest.read_bytes() == data and not temp_files(tmp_path)


def test_small_download_cut_in_its_body_is_fetched_again(s3service, fault_proxy, tmp_path, prefix, key):
    """An object of one part is one GetObject (no s3transfer): a body cut midway is fetched again from the
    start; cut every time, the task fails and leaves the destination as it was."""
    bucket, client = s3service.buckets[0], s3service.client()
    name = prefix + "small-cut.bin"
    data = os.urandom(256 * KIB)
    client.put_object(Bucket=bucket, Key=name, Body=data, **key.boto3_params())
    dest = tmp_path / "small-cut.bin"
    dest.write_bytes(b"the old content")
    task = via(fault_proxy, "ssec.s3.download", retries=1, bucket=bucket, object=name, dest=str(dest),
               sse_customer_key_file=str(key.path))
    always = fault_proxy.cut(method="GET", path=re.escape(name) + "$", bytes_down=64 * KIB, times=None)
    failed = run_task(s3service, task, tmp_path / "always", allow_failures=True)
    assert failed.get("failed") is True and always.fired >= 2, failed
    assert dest.read_bytes() == b"the old content" and not temp_files(tmp_path)

    fault_proxy.clear()
    gets = fault_proxy.count(method="GET", path=re.escape(name) + "$")
    once = fault_proxy.cut(method="GET", path=re.escape(name) + "$", bytes_down=64 * KIB, times=1)
    result = run_task(s3service, task, tmp_path / "once")
    assert result["changed"] is True and once.fired == 1, result["msg"]
    assert fault_proxy.count(method="GET", path=re.escape(name) + "$") - gets == 2
    assert dest.read_bytes() == data and not temp_files(tmp_path)


# ---- rekey --------------------------------------------------------------------------------------------------


def _put_objects(client, bucket, prefix, key, count, size=16 * KIB) -> dict:
    objects = {"%so%02d.bin" % (prefix, number): os.urandom(size) for number in range(count)}
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda item: client.put_object(Bucket=bucket, Key=item[0], Body=item[1], **key.boto3_params()),
                      objects.items()))
    return objects


def test_rekey_interrupted_over_a_prefix_then_rerun_completes(s3service, fault_proxy, tmp_path, prefix):
    """One copy always fails (500), the answer to another copy is cut after the server did it; the rerun
    completes and every object opens with the new key, none lost."""
    bucket, client = s3service.buckets[0], s3service.client()
    old, new = Key(tmp_path / "old.key"), Key(tmp_path / "new.key")
    objects = _put_objects(client, bucket, prefix, old, 12)
    task = via(fault_proxy, "ssec.s3.rekey", retries=1, bucket=bucket, prefix=prefix, concurrency=4,
               old_sse_customer_key_file=str(old.path), sse_customer_key_file=str(new.path))
    failing = fault_proxy.fail(method="PUT", header=COPY_SOURCE, path=r"o07\.bin$", status=500,
                               code="InternalError", times=None)
    lost_answer = fault_proxy.cut(method="PUT", header=COPY_SOURCE, path=r"o03\.bin$", bytes_down=10, times=1)
    faulty = run_task(s3service, task, tmp_path / "faulty", allow_failures=True)
    assert failing.fired == 2 and lost_answer.fired == 1
    print("rekey under faults: %s" % faulty["msg"])
    assert faulty.get("failed") is True
    says_what_to_do(faulty["msg"])
    # The copy whose answer was lost is recognised as done (it opens with the new key); only o07 failed.
    assert [entry["object"] for entry in faulty["failed_entries"]] == [prefix + "o07.bin"]
    assert prefix + "o03.bin" in {entry["object"] for entry in faulty["rotated"]}
    # Nothing lost: every object is there and opens with exactly one of the keys, holding its bytes.
    assert names_under(client, bucket, prefix) == sorted(objects)
    for name, data in objects.items():
        under_old, under_new = opens_with(client, bucket, name, old), opens_with(client, bucket, name, new)
        assert under_old != under_new, name
        assert read(client, bucket, name, new if under_new else old) == data, name
    assert not opens_with(client, bucket, prefix + "o07.bin", new)

    fault_proxy.clear()
    rerun, again = run_tasks(s3service, [task, task], tmp_path / "rerun")
    assert rerun["changed"] is True and rerun["counts"]["failed"] == 0, rerun["msg"]
    assert rerun["counts"]["rotated"] == 1 and rerun["counts"]["already_rotated"] == len(objects) - 1, rerun["counts"]
    assert [entry["object"] for entry in rerun["rotated"]] == [prefix + "o07.bin"]
    assert again["changed"] is False and again["counts"]["already_rotated"] == len(objects), again["counts"]
    assert names_under(client, bucket, prefix) == sorted(objects)
    for name, data in objects.items():
        assert read(client, bucket, name, new) == data, name
        assert not opens_with(client, bucket, name, old), name


def test_rekey_in_parallel_through_transient_errors(s3service, fault_proxy, tmp_path, prefix):
    bucket, client = s3service.buckets[0], s3service.client()
    old, new = Key(tmp_path / "old.key"), Key(tmp_path / "new.key")
    objects = _put_objects(client, bucket, prefix, old, 24)
    slow = fault_proxy.fail(method="PUT", header=COPY_SOURCE, status=503, code="SlowDown", times=4)
    reset = fault_proxy.cut(method="PUT", header=COPY_SOURCE, bytes_down=5, after=10, times=1)
    result = run_task(s3service, via(fault_proxy, "ssec.s3.rekey", retries=5, bucket=bucket, prefix=prefix,
                                     concurrency=8, old_sse_customer_key_file=str(old.path),
                                     sse_customer_key_file=str(new.path)), tmp_path / "play", allow_failures=True)
    print("rekey in parallel under faults: %s" % result["msg"])
    assert slow.fired == 4 and reset.fired == 1
    assert result["counts"]["failed"] == 0, result["msg"]
    assert result["counts"]["rotated"] == len(objects), result["counts"]
    for name, data in objects.items():
        assert read(client, bucket, name, new) == data, name


# ---- sync ---------------------------------------------------------------------------------------------------


def _make_tree(root: Path) -> None:
    for number in range(10):
        path = root / ("d%d" % (number % 3)) / ("f%02d.bin" % number)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(number * 3 * KIB + 1))
    (root / "d1" / "large.bin").write_bytes(os.urandom(LARGE))


def test_sync_interrupted_then_rerun_ends_as_an_uninterrupted_run(s3service, fault_proxy, tmp_path, prefix, key):
    bucket, client = s3service.buckets[0], s3service.client()
    root = tmp_path / "tree"
    _make_tree(root)
    expected = local_tree(root)
    reference = run_task(s3service, {"ssec.s3.sync": {
        "mode": "push", "path": str(root), "bucket": bucket, "prefix": prefix + "reference/",
        "part_size_mb": PART_SIZE_MB, "sse_customer_key_file": str(key.path)}}, tmp_path / "reference")
    assert reference["counts"]["uploaded"] == len(expected), reference["msg"]

    push = via(fault_proxy, "ssec.s3.sync", retries=1, mode="push", path=str(root), bucket=bucket,
               prefix=prefix + "pushed/", part_size_mb=PART_SIZE_MB, concurrency=4,
               sse_customer_key_file=str(key.path))
    cut = fault_proxy.cut(method="PUT", path=r"large\.bin\?.*partNumber=2\b", bytes_up=MIB, times=None)
    refused = fault_proxy.fail(method="PUT", path=r"f04\.bin$", status=500, code="InternalError", times=None)
    faulty = run_task(s3service, push, tmp_path / "push-faulty", allow_failures=True)
    print("push under faults: %s" % faulty["msg"])
    assert faulty.get("failed") is True and cut.fired == 2 and refused.fired == 2
    says_what_to_do(faulty["msg"])
    assert {entry["name"] for entry in faulty["failed_entries"]} == {"d1/large.bin", "d1/f04.bin"}
    assert faulty["counts"]["uploaded"] == len(expected) - 2
    assert not uploads_under(client, bucket, prefix)

    fault_proxy.clear()
    rerun, again = run_tasks(s3service, [push, push], tmp_path / "push-rerun")
    assert rerun["counts"]["uploaded"] == 2 and rerun["counts"]["failed"] == 0, rerun["msg"]
    assert again["changed"] is False, again["msg"]
    assert remote_tree(client, bucket, prefix + "pushed/", key) == \
        remote_tree(client, bucket, prefix + "reference/", key) == expected

    # Pull: one file's download is cut every time; the rerun completes the tree as an uninterrupted pull.
    dest = tmp_path / "pulled"
    pull = via(fault_proxy, "ssec.s3.sync", retries=1, mode="pull", path=str(dest), bucket=bucket,
               prefix=prefix + "pushed/", concurrency=4, sse_customer_key_file=str(key.path))
    fault_proxy.cut(method="GET", path=r"large\.bin$", bytes_down=MIB, times=None)
    faulty = run_task(s3service, pull, tmp_path / "pull-faulty", allow_failures=True)
    assert faulty.get("failed") is True, faulty["msg"]
    assert {entry["name"] for entry in faulty["failed_entries"]} == {"d1/large.bin"}
    assert temp_files(dest) == [] and "d1/large.bin" not in local_tree(dest)
    fault_proxy.clear()
    rerun = run_task(s3service, pull, tmp_path / "pull-rerun")
    assert rerun["counts"]["downloaded"] == 1 and rerun["counts"]["unchanged"] == len(expected) - 1, rerun["msg"]
    assert local_tree(dest) == expected


def test_sync_in_parallel_through_transient_errors(s3service, fault_proxy, tmp_path, prefix, key):
    bucket, client = s3service.buckets[0], s3service.client()
    root = tmp_path / "tree"
    _make_tree(root)
    expected = local_tree(root)
    slow = fault_proxy.fail(method="PUT", status=503, code="SlowDown", times=4)
    reset = fault_proxy.cut(method="PUT", path=r"partNumber=", bytes_up=256 * KIB, times=1)
    result = run_task(s3service, via(fault_proxy, "ssec.s3.sync", retries=5, mode="push", path=str(root),
                                     bucket=bucket, prefix=prefix, part_size_mb=PART_SIZE_MB, concurrency=8,
                                     sse_customer_key_file=str(key.path)), tmp_path / "play")
    assert slow.fired == 4 and reset.fired == 1
    assert result["counts"]["uploaded"] == len(expected), result["msg"]
    assert remote_tree(client, bucket, prefix, key) == expected
    assert not uploads_under(client, bucket, prefix)
    dest = tmp_path / "pulled"
    slow = fault_proxy.fail(method="GET", status=503, code="SlowDown", times=4)
    result = run_task(s3service, via(fault_proxy, "ssec.s3.sync", retries=5, mode="pull", path=str(dest),
                                     bucket=bucket, prefix=prefix, concurrency=8,
                                     sse_customer_key_file=str(key.path)), tmp_path / "pull")
    assert slow.fired == 4 and result["counts"]["downloaded"] == len(expected), result["msg"]
    assert local_tree(dest) == expected


# ---- the server killed --------------------------------------------------------------------------------------


def test_server_killed_during_transfers_then_restarted(s3service_factory, tmp_path, key):
    """SeaweedFS gets SIGKILL while an upload and a download are in flight (slowed down by the proxy): both tasks
    fail with a message that says what happened and what to do, the old object and the old dest are intact;
    once SeaweedFS is restarted on the same data, the rerun converges."""
    from faultproxy import FaultProxy  # pylint: disable=import-outside-toplevel

    service = s3service_factory()
    service.start()
    bucket, client = service.buckets[0], service.client()
    up_name, down_name = "killed/up.bin", "killed/down.bin"
    old = os.urandom(32 * KIB)
    client.put_object(Bucket=bucket, Key=up_name, Body=old, **key.boto3_params())
    data = os.urandom(LARGE)
    client.put_object(Bucket=bucket, Key=down_name, Body=data, **key.boto3_params())
    src = tmp_path / "up.bin"
    src.write_bytes(os.urandom(LARGE))
    dest = tmp_path / "dest" / "down.bin"
    dest.parent.mkdir()
    dest.write_bytes(b"the old content")

    with FaultProxy.for_service(service, tmp_path / "proxy-tls") as proxy:
        tasks = [
            via(proxy, "ssec.s3.object", retries=1, bucket=bucket, object=up_name, src=str(src),
                part_size_mb=PART_SIZE_MB, concurrency=1, sse_customer_key_file=str(key.path)),
            via(proxy, "ssec.s3.download", retries=1, bucket=bucket, object=down_name, dest=str(dest),
                concurrency=1, sse_customer_key_file=str(key.path)),
        ]
        proxy.throttle(bytes_per_second=2 * MIB)
        # The two tasks run at once (two plays in two threads), each killed midway.
        outcome = {}

        def run(number):
            outcome[number] = run_task(service, tasks[number], tmp_path / ("killed-%d" % number),
                                       allow_failures=True)

        threads = [threading.Thread(target=run, args=(number,)) for number in (0, 1)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 120
        while not (proxy.count(method="PUT", path="partNumber=") and proxy.count(method="GET", path="down")):
            assert time.monotonic() < deadline and all(thread.is_alive() for thread in threads), proxy.requests
            time.sleep(0.05)
        time.sleep(0.5)
        service.kill()
        for thread in threads:
            thread.join(300)
        upload, download = outcome[0], outcome[1]
        print("upload: %s\ndownload: %s" % (upload["msg"], download["msg"]))
        for result in (upload, download):
            assert result.get("failed") is True, result
            says_what_to_do(result["msg"])
            assert "server is running" in result["msg"], result["msg"]
        assert "list-multipart-uploads" in upload["msg"] and "list-multipart-uploads" not in download["msg"]
        assert dest.read_bytes() == b"the old content" and temp_files(dest.parent) == []

        proxy.throttle(None)
        service.restart()
        client = service.client()
        assert read(client, bucket, up_name, key) == old
        orphans = uploads_under(client, bucket, "killed/")
        print("multipart uploads left open by the killed server: %d" % len(orphans))

        rerun = run_tasks(service, tasks, tmp_path / "rerun")
        assert all(result["changed"] for result in rerun), [result["msg"] for result in rerun]
        assert read(client, bucket, up_name, key) == src.read_bytes()
        assert dest.read_bytes() == data and temp_files(dest.parent) == []
        # The rerun closed every upload it opened; what the dead server held is aborted here.
        assert uploads_under(client, bucket, "killed/") == orphans
        for upload_id, name in orphans.items():
            client.abort_multipart_upload(Bucket=bucket, Key=name, UploadId=upload_id)


# ---- answers lost after the server did the work -------------------------------------------------------------


def test_upload_whose_complete_answer_is_lost(s3service, fault_proxy, tmp_path, prefix, key):
    """The server completes the multipart upload but its answer is cut; the SDK sends Complete again."""
    bucket, client = s3service.buckets[0], s3service.client()
    src = tmp_path / "large.bin"
    src.write_bytes(os.urandom(LARGE))
    name = prefix + "large.bin"
    task = via(fault_proxy, "ssec.s3.object", retries=2, bucket=bucket, object=name, src=str(src),
               part_size_mb=PART_SIZE_MB, sse_customer_key_file=str(key.path))
    lost = fault_proxy.cut(method="POST", path=r"\?uploadId=", bytes_down=5, times=1)
    result = run_task(s3service, task, tmp_path / "play", allow_failures=True)
    print("complete answer lost: %s" % result["msg"])
    assert lost.fired == 1
    assert read(client, bucket, name, key) == src.read_bytes()
    assert not uploads_under(client, bucket, prefix)
    assert result.get("failed") is not True, result["msg"]
    again = run_task(s3service, task, tmp_path / "again")
    assert again["changed"] is False, again["msg"]


def test_rekey_multipart_rewrite_interrupted_then_rerun(s3service, fault_proxy, tmp_path, prefix):
    """A rewrite in parts (above multipart_copy_threshold_mb): a part cut every time fails the object, which stays
    whole under the old key with no upload left open; a lost answer to Complete still counts as rotated."""
    bucket, client = s3service.buckets[0], s3service.client()
    old, new = Key(tmp_path / "old.key"), Key(tmp_path / "new.key")
    name = prefix + "large.bin"
    data = os.urandom(LARGE)
    client.put_object(Bucket=bucket, Key=name, Body=data, **old.boto3_params())
    task = via(fault_proxy, "ssec.s3.rekey", retries=1, bucket=bucket, object=name, multipart_copy_threshold_mb=5,
               old_sse_customer_key_file=str(old.path), sse_customer_key_file=str(new.path))
    cut = fault_proxy.cut(method="PUT", path=r"partNumber=2\b", bytes_up=MIB, times=None)
    faulty = run_task(s3service, task, tmp_path / "faulty", allow_failures=True)
    print("multipart rekey, a part cut every time: %s" % faulty["msg"])
    assert faulty.get("failed") is True and cut.fired >= 2
    says_what_to_do(faulty["msg"])
    assert read(client, bucket, name, old) == data and not opens_with(client, bucket, name, new)
    assert not uploads_under(client, bucket, prefix)

    fault_proxy.clear()
    lost = fault_proxy.cut(method="POST", path=r"\?uploadId=", bytes_down=5, times=1)
    rerun = run_task(s3service, task, tmp_path / "rerun", allow_failures=True)
    print("multipart rekey, the answer to Complete lost: %s" % rerun["msg"])
    assert lost.fired == 1
    assert read(client, bucket, name, new) == data and not opens_with(client, bucket, name, old)
    assert not uploads_under(client, bucket, prefix)
    assert rerun.get("failed") is not True and rerun["counts"]["rotated"] == 1, rerun["msg"]

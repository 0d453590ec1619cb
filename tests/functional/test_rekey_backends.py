# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ssec.s3.rekey and the SSE-C state of an object, on every real backend here: SeaweedFS and Ceph RGW.

The backends differ where it matters (measured): a wrong key gets 403 from SeaweedFS and 400 from RGW; RGW
answers CopyObject from an SSE-C source with 501 and UploadPartCopy from one with 400 (it decrypts the source
with the destination's key); SeaweedFS copies whole objects but answers UploadPartCopy with 501. The rotation
must end the same everywhere: every object under the new key with identical bytes, the old key refused, the
digest re-sealed, metadata, content type, headers and tags carried, no multipart upload left open, and a rerun
that changes nothing.

Everything is checked with boto3 straight against the server (not through the fault proxy, not with the
module's results). The fault proxy (tests/support/faultproxy.py) makes SeaweedFS answer as RGW does (501 to
CopyObject, 400 to UploadPartCopy), so the fallbacks run on both, and cuts connections in the middle of a
streamed rewrite. The RGW tests are skipped where Ceph RGW is not installed.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from playbook import Key, kill_playbook, run_task, run_tasks, start_tasks

from ansible_collections.ssec.s3.plugins.module_utils import _digest as digest, _remote as remote
from ansible_collections.ssec.s3.plugins.module_utils._errors import SsecError
from ansible_collections.ssec.s3.plugins.module_utils._sse_key import CustomerKey

KIB = 1024
MIB = 1024 * KIB
COPY_SOURCE = "x-amz-copy-source"
# Three parts of 8 MiB (the collection's smallest part size) at a lowered threshold of 5 MiB.
LARGE = 17 * MIB + 123 * KIB
THRESHOLD_MB = 5
TAGS = {"team": "data", "retention": "7y"}
HEADERS = {"ContentType": "text/csv", "CacheControl": "max-age=60", "ContentDisposition": "attachment; filename=a.csv"}


# ---- the backends -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=["seaweedfs", "rgw"])
def service(request):
    """The session's SeaweedFS, or a Ceph RGW started for this module (skipped when RGW is not available)."""
    if request.param == "seaweedfs":
        yield request.getfixturevalue("s3service")
        return
    import s3service as support  # pylint: disable=import-outside-toplevel

    try:
        rgw = support.S3Service(backend="rgw")
    except (TypeError, ValueError) as exc:
        pytest.skip("this test tooling has no Ceph RGW backend: %s" % exc)
    try:
        rgw.start()
    except getattr(support, "BackendUnavailable", ()) as exc:
        pytest.skip("Ceph RGW is not available here: %s" % exc)
    try:
        yield rgw
    finally:
        rgw.stop()


@pytest.fixture
def proxy(service, tmp_path):
    from faultproxy import FaultProxy  # pylint: disable=import-outside-toplevel

    with FaultProxy.for_service(service, tmp_path / "faultproxy-tls") as fault_proxy:
        yield fault_proxy


@pytest.fixture
def prefix():
    return "rekey-backends-%s/" % uuid.uuid4().hex[:12]


def s3(service):
    """A boto3 client straight to the server, as the collection configures its own (no aws-chunked trailers)."""
    return service.client(config=Config(signature_version="s3v4", s3={"addressing_style": "path"},
                                        request_checksum_calculation="when_required",
                                        response_checksum_validation="when_required",
                                        retries={"max_attempts": 3, "mode": "standard"}))


def is_rgw(service):
    return getattr(service, "backend", "seaweedfs") == "rgw"


# ---- objects, and what the server holds ---------------------------------------------------------------------


class Obj:
    """One object of a test: its name, bytes, the key it is written with, and what it carries."""

    def __init__(self, name, size, key=None, sealed=True, tags=None, **headers):
        self.name = name
        self.data = os.urandom(size)
        self.key = key
        self.sealed = sealed and key is not None
        self.tags = dict(tags or {})
        self.headers = headers
        self.metadata = {"origin": "test", "size": str(size)}

    @property
    def sha256(self):
        return hashlib.sha256(self.data).hexdigest()

    def put(self, client, bucket):
        metadata = dict(self.metadata)
        if self.sealed:
            metadata[digest.METADATA_NAME] = digest.seal(CustomerKey(self.key.raw), self.sha256)
        params = dict(self.headers)
        if self.tags:
            params["Tagging"] = "&".join("%s=%s" % item for item in self.tags.items())
        if self.key is not None:
            params.update(self.key.boto3_params())
        client.put_object(Bucket=bucket, Key=self.name, Body=self.data, Metadata=metadata, **params)


def put_all(client, bucket, objects):
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda obj: obj.put(client, bucket), objects))


def read(client, bucket, name, key=None):
    params = key.boto3_params() if key is not None else {}
    return client.get_object(Bucket=bucket, Key=name, **params)["Body"].read()


def refused(client, bucket, name, key):
    """The HTTP status of a GET with ``key``: 400 or 403 when the server refuses it, 200 when it serves it."""
    try:
        read(client, bucket, name, key)
    except ClientError as exc:
        return exc.response["ResponseMetadata"]["HTTPStatusCode"]
    return 200


def open_uploads(client, bucket, prefix):
    answer = client.list_multipart_uploads(Bucket=bucket, Prefix=prefix)
    return [(upload["Key"], upload["UploadId"]) for upload in answer.get("Uploads", [])]


def check_rotated(client, bucket, obj, old, new):
    """``obj`` opens with the new key only, with identical bytes, its headers, metadata and tags, and a digest
    that opens with the new key (only) when it had one."""
    assert read(client, bucket, obj.name, new) == obj.data, obj.name
    assert refused(client, bucket, obj.name, old) in (400, 403), obj.name
    head = client.head_object(Bucket=bucket, Key=obj.name, **new.boto3_params())
    assert head["ContentLength"] == len(obj.data), obj.name
    assert head.get("SSECustomerKeyMD5", "").split(",")[0].strip() == new.md5_b64, obj.name
    for name, value in obj.headers.items():
        assert head.get(name) == value, (obj.name, name, head.get(name))
    metadata = {name.lower(): value for name, value in head["Metadata"].items()}
    sealed = metadata.pop(digest.METADATA_NAME, None)
    assert metadata == obj.metadata, obj.name
    if obj.sealed or obj.key is None:  # a plaintext object encrypted in place gets a digest too
        assert digest.unseal(CustomerKey(new.raw), sealed) == obj.sha256, obj.name
        if obj.key is not None:
            with pytest.raises(digest.DigestError):
                digest.unseal(CustomerKey(old.raw), sealed)
    else:
        assert sealed is None, obj.name
    tags = client.get_object_tagging(Bucket=bucket, Key=obj.name).get("TagSet", [])  # RGW: none without tags
    assert {tag["Key"]: tag["Value"] for tag in tags} == obj.tags, obj.name


def rekey_task(bucket, old, new, **args):
    return {"ssec.s3.rekey": dict({"bucket": bucket, "old_sse_customer_key_file": str(old.path),
                                   "sse_customer_key_file": str(new.path)}, **args)}


def via(proxy, task, retries=1):
    (module, args), = task.items()
    return {module: dict(args, endpoint_url=proxy.endpoint_url, retries=retries)}


def methods(result):
    return {entry["object"]: entry["method"] for entry in result["rotated"]}


def timed(service, task, workdir, **kwargs):
    start = time.monotonic()
    result = run_task(service, task, workdir, **kwargs)
    return result, time.monotonic() - start


# ---- the SSE-C state of an object ---------------------------------------------------------------------------


def test_state_of_an_object_on_each_backend(service, prefix, tmp_path):
    """remote.inspect, the one place that reads the state: every backend's answers give the same states, and a
    name the server refuses is named as such, never read as "another key"."""
    bucket, client = service.buckets[0], s3(service)
    mine, other = Key(tmp_path / "mine.key"), Key(tmp_path / "other.key")
    put_all(client, bucket, [Obj(prefix + "sse-c.bin", 10, mine), Obj(prefix + "plain.txt", 10)])
    key = CustomerKey(mine.raw)
    wrong = CustomerKey(other.raw)

    def state(name, with_key):
        seen = remote.inspect(client, bucket, prefix + name, with_key)
        return seen.exists, seen.encryption, seen.key_matches

    raw = {}
    for label, with_key in (("mine", mine), ("other", other), ("none", None)):
        raw[label] = refused(client, bucket, prefix + "sse-c.bin", with_key)
    raw["key to plaintext"] = refused(client, bucket, prefix + "plain.txt", mine)
    print("%s answers a GET of an SSE-C object: %s" % (getattr(service, "backend", "seaweedfs"), raw))
    assert raw["mine"] == 200 and raw["none"] == 400
    assert raw["other"] == (400 if is_rgw(service) else 403)
    assert raw["key to plaintext"] == 200  # both ignore a key sent for a plaintext object (AWS: 400)

    assert state("sse-c.bin", key) == (True, remote.SSE_C, True)
    assert state("sse-c.bin", wrong) == (True, remote.SSE_C, False)
    assert state("sse-c.bin", None) == (True, remote.SSE_C, None)
    assert state("plain.txt", key) == (True, remote.ENCRYPTION_NONE, None)
    assert state("plain.txt", None) == (True, remote.ENCRYPTION_NONE, None)
    assert state("missing.txt", key)[0] is False and state("missing.txt", None)[0] is False

    for name in ("./y", "a/../b", "a/./b"):
        for with_key in (key, wrong, None):
            try:
                seen = remote.inspect(client, bucket, prefix + name, with_key)
            except SsecError as exc:
                assert exc.status == 400, exc.message
                assert "does not accept this object name" in exc.message, exc.message
                assert "another key" not in exc.message, exc.message
            else:  # a server that takes the name as it is: then there is no such object
                assert not seen.exists, (name, seen.state)


def test_state_when_listing_is_denied(service, prefix, tmp_path):
    """Two 400s (RGW's answer for a wrong key) where the credentials may not list the bucket: the error names both
    possible causes and asserts neither. A 403 to the key (SeaweedFS, AWS) needs no listing."""
    bucket, client = service.buckets[1], s3(service)
    mine, other = Key(tmp_path / "mine.key"), Key(tmp_path / "other.key")
    put_all(client, bucket, [Obj(prefix + "sse-c.bin", 10, mine)])
    policy = {"Version": "2012-10-17", "Statement": [{"Sid": "NoListing", "Effect": "Deny", "Principal": "*",
                                                      "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::" + bucket}]}
    client.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    try:
        with pytest.raises(ClientError):
            client.list_objects_v2(Bucket=bucket, Prefix=prefix)
        if is_rgw(service):
            with pytest.raises(SsecError) as caught:
                remote.inspect(client, bucket, prefix + "sse-c.bin", CustomerKey(other.raw))
            assert caught.value.status == 400
            assert ("Either the object is SSE-C encrypted with another key, or the server does not accept this object "
                    "name" in caught.value.message), caught.value.message
            assert "s3:ListBucket" in caught.value.message
        else:
            seen = remote.inspect(client, bucket, prefix + "sse-c.bin", CustomerKey(other.raw))
            assert (seen.exists, seen.encryption, seen.key_matches) == (True, remote.SSE_C, False)
        seen = remote.inspect(client, bucket, prefix + "sse-c.bin", CustomerKey(mine.raw))
        assert (seen.exists, seen.encryption, seen.key_matches) == (True, remote.SSE_C, True)
    finally:
        client.delete_bucket_policy(Bucket=bucket)
        client.delete_object(Bucket=bucket, Key=prefix + "sse-c.bin")


def test_object_info_on_each_backend(service, prefix, tmp_path):
    """ssec.s3.object_info reads the same four states on every backend (RGW: 400 for a wrong key, 200 for a key
    sent to a plaintext object)."""
    bucket, client = service.buckets[0], s3(service)
    mine, other = Key(tmp_path / "mine.key"), Key(tmp_path / "other.key")
    put_all(client, bucket, [Obj(prefix + "sse-c.bin", 10, mine), Obj(prefix + "plain.txt", 10)])

    def info(name, key):
        args = {"bucket": bucket, "object": prefix + name}
        if key is not None:
            args["sse_customer_key_file"] = str(key.path)
        return {"ssec.s3.object_info": args}

    results = run_tasks(service, [info("sse-c.bin", mine), info("sse-c.bin", other), info("sse-c.bin", None),
                                  info("plain.txt", mine), info("missing.txt", other)], tmp_path / "play")
    seen = [(result["exists"], result["encryption"], result["key_matches"]) for result in results]
    assert seen == [(True, "sse-c", True), (True, "sse-c", False), (True, "sse-c", None), (True, "none", None),
                    (False, None, None)], seen
    assert results[0]["size"] == 10 and results[0]["sha256"] == hashlib.sha256(read(client, bucket, prefix + "sse-c.bin", mine)).hexdigest()


# ---- rotation -----------------------------------------------------------------------------------------------


def test_rekey_below_the_threshold(service, prefix, tmp_path):
    """Objects up to the multipart threshold: one CopyObject each where the server can (SeaweedFS), otherwise
    (RGW: 501) a streamed re-encryption - one GET and one PutObject for an object of one part, a multipart
    upload for a larger one. Check mode first, then the run, then a rerun that changes nothing."""
    bucket, client = service.buckets[0], s3(service)
    old, new, unknown = Key(tmp_path / "old.key"), Key(tmp_path / "new.key"), Key(tmp_path / "unknown.key")
    rotating = [
        Obj(prefix + "a.csv", 3 * KIB, old, tags=TAGS, **HEADERS),
        Obj(prefix + "empty.bin", 0, old),
        Obj(prefix + "mid.bin", 3 * MIB + 7, old, sealed=False, tags={"kind": "mid"}, ContentType="application/x-mid"),
        Obj(prefix + "nine.bin", 9 * MIB + 1, old, tags=TAGS, ContentType="application/x-nine"),  # two parts
        Obj(prefix + "name with space é.txt", 100, old, ContentType="text/plain; charset=utf-8"),
    ]
    others = [Obj(prefix + "done.txt", 50, new), Obj(prefix + "unknown.txt", 60, unknown), Obj(prefix + "plain.txt", 70)]
    put_all(client, bucket, rotating + others)
    task = rekey_task(bucket, old, new, prefix=prefix, concurrency=4, fail_on_unknown_key=False)

    check, = run_tasks(service, [task], tmp_path / "check", check=True)
    run, seconds = timed(service, task, tmp_path / "run")
    rerun = run_task(service, task, tmp_path / "rerun")
    print("%s, %d objects below the threshold: %.1f s, methods %s; %s"
          % (getattr(service, "backend", "seaweedfs"), len(rotating), seconds, sorted(set(methods(run).values())), run["msg"]))

    expected = {"rotated": 5, "already_rotated": 1, "unknown_key": 1, "plaintext": 1, "failed": 0}
    assert check["changed"] is True and check["counts"] == expected, check["msg"]
    assert set(methods(check).values()) == {"copy"}
    assert run["changed"] is True and run["counts"] == expected, run["msg"]
    if is_rgw(service):
        assert set(methods(run).values()) == {"reencrypt-stream"}, run["rotated"]
        assert "cannot copy SSE-C objects onto a new key" in run["msg"], run["msg"]
    else:
        assert set(methods(run).values()) == {"copy"}, run["rotated"]
    digests = {entry["object"]: entry["digest"] for entry in run["rotated"]}
    assert digests[prefix + "mid.bin"] == "absent" and digests[prefix + "a.csv"] == "resealed"
    for obj in rotating:
        check_rotated(client, bucket, obj, old, new)
    assert read(client, bucket, prefix + "unknown.txt", unknown) == others[1].data
    assert read(client, bucket, prefix + "plain.txt") == others[2].data
    assert read(client, bucket, prefix + "done.txt", new) == others[0].data
    assert not open_uploads(client, bucket, prefix)
    assert rerun["changed"] is False and rerun["counts"] == dict(expected, rotated=0, already_rotated=6), rerun["msg"]


def test_rekey_above_a_lowered_threshold(service, prefix, tmp_path):
    """Objects above multipart_copy_threshold_mb: UploadPartCopy is refused (SeaweedFS 501, RGW 400 as it
    decrypts with the new key), the upload is aborted and the object streamed; nothing is left open."""
    bucket, client = service.buckets[0], s3(service)
    old, new = Key(tmp_path / "old.key"), Key(tmp_path / "new.key")
    rotating = [Obj(prefix + "large.bin", LARGE, old, tags=TAGS, **HEADERS),
                Obj(prefix + "six.bin", 6 * MIB, old, sealed=False, ContentType="application/x-six"),
                Obj(prefix + "small.txt", 10 * KIB, old, tags={"small": "yes"})]
    put_all(client, bucket, rotating)
    task = rekey_task(bucket, old, new, prefix=prefix, concurrency=3, multipart_copy_threshold_mb=THRESHOLD_MB)

    run, seconds = timed(service, task, tmp_path / "run")
    rerun = run_task(service, task, tmp_path / "rerun")
    print("%s, above a %d MiB threshold (%.1f MiB in all): %.1f s, methods %s; %s"
          % (getattr(service, "backend", "seaweedfs"), THRESHOLD_MB, sum(len(obj.data) for obj in rotating) / MIB,
             seconds, methods(run), run["msg"]))
    assert run["changed"] is True and run["counts"]["rotated"] == 3 and run["counts"]["failed"] == 0, run["msg"]
    assert methods(run)[prefix + "large.bin"] == "reencrypt-stream"
    assert methods(run)[prefix + "six.bin"] == "reencrypt-stream"
    assert methods(run)[prefix + "small.txt"] == ("reencrypt-stream" if is_rgw(service) else "copy")
    for obj in rotating:
        check_rotated(client, bucket, obj, old, new)
    assert not open_uploads(client, bucket, prefix)
    assert rerun["changed"] is False and rerun["counts"]["already_rotated"] == 3, rerun["msg"]

    # And back again, from objects that were themselves written in parts (RGW: empty ETag from Complete).
    back = run_task(service, rekey_task(bucket, new, old, prefix=prefix, multipart_copy_threshold_mb=THRESHOLD_MB),
                    tmp_path / "back")
    assert back["counts"]["rotated"] == 3 and back["counts"]["failed"] == 0, back["msg"]
    for obj in rotating:
        check_rotated(client, bucket, obj, old=new, new=old)
    assert not open_uploads(client, bucket, prefix)


def test_encrypt_plaintext_on_each_backend(service, prefix, tmp_path):
    """Plaintext objects encrypted in place: CopyObject (below the threshold), or streamed (above it)."""
    bucket, client = service.buckets[0], s3(service)
    old, new = Key(tmp_path / "old.key"), Key(tmp_path / "new.key")
    plain = [Obj(prefix + "plain.csv", 2 * KIB, tags=TAGS, **HEADERS), Obj(prefix + "plain-large.bin", LARGE)]
    put_all(client, bucket, plain)
    task = rekey_task(bucket, old, new, prefix=prefix, encrypt_plaintext=True, multipart_copy_threshold_mb=THRESHOLD_MB)
    run = run_task(service, task, tmp_path / "run")
    rerun = run_task(service, task, tmp_path / "rerun")
    print("%s, encrypt_plaintext: methods %s" % (getattr(service, "backend", "seaweedfs"), methods(run)))
    assert run["counts"]["rotated"] == 2 and run["counts"]["failed"] == 0, run["msg"]
    assert methods(run)[prefix + "plain-large.bin"] == "reencrypt-stream"
    for obj in plain:
        check_rotated(client, bucket, obj, old, new)
    assert not open_uploads(client, bucket, prefix)
    assert rerun["changed"] is False and rerun["counts"]["already_rotated"] == 2, rerun["msg"]


# ---- faults -------------------------------------------------------------------------------------------------


def _copies(proxy, parts):
    """How many CopyObject (``parts`` false) or UploadPartCopy requests passed the proxy."""
    return sum(1 for request in proxy.requests
               if request.method == "PUT" and COPY_SOURCE in request.headers and ("partNumber=" in request.target) == parts)


def test_rekey_when_copies_are_refused(service, proxy, prefix, tmp_path):
    """Every copy answered as RGW answers it (the proxy on SeaweedFS, the server itself on RGW): CopyObject 501,
    UploadPartCopy 400. The first refusal of a run decides for the objects after it: one attempt of each."""
    bucket, client = service.buckets[0], s3(service)
    old, new = Key(tmp_path / "old.key"), Key(tmp_path / "new.key")
    rotating = [Obj(prefix + "s%02d.txt" % number, 20 * KIB + number, old, tags={"n": str(number)}, **HEADERS)
                for number in range(6)]
    rotating += [Obj(prefix + "large-%d.bin" % number, LARGE, old, tags=TAGS) for number in range(2)]
    put_all(client, bucket, rotating)
    proxy.fail(method="PUT", header=COPY_SOURCE, path=r"^[^?]*$", status=501, code="NotImplemented",
               message="A header you provided implies functionality that is not implemented", times=None)
    proxy.fail(method="PUT", header=COPY_SOURCE, path=r"[?&]partNumber=", status=400, code="InvalidArgument",
               message="The calculated MD5 hash of the key did not match the hash that was provided.", times=None)
    task = rekey_task(bucket, old, new, prefix=prefix, concurrency=1, multipart_copy_threshold_mb=THRESHOLD_MB)

    run = run_task(service, via(proxy, task), tmp_path / "run")
    print("%s, copies refused: %s" % (getattr(service, "backend", "seaweedfs"), run["msg"]))
    assert run["counts"]["rotated"] == len(rotating) and run["counts"]["failed"] == 0, run["msg"]
    assert set(methods(run).values()) == {"reencrypt-stream"}
    assert _copies(proxy, parts=False) == 1 and _copies(proxy, parts=True) == 1, proxy.requests
    for obj in rotating:
        check_rotated(client, bucket, obj, old, new)
    assert not open_uploads(client, bucket, prefix)
    rerun = run_task(service, via(proxy, task), tmp_path / "rerun")
    assert rerun["changed"] is False and rerun["counts"]["already_rotated"] == len(rotating), rerun["msg"]


def test_rekey_streamed_rewrite_cut_then_rerun(service, proxy, prefix, tmp_path):
    """A streamed rewrite in parts whose second part is cut every time fails that object, which stays whole under
    the old key, its uploads aborted; with the fault gone, a lost answer to Complete still counts as rotated;
    the next run changes nothing."""
    bucket, client = service.buckets[0], s3(service)
    old, new = Key(tmp_path / "old.key"), Key(tmp_path / "new.key")
    large = Obj(prefix + "large.bin", LARGE, old, tags=TAGS, **HEADERS)
    put_all(client, bucket, [large])
    task = rekey_task(bucket, old, new, object=large.name, multipart_copy_threshold_mb=THRESHOLD_MB)
    # A streamed part: no copy source. On SeaweedFS the multipart copy is refused by the server itself (501).
    cut = proxy.cut(method="PUT", path=r"partNumber=2\b", bytes_up=MIB, times=None)
    faulty = run_task(service, via(proxy, task), tmp_path / "faulty", allow_failures=True)
    print("%s, a streamed part cut every time: %s" % (getattr(service, "backend", "seaweedfs"), faulty["msg"]))
    assert faulty.get("failed") is True and cut.fired >= 2, faulty["msg"]
    assert "run the task again" in faulty["msg"].lower() or "check that the server" in faulty["msg"].lower(), faulty["msg"]
    assert read(client, bucket, large.name, old) == large.data
    assert refused(client, bucket, large.name, new) in (400, 403)
    assert not open_uploads(client, bucket, prefix)

    proxy.clear()
    lost = proxy.cut(method="POST", path=r"\?uploadId=", bytes_down=5, times=1)
    rerun = run_task(service, via(proxy, task, retries=2), tmp_path / "rerun", allow_failures=True)
    print("%s, the answer to Complete lost: %s" % (getattr(service, "backend", "seaweedfs"), rerun["msg"]))
    assert lost.fired == 1
    assert rerun.get("failed") is not True and rerun["counts"]["rotated"] == 1, rerun["msg"]
    check_rotated(client, bucket, large, old, new)
    assert not open_uploads(client, bucket, prefix)
    again = run_task(service, task, tmp_path / "again")
    assert again["changed"] is False and again["counts"]["already_rotated"] == 1, again["msg"]


def test_rekey_lost_answers_of_small_rewrites(service, proxy, prefix, tmp_path):
    """The answer to a rewrite of a small object is cut after the server did it (a CopyObject on SeaweedFS, the
    PutObject of the streamed rewrite on RGW): the object still counts as rotated, with its bytes."""
    bucket, client = service.buckets[0], s3(service)
    old, new = Key(tmp_path / "old.key"), Key(tmp_path / "new.key")
    rotating = [Obj(prefix + "o%02d.bin" % number, 16 * KIB, old) for number in range(8)]
    put_all(client, bucket, rotating)
    # The write of o03 (a copy or a PUT with the new key) loses its answer once.
    lost = proxy.cut(method="PUT", path=r"o03\.bin$", bytes_down=5, times=1)
    run = run_task(service, via(proxy, rekey_task(bucket, old, new, prefix=prefix, concurrency=4), retries=2),
                   tmp_path / "run", allow_failures=True)
    assert lost.fired == 1
    assert run.get("failed") is not True and run["counts"]["rotated"] == len(rotating), run["msg"]
    for obj in rotating:
        check_rotated(client, bucket, obj, old, new)


# ---- killed midway ------------------------------------------------------------------------------------------


def test_rekey_killed_midway_then_rerun(service, prefix, tmp_path):
    """A rotation killed with SIGKILL midway leaves every object whole under exactly one of the two keys; the rerun
    rotates the rest, the run after it changes nothing, and no upload is left open."""
    bucket, client = service.buckets[0], s3(service)
    old, new = Key(tmp_path / "old.key"), Key(tmp_path / "new.key")
    rotating = [Obj(prefix + "o%03d.bin" % number, 64 * KIB, old) for number in range(80)]
    put_all(client, bucket, rotating)
    task = rekey_task(bucket, old, new, prefix=prefix)

    def opens_with(obj, key):
        try:
            head = client.head_object(Bucket=bucket, Key=obj.name, **key.boto3_params())
        except ClientError:
            return False
        return head.get("SSECustomerKeyMD5", "").split(",")[0].strip() == key.md5_b64

    proc = start_tasks(service, [rekey_task(bucket, old, new, prefix=prefix, concurrency=1)], tmp_path / "killed")
    deadline = time.monotonic() + 300
    while not opens_with(rotating[9], new):
        assert proc.poll() is None, "the rotation ended before it could be killed"
        assert time.monotonic() < deadline, "the rotation did not get under way"
        time.sleep(0.05)
    kill_playbook(proc, tmp_path / "killed")
    time.sleep(1)  # a request sent before the kill may still complete on the server

    with ThreadPoolExecutor(max_workers=8) as pool:
        seen = list(pool.map(lambda obj: (opens_with(obj, old), opens_with(obj, new)), rotating))
    done = {obj.name for obj, (_under_old, under_new) in zip(rotating, seen, strict=True) if under_new}
    print("%s, rekey killed after %d of %d objects" % (getattr(service, "backend", "seaweedfs"), len(done), len(rotating)))
    assert all(under_old != under_new for under_old, under_new in seen), "an object opens with neither key, or both"
    assert 0 < len(done) < len(rotating)
    for obj, (under_old, _under_new) in zip(rotating, seen, strict=True):
        assert read(client, bucket, obj.name, old if under_old else new) == obj.data, obj.name

    rerun, third = run_tasks(service, [task, task], tmp_path / "rerun")
    assert rerun["counts"]["rotated"] == len(rotating) - len(done), rerun["msg"]
    assert {entry["object"] for entry in rerun["already_rotated"]} == done
    assert third["changed"] is False and third["counts"]["already_rotated"] == len(rotating), third["msg"]
    with ThreadPoolExecutor(max_workers=8) as pool:
        assert all(pool.map(lambda obj: read(client, bucket, obj.name, new) == obj.data, rotating))
    assert not open_uploads(client, bucket, prefix)

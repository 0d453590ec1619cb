# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Interrupted runs: ``ssec.s3.sync`` (push and pull) and ``ssec.s3.rekey`` killed midway, then run again.

Each run is a real ``ansible-playbook`` started in the background in its own process group, against the real
server (SeaweedFS over TLS). The test waits until the work is visibly under way - some objects written (push),
some files in place (pull), some objects opening with the new key (rekey) - then kills the whole process tree
(ansible-playbook, its workers, which ansible-core puts in sessions of their own, and the module) with SIGKILL, at
one instant: no ``finally``, no abort, no cleanup runs. It checks that the kill really came midway (some but not
all done), what the killed run left behind, that a rerun converges to exactly the state of an uninterrupted run,
and that the run after that changes nothing.
"""

from __future__ import annotations

import hashlib
import os
import random
import re
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from playbook import (
    Key,
    collections_path,
    kill_playbook,
    open_multipart_uploads,
    run_task,
    run_tasks,
    sha256_file,
    start_tasks,
)

MIB = 1024 * 1024
KIB = 1024
# The tree: DIRS directories of FILES_PER_DIR files; one file of each directory is LARGE (a multipart upload of
# three PART_SIZE_MB parts), spread through the name order so that a kill finds one in flight.
DIRS, FILES_PER_DIR = 10, 30
LARGE = 12 * MIB
PART_SIZE_MB = 5
# Concurrency of the runs that get killed: low, so that the kill lands while they are busy.
KILLED_CONCURRENCY = 2
# How much a killed run must have finished before the kill (the rerun then has something to recognise).
MIN_DONE = 10
REKEY_OBJECTS, REKEY_SIZE = 200, 64 * KIB
# A file of pull in flight: ".<name>.<random>.part" beside its destination (local_files.write_file).
TEMP_NAME = re.compile(r"^\.(?P<name>.+)\.[^./]+\.part$")
WAIT_SECONDS = 300
POLL_SECONDS = 0.05


def _digest_module():
    """The collection's own digest code, imported from the build tree the playbooks use."""
    path = collections_path()
    if path not in sys.path:
        sys.path.insert(0, path)
    from ansible_collections.ssec.s3.plugins.module_utils import _digest as digest  # pylint: disable=import-outside-toplevel

    return digest


# ---- the local tree -----------------------------------------------------------------------------------------


def _file_size(rng, number):
    if number % FILES_PER_DIR == FILES_PER_DIR // 2:
        return LARGE
    roll = rng.random()
    if roll < 0.03:
        return 0
    if roll < 0.40:
        return rng.randint(1, 4 * KIB)
    if roll < 0.80:
        return rng.randint(4 * KIB, 256 * KIB)
    return rng.randint(256 * KIB, 2 * MIB)


def _make_tree(root: Path) -> dict:
    """DIRS x FILES_PER_DIR files of random content, some nested one level deeper; relative name -> sha256."""
    rng = random.Random(20240611)
    expected = {}
    for number in range(DIRS * FILES_PER_DIR):
        directory = "d%02d" % (number // FILES_PER_DIR)
        if number % 7 == 3:
            directory += "/sub"
        relative = "%s/f%03d.bin" % (directory, number)
        data = os.urandom(_file_size(rng, number))
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        expected[relative] = hashlib.sha256(data).hexdigest()
    return expected


def _local_tree(root: Path):
    """(final files: relative name -> sha256, temp files: relative names) under ``root``."""
    files, temps = {}, set()
    for dirpath, _dirnames, filenames in os.walk(root):
        for filename in filenames:
            path = Path(dirpath) / filename
            relative = path.relative_to(root).as_posix()
            if TEMP_NAME.match(filename):
                temps.add(relative)
            else:
                files[relative] = sha256_file(path)
    return files, temps


def _count_local(root: Path):
    """(final files, temp files) under ``root``: counted, not hashed (cheap enough to poll)."""
    final = temp = 0
    for _dirpath, _dirnames, filenames in os.walk(root):
        for filename in filenames:
            if TEMP_NAME.match(filename):
                temp += 1
            else:
                final += 1
    return final, temp


# ---- the remote side ----------------------------------------------------------------------------------------


def _list_names(client, bucket, prefix) -> list:
    names = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        names += [entry["Key"] for entry in page.get("Contents", [])]
    return names


def _uploads(client, bucket, prefix) -> dict:
    """The open multipart uploads whose object is under ``prefix``: upload id -> object name."""
    return {upload["UploadId"]: upload["Key"] for upload in open_multipart_uploads(client, bucket)
            if upload["Key"].startswith(prefix)}


def _settled(read, pause=0.5, rounds=40):
    """``read()`` once it gives the same answer twice in a row: a request the killed run had sent
    may still complete on the server just after the kill."""
    before = read()
    for _round in range(rounds):
        time.sleep(pause)
        now = read()
        if now == before:
            return now
        before = now
    raise AssertionError("the server state did not settle after the kill: %r" % (before,))


def _remote_tree(service, bucket, prefix, key) -> dict:
    """relative name -> (sha256 of the data decrypted with ``key``, sha256 recovered from the digest, size,
    content type), for every object under ``prefix``. Read with boto3, independently of the collection's
    transfer code; the digest is opened with the collection's digest module."""
    digest = _digest_module()
    client = service.client()

    def read(name):
        head = client.head_object(Bucket=bucket, Key=name, **key.boto3_params())
        token = head.get("Metadata", {}).get(digest.METADATA_NAME)
        recovered = digest.unseal(key, token) if token else None
        body = client.get_object(Bucket=bucket, Key=name, **key.boto3_params())["Body"]
        hasher = hashlib.sha256()
        for chunk in body.iter_chunks(MIB):
            hasher.update(chunk)
        return name[len(prefix):], (hasher.hexdigest(), recovered, head["ContentLength"], head.get("ContentType"))

    with ThreadPoolExecutor(max_workers=16) as pool:
        return dict(pool.map(read, _list_names(client, bucket, prefix)))


def _wait_for(proc, workdir, condition, what):
    """Poll ``condition()`` until it returns a true value (returned); fail if the playbook ends first."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        if proc.poll() is not None:
            break
        time.sleep(POLL_SECONDS)
    ended = proc.poll() is not None
    kill_playbook(proc, workdir)
    output = (Path(workdir) / "stdout.txt").read_text(encoding="utf-8", errors="replace")[-4000:]
    if ended:
        pytest.fail("the playbook ended (exit status %s) before %s: it ran too fast to be interrupted, make the "
                    "workload bigger or the concurrency lower\n%s" % (proc.returncode, what, output))
    pytest.fail("%s seconds passed and not yet %s\n%s" % (WAIT_SECONDS, what, output))


def _names(entries) -> set:
    return {entry["object"] if isinstance(entry, dict) else entry for entry in entries}


# ---- fixtures -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pushed_tree(s3service, tmp_path_factory):
    """A local tree, its expected content, a key, and an uninterrupted push of it (the reference)."""
    base = tmp_path_factory.mktemp("interrupted")
    root = base / "tree"
    expected = _make_tree(root)
    key = Key(base / "ssec.key")
    bucket = s3service.buckets[0]
    run_id = uuid.uuid4().hex[:12]
    reference = "interrupted-%s/reference/" % run_id
    result = run_task(s3service, {"ssec.s3.sync": {
        "mode": "push", "path": str(root), "bucket": bucket, "prefix": reference, "part_size_mb": PART_SIZE_MB,
        "sse_customer_key_file": str(key.path)}}, base / "reference-play")
    assert result["changed"] is True and result["counts"]["uploaded"] == len(expected), result["msg"]
    yield {"base": base, "root": root, "expected": expected, "key": key, "bucket": bucket,
           "run_prefix": "interrupted-%s/" % run_id, "reference": reference}
    client = s3service.client()
    for upload_id, name in _uploads(client, bucket, "interrupted-%s/" % run_id).items():
        client.abort_multipart_upload(Bucket=bucket, Key=name, UploadId=upload_id)


# ---- tests --------------------------------------------------------------------------------------------------


def test_push_killed_midway_then_rerun_converges(s3service, pushed_tree):
    """A push killed with SIGKILL midway, then run again, ends exactly as an uninterrupted push.

    SIGKILL leaves no process alive to abort the multipart uploads that were in flight: those stay open on the
    server until the bucket's lifecycle rule (AbortIncompleteMultipartUpload) removes them, or someone aborts
    them. The sync module has no option to clean them up. The test records them, checks that they change
    nothing in the result (no object, no extra name, no effect on the rerun's decisions) and that the rerun
    itself leaves no upload of its own open; it aborts them at the end.
    """
    tree, key, bucket = pushed_tree["root"], pushed_tree["key"], pushed_tree["bucket"]
    expected = pushed_tree["expected"]
    prefix = pushed_tree["run_prefix"] + "push-killed/"
    workdir = pushed_tree["base"] / "push-killed"
    client = s3service.client()
    task = {"ssec.s3.sync": {"mode": "push", "path": str(tree), "bucket": bucket, "prefix": prefix,
                             "part_size_mb": PART_SIZE_MB, "sse_customer_key_file": str(key.path)}}

    killed = {"ssec.s3.sync": dict(task["ssec.s3.sync"], concurrency=KILLED_CONCURRENCY)}
    proc = start_tasks(s3service, [killed], workdir / "killed")

    def busy():
        count = len(_list_names(client, bucket, prefix))
        # Best: a few objects written and a multipart upload in flight; at half the tree, kill anyway.
        if count >= MIN_DONE and (_uploads(client, bucket, prefix) or count >= len(expected) // 2):
            return count
        return None

    _wait_for(proc, workdir / "killed", busy, "objects were written under the prefix")
    kill_playbook(proc, workdir / "killed")

    present = set(_settled(lambda: tuple(sorted(_list_names(client, bucket, prefix)))))
    orphans = _uploads(client, bucket, prefix)
    print("push killed after %d of %d objects; multipart uploads left open: %d %s"
          % (len(present), len(expected), len(orphans), sorted(orphans.values())))
    assert 0 < len(present) < len(expected), "the kill did not come midway: %d of %d" % (len(present), len(expected))
    assert {name[len(prefix):] for name in present} <= set(expected)
    # Every object the killed run left is whole: the data and the digest match the file.
    left = _remote_tree(s3service, bucket, prefix, key)
    for relative, (data_sha, digest_sha, _size, _type) in left.items():
        assert data_sha == expected[relative] == digest_sha, relative

    rerun = run_task(s3service, task, workdir / "rerun")
    assert rerun["changed"] is True, rerun["msg"]
    counts = rerun["counts"]
    assert counts["failed"] == 0 and counts["skipped"] == 0, rerun
    # What the killed run finished is recognised from its digest and not sent again.
    assert _names(rerun["unchanged"]) == {name[len(prefix):] for name in present}, rerun["msg"]
    assert set(rerun["uploaded"]) == set(expected) - set(rerun["unchanged"]), rerun["msg"]
    assert counts["uploaded"] + counts["unchanged"] == len(expected)
    # The rerun opened no upload that it did not close; the killed run's orphans are still there, untouched.
    assert _uploads(client, bucket, prefix) == orphans

    # The end state is that of the uninterrupted push: same names, same bytes, same digests and types.
    interrupted = _remote_tree(s3service, bucket, prefix, key)
    reference = _remote_tree(s3service, bucket, pushed_tree["reference"], key)
    assert set(interrupted) == set(expected), "missing or extra objects"
    # The objects of the orphaned uploads are there, whole (checked below with every other one).
    assert {name[len(prefix):] for name in orphans.values()} <= set(interrupted)
    assert interrupted == reference
    for relative, (data_sha, digest_sha, size, _type) in interrupted.items():
        assert data_sha == digest_sha == expected[relative], relative
        assert size == (tree / relative).stat().st_size, relative

    again, info = run_tasks(s3service, [
        task,
        {"ssec.s3.object_info": {"bucket": bucket, "prefix": prefix, "sse_customer_key_file": str(key.path)}},
    ], workdir / "again")
    assert again["changed"] is False, again["msg"]
    assert again["counts"]["unchanged"] == len(expected) and again["counts"]["uploaded"] == 0, again["msg"]
    assert info["counts"].get("this_key") == len(expected), info["counts"]
    recovered = {entry["object"][len(prefix):]: (entry["sha256"], entry["digest"]) for entry in info["objects"]}
    assert recovered == {relative: (sha, "valid") for relative, sha in expected.items()}

    for upload_id, name in orphans.items():
        client.abort_multipart_upload(Bucket=bucket, Key=name, UploadId=upload_id)
    assert not _uploads(client, bucket, prefix)


def test_pull_killed_midway_leaves_no_partial_file_then_rerun_converges(s3service, pushed_tree):
    """A pull killed with SIGKILL midway leaves only whole, verified files at their final names; the files in
    flight stay as hidden temp files (``.<name>.<random>.part``) beside them. A rerun completes the tree
    identically and leaves no temp file of its own; ``delete: true`` removes the killed run's temp files, as
    files that have no object."""
    key, bucket, expected = pushed_tree["key"], pushed_tree["bucket"], pushed_tree["expected"]
    workdir = pushed_tree["base"] / "pull-killed"
    dest = workdir / "dest"
    task = {"ssec.s3.sync": {"mode": "pull", "path": str(dest), "bucket": bucket, "prefix": pushed_tree["reference"],
                             "sse_customer_key_file": str(key.path)}}

    killed = {"ssec.s3.sync": dict(task["ssec.s3.sync"], concurrency=KILLED_CONCURRENCY)}
    proc = start_tasks(s3service, [killed], workdir / "killed")

    def busy():
        if not dest.is_dir():
            return None
        final, temp = _count_local(dest)
        # Best: a few files in place and one in flight; at half the tree, kill anyway.
        return final if final >= MIN_DONE and (temp or final >= len(expected) // 2) else None

    _wait_for(proc, workdir / "killed", busy, "files were written under path")
    kill_playbook(proc, workdir / "killed")

    files, temps = _local_tree(dest)
    print("pull killed after %d of %d files; temp files left: %d %s" % (len(files), len(expected), len(temps),
                                                                        sorted(temps)))
    assert 0 < len(files) < len(expected), "the kill did not come midway: %d of %d" % (len(files), len(expected))
    # No partial file under a final name: every file there is whole and identical.
    assert set(files) <= set(expected), set(files) - set(expected)
    for relative, sha in files.items():
        assert sha == expected[relative], "partial or wrong file at %s" % relative
    # What was in flight is hidden under a temp name, never a final one.
    assert not temps & set(expected)
    for relative in temps:
        directory, _slash, filename = relative.rpartition("/")
        final_name = (directory + "/" if directory else "") + TEMP_NAME.match(filename).group("name")
        assert final_name in expected and final_name not in files, relative

    rerun = run_task(s3service, task, workdir / "rerun")
    assert rerun["changed"] is True, rerun["msg"]
    counts = rerun["counts"]
    assert counts["failed"] == 0 and counts["skipped"] == 0, rerun
    assert set(rerun["unchanged"]) == set(files), rerun["msg"]
    assert set(rerun["downloaded"]) == set(expected) - set(files), rerun["msg"]
    after_files, after_temps = _local_tree(dest)
    assert after_files == expected
    # The rerun left no temp file: those there are the killed run's, untouched.
    assert after_temps == temps

    again, cleanup, last = run_tasks(s3service, [task, {"ssec.s3.sync": dict(task["ssec.s3.sync"], delete=True)}, task],
                                     workdir / "again")
    assert again["changed"] is False and again["counts"]["unchanged"] == len(expected), again["msg"]
    assert set(cleanup["deleted"]) == temps and cleanup["changed"] is bool(temps), cleanup["msg"]
    assert _local_tree(dest) == (expected, set())
    assert last["changed"] is False, last["msg"]


def test_rekey_killed_midway_then_rerun_finishes(s3service, tmp_path):
    """A rotation killed with SIGKILL midway: every object opens with exactly one of the two keys (none lost,
    none damaged); the rerun rotates the rest and lists the ones already done as already_rotated; the run
    after that changes nothing."""
    bucket = s3service.buckets[0]
    client = s3service.client()
    prefix = "interrupted-%s/rekey/" % uuid.uuid4().hex[:12]
    old, new = Key(tmp_path / "old.key"), Key(tmp_path / "new.key")
    tree = tmp_path / "tree"
    expected = {}
    for number in range(REKEY_OBJECTS):
        data = os.urandom(REKEY_SIZE)
        relative = "o%03d.bin" % number
        (tree / relative).parent.mkdir(parents=True, exist_ok=True)
        (tree / relative).write_bytes(data)
        expected[relative] = hashlib.sha256(data).hexdigest()
    pushed = run_task(s3service, {"ssec.s3.sync": {"mode": "push", "path": str(tree), "bucket": bucket,
                                                   "prefix": prefix, "sse_customer_key_file": str(old.path)}},
                      tmp_path / "push")
    assert pushed["counts"]["uploaded"] == REKEY_OBJECTS, pushed["msg"]
    names = [prefix + relative for relative in sorted(expected)]
    task = {"ssec.s3.rekey": {"bucket": bucket, "prefix": prefix, "old_sse_customer_key_file": str(old.path),
                              "sse_customer_key_file": str(new.path)}}

    def opens_with(name, key):
        try:
            head = client.head_object(Bucket=bucket, Key=name, **key.boto3_params())
        except client.exceptions.ClientError:
            return False
        return head.get("SSECustomerKeyMD5", "").split(",")[0].strip() == key.md5_b64

    killed = {"ssec.s3.rekey": dict(task["ssec.s3.rekey"], concurrency=1)}
    proc = start_tasks(s3service, [killed], tmp_path / "killed")
    # Objects are rotated in name order: the 10th opening with the new key means the rotation is well under way.
    _wait_for(proc, tmp_path / "killed", lambda: opens_with(names[MIN_DONE - 1], new), "objects were rotated")
    kill_playbook(proc, tmp_path / "killed")

    def states():
        with ThreadPoolExecutor(max_workers=16) as pool:
            return tuple(pool.map(lambda name: (opens_with(name, old), opens_with(name, new)), names))

    seen = _settled(states)
    rotated = {name for name, (_under_old, under_new) in zip(names, seen, strict=True) if under_new}
    print("rekey killed after %d of %d objects" % (len(rotated), len(names)))
    assert all(under_old != under_new for under_old, under_new in seen), "an object opens with neither key, or both"
    assert 0 < len(rotated) < len(names), "the kill did not come midway: %d of %d" % (len(rotated), len(names))

    rerun = run_task(s3service, task, tmp_path / "rerun")
    assert rerun["changed"] is True, rerun["msg"]
    assert _names(rerun["already_rotated"]) == rotated, rerun["msg"]
    assert _names(rerun["rotated"]) == set(names) - rotated, rerun["msg"]
    assert rerun["counts"] == {"rotated": len(names) - len(rotated), "already_rotated": len(rotated),
                               "unknown_key": 0, "plaintext": 0, "failed": 0}, rerun["counts"]

    # Every object opens with the new key, holds its bytes, and its digest opens with the new key.
    assert _list_names(client, bucket, prefix) == names
    final = _remote_tree(s3service, bucket, prefix, new)
    assert final == {relative: (sha, sha, REKEY_SIZE, final[relative][3]) for relative, sha in expected.items()}
    assert not any(opens_with(name, old) for name in names)

    third = run_task(s3service, task, tmp_path / "third")
    assert third["changed"] is False, third["msg"]
    assert third["counts"]["already_rotated"] == len(names) and third["counts"]["rotated"] == 0, third["counts"]
    assert not _uploads(client, bucket, prefix)

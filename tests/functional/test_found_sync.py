# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reproductions of what breaking ssec.s3.sync against SeaweedFS found (issue 16), run for real.

Each test drives real ``ansible-playbook`` runs against the HTTPS SeaweedFS and checks the bucket with boto3 and
the tree with the file system: names the server would store under another name (``a//b``, ``a\\b``, ``./y``,
``trail/``), file names that are not UTF-8, symbolic link loops, objects ``a`` and ``a/b`` pulled into one tree,
and a file permission given as sync's ``mode``.
"""

from __future__ import annotations

import os
import pytest

from playbook import Key, run_tasks

PREFIX = "found-sync/"


@pytest.fixture
def key(tmp_path):
    return Key(tmp_path / "sync.key")


def sync(key, **options):
    return {"ssec.s3.sync": dict(options, sse_customer_key_file=str(key.path))}


def names_under(service, prefix):
    client = service.client()
    return sorted(entry["Key"] for entry in client.list_objects_v2(Bucket=service.buckets[0], Prefix=prefix)
                  .get("Contents", ()))


def put(service, key, name, body=b"data\n"):
    service.client().put_object(Bucket=service.buckets[0], Key=name, Body=body, **key.boto3_params())


def tree(root, files):
    root.mkdir(parents=True, exist_ok=True)
    for name, body in files.items():
        (root / name).write_bytes(body)
    return root


def test_push_skips_a_name_the_server_would_change_and_converges(s3service, tmp_path, key):
    """SeaweedFS stores 'back\\slash' as 'back/slash': with delete, every run uploaded it, then deleted it."""
    prefix = PREFIX + "backslash/"
    src = tree(tmp_path / "src", {"back\\slash": b"one\n", "ok.txt": b"two\n"})
    task = sync(key, mode="push", path=str(src), bucket=s3service.buckets[0], prefix=prefix, delete=True)
    check, first, second = (run_tasks(s3service, [task], tmp_path / "check", check=True)[0],
                            *run_tasks(s3service, [task, task], tmp_path / "run"))
    for result in (check, first):
        assert result["changed"] is True and result["uploaded"] == ["ok.txt"]
        assert [entry["name"] for entry in result["skipped_entries"]] == ["back\\slash"]
        assert "holds a backslash" in result["skipped_entries"][0]["reason"]
    assert second["changed"] is False
    assert second["counts"] == {"uploaded": 0, "unchanged": 1, "deleted": 0, "skipped": 1, "failed": 0,
                                "bytes_transferred": 0}
    assert names_under(s3service, prefix) == [prefix + "ok.txt"]


def test_a_prefix_the_server_would_change_is_refused_and_nothing_is_deleted(s3service, tmp_path, key):
    """Listing 'rel//' on SeaweedFS answers 'rel/...' names: pull with delete removed every local file."""
    put(s3service, key, PREFIX + "rel/a.txt")
    dest = tree(tmp_path / "dest", {"one.txt": b"1\n", "two.txt": b"2\n"})
    bucket = s3service.buckets[0]
    tasks = [sync(key, mode="pull", path=str(dest), bucket=bucket, prefix=PREFIX + "rel//", delete=True),
             sync(key, mode="push", path=str(dest), bucket=bucket, prefix=PREFIX + "rel//"),
             sync(key, mode="pull", path=str(dest), bucket=bucket, prefix=PREFIX + "rel/.", delete=True),
             sync(key, mode="push", path=str(dest), bucket=bucket, prefix=PREFIX + "rel\\")]
    results = run_tasks(s3service, tasks, tmp_path / "run", allow_failures=True)
    for result, problem in zip(results, ["holds '//'", "holds '//'", "has a '.' or '..' part", "holds a backslash"], strict=True):
        assert result.get("failed") and problem in result["msg"], result["msg"]
    assert sorted(os.listdir(dest)) == ["one.txt", "two.txt"]
    assert names_under(s3service, PREFIX + "rel") == [PREFIX + "rel/a.txt"]


def test_object_names_the_server_would_change_are_refused_before_any_request(s3service, tmp_path, key):
    """'trail/' was reported uploaded while SeaweedFS kept an empty plaintext folder; './y' got 'another key'."""
    bucket = s3service.buckets[0]
    with_key = {"sse_customer_key_file": str(key.path), "bucket": bucket}
    tasks = [{"ssec.s3.object": dict(with_key, object=PREFIX + "trail/", content="hello")},
             {"ssec.s3.object": dict(with_key, object=PREFIX + "two//slashes", content="hello")},
             {"ssec.s3.object_info": dict(with_key, object=PREFIX + "./y")},
             {"ssec.s3.download": dict(with_key, object=PREFIX + "a/../b", dest=str(tmp_path / "b"))}]
    results = run_tasks(s3service, tasks, tmp_path / "run", allow_failures=True)
    for result, problem in zip(results, ["ends with '/'", "holds '//'", "has a '.' or '..' part",
                                         "has a '.' or '..' part"], strict=True):
        assert result.get("failed") and problem in result["msg"], result["msg"]
        assert "another SSE-C key" not in result["msg"]
    assert names_under(s3service, PREFIX + "trail") == [] and names_under(s3service, PREFIX + "two") == []
    assert not (tmp_path / "b").exists()


def test_names_that_are_not_utf8_are_skipped_and_reported(s3service, tmp_path, key):
    """A file name that is not UTF-8 crashed the task after the work was done, in push, pull and check mode."""
    prefix = PREFIX + "utf8/"
    root = tree(tmp_path / "tree", {"good.txt": b"good\n"})
    bad = os.path.join(os.fsencode(root), b"bad-\xff.txt")
    with open(bad, "wb") as handle:
        handle.write(b"bad\n")
    bucket = s3service.buckets[0]
    push = sync(key, mode="push", path=str(root), bucket=bucket, prefix=prefix, delete=True)
    pull = sync(key, mode="pull", path=str(root), bucket=bucket, prefix=prefix, delete=True)
    checked = run_tasks(s3service, [push], tmp_path / "check", check=True)[0]
    pushed, pulled = run_tasks(s3service, [push, pull], tmp_path / "run")
    for result in (checked, pushed, pulled):
        assert [(entry["name"], entry["reason"].split(",")[0]) for entry in result["skipped_entries"]] == [
            ("bad-\\xff.txt", "its name is not valid UTF-8")]
    assert pushed["uploaded"] == ["good.txt"] and pulled["changed"] is False
    assert "not deleted" in pulled["skipped_entries"][0]["reason"]
    assert names_under(s3service, prefix) == [prefix + "good.txt"]
    assert os.path.exists(bad)  # pull with delete left the file it could not match


def test_a_symbolic_link_loop_is_skipped_and_the_rest_pushed(s3service, tmp_path, key):
    prefix = PREFIX + "loop/"
    src = tree(tmp_path / "src", {"ok.txt": b"ok\n"})
    os.symlink("self", str(src / "self"))
    os.symlink("pong", str(src / "ping"))
    os.symlink("ping", str(src / "pong"))
    result = run_tasks(s3service, [sync(key, mode="push", path=str(src), bucket=s3service.buckets[0],
                                        prefix=prefix, delete=True)], tmp_path / "run")[0]
    assert result["uploaded"] == ["ok.txt"]
    assert {entry["name"]: entry["reason"] for entry in result["skipped_entries"]} == dict.fromkeys(
        ["ping", "pong", "self"], "symbolic link loop (it never reaches a file)")
    assert names_under(s3service, prefix) == [prefix + "ok.txt"]


def test_objects_a_and_a_slash_b_fail_alike_in_check_mode_and_for_real(s3service, tmp_path, key):
    """'a' must be a file for one object and a directory for the other: check mode said all would download,
    and the real run failed one of them at random, saying 'Is a directory'."""
    prefix = PREFIX + "clash/"
    for name in ("a", "a/b", "c"):
        put(s3service, key, prefix + name, name.encode())
    dest = tmp_path / "dest"
    task = sync(key, mode="pull", path=str(dest), bucket=s3service.buckets[0], prefix=prefix)
    checked = run_tasks(s3service, [task], tmp_path / "check", check=True, allow_failures=True)[0]
    assert not dest.exists()
    pulled = run_tasks(s3service, [task], tmp_path / "run", allow_failures=True)[0]
    for result in (checked, pulled):
        assert result.get("failed")
        assert sorted(entry["name"] for entry in result["failed_entries"]) == ["a", "a/b"]
        assert "map onto the same local path %s" % (dest / "a") in result["msg"]
        assert result["downloaded"] == ["c"]
    assert sorted(os.listdir(dest)) == ["c"] and (dest / "c").read_bytes() == b"c"


def test_a_permission_given_as_sync_mode_gets_a_hint(s3service, tmp_path, key):
    modes = ["0640", 416, "u=rw,g=r"]
    results = run_tasks(s3service, [sync(key, mode=mode, path=str(tmp_path), bucket=s3service.buckets[0])
                                    for mode in modes], tmp_path / "run", allow_failures=True)
    for result in results:
        assert result.get("failed")
        assert "value of mode must be one of: push, pull" in result["msg"]
        assert "mode is the direction: push or pull" in result["msg"] and "file_mode" in result["msg"]

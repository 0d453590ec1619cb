# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ssec.s3.sync push then pull of a generated tree gives back exactly the accepted files.

Every run of the module below is first made in check mode: the check run must write nothing (local tree and
listing unchanged) and predict exactly the ``changed`` flag and the ``counts`` of the real run that follows.

For a generated tree (regular files, empty directories, symbolic links to files, to directories, broken
and looping links), under a prefix of its own:

- push: every file is either uploaded (then the listing holds exactly its name, and boto3 reads the same
  bytes) or reported in ``skipped_entries`` with a reason; the files and links to files of the plain
  trees must be uploaded, broken and looping links skipped; the objects are exactly the uploaded files;
- pull into an empty directory gives back exactly the uploaded files, byte for byte;
- a rerun of each changes nothing;
- push with ``delete: true`` after files were removed and one added deletes exactly the objects of the
  removed files, and nothing outside the prefix (a sibling prefix, the prefix's name without ``/``);
- pull with ``delete: true`` after objects were removed with boto3 deletes exactly their local files.

And for objects written by another client (boto3) under a prefix, including names no local file can have
(an object shadowing a "directory", ``.`` and ``..`` parts, repeated slashes): pull writes exactly the
objects it reports as downloaded, byte for byte, and nothing else (not outside its directory either); it
reports every other object (but folder markers ending in ``/``, which are ignored) as skipped or failed, with
a reason; the plain trees are downloaded whole; a rerun changes nothing.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from botocore.exceptions import ClientError
from conftest import budget, run_module
from hypothesis import given
from hypothesis import strategies as st
from strategies import HOSTILE_TREE_SEGMENT, TREE_SEGMENT, remote_trees, trees

COUNT_NAMES = ("uploaded", "downloaded", "unchanged", "deleted", "skipped", "failed", "bytes_transferred")


def fs_name(segments):
    """A relative path of the tree as bytes (names that are not UTF-8 are lone surrogates in the tree)."""
    return os.path.join(*[os.fsencode(segment) for segment in segments])


def relative(segments):
    return "/".join(segments)


def build(root: Path, tree):
    """Create the tree under ``root``; return (file relative name -> bytes the upload should hold, the
    relative names push must skip)."""
    base = os.fsencode(str(root))
    expected, skipped = {}, set()
    for path, data in tree["files"].items():
        full = os.path.join(base, fs_name(path))
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as handle:
            handle.write(data)
        expected[relative(path)] = data
    for path in tree["dirs"]:
        os.makedirs(os.path.join(base, fs_name(path)), exist_ok=True)
    for path, (kind, target) in tree["links"].items():
        full = os.path.join(base, fs_name(path))
        os.makedirs(os.path.dirname(full), exist_ok=True)
        os.symlink(os.path.join(base, fs_name(target)), full)
        if kind == "file":
            expected[relative(path)] = tree["files"][target]
        elif kind in ("broken", "loop"):
            skipped.add(relative(path))
    for name in list(expected):
        try:
            name.encode("utf-8")
        except UnicodeEncodeError:
            del expected[name]
            # Reported as the docs promise: the bytes that are not UTF-8 as \xNN escapes.
            skipped.add(name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace"))
    return expected, skipped


def snapshot(root: Path):
    """Every entry under ``root``: relative bytes path -> ('file', bytes) / ('link', target) / ('dir',)."""
    found = {}
    base = os.fsencode(str(root))
    for dirpath, dirnames, filenames in os.walk(base):
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, base)
            info = os.lstat(full)
            if stat.S_ISLNK(info.st_mode):
                found[rel] = ("link", os.readlink(full))
            elif stat.S_ISDIR(info.st_mode):
                found[rel] = ("dir",)
            else:
                with open(full, "rb") as handle:
                    found[rel] = ("file", handle.read())
    return found


def local_files(root: Path):
    """relative name -> bytes of the regular files under ``root``."""
    return {os.fsdecode(rel).replace(os.sep, "/"): entry[1] for rel, entry in snapshot(root).items()
            if entry[0] == "file"}


def counts(result):
    return {name: result["counts"].get(name) for name in COUNT_NAMES if name in result["counts"]}


class Runner:
    def __init__(self, service, key, prefix):
        self.service = service
        self.key = key
        self.prefix = prefix
        self.task = dict(service.connection(), bucket=service.bucket, prefix=prefix, sse_customer_key=key.b64)

    def sync(self, mode, path, may_fail=False, **options):
        """Check mode, then the real run; the first must predict the second and write nothing."""
        args = dict(self.task, mode=mode, path=str(path), **options)
        # The prefix's name without "/" also lists the sibling prefix and the bare name.
        remote_before = self.service.listing(self.prefix[:-1])
        local_before = snapshot(path) if path.exists() else None
        check = run_module("sync", args, check_mode=True)
        assert self.service.listing(self.prefix[:-1]) == remote_before, "check mode changed the bucket: %r" % check
        assert (snapshot(path) if path.exists() else None) == local_before, "check mode changed %s" % path
        real = run_module("sync", args)
        if not may_fail:
            assert not real.get("failed"), real.get("msg")
            assert not check.get("failed"), check.get("msg")
        assert "counts" in real and "counts" in check, "a run without counts: %s / %s" % (check.get("msg"), real.get("msg"))
        assert (check["changed"], counts(check)) == (real["changed"], counts(real)), (
            "check mode predicted changed=%s %r, the real run did changed=%s %r"
            % (check["changed"], counts(check), real["changed"], counts(real)))
        return real

    def remote(self):
        """relative name -> bytes of every object under the prefix (boto3)."""
        return {name[len(self.prefix):]: self.service.get(name, self.key) for name in self.service.listing(self.prefix)}


def no_op(result):
    assert result["changed"] is False and result["counts"]["failed"] == 0, result


def check_push_pull(service, key, tmp_path, tree, removed_draw, strict_accept):
    prefix = service.new_prefix()
    # What delete: true must never reach: a sibling prefix and the prefix's own name without "/".
    outside = {prefix[:-1] + "-sibling/keep": b"keep", prefix[:-1]: b"bare"}
    for name, data in outside.items():
        service.s3.put_object(Bucket=service.bucket, Key=name, Body=data, **key.sse)
    runner = Runner(service, key, prefix)
    source = tmp_path / "source"
    source.mkdir()
    expected, must_skip = build(source, tree)

    pushed = runner.sync("push", source)
    skipped = {entry["name"]: entry["reason"] for entry in pushed["skipped_entries"]}
    uploaded = set(pushed["uploaded"])
    assert pushed["counts"]["failed"] == 0, pushed["failed_entries"]
    assert all(reason for reason in skipped.values()), "a skipped entry without a reason: %r" % skipped
    assert not uploaded & set(skipped), "both uploaded and skipped: %r" % (uploaded & set(skipped))
    assert uploaded | set(skipped) == set(expected) | must_skip, (
        "files neither uploaded nor skipped: %r; reported but not in the tree: %r"
        % (sorted((set(expected) | must_skip) - uploaded - set(skipped)),
           sorted((uploaded | set(skipped)) - set(expected) - must_skip)))
    assert must_skip <= set(skipped), "should have been skipped: %r" % sorted(must_skip - set(skipped))
    if strict_accept:
        assert uploaded == set(expected), "plain files skipped: %r" % {n: skipped[n] for n in set(expected) - uploaded}
    remote = runner.remote()
    assert remote == {name: expected[name] for name in uploaded}, (
        "the objects are not exactly the uploaded files: missing %r, extra %r"
        % (sorted(uploaded - set(remote)), sorted(set(remote) - uploaded)))
    no_op(runner.sync("push", source))

    pulled = tmp_path / "pulled"
    runner.sync("pull", pulled)
    assert local_files(pulled) == remote, "pull did not give back exactly the uploaded files"
    no_op(runner.sync("pull", pulled))

    # delete: true on push removes exactly the objects of the removed files.
    regular = sorted(name for name in uploaded if name in {relative(p) for p in tree["files"]})
    removed = set(removed_draw(regular)) if regular else set()
    for name in removed:
        os.unlink(os.path.join(os.fsencode(str(source)), os.fsencode(name)))
    (source / "added-after").write_bytes(b"new")
    pushed = runner.sync("push", source, delete=True)
    assert set(pushed["deleted"]) == removed, "deleted %r, removed %r" % (sorted(pushed["deleted"]), sorted(removed))
    after = runner.remote()
    assert after == dict({name: data for name, data in remote.items() if name not in removed},
                         **{"added-after": b"new"}), "push with delete: true changed other objects"
    for name, data in outside.items():
        assert service.get(name, key) == data, "push with delete: true reached %r outside the prefix" % name
    no_op(runner.sync("push", source, delete=True))

    # delete: true on pull removes exactly the files of the removed objects.
    gone = set(removed_draw(sorted(after)))
    for name in gone:
        service.s3.delete_object(Bucket=service.bucket, Key=prefix + name)
    kept_dirs = {rel for rel, entry in snapshot(pulled).items() if entry[0] == "dir"}
    runner.sync("pull", pulled, delete=True)
    assert local_files(pulled) == {name: data for name, data in after.items() if name not in gone}
    assert kept_dirs <= {rel for rel, entry in snapshot(pulled).items() if entry[0] == "dir"}, "pull deleted a directory"
    no_op(runner.sync("pull", pulled, delete=True))


def _subset(data):
    return lambda names: data.draw(st.lists(st.sampled_from(names), unique=True, max_size=len(names))) if names else []


@budget(0.5)
@given(tree=trees(), data=st.data())
def test_sync_push_pull_round_trip(service, key, tmp_path_factory, tree, data):
    check_push_pull(service, key, tmp_path_factory.mktemp("sync"), tree, _subset(data), strict_accept=True)


@budget(0.5)
@given(tree=trees(segment=st.one_of(TREE_SEGMENT, HOSTILE_TREE_SEGMENT), loops=True), data=st.data())
def test_sync_hostile_names_are_uploaded_exactly_or_skipped(service, key, tmp_path_factory, tree, data):
    check_push_pull(service, key, tmp_path_factory.mktemp("sync"), tree, _subset(data), strict_accept=False)


def check_pull_remote_tree(service, key, tmp_path, objects, strict_accept):
    prefix = service.new_prefix()
    for name, data in objects.items():
        try:
            service.s3.put_object(Bucket=service.bucket, Key=prefix + name, Body=data, **key.sse)
        except ClientError:
            pass  # a name this server cannot hold next to the others (SeaweedFS: "a/" beside "a", "./a")
    runner = Runner(service, key, prefix)
    # The truth is the listing: a server may have stored a name otherwise than it was sent.
    stored = {name[len(prefix):]: service.get(name, key) for name in service.listing(prefix)}
    files = {name: data for name, data in stored.items() if not name.endswith("/")}
    pulled = tmp_path / "pulled"

    result = runner.sync("pull", pulled, may_fail=True)
    downloaded = set(result["downloaded"])
    reported = {entry["name"]: entry.get("reason") or entry.get("error")
                for entry in result["skipped_entries"] + result["failed_entries"]}
    assert all(reported.values()), "an entry reported without a reason: %r" % reported
    assert downloaded | set(reported) == set(files), (
        "objects neither downloaded nor reported: %r; reported but not objects: %r"
        % (sorted(set(files) - downloaded - set(reported)), sorted(downloaded | set(reported) - set(files))))
    assert local_files(pulled) == {name: files[name] for name in downloaded}, (
        "the directory does not hold exactly the downloaded objects: %r" % sorted(local_files(pulled)))
    assert sorted(os.listdir(tmp_path)) == ["pulled"], "pull wrote outside its directory: %r" % os.listdir(tmp_path)
    if strict_accept:
        assert not result.get("failed") and downloaded == set(files), reported
    rerun = runner.sync("pull", pulled, may_fail=True)
    assert rerun["changed"] is False and rerun["counts"]["downloaded"] == 0, (
        "a rerun changed something: %s" % rerun.get("msg"))


@budget(0.5)
@given(objects=remote_trees())
def test_sync_pull_of_objects_written_by_others(service, key, tmp_path_factory, objects):
    check_pull_remote_tree(service, key, tmp_path_factory.mktemp("pull"), objects, strict_accept=True)


@budget(0.5)
@given(objects=remote_trees(hostile=True))
def test_sync_pull_of_names_no_file_can_have(service, key, tmp_path_factory, objects):
    check_pull_remote_tree(service, key, tmp_path_factory.mktemp("pull"), objects, strict_accept=False)

# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pure parts of ssec.s3.sync: names, filters, the local tree, modes, decisions and the result."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.ssec.s3.plugins.module_utils import (
    _bulk as bulk, _sync_names as sync_names, _sync_options as sync_options, _sync_plan as sync_plan,
    _sync_result as sync_result)
from ansible_collections.ssec.s3.plugins.module_utils._errors import SsecError
from ansible_collections.ssec.s3.plugins.module_utils._remote import ENCRYPTION_NONE, SSE_C, RemoteObject
from ansible_collections.ssec.s3.plugins.module_utils._sse_key import CustomerKey
from ansible_collections.ssec.s3.plugins.module_utils._sync_options import Settings
from ansible_collections.ssec.s3.plugins.module_utils._sync_plan import (
    COMPARE,
    DELETE,
    DOWNLOAD,
    FAIL,
    NOTHING,
    SKIP,
    UNCHANGED,
    UPLOAD,
    Item,
)
from ansible_collections.ssec.s3.plugins.module_utils._sync_task import Sync

KEY = CustomerKey(bytes(range(1, 33)))
OTHER_KEY = CustomerKey(bytes(range(2, 34)))
SHA = "ab" * 32


# ---- names -------------------------------------------------------------------------------------

@pytest.mark.parametrize("prefix, expected", [
    ("", ""),
    (None, ""),
    ("backups", "backups/"),
    ("backups/", "backups/"),
    ("a/b", "a/b/"),
    ("a//", "a//"),
])
def test_normalize_prefix_makes_a_directory(prefix, expected):
    assert sync_names.normalize_prefix(prefix) == expected


def test_object_and_relative_names_round_trip():
    prefix = sync_names.normalize_prefix("site")
    name = sync_names.object_name(prefix, "css/main.css")
    assert name == "site/css/main.css"
    assert sync_names.relative_name(prefix, name) == "css/main.css"


@pytest.mark.parametrize("name, expected", [
    ("p/file", "file"),
    ("p/a/b/c.txt", "a/b/c.txt"),
    ("p/dir/", None),  # a folder marker
    ("p/", None),
    ("q/file", None),  # not under the prefix
    ("p/ünï côdé.txt", "ünï côdé.txt"),
])
def test_relative_name(name, expected):
    assert sync_names.relative_name("p/", name) == expected


def test_local_relative_uses_slashes(tmp_path):
    assert sync_names.local_relative(str(tmp_path), str(tmp_path / "a" / "b.txt")) == "a/b.txt"


@pytest.mark.parametrize("relative", ["a.txt", "a/b/c.txt", "..a", "a..b/c", "a/.hidden", "with space/x"])
def test_safe_local_names(relative):
    assert sync_names.unsafe_local_name(relative) is None


@pytest.mark.parametrize("relative", ["../etc/passwd", "a/../../x", "/etc/passwd", "a//b", "./a", "a/./b",
                                      "a/..", "nul\x00byte"])
def test_unsafe_local_names(relative):
    assert sync_names.unsafe_local_name(relative)


# ---- filters -----------------------------------------------------------------------------------

@pytest.mark.parametrize("relative, include, exclude, expected", [
    ("a.txt", None, None, True),
    ("a.txt", [], [], True),
    ("deep/dir/a.log", ["*.log"], None, True),  # * also matches /
    ("a.txt", ["*.log"], None, False),
    ("logs/old-1.log", ["*.log"], ["logs/old-*"], False),  # exclude wins
    ("logs/new.log", ["*.log"], ["logs/old-*"], True),
    ("docs/x.md", ["docs/*", "*.log"], None, True),
    ("README.md", None, ["*.MD"], True),  # case-sensitive
    (".git/config", None, [".git/*"], False),
    ("sub/.git/config", None, [".git/*"], True),
    ("a[1].txt", ["a[[]1].txt"], None, True),
])
def test_selected(relative, include, exclude, expected):
    assert sync_names.selected(relative, include, exclude) is expected


# ---- the local tree ------------------------------------------------------------------------------

@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "root"
    (root / "a" / "b").mkdir(parents=True)
    (root / "top.txt").write_text("top")
    (root / "a" / "one.log").write_text("one")
    (root / "a" / "b" / "two.txt").write_text("two")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("outside")
    os.symlink(str(outside), str(root / "linked-dir"))
    os.symlink(str(root / "top.txt"), str(root / "link-to-file"))
    os.symlink(str(root / "missing"), str(root / "broken-link"))
    os.mkfifo(str(root / "a" / "fifo"))
    return root


def test_walk_lists_files_and_links_but_does_not_follow_linked_directories(tree):
    files, errors, total = sync_names.walk(str(tree), None, None)
    assert sorted(files) == ["a/b/two.txt", "a/fifo", "a/one.log", "broken-link", "link-to-file", "top.txt"]
    assert files["a/b/two.txt"] == str(tree / "a" / "b" / "two.txt")
    assert errors == []
    assert total == 6


def test_walk_applies_the_filters_and_counts_everything(tree):
    files, _errors, total = sync_names.walk(str(tree), ["*.txt", "*.log"], ["a/b/*"])
    assert sorted(files) == ["a/one.log", "top.txt"]
    assert total == 6


def unreadable(monkeypatch, directory):
    """Make os.walk fail to list ``directory`` (permissions do not stop root, who runs some test hosts)."""
    real_scandir = os.scandir

    def scandir(path="."):
        if os.fspath(path) == str(directory):
            raise PermissionError(13, "Permission denied", str(directory))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)


def test_walk_reports_unreadable_directories(tree, monkeypatch):
    unreadable(monkeypatch, tree / "a" / "b")
    files, errors, _total = sync_names.walk(str(tree), None, None)
    assert errors == [("a/b", "Permission denied")]
    assert "a/b/two.txt" not in files


def test_upload_problem(tree):
    def problem(relative):
        return sync_names.upload_problem(relative, str(tree / relative))

    assert problem("top.txt") is None
    assert problem("link-to-file") is None
    assert problem("broken-link") == "broken symbolic link"
    assert problem("a/fifo") == "not a regular file"
    assert problem("gone.txt") == "deleted during the sync"
    assert "UTF-8" in sync_names.upload_problem("bad-\udcff.txt", str(tree / "top.txt"))


def test_upload_problem_applies_the_object_name_rules_to_the_name_written(tree):
    (tree / "back\\slash").write_text("x")
    assert sync_names.upload_problem("back\\slash", str(tree / "back\\slash"), "p/back\\slash").startswith(
        "object name 'p/back\\\\slash' holds a backslash")
    assert "holds '//'" in sync_names.upload_problem("top.txt", str(tree / "top.txt"), "rel//top.txt")
    assert sync_names.upload_problem("top.txt", str(tree / "top.txt"), "p/top.txt") is None


def test_a_symbolic_link_loop_is_skipped_not_failed(tree):
    os.symlink("loop", str(tree / "loop"))
    os.symlink("pong", str(tree / "ping"))
    os.symlink("ping", str(tree / "pong"))
    files, errors, _total = sync_names.walk(str(tree), None, None)
    assert {"loop", "ping", "pong"} <= set(files) and errors == []
    for relative in ("loop", "ping", "pong"):
        assert sync_names.upload_problem(relative, files[relative]) == "symbolic link loop (it never reaches a file)"


@pytest.mark.parametrize("text, expected", [
    ("plain/\u00e9t\u00e9.txt", "plain/\u00e9t\u00e9.txt"),
    ("bad-\udcff.txt", "bad-\\xff.txt"),
    ("lone-\ud800", "lone-\\ud800"),
    (None, None),
])
def test_shown_makes_every_name_valid_utf8(text, expected):
    assert sync_names.shown(text) == expected


def test_check_root(tmp_path):
    sync_options.check_root(str(tmp_path), "push")
    sync_options.check_root(str(tmp_path / "missing"), "pull")  # created by the run
    with pytest.raises(SsecError, match="does not exist"):
        sync_options.check_root(str(tmp_path / "missing"), "push")
    (tmp_path / "file").write_text("x")
    for direction in ("push", "pull"):
        with pytest.raises(SsecError, match="is not a directory"):
            sync_options.check_root(str(tmp_path / "file"), direction)


# ---- file modes --------------------------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    (None, None),
    ("0640", 0o640),
    ("640", 0o640),
    ("0o640", 0o640),
    (0o640, 0o640),
    ("u=rw,g=r,o=", "u=rw,g=r,o="),
])
def test_parse_file_mode(value, expected):
    assert sync_options.parse_file_mode(value) == expected


@pytest.mark.parametrize("value", ["rw-r-----", "0999", "077777", "u=rwz", -1, True, "a+q"])
def test_parse_file_mode_refuses_what_is_not_a_mode(value):
    with pytest.raises(SsecError, match="file_mode"):
        sync_options.parse_file_mode(value)


@pytest.mark.parametrize("mode, current, expected", [
    (0o600, 0o644, 0o600),
    ("u=rw,g=r,o=", 0o666, 0o640),
    ("g+w", 0o644, 0o664),
    ("o-r", 0o644, 0o640),
    ("a+X", 0o644, 0o644),  # X adds execute only to files that have some already
    ("a+X", 0o744, 0o755),
])
def test_resolve_mode(mode, current, expected):
    assert sync_options.resolve_mode(mode, current) == expected


# ---- decisions ---------------------------------------------------------------------------------

def remote(state, digest=None):
    """A RemoteObject as remote.inspect would build it for KEY."""
    if state == "absent":
        return RemoteObject("b", "p/x")
    if state == "plaintext":
        return RemoteObject("b", "p/x", True, ENCRYPTION_NONE, None, {"ContentLength": 3})
    if state == "other-key":
        return RemoteObject("b", "p/x", True, SSE_C, False)
    head = {"ContentLength": 3, "Metadata": {"ssec-sha256": digest} if digest else {}}
    return RemoteObject("b", "p/x", True, SSE_C, True, head, KEY)


@pytest.mark.parametrize("state, force, expected", [
    ("absent", False, UPLOAD),
    ("plaintext", False, UPLOAD),
    ("other-key", False, SKIP),
    ("other-key", True, UPLOAD),
    ("this-key", False, COMPARE),
    ("this-key", True, COMPARE),  # force never re-uploads an object that holds the content
])
def test_push_decision(state, force, expected):
    action, reason = sync_plan.push_decision(remote(state), force)
    assert action == expected
    if action == SKIP:
        assert reason.startswith("encrypted with another SSE-C key: left untouched")
        assert "force: true" in reason and "ssec.s3.rekey" in reason
    else:
        assert reason is None


@pytest.mark.parametrize("state, force, expected", [
    ("absent", False, NOTHING),
    ("plaintext", False, DELETE),
    ("other-key", False, SKIP),
    ("other-key", True, DELETE),
    ("this-key", False, DELETE),
])
def test_remote_delete_decision(state, force, expected):
    action, reason = sync_plan.remote_delete_decision(remote(state), force)
    assert action == expected
    assert (reason is not None) == (action == SKIP)
    if reason:
        assert "not deleted" in reason and "force: true" in reason


@pytest.mark.parametrize("state, expected, reason", [
    ("absent", SKIP, "deleted during the sync"),
    ("plaintext", SKIP, "not SSE-C encrypted (plaintext)"),
    ("other-key", SKIP, "encrypted with another SSE-C key"),
    ("this-key", COMPARE, None),
])
def test_pull_decision(state, expected, reason):
    action, why = sync_plan.pull_decision(remote(state))
    assert action == expected
    if reason is None:
        assert why is None
    else:
        assert reason in why


def test_pull_refuses_an_object_whose_digest_does_not_open():
    action, why = sync_plan.pull_decision(remote("this-key", digest=_sealed(OTHER_KEY)))
    assert action == FAIL
    assert "does not open with this key" in why and "ssec.s3.object_info" in why


def _sealed(key):
    from ansible_collections.ssec.s3.plugins.module_utils import _digest as digest

    return digest.seal(key, SHA)


def test_fingerprint():
    assert sync_plan.fingerprint(sha256=SHA) == "sha256 " + SHA
    assert sync_plan.fingerprint(remote("this-key", digest=_sealed(KEY)), None, 3) == "3 bytes"
    assert sync_plan.fingerprint(remote("plaintext")) == "not SSE-C encrypted (plaintext)"
    assert sync_plan.fingerprint(remote("other-key")) == "encrypted with another SSE-C key"
    assert sync_plan.fingerprint(size=0) == "0 bytes"
    assert sync_plan.fingerprint() == "present"


def test_a_digest_sealed_with_this_key_is_read():
    assert remote("this-key", digest=_sealed(KEY)).sha256 == SHA


# ---- the run, without S3 -------------------------------------------------------------------------

def params(**overrides):
    values = {"mode": "push", "path": "/srv/data", "bucket": "b", "prefix": "p", "include": None, "exclude": None,
              "delete": False, "force": False, "concurrency": 4, "part_size_mb": 8, "file_mode": None}
    values.update(overrides)
    return values


def make_sync(check_mode=False, **overrides):
    return Sync(None, Settings(params(**overrides), check_mode), client=None, key=KEY)


def every_item(task):
    """planner.items() with its batches joined: (items, errors, total, chosen)."""
    batches, errors, total, chosen = task.planner.items()
    return [entry for batch in batches for entry in batch], errors, total, chosen


def result_of(task, items, errors, total, chosen, created):
    return sync_result.build(task.settings, KEY, items, errors, total, chosen, created, task.warnings)


def item(kind, relative, action, reason=None, size=0, before=None, after=None):
    entry = Item(kind, relative, "p/" + relative)
    entry.decide(action, reason)
    entry.size, entry.before, entry.after = size, before, after
    return entry


def test_validate():
    sync_options.validate(params())
    for prefix in ("a/.", "a/..", "rel\\"):  # 'a/.' is used as 'a/./'
        with pytest.raises(SsecError, match="prefix"):
            sync_options.validate(params(prefix=prefix))
    with pytest.raises(SsecError, match="file_mode applies to the files that mode: pull writes"):
        sync_options.validate(params(file_mode="0640"))
    sync_options.validate(params(mode="pull", file_mode="0640"))


def test_push_result():
    task = make_sync(path="/srv/data/")
    items = [
        item("put-new", "new.txt", UPLOAD, size=10, after="sha256 " + SHA),
        item("put", "same.txt", UNCHANGED),
        item("put", "foreign.txt", SKIP, "encrypted with another SSE-C key: left untouched (...)"),
        item("put", "fifo", SKIP, "not a regular file"),
        item("put", "broken.txt", FAIL, "Failed to read /srv/data/broken.txt: Permission denied."),
        item("delete", "gone.txt", DELETE, before="sha256 " + SHA),
        item("delete", "vanished.txt", NOTHING),
    ]
    result = result_of(task, items, [("locked", "Permission denied")], total=5, chosen=5, created=False)
    assert result["uploaded"] == ["new.txt"]
    assert result["unchanged"] == ["same.txt"]
    assert result["deleted"] == ["gone.txt"]
    assert [entry["name"] for entry in result["skipped_entries"]] == ["foreign.txt", "fifo"]
    assert result["skipped_entries"][0]["object"] == "p/foreign.txt"
    assert [entry["name"] for entry in result["failed_entries"]] == ["locked", "broken.txt"]
    assert result["failed_entries"][0]["object"] is None
    assert "downloaded" not in result and "file_mode_changed" not in result
    assert "skipped" not in result and "failed" not in result  # Ansible's own keys: a true value skips/fails the task
    assert result["counts"] == {"uploaded": 1, "unchanged": 1, "deleted": 1, "skipped": 2, "failed": 2,
                                "bytes_transferred": 10}
    assert result["changed"] is True
    assert result["prefix"] == "p/"
    assert result["sse_customer_key_md5"] == KEY.md5
    assert result["diff"]["before"] == {"gone.txt": "sha256 " + SHA}
    assert result["diff"]["after"] == {"new.txt": "sha256 " + SHA}
    assert result["diff"]["before_header"] == "s3://b/p/ (before)"
    assert result["diff"]["after_header"] == "s3://b/p/ (after, from /srv/data)"
    assert result["msg"] == "Uploaded 1 file (10 bytes), deleted 1 object; 1 unchanged, 2 skipped, 2 failed."
    assert task.warnings == ["1 object is encrypted with another SSE-C key and left untouched (see skipped_entries)."]


def test_pull_result_in_check_mode():
    task = make_sync(check_mode=True, mode="pull")
    items = [item("get", "a.bin", DOWNLOAD, size=3 * 1024 * 1024, after="3145728 bytes"),
             item("get", "m.txt", sync_plan.CHMOD, before="mode 0644", after="mode 0640")]
    result = result_of(task, items, [], total=2, chosen=2, created=True)
    assert result["downloaded"] == ["a.bin"]
    assert result["file_mode_changed"] == ["m.txt"]
    assert result["counts"]["bytes_transferred"] == 3 * 1024 * 1024
    assert result["changed"] is True
    assert result["msg"] == ("Would create path, would download 1 object (3.0 MiB), would fix the mode of 1 file; "
                             "0 unchanged, 0 skipped, 0 failed.")
    assert result["diff"]["before"] == {"m.txt": "mode 0644"}
    assert result["diff"]["after"] == {"a.bin": "3145728 bytes", "m.txt": "mode 0640"}


def test_filters_that_match_nothing_warn_and_change_nothing():
    task = make_sync(include=["*.nomatch"])
    result = result_of(task, [], [], total=31, chosen=0, created=False)
    assert result["changed"] is False
    assert result["msg"].startswith("include/exclude matched none of the 31 files in path")
    assert task.warnings == [result["msg"]]


def test_an_empty_source_is_not_a_warning():
    task = make_sync()
    result = result_of(task, [], [], total=0, chosen=0, created=False)
    assert result["msg"] == "Nothing to sync: no files selected on either side."
    assert task.warnings == []


def test_result_lists_are_capped_and_counts_exact(monkeypatch):
    monkeypatch.setattr(bulk, "LIST_CAP", 3)
    task = make_sync()
    result = result_of(task, [item("put", "f%d" % number, UNCHANGED) for number in range(5)], [], 5, 5, False)
    assert result["unchanged"] == ["f0", "f1", "f2"]
    assert result["counts"]["unchanged"] == 5
    assert result["truncated"] is True
    assert result["changed"] is False
    assert result["msg"] == "Already in sync: 5 unchanged, 0 skipped, 0 failed."


@pytest.mark.parametrize("counts, check_mode, expected", [
    ({"uploaded": 2, "deleted": 0, "unchanged": 1, "skipped": 0, "failed": 0, "bytes_transferred": 2048}, False,
     "Uploaded 2 files (2.0 KiB); 1 unchanged, 0 skipped, 0 failed."),
    ({"uploaded": 0, "deleted": 3, "unchanged": 0, "skipped": 0, "failed": 0, "bytes_transferred": 0}, True,
     "Would delete 3 objects; 0 unchanged, 0 skipped, 0 failed."),
    ({"uploaded": 0, "deleted": 0, "unchanged": 0, "skipped": 1, "failed": 0, "bytes_transferred": 0}, False,
     "Already in sync: 0 unchanged, 1 skipped, 0 failed."),
])
def test_summary_message(counts, check_mode, expected):
    assert sync_result.summary_message("push", counts, check_mode) == expected


def test_resolve_modes_keeps_existing_modes_and_fixes_them_with_file_mode(monkeypatch):
    monkeypatch.setattr(sync_plan, "current_umask", lambda: 0o027)
    kept = make_sync(mode="pull")
    new, old = item("get", "new", DOWNLOAD), item("get", "old", DOWNLOAD)
    old.local_mode = 0o600
    kept.planner.resolve_modes([new, old])
    assert (new.mode, old.mode) == (0o640, 0o600)

    fixed = make_sync(mode="pull", file_mode="u=rw,g=r,o=")
    new, same, right = item("get", "new", DOWNLOAD), item("get", "same", UNCHANGED), item("get", "right", UNCHANGED)
    same.local_mode, right.local_mode = 0o666, 0o640
    fixed.planner.resolve_modes([new, same, right, item("delete", "x", DELETE)])
    assert (new.action, new.mode) == (DOWNLOAD, 0o640)
    assert (same.action, same.mode, same.before, same.after) == (sync_plan.CHMOD, 0o640, "mode 0666", "mode 0640")
    assert (right.action, right.mode) == (UNCHANGED, 0o640)


def test_push_plan_deletes_remote_extras_only_when_the_whole_tree_was_read(tree, monkeypatch):
    def plan(**options):
        task = make_sync(path=str(tree), delete=True, **options)
        remote = {"top.txt": 3, "a/b/two.txt": 3, "gone.txt": 1, "other/x.log": 1}
        chosen = {name: size for name, size in remote.items() if sync_names.selected(name, task.settings.include, task.settings.exclude)}
        monkeypatch.setattr(task.planner, "listing", lambda: (chosen, set(remote), len(remote)))
        items, errors, total, chosen = every_item(task)
        return [(entry.kind, entry.relative) for entry in items], errors, total, chosen

    items, errors, total, chosen = plan()
    assert items == [("put", "a/b/two.txt"), ("put-new", "a/fifo"), ("put-new", "a/one.log"),
                     ("put-new", "broken-link"), ("put-new", "link-to-file"), ("put", "top.txt"),
                     ("delete", "gone.txt"), ("delete", "other/x.log")]
    assert (errors, total, chosen) == ([], 6, 6)
    assert plan(include=["*.log"])[0] == [("put-new", "a/one.log"), ("delete", "other/x.log")]

    unreadable(monkeypatch, tree / "a")
    items, errors, _total, _chosen = plan()
    assert [kind for kind, _name in items if kind == "delete"] == []
    assert errors == [("a", "Permission denied")]


def test_pull_plan_deletes_local_files_without_object(tree, monkeypatch):
    task = make_sync(mode="pull", path=str(tree), delete=True, exclude=["a/b/*"])
    # The listing holds every name, also those the filters leave out and those pull skips.
    monkeypatch.setattr(task.planner, "listing", lambda: ({"top.txt": 3, "new.txt": 1}, {"top.txt", "new.txt", "a/fifo"}, 3))
    items, _errors, total, chosen = every_item(task)
    assert [(entry.kind, entry.relative) for entry in items] == [
        ("get", "new.txt"), ("get", "top.txt"),
        ("delete", "a/one.log"), ("delete", "broken-link"), ("delete", "link-to-file")]
    assert items[2].path == str(tree / "a" / "one.log")
    assert (total, chosen) == (3, 2)


def test_blocked_paths(tmp_path):
    root = tmp_path / "root"
    (root / "dir").mkdir(parents=True)
    (root / "file").write_text("x")
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(str(outside), str(root / "escape"))
    os.symlink(str(root / "dir"), str(root / "inside"))
    task = make_sync(mode="pull", path=str(root))

    def blocked(relative):
        return task.planner._blocked(os.path.join(task.settings.root, relative))  # pylint: disable=protected-access

    assert blocked("new.txt") is None
    assert blocked("dir/new/deeper/x.txt") is None
    assert blocked("inside/x.txt") is None  # a link that stays inside path
    assert "is a file where the object needs a directory" in blocked("file/x.txt")
    assert "leads outside path through a symbolic link" in blocked("escape/x.txt")
    assert "leads outside path" in blocked("escape/new/x.txt")
    assert make_sync(mode="pull", path=str(tmp_path / "missing")).planner._blocked(  # pylint: disable=protected-access
        str(tmp_path / "missing" / "a" / "b.txt")) is None


def test_push_plan_deletes_nothing_when_the_listing_holds_names_outside_the_prefix(tree, monkeypatch):
    task = make_sync(path=str(tree), delete=True, prefix="rel")

    def listing():
        task.planner.foreign = ["rel-other/x"]
        return {"gone.txt": 1}, {"gone.txt"}, 1

    monkeypatch.setattr(task.planner, "listing", listing)
    items, _errors, _total, _chosen = every_item(task)
    assert [entry.kind for entry in items if entry.kind in ("delete", "foreign")] == ["foreign"]
    result = result_of(task, [item if item.action else item.decide(UPLOAD) for item in items], [], 6, 6, False)
    assert result["counts"]["deleted"] == 0 and result["counts"]["skipped"] == 1
    assert result["skipped_entries"][0]["object"] == "rel-other/x"
    assert "does not start with it" in result["skipped_entries"][0]["reason"]
    assert any("nothing was deleted" in warning for warning in task.warnings)


def test_pull_plan_deletes_no_local_file_when_the_listing_holds_names_outside_the_prefix(tree, monkeypatch):
    task = make_sync(mode="pull", path=str(tree), delete=True)

    def listing():
        task.planner.foreign = ["rel/top.txt"]  # asked for 'rel//', the server answered with 'rel/...'
        return {}, set(), 0

    monkeypatch.setattr(task.planner, "listing", listing)
    items, _errors, _total, _chosen = every_item(task)
    assert [(entry.kind, entry.action) for entry in items] == [("foreign", SKIP)]


def test_pull_never_deletes_a_local_file_no_object_can_match(tree, monkeypatch):
    (tree / "bad-\udcff.txt").write_text("x")  # read back from a name that is not UTF-8
    (tree / "back\\slash").write_text("x")
    task = make_sync(mode="pull", path=str(tree), delete=True, include=["bad-*", "back*", "top.txt"])
    monkeypatch.setattr(task.planner, "listing", lambda: ({}, set(), 0))
    items, _errors, _total, _chosen = every_item(task)
    decided = {entry.relative: (entry.action, entry.reason) for entry in items}
    assert decided["top.txt"] == (None, None)  # deleted: an object could have matched it
    assert decided["bad-\udcff.txt"][0] == SKIP and "not valid UTF-8" in decided["bad-\udcff.txt"][1]
    assert decided["back\\slash"][0] == SKIP and "backslash" in decided["back\\slash"][1]
    assert decided["back\\slash"][1].endswith("so no object can match it: not deleted")
    assert task.planner.plan(items[0]) is items[0]  # pylint: disable=protected-access
    result = result_of(task, items, [], 0, 0, False)
    json.dumps(result, ensure_ascii=False).encode("utf-8")  # what Ansible refused: a name that is not UTF-8
    assert {entry["name"] for entry in result["skipped_entries"]} == {"bad-\\xff.txt", "back\\slash"}


def test_objects_that_need_one_path_as_file_and_directory_both_fail(tmp_path):
    task = make_sync(mode="pull", path=str(tmp_path))
    items = [item("get", "a", DOWNLOAD), item("get", "a/b", DOWNLOAD), item("get", "a/c/d", UNCHANGED),
             item("get", "x", SKIP, "not SSE-C encrypted"), item("get", "x/y", DOWNLOAD),
             item("get", "ab", DOWNLOAD), item("delete", "a/z", DELETE)]
    task.planner.fail_collisions(items)
    decided = {entry.relative: entry for entry in items}
    for relative, other in (("a", "p/a/b"), ("a/b", "p/a"), ("a/c/d", "p/a")):
        assert decided[relative].action == FAIL
        assert "map onto the same local path %s" % (tmp_path / "a") in decided[relative].reason
        assert other in decided[relative].reason
    # a skipped object takes no path; a name that only starts the same is no directory
    assert [decided[name].action for name in ("x/y", "ab", "a/z")] == [DOWNLOAD, DOWNLOAD, DELETE]


@pytest.mark.parametrize("value", ["0640", "640", 416, "u=rw,g=r", "rw-r-----"])
def test_a_permission_given_as_mode_gets_a_hint(value):
    hint = sync_options.mode_hint(value)
    assert "mode is the direction: push or pull" in hint and "file_mode" in hint


@pytest.mark.parametrize("value", ["push", "pull", None, "", "upload", True])
def test_other_modes_get_no_hint(value):
    assert sync_options.mode_hint(value) is None


def test_current_umask_leaves_the_umask_alone():
    before = os.umask(0o027)
    try:
        assert sync_options.current_umask() == 0o027
        assert sync_options.current_umask() == 0o027
    finally:
        os.umask(before)


def test_planners_dispatch_on_the_kind_of_each_name(tree):
    push = make_sync(path=str(tree))
    new = Item(sync_plan.Kind.PUT_NEW, "top.txt", "p/top.txt")
    new.path = str(tree / "top.txt")
    assert push.planner.plan(new).action == UPLOAD  # a new file needs no HEAD
    assert new.after.startswith("sha256 ")
    pull = make_sync(mode="pull", path=str(tree))
    gone, there = Item(sync_plan.Kind.DELETE, "gone", "p/gone"), Item(sync_plan.Kind.DELETE, "top.txt", "p/top.txt")
    gone.path, there.path = str(tree / "gone"), str(tree / "top.txt")
    assert [pull.planner.plan(entry).action for entry in (gone, there)] == [NOTHING, DELETE]
    assert set(sync_plan.PushPlanner.planners) | set(sync_plan.PullPlanner.planners) == {
        sync_plan.Kind.PUT, sync_plan.Kind.PUT_NEW, sync_plan.Kind.GET, sync_plan.Kind.DELETE}


# ---- shard (issue 12, item 4) -------------------------------------------------------------------

def test_shards_are_disjoint_cover_every_name_and_are_stable():
    from ansible_collections.ssec.s3.plugins.module_utils._sync_names import in_shard

    names = ["dir-%02d/file-%04d.txt" % (number % 7, number) for number in range(3000)] + ["\udcff-not-utf8", ""]
    for count in (1, 2, 3, 7):
        shares = [{name for name in names if in_shard(name, (number, count))} for number in range(1, count + 1)]
        assert sum(len(share) for share in shares) == len(names)  # disjoint ...
        assert set().union(*shares) == set(names)  # ... and every name in one
        if count > 1:
            assert all(len(share) > len(names) / count / 2 for share in shares)  # spread, not all in one
    # Stable: a fixed answer per name (SHA-256 of the relative name), whatever the process, host or order.
    for name, number in (("a/b.txt", 4), ("index.html", 3), ("docs/api/v2/file-0001.json", 3)):
        assert [share for share in range(1, 5) if in_shard(name, (share, 4))] == [number]


@pytest.mark.parametrize("value, expected", [("1/1", (1, 1)), ("2/4", (2, 4)), (" 3/3 ", (3, 3)), ("0/3", None),
                                             ("4/3", None), ("1", None), ("1/0", None), ("a/b", None), ("-1/2", None)])
def test_parse_shard(value, expected):
    from ansible_collections.ssec.s3.plugins.module_utils._sync_names import parse_shard

    assert parse_shard(value) == expected


def test_a_bad_shard_is_refused_before_any_request():
    from ansible_collections.ssec.s3.plugins.module_utils._sync_options import validate

    with pytest.raises(SsecError, match=r"shard '0/2' is not a share: give it as 'i/n'"):
        validate(params(shard="0/2"))


def test_shard_selects_within_include_and_exclude():
    from ansible_collections.ssec.s3.plugins.module_utils._sync_names import in_shard, selected

    names = ["x%03d.log" % number for number in range(200)]
    picked = [name for name in names if selected(name, ["*.log"], ["x00*"], (1, 2))]
    assert picked == [name for name in names if not name.startswith("x00") and in_shard(name, (1, 2))]


def test_batches_keep_the_order_and_every_item():
    assert list(sync_plan.batches(range(7), 3)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(sync_plan.batches([], 3)) == []


def test_clashes_are_names_that_need_one_path_as_file_and_directory():
    names = {"a", "a/b", "a/c/d", "ab", "x/y", "q/r", "q/r/s/t"}
    assert sync_plan.clashes(names) == {"a", "a/b", "a/c/d", "q/r", "q/r/s/t"}
    assert sync_plan.clashes({"a/b", "a/c", "b"}) == set()


def test_pull_plans_names_that_clash_last_and_together(monkeypatch, tmp_path):
    """fail_collisions sees every decision of names that clash: they share the last batch, however small the batches."""
    monkeypatch.setattr(sync_plan, "BATCH", 2)
    task = make_sync(mode="pull", path=str(tmp_path))
    names = ["a", "a/b", "b", "c", "d", "e", "f/g", "f"]
    monkeypatch.setattr(task.planner, "listing", lambda: (dict.fromkeys(names, ("etag", 1, "")), set(names), len(names)))
    batches, _errors, total, chosen = task.planner.items()
    batches = [[entry.relative for entry in batch] for batch in batches]
    assert (total, chosen) == (8, 8)
    assert batches == [["b", "c"], ["d", "e"], ["a", "a/b", "f", "f/g"]]

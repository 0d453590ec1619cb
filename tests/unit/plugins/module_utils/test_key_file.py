# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Key files on disk: inspecting, race-safe creation, atomic replacement."""

from __future__ import annotations

import base64
import errno
import multiprocessing
import os
import stat
import time

import pytest

from ansible_collections.ssec.s3.plugins.module_utils._errors import SsecError
from ansible_collections.ssec.s3.plugins.module_utils._key_file import (
    create_key_file,
    inspect_key_file,
    replace_key_file,
)
from ansible_collections.ssec.s3.plugins.module_utils._sse_key import CustomerKey

RAW = bytes(range(200, 232))
KEY = CustomerKey(RAW)
B64 = base64.b64encode(RAW)


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def assert_only(directory, *names):
    """Nothing but ``names`` in ``directory``: in particular no temp file left behind."""
    assert sorted(os.listdir(directory)) == sorted(names)


# --- inspect_key_file ----------------------------------------------------------------------

def test_inspect_missing_file(tmp_path):
    state = inspect_key_file(str(tmp_path / "ssec.key"))
    assert (state.exists, state.key, state.format, state.problem) == (False, None, None, None)
    assert state.summary() == {"exists": False, "format": None, "key_md5": None}


@pytest.mark.parametrize(
    "contents, key_format",
    [
        (RAW, "raw"),
        (B64 + b"\n", "base64"),
        (B64, "base64"),
        (RAW.hex().encode() + b"\n", "hex"),
    ],
)
def test_inspect_valid_key_files(tmp_path, contents, key_format):
    path = tmp_path / "ssec.key"
    path.write_bytes(contents)
    state = inspect_key_file(str(path))
    assert state.exists and state.problem is None
    assert state.key == KEY
    assert state.format == key_format
    assert state.summary() == {"exists": True, "format": key_format, "key_md5": KEY.md5}


@pytest.mark.parametrize(
    "contents, problem",
    [
        (RAW[:16], "it holds 16 bytes, which is neither a raw key"),
        (b"", "it holds 0 bytes"),
        (base64.b64encode(RAW[:16]) + b"\n", "it holds 25 bytes"),
        (b"x" * 10000, "which is neither a raw key"),
    ],
)
def test_inspect_unusable_files_reports_the_problem(tmp_path, contents, problem, assert_no_key_material):
    path = tmp_path / "ssec.key"
    path.write_bytes(contents)
    state = inspect_key_file(str(path))
    assert state.exists and state.key is None and state.format is None
    assert problem in state.problem
    assert state.summary() == {"exists": True, "format": None, "key_md5": None}
    assert_no_key_material(state.problem, contents)


def test_inspect_a_directory_names_a_file_inside_it(tmp_path):
    directory = tmp_path / "keys"
    directory.mkdir()
    for given in (str(directory), str(directory) + "/"):
        with pytest.raises(SsecError) as info:
            inspect_key_file(given)
        message = info.value.message
        assert "path %s is a directory" % given in message
        assert "Give the path of the key file to create inside it, for example %s/ssec.key." % directory in message


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_inspect_unreadable_file(tmp_path):
    path = tmp_path / "ssec.key"
    path.write_bytes(RAW)
    path.chmod(0)
    state = inspect_key_file(str(path))
    assert state.exists and state.key is None
    assert "it cannot be read (Permission denied)" == state.problem


# --- create_key_file -----------------------------------------------------------------------

@pytest.mark.parametrize("key_format, contents", [("raw", RAW), ("base64", B64 + b"\n")])
def test_create_writes_a_0600_file_and_nothing_else(tmp_path, key_format, contents):
    path = tmp_path / "ssec.key"
    old_umask = os.umask(0)
    try:
        key, created = create_key_file(str(path), KEY, key_format)
    finally:
        os.umask(old_umask)
    assert (key, created) == (KEY, True)
    assert path.read_bytes() == contents
    assert mode_of(path) == 0o600
    assert os.stat(path).st_nlink == 1  # the temp file's link is gone
    assert_only(tmp_path, "ssec.key")


def test_create_keeps_an_existing_valid_key(tmp_path):
    path = tmp_path / "ssec.key"
    path.write_bytes(B64 + b"\n")
    key, created = create_key_file(str(path), CustomerKey.generate(), "raw")
    assert (key, created) == (KEY, False)
    assert path.read_bytes() == B64 + b"\n"
    assert_only(tmp_path, "ssec.key")


def test_create_leaves_an_unusable_file_that_appeared_untouched(tmp_path):
    path = tmp_path / "ssec.key"
    path.write_bytes(b"not a key\n")
    with pytest.raises(SsecError) as info:
        create_key_file(str(path), KEY, "raw")
    message = info.value.message
    assert "%s appeared while the key was being created, and it holds 10 bytes" % path in message
    assert "It was left untouched." in message
    assert path.read_bytes() == b"not a key\n"
    assert_only(tmp_path, "ssec.key")


def test_create_in_a_missing_directory_names_it(tmp_path):
    directory = tmp_path / "missing"
    with pytest.raises(SsecError) as info:
        create_key_file(str(directory / "ssec.key"), KEY, "raw")
    message = info.value.message
    assert "The directory %s does not exist" % directory in message
    assert "Create it first" in message
    assert_only(tmp_path)


@pytest.fixture(params=["hard-link", "no-hard-links"])
def link_support(request, monkeypatch):
    """Run a test on a filesystem with hard links, and on one without (exclusive-create fallback)."""
    if request.param == "no-hard-links":
        def refuse(*args, **kwargs):
            raise OSError(errno.EPERM, "Operation not permitted")

        real_fdopen = os.fdopen

        def slow_fdopen(*args, **kwargs):
            # A slow disk: a file created empty stays empty a while before its content is written.
            time.sleep(0.05)
            return real_fdopen(*args, **kwargs)

        monkeypatch.setattr(os, "link", refuse)
        monkeypatch.setattr(os, "fdopen", slow_fdopen)
    return request.param


def test_create_works_with_and_without_hard_links(tmp_path, link_support):
    path = tmp_path / "ssec.key"
    assert create_key_file(str(path), KEY, "base64") == (KEY, True)
    assert path.read_bytes() == B64 + b"\n"
    assert mode_of(path) == 0o600
    assert create_key_file(str(path), CustomerKey.generate(), "raw") == (KEY, False)
    assert_only(tmp_path, "ssec.key")


RACERS = 16


def _race(path, key_format, barrier, results):
    barrier.wait()
    try:
        key, created = create_key_file(path, CustomerKey.generate(), key_format)
        results.put(("ok", key.md5, created))
    except BaseException as exc:  # reported to the test, which fails
        results.put(("error", "%s: %s" % (type(exc).__name__, exc), None))


@pytest.mark.parametrize("key_format", ["raw", "base64"])
def test_concurrent_creators_agree_on_one_key(tmp_path, key_format, link_support):
    context = multiprocessing.get_context("fork")
    path = str(tmp_path / "ssec.key")
    barrier = context.Barrier(RACERS)
    results = context.Queue()
    processes = [context.Process(target=_race, args=(path, key_format, barrier, results)) for _racer in range(RACERS)]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=60) for _process in processes]
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0

    errors = [outcome for outcome in outcomes if outcome[0] != "ok"]
    assert not errors
    md5s = {outcome[1] for outcome in outcomes}
    assert len(md5s) == 1, "the racers reported %d different keys" % len(md5s)
    assert sum(outcome[2] for outcome in outcomes) == 1
    state = inspect_key_file(path)
    assert state.key.md5 in md5s
    assert state.format == key_format
    assert mode_of(path) == 0o600
    assert_only(tmp_path, "ssec.key")


# --- replace_key_file ----------------------------------------------------------------------

@pytest.mark.parametrize("key_format, contents", [("raw", RAW), ("base64", B64 + b"\n")])
def test_replace_is_atomic_0600_and_leaves_no_temp_file(tmp_path, key_format, contents, file_module):
    path = tmp_path / "ssec.key"
    path.write_bytes(b"old key material!!".ljust(32, b"."))
    path.chmod(0o644)
    # A second name for the old file: an in-place rewrite would change what it shows.
    os.link(path, tmp_path / "old.key")
    replace_key_file(file_module(), str(path), KEY, key_format)
    assert path.read_bytes() == contents
    assert mode_of(path) == 0o600
    assert (tmp_path / "old.key").read_bytes() == b"old key material!!".ljust(32, b".")
    assert not os.path.samefile(path, tmp_path / "old.key")
    assert_only(tmp_path, "ssec.key", "old.key")


def test_replace_converts_the_format_of_the_same_key(tmp_path, file_module):
    path = tmp_path / "ssec.key"
    path.write_bytes(RAW)
    replace_key_file(file_module(), str(path), inspect_key_file(str(path)).key, "base64")
    state = inspect_key_file(str(path))
    assert (state.key, state.format) == (KEY, "base64")
    assert_only(tmp_path, "ssec.key")


def test_failed_replace_leaves_the_old_file_and_no_temp_file(tmp_path, file_module):
    target = tmp_path / "ssec.key"
    target.mkdir()  # a non-empty directory cannot be replaced by a file
    (target / "inside").write_bytes(b"x")
    with pytest.raises(SsecError) as info:
        replace_key_file(file_module(), str(target), KEY, "raw")
    message = info.value.message
    assert "Could not put the new file in place at %s" % target in message
    assert "it was left as it was." in message
    assert_only(tmp_path, "ssec.key")
    assert (target / "inside").read_bytes() == b"x"

# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""sync_record: the record of what ssec.s3.sync verified (the file, its integrity, what an entry is trusted for)."""

from __future__ import annotations

import hashlib
import os
import stat
import time
import types

import pytest

from ansible_collections.ssec.s3.plugins.module_utils import _sync_record as sync_record
from ansible_collections.ssec.s3.plugins.module_utils._sse_key import CustomerKey

KEY = CustomerKey(b"k" * 32)
OTHER_KEY = CustomerKey(b"o" * 32)
SHA = hashlib.sha256(b"content").hexdigest()
LISTED = ('"etag-1"', 7, "2026-12-06T10:00:00+00:00")


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache"


def old_file(tmp_path, name="f.txt"):
    path = tmp_path / name
    path.write_bytes(b"content")
    return path, os.stat(path)


def saved(path, key=KEY, **entries):
    record = sync_record.Record(path, key)
    for name, (listed, info) in entries.items():
        record.keep(name, listed, sync_record.file_identity(info), SHA, seen_ns=info.st_ctime_ns + 3 * 10 ** 9)
    assert record.write() is None
    return path


def test_an_entry_is_trusted_only_while_both_sides_match(cache, tmp_path):
    path = sync_record.record_path("https://s3", "b", "p/", KEY.md5, str(tmp_path))
    _file, info = old_file(tmp_path)
    saved(path, a=(LISTED, info))
    record = sync_record.Record(path, KEY)
    known = record.known("a", LISTED)
    assert known.same_file(info) and known.fingerprint == record.fingerprint(SHA)
    for changed in (('"etag-2"', 7, LISTED[2]), (LISTED[0], 8, LISTED[2]), (LISTED[0], 7, "2026-12-06T10:00:01+00:00")):
        assert record.known("a", changed) is None
    assert record.known("b", LISTED) is None
    fields = {name: getattr(info, name) for name in ("st_dev", "st_ino", "st_size", "st_mtime_ns", "st_ctime_ns")}
    assert known.same_file(types.SimpleNamespace(**fields))
    for name in fields:  # any one part of the identity changed: the file must be hashed again
        assert not known.same_file(types.SimpleNamespace(**dict(fields, **{name: fields[name] + 1})))


def test_the_file_is_owner_only_and_holds_no_sha256(cache, tmp_path):
    path = sync_record.record_path(None, "b", "", KEY.md5, str(tmp_path))
    _file, info = old_file(tmp_path)
    saved(path, a=(LISTED, info))
    assert str(path).startswith(str(cache / "ssec.s3" / "sync"))
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700
    text = open(path, encoding="utf-8").read()
    assert SHA not in text and KEY.b64 not in text


@pytest.mark.parametrize("damage", ["flip", "cut", "other key", "garbage", "empty"])
def test_a_damaged_or_foreign_record_is_ignored_as_a_whole(cache, tmp_path, damage):
    path = sync_record.record_path(None, "b", "", KEY.md5, str(tmp_path))
    _file, info = old_file(tmp_path)
    saved(path, a=(LISTED, info), b=(LISTED, info))
    raw = bytearray(open(path, "rb").read())
    if damage == "flip":
        raw[len(raw) // 2] ^= 1
    elif damage == "cut":
        raw = raw[: len(raw) - 10]
    elif damage == "other key":
        saved(path, OTHER_KEY, a=(LISTED, info), b=(LISTED, info))
        raw = bytearray(open(path, "rb").read())
    elif damage == "garbage":
        raw = bytearray(os.urandom(300))
    else:
        raw = bytearray()
    with open(path, "wb") as handle:
        handle.write(raw)
    record = sync_record.Record(path, KEY)
    assert record.known("a", LISTED) is None and record.known("b", LISTED) is None


def test_a_file_changed_less_than_2_s_before_it_was_seen_gets_no_identity(cache, tmp_path):
    path = sync_record.record_path(None, "b", "", KEY.md5, str(tmp_path))
    _file, info = old_file(tmp_path)
    record = sync_record.Record(path, KEY)
    record.keep("recent", LISTED, sync_record.file_identity(info), SHA, seen_ns=info.st_ctime_ns + 10 ** 9)
    record.keep("aged", LISTED, sync_record.file_identity(info), SHA, seen_ns=info.st_ctime_ns + 3 * 10 ** 9)
    record.write()
    again = sync_record.Record(path, KEY)
    assert not again.known("recent", LISTED).same_file(info)  # hashed next time (no HEAD: the fingerprint)
    assert again.known("recent", LISTED).fingerprint == again.fingerprint(SHA)
    assert again.known("aged", LISTED).same_file(info)


def test_full_check_ignores_the_record_and_a_record_per_place(cache, tmp_path):
    path = sync_record.record_path(None, "b", "", KEY.md5, str(tmp_path))
    _file, info = old_file(tmp_path)
    saved(path, a=(LISTED, info))
    assert sync_record.Record(path, KEY, trusted=False).known("a", LISTED) is None
    places = {sync_record.record_path(*place) for place in (
        ("e", "b", "", KEY.md5, "/x"), ("f", "b", "", KEY.md5, "/x"), ("e", "c", "", KEY.md5, "/x"),
        ("e", "b", "p/", KEY.md5, "/x"), ("e", "b", "", OTHER_KEY.md5, "/x"), ("e", "b", "", KEY.md5, "/y"))}
    places.add(sync_record.record_path("e", "b", "", KEY.md5, "/x", (1, 2)))
    assert len(places) == 7


def test_an_unwritable_cache_is_a_message_not_a_failure(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    record = sync_record.Record(sync_record.record_path(None, "b", "", KEY.md5, str(tmp_path)), KEY)
    record.keep("a", LISTED, sync_record.file_identity(os.stat(blocker)), SHA, seen_ns=time.time_ns())
    assert "file" in record.write()


def test_an_entry_kept_before_its_listing_is_the_same_line(cache, tmp_path):
    """Uploads wait for the listing after them as a compact entry; the line they end as is the one keep writes."""
    _file, info = old_file(tmp_path)
    identity, seen = sync_record.file_identity(info), info.st_ctime_ns + 3 * 10 ** 9
    record = sync_record.Record(sync_record.record_path(None, "b", "", KEY.md5, str(tmp_path)), KEY)
    record.keep("direct", LISTED, identity, SHA, seen_ns=seen)
    record.keep_entry("later", LISTED, record.entry(identity, SHA, seen_ns=seen))
    assert record.new["later"] == record.new["direct"].replace('"direct"', '"later"', 1)
    assert record.write() is None
    again = sync_record.Record(record.path, KEY)
    assert again.known("later", LISTED).same_file(info) and again.known("later", LISTED).fingerprint == \
        again.fingerprint(SHA)

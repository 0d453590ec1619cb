# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The decisions of ssec.s3.object and ssec.s3.download taken before any request: metadata, dest, digests."""

from __future__ import annotations

import os
import time

import pytest

from ansible_collections.ssec.s3.plugins.module_utils import (
    _digest as digest, _object_task as object_task, _transfer as transfer)
from ansible_collections.ssec.s3.plugins.module_utils._errors import SsecError
from ansible_collections.ssec.s3.plugins.module_utils._remote import SSE_C, RemoteObject
from ansible_collections.ssec.s3.plugins.module_utils._sse_key import CustomerKey

KEY = CustomerKey(bytes(range(1, 33)))
OTHER_KEY = CustomerKey(bytes(range(2, 34)))
DATA = b"the same bytes\n"


# ---- metadata a server would store differently ------------------------------------------------------

def test_metadata_that_every_server_keeps_is_accepted():
    wanted = object_task.wanted_metadata({"Owner": "team a", "build": 7, "release.channel": "x-y", "a-b": "v"})
    assert wanted == {"owner": "team a", "build": "7", "release.channel": "x-y", "a-b": "v"}


@pytest.mark.parametrize("metadata, fragments", [
    ({"build_id": "7"}, ["'build_id' holds '_'", "Ceph RGW", "'build-id'"]),
    ({"note": " padded"}, ["metadata note begins or ends with spaces", "trim"]),
    ({"note": "padded "}, ["metadata note begins or ends with spaces"]),
    ({"note": ""}, ["metadata note is empty", "servers drop empty values", "Give it a value, or remove it"]),
    ({"my key": "v"}, ["metadata name 'my key' cannot be sent", "Rename it"]),
    ({"a!b": "v"}, ["metadata name 'a!b' cannot be sent"]),
    ({"multi": "line1\nline2"}, ["other than printable ASCII"]),
])
def test_metadata_a_server_would_normalize_is_refused_with_the_fix(metadata, fragments):
    with pytest.raises(SsecError) as caught:
        object_task.wanted_metadata(metadata)
    for fragment in fragments:
        assert fragment in caught.value.message


@pytest.mark.parametrize("content_type", ["text/plain", "text/plain; charset=utf-8", "application/x-tar", None])
def test_content_types_every_server_keeps_are_accepted(content_type):
    object_task.check_content_type(content_type)


@pytest.mark.parametrize("content_type, fragment", [
    ("", "content_type is empty"),
    (" text/plain", "begins or ends with spaces"),
    ("text/plain ", "begins or ends with spaces"),
    ("\u00e9", "other than printable ASCII"),
    ("text/plain\tx", "other than printable ASCII"),
])
def test_a_content_type_a_server_would_change_is_refused(content_type, fragment):
    with pytest.raises(SsecError) as caught:
        object_task.check_content_type(content_type)
    assert fragment in caught.value.message


# ---- dest of a download ------------------------------------------------------------------------------

def test_a_fifo_dest_is_refused_without_opening_it(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    started = time.monotonic()
    with pytest.raises(SsecError) as caught:
        object_task._check_dest(str(fifo))
    assert time.monotonic() - started < 5
    assert "is not a regular file" in caught.value.message and "Give the path of a regular file" in caught.value.message


@pytest.mark.parametrize("link", [False, True])
def test_a_device_dest_is_refused(tmp_path, link):
    dest = "/dev/null"
    if link:
        os.symlink(dest, tmp_path / "null")
        dest = str(tmp_path / "null")
    with pytest.raises(SsecError, match="is not a regular file"):
        object_task._check_dest(dest)
    assert os.path.exists("/dev/null") and not os.path.isfile("/dev/null")


@pytest.mark.parametrize("make", [None, "file", "broken-link"])
def test_a_regular_or_absent_dest_is_accepted(tmp_path, make):
    dest = tmp_path / "dest"
    if make == "file":
        dest.write_bytes(b"old")
    elif make == "broken-link":
        os.symlink(tmp_path / "missing", dest)
    object_task._check_dest(str(dest))


def test_a_fifo_src_is_refused_without_opening_it(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    params = {"src": str(fifo), "content": None, "content_base64": None}
    with pytest.raises(SsecError, match="src .* is not a regular file"):
        object_task._source(params)


# ---- a stored digest that does not open with the key --------------------------------------------------

def _kept_from_another_key(data=DATA):
    """An object whose bytes are right, but whose digest was sealed under another key (a rotation by another tool)."""
    sealed = digest.seal(OTHER_KEY, transfer.Source(data=data).sha256)
    head = {"ContentLength": len(data), "SSECustomerAlgorithm": "AES256", "SSECustomerKeyMD5": KEY.md5,
            "Metadata": {digest.METADATA_NAME: sealed}}
    return RemoteObject("bucket", "name", True, SSE_C, True, head, KEY)


def test_a_digest_that_does_not_open_is_a_difference():
    remote = _kept_from_another_key()
    assert remote.digest_problem and remote.sha256 is None
    # No request may be needed to decide: the client is absent.
    assert transfer.same_content(None, remote, KEY, transfer.Source(data=DATA)) is False


def test_object_uploads_again_and_says_why():
    params = {"overwrite": "different", "content_type": None, "storage_class": None}
    upload, messages = object_task._needs_upload(None, _kept_from_another_key(), KEY, transfer.Source(data=DATA),
                                                 params, None)
    assert upload is True
    done, would = messages
    assert done.startswith("Uploaded the object again: its stored content digest does not open with this key")
    assert would.startswith("Would upload the object again: its stored content digest does not open")


# ---- a source that changes -----------------------------------------------------------------------------

def test_a_file_source_notices_a_change(tmp_path):
    path = tmp_path / "src"
    path.write_bytes(b"first")
    source = transfer.Source(path=str(path))
    assert not source.changed()
    stat_before = os.stat(path)
    path.write_bytes(b"other")  # same size; mtime put back: the ctime and then the bytes still tell
    os.utime(path, ns=(stat_before.st_atime_ns, stat_before.st_mtime_ns))
    assert source.changed()
    source.hash()
    assert not source.changed() and source.sha256 == transfer.sha256_file(str(path))


def test_inline_data_never_changes():
    assert transfer.Source(data=DATA).changed() is False

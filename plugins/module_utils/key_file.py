# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Key files on disk: inspect, create race-safely, replace atomically.

A lost SSE-C key is lost data, so nothing here ever truncates or rewrites a
key file in place: new content goes to a 0600 temp file beside the target,
is fsynced, and then appears at the path in one step.
"""

from __future__ import annotations

import errno
import os
import tempfile
import time

from ansible_collections.ssec.s3.plugins.module_utils.errors import SsecError
from ansible_collections.ssec.s3.plugins.module_utils.local_files import writable_parent
from ansible_collections.ssec.s3.plugins.module_utils.sse_key import (
    InvalidKeyError,
    encode_key_file,
    key_file_shape_problem,
    parse_key_file_bytes,
    MAX_KEY_FILE_SIZE,
)


class KeyFileState:
    """What is at a key path now: nothing, a valid key (and its format), or something unusable."""

    def __init__(self, exists, key=None, key_format=None, problem=None):
        self.exists = exists
        self.key = key
        self.format = key_format
        self.problem = problem

    def summary(self):
        """Before/after view for diff mode: fingerprints only."""
        return {
            "exists": self.exists,
            "format": self.format,
            "key_md5": self.key.md5 if self.key else None,
        }


def inspect_key_file(path) -> KeyFileState:
    if os.path.isdir(path):
        raise SsecError("path %s is a directory. Give the path of the key file to create inside it, "
                        "for example %s/ssec.key." % (path, path.rstrip("/")))
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_KEY_FILE_SIZE)
    except FileNotFoundError:
        return KeyFileState(exists=False)
    except OSError as exc:
        return KeyFileState(exists=True, problem="it cannot be read (%s)" % exc.strerror)
    try:
        key, key_format = parse_key_file_bytes(data)
    except InvalidKeyError:
        return KeyFileState(exists=True, problem=key_file_shape_problem(len(data)))
    return KeyFileState(exists=True, key=key, key_format=key_format)


def _write_temp(path, content) -> str:
    """A fsynced 0600 temp file beside ``path`` (same filesystem, so link/rename are atomic)."""
    directory = writable_parent(path)
    fd, temp_path = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        os.unlink(temp_path)
        raise
    return temp_path


def _fsync_directory(directory):
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def create_key_file(path, key, key_format):
    """Create ``path`` holding ``key`` unless it appeared meanwhile; return the key now at ``path``.

    The complete temp file is hard-linked to ``path``: the link fails if ``path`` exists, so
    concurrent creators agree on one key, and nobody can ever read a half-written file.
    """
    temp_path = _write_temp(path, encode_key_file(key, key_format))
    try:
        os.link(temp_path, path)
    except FileExistsError:
        state = inspect_key_file(path)
        if state.key is None:
            raise SsecError("%s appeared while the key was being created, and %s. It was left untouched."
                            % (path, state.problem)) from None
        return state.key, False
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EXDEV):
            raise SsecError("Cannot create %s: %s." % (path, exc.strerror)) from None
        # No hard links on this filesystem: an exclusive create is the next best thing.
        return _create_exclusive(path, key, key_format)
    finally:
        os.unlink(temp_path)
    _fsync_directory(os.path.dirname(os.path.abspath(path)))
    return key, True


def _create_exclusive(path, key, key_format):
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        # The winner may not have written its key yet: give it a moment before judging the file.
        deadline = time.monotonic() + 2
        state = inspect_key_file(path)
        while state.key is None and time.monotonic() < deadline:
            time.sleep(0.01)
            state = inspect_key_file(path)
        if state.key is None:
            raise SsecError("%s appeared while the key was being created, and %s. It was left untouched."
                            % (path, state.problem)) from None
        return state.key, False
    with os.fdopen(fd, "wb") as handle:
        handle.write(encode_key_file(key, key_format))
        handle.flush()
        os.fsync(handle.fileno())
    return key, True


def replace_key_file(path, key, key_format):
    """Atomically replace ``path`` (the caller has made any backup)."""
    temp_path = _write_temp(path, encode_key_file(key, key_format))
    try:
        os.replace(temp_path, path)
    except OSError as exc:
        os.unlink(temp_path)
        raise SsecError("Cannot replace %s: %s. The old file was left untouched. Check the permissions and "
                        "attributes of the file and of its directory (an immutable file, a read-only mount), or "
                        "use become." % (path, exc.strerror)) from None
    _fsync_directory(os.path.dirname(os.path.abspath(path)))

# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to the ssec.s3 collection, not a public API: it may change in any release.
"""Key files on disk: inspect, create race-safely, replace atomically.

A lost SSE-C key is lost data, so nothing here ever truncates or rewrites a
key file in place: new content goes through local_files.write_file (a 0600
temp file beside the target, fsynced, then at the path in one step).
"""

from __future__ import annotations

import os
import time

from ansible_collections.ssec.s3.plugins.module_utils._errors import SsecError
from ansible_collections.ssec.s3.plugins.module_utils._local_files import NoHardLinks, fsync_directory, write_file
from ansible_collections.ssec.s3.plugins.module_utils._sse_key import (
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


def _fill(key, key_format):
    content = encode_key_file(key, key_format)
    return lambda handle: handle.write(content)


def create_key_file(path, key, key_format):
    """Create ``path`` holding ``key`` unless it appeared meanwhile; return the key now at ``path``.

    The complete temp file is hard-linked to ``path`` (local_files.write_file, exclusive): the link fails
    if ``path`` exists, so concurrent creators agree on one key, and nobody can ever read a half-written file.
    """
    try:
        created = write_file(None, path, _fill(key, key_format), exclusive=True)[0]
    except NoHardLinks:
        # No hard links on this filesystem: an exclusive create is the next best thing.
        return _create_exclusive(path, key, key_format)
    if created:
        return key, True
    state = inspect_key_file(path)
    if state.key is None:
        raise SsecError("%s appeared while the key was being created, and %s. It was left untouched."
                        % (path, state.problem))
    return state.key, False


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
    fsync_directory(os.path.dirname(os.path.abspath(path)))
    return key, True


def replace_key_file(module, path, key, key_format, backup=False):
    """Atomically replace ``path`` (local_files.write_file); return the backup path, if one was made.

    The new file keeps the temp file's 0600, not the old file's mode: the task's mode is applied after.
    """
    return write_file(module, path, _fill(key, key_format), backup=backup, keep_attributes=False)[1]

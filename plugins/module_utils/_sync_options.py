# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to the ssec.s3 collection, not a public API: it may change in any release.
"""ssec.s3.sync: its options, read and checked once before any request (direction, path, file modes)."""

from __future__ import annotations

import os
import re

from ansible_collections.ssec.s3.plugins.module_utils import _local_files as local_files, _transfer as transfer
from ansible_collections.ssec.s3.plugins.module_utils._errors import SsecError
from ansible_collections.ssec.s3.plugins.module_utils._module import object_name_problem
from ansible_collections.ssec.s3.plugins.module_utils._sync_names import normalize_prefix, parse_shard

PUSH, PULL = "push", "pull"


class Settings:
    """The options of one run, as the planners, the appliers and the result read them."""

    def __init__(self, params, check_mode=False):
        self.direction = params["mode"]
        self.root = os.path.normpath(params["path"])
        self.bucket = params["bucket"]
        self.prefix = normalize_prefix(params["prefix"])
        self.include = [str(pattern) for pattern in params["include"] or ()]
        self.exclude = [str(pattern) for pattern in params["exclude"] or ()]
        self.delete = params["delete"]
        self.force = params["force"]
        self.concurrency = params["concurrency"]
        self.part_size = params["part_size_mb"] * transfer.MIB
        self.file_mode = parse_file_mode(params["file_mode"])
        self.full_check = params.get("full_check", False)
        self.shard = parse_shard(params["shard"]) if params.get("shard") is not None else None
        self.check_mode = check_mode


def parse_file_mode(value):
    """``file_mode`` -> int bits or a symbolic string; SsecError when it is neither (checked once, up front)."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        bits = value
    else:
        text = str(value).strip()
        try:
            bits = int(text, 8)
        except ValueError:
            try:
                resolve_mode(text, 0o644)
            except (ValueError, KeyError, IndexError):
                bits = -1
            else:
                return text
    if not 0 <= bits <= 0o7777:
        raise SsecError("file_mode %s is not a file mode: give octal digits as a quoted string, for example "
                        "'0640', or a symbolic mode such as 'u=rw,g=r,o='." % value)
    return bits


def resolve_mode(file_mode, current_bits) -> int:
    """The permission bits ``file_mode`` gives a regular file that has ``current_bits``.

    Symbolic modes read the umask (a clause without u, g, o or a): call this in the main thread only.
    """
    if isinstance(file_mode, int):
        return file_mode
    return local_files.symbolic_mode(file_mode, current_bits, current_umask())


def current_umask() -> int:
    """The process umask (main thread only: reading it means setting it for a moment)."""
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


def check_root(root, direction):
    """A file at path is an error; a missing path too when pushing (pull creates it)."""
    if os.path.isdir(root):
        if not os.access(root, os.R_OK | os.X_OK):
            raise SsecError("path %s cannot be read by this user. Fix its permissions or use become." % root)
        if direction == PULL and not os.access(root, os.W_OK):
            raise SsecError("path %s is not writable by this user. Fix its permissions or use become." % root)
        return
    if os.path.lexists(root):
        raise SsecError("path %s is not a directory: ssec.s3.sync works on a directory. For one file use "
                        "ssec.s3.object (upload) or ssec.s3.download." % root)
    if direction == PUSH:
        raise SsecError("path %s does not exist on the host the module runs on. Check the path (use "
                        "delegate_to: localhost for a directory on the controller)." % root)


def mode_hint(value):
    """What to do when ``mode`` (push or pull here) holds file permissions such as 0640, or None."""
    if value in (PUSH, PULL, None) or isinstance(value, bool):
        return None
    text = str(value).strip()
    if not text:
        return None
    if not text.isdigit() and not re.match(r"^[-rwxsStT]{9,10}$", text):  # digits, or as ls shows them
        try:
            parse_file_mode(text)
        except SsecError:
            return None
    return ("In ssec.s3.sync, mode is the direction: push or pull; %s looks like file permissions. Set the "
            "permissions of the files pull writes with file_mode, as a quoted octal string such as '0640' (an "
            "unquoted 0640 is the number 416 in YAML)." % text)


def validate(params):
    # The rules of module.object_name_problem apply to the prefix as used: 'a/.' becomes 'a/./'.
    problem = object_name_problem(normalize_prefix(params["prefix"]), "prefix")
    if problem:
        raise SsecError(problem)
    parse_file_mode(params["file_mode"])
    if params.get("shard") is not None and parse_shard(params["shard"]) is None:
        raise SsecError("shard %r is not a share: give it as 'i/n' with 1 <= i <= n, for example '2/4' for the "
                        "second of four hosts (\"{{ ansible_play_hosts.index(inventory_hostname) + 1 }}/"
                        "{{ ansible_play_hosts | length }}\")." % str(params["shard"]))
    if params["mode"] == PUSH and params["file_mode"] is not None:
        raise SsecError("file_mode applies to the files that mode: pull writes; remove it with mode: push.")

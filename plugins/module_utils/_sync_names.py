# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to the ssec.s3 collection, not a public API: it may change in any release.
"""ssec.s3.sync: object names and local names, the include/exclude filters, and the walk of the local tree."""

from __future__ import annotations

import errno
import fnmatch
import hashlib
import os
import re
import stat

from ansible_collections.ssec.s3.plugins.module_utils._errors import SsecError
from ansible_collections.ssec.s3.plugins.module_utils._module import object_name_problem


def normalize_prefix(prefix) -> str:
    """The prefix as a "directory": a non-empty prefix always ends with ``/``.

    Without it, ``prefix: backups`` would also list ``backups-old/...`` as part of the tree, and
    ``delete: true`` would remove it.
    """
    prefix = prefix or ""
    return prefix if not prefix or prefix.endswith("/") else prefix + "/"


def object_name(prefix, relative) -> str:
    return prefix + relative


def relative_name(prefix, name):
    """The name of an object relative to the prefix, or None for what is not a file (directory markers)."""
    if not name.startswith(prefix):
        return None
    relative = name[len(prefix):]
    return relative if relative and not relative.endswith("/") else None


def local_relative(root, path) -> str:
    return os.path.relpath(path, root).replace(os.sep, "/")


def unsafe_local_name(relative):
    """Why an object name cannot be a local path under the directory (None when it can)."""
    if "\x00" in relative:
        return "its name holds a NUL character, which no local file name can"
    if relative.startswith("/") or any(part in ("", ".", "..") for part in relative.split("/")):
        return ("its name has an empty, '.' or '..' component, so it would be written outside path or "
                "under another name")
    return None


def not_utf8(relative) -> bool:
    try:
        relative.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def shown(text):
    """``text`` as valid UTF-8 for the result: the bytes of a name that is not UTF-8 appear as ``\\xNN``.

    Python reads such file names with surrogates, which Ansible refuses to pass on (the task would crash after
    the work was done).
    """
    if text is None or not not_utf8(text):
        return text
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return raw.decode("utf-8", "backslashreplace")


def unmatchable_name(relative, name):
    """Why no object can hold the local file ``relative`` as ``name`` (None when one can).

    Such a file is never uploaded, and pull never deletes it: no object could have matched it.
    """
    if not_utf8(relative):
        return "its name is not valid UTF-8, which object names must be"
    return object_name_problem(name, "object name")


def selected(relative, include, exclude, shard=None) -> bool:
    """fnmatch patterns on the relative name (``*`` also matches ``/``): include (all when empty), exclude wins;
    then the shard (see in_shard)."""
    if include and not any(fnmatch.fnmatchcase(relative, pattern) for pattern in include):
        return False
    if any(fnmatch.fnmatchcase(relative, pattern) for pattern in exclude or ()):
        return False
    return shard is None or in_shard(relative, shard)


def parse_shard(value):
    """``"i/n"`` (1 <= i <= n) -> (i, n); None when ``value`` is not such a share."""
    text = str(value).strip()
    match = re.match(r"^([0-9]+)/([0-9]+)$", text)
    if not match or not 1 <= int(match.group(1)) <= int(match.group(2)):
        return None
    return int(match.group(1)), int(match.group(2))


def in_shard(relative, shard) -> bool:
    """Is the name in share ``i`` of ``n``? A stable hash of the relative name (not of the prefix or path), so
    push and pull, every host and every run agree, and the n shares are disjoint and cover every name."""
    number, count = shard
    if count == 1:
        return True
    digest = hashlib.sha256(relative.encode("utf-8", "surrogateescape")).digest()
    return int.from_bytes(digest[:8], "big") % count == number - 1


def prefix_shard(params):
    """The ``shard`` option of a module that takes it with a literal ``prefix`` (rekey, object_info): (i, n), or
    None when it is not given. Refused with ``object``, and when it is not a share."""
    if params.get("shard") is None:
        return None
    if params.get("object") is not None:
        raise SsecError("shard applies to the objects under prefix: remove it, or give prefix instead of object.")
    shard = parse_shard(params["shard"])
    if shard is None:
        raise SsecError("shard %r is not a share: give it as 'i/n' with 1 <= i <= n, for example '2/4' for the "
                        "second of four hosts." % str(params["shard"]))
    return shard


def _first(entry):
    return entry[0]


def in_share(listing, prefix, shard, name=_first):
    """The entries of a listing of the literal ``prefix`` whose name after it is in ``shard`` (every entry when
    ``shard`` is None), read as the listing goes. ``name(entry)`` is the object name of an entry (its first item
    by default: the (name, size) of bulk.list_objects).

    One rule for rekey and object_info, so that their shares of a prefix are the same; for a prefix ending in
    ``/`` they are also sync's (whose relative name is the one after its prefix and ``/``).
    """
    if shard is None:
        return listing
    start = len(prefix)
    return (entry for entry in listing if in_shard(name(entry)[start:], shard))


def walk(root, include, exclude, shard=None):
    """(files, errors, total): selected relative name -> path of every non-directory entry under ``root``.

    Symbolic links to directories are not followed; ``errors`` lists directories that could not be read.
    """
    files, errors, total = {}, [], 0

    def onerror(exc):
        errors.append((local_relative(root, exc.filename) if exc.filename else ".", exc.strerror or str(exc)))

    for dirpath, dirnames, filenames in os.walk(root, onerror=onerror, followlinks=False):
        dirnames.sort()
        for filename in sorted(filenames):
            path = os.path.join(dirpath, filename)
            total += 1
            relative = local_relative(root, path)
            if selected(relative, include, exclude, shard):
                files[relative] = path
    return files, errors, total


def upload_problem(relative, path, name=None):
    """Why a local entry cannot be uploaded as ``name`` (None when it can): checked without opening it."""
    problem = unmatchable_name(relative, relative if name is None else name)
    if problem:
        return problem
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return "broken symbolic link" if os.path.islink(path) else "deleted during the sync"
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "symbolic link loop (it never reaches a file)"
        raise
    if not stat.S_ISREG(info.st_mode):
        return "not a regular file"
    return None

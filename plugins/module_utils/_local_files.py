# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to the ssec.s3 collection, not a public API: it may change in any release.
"""Local files: checks before anything is written, and the one way the collection writes a file.

Every file the collection writes (a download, a file of a sync pull, a key file) goes through
``write_file``: the content goes to a 0600 temp file beside the target, is fsynced and verified, and
only then appears at the path in one step (AnsibleModule.atomic_move, which keeps the SELinux context;
or a hard link for an exclusive create). A failure at any step leaves the target as it was.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import tempfile
import threading

from ansible_collections.ssec.s3.plugins.module_utils._errors import SsecError

# AnsibleModule.atomic_move reads the umask by setting it to 0 for a moment when it creates a file: a
# directory another thread made in that moment would be world-writable. Both hold this lock.
_UMASK_LOCK = threading.Lock()


def writable_parent(path, option="path") -> str:
    """The directory that will hold ``path``; fails, naming ``option``, if it is missing or not writable.

    Run in check mode too, so that check mode predicts the real run's failure.
    """
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise SsecError("The directory %s does not exist, so %s cannot be written there. Create it first "
                        "(ansible.builtin.file with state: directory) or choose another path." % (directory, option))
    if not os.access(directory, os.W_OK | os.X_OK):
        raise SsecError("The directory %s is not writable by this user, so %s cannot be written there. "
                        "Choose a writable path, fix its permissions, or use become." % (directory, option))
    return directory


def make_directories(directory) -> None:
    """``os.makedirs`` that is safe beside ``write_file`` in other threads (see _UMASK_LOCK)."""
    with _UMASK_LOCK:
        os.makedirs(directory, exist_ok=True)


def fsync_directory(directory) -> None:
    """Make a rename or link in ``directory`` survive a crash."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class NoHardLinks(Exception):
    """The filesystem cannot hard-link: an exclusive create needs another way (see key_file)."""


def write_file(module, path, fill, verify=None, backup=False, exclusive=False, keep_attributes=True, option="path"):
    """Write ``path`` safely; return ``(written, backup_file)``.

    ``fill(handle)`` writes the content into the open (binary) temp file; ``verify(temp_path)`` raises
    SsecError when the content is not what it must be. Then:

    - ``exclusive``: the temp file is hard-linked to ``path``, which fails if ``path`` exists: ``written``
      is False and nothing changed (two writers end with one file). NoHardLinks where links are refused.
      ``module`` may be None.
    - otherwise an immutable or append-only ``path`` is refused before anything is written, a backup is
      made when ``backup`` and ``path`` exists, and ``module.atomic_move`` puts the temp file in place.
      ``keep_attributes``: the new file takes the old one's owner, group and mode (atomic_move's default);
      False keeps the temp file's 0600 (key files: a new key is never more readable than its owner).

    Mode, owner and group the task asks for are applied afterwards by ``set_attributes``.
    """
    directory = writable_parent(path, option)
    exists = os.path.exists(path)
    if exists and not exclusive:
        module.check_replaceable(path)
    fd, temp_path = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".", suffix=".part")
    backup_file = None
    written = True
    try:
        with os.fdopen(fd, "wb") as handle:
            fill(handle)
            handle.flush()
            os.fsync(handle.fileno())
        if verify is not None:
            verify(temp_path)
        if exclusive:
            written = _link(temp_path, path)
        else:
            if exists and backup:
                backup_file = module.backup_local(path)
            try:
                with _UMASK_LOCK:
                    module.atomic_move(temp_path, path, keep_dest_attrs=keep_attributes)
            except SsecError:
                if backup_file:
                    _remove(backup_file)  # the file is intact: a copy of it would only be clutter
                raise
    finally:
        if os.path.lexists(temp_path):
            os.unlink(temp_path)
    if written:
        fsync_directory(directory)
    return written, backup_file


def _link(temp_path, path) -> bool:
    try:
        os.link(temp_path, path)
    except FileExistsError:
        return False
    except OSError as exc:
        if exc.errno in (errno.EPERM, errno.ENOTSUP, errno.EXDEV):
            raise NoHardLinks() from None
        raise SsecError("Cannot create %s: %s." % (path, exc.strerror)) from None
    return True


def _remove(path):
    try:
        os.unlink(path)
    except OSError:
        pass  # only clutter is left behind; the error that led here matters more


def set_attributes(module, path, changed, diff=None, mode=None, params=None):
    """Apply the task's mode, owner, group (and SELinux, attributes) to ``path``; return ``changed``.

    ``params``: the task's file options (AnsibleModule.load_file_common_arguments reads them);
    ``mode`` overrides theirs. Through AnsibleModule's public helper, so symbolic modes
    (``u=rw,g=r``) and check mode work as in ansible.builtin.file.
    """
    file_args = module.load_file_common_arguments(params if params is not None else module.params, path=path)
    if mode is not None:
        file_args["mode"] = mode
    return module.set_fs_attributes_if_different(file_args, changed, diff=diff)


# Symbolic modes, as chmod(1) and ansible.builtin.file read them, for a regular file.
_SHIFT = {"u": 6, "g": 3, "o": 0}
_SPECIAL = {"u": ("s", stat.S_ISUID), "g": ("s", stat.S_ISGID), "o": ("t", stat.S_ISVTX)}
_OPERATOR = re.compile(r"([+=-])")


def symbolic_mode(text, current, umask=0) -> int:
    """The bits a symbolic mode (``u=rw,g=r,o=``, ``a+X``, ``g=u``) gives a regular file that has ``current``.

    ``umask`` limits the r, w and x of a clause without a who (``=rw``), as chmod does. ValueError when
    ``text`` is not a symbolic mode. Pure (the caller reads the umask once), so threads may call it.
    """
    mode = stat.S_IMODE(current)
    for clause in text.split(","):
        parts = _OPERATOR.split(clause)
        who = parts[0]
        masked = who == ""
        who = "ugo" if who in ("", "a") else who
        if not re.fullmatch(r"[ugo]+", who):
            raise ValueError("bad symbolic mode %r: who must be any of u, g, o, or a" % clause)
        for operator, perms in zip(parts[1::2], parts[2::2], strict=True):
            if not re.fullmatch(r"[rwxXstugo]*", perms):
                raise ValueError("bad symbolic mode %r: permissions must be any of r, w, x, X, s, t, u, g, o" % clause)
            for user in who:
                bits = _clause_bits(user, perms, mode, umask if masked else 0)
                if operator == "=":
                    mode = (mode & ~((0o7 << _SHIFT[user]) | _SPECIAL[user][1])) | bits
                elif operator == "+":
                    mode |= bits
                else:
                    mode &= ~bits
    return mode


def _clause_bits(user, perms, mode, umask):
    shift, bits = _SHIFT[user], 0
    for perm in perms:
        if perm in "rwx":
            bits |= ({"r": 4, "w": 2, "x": 1}[perm] << shift) & ~umask
        elif perm == "X":
            bits |= (1 << shift) if mode & 0o111 else 0  # execute only where some execute bit is set already
        elif perm in _SHIFT:
            bits |= ((mode >> _SHIFT[perm]) & 0o7) << shift  # a copy of another class's bits
        elif perm == _SPECIAL[user][0]:
            bits |= _SPECIAL[user][1]
    return bits

# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Backend of ssec.s3.sync: a local directory and an object prefix, made the same in one direction.

Two phases. Plan: walk the directory, list the prefix once, then decide every name in parallel
(hash the file, HEAD the object with the key only when the listing has it, and compare exactly as
ssec.s3.object does with overwrite: different). Apply, unless in check mode: transfer and delete in
parallel. Check mode runs the plan only, so it reports the decisions a real run would make.
"""

from __future__ import annotations

import errno
import fnmatch
import mimetypes
import os
import re
import stat

from ansible_collections.ssec.s3.plugins.module_utils import bulk, local_files, remote as remote_state, transfer
from ansible_collections.ssec.s3.plugins.module_utils.errors import DELETE as DELETE_REQUEST, SsecError, s3_errors
from ansible_collections.ssec.s3.plugins.module_utils.module import object_name_problem
from ansible_collections.ssec.s3.plugins.module_utils.remote import SSE_C

PUSH, PULL = "push", "pull"
# What the plan decides for one name.
UPLOAD, DOWNLOAD, UNCHANGED, DELETE, SKIP, FAIL, CHMOD, COMPARE, NOTHING = (
    "upload", "download", "unchanged", "delete", "skip", "fail", "chmod", "compare", "nothing")
TRANSFERRED = {PUSH: "uploaded", PULL: "downloaded"}
_OTHER_KEY = "encrypted with another SSE-C key"
_REKEY_HINT = "set force: true to %s it anyway, or re-encrypt it with ssec.s3.rekey"


# ---- names and filters ---------------------------------------------------------------------------

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


def selected(relative, include, exclude) -> bool:
    """fnmatch patterns on the relative name (``*`` also matches ``/``): include (all when empty), exclude wins."""
    if include and not any(fnmatch.fnmatchcase(relative, pattern) for pattern in include):
        return False
    return not any(fnmatch.fnmatchcase(relative, pattern) for pattern in exclude or ())


# ---- file modes ----------------------------------------------------------------------------------

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


# ---- decisions (pure) ----------------------------------------------------------------------------

def push_decision(remote, force):
    """(action, reason) for a local file whose object is ``remote``: like ssec.s3.object, overwrite: different."""
    if not remote.exists:
        return UPLOAD, None
    if remote.encryption == SSE_C and not remote.key_matches:
        if force:
            return UPLOAD, None
        return SKIP, "%s: left untouched (%s)" % (_OTHER_KEY, _REKEY_HINT % "replace")
    if remote.encryption != SSE_C:
        return UPLOAD, None
    return COMPARE, None


def remote_delete_decision(remote, force):
    """(action, reason) for an object that has no local file, with delete: true."""
    if not remote.exists:
        return NOTHING, None
    if remote.encryption == SSE_C and not remote.key_matches and not force:
        return SKIP, "%s: not deleted (%s)" % (_OTHER_KEY, _REKEY_HINT % "delete")
    return DELETE, None


def pull_decision(remote):
    """(action, reason) for an object to bring to the directory, before looking at the local file."""
    if not remote.exists:
        return SKIP, "the object was deleted during the sync"
    if remote.encryption != SSE_C:
        return SKIP, ("not SSE-C encrypted (%s): ssec.s3.sync only downloads objects encrypted with a customer "
                      "key; encrypt it with ssec.s3.rekey (encrypt_plaintext: true)" % remote.state)
    if not remote.key_matches:
        return SKIP, "%s: this key does not open it" % _OTHER_KEY
    if remote.digest_problem:
        return FAIL, "%s The object was not downloaded; inspect it with ssec.s3.object_info." % remote.digest_problem
    return COMPARE, None


def fingerprint(remote=None, sha256=None, size=None) -> str:
    """What diff mode shows for one side of one name: a digest, or the state when there is none."""
    if sha256:
        return "sha256 " + sha256
    if remote is not None and remote.exists:
        if remote.encryption != SSE_C:
            return "not SSE-C encrypted (%s)" % remote.state
        if not remote.key_matches:
            return _OTHER_KEY
    return "%d bytes" % size if size is not None else "present"


# ---- the local tree ------------------------------------------------------------------------------

def walk(root, include, exclude):
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
            if selected(relative, include, exclude):
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


def _os_error(action, path, exc):
    return SsecError("Failed to %s %s: %s. Check that it exists and its permissions, or use become."
                     % (action, path, exc.strerror or exc))


def _local_source(path):
    try:
        return transfer.Source(path=path)
    except OSError as exc:
        raise _os_error("read", path, exc) from None


class Item:
    """One name and what the plan decided for it."""

    def __init__(self, kind, relative, name):
        self.kind = kind  # "put" (the listing has the object), "put-new", "get" or "delete"
        self.relative = relative
        self.name = name
        self.action = None
        self.reason = None
        self.source = None  # push: the local file
        self.remote = None
        self.path = None  # the local file
        self.local_mode = None  # pull: permission bits of the existing file, None when it is absent
        self.local_owner = None
        self.mode = None  # pull: permission bits to give the file
        self.size = 0
        self.before = None
        self.after = None

    def decide(self, action, reason=None):
        self.action, self.reason = action, reason
        return self


class Sync:
    def __init__(self, module, client, key):
        params = module.params
        self.module = module
        self.client = client
        self.key = key
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
        self.check_mode = module.check_mode
        self.inner = 1
        self.warnings = []
        self.foreign = []  # names the listing gave that do not start with the prefix

    # ---- listing ----

    def listing(self):
        """(selected relative name -> size, every relative name, total count of files under the prefix)."""
        chosen, every, total = {}, set(), 0
        for name, size in bulk.list_objects(self.client, self.bucket, self.prefix):
            relative = relative_name(self.prefix, name)
            if relative is None:
                if not name.startswith(self.prefix):
                    self.foreign.append(name)
                continue
            total += 1
            every.add(relative)
            if selected(relative, self.include, self.exclude):
                chosen[relative] = size
        return chosen, every, total

    def inspect(self, item):
        # Every name inspected comes from the listing (new files are not inspected): no LIST per object.
        item.remote = remote_state.inspect(self.client, self.bucket, item.name, self.key, listed=True)
        return item.remote

    # ---- push ----

    def plan_put(self, item):
        problem = upload_problem(item.relative, item.path, item.name)
        if problem:
            return item.decide(SKIP, problem)
        item.source = _local_source(item.path)
        item.size = item.source.size
        item.after = fingerprint(sha256=item.source.sha256)
        if item.kind == "put-new":
            return item.decide(UPLOAD)
        remote = self.inspect(item)
        action, reason = push_decision(remote, self.force)
        item.before = fingerprint(remote, remote.sha256, remote.size) if remote.exists else None
        if action == COMPARE:
            same = transfer.same_content(self.client, remote, self.key, item.source)
            action = UNCHANGED if same else UPLOAD
        return item.decide(action, reason)

    def plan_remote_delete(self, item):
        remote = self.inspect(item)
        action, reason = remote_delete_decision(remote, self.force)
        item.before = fingerprint(remote, remote.sha256, remote.size)
        return item.decide(action, reason)

    def apply_upload(self, item):
        content_type = mimetypes.guess_type(item.relative)[0] or "application/octet-stream"
        transfer.upload(self.client, self.bucket, item.name, item.source, self.key, None, content_type, None,
                        self.part_size, self.inner)
        # A file rewritten during the upload was hashed and sent again: report what was stored.
        item.size = item.source.size
        item.after = fingerprint(sha256=item.source.sha256)

    def apply_remote_delete(self, item):
        with s3_errors("delete s3://%s/%s" % (self.bucket, item.name), write=DELETE_REQUEST):
            self.client.delete_object(Bucket=self.bucket, Key=item.name)

    # ---- pull ----

    def plan_get(self, item):
        problem = unsafe_local_name(item.relative)
        if problem:
            return item.decide(SKIP, problem)
        item.path = os.path.join(self.root, item.relative)
        blocked = self._blocked(item.path)
        if blocked:
            return item.decide(FAIL, blocked)
        remote = self.inspect(item)
        action, reason = pull_decision(remote)
        if action != COMPARE:
            return item.decide(action, reason)
        item.size = remote.size or 0
        item.after = fingerprint(sha256=remote.sha256, size=remote.size)
        try:
            info = os.lstat(item.path)
        except FileNotFoundError:
            return item.decide(DOWNLOAD)
        except OSError as exc:
            raise _os_error("read", item.path, exc) from None
        if os.path.isdir(item.path):
            return item.decide(FAIL, "%s is a directory where the object needs a file: remove or rename it"
                               % item.path)
        if not os.path.exists(item.path):
            return item.decide(DOWNLOAD)  # a broken symbolic link: replaced by the file
        if not stat.S_ISREG(os.stat(item.path).st_mode):
            return item.decide(FAIL, "%s is not a regular file (a socket, FIFO or device): remove it" % item.path)
        if stat.S_ISREG(info.st_mode):
            item.local_mode, item.local_owner = stat.S_IMODE(info.st_mode), (info.st_uid, info.st_gid)
        local = _local_source(item.path)
        item.before = fingerprint(sha256=local.sha256)
        if transfer.same_content(self.client, remote, self.key, local):
            item.after = item.before
            return item.decide(UNCHANGED)
        return item.decide(DOWNLOAD)

    def _blocked(self, path):
        """Why ``path`` cannot be written inside the directory (a file or an outside link in the way)."""
        parent = os.path.dirname(path)
        while parent != self.root and not os.path.lexists(parent):
            parent = os.path.dirname(parent)
        if not os.path.lexists(parent):
            return None  # path itself does not exist yet: nothing can be in the way
        if not os.path.isdir(parent):
            return "%s is a file where the object needs a directory: remove or rename it" % parent
        real, root = os.path.realpath(parent), os.path.realpath(self.root)
        if real != root and not real.startswith(root.rstrip(os.sep) + os.sep):
            return "%s leads outside path through a symbolic link, so the object was not written there" % parent
        return None

    def plan_local_delete(self, item):
        try:
            item.before = fingerprint(size=os.lstat(item.path).st_size)
        except FileNotFoundError:
            return item.decide(NOTHING)
        except OSError as exc:
            raise _os_error("read", item.path, exc) from None
        return item.decide(DELETE)

    def resolve_modes(self, items):
        """Permission bits of every file pull writes or keeps; main thread (symbolic modes read the umask)."""
        default = 0o666 & ~current_umask()
        cache = {}
        for item in items:
            if item.action not in (DOWNLOAD, UNCHANGED) or item.kind != "get":
                continue
            current = item.local_mode if item.local_mode is not None else default
            if self.file_mode is None:
                item.mode = current
                continue
            if current not in cache:
                cache[current] = resolve_mode(self.file_mode, current)
            item.mode = cache[current]
            if item.action == UNCHANGED and item.local_mode is not None and item.mode != item.local_mode:
                item.decide(CHMOD)
                item.before = "mode 0%03o" % item.local_mode
                item.after = "mode 0%03o" % item.mode

    def apply_download(self, item):
        directory = os.path.dirname(item.path)
        try:
            local_files.make_directories(directory)
        except OSError as exc:
            raise _os_error("create the directory", directory, exc) from None
        # A replaced file keeps its owner and group where the user may give them (atomic_move); the mode
        # is the one resolve_modes chose, as octal bits (no umask read in these threads).
        try:
            transfer.write_download(self.module, self.client, item.remote, self.key, item.path, self.inner)
            local_files.set_attributes(self.module, item.path, True, mode=item.mode, params={})
        except OSError as exc:
            raise _os_error("replace", item.path, exc) from None

    def apply_chmod(self, item):
        try:
            local_files.set_attributes(self.module, item.path, True, mode=item.mode, params={})
        except OSError as exc:
            raise _os_error("set the mode of", item.path, exc) from None

    def apply_local_delete(self, item):
        try:
            os.unlink(item.path)
        except FileNotFoundError:
            pass  # already gone: what the deletion was for
        except OSError as exc:
            raise _os_error("delete", item.path, exc) from None

    # ---- the whole run ----

    def plan(self):
        """(items, walk errors, count of source entries, count selected)."""
        if self.direction == PUSH:
            files, errors, total = walk(self.root, self.include, self.exclude)
            listed, _every, _total = self.listing()
            items = []
            for relative, path in sorted(files.items()):
                item = Item("put" if relative in listed else "put-new", relative,
                            object_name(self.prefix, relative))
                item.path = path
                items.append(item)
            # A directory that could not be read hides files, and names listed outside the prefix show a server
            # that changed the prefix: deleting what seems to be missing would lose data.
            if self.delete and not errors and not self.foreign:
                items += [Item("delete", relative, object_name(self.prefix, relative))
                          for relative in sorted(set(listed) - set(files))]
            return items + self.foreign_items(), errors, total, len(files)
        listed, every, total = self.listing()
        items = [Item("get", relative, object_name(self.prefix, relative)) for relative in sorted(listed)]
        errors = []
        if self.delete and os.path.isdir(self.root) and not self.foreign:
            files, errors, _local_total = walk(self.root, self.include, self.exclude)
            for relative in sorted(set(files) - every):
                item = Item("delete", relative, object_name(self.prefix, relative))
                item.path = files[relative]
                problem = unmatchable_name(relative, item.name)
                if problem:
                    item.decide(SKIP, "%s, so no object can match it: not deleted" % problem)
                items.append(item)
        return items + self.foreign_items(), errors, total, len(listed)

    def foreign_items(self):
        return [Item("foreign", name, name).decide(SKIP, (
            "the server listed it under the prefix %r, but its name does not start with it (the server changed the "
            "prefix or the name): not synced, and nothing was deleted" % self.prefix)) for name in self.foreign]

    def fail_collisions(self, items):
        """Fail both objects when one name is a directory of another (``a`` and ``a/b``): one path cannot be a
        file and a directory at once, and which one a real run would fail depends on timing."""
        kept = {item.relative: item for item in items if item.kind == "get" and item.action in (DOWNLOAD, UNCHANGED, FAIL)}
        clashed = set()
        for relative in sorted(kept):
            parts = relative.split("/")
            for end in range(1, len(parts)):
                directory = kept.get("/".join(parts[:end]))
                if directory is None:
                    continue
                for one, other in ((directory, kept[relative]), (kept[relative], directory)):
                    if one in clashed:
                        continue  # the first clash found names it
                    clashed.add(one)
                    one.decide(FAIL, "the objects %s and %s map onto the same local path %s, which cannot be a file "
                                     "and a directory at once; neither was downloaded. Rename one of them, or leave one "
                                     "out with exclude" % (one.name, other.name, os.path.join(self.root, directory.relative)))
                break

    def _planner(self, item):
        if item.action is not None:
            return item  # decided while planning the list (a name no object can match)
        try:
            if item.kind.startswith("put"):
                return self.plan_put(item)
            if item.kind == "get":
                return self.plan_get(item)
            if self.direction == PUSH:
                return self.plan_remote_delete(item)
            return self.plan_local_delete(item)
        except OSError as exc:
            raise _os_error("read", item.path or item.name, exc) from None

    def _applier(self, item):
        try:
            if item.action == UPLOAD:
                self.apply_upload(item)
            elif item.action == DOWNLOAD:
                self.apply_download(item)
            elif item.action == CHMOD:
                self.apply_chmod(item)
            elif self.direction == PUSH:
                self.apply_remote_delete(item)
            else:
                self.apply_local_delete(item)
        except OSError as exc:
            raise _os_error("write", item.path or item.name, exc) from None

    def run(self):
        check_root(self.root, self.direction)
        mimetypes.init()  # once, before the threads
        items, errors, total, chosen = self.plan()
        decided = []
        for item, _result, error in bulk.run_parallel(self._planner, items, self.concurrency):
            decided.append(item.decide(FAIL, error) if error else item)
        self.fail_collisions(decided)
        self.resolve_modes(decided)
        created = self.direction == PULL and not os.path.isdir(self.root)  # made like rsync does
        if created and not self.check_mode:
            try:
                os.makedirs(self.root)
            except OSError as exc:
                raise _os_error("create the directory", self.root, exc) from None
        work = [item for item in decided if item.action in (UPLOAD, DOWNLOAD, DELETE, CHMOD)]
        if work and not self.check_mode:
            transfers = sum(1 for item in work if item.action in (UPLOAD, DOWNLOAD))
            # Files in parallel; the parallelism left over goes to the parts of each file.
            self.inner = max(1, self.concurrency // max(1, min(self.concurrency, transfers)))
            for item, _result, error in bulk.run_parallel(self._applier, work, self.concurrency):
                if error:
                    item.decide(FAIL, error)
        return self.result(decided, errors, total, chosen, created)

    def result(self, items, errors, total, chosen, created):
        transferred = TRANSFERRED[self.direction]
        names = [transferred, "unchanged", "deleted", "skipped", "failed"]
        if self.direction == PULL:
            names.append("file_mode_changed")
        tally = bulk.Tally(names)
        before, after, transferred_bytes, other_key, foreign = {}, {}, 0, 0, 0
        for relative, message in errors:
            tally.add("failed", {"name": shown(relative), "object": None,
                                 "error": shown("Failed to read the directory %s: %s." % (relative, message))})
        for item in items:
            # Local names that are not UTF-8 are shown with \xNN escapes: Ansible cannot pass them on.
            relative, name, reason = shown(item.relative), shown(item.name), shown(item.reason)
            if item.action == FAIL:
                tally.add("failed", {"name": relative, "object": name, "error": reason})
            elif item.action == SKIP:
                tally.add("skipped", {"name": relative, "object": name, "reason": reason})
                other_key += item.reason.startswith(_OTHER_KEY)
                foreign += item.kind == "foreign"
            elif item.action in (UPLOAD, DOWNLOAD):
                tally.add(transferred, relative)
                transferred_bytes += item.size
            elif item.action in (UNCHANGED, DELETE, CHMOD):
                tally.add({UNCHANGED: "unchanged", DELETE: "deleted", CHMOD: "file_mode_changed"}[item.action],
                          relative)
            if item.action in (UPLOAD, DOWNLOAD, DELETE, CHMOD) and len(before) + len(after) < 2 * bulk.LIST_CAP:
                if item.before is not None:
                    before[relative] = item.before
                if item.action != DELETE:
                    after[relative] = item.after
        result = tally.result()
        # "skipped" and "failed" are Ansible's own keys: a true value marks the whole task skipped (no handler
        # runs) or failed. The entries go under other names; counts keeps the contract's names.
        result["skipped_entries"] = result.pop("skipped")
        result["failed_entries"] = result.pop("failed")
        counts = result["counts"]
        counts["bytes_transferred"] = transferred_bytes
        changed = created or any(counts[name] for name in (transferred, "deleted", "file_mode_changed")
                                 if name in counts)
        where = "s3://%s/%s" % (self.bucket, self.prefix)
        source, dest = (self.root, where) if self.direction == PUSH else (where, self.root)
        result.update(
            changed=changed,
            msg=summary_message(self.direction, counts, self.check_mode, created),
            bucket=self.bucket,
            prefix=self.prefix,
            sse_customer_key_md5=self.key.md5,
            diff={"before": before, "after": after,
                  "before_header": "%s (before)" % dest, "after_header": "%s (after, from %s)" % (dest, source)},
        )
        self._collect_warnings(result, total, chosen, other_key, foreign)
        return result

    def _collect_warnings(self, result, total, chosen, other_key, foreign):
        if (self.include or self.exclude) and total and not chosen and not result["changed"]:
            message = ("include/exclude matched none of the %d %s, so nothing was synced. The patterns apply to "
                       "the name relative to path and prefix, and '*' also matches '/'." % (
                           total, "files in path" if self.direction == PUSH else "objects under the prefix"))
            result["msg"] = message
            self.warnings.append(message)
        if foreign:
            self.warnings.append(
                "The server listed %d %s under the prefix %r whose names do not start with it, so it does not keep "
                "names as given%s (see skipped_entries)." % (
                    foreign, "object" if foreign == 1 else "objects", self.prefix,
                    ": nothing was deleted" if self.delete else ""))
        if other_key:
            self.warnings.append("%d %s encrypted with another SSE-C key and left untouched (see skipped_entries)." % (
                other_key, "object is" if other_key == 1 else "objects are"))


def summary_message(direction, counts, check_mode, created=False) -> str:
    """One sentence: what the sync did (or would do, in check mode)."""
    def plural(count, word):
        return "%d %s%s" % (count, word, "" if count == 1 else "s")

    things = "file" if direction == PUSH else "object"
    gone = "object" if direction == PUSH else "local file"
    verbs = {"uploaded": ("uploaded", "would upload"), "downloaded": ("downloaded", "would download"),
             "deleted": ("deleted", "would delete"), "file_mode_changed": ("fixed the mode of", "would fix the mode of")}
    done = []
    if created:
        done.append("would create path" if check_mode else "created path")
    transferred = TRANSFERRED[direction]
    if counts[transferred]:
        done.append("%s %s (%s)" % (verbs[transferred][check_mode], plural(counts[transferred], things),
                                    _size(counts["bytes_transferred"])))
    if counts["deleted"]:
        done.append("%s %s" % (verbs["deleted"][check_mode], plural(counts["deleted"], gone)))
    if counts.get("file_mode_changed"):
        done.append("%s %s" % (verbs["file_mode_changed"][check_mode], plural(counts["file_mode_changed"], "file")))
    rest = "%d unchanged, %d skipped, %d failed" % (counts["unchanged"], counts["skipped"], counts["failed"])
    if not done:
        if not (counts["unchanged"] or counts["skipped"] or counts["failed"]):
            return "Nothing to sync: no %s selected on either side." % ("files" if direction == PUSH else "objects")
        return "Already in sync: %s." % rest
    sentence = ", ".join(done)
    return sentence[0].upper() + sentence[1:] + "; " + rest + "."


def _size(count) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return ("%d %s" if unit == "bytes" else "%.1f %s") % (count, unit)
        count /= 1024.0
    return ""  # not reached


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
    if params["mode"] == PUSH and params["file_mode"] is not None:
        raise SsecError("file_mode applies to the files that mode: pull writes; remove it with mode: push.")


def sync(module) -> dict:
    params = module.params
    validate(params)
    key = module.customer_key()
    client = module.client(max_pool_connections=params["concurrency"] + 2)
    task = Sync(module, client, key)
    result = task.run()
    for warning in task.warnings:
        module.warn(warning)
    failed = result["counts"]["failed"]
    if failed:
        first = result["failed_entries"][0]
        message = "%s failed to sync (the first: %s: %s). Otherwise: %s" % (
            "1 entry" if failed == 1 else "%d entries" % failed, first["name"], first["error"].rstrip("."),
            result.pop("msg"))
        raise SsecError(message, result=result)
    return result

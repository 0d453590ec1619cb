# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to the ssec.s3 collection, not a public API: it may change in any release.
"""ssec.s3.sync: what to do with each name, decided by two planners (push, pull) on the bulk engine.

A planner lists both sides into batches of Items (``items``), then decides one Item at a time (``plan``, run
in parallel by the engine): it hashes the file, HEADs the object with the key only when the listing has it, and
asks the policy what may be done. ``review`` sees every decision of a batch before anything of it is written;
names whose decisions depend on each other (pull: a file and a directory on one path) share one batch.

A name whose object and file both look exactly as the record (sync_record) says they were when last verified
is unchanged without a HEAD or a hash; a file whose identity changed is hashed and compared with the record's
fingerprint (no HEAD); anything else takes the exact path above.
"""

from __future__ import annotations

import itertools
import os
import stat

from ansible_collections.ssec.s3.plugins.module_utils import (
    _bulk as bulk, _policy as policy, _remote as remote_state, _transfer as transfer)
from ansible_collections.ssec.s3.plugins.module_utils._errors import SsecError
from ansible_collections.ssec.s3.plugins.module_utils._policy import Action, State, Why
from ansible_collections.ssec.s3.plugins.module_utils._sync_record import listing_identity
from ansible_collections.ssec.s3.plugins.module_utils._sync_names import (
    object_name,
    relative_name,
    selected,
    unmatchable_name,
    unsafe_local_name,
    upload_problem,
    walk,
)
from ansible_collections.ssec.s3.plugins.module_utils._sync_options import current_umask, resolve_mode

# What the plan decides for one name.
UPLOAD, DOWNLOAD, UNCHANGED, DELETE, SKIP, FAIL, CHMOD, COMPARE, NOTHING = (
    "upload", "download", "unchanged", "delete", "skip", "fail", "chmod", "compare", "nothing")
# The decisions that write (unless in check mode).
WORK = (UPLOAD, DOWNLOAD, DELETE, CHMOD)
# Names planned, reviewed and applied together (see batches).
BATCH = 2000
OTHER_KEY = "encrypted with another SSE-C key"
_REKEY_HINT = "set force: true to %s it anyway, or re-encrypt it with ssec.s3.rekey"


class Kind:
    """Where a name comes from, which tells the planner what to look at."""

    PUT = "put"  # a local file the listing has an object for
    PUT_NEW = "put-new"  # a local file with no object yet
    GET = "get"  # an object to bring to the directory
    DELETE = "delete"  # only on the side sync makes like the other: push, an object; pull, a local file
    FOREIGN = "foreign"  # listed under the prefix, but its name does not start with it


# ---- decisions (pure) ----------------------------------------------------------------------------

def push_decision(remote, force):
    """(action, reason) for a local file whose object is ``remote``: policy.upload with overwrite: different."""
    verdict = policy.upload(remote.kind, policy.DIFFERENT, force)
    if verdict.action == Action.COMPARE:
        return COMPARE, None
    if verdict.action == Action.WRITE:
        return UPLOAD, None
    return SKIP, "%s: left untouched (%s)" % (OTHER_KEY, _REKEY_HINT % "replace")


def remote_delete_decision(remote, force):
    """(action, reason) for an object that has no local file, with delete: true (policy.delete)."""
    verdict = policy.delete(remote.kind, force)
    if verdict.action == Action.NOTHING:
        return NOTHING, None
    if verdict.action == Action.REFUSE:
        return SKIP, "%s: not deleted (%s)" % (OTHER_KEY, _REKEY_HINT % "delete")
    return DELETE, None


def pull_decision(remote):
    """(action, reason) for an object to bring to the directory, before looking at the local file (policy.download)."""
    verdict = policy.download(remote.kind, not remote.digest_problem)
    if verdict.action == Action.READ:
        return COMPARE, None
    if verdict.why == State.ABSENT:
        return SKIP, "the object was deleted during the sync"
    if verdict.why in State.UNENCRYPTED:
        return SKIP, ("not SSE-C encrypted (%s): ssec.s3.sync only downloads objects encrypted with a customer "
                      "key; encrypt it with ssec.s3.rekey (encrypt_plaintext: true)" % remote.state)
    if verdict.why == Why.DIGEST:
        return FAIL, "%s The object was not downloaded; inspect it with ssec.s3.object_info." % remote.digest_problem
    return SKIP, "%s: this key does not open it" % OTHER_KEY


def fingerprint(remote=None, sha256=None, size=None) -> str:
    """What diff mode shows for one side of one name: a digest, or the state when there is none."""
    if sha256:
        return "sha256 " + sha256
    kind = remote.kind if remote is not None else State.ABSENT
    if kind in State.UNENCRYPTED:
        return "not SSE-C encrypted (%s)" % remote.state
    if kind in State.FOREIGN:
        return OTHER_KEY
    return "%d bytes" % size if size is not None else "present"


def os_error(action, path, exc):
    return SsecError("Failed to %s %s: %s. Check that it exists and its permissions, or use become."
                     % (action, path, exc.strerror or exc))


def local_source(path):
    try:
        return transfer.Source(path=path)
    except OSError as exc:
        raise os_error("read", path, exc) from None


class Item:
    """One name and what the plan decided for it."""

    # A batch holds thousands (and a plan of names that clash, all of them): slots keep each small.
    __slots__ = ("kind", "relative", "name", "action", "reason", "source", "remote", "path", "local_mode", "mode",
                 "size", "before", "after")

    def __init__(self, kind, relative, name):
        self.kind = kind  # a Kind
        self.relative = relative
        self.name = name
        self.action = None
        self.reason = None
        self.source = None  # push: the local file
        self.remote = None
        self.path = None  # the local file
        self.local_mode = None  # pull: permission bits of the existing file, None when it is absent
        self.mode = None  # pull: permission bits to give the file
        self.size = 0
        self.before = None
        self.after = None

    def decide(self, action, reason=None):
        self.action, self.reason = action, reason
        return self


def batches(items, size=None):
    """Lists of ``size`` items from an iterable: a run plans, reviews and applies one list at a time, so its
    memory stays flat however many names it has (only names and listing entries are held for the whole run)."""
    size = size or BATCH
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def clashes(names):
    """The names that need one local path as a file and as a directory (``a`` and ``a/b``)."""
    found = set()
    for relative in names:
        cut = relative.rfind("/")
        while cut > 0:
            if relative[:cut] in names:
                found.update((relative, relative[:cut]))
            cut = relative.rfind("/", 0, cut)
    return found


class Planner:
    """What both directions share: the settings, the listing of the prefix, the HEAD of one object."""

    def __init__(self, settings, client, key, record=None):
        self.settings = settings
        self.client = client
        self.key = key
        self.record = record  # sync_record.Record: what was verified last time, and this time (None: no record)
        self.listed = {}  # selected relative name -> listing identity (ETag, size, Last-Modified)
        self.foreign = []  # names the listing gave that do not start with the prefix

    def listing(self):
        """(selected relative name -> listing identity, every relative name, total count of files under the
        prefix)."""
        settings = self.settings
        chosen, every, total = self.listed, set(), 0
        for entry in bulk.list_entries(self.client, settings.bucket, settings.prefix):
            name = entry["Key"]
            relative = relative_name(settings.prefix, name)
            if relative is None:
                if not name.startswith(settings.prefix):
                    self.foreign.append(name)
                continue
            total += 1
            every.add(relative)
            if selected(relative, settings.include, settings.exclude, settings.shard):
                chosen[relative] = listing_identity(entry)
        return chosen, every, total

    def known(self, item):
        """The record's entry for an item whose object the listing shows as it was when last verified."""
        listed = self.listed.get(item.relative)
        return self.record.known(item.relative, listed) if listed is not None and self.record else None

    def keep(self, item, identity, sha256, remote, seen_ns=None):
        """Record a name verified the exact way, unless the object HEADed is not the one listed. ``seen_ns``: when
        the file's ``identity`` was read (a file changed less than 2 s before it gets no identity recorded)."""
        listed = self.listed.get(item.relative)
        if listed is None or self.record is None or remote.etag != listed[0]:
            return
        self.record.keep(item.relative, listed, identity, sha256, seen_ns=seen_ns)

    def inspect(self, item):
        # Every name inspected comes from the listing (new files are not inspected): no LIST per object.
        item.remote = remote_state.inspect(self.client, self.settings.bucket, item.name, self.key, listed=True)
        return item.remote

    def foreign_items(self):
        return [Item(Kind.FOREIGN, name, name).decide(SKIP, (
            "the server listed it under the prefix %r, but its name does not start with it (the server changed the "
            "prefix or the name): not synced, and nothing was deleted" % self.settings.prefix))
            for name in self.foreign]

    def plan(self, item):
        """Decide one item (in a worker thread); an OSError becomes the item's failure."""
        if item.action is not None:
            return item  # decided while listing (a name no object can match, a foreign name)
        try:
            return self.planners[item.kind](self, item)
        except OSError as exc:
            raise os_error("read", item.path or item.name, exc) from None

    def review(self, items):
        """Every decision, before anything is written (main thread)."""

    planners = {}


class PushPlanner(Planner):
    """The directory made the objects: upload what differs, delete (with delete: true) objects without a file."""

    def items(self):
        """(batches of items, walk errors, count of source entries, count selected)."""
        settings = self.settings
        files, errors, total = walk(settings.root, settings.include, settings.exclude, settings.shard)
        listed, _every, _total = self.listing()

        def in_order():
            for relative, path in sorted(files.items()):
                item = Item(Kind.PUT if relative in listed else Kind.PUT_NEW, relative,
                            object_name(settings.prefix, relative))
                item.path = path
                yield item
            # A directory that could not be read hides files, and names listed outside the prefix show a server
            # that changed the prefix: deleting what seems to be missing would lose data.
            if settings.delete and not errors and not self.foreign:
                for relative in sorted(set(listed) - set(files)):
                    yield Item(Kind.DELETE, relative, object_name(settings.prefix, relative))
            yield from self.foreign_items()

        return batches(in_order()), errors, total, len(files)

    def plan_put(self, item):
        problem = upload_problem(item.relative, item.path, item.name)
        if problem:
            return item.decide(SKIP, problem)
        known = self.known(item) if item.kind == Kind.PUT else None
        if known is not None:
            info = os.stat(item.path)
            if known.same_file(info):
                item.size = info.st_size
                self.record.carry(item.relative)
                return item.decide(UNCHANGED)
        item.source = local_source(item.path)
        if known is not None and self.record.fingerprint(item.source.sha256) == known.fingerprint:
            item.size = item.source.size
            self.record.keep(item.relative, self.listed[item.relative], item.source.identity, item.source.sha256,
                             seen_ns=item.source.hashed_at_ns)
            return item.decide(UNCHANGED)
        item.size = item.source.size
        item.after = fingerprint(sha256=item.source.sha256)
        if item.kind == Kind.PUT_NEW:
            return item.decide(UPLOAD)
        remote = self.inspect(item)
        action, reason = push_decision(remote, self.settings.force)
        item.before = fingerprint(remote, remote.sha256, remote.size) if remote.exists else None
        if action == COMPARE:
            same = transfer.same_content(self.client, remote, self.key, item.source)
            action = UNCHANGED if same else UPLOAD
            if same:
                self.keep(item, item.source.identity, item.source.sha256, remote, item.source.hashed_at_ns)
        return item.decide(action, reason)

    def plan_delete(self, item):
        remote = self.inspect(item)
        action, reason = remote_delete_decision(remote, self.settings.force)
        item.before = fingerprint(remote, remote.sha256, remote.size)
        return item.decide(action, reason)

    planners = {Kind.PUT: plan_put, Kind.PUT_NEW: plan_put, Kind.DELETE: plan_delete}


class PullPlanner(Planner):
    """The objects made the directory: download what differs, delete (with delete: true) files without an object."""

    def items(self):
        """(batches of items, walk errors, count of source entries, count selected).

        Names that clash (fail_collisions) come last, in one batch: the review must see all their decisions.
        """
        settings = self.settings
        listed, every, total = self.listing()
        clashing = clashes(listed)
        files, errors = {}, []
        if settings.delete and os.path.isdir(settings.root) and not self.foreign:
            files, errors, _local_total = walk(settings.root, settings.include, settings.exclude, settings.shard)

        def get(relative):
            return Item(Kind.GET, relative, object_name(settings.prefix, relative))

        def in_order():
            for relative in sorted(listed):
                if relative not in clashing:
                    yield get(relative)
            for relative in sorted(set(files) - every):
                item = Item(Kind.DELETE, relative, object_name(settings.prefix, relative))
                item.path = files[relative]
                problem = unmatchable_name(relative, item.name)
                if problem:
                    item.decide(SKIP, "%s, so no object can match it: not deleted" % problem)
                yield item
            yield from self.foreign_items()

        together = [[get(relative) for relative in sorted(clashing)]] if clashing else []
        return itertools.chain(batches(in_order()), together), errors, total, len(listed)

    def plan_get(self, item):
        problem = unsafe_local_name(item.relative)
        if problem:
            return item.decide(SKIP, problem)
        item.path = os.path.join(self.settings.root, item.relative)
        blocked = self._blocked(item.path)
        if blocked:
            return item.decide(FAIL, blocked)
        if self.unchanged_as_recorded(item):
            return item.decide(UNCHANGED)
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
            raise os_error("read", item.path, exc) from None
        if os.path.isdir(item.path):
            return item.decide(FAIL, "%s is a directory where the object needs a file: remove or rename it"
                               % item.path)
        if not os.path.exists(item.path):
            return item.decide(DOWNLOAD)  # a broken symbolic link: replaced by the file
        if not stat.S_ISREG(os.stat(item.path).st_mode):
            return item.decide(FAIL, "%s is not a regular file (a socket, FIFO or device): remove it" % item.path)
        if stat.S_ISREG(info.st_mode):
            item.local_mode = stat.S_IMODE(info.st_mode)
        local = local_source(item.path)
        item.before = fingerprint(sha256=local.sha256)
        if transfer.same_content(self.client, remote, self.key, local):
            item.after = item.before
            self.keep(item, local.identity, local.sha256, remote, local.hashed_at_ns)
            return item.decide(UNCHANGED)
        return item.decide(DOWNLOAD)

    def unchanged_as_recorded(self, item):
        """Is the file the one the record says holds the object's bytes (by identity, or by fingerprint)?"""
        known = self.known(item)
        if known is None:
            return False
        try:
            info, link = os.stat(item.path), os.lstat(item.path)
        except OSError:
            return False  # the exact path tells what is missing or wrong
        if not stat.S_ISREG(info.st_mode):
            return False
        listed = self.listed[item.relative]
        if not known.same_file(info):
            local = local_source(item.path)
            if self.record.fingerprint(local.sha256) != known.fingerprint:
                return False
            self.record.keep(item.relative, listed, local.identity, local.sha256, seen_ns=local.hashed_at_ns)
        else:
            self.record.carry(item.relative)
        item.size = listed[1]
        if stat.S_ISREG(link.st_mode):
            item.local_mode = stat.S_IMODE(link.st_mode)
        return True

    def _blocked(self, path):
        """Why ``path`` cannot be written inside the directory (a file or an outside link in the way)."""
        parent = os.path.dirname(path)
        while parent != self.settings.root and not os.path.lexists(parent):
            parent = os.path.dirname(parent)
        if not os.path.lexists(parent):
            return None  # path itself does not exist yet: nothing can be in the way
        if not os.path.isdir(parent):
            return "%s is a file where the object needs a directory: remove or rename it" % parent
        real, root = os.path.realpath(parent), os.path.realpath(self.settings.root)
        if real != root and not real.startswith(root.rstrip(os.sep) + os.sep):
            return "%s leads outside path through a symbolic link, so the object was not written there" % parent
        return None

    def plan_local_delete(self, item):
        try:
            item.before = fingerprint(size=os.lstat(item.path).st_size)
        except FileNotFoundError:
            return item.decide(NOTHING)
        except OSError as exc:
            raise os_error("read", item.path, exc) from None
        return item.decide(DELETE)

    planners = {Kind.GET: plan_get, Kind.DELETE: plan_local_delete}

    def review(self, items):
        self.fail_collisions(items)
        self.resolve_modes(items)

    def fail_collisions(self, items):
        """Fail both objects when one name is a directory of another (``a`` and ``a/b``): one path cannot be a
        file and a directory at once, and which one a real run would fail depends on timing."""
        kept = {item.relative: item for item in items
                if item.kind == Kind.GET and item.action in (DOWNLOAD, UNCHANGED, FAIL)}
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
                                     "out with exclude" % (one.name, other.name,
                                                           os.path.join(self.settings.root, directory.relative)))
                break

    def resolve_modes(self, items):
        """Permission bits of every file pull writes or keeps; main thread (symbolic modes read the umask)."""
        default = 0o666 & ~current_umask()
        cache = {}
        for item in items:
            if item.action not in (DOWNLOAD, UNCHANGED) or item.kind != Kind.GET:
                continue
            current = item.local_mode if item.local_mode is not None else default
            if self.settings.file_mode is None:
                item.mode = current
                continue
            if current not in cache:
                cache[current] = resolve_mode(self.settings.file_mode, current)
            item.mode = cache[current]
            if item.action == UNCHANGED and item.local_mode is not None and item.mode != item.local_mode:
                item.decide(CHMOD)
                item.before = "mode 0%03o" % item.local_mode
                item.after = "mode 0%03o" % item.mode

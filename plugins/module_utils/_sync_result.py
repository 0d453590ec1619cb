# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to the ssec.s3 collection, not a public API: it may change in any release.
"""ssec.s3.sync: the result of a run (lists, counts, diff, message, warnings), gathered batch by batch."""

from __future__ import annotations

from ansible_collections.ssec.s3.plugins.module_utils import _bulk as bulk
from ansible_collections.ssec.s3.plugins.module_utils._sync_names import shown
from ansible_collections.ssec.s3.plugins.module_utils._sync_options import PULL, PUSH
from ansible_collections.ssec.s3.plugins.module_utils._sync_plan import (
    CHMOD,
    DELETE,
    DOWNLOAD,
    FAIL,
    OTHER_KEY,
    SKIP,
    UNCHANGED,
    UPLOAD,
    WORK,
    Kind,
)

TRANSFERRED = {PUSH: "uploaded", PULL: "downloaded"}


def build(settings, key, items, errors, total, chosen, created, warnings):
    """The result of a run from every decided item; warnings are appended to ``warnings``."""
    outcome = Outcome(settings.direction, errors)
    outcome.add(items)
    return outcome.result(settings, key, total, chosen, created, warnings)


class Outcome:
    """What a run did, gathered batch by batch: exact counts, capped lists and diff (the items are not kept)."""

    def __init__(self, direction, errors=()):
        self.transferred = TRANSFERRED[direction]
        names = [self.transferred, "unchanged", "deleted", "skipped", "failed"]
        if direction == PULL:
            names.append("file_mode_changed")
        self.tally = bulk.Tally(names)
        self.before, self.after = {}, {}
        self.transferred_bytes = self.other_key = self.foreign = 0
        for relative, message in errors:
            self.tally.add("failed", {"name": shown(relative), "object": None,
                                      "error": shown("Failed to read the directory %s: %s." % (relative, message))})

    def add(self, items):
        tally, before, after = self.tally, self.before, self.after
        for item in items:
            # Local names that are not UTF-8 are shown with \xNN escapes: Ansible cannot pass them on.
            relative, name, reason = shown(item.relative), shown(item.name), shown(item.reason)
            if item.action == FAIL:
                tally.add("failed", {"name": relative, "object": name, "error": reason})
            elif item.action == SKIP:
                tally.add("skipped", {"name": relative, "object": name, "reason": reason})
                self.other_key += item.reason.startswith(OTHER_KEY)
                self.foreign += item.kind == Kind.FOREIGN
            elif item.action in (UPLOAD, DOWNLOAD):
                tally.add(self.transferred, relative)
                self.transferred_bytes += item.size
            elif item.action in (UNCHANGED, DELETE, CHMOD):
                tally.add({UNCHANGED: "unchanged", DELETE: "deleted", CHMOD: "file_mode_changed"}[item.action],
                          relative)
            if item.action in WORK and len(before) + len(after) < 2 * bulk.LIST_CAP:
                if item.before is not None:
                    before[relative] = item.before
                if item.action != DELETE:
                    after[relative] = item.after

    def result(self, settings, key, total, chosen, created, warnings):
        """The task result; warnings are appended to ``warnings``."""
        result = self.tally.result()
        # "skipped" and "failed" are Ansible's own keys: a true value marks the whole task skipped (no handler
        # runs) or failed. The entries go under other names; counts keeps the contract's names.
        result["skipped_entries"] = result.pop("skipped")
        result["failed_entries"] = result.pop("failed")
        counts = result["counts"]
        counts["bytes_transferred"] = self.transferred_bytes
        changed = created or any(counts[name] for name in (self.transferred, "deleted", "file_mode_changed")
                                 if name in counts)
        where = "s3://%s/%s" % (settings.bucket, settings.prefix)
        source, dest = (settings.root, where) if settings.direction == PUSH else (where, settings.root)
        result.update(
            changed=changed,
            msg=summary_message(settings.direction, counts, settings.check_mode, created),
            bucket=settings.bucket,
            prefix=settings.prefix,
            sse_customer_key_md5=key.md5,
            diff={"before": self.before, "after": self.after,
                  "before_header": "%s (before)" % dest, "after_header": "%s (after, from %s)" % (dest, source)},
        )
        _collect_warnings(settings, result, total, chosen, self.other_key, self.foreign, warnings)
        return result


def _collect_warnings(settings, result, total, chosen, other_key, foreign, warnings):
    if (settings.include or settings.exclude) and total and not chosen and not result["changed"]:
        message = ("include/exclude matched none of the %d %s, so nothing was synced. The patterns apply to "
                   "the name relative to path and prefix, and '*' also matches '/'." % (
                       total, "files in path" if settings.direction == PUSH else "objects under the prefix"))
        result["msg"] = message
        warnings.append(message)
    if foreign:
        warnings.append(
            "The server listed %d %s under the prefix %r whose names do not start with it, so it does not keep "
            "names as given%s (see skipped_entries)." % (
                foreign, "object" if foreign == 1 else "objects", settings.prefix,
                ": nothing was deleted" if settings.delete else ""))
    if other_key:
        warnings.append("%d %s encrypted with another SSE-C key and left untouched (see skipped_entries)." % (
            other_key, "object is" if other_key == 1 else "objects are"))


def summary_message(direction, counts, check_mode, created=False) -> str:
    """One sentence: what the sync did (or would do, in check mode)."""
    things = "file" if direction == PUSH else "object"
    gone = "object" if direction == PUSH else "local file"
    verbs = {"uploaded": ("uploaded", "would upload"), "downloaded": ("downloaded", "would download"),
             "deleted": ("deleted", "would delete"), "file_mode_changed": ("fixed the mode of", "would fix the mode of")}
    done = []
    if created:
        done.append("would create path" if check_mode else "created path")
    transferred = TRANSFERRED[direction]
    if counts[transferred]:
        done.append("%s %s (%s)" % (verbs[transferred][check_mode], bulk.plural(counts[transferred], things),
                                    _size(counts["bytes_transferred"])))
    if counts["deleted"]:
        done.append("%s %s" % (verbs["deleted"][check_mode], bulk.plural(counts["deleted"], gone)))
    if counts.get("file_mode_changed"):
        done.append("%s %s" % (verbs["file_mode_changed"][check_mode], bulk.plural(counts["file_mode_changed"], "file")))
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

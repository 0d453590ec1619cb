# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to the ssec.s3 collection, not a public API: it may change in any release.
"""Key inventory of object_info with ``prefix``: which of the known keys opens each object.

An SSE-C object tells nobody its key's fingerprint without the key (HEAD answers 400), so each known key is tried
with a HEAD until one opens it; the key given in ``sse_customer_key`` needs none. Only labels and fingerprints
(key MD5) leave this module.
"""

from __future__ import annotations

import threading

from ansible_collections.ssec.s3.plugins.module_utils._errors import SsecError, s3_errors
from ansible_collections.ssec.s3.plugins.module_utils._policy import State
from ansible_collections.ssec.s3.plugins.module_utils._remote import key_md5s
from ansible_collections.ssec.s3.plugins.module_utils._sse_key import key_from_base64, read_key_file


def argument_spec() -> dict:
    return {
        "known_keys": {
            # Not secret itself: its key suboption is.
            "type": "list",
            "elements": "dict",
            "no_log": False,
            "options": {
                "label": {"type": "str", "required": True},
                "key": {"type": "str", "no_log": True},
                "key_file": {"type": "path"},
            },
            "mutually_exclusive": [["key", "key_file"]],
            "required_one_of": [["key", "key_file"]],
        },
    }


class KeyInventory:
    """The known keys by label; counts the objects each one opens."""

    def __init__(self, keys):
        self.keys = keys                                  # [(label, CustomerKey)], in the order given
        self.labels = {key.md5: label for label, key in keys}
        self.counts = dict.fromkeys((label for label, _key in keys), 0)
        self._lock = threading.Lock()

    def identify(self, client, remote, key=None):
        """Set ``remote.key_label`` and ``remote.key_label_md5``: the known key that opens the object, or None.

        ``key``: the key ``remote`` was inspected with (it needs no second request when it matched).
        """
        remote.key_label = remote.key_label_md5 = None
        if remote.kind not in (State.THIS_KEY,) + State.FOREIGN:
            return remote  # absent, or no customer key protects it
        if remote.kind == State.THIS_KEY and key is not None:
            # The key of the task opens it: it is a known key or none of them (an object has one key).
            label = self.labels.get(key.md5)
            if label is not None:
                remote.key_label, remote.key_label_md5 = label, key.md5
            return remote
        for label, known in self.keys:
            if key is not None and known.md5 == key.md5:
                continue  # tried already: it does not open the object
            if _opens(client, remote, known):
                remote.key_label, remote.key_label_md5 = label, known.md5
                break
        return remote

    @staticmethod
    def label(entry, remote):
        """Add ``key_label`` and ``key_md5`` (of the known key that opens it, or None) to an entry of ``objects``."""
        entry["key_label"] = getattr(remote, "key_label", None)
        entry["key_md5"] = getattr(remote, "key_label_md5", None)
        return entry

    def count(self, entry):
        """Count a labelled entry under its key (entries may come from worker processes: the count is here)."""
        if entry.get("key_label") is not None:
            with self._lock:
                self.counts[entry["key_label"]] += 1

    def result(self):
        return {"counts_by_key": dict(self.counts), "known_keys": [
            {"label": label, "key_md5": key.md5} for label, key in self.keys]}


def _opens(client, remote, key):
    """Does ``key`` open the SSE-C object? One HEAD: 200 with its fingerprint; 400/403 for another key."""
    try:
        with s3_errors("read the state of s3://%s/%s" % (remote.bucket, remote.name)):
            head = client.head_object(Bucket=remote.bucket, Key=remote.name, **key.request_params())
    except SsecError as exc:
        if exc.status in (400, 403, 404):
            return False  # another key's answer (404: the object went away meanwhile): this key does not open it
        raise
    return key_md5s(head.get("SSECustomerKeyMD5")) == {key.md5}


def from_params(params):
    """The inventory of the ``known_keys`` option, or None without it."""
    entries = params.get("known_keys")
    if not entries:
        return None
    keys, seen = [], {}
    for number, entry in enumerate(entries, 1):
        label = entry["label"]
        what = "known_keys entry %d (label %r)" % (number, label)
        if not label:
            raise SsecError("known_keys entry %d has an empty label: give each key a name, for example 2026-q1." % number)
        if label in (known_label for known_label, _key in keys):
            raise SsecError("The label %r is given twice in known_keys: give each key its own label." % label)
        if entry.get("key") is not None:
            key = key_from_base64(entry["key"], what + ", key")
        else:
            key = read_key_file(entry["key_file"])
        if key.md5 in seen:
            raise SsecError("known_keys entries %r and %r hold the same key (fingerprint %s): give each key once."
                            % (seen[key.md5], label, key.md5))
        seen[key.md5] = label
        keys.append((label, key))
    return KeyInventory(keys)

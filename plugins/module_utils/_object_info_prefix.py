# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to the ssec.s3 collection, not a public API: it may change in any release.
"""Backend of ssec.s3.object_info with ``prefix``: the state of every object under a prefix, from parallel HEADs."""

from __future__ import annotations

from ansible_collections.ssec.s3.plugins.module_utils import (
    _bulk as bulk, _key_inventory as key_inventory, _remote as remote_state)
from ansible_collections.ssec.s3.plugins.module_utils._errors import SsecError
from ansible_collections.ssec.s3.plugins.module_utils._object_task import info_fields
from ansible_collections.ssec.s3.plugins.module_utils._policy import State
from ansible_collections.ssec.s3.plugins.module_utils._sync_names import in_share, prefix_shard

# States relative to the key given (or to no key), in the order of ``counts``: policy.State names them.
STATES = (State.PLAINTEXT, State.THIS_KEY, State.OTHER_KEY, State.NO_KEY, State.OTHER_SSE)


def state_of(remote):
    """One of STATES for an existing object; None for an absent one."""
    return None if remote.kind == State.ABSENT else remote.kind


def object_entry(remote):
    """The fields of the single-object result, plus ``object`` and ``state``."""
    return dict(info_fields(remote), object=remote.name, state=state_of(remote))


def scope(shard):
    """Where the counts of the message are: the prefix, or one share of it."""
    return "in share %d/%d of the prefix" % shard if shard else "under the prefix"


def add_shard(result, shard):
    """The ``shard`` return value, when a share was asked for: the share as given, normalized (``2/4``)."""
    if shard:
        result["shard"] = "%d/%d" % shard
    return result


def describe(counts, total, key, shard=None):
    if not total:
        return "No object %s." % scope(shard)
    words = {
        State.PLAINTEXT: "not encrypted",
        State.THIS_KEY: "SSE-C with this key",
        State.OTHER_KEY: "SSE-C with another key",
        State.NO_KEY: "SSE-C (give a key to check which)",
        State.OTHER_SSE: "server-side encrypted with a server-managed key",
    }
    parts = ["%d %s" % (counts[state], words[state]) for state in STATES if counts[state]]
    message = "%d object%s %s: %s." % (total, "" if total == 1 else "s", scope(shard), ", ".join(parts))
    if counts["error"]:
        message += " %d could not be read." % counts["error"]
    if key is None and counts[State.NO_KEY]:
        message += " Without a key, SSE-C objects show no size, metadata or digest."
    return message


def object_info_prefix(module) -> dict:
    params = module.params
    shard = prefix_shard(params)
    key = module.customer_key(required=False)
    client = module.client(max_pool_connections=params["concurrency"] + 2)
    bucket, prefix = params["bucket"], params["prefix"]
    names = (name for name, _size in in_share(bulk.list_objects(client, bucket, prefix), prefix, shard))
    counts = dict.fromkeys(STATES + ("error",), 0)
    objects, first_error = [], None
    inventory = key_inventory.from_params(params)

    def entry_of(own_client, name):
        """The ``objects`` entry of one listed name (plain values: it may come from a worker process); None when
        the object was deleted since it was listed."""
        # Listed: two 400s need no second listing to mean SSE-C (remote.inspect).
        remote = remote_state.inspect(own_client, bucket, name, key, listed=True)
        if not remote.exists:
            return None
        if inventory:
            return inventory.label(object_entry(inventory.identify(own_client, remote, key)), remote)
        return object_entry(remote)

    def make_worker():  # in each worker process: its own connections
        own_client = module.client(max_pool_connections=params["concurrency"] + 2)
        return lambda name: entry_of(own_client, name)

    for name, entry, error in bulk.each_spread(lambda name: entry_of(client, name), make_worker, names,
                                               params["concurrency"]):
        if error is not None:
            counts["error"] += 1
            entry = {"object": name, "state": "error", "error": error}
            first_error = first_error or entry
        elif entry is None:
            continue  # deleted since it was listed
        else:
            counts[entry["state"]] += 1
            if inventory:
                inventory.count(entry)
        if len(objects) < bulk.LIST_CAP:
            objects.append(entry)
    total = sum(counts.values())
    result = {
        "changed": False,
        "bucket": bucket,
        "prefix": prefix,
        "sse_customer_key_md5": key.md5 if key else None,
        "objects": objects,
        "counts": counts,
        "truncated": total > len(objects),
        "msg": describe(counts, total, key, shard),
    }
    add_shard(result, shard)
    if inventory:
        result.update(inventory.result())
    if first_error:
        raise SsecError("Not every object could be read. %s First error, %s: %s" % (
            result.pop("msg"), first_error["object"], first_error["error"]), result=result)
    return result

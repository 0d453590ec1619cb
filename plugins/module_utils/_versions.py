# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to the ssec.s3 collection, not a public API: it may change in any release.
"""Object versions: one version by its id, every version under a prefix, and the noncurrent versions an old key
opens (ssec.s3.rekey ``noncurrent_versions: delete``).

A version is first looked up in the version listing, then read with HEADs that name it. The listing is the
evidence that counts, since servers answer a HEAD for a version differently: SeaweedFS (4.48) ignores a version id
on a bucket that never had versioning and answers with the current object; SeaweedFS and Ceph RGW answer 404 for a
delete marker (AWS: 405), and RGW 400 both with another key and without one.
"""

from __future__ import annotations

from ansible_collections.ssec.s3.plugins.module_utils import _bulk as bulk, _policy as policy, _remote as remote_state
from ansible_collections.ssec.s3.plugins.module_utils._errors import DELETE, SsecError, s3_errors
from ansible_collections.ssec.s3.plugins.module_utils._policy import Action, State
from ansible_collections.ssec.s3.plugins.module_utils._remote import SSE_C
from ansible_collections.ssec.s3.plugins.module_utils._sync_names import in_share, prefix_shard

# Why policy.delete refused, in the words of the error.
_REFUSED_BECAUSE = {State.OTHER_KEY: "encrypted with another SSE-C key",
                    State.NO_KEY: "SSE-C encrypted and no key was given"}

DELETE_MARKER = "delete_marker"
# What GetBucketVersioning says, in the words of the results.
ENABLED, SUSPENDED, DISABLED = "enabled", "suspended", "disabled"


def _url(bucket, name, version_id):
    return "version %s of s3://%s/%s" % (version_id, bucket, name)


def _capital(text):
    return text[:1].upper() + text[1:]


def versioning_status(client, bucket):
    """``enabled``, ``suspended``, ``disabled`` (never enabled), or None when the server does not tell."""
    try:
        status = client.get_bucket_versioning(Bucket=bucket).get("Status")
    except Exception:  # pylint: disable=broad-except
        return None  # denied by a policy, or not implemented: the version listing still tells what is stored
    return {"Enabled": ENABLED, "Suspended": SUSPENDED}.get(status, DISABLED)


def list_versions(client, bucket, prefix=""):
    """Yield every version and delete marker under ``prefix``, in name order, newest first within a name.

    Each is a dict: ``object``, ``version_id``, ``is_latest``, ``delete_marker``, ``size``, ``last_modified``.
    """
    paginator = client.get_paginator("list_object_versions")
    with s3_errors("list the versions under s3://%s/%s" % (bucket, prefix)):
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            found = [_listed(entry, False) for entry in page.get("Versions") or ()]
            found += [_listed(entry, True) for entry in page.get("DeleteMarkers") or ()]
            # A page lists versions and delete markers apart: merge them back, newest first within a name (the
            # ISO 8601 times of one server compare as text).
            found.sort(key=lambda entry: entry["last_modified"] or "", reverse=True)
            found.sort(key=lambda entry: (entry["object"], not entry["is_latest"]))
            yield from found


def _listed(entry, delete_marker):
    return {
        "object": entry["Key"],
        "version_id": entry.get("VersionId") or "null",
        "is_latest": bool(entry.get("IsLatest")),
        "delete_marker": delete_marker,
        "size": None if delete_marker else entry.get("Size"),
        "last_modified": entry["LastModified"].isoformat() if entry.get("LastModified") else None,
    }


def find_version(client, bucket, name, version_id):
    """The listing entry of one version (or delete marker) of ``name``, or None when there is none."""
    for entry in list_versions(client, bucket, name):
        if entry["object"] != name:
            break  # ``name`` sorts before every longer name under it: its versions came first
        if entry["version_id"] == version_id:
            return entry
    return None


def inspect_version(client, bucket, name, version_id, key=None):
    """The state of one version relative to ``key``: a RemoteObject whose reads name that version.

    A version that is not listed is absent (``exists`` false); a delete marker is absent with ``delete_marker``.
    """
    entry = find_version(client, bucket, name, version_id)
    if entry is None or entry["delete_marker"]:
        remote = remote_state.RemoteObject(bucket, name)
    else:
        remote = remote_state.inspect(client, bucket, name, key, listed=True, version_id=version_id)
    remote.version_id = version_id
    if entry is not None:
        remote.is_latest = entry["is_latest"]
        remote.delete_marker = entry["delete_marker"]
    return remote


def version_summary(remote):
    """The diff-mode view of one version (fingerprints only)."""
    return dict(remote.summary(), version_id=remote.version_id, delete_marker=remote.delete_marker)


def missing_message(remote):
    """Why a version asked by its id cannot be read: not there, or a delete marker; None when it exists (or when
    no version was asked for)."""
    if remote.version_id is None:
        return None
    url = _capital(_url(remote.bucket, remote.name, remote.version_id))
    if remote.delete_marker:
        return ("%s is a delete marker, which holds no data. Give the version_id of a version written before it "
                "(list them with ssec.s3.object_info, prefix and versions: true)." % url)
    if not remote.exists:
        return ("%s does not exist (it was deleted, or the id is wrong). List the versions with ssec.s3.object_info "
                "(prefix and versions: true)." % url)
    return None


# ---- ssec.s3.object with state: absent and version_id -----------------------------------------------------
def ensure_version_absent(module, client, key):
    """Delete exactly one version (or delete marker); the rule of any delete holds for it (policy.delete): a
    version this key does not open is deleted only with force. A delete marker holds no data: no key needed."""
    params = module.params
    bucket, name, version_id = params["bucket"], params["object"], params["version_id"]
    remote = inspect_version(client, bucket, name, version_id, key)
    url = _url(bucket, name, version_id)
    verdict = None if remote.delete_marker else policy.delete(remote.kind, params["force"])
    exists = remote.delete_marker or verdict.action != Action.NOTHING
    if remote.delete_marker:
        previous = DELETE_MARKER
    else:
        previous = remote.state
    result = {
        "bucket": bucket,
        "object": name,
        "version_id": version_id,
        "sse_customer_key_md5": key.md5 if key else None,
        "changed": exists,
        "previous_state": previous,
        "diff": {"before": version_summary(remote), "after": {"exists": False, "version_id": version_id}},
    }
    if not exists:
        result["msg"] = "%s does not exist (deleted already, or the id is wrong): nothing was deleted." % _capital(url)
        return result
    if verdict is not None and verdict.action == Action.REFUSE:
        reason = _REFUSED_BECAUSE.get(remote.kind, "of unknown state")
        raise SsecError("%s is %s, so it was not deleted. Give its key, or set force: true to delete it anyway."
                        % (_capital(url), reason))
    what = "the delete marker" if remote.delete_marker else "the version"
    if remote.delete_marker and remote.is_latest:
        what += " (the version before it becomes the current one again)"
    result["msg"] = ("Would delete %s." if module.check_mode else "Deleted %s.") % what
    if not module.check_mode:
        delete_version(client, bucket, name, version_id)
    return result


def delete_version(client, bucket, name, version_id):
    with s3_errors("delete %s" % _url(bucket, name, version_id), write=DELETE):
        client.delete_object(Bucket=bucket, Key=name, VersionId=version_id)


# ---- what ssec.s3.object wrote ------------------------------------------------------------------------------
class WrittenVersions:
    """Records the VersionId of each PutObject and CompleteMultipartUpload answer of a client (s3transfer does
    not return them)."""

    def __init__(self, client):
        self.last = None
        for operation in ("PutObject", "CompleteMultipartUpload"):
            client.meta.events.register("after-call.s3.%s" % operation, self._record,
                                        unique_id="ssec-written-version-%s" % operation)

    def _record(self, http_response=None, parsed=None, **_kwargs):
        if http_response is not None and http_response.status_code < 300 and parsed:
            self.last = parsed.get("VersionId") or self.last


def version_fields(remote):
    """What ssec.s3.object_info adds about versions: the version read, and with version_id whether it is the
    current one and a delete marker."""
    fields = {"version_id": remote.version_id or remote.head.get("VersionId")}
    if remote.version_id is not None:
        fields.update(is_latest=remote.is_latest, delete_marker=remote.delete_marker)
    return fields


# ---- ssec.s3.object_info with prefix and versions: true ------------------------------------------------------
def _counts(states):
    return dict.fromkeys(states + (DELETE_MARKER, "error"), 0)


def object_info_versions(module) -> dict:
    """Every version and delete marker under a prefix, each with its state relative to the key given."""
    # Imported here: object_info_prefix imports object_task, which imports this module.
    from ansible_collections.ssec.s3.plugins.module_utils import _object_info_prefix as survey

    params = module.params
    shard = prefix_shard(params)
    key = module.customer_key(required=False)
    client = module.client(max_pool_connections=params["concurrency"] + 2)
    bucket, prefix = params["bucket"], params["prefix"]
    versioning = versioning_status(client, bucket)
    # By name: every version of a name is in the share of the name.
    listing = in_share(list_versions(client, bucket, prefix), prefix, shard, name=lambda entry: entry["object"])
    counts = {"all": _counts(survey.STATES), True: _counts(survey.STATES), False: _counts(survey.STATES)}
    objects, errors = [], []

    def head(entry):
        if entry["delete_marker"]:
            return None
        return remote_state.inspect(client, bucket, entry["object"], key, listed=True, version_id=entry["version_id"])

    for listed, remote, error in bulk.run_parallel(head, listing, params["concurrency"]):
        marks = {"object": listed["object"], "version_id": listed["version_id"], "is_latest": listed["is_latest"]}
        if error is not None:
            entry = dict(marks, state="error", error=error)
            errors.append(entry)
        elif listed["delete_marker"]:
            entry = dict(marks, state=DELETE_MARKER, last_modified=listed["last_modified"])
        elif not remote.exists:
            continue  # deleted since it was listed
        else:
            entry = dict(survey.object_entry(remote), **marks)
        for group in ("all", listed["is_latest"]):
            counts[group][entry["state"]] += 1
        if len(objects) < bulk.LIST_CAP:
            objects.append(entry)
    total = sum(counts["all"].values())
    result = {
        "changed": False,
        "bucket": bucket,
        "prefix": prefix,
        "sse_customer_key_md5": key.md5 if key else None,
        "versioning": versioning,
        "objects": objects,
        "counts": counts["all"],
        "counts_current": counts[True],
        "counts_noncurrent": counts[False],
        "truncated": total > len(objects),
        "msg": describe_versions(counts, key, versioning, bucket, survey.STATES, survey.scope(shard)),
    }
    survey.add_shard(result, shard)
    if errors:
        raise SsecError("Not every version could be read. %s First error, %s (version %s): %s" % (
            result.pop("msg"), errors[0]["object"], errors[0]["version_id"], errors[0]["error"]), result=result)
    return result


_WORDS = {
    "plaintext": "not encrypted",
    "this_key": "SSE-C with this key",
    "other_key": "SSE-C with another key",
    "sse_c_unknown": "SSE-C (give a key to check which)",
    "other": "server-side encrypted with a server-managed key",
    "error": "could not be read",
}


def describe_versions(counts, key, versioning, bucket, states, where="under the prefix"):
    """The survey in a few sentences: the states over all versions, then current and noncurrent apart.

    ``where``: the place counted, the prefix or one share of it."""
    every = counts["all"]
    markers = every[DELETE_MARKER]
    stored = sum(every.values()) - markers
    if not stored and not markers:
        message = "No version %s." % where
    else:
        parts = ["%d %s" % (every[state], _WORDS[state]) for state in states + ("error",) if every[state]]
        message = "%s %s%s" % (bulk.plural(stored, "version"), where, ": %s." % ", ".join(parts) if parts else ".")
        current = sum(counts[True].values()) - counts[True][DELETE_MARKER]
        message += " %d current, %d noncurrent" % (current, stored - current)
        message += "; %s (%d current)." % (bulk.plural(markers, "delete marker"), counts[True][DELETE_MARKER]) \
            if markers else "."
        if key is None and every["sse_c_unknown"]:
            message += " Without a key, SSE-C versions show no size, metadata or digest."
    if versioning == DISABLED:
        message += " Versioning has never been enabled on bucket %s: each object has one version (null)." % bucket
    return message


# ---- ssec.s3.rekey with noncurrent_versions: delete ----------------------------------------------------------
def delete_noncurrent(client, bucket, prefix, old_key, settled, planned=(), check_mode=False, concurrency=8):
    """Delete the noncurrent versions that ``old_key`` opens, of the objects whose current version is under the new
    key; yields (listing entry, deleted entry or None, error or None) for every version examined.

    ``settled``: names whose current version is verified under the new key (rotated now, or found rotated).
    ``planned``: names check mode would rotate - their current version is counted too, since the rotation makes
    it a noncurrent version under the old key.
    Every version is read with the old key first (one HEAD naming it): a version under another key, or not
    encrypted, is never deleted. One listing of ``prefix`` for all the names.
    """
    if not settled and not planned:
        return
    if versioning_status(client, bucket) == DISABLED:
        return  # one version per object: nothing noncurrent

    def candidates():
        for entry in list_versions(client, bucket, prefix):
            name = entry["object"]
            if entry["delete_marker"]:
                continue
            if name in planned or (name in settled and not entry["is_latest"]):
                yield entry

    def examine(entry):
        name, version_id = entry["object"], entry["version_id"]
        seen = remote_state.inspect(client, bucket, name, old_key, listed=True, version_id=version_id)
        verdict = policy.noncurrent_version(seen.kind)
        if verdict.action == Action.REFUSE:
            raise SsecError("%s could not be read with the old key: it was kept."
                            % _capital(_url(bucket, name, version_id)))
        if verdict.action != Action.WRITE:
            return None
        if not check_mode:
            delete_version(client, bucket, name, version_id)
        return {"object": name, "version_id": version_id, "size": seen.size, "last_modified": entry["last_modified"]}

    yield from bulk.run_parallel(examine, candidates(), concurrency)


def deleted_versions_diff(deleted, old_key):
    """Diff mode of rekey: each deleted version, before and after (keyed by name and version)."""
    before, after = {}, {}
    for entry in deleted:
        label = "%s (version %s)" % (entry["object"], entry["version_id"])
        before[label] = {"encryption": SSE_C, "sse_customer_key_md5": old_key.md5}
        after[label] = {"exists": False}
    return before, after

# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to the ssec.s3 collection, not a public API: it may change in any release.
"""Backends of ssec.s3.object, ssec.s3.download and ssec.s3.object_info: decide, then act."""

from __future__ import annotations

import base64
import binascii
import mimetypes
import os
import re
import stat

from ansible_collections.ssec.s3.plugins.module_utils import (
    _digest as digest, _local_files as local_files, _policy as policy, _remote as remote_state,
    _transfer as transfer, _versions as versions)
from ansible_collections.ssec.s3.plugins.module_utils._errors import DELETE, SsecError, s3_errors
from ansible_collections.ssec.s3.plugins.module_utils._local_files import writable_parent
from ansible_collections.ssec.s3.plugins.module_utils._policy import Action, State, Why
from ansible_collections.ssec.s3.plugins.module_utils._remote import SSE_C

# What every server keeps as it is in a user metadata name (Ceph RGW turns '_' into '-').
_METADATA_NAME = re.compile(r"^[a-z0-9.-]+$")
_OTHER_KEY_HINT = (
    "To replace it anyway set overwrite: always; to re-encrypt it under this key, use ssec.s3.rekey with "
    "the old key; if this key is the wrong one, check sse_customer_key / sse_customer_key_file."
)
# Why policy.delete refused, in the words of the error.
_REFUSED_BECAUSE = {State.OTHER_KEY: "encrypted with another SSE-C key",
                    State.NO_KEY: "SSE-C encrypted and no key was given"}


def _url(remote):
    return remote_state.url(remote.bucket, remote.name, remote.version_id)


def _base_result(remote, key):
    return {
        "bucket": remote.bucket,
        "object": remote.name,
        "sse_customer_key_md5": key.md5 if key else None,
    }


def wanted_metadata(metadata):
    """User metadata as S3 stores it (lowercase names, text values); the digest name is reserved.

    S3 sends user metadata as HTTP headers, and servers normalize what HTTP lets them: such metadata is refused
    before any request, since a stored value that differs from the task's would make every run "changed".
    """
    if metadata is None:
        return None
    wanted = {str(name).lower(): str(value) for name, value in metadata.items()}
    if digest.METADATA_NAME in wanted:
        raise SsecError("metadata may not set %s: ssec.s3 keeps its encrypted content digest there. "
                        "Remove it from metadata." % digest.METADATA_NAME)
    for name, value in wanted.items():
        if "_" in name and _METADATA_NAME.match(name.replace("_", "-")):
            raise SsecError("metadata name %r holds '_', which some servers (Ceph RGW) store as '-': the object would "
                            "never match the task. Write it with '-' (%r)." % (name, name.replace("_", "-")))
        if not _METADATA_NAME.match(name):
            raise SsecError("metadata name %r cannot be sent: S3 user metadata travels as HTTP headers, and the names "
                            "every server keeps as they are hold letters, digits, '-' and '.' only. Rename it." % name)
        if not all(" " <= character <= "~" for character in value):
            raise SsecError("metadata %s holds characters other than printable ASCII: S3 user metadata travels as "
                            "HTTP headers. Encode the value, for example with the urlencode or b64encode filter."
                            % name)
        if value == "":
            raise SsecError("metadata %s is empty, and servers drop empty values: the object would never match the "
                            "task. Give it a value, or remove it." % name)
        if value != value.strip(" "):
            raise SsecError("metadata %s begins or ends with spaces, which servers remove (HTTP header values): the "
                            "object would never match the task. Remove them (the trim filter does)." % name)
    return wanted


def check_content_type(value):
    """Refuse, before any request, a content type a server would store as another value (HTTP header rules):
    every run would then report a change."""
    if value is None:
        return
    if value == "":
        raise SsecError("content_type is empty, and servers store a default instead: the object would never match "
                        "the task. Give a media type such as text/plain, or omit content_type to have one guessed "
                        "from the name of src.")
    if not all(" " <= character <= "~" for character in value):
        raise SsecError("content_type %r holds characters other than printable ASCII: it travels as an HTTP header, "
                        "and servers change or refuse such values. Give a media type such as "
                        "'text/plain; charset=utf-8'." % value)
    if value != value.strip(" "):
        raise SsecError("content_type %r begins or ends with spaces, which servers remove (HTTP header values): the "
                        "object would never match the task. Remove them (the trim filter does)." % value)


def _source(params):
    if params["src"] is not None:
        path = params["src"]
        if os.path.isdir(path):
            raise SsecError("src %s is a directory. Give a file, or use ssec.s3.sync for a directory." % path)
        if not os.path.exists(path):
            raise SsecError("src %s does not exist on the host the module runs on. Check the path "
                            "(use delegate_to: localhost for a file on the controller)." % path)
        if not os.access(path, os.R_OK):
            raise SsecError("src %s cannot be read by this user. Fix its permissions or use become." % path)
        if not stat.S_ISREG(os.stat(path).st_mode):
            # A FIFO would block the hashing until a writer comes, and could not be read a second time to upload.
            raise SsecError("src %s is not a regular file (a FIFO, socket or device). Give a regular file, or copy "
                            "the data into one first." % path)
        return transfer.Source(path=path)
    if params["content_base64"] is not None:
        try:
            return transfer.Source(data=base64.b64decode(params["content_base64"], validate=True))
        except (binascii.Error, ValueError):
            raise SsecError("content_base64 is not valid base64 text. Encode the data with b64encode.") from None
    if params["content"] is not None:
        return transfer.Source(data=params["content"].encode("utf-8"))
    raise SsecError("state: present needs the data to upload: set src, content or content_base64.")


def _content_type(params):
    if params["content_type"]:
        return params["content_type"]
    if params["src"]:
        return mimetypes.guess_type(params["src"])[0] or "application/octet-stream"
    return "application/octet-stream"


def _needs_upload(client, remote, key, source, params, metadata):
    """(upload?, why: what was done, what would be done) for state=present, as policy.upload decides; refuses to
    replace an object under another key."""
    verdict = policy.upload(remote.kind, params["overwrite"])
    if verdict.action == Action.REFUSE:
        raise SsecError("%s is encrypted with another SSE-C key, so it was left untouched. %s"
                        % (_url(remote), _OTHER_KEY_HINT))
    if verdict.action == Action.KEEP:
        return False, ("The object exists and overwrite: never keeps it as it is.",) * 2
    if verdict.why == State.ABSENT:
        return True, ("Uploaded a new encrypted object.", "Would upload a new encrypted object.")
    if verdict.why == Why.ALWAYS:
        return True, _again("(overwrite: always).")
    if verdict.action == Action.WRITE:
        return True, ("Replaced the %s object with one encrypted with the customer key." % remote.state,
                      "Would replace the %s object with one encrypted with the customer key." % remote.state)
    if metadata is not None and metadata != remote.metadata:
        return True, _again(": its metadata differed.")
    if params["content_type"] and params["content_type"] != remote.content_type:
        return True, _again(": its content type differed.")
    if params["storage_class"] and params["storage_class"] != remote.storage_class:
        return True, _again(": its storage class differed.")
    if remote.digest_problem:
        # Even over equal bytes: left as it is, every download of the object would be refused.
        return True, _again(": its stored content digest does not open with this key (it was kept from another "
                            "key by a rotation done with another tool, or altered), so it is sealed anew.")
    if not transfer.same_content(client, remote, key, source):
        return True, _again(": its content differed.")
    return False, ("The object already holds this content, encrypted with this key.",) * 2


def _again(reason):
    separator = "" if reason.startswith(":") else " "
    return ("Uploaded the object again" + separator + reason, "Would upload the object again" + separator + reason)


def _after(remote, source, metadata, content_type, key):
    return {
        "exists": True,
        "encryption": SSE_C,
        "key_matches": True,
        "size": source.size,
        "sha256": source.sha256,
        "content_type": content_type,
        "metadata": metadata if metadata is not None else {},
        "sse_customer_key_md5": key.md5,
    }


def ensure_object(module) -> dict:
    params = module.params
    present = params["state"] == "present"
    key = module.customer_key(required=present)
    metadata = wanted_metadata(params["metadata"])
    check_content_type(params["content_type"])
    if present and params.get("version_id") is not None:
        raise SsecError("version_id names an existing version, for state: absent (delete exactly that version); a "
                        "write always makes a new version. Remove version_id, or set state: absent.")
    source = _source(params) if present else None  # a bad src fails before any request
    client = module.client(max_pool_connections=params["concurrency"] + 2)
    if not present and params.get("version_id") is not None:
        return versions.ensure_version_absent(module, client, key)
    written = versions.WrittenVersions(client)
    remote = remote_state.inspect(client, params["bucket"], params["object"], key)
    if not present:
        return _ensure_absent(module, client, remote, key)

    content_type = _content_type(params)
    upload, messages = _needs_upload(client, remote, key, source, params, metadata)
    result = dict(_base_result(remote, key), changed=upload, msg=messages[module.check_mode], size=source.size,
                  sha256=source.sha256, previous_state=remote.state)
    result["diff"] = {"before": remote.summary(),
                      "after": _after(remote, source, metadata, content_type, key) if upload else remote.summary()}
    if upload and not module.check_mode:
        result["parts"] = transfer.upload(
            client, remote.bucket, remote.name, source, key, metadata, content_type, params["storage_class"],
            params["part_size_mb"] * transfer.MIB, params["concurrency"])
        if source.retries:
            # What was stored is the file as it was at the last attempt.
            result.update(size=source.size, sha256=source.sha256)
            result["diff"]["after"] = _after(remote, source, metadata, content_type, key)
            result["msg"] += " src changed during the upload, so it was read and uploaded again (%d times)." \
                % source.retries
    # The version written, or the one that already held the content (None without versioning, unknown in check mode).
    result["version_id"] = written.last if upload else remote.head.get("VersionId")
    return result


def _ensure_absent(module, client, remote, key):
    verdict = policy.delete(remote.kind, module.params["force"])
    if verdict.action == Action.REFUSE:
        reason = _REFUSED_BECAUSE.get(remote.kind, "of unknown state")
        raise SsecError("%s is %s, so it was not deleted. Give its key, or set force: true to delete it anyway."
                        % (_url(remote), reason))
    delete = verdict.action == Action.WRITE
    result = dict(_base_result(remote, key), changed=delete, previous_state=remote.state)
    result["diff"] = {"before": remote.summary(), "after": {"exists": False}}
    if not delete:
        result["msg"] = "The object does not exist."
        return result
    result["msg"] = "Would delete the object." if module.check_mode else "Deleted the object."
    if not module.check_mode:
        with s3_errors("delete %s" % _url(remote), write=DELETE):
            client.delete_object(Bucket=remote.bucket, Key=remote.name)
    return result


def _readable_remote(client, params, key):
    """The object to download, refused when this key cannot be the one it was written with."""
    if params.get("version_id") is not None:
        remote = versions.inspect_version(client, params["bucket"], params["object"], params["version_id"], key)
        if versions.missing_message(remote):
            raise SsecError(versions.missing_message(remote))
    else:
        remote = remote_state.inspect(client, params["bucket"], params["object"], key)
    verdict = policy.download(remote.kind, not remote.digest_problem)
    if verdict.action == Action.READ:
        return remote
    if verdict.why == State.ABSENT:
        raise SsecError("%s does not exist. Check bucket and object, or upload it first with ssec.s3.object."
                        % _url(remote))
    if verdict.why in State.UNENCRYPTED:
        raise SsecError("%s is not SSE-C encrypted (%s): ssec.s3.download only fetches objects encrypted with a "
                        "customer key. Encrypt it in place with ssec.s3.rekey (encrypt_plaintext: true), or "
                        "upload it again with ssec.s3.object." % (_url(remote), remote.state))
    if verdict.why == Why.DIGEST:
        raise SsecError("%s: %s The download was not attempted; inspect the object with ssec.s3.object_info."
                        % (_url(remote), remote.digest_problem))
    raise SsecError("%s is encrypted with another SSE-C key: this key (MD5 %s) does not open it. Give the key "
                    "it was written with." % (_url(remote), key.md5))


def _check_dest(dest):
    """Refuse, without opening it, a dest that only a regular file (or nothing) may be."""
    if os.path.isdir(dest):
        raise SsecError("dest %s is a directory. Give the path of the file to write, including its name." % dest)
    try:
        mode = os.stat(dest).st_mode
    except OSError:
        mode = None  # absent, or a broken symbolic link: the download creates the file
    if mode is not None and not stat.S_ISREG(mode):
        # Opening a FIFO would wait for a writer; the rename would replace a device node with a file.
        raise SsecError("dest %s is not a regular file (a FIFO, socket or device): ssec.s3.download writes only "
                        "regular files, and would replace it. Give the path of a regular file, or remove it first."
                        % dest)
    writable_parent(dest, "dest")


def ensure_download(module) -> dict:
    params = module.params
    dest = params["dest"]
    key = module.customer_key()
    _check_dest(dest)
    client = module.client(max_pool_connections=params["concurrency"] + 2)
    remote = _readable_remote(client, params, key)

    exists = os.path.exists(dest)
    before_sha256, same = None, False
    if exists:
        local = transfer.Source(path=dest)
        before_sha256 = local.sha256
        same = transfer.same_content(client, remote, key, local)
    download = not exists or (not same and params["force"])
    if download and exists:
        # Before the check-mode branch and the transfer: an immutable dest can never be replaced.
        module.check_replaceable(dest)
    if not exists:
        message = "Would download the object and verify it." if module.check_mode else \
            "Downloaded and verified the object."
    elif same:
        message = "dest already holds the object's content."
    elif params["force"]:
        message = "Would replace dest with the object's content, verified." if module.check_mode else \
            "Replaced dest with the object's content, verified."
    else:
        message = "dest differs from the object but force: false keeps it."

    result = dict(_base_result(remote, key), changed=download, msg=message, dest=dest, size=remote.size,
                  sha256=remote.sha256 or (before_sha256 if exists and same else None),
                  version_id=remote.version_id or remote.head.get("VersionId"))
    result["diff"] = {"before": {"exists": exists, "sha256": before_sha256},
                      "after": {"exists": True, "sha256": result["sha256"] if not download else remote.sha256}}
    if download and not module.check_mode:
        backup_file = transfer.write_download(module, client, remote, key, dest, params["concurrency"],
                                              backup=params["backup"])
        if backup_file:
            result["backup_file"] = backup_file
        if result["sha256"] is None:
            result["sha256"] = transfer.sha256_file(dest)
    if exists or not module.check_mode:
        result["changed"] = local_files.set_attributes(module, dest, result["changed"], diff=result["diff"])
    return result


def object_info(module) -> dict:
    params = module.params
    key = module.customer_key(required=False)
    client = module.client()
    if params.get("version_id") is not None:
        remote = versions.inspect_version(client, params["bucket"], params["object"], params["version_id"], key)
    else:
        remote = remote_state.inspect(client, params["bucket"], params["object"], key)
    result = dict(_base_result(remote, key), changed=False, **info_fields(remote))
    result.update(versions.version_fields(remote))
    result["msg"] = versions.missing_message(remote) or _describe(remote)
    return result


def info_fields(remote) -> dict:
    """What ssec.s3.object_info reports of one object (also per object with prefix)."""
    fields = remote.summary()
    fields["last_modified"] = remote.last_modified.isoformat() if remote.last_modified else None
    fields["storage_class"] = remote.storage_class
    fields["digest"] = digest_state(remote)
    return fields


def digest_state(remote):
    """valid / invalid / present (not checked) / absent, or None when the metadata could not be read."""
    if remote.sha256:
        return "valid"
    if remote.digest_problem:
        return "invalid"
    if remote.sealed_digest:
        return "present"
    # An SSE-C object asked without its key (or with another) shows no metadata: unknown, not absent.
    return None if remote.exists and remote.metadata is None else "absent"


_DESCRIBED = {
    State.ABSENT: "The object does not exist.",
    State.NO_KEY: "The object is SSE-C encrypted; give a key to check whether it is the right one.",
    State.THIS_KEY: "The object is SSE-C encrypted with this key.",
    State.OTHER_KEY: "The object is SSE-C encrypted with another key.",
}


def _describe(remote):
    if remote.kind in State.UNENCRYPTED:
        return "The object exists and is not SSE-C encrypted (%s)." % remote.state
    return _DESCRIBED[remote.kind]

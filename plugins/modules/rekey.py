#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: rekey
short_description: Re-encrypt S3 objects in place under a new customer key (SSE-C key rotation)
version_added: 0.1.0
description:
  - Rotates the SSE-C key of one object or of every object under a prefix. The server copies each object onto
    itself, decrypting with the old key and encrypting with the new one; the data does not travel through the host.
  - The state of each object is read from HEAD requests only. An object under the old key is rotated; one already
    under the new key is left alone (so an interrupted rotation can simply be run again); one under neither key is
    never touched and is reported in RV(unknown_key); a plaintext one is reported in RV(plaintext) and, with
    O(encrypt_plaintext=true), encrypted in place.
  - The user metadata, content type, C(Cache-Control), C(Content-Disposition), C(Content-Encoding),
    C(Content-Language), storage class and tags are kept. The encrypted content digest (C(ssec-sha256)) is re-sealed
    under the new key without reading any data, so M(ssec.s3.object) and M(ssec.s3.download) stay idempotent.
  - Each copy is conditional on the ETag seen by the HEAD that decided it (an object replaced meanwhile fails rather
    than being copied with stale metadata), and each rotated object is verified by a HEAD under the new key (same
    size, digest opens with the new key).
  - Objects larger than O(multipart_copy_threshold_mb) are rewritten by a multipart copy (UploadPartCopy with the
    old key on every part).
  - Servers that cannot copy from an SSE-C source get a streamed re-encryption instead - ranged GETs with the old
    key, UploadPart with the new key (one GET and one PutObject for an object that fits in one part), bounded
    memory, nothing on disk. SeaweedFS answers UploadPartCopy with 501; Ceph RGW answers CopyObject with 501 and
    UploadPartCopy with 400 (it decrypts the source with the new key), and copies a plaintext object without
    encrypting it. The first such answer of a run decides for the objects after it. Plaintext objects above the
    threshold always take the streamed way - they are read anyway for their digest, and SeaweedFS completes
    UploadPartCopy from a plaintext source into an SSE-C upload but builds an object that no full GET can read.
    The C(method) of each RV(rotated) entry says which way each object went. A multipart rewrite is read back
    (the first bytes of a full GET) before it counts as rotated; a failed one is aborted and leaves the object as
    it was.
  - The new key is given with the usual key options (O(sse_customer_key), O(sse_customer_key_file)); the old one
    with the same options prefixed by C(old_).
author:
  - ssec.s3 contributors (@ssec-s3)
options:
  object:
    description:
      - Name (key) of the one object to rotate. It must exist.
      - At most 1024 bytes in UTF-8, without a leading or trailing C(/), C(//), a backslash, or a C(.) or C(..) part;
        other names are refused before any request (some servers would store them under another name, keep them
        as empty unencrypted folders, or refuse them).
      - Exactly one of O(object) and O(prefix) is required.
    type: str
  prefix:
    description:
      - Rotate every object whose name starts with this prefix, for example V(backups/) (no wildcard).
        V('') means the whole bucket.
      - Exactly one of O(object) and O(prefix) is required.
      - Without a leading C(/), like object names.
    type: str
  shard:
    description:
      - With O(prefix), rotate only a stable share of the objects, given as V(i/n) (1 <= i <= n), so that n hosts
        rotate one prefix at once; the n runs V(1/n) ... V(n/n) together rotate what one run without O(shard) does.
      - The share of an object comes from a hash of its name after O(prefix), the same rule as
        O(ssec.s3.sync#module:shard), whose examples show how each host gives its number.
      - RV(counts) then count the objects of the share only.
      - The default is every object.
    type: str
  old_sse_customer_key:
    description:
      - The key the objects are encrypted with now, as base64 text (the base64 of 32 random bytes).
      - Mutually exclusive with O(old_sse_customer_key_file); one of them is required.
    type: str
  old_sse_customer_key_file:
    description:
      - Path of the file holding the current key, on the host the module runs on, in any form O(sse_customer_key_file)
        accepts (32 raw bytes, base64 text or 64 hexadecimal digits).
    type: path
  old_sse_customer_key_md5:
    description:
      - The expected fingerprint of the old key (base64 of its binary MD5); a key that does not match is refused
        before any request.
    type: str
  old_sse_customer_algorithm:
    description: The SSE-C algorithm of the old key. S3 defines only V(AES256).
    type: str
    default: AES256
    choices: [AES256]
  encrypt_plaintext:
    description:
      - Also encrypt objects that are not SSE-C encrypted (plaintext, or server-managed SSE-S3 / SSE-KMS) in place
        with the new key. They are listed in RV(plaintext) and in RV(rotated).
      - Each such object is read once (streamed, bounded memory, nothing on disk) to compute its SHA-256, so the
        encrypted object carries a sealed content digest like every object this collection writes. In check mode
        nothing is read.
    type: bool
    default: false
  concurrency:
    description:
      - How many objects are examined and copied at once; for a multipart rewrite, how many parts are in flight.
      - The streamed re-encryption holds one part in memory per worker (the part size is the larger of 8 MiB and
        1/1000 of the object), and uses fewer workers when parts are large, to stay under 256 MiB over all the
        objects in flight.
  fail_on_unknown_key:
    description:
      - Fail the task when an object is SSE-C encrypted with neither key. Those objects are never touched; with
        V(true) (the default) the task still finishes the other objects first, then fails, listing them in
        RV(unknown_key).
      - With V(false) they are only reported.
      - An object that could not be rotated because of an error (RV(failed_entries)) always fails the task, after the others.
    type: bool
    default: true
  noncurrent_versions:
    description:
      - On a bucket with versioning, what becomes of the noncurrent versions of the rotated objects, which are still
        encrypted with the old key (the rotation itself makes the current version a noncurrent one).
      - V(keep) leaves them; RV(versioning_note) says so.
      - V(delete) deletes them once the current version of the object is rotated and verified (or found under the new
        key already). Each noncurrent version is read with the old key first (a HEAD naming it), and only a version
        the old key opens is deleted - never one under another key, nor one that is not encrypted. After a leaked key,
        this leaves no version of these objects that the leaked key opens. They are listed in RV(deleted_versions);
        in check mode, the versions that would be deleted.
      - Deleted versions cannot be restored. Objects whose current version is a delete marker are not rotated, and
        their versions are left alone - find them with M(ssec.s3.object_info) (O(ssec.s3.object_info#module:versions=true))
        and delete them with M(ssec.s3.object) (O(ssec.s3.object#module:version_id)).
    type: str
    default: keep
    choices: [keep, delete]
extends_documentation_fragment:
  - ssec.s3.options.MULTIPART_COPY_THRESHOLD
  - ssec.s3.options
  - ssec.s3.options.CONCURRENCY
  - ssec.s3.connection
  - ssec.s3.key
  - ssec.s3.attributes
  - ssec.s3.attributes.ACTION_GROUP
attributes:
  check_mode:
    support: full
    details: Reports what would be rotated (with the planned method), reading no data and writing nothing.
  diff_mode:
    support: full
    details: Shows the encryption and key fingerprint of each rotated object before and after; never key material.
  idempotent:
    support: full
notes:
  - On a bucket with versioning, the rotation creates a new version of each object; the previous versions stay
    encrypted with the old key unless O(noncurrent_versions=delete). RV(versioning_note) says so when versioning is
    enabled or suspended. Keep the old key until those versions are deleted or expire.
  - The ACL of an object is not copied (S3 copies never keep it); the copy gets the bucket's default. SSE-C objects
    are seldom shared by ACL, since a reader needs the key anyway.
  - The list of objects is taken once at the start; objects added under the prefix meanwhile are not rotated (run the
    task again).
  - Ansible reads a result key named C(failed) as the task's failure flag, so the objects that failed are listed in
    RV(failed_entries); RV(counts) keeps the name C(failed).
seealso:
  - module: ssec.s3.object_info
  - module: ssec.s3.key
"""

EXAMPLES = r"""
- name: Create the new key on the controller
  ssec.s3.key:
    path: keys/backups-2026.key
  delegate_to: localhost

- name: Rotate every backup to the new key
  ssec.s3.rekey:
    endpoint_url: https://s3.fr-par.scw.cloud
    bucket: backups
    prefix: db/
    old_sse_customer_key: "{{ lookup('ssec.s3.key', 'keys/backups-2025.key') }}"
    sse_customer_key: "{{ lookup('ssec.s3.key', 'keys/backups-2026.key') }}"
  no_log: true  # the task's options hold the keys
  register: rotation

- name: Rotate one object with key files on the host, and encrypt it if it is still plaintext
  ssec.s3.rekey:
    bucket: artifacts
    object: myapp/1.4.2/myapp.tar.gz
    old_sse_customer_key_file: /etc/ssec/old.key
    sse_customer_key_file: /etc/ssec/current.key
    encrypt_plaintext: true

- name: After a leaked key, rotate and delete every old version the leaked key opens
  ssec.s3.rekey:
    bucket: artifacts
    prefix: ""
    old_sse_customer_key_file: /etc/ssec/leaked.key
    sse_customer_key_file: /etc/ssec/current.key
    noncurrent_versions: delete

- name: Report objects under keys nobody has any more, without failing
  ssec.s3.rekey:
    bucket: backups
    prefix: ""
    old_sse_customer_key_file: /etc/ssec/old.key
    sse_customer_key_file: /etc/ssec/current.key
    fail_on_unknown_key: false
  register: rotation

- name: Show them
  ansible.builtin.debug:
    var: rotation.unknown_key
"""

RETURN = r"""
bucket:
  description: Name of the bucket.
  returned: always
  type: str
object:
  description: Name of the object, when O(object) was given.
  returned: when O(object) is given
  type: str
prefix:
  description: The prefix, when O(prefix) was given.
  returned: when O(prefix) is given
  type: str
sse_customer_key_md5:
  description: Fingerprint of the new key (base64 of its MD5), never the key.
  returned: always
  type: str
  sample: 9q2x0JHcgGt2ZqMkq5qiLQ==
old_sse_customer_key_md5:
  description: Fingerprint of the old key.
  returned: always
  type: str
rotated:
  description:
    - Objects re-encrypted with the new key (would be, in check mode), including plaintext objects encrypted with
      O(encrypt_plaintext=true). At most 1000 entries; RV(counts) is exact.
    - C(method) is V(copy) (one CopyObject), V(multipart-copy) (UploadPartCopy) or V(reencrypt-stream) (the data
      streamed through the host - a plaintext object above the threshold, or the server could not copy the
      object). In check mode it is the planned method; the fallback from V(copy) or V(multipart-copy) to
      V(reencrypt-stream) is only known when it happens.
    - C(previous_state) is V(sse-c) for an object under the old key, V(plaintext) or the server-side encryption
      (V(AES256), V(aws:kms)) for an object encrypted with O(encrypt_plaintext=true).
    - C(digest) tells what became of the encrypted content digest - V(resealed) under the new key, V(sealed) (new,
      computed from the data of a plaintext object), V(absent) (the object had none), V(dropped) (it did not open with
      the old key, so it was altered or foreign; the object is then compared by streaming on later runs).
  returned: always
  type: list
  elements: dict
  sample: [{object: db/2026-01-01.sql.gz, size: 73400320, method: copy, previous_state: sse-c, digest: resealed}]
already_rotated:
  description: Objects already encrypted with the new key, left alone. Entries C(object), C(size). At most 1000.
  returned: always
  type: list
  elements: dict
unknown_key:
  description:
    - SSE-C objects encrypted with neither key, never touched. Entries C(object), C(size) (V(null), since an SSE-C
      object answers no HEAD without its key). At most 1000.
  returned: always
  type: list
  elements: dict
plaintext:
  description:
    - Objects not SSE-C encrypted. Entries C(object), C(size), C(encryption) (V(none), or the server-side encryption
      the server reports). Left as they are unless O(encrypt_plaintext=true). At most 1000.
  returned: always
  type: list
  elements: dict
failed_entries:
  description:
    - Objects that could not be rotated, with C(object) and C(error) (and C(size) when known). A failed object is left
      as it was; the task fails after finishing the others. At most 1000.
  returned: always
  type: list
  elements: dict
deleted_versions:
  description:
    - With O(noncurrent_versions=delete), the noncurrent versions deleted because the old key opens them (in check
      mode, that would be deleted - the current versions to rotate included). Entries C(object), C(version_id),
      C(size), C(last_modified). At most 1000; C(counts.deleted_versions) is exact.
    - A version that could not be read or deleted is listed in RV(failed_entries), with its C(version_id).
  returned: when O(noncurrent_versions=delete)
  type: list
  elements: dict
  sample: [{object: db/2026-01-01.sql.gz, version_id: 3sL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY, size: 73400320,
            last_modified: "2026-01-01T03:00:00+00:00"}]
counts:
  description:
    - Exact number of objects in each list; with O(noncurrent_versions=delete), also C(deleted_versions).
  returned: always
  type: dict
  sample: {rotated: 12, already_rotated: 3, unknown_key: 0, plaintext: 1, failed: 0}
truncated:
  description: Whether any list stopped at its cap of 1000 entries.
  returned: always
  type: bool
versioning_note:
  description: A warning that the previous versions of rotated objects keep the old key, when the bucket has versioning.
  returned: when objects were rotated in a bucket with versioning enabled or suspended, with O(noncurrent_versions=keep)
  type: str
msg:
  description: What the task did, in a few sentences.
  returned: always
  type: str
  sample: Rotated 12 objects to the new key; 3 objects already under it.
"""

from ansible_collections.ssec.s3.plugins.module_utils._module import SsecModule, common_option, run_module
from ansible_collections.ssec.s3.plugins.module_utils._rekey_task import rekey


def main():
    module = SsecModule(
        argument_spec={
            "bucket": common_option("bucket"),
            "object": {"type": "str"},
            "prefix": {"type": "str"},
            "encrypt_plaintext": {"type": "bool", "default": False},
            "concurrency": common_option("concurrency"),
            "fail_on_unknown_key": {"type": "bool", "default": True},
            "multipart_copy_threshold_mb": common_option("multipart_copy_threshold_mb"),
            "noncurrent_versions": {"type": "str", "default": "keep", "choices": ["keep", "delete"]},
            "shard": {"type": "str"},
        },
        key_prefixes=("old_",),
        mutually_exclusive=[["object", "prefix"]],
        required_one_of=[["object", "prefix"]],
        supports_check_mode=True,
    )
    run_module(module, lambda: rekey(module))


if __name__ == "__main__":
    main()

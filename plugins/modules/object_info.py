#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: object_info
short_description: Tell whether S3 objects exist, how they are encrypted, and whether a key opens them
version_added: 0.1.0
description:
  - Reads the state of one object without reading its data - existence, encryption (V(none), V(sse-c), or
    the server-side encryption the server reports), whether the given SSE-C key is the one it was written with,
    size, content type, metadata, and the plaintext SHA-256 recovered from the encrypted content digest.
  - The key is optional; without it, an SSE-C object is reported with RV(key_matches=null).
  - With O(prefix), reports every object under the prefix (HEAD requests in parallel, no data read) in RV(objects),
    and how many objects are in each state in RV(counts) - a survey before or after a key rotation with
    M(ssec.s3.rekey).
  - Copes with server differences - the doubled key-MD5 header of SeaweedFS, and servers that answer a key sent
    for an unencrypted object with 400 (AWS, MinIO) or with 200 (SeaweedFS).
author:
  - ssec.s3 contributors (@ssec-s3)
options:
  object:
    description:
      - Name (key) of the object in the bucket.
      - At most 1024 bytes in UTF-8, without a leading or trailing C(/), C(//), a backslash, or a C(.) or C(..) part;
        other names are refused before any request (some servers would store them under another name, keep them
        as empty unencrypted folders, or refuse them).
      - Exactly one of O(object) and O(prefix) is required.
    type: str
  prefix:
    description:
      - Report every object whose name starts with this prefix (no wildcard); V('') means the whole bucket.
      - The single-object return values are then in RV(objects), one entry per object.
      - Without a leading C(/), like object names.
    type: str
  shard:
    description:
      - With O(prefix), survey only a stable share of the objects, given as V(i/n) (1 <= i <= n), so that n hosts
        survey one prefix at once; the n runs V(1/n) ... V(n/n) together report what one run without O(shard) does.
      - The share of an object comes from a hash of its name after O(prefix), the same rule as
        O(ssec.s3.rekey#module:shard) (for the same prefix, the same shares) and O(ssec.s3.sync#module:shard), whose
        examples show how each host gives its number.
      - With O(versions=true), every version and delete marker of a name is in the share of the name.
      - RV(counts), RV(counts_current), RV(counts_noncurrent), RV(counts_by_key) and RV(objects) then cover the
        objects of the share only.
      - The default is every object.
    type: str
  version_id:
    description:
      - With O(object), report this version of the object (on a bucket with versioning) instead of the current one,
        with RV(is_latest) and RV(delete_marker).
      - A version that does not exist is reported with RV(exists=false) and a message that says so.
    type: str
  versions:
    description:
      - With O(prefix), report every version and every delete marker under the prefix, not only the current objects.
        Each entry of RV(objects) then has C(version_id) and C(is_latest); a delete marker has
        C(state=delete_marker). RV(counts_current) and RV(counts_noncurrent) count the current and the noncurrent
        versions apart.
      - This is the survey that tells whether a leaked key still opens anything, old versions included.
      - On a bucket that never had versioning each object has one version (C(version_id=null)); the listing is then
        the plain one, and RV(versioning) and the message say so.
    type: bool
    default: false
  concurrency:
    description:
      - With O(prefix), how many objects are examined at once.
      - On Linux, the names are read 2000 at a time, and 400 names or more are shared between worker processes, one
        per usable CPU core and at most O(concurrency), each examining its share with its own connections.
  known_keys:
    description:
      - With O(prefix), a key inventory - the keys that may open the objects, each under a label, for example the
        keys of past rotations. Each entry of RV(objects) then names the label of the known key that opens it, in
        C(key_label), and RV(counts_by_key) counts the objects of each label - what a rotation still has to do.
      - Each SSE-C object that the task's key does not open gets one HEAD per known key tried, until one opens it.
      - Only labels and fingerprints (key MD5) are returned, never key material.
    type: list
    elements: dict
    suboptions:
      label:
        description: Name of the key in the results (unique).
        type: str
        required: true
      key:
        description: The key, as base64 text. Exactly one of O(known_keys[].key) and O(known_keys[].key_file).
        type: str
      key_file:
        description: Path of a key file on the host the module runs on (raw 32 bytes, base64 text or 64 hex digits).
        type: path
extends_documentation_fragment:
  - ssec.s3.options
  - ssec.s3.options.CONCURRENCY
  - ssec.s3.connection
  - ssec.s3.key
  - ssec.s3.attributes
  - ssec.s3.attributes.ACTION_GROUP
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  idempotent:
    support: full
seealso:
  - module: ssec.s3.object
  - module: ssec.s3.download
  - module: ssec.s3.rekey
"""

EXAMPLES = r"""
- name: Check that a backup is encrypted with the expected key
  ssec.s3.object_info:
    bucket: backups
    object: db/latest.sql.gz
    sse_customer_key_file: /etc/backup/ssec.key
  register: backup

- name: Fail when it is not
  ansible.builtin.assert:
    that:
      - backup.exists
      - backup.encryption == 'sse-c'
      - backup.key_matches

- name: Survey a prefix - which objects does the current key open?
  ssec.s3.object_info:
    bucket: backups
    prefix: db/
    sse_customer_key_file: /etc/backup/ssec.key
  register: survey

- name: Fail when some objects are under another key or not encrypted
  ansible.builtin.assert:
    that:
      - survey.counts.this_key == survey.objects | length
    fail_msg: "{{ survey.objects | rejectattr('state', 'eq', 'this_key') | map(attribute='object') | list }}"

- name: Key inventory - which of the past keys still opens objects?
  ssec.s3.object_info:
    bucket: backups
    prefix: db/
    known_keys:
      - {label: "2025", key_file: /etc/backup/ssec-2025.key}
      - {label: "2026", key_file: /etc/backup/ssec.key}
  register: inventory

- name: Show what a rotation still has to do
  ansible.builtin.debug:
    msg: "{{ inventory.counts_by_key }}"

- name: After a leak - does the leaked key still open any version, old ones included?
  ssec.s3.object_info:
    bucket: backups
    prefix: ""
    versions: true
    sse_customer_key_file: /etc/backup/leaked.key
  register: leaked

- name: Fail while it does
  ansible.builtin.assert:
    that: leaked.counts.this_key == 0
    fail_msg: "{{ leaked.objects | selectattr('state', 'eq', 'this_key') | map(attribute='version_id') | list }}"

- name: Survey a large prefix from every host of the play at once, each host a share of the names
  ssec.s3.object_info:
    bucket: archive
    prefix: 2026/
    shard: "{{ ansible_play_hosts.index(inventory_hostname) + 1 }}/{{ ansible_play_hosts | length }}"
    sse_customer_key_file: /etc/backup/ssec.key
  register: share

- name: Add up the counts of every share
  ansible.builtin.debug:
    msg: "{{ ansible_play_hosts | map('extract', hostvars, ['share', 'counts', 'this_key']) | sum }} objects open with the key"
  run_once: true
"""

RETURN = r"""
bucket:
  description: Name of the bucket.
  returned: always
  type: str
object:
  description: Name of the object.
  returned: when O(object) is given
  type: str
sse_customer_key_md5:
  description: Fingerprint of the key given (base64 of its MD5), or V(null) without a key.
  returned: always
  type: str
exists:
  description: Whether the object exists.
  returned: when O(object) is given
  type: bool
encryption:
  description: V(none), V(sse-c), or the server-side encryption the server reports (V(AES256), V(aws:kms)); V(null) when absent.
  returned: when O(object) is given
  type: str
key_matches:
  description: Whether the key given is the object's SSE-C key; V(null) without a key or for an object that is not SSE-C.
  returned: when O(object) is given
  type: bool
size:
  description: Size in bytes, when the server tells it (V(null) for an SSE-C object asked without its key).
  returned: when O(object) is given
  type: int
content_type:
  description: Content type of the object.
  returned: when O(object) is given
  type: str
last_modified:
  description: Time of the last modification, ISO 8601.
  returned: when O(object) is given
  type: str
storage_class:
  description: Storage class of the object.
  returned: when O(object) is given
  type: str
metadata:
  description: User metadata, without the collection's own encrypted digest entry.
  returned: when O(object) is given
  type: dict
sha256:
  description: SHA-256 of the plaintext, recovered from the encrypted content digest; V(null) when the key does not match or the object has no digest.
  returned: when O(object) is given
  type: str
digest:
  description:
    - State of the encrypted content digest, V(valid), V(invalid) (altered, or sealed under another key),
      V(present) (readable but not checked, from a server that shows the metadata without the key) or V(absent).
    - V(null) when the server shows no metadata, as for an SSE-C object asked without its key or with another
      key (AWS, SeaweedFS and Ceph RGW refuse that HEAD); RV(size) and RV(metadata) are V(null) then too.
  returned: when O(object) is given
  type: str
version_id:
  description:
    - With O(object), the version reported (O(version_id) when given, else the current version); V(null) without
      versioning.
  returned: when O(object) is given
  type: str
is_latest:
  description: Whether the version asked for is the current one.
  returned: when O(version_id) is given
  type: bool
delete_marker:
  description: Whether the version asked for is a delete marker (then RV(exists=false)).
  returned: when O(version_id) is given
  type: bool
versioning:
  description:
    - With O(versions=true), the versioning of the bucket - V(enabled), V(suspended), V(disabled) (never enabled), or
      V(null) when the server does not tell.
  returned: when O(versions=true)
  type: str
counts_current:
  description: With O(versions=true), the counts of RV(counts) for the current versions only (delete markers included).
  returned: when O(versions=true)
  type: dict
  sample: {plaintext: 0, this_key: 12, other_key: 0, sse_c_unknown: 0, other: 0, delete_marker: 1, error: 0}
counts_noncurrent:
  description: With O(versions=true), the counts of RV(counts) for the noncurrent versions only.
  returned: when O(versions=true)
  type: dict
  sample: {plaintext: 0, this_key: 0, other_key: 30, sse_c_unknown: 0, other: 0, delete_marker: 2, error: 0}
prefix:
  description: The prefix, when O(prefix) is given.
  returned: when O(prefix) is given
  type: str
shard:
  description: The share surveyed, as V(i/n); RV(objects) and the counts are those of this share only.
  returned: when O(shard) is given
  type: str
  sample: 2/4
objects:
  description:
    - With O(prefix), one entry per object, in name order - C(object), C(state) (the key of RV(counts) it is counted
      under) and the single-object return values C(exists), C(encryption), C(key_matches), C(size), C(content_type),
      C(last_modified), C(storage_class), C(metadata), C(sha256), C(digest).
    - An object that could not be read has only C(object), C(state=error) and C(error); the task then fails after
      reading the others.
    - With O(versions=true), one entry per version and delete marker, newest first within a name, each with
      C(version_id) and C(is_latest); a delete marker has only C(object), C(version_id), C(is_latest),
      C(last_modified) and C(state=delete_marker).
    - At most 1000 entries (see RV(truncated)); RV(counts) is exact.
  returned: when O(prefix) is given
  type: list
  elements: dict
  sample:
    - object: db/2026-01-01.sql.gz
      state: this_key
      exists: true
      encryption: sse-c
      key_matches: true
      size: 73400320
      sha256: 4f2c7a0d2a5b8e1c9d3f6a7b8c9d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f70819
      digest: valid
counts:
  description:
    - With O(prefix), the number of objects in each state, relative to the key given.
    - V(plaintext) not encrypted; V(this_key) SSE-C with the key given; V(other_key) SSE-C with another key;
      V(sse_c_unknown) SSE-C, no key given; V(other) server-side encryption with server-managed keys (SSE-S3,
      SSE-KMS); V(error) could not be read.
    - With O(versions=true), every version is counted, and delete markers under V(delete_marker).
    - With O(shard), the objects of the share only; the counts of the n shares add up to those of the whole prefix.
  returned: when O(prefix) is given
  type: dict
  sample: {plaintext: 1, this_key: 12, other_key: 2, sse_c_unknown: 0, other: 0, error: 0}
counts_by_key:
  description:
    - With O(known_keys), the number of objects each known key opens, by label (every label, 0 included). Objects
      that no known key opens are counted in RV(counts) only.
    - The entries of RV(objects) then also have C(key_label), the label of the known key that opens the object
      (V(null) for none, and for objects that are not SSE-C), and C(key_md5), its fingerprint.
  returned: when O(known_keys) is given
  type: dict
  sample: {"2025": 3, "2026": 12}
known_keys:
  description: With O(known_keys), each label and the fingerprint (base64 MD5) of its key, in the order given.
  returned: when O(known_keys) is given
  type: list
  elements: dict
  sample: [{label: "2025", key_md5: "nsb4VmLvo8S5WbWYGWdLxQ=="}]
truncated:
  description: With O(prefix), whether RV(objects) stopped at its cap of 1000 entries.
  returned: when O(prefix) is given
  type: bool
msg:
  description: The state in one sentence.
  returned: always
  type: str
"""

from ansible_collections.ssec.s3.plugins.module_utils import _key_inventory as key_inventory
from ansible_collections.ssec.s3.plugins.module_utils._module import SsecModule, common_option, run_module
from ansible_collections.ssec.s3.plugins.module_utils._object_info_prefix import object_info_prefix
from ansible_collections.ssec.s3.plugins.module_utils._object_task import object_info
from ansible_collections.ssec.s3.plugins.module_utils._sync_names import prefix_shard
from ansible_collections.ssec.s3.plugins.module_utils._versions import object_info_versions


def one_object(module):
    prefix_shard(module.params)  # refuses shard, which applies to a prefix only
    return object_info(module)


def main():
    module = SsecModule(
        argument_spec={
            "bucket": common_option("bucket"),
            "object": {"type": "str"},
            "prefix": {"type": "str"},
            "version_id": {"type": "str"},
            "versions": {"type": "bool", "default": False},
            "shard": {"type": "str"},
            "concurrency": common_option("concurrency"),
            **key_inventory.argument_spec(),
        },
        mutually_exclusive=[["object", "prefix"], ["object", "known_keys"], ["version_id", "prefix"]],
        required_one_of=[["object", "prefix"]],
        required_if=[["versions", True, ["prefix"]]],
        supports_check_mode=True,
    )
    if module.params["versions"]:
        run_module(module, lambda: object_info_versions(module))
    if module.params["prefix"] is not None:
        run_module(module, lambda: object_info_prefix(module))
    run_module(module, lambda: one_object(module))


if __name__ == "__main__":
    main()

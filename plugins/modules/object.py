#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: object
short_description: Upload or delete one S3 object encrypted with a customer key (SSE-C)
version_added: 0.1.0
description:
  - Uploads a file or inline content as one object encrypted with an SSE-C key, or deletes an object.
  - Decides C(changed) exactly, without ETags (which say nothing about SSE-C content). Each object written
    carries its plaintext SHA-256 encrypted under a key derived from the SSE-C key, in the user metadata entry
    C(ssec-sha256), so a rerun compares it with the local data without reading the object.
  - An object with the right key but no such digest (written by the aws cli, rclone or a console) is compared
    by streaming it, or by rclone's C(md5chksum) metadata when present.
  - An object encrypted with another key is never replaced unless O(overwrite=always).
  - Large files are uploaded in parallel parts, the key on every part, with a part size that keeps every upload
    within 1000 parts (the Scaleway limit). A failed multipart upload is aborted.
author:
  - ssec.s3 contributors (@ssec-s3)
options:
  state:
    description:
      - V(present) uploads the data when the object is absent or differs.
      - V(absent) deletes the object. An object this key does not open is deleted only with O(force=true).
      - On a bucket with versioning, V(absent) without O(version_id) adds a delete marker (the versions stay); with
        O(version_id) it deletes exactly that version.
    type: str
    default: present
    choices: [present, absent]
  version_id:
    description:
      - With O(state=absent), delete exactly this version of the object (or this delete marker, which makes the
        version before it the current one again) instead of the current object.
      - The same rule as for any delete holds for that version - a version this key does not open is deleted only
        with O(force=true).
      - A version that does not exist (deleted already, or a wrong id) is reported with C(changed=false), nothing
        deleted.
      - Not allowed with O(state=present) - a write always makes a new version; RV(version_id) returns it.
    type: str
  src:
    description:
      - Path of the file to upload, on the host the module runs on.
      - Exactly one of O(src), O(content) and O(content_base64) is needed with O(state=present).
    type: path
  content:
    description: Text to upload (UTF-8). For secrets, put C(no_log=true) on the task.
    type: str
  content_base64:
    description: Binary data to upload, as base64 text.
    type: str
  overwrite:
    description:
      - V(different) uploads when the content, the given O(metadata), O(content_type) or O(storage_class) differ,
        or when the object is not SSE-C encrypted yet. It refuses to replace an object encrypted with another key.
      - V(always) uploads in every case, also over an object encrypted with another key.
      - V(never) never replaces an existing object.
    type: str
    default: different
    choices: [different, always, never]
  metadata:
    description:
      - User metadata of the object. Names are stored lowercase; values as text.
      - S3 sends metadata as HTTP headers, and servers change what HTTP lets them change, which would make every
        run report a change. So names are letters, digits, C(-) and C(.) only (Ceph RGW stores C(_) as C(-)), and
        values non-empty printable ASCII without leading or trailing spaces; other entries are refused before any
        request, with the form to write instead.
      - When given, the object's metadata must equal it; when omitted, metadata is not compared and an upload
        writes none.
      - Metadata is B(not) encrypted by SSE-C. Never put secrets in it.
    type: dict
  content_type:
    description:
      - MIME type of the object. When omitted, it is guessed from the name of O(src), and not compared on reruns.
      - Printable ASCII without spaces at either end, and not empty; other values are refused before any request,
        since servers would store another value (HTTP header rules) and every run would report a change.
    type: str
  storage_class:
    description: Storage class, for example V(STANDARD), V(ONEZONE_IA) or V(GLACIER). When omitted, the bucket's default.
    type: str
  force:
    description: With O(state=absent), also delete an object that this key does not open (or that needs a key when none is given).
    type: bool
    default: false
  concurrency:
    description: How many parts are transferred at once (1 or more).
extends_documentation_fragment:
  - ssec.s3.options
  - ssec.s3.options.OBJECT
  - ssec.s3.options.PART_SIZE
  - ssec.s3.options.CONCURRENCY
  - ssec.s3.connection
  - ssec.s3.key
  - ssec.s3.attributes
  - ssec.s3.attributes.ACTION_GROUP
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  idempotent:
    support: full
notes:
  - With O(state=present) a key is required; with O(state=absent) it is optional.
seealso:
  - module: ssec.s3.download
  - module: ssec.s3.object_info
  - module: ssec.s3.key
"""

EXAMPLES = r"""
- name: Upload a release, encrypted with a key kept on the controller
  ssec.s3.object:
    endpoint_url: https://s3.fr-par.scw.cloud
    bucket: artifacts
    object: myapp/1.4.2/myapp.tar.gz
    src: /srv/build/myapp.tar.gz
    sse_customer_key: "{{ lookup('ssec.s3.key', 'keys/artifacts.key') }}"
  no_log: true  # the task's options hold the key

- name: Upload with a key file on the managed host, on Scaleway
  ssec.s3.object:
    provider: scaleway
    region: fr-par
    bucket: backups
    object: "db/{{ inventory_hostname }}.sql.gz"
    src: /var/backups/db.sql.gz
    sse_customer_key_file: /etc/backup/ssec.key
    metadata:
      host: "{{ inventory_hostname }}"

- name: Delete an object
  ssec.s3.object:
    bucket: artifacts
    object: myapp/1.4.1/myapp.tar.gz
    state: absent
    sse_customer_key_file: /etc/backup/ssec.key

- name: Delete one version of an object in a bucket with versioning
  ssec.s3.object:
    bucket: artifacts
    object: myapp/current.tar.gz
    version_id: "{{ bad_release.version_id }}"
    state: absent
    sse_customer_key_file: /etc/backup/ssec.key
"""

RETURN = r"""
bucket:
  description: Name of the bucket.
  returned: always
  type: str
object:
  description: Name of the object.
  returned: always
  type: str
sse_customer_key_md5:
  description: Fingerprint of the key used (base64 of its MD5), never the key.
  returned: always
  type: str
  sample: 9q2x0JHcgGt2ZqMkq5qiLQ==
previous_state:
  description: What the object was before the task, V(absent), V(plaintext), V(sse-c), or the server-side encryption the server reported.
  returned: always
  type: str
  sample: absent
size:
  description: Size of the uploaded data in bytes.
  returned: when O(state=present)
  type: int
sha256:
  description: SHA-256 of the plaintext data.
  returned: when O(state=present)
  type: str
version_id:
  description:
    - With O(state=present), on a bucket with versioning, the version the task wrote, or the current version when it
      already held the content; V(null) without versioning, and in check mode when an upload would make a new one.
    - With O(state=absent) and O(version_id), the version deleted (or that would be).
  returned: with O(state=present), and with O(version_id)
  type: str
  sample: 3sL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY
parts:
  description: How many parts the upload used (1 for a single request).
  returned: when data was uploaded
  type: int
msg:
  description: What the task did, in one sentence.
  returned: always
  type: str
"""

from ansible_collections.ssec.s3.plugins.module_utils._module import SsecModule, common_option, run_module
from ansible_collections.ssec.s3.plugins.module_utils._object_task import ensure_object


def main():
    module = SsecModule(
        argument_spec={
            "bucket": common_option("bucket"),
            "object": common_option("object"),
            "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
            "src": {"type": "path"},
            "content": {"type": "str"},
            "content_base64": {"type": "str"},
            "overwrite": {"type": "str", "default": "different", "choices": ["different", "always", "never"]},
            "metadata": {"type": "dict"},
            "content_type": {"type": "str"},
            "storage_class": {"type": "str"},
            "force": {"type": "bool", "default": False},
            "version_id": {"type": "str"},
            "part_size_mb": common_option("part_size_mb"),
            "concurrency": common_option("concurrency"),
        },
        mutually_exclusive=[["src", "content", "content_base64"]],
        supports_check_mode=True,
    )
    run_module(module, lambda: ensure_object(module))


if __name__ == "__main__":
    main()

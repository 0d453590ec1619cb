#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: download
short_description: Download one SSE-C encrypted S3 object to a local file, verified
version_added: 0.1.0
description:
  - Downloads an object encrypted with a customer key to O(dest) on the host the module runs on.
  - Exact idempotency without reading data when the object carries the encrypted content digest written by
    M(ssec.s3.object) (compared with the SHA-256 of O(dest)). Objects written by other tools are compared
    by streaming them, or by rclone's C(md5chksum) metadata when present.
  - Never leaves a partial or unverified file at O(dest) - the data goes to a temp file beside it, is checked
    against the stored digest (or size, for objects without one), fsynced and renamed into place.
    A failed run leaves the old O(dest) as it was.
  - Refuses objects that are not SSE-C encrypted, and objects this key does not open.
author:
  - ssec.s3 contributors (@ssec-s3)
options:
  dest:
    description:
      - Path of the local file to write. Its directory must exist.
      - When it exists it must be a regular file (or a symbolic link to one); a FIFO, socket or device node is
        refused before any request.
    type: path
    required: true
  version_id:
    description:
      - Download this version of the object (on a bucket with versioning) instead of the current one - a rollback to
        an earlier release, for example. Find the ids with M(ssec.s3.object_info) (O(ssec.s3.object_info#module:prefix)
        and O(ssec.s3.object_info#module:versions=true)), or take RV(ssec.s3.object#module:version_id) from the
        upload.
      - A version that does not exist, or a delete marker, fails the task before O(dest) is touched.
    type: str
  force:
    description:
      - Replace O(dest) when it exists and differs from the object.
      - V(false) never replaces an existing O(dest); the task then reports C(changed=false).
    type: bool
    default: true
  backup:
    description: Keep a timestamped copy of O(dest) before replacing it.
    type: bool
    default: false
  concurrency:
    description: How many ranges of a large object are downloaded at once (1 or more).
extends_documentation_fragment:
  - ssec.s3.options
  - ssec.s3.options.OBJECT
  - ssec.s3.options.CONCURRENCY
  - ansible.builtin.files
  - ssec.s3.connection
  - ssec.s3.key
  - ssec.s3.attributes
  - ssec.s3.attributes.FILES
  - ssec.s3.attributes.ACTION_GROUP
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  idempotent:
    support: full
  safe_file_operations:
    support: full
seealso:
  - module: ssec.s3.object
  - module: ssec.s3.object_info
"""

EXAMPLES = r"""
- name: Deploy a release, restarting the service only when it changed
  ssec.s3.download:
    bucket: artifacts
    object: myapp/1.4.2/myapp.tar.gz
    dest: /opt/myapp/myapp.tar.gz
    sse_customer_key_file: /etc/myapp/ssec.key
    owner: myapp
    mode: "0640"
  notify: Restart myapp

- name: Roll back - deploy the version of the release written before the current one
  ssec.s3.download:
    bucket: artifacts
    object: myapp/current.tar.gz
    version_id: "{{ previous_release_version }}"
    dest: /opt/myapp/myapp.tar.gz
    sse_customer_key_file: /etc/myapp/ssec.key
  notify: Restart myapp

- name: Fetch a secret file with a key from Ansible Vault
  ssec.s3.download:
    bucket: secrets
    object: tls/server.key
    dest: /etc/ssl/private/server.key
    mode: "0600"
    sse_customer_key: "{{ vault_ssec_key }}"
  no_log: true  # the task's options hold the key
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
dest:
  description: Path of the local file.
  returned: always
  type: str
sse_customer_key_md5:
  description: Fingerprint of the key used (base64 of its MD5), never the key.
  returned: always
  type: str
size:
  description: Size of the object in bytes (also in check mode, where O(dest) may still hold another file).
  returned: always
  type: int
sha256:
  description: SHA-256 of the plaintext (from the stored digest, or computed from the downloaded data).
  returned: when known
  type: str
version_id:
  description: The version downloaded (O(version_id) when given, else the current version); V(null) without versioning.
  returned: always
  type: str
backup_file:
  description: Path of the backup of the replaced O(dest).
  returned: when O(backup=true) and O(dest) was replaced
  type: str
msg:
  description: What the task did, in one sentence.
  returned: always
  type: str
"""

from ansible_collections.ssec.s3.plugins.module_utils._module import SsecModule, common_option, run_module
from ansible_collections.ssec.s3.plugins.module_utils._object_task import ensure_download


def main():
    module = SsecModule(
        argument_spec={
            "bucket": common_option("bucket"),
            "object": common_option("object"),
            "dest": {"type": "path", "required": True},
            "version_id": {"type": "str"},
            "force": {"type": "bool", "default": True},
            "backup": {"type": "bool", "default": False},
            "concurrency": common_option("concurrency"),
        },
        add_file_common_args=True,
        supports_check_mode=True,
    )
    run_module(module, lambda: ensure_download(module))


if __name__ == "__main__":
    main()

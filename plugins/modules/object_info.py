#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: object_info
short_description: Tell whether an S3 object exists, how it is encrypted, and whether a key opens it
version_added: 0.1.0
description:
  - Reads the state of one object without reading its data - existence, encryption (V(none), V(sse-c), or
    the server-side encryption the server reports), whether the given SSE-C key is the one it was written with,
    size, content type, metadata, and the plaintext SHA-256 recovered from the encrypted content digest.
  - The key is optional; without it, an SSE-C object is reported with RV(key_matches=null).
  - Copes with server differences - the doubled key-MD5 header of SeaweedFS, and servers that answer a key sent
    for an unencrypted object with 400 (AWS, MinIO) or with 200 (SeaweedFS).
author:
  - ssec.s3 contributors
options:
  bucket:
    description: Name of the bucket.
    type: str
    required: true
  object:
    description: Name (key) of the object in the bucket.
    type: str
    required: true
extends_documentation_fragment:
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
  description: Fingerprint of the key given (base64 of its MD5), or V(null) without a key.
  returned: always
  type: str
exists:
  description: Whether the object exists.
  returned: always
  type: bool
encryption:
  description: V(none), V(sse-c), or the server-side encryption the server reports (V(AES256), V(aws:kms)); V(null) when absent.
  returned: always
  type: str
key_matches:
  description: Whether the key given is the object's SSE-C key; V(null) without a key or for an object that is not SSE-C.
  returned: always
  type: bool
size:
  description: Size in bytes, when the server tells it.
  returned: always
  type: int
content_type:
  description: Content type of the object.
  returned: always
  type: str
last_modified:
  description: Time of the last modification, ISO 8601.
  returned: always
  type: str
storage_class:
  description: Storage class of the object.
  returned: always
  type: str
metadata:
  description: User metadata, without the collection's own encrypted digest entry.
  returned: always
  type: dict
sha256:
  description: SHA-256 of the plaintext, recovered from the encrypted content digest; V(null) when the key does not match or the object has no digest.
  returned: always
  type: str
digest:
  description:
    - State of the encrypted content digest, V(valid), V(invalid) (altered, or sealed under another key),
      V(present) (not checked without the key) or V(absent).
  returned: always
  type: str
msg:
  description: The state in one sentence.
  returned: always
  type: str
"""

from ansible_collections.ssec.s3.plugins.module_utils.module import SsecModule, run_module
from ansible_collections.ssec.s3.plugins.module_utils.object_task import object_info


def main():
    module = SsecModule(
        argument_spec={
            "bucket": {"type": "str", "required": True},
            "object": {"type": "str", "required": True},
        },
        supports_check_mode=True,
    )
    run_module(module, lambda: object_info(module))


if __name__ == "__main__":
    main()

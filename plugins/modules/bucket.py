#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: bucket
short_description: Create, prepare for SSE-C objects, or delete an empty S3 bucket
version_added: 0.1.0
description:
  - Creates a bucket (O(state=present)) and sets what a bucket of SSE-C objects needs - versioning, a lifecycle rule
    that aborts incomplete multipart uploads, a policy statement that refuses writes without an SSE-C key, and
    (AWS) whether SSE-C writes are allowed at all; or deletes an empty bucket (O(state=absent)).
  - Every other lifecycle rule and policy statement of the bucket is kept; the module manages only its own rule
    (id C(ssec-abort-incomplete-uploads)) and its own statement (Sid C(SsecRequireSseC)).
  - Options left unset leave that setting as it is.
  - Servers differ; what each tested server does is in the collection's C(docs/backends.md).
author:
  - ssec.s3 contributors (@ssec-s3)
options:
  state:
    description:
      - V(present) creates the bucket when it does not exist and applies the options below.
      - V(absent) deletes the bucket, only when it is empty (no object, object version, delete marker or
        multipart upload in progress). A bucket that is not empty fails the task and is left as it is - the
        module never deletes objects.
    type: str
    choices: [present, absent]
    default: present
  versioning:
    description:
      - V(enabled) keeps every version of every object (a rollback after a bad upload or key rotation);
        V(suspended) stops keeping new versions (the existing ones stay).
      - A bucket that never kept versions already satisfies V(suspended).
    type: str
    choices: [enabled, suspended]
  abort_incomplete_uploads_days:
    description:
      - Abort multipart uploads still incomplete this many days after they started (their parts are stored and
        billed until then), through a lifecycle rule of the whole bucket with the id C(ssec-abort-incomplete-uploads).
      - The bucket's other rules are kept. A rule of that id that the module did not write (with a filter, or
        other actions) fails the task, and nothing is changed.
      - V(0) removes the module's rule.
    type: int
  require_sse_c:
    description:
      - V(true) adds to the bucket policy a statement (Sid C(SsecRequireSseC)) that refuses every write without an
        SSE-C key (single, multipart and copy writes); V(false) removes it. The bucket's other statements are kept.
      - After adding it, the module checks that it works as meant with two probe writes, one without a key (must be
        refused) and one with a throwaway key (must succeed), both deleted at once (by version on a versioned bucket).
        A server that refuses both (Ceph RGW 16.2 does not evaluate the condition key) gets its policy back as it
        was, and the task fails saying so.
      - A policy that is not JSON fails the task, and nothing is changed.
    type: bool
  sse_c_writes:
    description:
      - Whether the bucket accepts SSE-C writes, through C(BlockedEncryptionTypes) of its default encryption
        configuration (AWS; the existing default encryption rule is kept). Since April 2026 new AWS buckets block
        them (403 AccessDenied, even with the right key).
      - Unset, a bucket whose configuration says SSE-C writes are blocked gets them allowed (the module prepares a
        bucket for SSE-C objects); anything else is left as it is.
      - Servers without this setting (Ceph RGW 16.2 refuses PutBucketEncryption, SeaweedFS 4.48 does not keep the
        field) fail the task when the option is set, and nothing is changed.
    type: str
    choices: [allowed, blocked]
extends_documentation_fragment:
  - ssec.s3.options
  - ssec.s3.connection
  - ssec.s3.attributes
  - ssec.s3.attributes.ACTION_GROUP
attributes:
  check_mode:
    support: full
    details:
      - The probe writes of O(require_sse_c) are not made; a server that would fail them fails only the real run.
      - Likewise a server that does not keep O(sse_c_writes) (it reports nothing) is found out by the real run only.
  diff_mode:
    support: full
  idempotent:
    support: full
seealso:
  - module: ssec.s3.bucket_info
  - module: ssec.s3.object
"""

EXAMPLES = r"""
- name: A bucket for encrypted artifacts - versions kept, stale uploads aborted, writes without a key refused
  ssec.s3.bucket:
    bucket: artifacts
    versioning: enabled
    abort_incomplete_uploads_days: 7
    require_sse_c: true

- name: On AWS, allow SSE-C writes in a bucket created since April 2026
  ssec.s3.bucket:
    bucket: my-artifacts
    region: eu-west-3
    sse_c_writes: allowed

- name: Delete a bucket once it is empty
  ssec.s3.bucket:
    bucket: old-artifacts
    state: absent
"""

RETURN = r"""
bucket:
  description: Name of the bucket.
  returned: always
  type: str
bucket_info:
  description:
    - The bucket after the task (in check mode, as it would be), with the return values of M(ssec.s3.bucket_info) -
      C(exists), C(versioning), C(abort_incomplete_uploads_days), C(require_sse_c), C(sse_c_writes).
  returned: always
  type: dict
  sample:
    exists: true
    versioning: enabled
    abort_incomplete_uploads_days: 7
    require_sse_c: true
    sse_c_writes: unknown
msg:
  description: What was (or would be) changed, in one sentence.
  returned: always
  type: str
"""

from ansible_collections.ssec.s3.plugins.module_utils._bucket_task import bucket
from ansible_collections.ssec.s3.plugins.module_utils._module import SsecModule, common_option, run_module


def main():
    module = SsecModule(
        argument_spec={
            "bucket": common_option("bucket"),
            "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
            "versioning": {"type": "str", "choices": ["enabled", "suspended"]},
            "abort_incomplete_uploads_days": {"type": "int"},
            "require_sse_c": {"type": "bool"},
            "sse_c_writes": {"type": "str", "choices": ["allowed", "blocked"]},
        },
        key=False,
        supports_check_mode=True,
    )
    run_module(module, lambda: bucket(module))


if __name__ == "__main__":
    main()

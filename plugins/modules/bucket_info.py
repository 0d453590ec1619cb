#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: bucket_info
short_description: Tell whether an S3 bucket is ready for SSE-C objects
version_added: 0.1.0
description:
  - Reads what M(ssec.s3.bucket) sets - whether the bucket exists, its versioning, the days after which its own
    lifecycle rule aborts incomplete uploads, whether its policy refuses writes without an SSE-C key, and whether
    SSE-C writes are allowed as far as the server says.
  - Changes nothing; with O(probe=true) it writes and deletes two small probe objects to find out what the server
    really does.
author:
  - ssec.s3 contributors (@ssec-s3)
options:
  probe:
    description:
      - Write a probe object without a key and one with a throwaway SSE-C key (each deleted at once, by version on a
        versioned bucket), and report what the server answered in RV(probes).
      - When the server does not say whether SSE-C writes are blocked, RV(sse_c_writes) is then what the probe found.
      - Not in check mode.
    type: bool
    default: false
extends_documentation_fragment:
  - ssec.s3.options
  - ssec.s3.connection
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
  - module: ssec.s3.bucket
"""

EXAMPLES = r"""
- name: Is the bucket ready for SSE-C objects?
  ssec.s3.bucket_info:
    bucket: artifacts
  register: artifacts_bucket

- name: Fail when writes without a key are not refused
  ansible.builtin.assert:
    that:
      - artifacts_bucket.exists
      - artifacts_bucket.require_sse_c
      - artifacts_bucket.sse_c_writes != 'blocked'
"""

RETURN = r"""
bucket:
  description: Name of the bucket.
  returned: always
  type: str
exists:
  description: Whether the bucket exists. A bucket of another account fails the task (HTTP 403).
  returned: always
  type: bool
versioning:
  description: V(enabled), V(suspended), or V(disabled) (never enabled); V(null) when the bucket does not exist.
  returned: always
  type: str
abort_incomplete_uploads_days:
  description:
    - Days after which the lifecycle rule C(ssec-abort-incomplete-uploads) aborts incomplete multipart uploads;
      V(null) without that rule (other rules are not counted), or when it is disabled or not one M(ssec.s3.bucket)
      wrote.
  returned: always
  type: int
require_sse_c:
  description:
    - Whether the bucket policy holds the statement C(SsecRequireSseC) that refuses writes without an SSE-C key.
    - V(null) when the policy is not JSON (a warning says so) or the bucket does not exist.
  returned: always
  type: bool
sse_c_writes:
  description:
    - V(allowed) or V(blocked) as the bucket's default encryption configuration says (C(BlockedEncryptionTypes),
      AWS); V(unknown) when the server keeps no such setting (SeaweedFS, Ceph RGW).
    - With O(probe=true) and a server that says nothing, what the probe write with a key found.
  returned: always
  type: str
probes:
  description:
    - With O(probe=true), what the server did with the probe writes - C(plain_write) and C(sse_c_write), each
      V(allowed) or V(refused), and C(plain_write_answer) / C(sse_c_write_answer), the refusal (HTTP status and
      error code) or V(null).
  returned: when O(probe=true), the bucket exists and not in check mode
  type: dict
  sample: {plain_write: refused, sse_c_write: allowed, plain_write_answer: "HTTP 403 AccessDenied", sse_c_write_answer: null}
msg:
  description: The state in one sentence.
  returned: always
  type: str
"""

from ansible_collections.ssec.s3.plugins.module_utils._bucket_task import bucket_info
from ansible_collections.ssec.s3.plugins.module_utils._module import SsecModule, common_option, run_module


def main():
    module = SsecModule(
        argument_spec={
            "bucket": common_option("bucket"),
            "probe": {"type": "bool", "default": False},
        },
        key=False,
        supports_check_mode=True,
    )
    run_module(module, lambda: bucket_info(module))


if __name__ == "__main__":
    main()

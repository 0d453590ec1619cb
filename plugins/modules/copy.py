#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: copy
short_description: Copy SSE-C objects server-side to another bucket, name and key (promotion)
version_added: 0.1.0
description:
  - Copies one object (O(source_object), optionally one version of it) or every object under a prefix
    (O(source_prefix)) from O(source_bucket) to O(bucket). The server decrypts with the source key and encrypts
    with the destination key; the data does not travel through the host where the server can copy SSE-C objects.
  - Idempotent through the encrypted content digest (C(ssec-sha256)) - the source's opens with the source key, the
    destination's with the destination key, and when both are known and equal (with the same metadata and content
    type) nothing is copied and no data is read. A source without a digest (written by another tool) is read once
    to compute its SHA-256. The copy gets the source's digest sealed under the destination key, so M(ssec.s3.object),
    M(ssec.s3.download) and later copies recognise it.
  - What may be replaced at the destination is the rule of M(ssec.s3.object) - an object under another SSE-C key is
    never replaced unless O(overwrite=always) (with O(source_object) the task fails; with O(source_prefix) it is
    listed in RV(skipped_entries) with a warning); a plaintext or SSE-S3 object is replaced.
  - The user metadata, content type, C(Cache-Control), C(Content-Disposition), C(Content-Encoding),
    C(Content-Language), storage class and tags of the source are carried over; O(metadata) and O(content_type)
    replace the first two.
  - Objects up to O(multipart_copy_threshold_mb) are copied with one CopyObject, larger ones by a multipart copy
    (UploadPartCopy with the source key on every part; a failed one is aborted). Servers that cannot copy from an
    SSE-C source get a streamed copy instead, as M(ssec.s3.rekey) does - ranged GETs with the source key, upload
    with the destination key, bounded memory, nothing on disk (SeaweedFS refuses UploadPartCopy from an SSE-C source;
    Ceph RGW refuses CopyObject and UploadPartCopy from one). RV(method) says which way each object went.
  - Each copy is conditional on the ETag seen by the HEAD that decided it, and verified by a HEAD under the
    destination key (same size, digest opens with the destination key).
  - The source must be SSE-C encrypted; plaintext objects are refused (upload them with M(ssec.s3.object)). Copying
    an object onto itself is refused; M(ssec.s3.rekey) re-encrypts objects in place.
author:
  - ssec.s3 contributors (@ssec-s3)
options:
  bucket:
    description: Name of the destination bucket.
  object:
    description:
      - Name of the destination object, with O(source_object). Default is the name of the source object.
      - At most 1024 bytes in UTF-8, without a leading or trailing C(/), C(//), a backslash, or a C(.) or C(..) part.
    type: str
  prefix:
    description:
      - With O(source_prefix), the prefix of the copies. Each copy is named O(prefix) followed by what follows
        O(source_prefix) in the name of its source (V(releases/) from V(staging/) makes V(staging/a/b) into
        V(releases/a/b)). Default is O(source_prefix).
      - In the same bucket, O(prefix) and O(source_prefix) may not contain each other.
    type: str
  source_bucket:
    description: Bucket of the source. Default is O(bucket).
    type: str
  source_object:
    description:
      - Name of the one object to copy. It must exist and be SSE-C encrypted under the source key.
      - Exactly one of O(source_object) and O(source_prefix) is required.
    type: str
  source_version_id:
    description:
      - Copy this version of O(source_object) (in a bucket with versioning) instead of its current version.
      - With a version, the source may be the destination object itself - copying an older version over the current
        one restores it.
    type: str
  source_prefix:
    description:
      - Copy every object whose name starts with this prefix (no wildcard); V('') means the whole bucket.
      - Exactly one of O(source_object) and O(source_prefix) is required.
    type: str
  source_sse_customer_key:
    description:
      - The key the source is encrypted with, as base64 text (the base64 of 32 random bytes).
      - Without O(source_sse_customer_key) and O(source_sse_customer_key_file), the destination key is used for the
        source too.
    type: str
  source_sse_customer_key_file:
    description:
      - Path of the file holding the source key, on the host the module runs on, in any form O(sse_customer_key_file)
        accepts (32 raw bytes, base64 text or 64 hexadecimal digits).
      - Mutually exclusive with O(source_sse_customer_key).
    type: path
  source_sse_customer_key_md5:
    description:
      - The expected fingerprint of the source key (base64 of its binary MD5); a key that does not match is refused
        before any request.
    type: str
  source_sse_customer_algorithm:
    description: The SSE-C algorithm of the source key. S3 defines only V(AES256).
    type: str
    default: AES256
    choices: [AES256]
  overwrite:
    description:
      - V(different) copies when the destination is missing or differs (content, metadata or content type), or is
        not SSE-C encrypted; V(always) copies every time, also over an object under another SSE-C key; V(never)
        copies only to a missing destination.
    type: str
    default: different
    choices: [different, always, never]
  metadata:
    description:
      - User metadata of the copy, instead of the source's. Names are stored in lowercase; C(ssec-sha256) is
        reserved for the content digest.
      - Omitted, the source's user metadata is carried over, and compared on reruns.
    type: dict
  content_type:
    description:
      - Content type of the copy, instead of the source's, compared on reruns.
      - Omitted, the source's content type is carried over but not compared on reruns (some servers store
        V(application/octet-stream) as a type guessed from the name).
    type: str
  concurrency:
    description:
      - How many objects are examined and copied at once; for a multipart copy, how many parts are in flight.
extends_documentation_fragment:
  - ssec.s3.options
  - ssec.s3.options.CONCURRENCY
  - ssec.s3.options.MULTIPART_COPY_THRESHOLD
  - ssec.s3.connection
  - ssec.s3.key
  - ssec.s3.attributes
  - ssec.s3.attributes.ACTION_GROUP
attributes:
  check_mode:
    support: full
    details:
      - Decides from HEADs like a real run and writes nothing. A source without a content digest is read to compare
        it with an existing destination, as in a real run.
      - The fallback from V(copy) or V(multipart-copy) to V(reencrypt-stream) is only known when it happens.
  diff_mode:
    support: full
    details: Shows the destination before and after (encryption, key fingerprint, size, SHA-256); never key material.
  idempotent:
    support: full
notes:
  - The destination key is given with the usual key options (O(sse_customer_key), O(sse_customer_key_file)); the
    source key with the same options prefixed by C(source_).
  - The ACL of an object is not copied (S3 copies never keep it).
  - With O(source_prefix), the list of objects is taken once at the start. Ansible reads result keys named
    C(skipped) and C(failed) as task flags, so those lists are RV(skipped_entries) and RV(failed_entries);
    RV(counts) keeps the short names. A failed object leaves its destination as it was; the task fails after
    finishing the others.
seealso:
  - module: ssec.s3.rekey
  - module: ssec.s3.object_info
"""

EXAMPLES = r"""
- name: Promote a tested release from staging to production, which has its own key
  ssec.s3.copy:
    source_bucket: artifacts-staging
    source_object: myapp/1.4.2/myapp.tar.gz
    source_sse_customer_key_file: /etc/ssec/staging.key
    bucket: artifacts-production
    sse_customer_key_file: /etc/ssec/production.key

- name: Promote a whole release directory
  ssec.s3.copy:
    source_bucket: artifacts-staging
    source_prefix: myapp/1.4.2/
    source_sse_customer_key: "{{ lookup('ssec.s3.key', 'keys/staging.key') }}"
    bucket: artifacts-production
    sse_customer_key: "{{ lookup('ssec.s3.key', 'keys/production.key') }}"
  no_log: true  # the task's options hold the keys
  register: promotion

- name: Restore an earlier version of an object as its current version
  ssec.s3.copy:
    bucket: artifacts-production
    source_object: myapp/current.tar.gz
    source_version_id: 3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY
    sse_customer_key_file: /etc/ssec/production.key
"""

RETURN = r"""
bucket:
  description: Name of the destination bucket.
  returned: always
  type: str
object:
  description: Name of the destination object.
  returned: with O(source_object)
  type: str
prefix:
  description: The destination prefix.
  returned: with O(source_prefix)
  type: str
source_bucket:
  description: Name of the source bucket.
  returned: always
  type: str
source_object:
  description: Name of the source object.
  returned: with O(source_object)
  type: str
source_version_id:
  description: The version of the source that was copied, when O(source_version_id) was given.
  returned: when O(source_version_id) is given
  type: str
source_prefix:
  description: The source prefix.
  returned: with O(source_prefix)
  type: str
sse_customer_key_md5:
  description: Fingerprint of the destination key (base64 of its MD5), never the key.
  returned: always
  type: str
  sample: 9q2x0JHcgGt2ZqMkq5qiLQ==
source_sse_customer_key_md5:
  description: Fingerprint of the source key.
  returned: always
  type: str
method:
  description:
    - How the object was copied (would be, in check mode) - V(copy) (one CopyObject), V(multipart-copy)
      (UploadPartCopy) or V(reencrypt-stream) (the data streamed through the host, as the server could not copy
      it); V(null) when nothing was copied.
  returned: with O(source_object)
  type: str
  sample: copy
sha256:
  description: Plaintext SHA-256 of the object, when known (from the content digests, or read from the source).
  returned: with O(source_object)
  type: str
size:
  description: Size of the source object in bytes.
  returned: with O(source_object)
  type: int
previous_state:
  description: What the destination was before - V(absent), V(sse-c), V(plaintext), or the server-side encryption.
  returned: with O(source_object)
  type: str
version_id:
  description: The version id the copy got, when the destination bucket keeps versions.
  returned: with O(source_object), when an object was copied into a bucket with versioning
  type: str
copied:
  description:
    - Objects copied (would be, in check mode), each with C(object) (destination name), C(source_object), C(size),
      C(method) and C(previous_state) as above. At most 1000 entries; RV(counts) is exact.
  returned: with O(source_prefix)
  type: list
  elements: dict
unchanged:
  description: Objects whose destination already held the same content (C(object), C(source_object), C(size)).
  returned: with O(source_prefix)
  type: list
  elements: dict
skipped_entries:
  description:
    - Objects not copied, with C(object), C(source_object) and C(reason) - the destination is under another SSE-C key,
      or exists with O(overwrite=never). At most 1000.
  returned: with O(source_prefix)
  type: list
  elements: dict
failed_entries:
  description:
    - Objects that could not be copied, with C(object), C(source_object), C(error) - the source key does not open the
      source, the source is not SSE-C encrypted, or a request failed. At most 1000.
  returned: with O(source_prefix)
  type: list
  elements: dict
counts:
  description: Exact number of objects in each list.
  returned: with O(source_prefix)
  type: dict
  sample: {copied: 12, unchanged: 3, skipped: 0, failed: 0}
truncated:
  description: Whether any list stopped at its cap of 1000 entries.
  returned: with O(source_prefix)
  type: bool
msg:
  description: What the task did.
  returned: always
  type: str
  sample: Copied the object.
"""

from ansible_collections.ssec.s3.plugins.module_utils._copy_task import copy
from ansible_collections.ssec.s3.plugins.module_utils._module import SsecModule, common_option, run_module


def main():
    module = SsecModule(
        argument_spec={
            "bucket": common_option("bucket"),
            "object": {"type": "str"},
            "prefix": {"type": "str"},
            "source_bucket": {"type": "str"},
            "source_object": {"type": "str"},
            "source_version_id": {"type": "str"},
            "source_prefix": {"type": "str"},
            "overwrite": {"type": "str", "default": "different", "choices": ["different", "always", "never"]},
            "metadata": {"type": "dict"},
            "content_type": {"type": "str"},
            "concurrency": common_option("concurrency"),
            "multipart_copy_threshold_mb": common_option("multipart_copy_threshold_mb"),
        },
        key_prefixes=("source_",),
        mutually_exclusive=[["source_object", "source_prefix"], ["object", "prefix"]],
        required_one_of=[["source_object", "source_prefix"]],
        supports_check_mode=True,
    )
    run_module(module, lambda: copy(module))


if __name__ == "__main__":
    main()

# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # Options several modules share, written once so their docs cannot drift apart. The argument specs
    # they document come from module_utils/_module.py (common_option).

    # The bucket, for every module that works on objects.
    DOCUMENTATION = r"""
options:
  bucket:
    description: Name of the bucket.
    type: str
    required: true
"""

    # The one object a task reads or writes (ssec.s3.object, ssec.s3.download).
    OBJECT = r"""
options:
  object:
    description:
      - Name (key) of the object in the bucket.
      - At most 1024 bytes in UTF-8, without a leading or trailing C(/), C(//), a backslash, or a C(.) or C(..) part;
        other names are refused before any request (some servers would store them under another name, keep them
        as empty unencrypted folders, or refuse them).
    type: str
    required: true
"""

    # The part size of uploads (ssec.s3.object, ssec.s3.sync).
    PART_SIZE = r"""
options:
  part_size_mb:
    description:
      - Smallest part size of a multipart upload, in MiB. Files larger than one part are uploaded in parts.
      - The part size grows with the file so that no upload needs more than 1000 parts.
      - 1 or more; values under S3's minimum part size of 5 MiB count as 5.
    type: int
    default: 8
"""

    # How much runs at once. What runs in parallel differs by module: each module's own description of
    # concurrency replaces this one, and the type, default and lower bound stay here.
    CONCURRENCY = r"""
options:
  concurrency:
    description: How many transfers run at once (1 or more).
    type: int
    default: 8
"""

    # When a server-side rewrite goes in parts (ssec.s3.rekey, ssec.s3.copy).
    MULTIPART_COPY_THRESHOLD = r"""
options:
  multipart_copy_threshold_mb:
    description:
      - Objects larger than this many MiB are rewritten in parts (UploadPartCopy) instead of with one CopyObject.
      - CopyObject copies at most 5 GiB, so V(5120) is also the largest value accepted.
    type: int
    default: 5120
"""

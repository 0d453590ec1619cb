# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # The SSE-C key option group, shared by every module that reads or writes objects.
    DOCUMENTATION = r"""
options:
  sse_customer_key:
    description:
      - The SSE-C key as base64 text (the base64 of 32 random bytes).
      - Read it from a key file on the controller with the P(ssec.s3.key#lookup) lookup, or from Ansible Vault.
      - Mutually exclusive with O(sse_customer_key_file).
    type: str
  sse_customer_key_file:
    description:
      - Path of a key file on the host the module runs on.
      - The file may hold the 32 raw bytes (as C(openssl rand -out FILE 32) writes them), their base64 text,
        or 64 hexadecimal digits.
      - Mutually exclusive with O(sse_customer_key).
    type: path
  sse_customer_key_md5:
    description:
      - The expected fingerprint of the key, the base64 of its binary MD5
        (what C(openssl dgst -md5 -binary KEYFILE | base64) prints, and what RV(sse_customer_key_md5) returns).
      - When given, a key that does not match is refused before any request is made.
    type: str
  sse_customer_algorithm:
    description: The SSE-C algorithm. S3 defines only V(AES256).
    type: str
    default: AES256
    choices: [AES256]
"""

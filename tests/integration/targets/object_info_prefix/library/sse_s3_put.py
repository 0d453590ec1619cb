#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""CI-only helper of the object_info_prefix target: put an object with server-managed encryption (SSE-S3).

s3_probe puts plaintext or SSE-C objects only. Uses boto3 directly, no code of the collection under test.
"""

from __future__ import annotations

DOCUMENTATION = r"""
module: sse_s3_put
short_description: Put an object encrypted with SSE-S3 for the object_info_prefix integration tests
description:
  - Puts text as one object with C(ServerSideEncryption=AES256), with boto3 directly.
options:
  endpoint_url:
    description: S3 endpoint.
    type: str
    required: true
  ca_bundle:
    description: CA bundle for TLS verification.
    type: path
  access_key:
    description: Access key.
    type: str
    required: true
  secret_key:
    description: Secret key.
    type: str
    required: true
  region:
    description: Region.
    type: str
    default: us-east-1
  bucket:
    description: Bucket.
    type: str
    required: true
  object:
    description: Object name.
    type: str
    required: true
  content:
    description: Text to put.
    type: str
    required: true
author:
  - ssec.s3 contributors
"""

EXAMPLES = r"""
- name: Put an SSE-S3 object
  sse_s3_put:
    endpoint_url: https://127.0.0.1:9000
    access_key: AK
    secret_key: SK
    bucket: b
    object: o
    content: hello
"""

RETURN = r"""
server_side_encryption:
  description: What the server reports for the object after the put.
  type: str
  returned: always
"""

from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(
        argument_spec={
            "endpoint_url": {"type": "str", "required": True},
            "ca_bundle": {"type": "path"},
            "access_key": {"type": "str", "required": True, "no_log": False},
            "secret_key": {"type": "str", "required": True, "no_log": True},
            "region": {"type": "str", "default": "us-east-1"},
            "bucket": {"type": "str", "required": True},
            "object": {"type": "str", "required": True},
            "content": {"type": "str", "required": True},
        },
    )
    import boto3
    from botocore.config import Config

    params = module.params
    config = Config(region_name=params["region"], signature_version="s3v4", s3={"addressing_style": "path"},
                    request_checksum_calculation="when_required", response_checksum_validation="when_required")
    client = boto3.client("s3", endpoint_url=params["endpoint_url"], aws_access_key_id=params["access_key"],
                          aws_secret_access_key=params["secret_key"], verify=params["ca_bundle"] or True, config=config)
    client.put_object(Bucket=params["bucket"], Key=params["object"], Body=params["content"].encode("utf-8"),
                      ServerSideEncryption="AES256")
    head = client.head_object(Bucket=params["bucket"], Key=params["object"])
    module.exit_json(changed=True, server_side_encryption=head.get("ServerSideEncryption"))


if __name__ == "__main__":
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""CI-only helper: bucket settings read and arranged with boto3 directly, independent of ssec.s3."""

from __future__ import annotations

DOCUMENTATION = r"""
module: bucket_probe
short_description: Independent view of a bucket for the integration tests of ssec.s3.bucket
description:
  - Reads a bucket's versioning, lifecycle rules, policy and default encryption; sets lifecycle rules and policies;
    creates and deletes buckets (with all their versions); writes and deletes objects with or without an SSE-C key.
  - Never imports anything from the collection under test.
options:
  action:
    description: What to do.
    type: str
    required: true
    choices: [read, create, delete, put_lifecycle, put_policy, put_object, delete_object, list_versions]
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
    description: Object name for put_object and delete_object.
    type: str
  sse_c:
    description: With put_object, write with a fresh random SSE-C key.
    type: bool
    default: false
  rules:
    description: Lifecycle rules for put_lifecycle, as the S3 API takes them.
    type: list
    elements: dict
  policy:
    description: Policy document for put_policy.
    type: dict
author:
  - ssec.s3 contributors
"""

EXAMPLES = r"""
- name: Read a bucket's settings
  bucket_probe:
    action: read
    endpoint_url: https://127.0.0.1:9000
    access_key: AK
    secret_key: SK
    bucket: b
"""

RETURN = r"""
exists:
  description: Whether HeadBucket answered 200.
  type: bool
  returned: read
head_status:
  description: HTTP status of HeadBucket.
  type: int
  returned: read
versioning:
  description: Status of GetBucketVersioning (C(Enabled), C(Suspended) or empty).
  type: str
  returned: read
rules:
  description: Lifecycle rules (empty list when none).
  type: list
  returned: read
policy:
  description: The policy document parsed, or null.
  type: dict
  returned: read
encryption:
  description: The default encryption configuration as answered, or the error code.
  type: raw
  returned: read
versions:
  description: Object versions and delete markers.
  type: list
  returned: list_versions
status:
  description: HTTP status of put_object.
  type: int
  returned: put_object
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule


def _client(params):
    import boto3
    from botocore.config import Config

    config = Config(region_name=params["region"], signature_version="s3v4", s3={"addressing_style": "path"},
                    retries={"mode": "standard", "total_max_attempts": 3},
                    request_checksum_calculation="when_required", response_checksum_validation="when_required")
    return boto3.client("s3", endpoint_url=params["endpoint_url"], aws_access_key_id=params["access_key"],
                        aws_secret_access_key=params["secret_key"], verify=params["ca_bundle"] or True, config=config)


def _error(exc):
    return exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode"), exc.response.get("Error", {}).get("Code")


def _versions(client, bucket):
    found = []
    for page in client.get_paginator("list_object_versions").paginate(Bucket=bucket):
        for item in page.get("Versions", []) + page.get("DeleteMarkers", []):
            found.append({"object": item["Key"], "version_id": item["VersionId"]})
    return found


def _read(client, bucket):
    from botocore.exceptions import ClientError

    result = {}
    try:
        client.head_bucket(Bucket=bucket)
        result.update(exists=True, head_status=200)
    except ClientError as exc:
        result.update(exists=False, head_status=_error(exc)[0])
        return result
    result["versioning"] = client.get_bucket_versioning(Bucket=bucket).get("Status", "")
    try:
        result["rules"] = client.get_bucket_lifecycle_configuration(Bucket=bucket).get("Rules", [])
    except ClientError as exc:
        result["rules"] = [] if _error(exc)[1] == "NoSuchLifecycleConfiguration" else _error(exc)
    try:
        result["policy"] = json.loads(client.get_bucket_policy(Bucket=bucket)["Policy"])
    except ClientError as exc:
        result["policy"] = None if _error(exc)[1] == "NoSuchBucketPolicy" else _error(exc)
    try:
        result["encryption"] = client.get_bucket_encryption(Bucket=bucket).get("ServerSideEncryptionConfiguration")
    except ClientError as exc:
        result["encryption"] = _error(exc)[1]
    return result


def main():
    module = AnsibleModule(
        argument_spec={
            "action": {"type": "str", "required": True,
                       "choices": ["read", "create", "delete", "put_lifecycle", "put_policy", "put_object",
                                   "delete_object", "list_versions"]},
            "endpoint_url": {"type": "str", "required": True},
            "ca_bundle": {"type": "path"},
            "access_key": {"type": "str", "required": True, "no_log": False},
            "secret_key": {"type": "str", "required": True, "no_log": True},
            "region": {"type": "str", "default": "us-east-1"},
            "bucket": {"type": "str", "required": True},
            "object": {"type": "str"},
            "sse_c": {"type": "bool", "default": False},
            "rules": {"type": "list", "elements": "dict"},
            "policy": {"type": "dict"},
        },
        supports_check_mode=False,
    )
    from botocore.exceptions import ClientError

    params = module.params
    client = _client(params)
    bucket, action = params["bucket"], params["action"]
    result = {"changed": action != "read" and action != "list_versions"}
    if action == "read":
        result.update(_read(client, bucket))
    elif action == "create":
        client.create_bucket(Bucket=bucket)
    elif action == "delete":
        try:
            for item in _versions(client, bucket):
                client.delete_object(Bucket=bucket, Key=item["object"], VersionId=item["version_id"])
            client.delete_bucket(Bucket=bucket)
        except ClientError as exc:
            result.update(changed=False, error=_error(exc))
    elif action == "put_lifecycle":
        client.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": params["rules"]})
    elif action == "put_policy":
        client.put_bucket_policy(Bucket=bucket, Policy=json.dumps(params["policy"]))
    elif action == "put_object":
        extra = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": os.urandom(32)} if params["sse_c"] else {}
        try:
            client.put_object(Bucket=bucket, Key=params["object"], Body=b"probe", **extra)
            result["status"] = 200
        except ClientError as exc:
            result.update(changed=False, status=_error(exc)[0])
    elif action == "delete_object":
        client.delete_object(Bucket=bucket, Key=params["object"])
    elif action == "list_versions":
        result["versions"] = _versions(client, bucket)
    module.exit_json(**result)


if __name__ == "__main__":
    main()

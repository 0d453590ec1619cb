#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""CI-only helper of the rekey target: what s3_probe does not do (tags, versioned buckets), with boto3 directly.

Like s3_probe it shares no code with the collection under test.
"""

from __future__ import annotations

DOCUMENTATION = r"""
module: rekey_probe
short_description: Tags and versioned buckets for the rekey integration tests
description:
  - Reads and writes object tags, creates a bucket with versioning, lists object versions, and deletes a bucket
    with all its versions, with boto3 directly.
  - Never imports anything from the collection under test.
options:
  action:
    description: What to do.
    type: str
    required: true
    choices: [put_tags, get_tags, create_versioned_bucket, list_versions, delete_bucket]
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
    description: Object name, for put_tags and get_tags.
    type: str
  tags:
    description: Tags to set with O(action=put_tags).
    type: dict
    default: {}
author:
  - ssec.s3 contributors
"""

EXAMPLES = r"""
- name: Tag an object
  rekey_probe:
    action: put_tags
    endpoint_url: https://127.0.0.1:9000
    access_key: AK
    secret_key: SK
    bucket: b
    object: o
    tags: {team: data}
"""

RETURN = r"""
tags:
  description: The object's tags, with O(action=get_tags).
  type: dict
  returned: get_tags
versions:
  description: Every version, with O(action=list_versions) (C(object), C(version_id), C(is_latest)).
  type: list
  returned: list_versions
"""

from ansible.module_utils.basic import AnsibleModule


def _client(params):
    import boto3
    from botocore.config import Config

    config = Config(
        region_name=params["region"],
        signature_version="s3v4",
        s3={"addressing_style": "path"},
        retries={"mode": "standard", "total_max_attempts": 3},
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    return boto3.client(
        "s3",
        endpoint_url=params["endpoint_url"],
        aws_access_key_id=params["access_key"],
        aws_secret_access_key=params["secret_key"],
        verify=params["ca_bundle"] or True,
        config=config,
    )


def _versions(client, bucket):
    found = []
    for page in client.get_paginator("list_object_versions").paginate(Bucket=bucket):
        for item in page.get("Versions", []) + page.get("DeleteMarkers", []):
            found.append({"object": item["Key"], "version_id": item["VersionId"], "is_latest": item["IsLatest"]})
    return found


def main():
    module = AnsibleModule(
        argument_spec={
            "action": {"type": "str", "required": True,
                       "choices": ["put_tags", "get_tags", "create_versioned_bucket", "list_versions", "delete_bucket"]},
            "endpoint_url": {"type": "str", "required": True},
            "ca_bundle": {"type": "path"},
            "access_key": {"type": "str", "required": True, "no_log": False},
            "secret_key": {"type": "str", "required": True, "no_log": True},
            "region": {"type": "str", "default": "us-east-1"},
            "bucket": {"type": "str", "required": True},
            "object": {"type": "str"},
            "tags": {"type": "dict", "default": {}},
        },
        required_if=[["action", "put_tags", ["object"]], ["action", "get_tags", ["object"]]],
    )
    params = module.params
    client = _client(params)
    bucket, action = params["bucket"], params["action"]
    result = {"changed": action in ("put_tags", "create_versioned_bucket", "delete_bucket")}
    if action == "put_tags":
        tag_set = [{"Key": str(k), "Value": str(v)} for k, v in params["tags"].items()]
        client.put_object_tagging(Bucket=bucket, Key=params["object"], Tagging={"TagSet": tag_set})
    elif action == "get_tags":
        answer = client.get_object_tagging(Bucket=bucket, Key=params["object"])
        result["tags"] = {tag["Key"]: tag["Value"] for tag in answer.get("TagSet", [])}
    elif action == "create_versioned_bucket":
        client.create_bucket(Bucket=bucket)
        client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    elif action == "list_versions":
        result["versions"] = _versions(client, bucket)
    elif action == "delete_bucket":
        for item in _versions(client, bucket):
            client.delete_object(Bucket=bucket, Key=item["object"], VersionId=item["version_id"])
        client.delete_bucket(Bucket=bucket)
    module.exit_json(**result)


if __name__ == "__main__":
    main()

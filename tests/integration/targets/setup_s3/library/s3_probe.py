#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""CI-only helper: an S3 client independent of ssec.s3, to arrange and verify stored objects.

It uses boto3 directly and shares no code with the collection: the key goes in
as raw bytes and botocore encodes it and computes its MD5 itself (the
collection passes both already encoded), HEAD/GET report the HTTP status
instead of failing, and digests are computed here with hashlib. It also puts
SSE-S3 objects, reads and writes object tags, and handles versioned buckets.
"""

from __future__ import annotations

DOCUMENTATION = r"""
module: s3_probe
short_description: Independent S3 client for the integration tests of ssec.s3
description:
  - Puts, heads, gets, lists and deletes objects with boto3 directly, with or without SSE-C headers.
  - Puts objects with server-managed encryption (SSE-S3).
  - Reads and writes object tags, creates a bucket with versioning, lists object versions, and deletes a bucket
    with all its versions.
  - Never imports anything from the collection under test.
options:
  action:
    description: What to do.
    type: str
    required: true
    choices: [put, head, get, delete, delete_prefix, list, list_uploads, put_tags, get_tags, create_versioned_bucket,
              list_versions, delete_bucket]
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
    description: Object name, for put, head, get, delete, put_tags and get_tags.
    type: str
  prefix:
    description: Name prefix, for list, list_uploads, list_versions and delete_prefix.
    type: str
    default: ''
  version_id:
    description: With O(action=head), O(action=get) or O(action=delete), that version of the object.
    type: str
  sse_customer_key:
    description: SSE-C key as base64 text; no key sends no SSE-C headers.
    type: str
  server_side_encryption:
    description:
      - With O(action=put), ask the server to encrypt the object with its own keys (SSE-S3).
      - Excludes O(sse_customer_key).
    type: str
    choices: [AES256]
  content:
    description: Text to put.
    type: str
  content_base64:
    description: Binary data to put, as base64.
    type: str
  src:
    description: File to put.
    type: path
  metadata:
    description: User metadata to put, stored as given (no digest is added).
    type: dict
    default: {}
  content_type:
    description: Content type to put.
    type: str
  dest:
    description: With O(action=get), also write the data to this file.
    type: path
  md5chksum:
    description:
      - With O(action=put), add rclone's C(md5chksum) metadata entry, the MD5 of the data.
      - V(base64) is the form rclone writes (base64 of the binary MD5, checked with rclone 1.75); V(hex) a variant.
    type: str
    choices: [base64, hex]
  tags:
    description: Tags to set with O(action=put_tags).
    type: dict
    default: {}
author:
  - ssec.s3 contributors
"""

EXAMPLES = r"""
- name: Put an object encrypted with a key, without the collection's digest
  s3_probe:
    action: put
    endpoint_url: https://127.0.0.1:9000
    access_key: AK
    secret_key: SK
    bucket: b
    object: o
    content: hello
    sse_customer_key: "{{ key_b64 }}"

- name: Tag an object
  s3_probe:
    action: put_tags
    endpoint_url: https://127.0.0.1:9000
    access_key: AK
    secret_key: SK
    bucket: b
    object: o
    tags: {team: data}
"""

RETURN = r"""
status:
  description: HTTP status of the HEAD or GET (200, 400, 403, 404...).
  type: int
  returned: head, get
key_md5:
  description: Base64 MD5 of the key given, computed here.
  type: str
  returned: when a key is given
server_side_encryption:
  description: What the HEAD reports in C(x-amz-server-side-encryption).
  type: str
  returned: head
tags:
  description: The object's tags.
  type: dict
  returned: get_tags
version_id:
  description: The version the server names in its answer (put, head, get, delete).
  type: str
  returned: put, head, get, delete
versions:
  description:
    - Every version and delete marker in the bucket under O(prefix) (C(object), C(version_id), C(is_latest),
      C(delete_marker)).
  type: list
  returned: list_versions
"""

import base64
import hashlib

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


def _digests(data):
    sha256 = hashlib.sha256(data).digest()
    md5 = hashlib.md5(data).digest()
    return {
        "size": len(data),
        "sha1": hashlib.sha1(data).hexdigest(),
        "sha256": sha256.hex(),
        "sha256_b64": base64.b64encode(sha256).decode(),
        "md5": md5.hex(),
        "md5_b64": base64.b64encode(md5).decode(),
    }


def _status(exc):
    return exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")


def _versions(client, bucket, prefix=""):
    found = []
    for page in client.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
        for marker, items in ((False, page.get("Versions", [])), (True, page.get("DeleteMarkers", []))):
            found += [{"object": item["Key"], "version_id": item["VersionId"], "is_latest": item["IsLatest"],
                       "delete_marker": marker} for item in items]
    return found


def main():
    module = AnsibleModule(
        argument_spec={
            "action": {"type": "str", "required": True,
                       "choices": ["put", "head", "get", "delete", "delete_prefix", "list", "list_uploads",
                                   "put_tags", "get_tags", "create_versioned_bucket", "list_versions", "delete_bucket"]},
            "endpoint_url": {"type": "str", "required": True},
            "ca_bundle": {"type": "path"},
            "access_key": {"type": "str", "required": True, "no_log": False},
            "secret_key": {"type": "str", "required": True, "no_log": True},
            "region": {"type": "str", "default": "us-east-1"},
            "bucket": {"type": "str", "required": True},
            "object": {"type": "str"},
            "prefix": {"type": "str", "default": ""},
            "version_id": {"type": "str"},
            "sse_customer_key": {"type": "str", "no_log": True},
            "server_side_encryption": {"type": "str", "choices": ["AES256"]},
            "content": {"type": "str"},
            "content_base64": {"type": "str"},
            "src": {"type": "path"},
            "metadata": {"type": "dict", "default": {}},
            "content_type": {"type": "str"},
            "dest": {"type": "path"},
            "md5chksum": {"type": "str", "choices": ["base64", "hex"]},
            "tags": {"type": "dict", "default": {}},
        },
        mutually_exclusive=[["content", "content_base64", "src"], ["sse_customer_key", "server_side_encryption"]],
        required_if=[["action", name, ["object"]]
                     for name in ("put", "head", "get", "delete", "put_tags", "get_tags")],
        supports_check_mode=False,
    )
    from botocore.exceptions import ClientError

    params = module.params
    client = _client(params)
    bucket, name, action = params["bucket"], params["object"], params["action"]
    changing = ("put", "delete", "delete_prefix", "put_tags", "create_versioned_bucket", "delete_bucket")
    result = {"changed": action in changing}

    sse = {}
    version = {"VersionId": params["version_id"]} if params["version_id"] else {}
    if params["sse_customer_key"]:
        raw = base64.b64decode(params["sse_customer_key"], validate=True)
        if len(raw) != 32:
            module.fail_json(msg="sse_customer_key must decode to 32 bytes")
        # Raw bytes and no MD5: botocore encodes the key and computes its MD5 itself.
        sse = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": raw}
        result["key_md5"] = base64.b64encode(hashlib.md5(raw).digest()).decode()

    if action == "put":
        if params["src"]:
            with open(params["src"], "rb") as handle:
                data = handle.read()
        elif params["content_base64"] is not None:
            data = base64.b64decode(params["content_base64"])
        else:
            data = (params["content"] or "").encode("utf-8")
        extra = dict(sse)
        if params["content_type"]:
            extra["ContentType"] = params["content_type"]
        if params["server_side_encryption"]:
            extra["ServerSideEncryption"] = params["server_side_encryption"]
        metadata = {str(k): str(v) for k, v in params["metadata"].items()}
        if params["md5chksum"]:
            md5 = hashlib.md5(data).digest()
            metadata["md5chksum"] = base64.b64encode(md5).decode() if params["md5chksum"] == "base64" else md5.hex()
        answer = client.put_object(Bucket=bucket, Key=name, Body=data, Metadata=metadata, **extra)
        result.update(_digests(data), etag=answer.get("ETag"), version_id=answer.get("VersionId"))

    elif action == "head":
        try:
            head = client.head_object(Bucket=bucket, Key=name, **dict(sse, **version))
        except ClientError as exc:
            result.update(status=_status(exc), exists=_status(exc) != 404)
        else:
            md5_header = head.get("SSECustomerKeyMD5")
            result.update(
                status=200,
                exists=True,
                size=head.get("ContentLength"),
                content_type=head.get("ContentType"),
                etag=head.get("ETag"),
                storage_class=head.get("StorageClass"),
                metadata=head.get("Metadata") or {},
                sse_customer_algorithm=head.get("SSECustomerAlgorithm"),
                sse_customer_key_md5_header=md5_header,
                # SeaweedFS repeats the header value ("X==, X=="): the distinct values.
                sse_customer_key_md5s=sorted({v.strip() for v in (md5_header or "").split(",") if v.strip()}),
                server_side_encryption=head.get("ServerSideEncryption"),
                version_id=head.get("VersionId"),
            )

    elif action == "get":
        try:
            answer = client.get_object(Bucket=bucket, Key=name, **dict(sse, **version))
        except ClientError as exc:
            result.update(status=_status(exc))
        else:
            data = answer["Body"].read()
            result.update(_digests(data), status=200, metadata=answer.get("Metadata") or {},
                          version_id=answer.get("VersionId"))
            result["content_base64"] = base64.b64encode(data).decode() if len(data) <= 65536 else None
            try:
                result["content"] = data.decode("utf-8") if len(data) <= 65536 else None
            except UnicodeDecodeError:
                result["content"] = None
            if params["dest"]:
                with open(params["dest"], "wb") as handle:
                    handle.write(data)

    elif action == "delete":
        result["version_id"] = client.delete_object(Bucket=bucket, Key=name, **version).get("VersionId")

    elif action in ("list", "delete_prefix"):
        names = []
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=params["prefix"]):
            names += [item["Key"] for item in page.get("Contents", [])]
        if action == "delete_prefix":
            for item in names:
                client.delete_object(Bucket=bucket, Key=item)
            result["changed"] = bool(names)
        result["objects"] = names

    elif action == "list_uploads":
        answer = client.list_multipart_uploads(Bucket=bucket, Prefix=params["prefix"])
        result["uploads"] = [{"object": item["Key"], "upload_id": item["UploadId"]}
                             for item in answer.get("Uploads", [])]

    elif action == "put_tags":
        tag_set = [{"Key": str(k), "Value": str(v)} for k, v in params["tags"].items()]
        client.put_object_tagging(Bucket=bucket, Key=name, Tagging={"TagSet": tag_set})

    elif action == "get_tags":
        answer = client.get_object_tagging(Bucket=bucket, Key=name)
        result["tags"] = {tag["Key"]: tag["Value"] for tag in answer.get("TagSet", [])}

    elif action == "create_versioned_bucket":
        client.create_bucket(Bucket=bucket)
        client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})

    elif action == "list_versions":
        result["versions"] = _versions(client, bucket, params["prefix"])

    elif action == "delete_bucket":
        for item in _versions(client, bucket):
            client.delete_object(Bucket=bucket, Key=item["object"], VersionId=item["version_id"])
        client.delete_bucket(Bucket=bucket)

    module.exit_json(**result)


if __name__ == "__main__":
    main()

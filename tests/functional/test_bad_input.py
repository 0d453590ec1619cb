# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bad input, for every plugin: a clear message naming the problem and the fix, and nothing changed.

``CASES`` is the table: each case is one task (a module of the collection, or a ``debug`` task using the
lookup ``ssec.s3.key`` or the filter ``ssec.s3.key_md5``), the fragments its message must contain - at least
one naming the problem, at least one naming the option or action that fixes it - and the state it could
damage: key files, objects (read back with their key: bytes, metadata, ETag, LastModified), local files
(bytes, mode, mtime) and directories (their listing: no temp file left behind).

All cases run in one real ``ansible-playbook`` against the real HTTPS SeaweedFS (``bad_input_run``, once per
module); the assertions are parametrized over the returned results. Around that run the whole of both
buckets and of the work directory is snapshotted too, so that a case damaging something it did not declare
is caught as well.

Transport safety is part of the table: an ``http://`` endpoint on a plain socket the test listens on must see
zero connections (while a control task with ``allow_plain_http: true`` does reach its own socket), and the
real service without its CA (or with another CA) must fail on the certificate, naming ``ca_bundle``.

The same tasks then run again with ``--check``: each must fail with the same message (the problems are found
before anything would be written), except the few only the server or the final rename can reveal, which say so.

Object names that are valid (unicode, spaces, exactly 1024 bytes) are checked in another run: uploaded, read
back by boto3 and downloaded again, byte for byte. Permissions are checked as user ``nobody`` (``become``),
since root reads and writes whatever the modes say (the read-only directories of the table are immutable).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from listener import ConnectionCounter
from playbook import Key, collections_path, run_tasks

# --------------------------------------------------------------------------
# The context the cases are built from
# --------------------------------------------------------------------------


class Context:
    """Paths, keys and objects of the matrix. Key material stays in files and in boto3 calls, never in text."""

    def __init__(self, service, root: Path):
        self.service = service
        self.root = root
        self.bucket, self.other_bucket = service.buckets[0], service.buckets[1]
        self.prefix = "bad-input/"
        self.keys_dir = root / "keys"
        self.files = root / "files"
        for directory in (self.keys_dir, self.files):
            directory.mkdir(parents=True)
        self.key = Key(self.keys_dir / "good.key")
        self.other = Key(self.keys_dir / "other.key")
        self.http = ConnectionCounter()  # must see no connection at all
        self.http_control = ConnectionCounter()  # reached by the allow_plain_http control task

    # -- key option sets (paths only, or the lookup: the playbook text holds no key) --

    @property
    def key_file(self):
        return {"sse_customer_key_file": str(self.key.path)}

    def lookup(self, key):
        return "{{ lookup('ssec.s3.key', '%s') }}" % key.path

    def obj(self, name):
        return self.prefix + name

    def path(self, *parts):
        return str(self.files.joinpath(*parts))

    def key_path(self, name):
        return str(self.keys_dir / name)

    # -- forms of the keys that must never show up in a result --

    def secret_texts(self):
        texts = []
        for key in (self.key, self.other):
            texts += [key.b64, key.b64.rstrip("="), key.raw.hex(), key.raw.hex().upper()]
        texts += [base64.b64encode(raw).decode() for raw in self.extra_secrets]
        return texts

    extra_secrets: list = []

    def setup(self):
        """Seed the objects, key files and local files the cases point at."""
        client = self.service.client()
        self.client = client
        put = client.put_object
        put(Bucket=self.bucket, Key=self.obj("ssec-good"), Body=b"encrypted with the good key\n",
            Metadata={"owner": "matrix"}, **self.key.boto3_params())
        put(Bucket=self.bucket, Key=self.obj("ssec-other"), Body=b"encrypted with the other key\n",
            **self.other.boto3_params())
        put(Bucket=self.bucket, Key=self.obj("plain"), Body=b"not encrypted\n")
        put(Bucket=self.bucket, Key=self.obj("tree/a.txt"), Body=b"a\n", **self.key.boto3_params())
        put(Bucket=self.bucket, Key=self.obj("tree/b.txt"), Body=b"b\n", **self.key.boto3_params())

        def write(path, data, mode=0o600):
            path = Path(path)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            os.chmod(path, mode)
            return path

        raw16, raw33 = os.urandom(16), os.urandom(33)
        self.extra_secrets = [raw16, raw33]
        write(self.key_path("short31.raw"), os.urandom(31))
        write(self.key_path("long33.raw"), os.urandom(33))
        write(self.key_path("short16.b64"), base64.b64encode(raw16) + b"\n")
        write(self.key_path("long33.b64"), base64.b64encode(raw33) + b"\n")
        write(self.key_path("hex62.hex"), os.urandom(31).hex().encode() + b"\n")
        write(self.key_path("hex66.hex"), os.urandom(33).hex().encode() + b"\n")
        write(self.key_path("passphrase.txt"), b"correct horse battery staple\n")
        write(self.key_path("existing-invalid.key"), os.urandom(20))
        (self.keys_dir / "a-directory.key").mkdir()
        write(self.path("upload.txt"), b"local data to upload\n", 0o644)
        write(self.path("dest-existing.txt"), b"the old content of dest\n", 0o640)
        write(self.path("not-a-dir"), b"a file where a directory is expected\n", 0o644)
        (self.files / "src-dir").mkdir()
        write(self.path("src-dir", "inside.txt"), b"inside\n")
        (self.files / "dest-dir").mkdir()
        write(self.path("dest-dir", "keep.txt"), b"keep\n")
        (self.files / "sync-src").mkdir()
        write(self.path("sync-src", "one.txt"), b"one\n")
        write(self.path("sync-src", "two.txt"), b"two\n")
        # Read-only directories: root ignores modes, but not the immutable attribute.
        for name in ("readonly-dir", "readonly-keys"):
            directory = self.files / name
            directory.mkdir()
            write(directory / "present.txt", b"present\n")
            subprocess.run(["chattr", "+i", str(directory)], check=True, capture_output=True)
        shutil.copy(self.key.path, self.key_path("immutable.key"))
        subprocess.run(["chattr", "+i", self.key_path("immutable.key")], check=True, capture_output=True)
        write(self.path("immutable-dest.txt"), b"an immutable dest\n", 0o644)
        subprocess.run(["chattr", "+i", self.path("immutable-dest.txt")], check=True, capture_output=True)

    def teardown(self):
        # Recursively: a failed case might have left an immutable copy (a backup) behind.
        subprocess.run(["chattr", "-R", "-i", str(self.root)], check=False, capture_output=True)
        self.http.close()
        self.http_control.close()


# --------------------------------------------------------------------------
# Snapshots
# --------------------------------------------------------------------------


def file_state(path):
    """Bytes (as SHA-256: a key file's bytes are never printed), mode, mtime; or what else is there."""
    path = Path(path)
    if not os.path.lexists(path):
        return "absent"
    info = path.lstat()
    if stat.S_ISDIR(info.st_mode):
        return {"dir": sorted(os.listdir(path)), "mode": oct(info.st_mode)}
    return {"sha256": hashlib.sha256(path.read_bytes()).hexdigest(), "mode": oct(info.st_mode),
            "mtime_ns": info.st_mtime_ns, "size": info.st_size}


def tree_state(root):
    """Every entry under ``root`` with its file_state (so a temp file left behind shows up)."""
    found = {}
    for directory, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(directory, name)
            found[os.path.relpath(path, root)] = file_state(path)
    return found


def object_state(client, bucket, name, key=None):
    """An object as its key holder reads it: bytes (SHA-256), metadata, ETag, LastModified, encryption."""
    from botocore.exceptions import ClientError

    params = key.boto3_params() if key else {}
    try:
        answer = client.get_object(Bucket=bucket, Key=name, **params)
    except ClientError as exc:
        return "error %s" % exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return {
        "sha256": hashlib.sha256(answer["Body"].read()).hexdigest(),
        "metadata": answer.get("Metadata"),
        "etag": answer.get("ETag"),
        "last_modified": answer.get("LastModified").isoformat(),
        "sse_c_md5": answer.get("SSECustomerKeyMD5"),
    }


def bucket_state(client, bucket):
    """Every object of ``bucket``: name, size, ETag, LastModified."""
    listing = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            listing[item["Key"]] = (item["Size"], item["ETag"], item["LastModified"].isoformat())
    return listing


# --------------------------------------------------------------------------
# The table
# --------------------------------------------------------------------------


@dataclass
class Case:
    """One bad input: ``task(ctx)`` builds the task; ``problem`` and ``fix`` are message fragments (each
    list: every fragment must appear, case-insensitively); ``state(ctx)`` lists what must not change:
    ("file", path), ("tree", dir) or ("object", name, key)."""

    id: str
    task: object
    problem: list
    fix: list
    state: object = lambda ctx: []
    outcome: str = "failed"  # or "warning": the task succeeds, changes nothing, and warns
    needs: str = ""  # "http": the endpoint is the plain listener that must see no connection
    xfail: str = ""  # a known gap, with the reason (the fix is outside the files this test's author owned)
    check_mode: str = "same"  # or why check mode cannot see the problem (it writes nothing)


DROP = object()  # an option left out of the task (None would be given as null)


def module_task(module, **args):
    return lambda ctx: {"ssec.s3." + module: {name: (value(ctx) if callable(value) else value)
                                              for name, value in args.items() if value is not DROP}}


def debug_task(expression):
    return lambda ctx: {"ansible.builtin.debug": {"msg": expression(ctx)}}


def good_obj(ctx):
    return ("object", ctx.obj("ssec-good"), ctx.key)


def key_args(**extra):
    """The good key by file, plus ``extra`` (callables get the context)."""
    return dict({"sse_customer_key_file": lambda ctx: str(ctx.key.path)}, **extra)


def upload(**args):
    base = {"bucket": lambda ctx: ctx.bucket, "object": lambda ctx: ctx.obj("ssec-good"),
            "content": "new content that must not be written\n"}
    base.update(args)
    return module_task("object", **base)


def download(**args):
    base = {"bucket": lambda ctx: ctx.bucket, "object": lambda ctx: ctx.obj("ssec-good"),
            "dest": lambda ctx: ctx.path("dest-existing.txt")}
    base.update(args)
    return module_task("download", **base)


def files_tree(ctx):
    return [("tree", str(ctx.files))]


def keys_tree(ctx):
    return [("tree", str(ctx.keys_dir))]


def good_and_files(ctx):
    return [good_obj(ctx), ("tree", str(ctx.files))]


LONG_NAME = "n" * 1025  # one byte over S3's limit of 1024 bytes of UTF-8
LONG_UNICODE_NAME = "\u00e9" * 513  # 513 characters, 1026 bytes in UTF-8


CASES = [
    # ---- ssec.s3.key: the key file module ----
    Case("key-path-is-directory", module_task("key", path=lambda c: c.key_path("a-directory.key")),
         ["is a directory"], ["path of the key file"], keys_tree),
    Case("key-existing-invalid-file", module_task("key", path=lambda c: c.key_path("existing-invalid.key")),
         ["not a usable SSE-C key", "20 bytes"], ["regenerate: always"], keys_tree),
    Case("key-existing-short-base64", module_task("key", path=lambda c: c.key_path("short16.b64"), format="base64"),
         ["not a usable SSE-C key", "25 bytes"], ["regenerate: always"], keys_tree),
    Case("key-existing-hex-wrong-length", module_task("key", path=lambda c: c.key_path("hex62.hex")),
         ["not a usable SSE-C key", "63 bytes", "64 hex digits"], ["regenerate: always"], keys_tree),
    Case("key-missing-directory", module_task("key", path=lambda c: c.key_path("no-such-dir/new.key")),
         ["does not exist"], ["create it first"], keys_tree),
    Case("key-readonly-directory", module_task("key", path=lambda c: c.path("readonly-keys", "new.key")),
         ["not writable"], ["permissions"], files_tree),
    Case("key-regenerate-immutable-file", module_task("key", path=lambda c: c.key_path("immutable.key"),
                                                      regenerate="always"),
         ["is immutable", "cannot be replaced"], ["chattr -i"], keys_tree),
    Case("key-regenerate-immutable-file-no-backup", module_task("key", path=lambda c: c.key_path("immutable.key"),
                                                                regenerate="always", backup=False),
         ["is immutable", "cannot be replaced"], ["chattr -i"], keys_tree),
    Case("key-unknown-format", module_task("key", path=lambda c: c.key_path("new-hex.key"), format="hex"),
         ["value of format", "got: hex"], ["must be one of: raw, base64"], keys_tree),

    # ---- the key options (on ssec.s3.object unless said) ----
    Case("key-base64-too-short", upload(sse_customer_key=lambda c: base64.b64encode(c.extra_secrets[0]).decode()),
         ["decodes to 16 bytes"], ["openssl rand -base64 32"], lambda c: [good_obj(c)]),
    Case("key-base64-too-long", upload(sse_customer_key=lambda c: base64.b64encode(c.extra_secrets[1]).decode()),
         ["decodes to 33 bytes"], ["openssl rand -base64 32"], lambda c: [good_obj(c)]),
    Case("key-not-base64", upload(sse_customer_key="correct horse battery staple!"),
         ["not valid base64"], ["openssl rand -base64 32"], lambda c: [good_obj(c)]),
    Case("key-hex-text-as-base64", upload(sse_customer_key=lambda c: os.urandom(32).hex()),
         ["holds 64 hex digits"], ["sse_customer_key_file, which accepts hex"], lambda c: [good_obj(c)]),
    Case("key-file-raw-31-bytes", upload(sse_customer_key_file=lambda c: c.key_path("short31.raw")),
         ["holds 31 bytes"], ["ssec.s3.key module"], lambda c: [good_obj(c)]),
    Case("key-file-raw-33-bytes", upload(sse_customer_key_file=lambda c: c.key_path("long33.raw")),
         ["holds 33 bytes"], ["ssec.s3.key module"], lambda c: [good_obj(c)]),
    Case("key-file-base64-33-bytes", upload(sse_customer_key_file=lambda c: c.key_path("long33.b64")),
         ["holds 45 bytes"], ["ssec.s3.key module"], lambda c: [good_obj(c)]),
    Case("key-file-hex-66-digits", download(sse_customer_key_file=lambda c: c.key_path("hex66.hex")),
         ["holds 67 bytes", "64 hex digits"], ["ssec.s3.key module"], good_and_files),
    Case("key-file-passphrase", download(sse_customer_key_file=lambda c: c.key_path("passphrase.txt")),
         ["is not an SSE-C key"], ["ssec.s3.key module"], good_and_files),
    Case("key-file-missing", upload(sse_customer_key_file=lambda c: c.key_path("no-such.key")),
         ["does not exist"], ["ssec.s3.key module"], lambda c: [good_obj(c)]),
    Case("key-file-is-directory", upload(sse_customer_key_file=lambda c: c.key_path("a-directory.key")),
         ["is a directory"], ["path of a key file"], lambda c: [good_obj(c)]),
    Case("key-md5-mismatch", upload(**key_args(sse_customer_key_md5=lambda c: c.other.md5_b64)),
         ["does not match the key"], ["correct sse_customer_key_md5"], lambda c: [good_obj(c)]),
    Case("key-pasted-into-md5", download(**key_args(sse_customer_key_md5=lambda c: c.lookup(c.key))),
         ["not a key fingerprint"], ["openssl dgst -md5 -binary"], good_and_files),
    Case("key-and-key-file", upload(**key_args(sse_customer_key=lambda c: c.lookup(c.key))),
         ["mutually exclusive"], ["sse_customer_key|sse_customer_key_file"], lambda c: [good_obj(c)]),
    Case("key-neither", upload(),
         ["an SSE-C key is required"], ["sse_customer_key_file"], lambda c: [good_obj(c)]),
    Case("key-md5-without-key", module_task("object_info", bucket=lambda c: c.bucket,
                                            object=lambda c: c.obj("ssec-good"),
                                            sse_customer_key_md5=lambda c: c.key.md5_b64),
         ["without a key"], ["add sse_customer_key"], lambda c: [good_obj(c)]),
    Case("key-unsupported-algorithm", upload(**key_args(sse_customer_algorithm="AES128")),
         ["value of sse_customer_algorithm", "got: AES128"], ["must be one of: AES256"], lambda c: [good_obj(c)]),

    # ---- transport ----
    Case("http-endpoint-object", upload(**key_args(endpoint_url=lambda c: c.http.url)),
         ["plain http", "in clear"], ["https://", "allow_plain_http"], lambda c: [good_obj(c)], needs="http"),
    Case("http-endpoint-download", download(**key_args(endpoint_url=lambda c: c.http.url)),
         ["plain http"], ["https://"], good_and_files, needs="http"),
    Case("http-endpoint-rekey", module_task("rekey", bucket=lambda c: c.bucket, object=lambda c: c.obj("ssec-good"),
                                            endpoint_url=lambda c: c.http.url,
                                            old_sse_customer_key_file=lambda c: str(c.other.path),
                                            **key_args()),
         ["plain http"], ["https://"], lambda c: [good_obj(c)], needs="http"),
    Case("http-endpoint-sync", module_task("sync", mode="pull", bucket=lambda c: c.bucket,
                                           prefix=lambda c: c.obj("tree/"), path=lambda c: c.path("pulled"),
                                           endpoint_url=lambda c: c.http.url, **key_args()),
         ["plain http"], ["https://"], files_tree, needs="http"),
    Case("http-endpoint-object-info-prefix", module_task("object_info", bucket=lambda c: c.bucket,
                                                         prefix=lambda c: c.prefix, endpoint_url=lambda c: c.http.url,
                                                         **key_args()),
         ["plain http"], ["allow_plain_http"], lambda c: [], needs="http"),
    Case("http-endpoint-from-environment",
         lambda c: {"ssec.s3.download": {"bucket": c.bucket, "object": c.obj("ssec-good"),
                                         "dest": c.path("dest-existing.txt"), "endpoint_url": None,
                                         "sse_customer_key_file": str(c.key.path)},
                    "environment": {"AWS_ENDPOINT_URL_S3": c.http.url}},
         ["from AWS_ENDPOINT_URL_S3", "plain http"], ["allow_plain_http"], good_and_files, needs="http"),
    Case("endpoint-not-a-url", upload(**key_args(endpoint_url="s3.example.com")),
         ["not an http(s) url"], ["https://host"], lambda c: [good_obj(c)]),
    Case("ca-bundle-missing", upload(**key_args(ca_bundle=lambda c: c.path("no-such-ca.pem"))),
         ["ca_bundle", "does not exist"], ["PEM file of the CA"], lambda c: [good_obj(c)]),
    Case("tls-no-ca-bundle", upload(**key_args(ca_bundle=None, retries=0)),
         ["certificate"], ["ca_bundle"], lambda c: [good_obj(c)]),
    Case("tls-other-ca", download(**key_args(ca_bundle=lambda c: str(c.service.untrusted_ca_file), retries=0)),
         ["certificate"], ["ca_bundle"], good_and_files),
    Case("wrong-secret-key", upload(**key_args(secret_key="not-the-secret-key")),
         ["access denied"], ["secret key"], lambda c: [good_obj(c)]),
    Case("unknown-access-key", module_task("object_info", bucket=lambda c: c.bucket,
                                           object=lambda c: c.obj("ssec-good"), access_key="AKNOTKNOWN000000",
                                           **key_args()),
         ["access denied"], ["access and secret keys"], lambda c: []),
    Case("access-key-without-secret", module_task("sync", mode="push", bucket=lambda c: c.bucket,
                                                  prefix=lambda c: c.obj("tree/"), path=lambda c: c.path("sync-src"),
                                                  secret_key=None, **key_args()),
         ["go together"], ["set both"], lambda c: [("object", c.obj("tree/a.txt"), c.key)]),

    # ---- buckets and object names ----
    Case("bucket-missing", upload(bucket="ssec-no-such-bucket", **key_args()),
         ["does not exist"], ["create it first"], lambda c: []),
    Case("bucket-missing-download", download(bucket="ssec-no-such-bucket", **key_args()),
         ["ssec-no-such-bucket", "does not exist"], ["correct the bucket name"], files_tree),
    Case("bucket-invalid-name", upload(bucket="Bad_Bucket!", **key_args()),
         ["not a valid bucket name"], ["lowercase letters"], lambda c: []),
    Case("bucket-invalid-name-sync", module_task("sync", mode="push", bucket="a", path=lambda c: c.path("sync-src"),
                                                 **key_args()),
         ["not a valid bucket name"], ["3 to 63"], lambda c: []),
    Case("object-leading-slash", upload(object=lambda c: "/" + c.obj("ssec-good"), **key_args()),
         ["starts with '/'"], ["without the leading '/'"], lambda c: [good_obj(c)]),
    Case("object-leading-slash-download", download(object=lambda c: "/" + c.obj("ssec-good"), **key_args()),
         ["starts with '/'"], ["without the leading '/'"], good_and_files),
    Case("object-name-too-long", upload(object=LONG_NAME, **key_args()),
         ["1025 bytes"], ["1024"], lambda c: []),
    Case("object-name-too-long-unicode", module_task("object_info", bucket=lambda c: c.bucket,
                                                     object=LONG_UNICODE_NAME, **key_args()),
         ["1026 bytes"], ["1024"], lambda c: []),
    Case("object-name-part-too-long-for-server", upload(object=lambda c: c.obj("p" * 300), **key_args()),
         ["too long"], ["shorter name"], lambda c: [],
         check_mode="only the server knows its limit (SeaweedFS: 255 bytes per '/'-separated part)"),
    Case("object-name-empty", upload(object="", **key_args()),
         ["object is empty"], ["give the name of the object"], lambda c: []),
    Case("prefix-leading-slash-sync", module_task("sync", mode="push", bucket=lambda c: c.bucket,
                                                  prefix=lambda c: "/" + c.obj("tree/"), path=lambda c: c.path("sync-src"),
                                                  **key_args()),
         ["prefix", "starts with '/'"], ["without the leading '/'"],
         lambda c: [("object", c.obj("tree/a.txt"), c.key), ("object", c.obj("tree/b.txt"), c.key)]),
    Case("prefix-leading-slash-info", module_task("object_info", bucket=lambda c: c.bucket, prefix="/bad-input/"),
         ["prefix", "starts with '/'"], ["without the leading '/'"]),

    # ---- ssec.s3.object ----
    Case("src-missing", upload(content=DROP, src=lambda c: c.path("no-such-file"), **key_args()),
         ["does not exist"], ["check the path"], lambda c: [good_obj(c)]),
    Case("src-is-directory", upload(content=DROP, src=lambda c: c.path("src-dir"), **key_args()),
         ["is a directory"], ["ssec.s3.sync"], lambda c: [good_obj(c)]),
    Case("content-and-src", upload(src=lambda c: c.path("upload.txt"), **key_args()),
         ["mutually exclusive"], ["src|content|content_base64"], lambda c: [good_obj(c)]),
    Case("no-data-to-upload", upload(content=DROP, **key_args()),
         ["needs the data to upload"], ["set src, content or content_base64"], lambda c: [good_obj(c)]),
    Case("content-base64-invalid", upload(content=DROP, content_base64="not base64 at all!", **key_args()),
         ["content_base64 is not valid base64"], ["b64encode"], lambda c: [good_obj(c)]),
    Case("metadata-reserved-name", upload(metadata={"ssec-sha256": "forged"}, **key_args()),
         ["may not set ssec-sha256"], ["remove it from metadata"], lambda c: [good_obj(c)]),
    Case("metadata-not-ascii", upload(metadata={"author": "Zo\u00eb"}, **key_args()),
         ["metadata author", "other than printable ascii"], ["urlencode or b64encode"], lambda c: [good_obj(c)]),
    Case("metadata-bad-name", upload(metadata={"my key": "v"}, **key_args()),
         ["metadata name 'my key' cannot be sent"], ["rename it"], lambda c: [good_obj(c)]),
    Case("object-concurrency-negative", upload(concurrency=-1, **key_args()),
         ["concurrency", "it is -1"], ["must be 1 or more"], lambda c: [good_obj(c)]),
    Case("object-part-size-zero", upload(part_size_mb=0, **key_args()),
         ["part_size_mb", "it is 0"], ["must be 1 or more"], lambda c: [good_obj(c)]),
    Case("object-storage-class-unknown", upload(storage_class="SUPERFAST", **key_args()),
         ["storage class", "not valid"], ["storage_class"], lambda c: [good_obj(c)],
         check_mode="only the server knows which storage classes it offers"),
    Case("download-concurrency-zero", download(concurrency=0, **key_args()),
         ["concurrency", "it is 0"], ["must be 1 or more"], files_tree),
    Case("upload-over-other-key", upload(object=lambda c: c.obj("ssec-other"), **key_args()),
         ["encrypted with another SSE-C key", "left untouched"], ["overwrite: always", "ssec.s3.rekey"],
         lambda c: [("object", c.obj("ssec-other"), c.other)]),
    Case("delete-other-key", upload(object=lambda c: c.obj("ssec-other"), content=DROP, state="absent", **key_args()),
         ["encrypted with another SSE-C key", "not deleted"], ["force: true"],
         lambda c: [("object", c.obj("ssec-other"), c.other)]),

    # ---- ssec.s3.download ----
    Case("dest-missing-directory", download(dest=lambda c: c.path("no-such-dir", "out.txt"), **key_args()),
         ["does not exist"], ["create it first"], files_tree),
    Case("dest-readonly-directory", download(dest=lambda c: c.path("readonly-dir", "out.txt"), **key_args()),
         ["not writable"], ["permissions"], files_tree),
    Case("dest-is-directory", download(dest=lambda c: c.path("dest-dir"), **key_args()),
         ["is a directory"], ["including its name"], files_tree),
    Case("dest-immutable-file", download(dest=lambda c: c.path("immutable-dest.txt"), **key_args()),
         ["is immutable", "cannot be replaced", "left as it was"], ["chattr -i"], files_tree),
    Case("dest-immutable-file-backup", download(dest=lambda c: c.path("immutable-dest.txt"), backup=True, **key_args()),
         ["is immutable", "cannot be replaced", "left as it was"], ["chattr -i"], files_tree),
    Case("download-plaintext-object", download(object=lambda c: c.obj("plain"), **key_args()),
         ["not SSE-C encrypted"], ["encrypt_plaintext: true"],
         lambda c: [("object", c.obj("plain"), None), ("tree", str(c.files))]),
    Case("download-other-key", download(object=lambda c: c.obj("ssec-other"), **key_args()),
         ["encrypted with another SSE-C key"], ["give the key it was written with"],
         lambda c: [("object", c.obj("ssec-other"), c.other), ("tree", str(c.files))]),
    Case("download-missing-object", download(object=lambda c: c.obj("no-such-object"), **key_args()),
         ["does not exist"], ["upload it first"], files_tree),

    # ---- ssec.s3.object_info ----
    Case("info-object-and-prefix", module_task("object_info", bucket=lambda c: c.bucket,
                                               object=lambda c: c.obj("ssec-good"), prefix=lambda c: c.prefix),
         ["mutually exclusive"], ["object|prefix"]),
    Case("info-neither-object-nor-prefix", module_task("object_info", bucket=lambda c: c.bucket),
         ["one of the following is required", "object", "prefix"], ["prefix"]),
    Case("info-prefix-concurrency-zero", module_task("object_info", bucket=lambda c: c.bucket,
                                                     prefix=lambda c: c.prefix, concurrency=0),
         ["concurrency", "it is 0"], ["must be 1 or more"]),

    # ---- ssec.s3.rekey ----
    Case("rekey-same-keys", module_task("rekey", bucket=lambda c: c.bucket, object=lambda c: c.obj("ssec-good"),
                                        old_sse_customer_key_file=lambda c: str(c.key.path), **key_args()),
         ["same key", "nothing to rotate"], ["old_sse_customer_key"], lambda c: [good_obj(c)]),
    Case("rekey-same-key-two-forms", module_task("rekey", bucket=lambda c: c.bucket, prefix=lambda c: c.prefix,
                                                 old_sse_customer_key=lambda c: c.lookup(c.key), **key_args()),
         ["same key"], ["old_sse_customer_key"], lambda c: [good_obj(c), ("object", c.obj("tree/a.txt"), c.key)]),
    Case("rekey-no-old-key", module_task("rekey", bucket=lambda c: c.bucket, object=lambda c: c.obj("ssec-good"),
                                         **key_args()),
         ["an SSE-C key is required"], ["old_sse_customer_key_file"], lambda c: [good_obj(c)]),
    Case("rekey-old-key-short", module_task("rekey", bucket=lambda c: c.bucket, object=lambda c: c.obj("ssec-good"),
                                            old_sse_customer_key_file=lambda c: c.key_path("short16.b64"),
                                            **key_args()),
         ["holds 25 bytes"], ["ssec.s3.key module"], lambda c: [good_obj(c)]),
    Case("rekey-old-md5-mismatch", module_task("rekey", bucket=lambda c: c.bucket, object=lambda c: c.obj("ssec-good"),
                                               old_sse_customer_key_file=lambda c: str(c.other.path),
                                               old_sse_customer_key_md5=lambda c: c.key.md5_b64, **key_args()),
         ["old_sse_customer_key_md5 does not match"], ["correct old_sse_customer_key_md5"], lambda c: [good_obj(c)]),
    Case("rekey-missing-object", module_task("rekey", bucket=lambda c: c.bucket, object=lambda c: c.obj("no-such"),
                                             old_sse_customer_key_file=lambda c: str(c.other.path), **key_args()),
         ["does not exist"], ["check bucket and object"], lambda c: []),
    Case("rekey-object-and-prefix", module_task("rekey", bucket=lambda c: c.bucket, object=lambda c: c.obj("x"),
                                                prefix=lambda c: c.prefix,
                                                old_sse_customer_key_file=lambda c: str(c.other.path), **key_args()),
         ["mutually exclusive"], ["object|prefix"]),

    # ---- ssec.s3.sync ----
    Case("sync-pull-path-is-file", module_task("sync", mode="pull", bucket=lambda c: c.bucket,
                                               prefix=lambda c: c.obj("tree/"), path=lambda c: c.path("not-a-dir"),
                                               **key_args()),
         ["is not a directory"], ["ssec.s3.download"], files_tree),
    Case("sync-push-path-is-file", module_task("sync", mode="push", bucket=lambda c: c.bucket,
                                               prefix=lambda c: c.obj("tree/"), path=lambda c: c.path("not-a-dir"),
                                               **key_args()),
         ["is not a directory"], ["ssec.s3.object"], lambda c: [("tree", str(c.files)),
                                                                ("object", c.obj("tree/a.txt"), c.key)]),
    Case("sync-push-path-missing", module_task("sync", mode="push", bucket=lambda c: c.bucket,
                                               prefix=lambda c: c.obj("tree/"), path=lambda c: c.path("no-such-dir"),
                                               **key_args()),
         ["does not exist"], ["check the path"], files_tree),
    Case("sync-push-include-matches-nothing",
         module_task("sync", mode="push", bucket=lambda c: c.bucket, prefix=lambda c: c.obj("pushed/"),
                     path=lambda c: c.path("sync-src"), include=["*.nothing"], delete=True, **key_args()),
         ["matched none of the 2 files"], ["patterns apply to the name relative to path"], files_tree,
         outcome="warning"),
    Case("sync-pull-exclude-everything",
         module_task("sync", mode="pull", bucket=lambda c: c.bucket, prefix=lambda c: c.obj("tree/"),
                     path=lambda c: c.path("sync-src"), exclude=["*"], delete=True, **key_args()),
         ["matched none of the 2 objects"], ["patterns apply to the name relative to path"], files_tree,
         outcome="warning"),
    Case("sync-file-mode-with-push", module_task("sync", mode="push", bucket=lambda c: c.bucket,
                                                 prefix=lambda c: c.obj("tree/"), path=lambda c: c.path("sync-src"),
                                                 file_mode="0644", **key_args()),
         ["file_mode applies to the files that mode: pull writes"], ["remove it"], files_tree),
    Case("sync-other-key-prefix", module_task("sync", mode="pull", bucket=lambda c: c.bucket,
                                              prefix=lambda c: c.obj("tree/"), path=lambda c: c.path("dest-dir"),
                                              sse_customer_key_file=lambda c: str(c.other.path)),
         ["another SSE-C key"], ["skipped_entries"], files_tree, outcome="warning"),

    # ---- lookup ssec.s3.key and filter ssec.s3.key_md5 (on the controller) ----
    Case("lookup-missing-file", debug_task(lambda c: "{{ lookup('ssec.s3.key', '%s') | ssec.s3.key_md5 }}"
                                           % c.key_path("no-such.key")),
         ["does not exist"], ["ssec.s3.key module"], keys_tree),
    Case("lookup-wrong-length", debug_task(lambda c: "{{ lookup('ssec.s3.key', '%s') | ssec.s3.key_md5 }}"
                                           % c.key_path("short31.raw")),
         ["holds 31 bytes"], ["ssec.s3.key module"], keys_tree),
    Case("lookup-directory", debug_task(lambda c: "{{ lookup('ssec.s3.key', '%s') | ssec.s3.key_md5 }}"
                                        % c.key_path("a-directory.key")),
         ["is a directory"], ["path of a key file"], keys_tree),
    Case("filter-wrong-length", debug_task(lambda c: "{{ lookup('file', '%s') | ssec.s3.key_md5 }}"
                                           % c.key_path("short16.b64")),
         ["decodes to 16 bytes"], ["openssl rand -base64 32"]),
    Case("filter-not-base64", debug_task(lambda c: "{{ 'correct horse battery staple' | ssec.s3.key_md5 }}"),
         ["not valid base64"], ["openssl rand -base64 32"]),
    Case("filter-not-text", debug_task(lambda c: "{{ 42 | ssec.s3.key_md5 }}"),
         ["a number"], ["base64 text of a key"]),
]


def control_task(ctx):
    """A task that must reach its plain listener: shows that the listener counts connections at all."""
    return {"ssec.s3.object_info": {
        "bucket": ctx.bucket, "object": ctx.obj("control"), "endpoint_url": ctx.http_control.url,
        "allow_plain_http": True, "retries": 0, "connect_timeout": 5, "read_timeout": 5}}


# --------------------------------------------------------------------------
# One run for the whole table
# --------------------------------------------------------------------------


def snapshot(ctx, case):
    taken = {}
    for item in case.state(ctx):
        if item[0] == "object":
            taken[repr(item[:2])] = object_state(ctx.client, ctx.bucket, item[1], item[2])
        elif item[0] == "tree":
            taken[repr(item)] = tree_state(item[1])
        else:
            taken[repr(item)] = file_state(item[1])
    return taken


def everything(ctx):
    return {
        "buckets": {bucket: bucket_state(ctx.client, bucket) for bucket in (ctx.bucket, ctx.other_bucket)},
        "workdir": {name: tree_state(ctx.root / name) for name in ("keys", "files")},
    }


@pytest.fixture(scope="module")
def bad_input_run(s3service):
    root = Path(tempfile.mkdtemp(prefix="ssec-bad-input-"))
    ctx = Context(s3service, root)
    try:
        ctx.setup()
        tasks = [dict(case.task(ctx), name=case.id) for case in CASES] + [dict(control_task(ctx), name="control")]
        before = {case.id: snapshot(ctx, case) for case in CASES}
        whole_before = everything(ctx)
        results = run_tasks(s3service, tasks, root / "run", allow_failures=True)
        after = {case.id: snapshot(ctx, case) for case in CASES}
        whole_after = everything(ctx)
        check_results = run_tasks(s3service, tasks, root / "check-run", check=True, allow_failures=True)
        yield {
            "ctx": ctx,
            "tasks": tasks,
            "results": dict(zip([case.id for case in CASES] + ["control"], results, strict=True)),
            "before": before,
            "after": after,
            "whole": (whole_before, whole_after),
            "check_results": dict(zip([case.id for case in CASES] + ["control"], check_results, strict=True)),
            "whole_after_check": everything(ctx),
            "http_accepted": ctx.http.accepted,
            "control_accepted": ctx.http_control.accepted,
        }
    finally:
        ctx.teardown()
        shutil.rmtree(root, ignore_errors=True)


def test_at_least_40_cases_over_every_plugin(bad_input_run):
    tasks = bad_input_run["tasks"]
    assert len(CASES) >= 40
    used = {name for task in tasks for name in task if name != "name"}
    for plugin in ("key", "object", "download", "object_info", "rekey", "sync"):
        assert "ssec.s3." + plugin in used
    text = json.dumps(tasks)
    assert "lookup('ssec.s3.key'" in text and "ssec.s3.key_md5" in text


@pytest.mark.parametrize("case", [
    pytest.param(case, id=case.id, marks=[pytest.mark.xfail(reason=case.xfail, strict=True)] if case.xfail else [])
    for case in CASES])
def test_bad_input(bad_input_run, case):
    result = bad_input_run["results"][case.id]
    text = json.dumps(result)
    for secret in bad_input_run["ctx"].secret_texts():
        assert secret not in text, "%s: key material in the result" % case.id
    msg = str(result.get("msg", ""))
    if case.outcome == "failed":
        assert result.get("failed"), "%s did not fail: %s" % (case.id, msg)
        said = msg
    else:
        assert not result.get("failed") and not result.get("changed"), "%s: %s" % (case.id, msg)
        said = msg + " " + " ".join(result.get("warnings", []))
        assert result.get("warnings"), "%s: no warning (%s)" % (case.id, msg)
    for fragment in case.problem + case.fix:
        assert fragment.lower() in said.lower(), "%s: %r not in the message: %s" % (case.id, fragment, said)
    before, after = bad_input_run["before"][case.id], bad_input_run["after"][case.id]
    assert after == before, "%s changed its state: %s" % (case.id, differences(before, after))


def test_nothing_changed_anywhere(bad_input_run):
    before, after = bad_input_run["whole"]
    assert after == before, differences(before, after)
    assert bad_input_run["whole_after_check"] == before, differences(before, bad_input_run["whole_after_check"])


@pytest.mark.parametrize("case", [
    pytest.param(case, id=case.id, marks=[pytest.mark.xfail(reason=case.check_mode, strict=True)]
                 if case.check_mode != "same" else []) for case in CASES])
def test_check_mode_predicts_the_failure(bad_input_run, case):
    """--check fails (or warns) with the same message: the problem is found before anything would be written."""
    real, check = bad_input_run["results"][case.id], bad_input_run["check_results"][case.id]
    assert bool(check.get("failed")) == bool(real.get("failed")), check.get("msg")
    assert check.get("msg") == real.get("msg")


def differences(before, after, where=""):
    """The paths at which two nested snapshots differ, with both values (hashes and stat data only)."""
    if isinstance(before, dict) and isinstance(after, dict):
        found = []
        for name in sorted(set(before) | set(after), key=str):
            found += differences(before.get(name, "absent"), after.get(name, "absent"), "%s/%s" % (where, name))
        return found
    return [] if before == after else ["%s: %r -> %r" % (where, before, after)]


def test_plain_http_never_connects(bad_input_run):
    """No case with an http:// endpoint opened a connection; the control task (allow_plain_http) did."""
    http_cases = [case.id for case in CASES if case.needs == "http"]
    assert len(http_cases) >= 6  # object, download, rekey, sync, object_info, endpoint from the environment
    for case_id in http_cases:
        assert "plain http" in bad_input_run["results"][case_id]["msg"]
    assert bad_input_run["http_accepted"] == 0
    assert bad_input_run["control_accepted"] >= 1
    control = bad_input_run["results"]["control"]
    assert control.get("failed")  # the listener closes the connection at once


def test_allow_plain_http_is_documented_as_a_danger():
    """The option's documentation (shared by every module through the doc fragment) says what it costs."""
    sys.path.insert(0, collections_path())
    # pylint: disable-next=import-outside-toplevel
    from ansible_collections.ssec.s3.plugins.doc_fragments.connection import ModuleDocFragment

    options = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"]
    text = " ".join(options["allow_plain_http"]["description"])
    assert options["allow_plain_http"]["default"] is False
    for words in ("B(Dangerous:)", "clear text", "considered leaked", "ssec.s3.rekey", "throwaway"):
        assert words in text
    assert "B(Dangerous:)" in " ".join(options["validate_certs"]["description"])
    assert options["validate_certs"]["default"] is True
    assert "refused before any request" in " ".join(options["endpoint_url"]["description"])


# --------------------------------------------------------------------------
# Object names that are valid: round trip
# --------------------------------------------------------------------------

VALID_NAMES = {
    "unicode": "bad-input/valid/donn\u00e9es/\u00e9t\u00e9 \u2603 \u65e5\u672c.txt",
    "spaces": "bad-input/valid/a name with  spaces /and end .txt",
    "symbols": "bad-input/valid/plus+percent%25&amp=eq?q#hash.txt",
}
# Exactly S3's limit of 1024 bytes, in parts of at most 255 bytes (SeaweedFS's limit for one part).
VALID_NAMES["1024-bytes"] = "bad-input/valid/long/" + "/".join(["\u00e9" * 127] * 3) + "/" + "\u00e9" * 119


def test_valid_object_names_round_trip(s3service, tmp_path):
    names = dict(VALID_NAMES)
    assert len(names["1024-bytes"].encode("utf-8")) == 1024
    key = Key(tmp_path / "round.key")
    tasks = []
    for label, name in names.items():
        content = "content of %s\n" % label
        tasks.append({"ssec.s3.object": {"bucket": s3service.buckets[0], "object": name, "content": content,
                                         "sse_customer_key_file": str(key.path)}})
        tasks.append({"ssec.s3.download": {"bucket": s3service.buckets[0], "object": name,
                                           "dest": str(tmp_path / ("%s.out" % label)),
                                           "sse_customer_key_file": str(key.path)}})
        tasks.append({"ssec.s3.object_info": {"bucket": s3service.buckets[0], "object": name,
                                              "sse_customer_key_file": str(key.path)}})
    results = run_tasks(s3service, tasks, tmp_path / "run")
    client = s3service.client()
    for number, (label, name) in enumerate(names.items()):
        upload_result, download_result, info = results[3 * number:3 * number + 3]
        expected = ("content of %s\n" % label).encode()
        assert upload_result["changed"] and upload_result["object"] == name
        assert (tmp_path / ("%s.out" % label)).read_bytes() == expected
        assert download_result["changed"]
        assert info["exists"] and info["key_matches"] and info["sha256"] == hashlib.sha256(expected).hexdigest()
        # An independent client finds the object under exactly this name.
        assert client.get_object(Bucket=s3service.buckets[0], Key=name, **key.boto3_params())["Body"].read() == expected
        client.delete_object(Bucket=s3service.buckets[0], Key=name)


# --------------------------------------------------------------------------
# Permissions, as an unprivileged user (root reads and writes whatever the modes say)
# --------------------------------------------------------------------------


def python_for_nobody():
    """(interpreter, extra environment) with which user ``nobody`` can import boto3 and cryptography: this
    Python, else the system's python3 with this venv's site-packages (same minor version). None if neither."""
    import sysconfig

    site_packages = sysconfig.get_paths()["purelib"]
    candidates = [(sys.executable, {}), ("/usr/bin/python3", {"PYTHONPATH": site_packages})]
    for interpreter, env in candidates:
        probe = "%s%s -c 'import boto3, cryptography.hazmat.primitives.ciphers.aead'" % (
            "".join("%s=%s " % item for item in env.items()), interpreter)
        try:
            proc = subprocess.run(["su", "nobody", "-s", "/bin/sh", "-c", probe], capture_output=True, timeout=60,
                                  check=False)
        except (OSError, subprocess.TimeoutExpired):
            return None
        if proc.returncode == 0:
            return interpreter, env
    return None


def test_unreadable_files_as_an_unprivileged_user(s3service):
    """The modules run as ``nobody`` (become): a ``src`` and a key file it cannot read, a ``dest`` directory it
    cannot write. Each fails naming the file and the permissions, and nothing changes."""
    if os.geteuid() != 0:
        pytest.skip("needs root, to become nobody")
    python = python_for_nobody()
    if python is None:
        pytest.skip("no Python with boto3 that user nobody may run")
    root = Path(tempfile.mkdtemp(prefix="ssec-bad-input-perm-"))
    try:
        os.chmod(root, 0o755)  # traversable by nobody; the files in it are not readable or writable by it
        key = Key(root / "root-only.key")
        src = root / "root-only.txt"
        src.write_bytes(b"readable by root only\n")
        os.chmod(src, 0o600)
        locked = root / "locked-dir"
        locked.mkdir(mode=0o755)
        client = s3service.client()
        name = "bad-input/perm/object"
        client.put_object(Bucket=s3service.buckets[0], Key=name, Body=b"stored\n", **key.boto3_params())
        become = {"become": True, "become_method": "ansible.builtin.su", "become_user": "nobody",
                  "become_flags": "-s /bin/sh", "vars": {"ansible_python_interpreter": python[0]},
                  "environment": python[1]}
        lookup = "{{ lookup('ssec.s3.key', '%s') }}" % key.path  # read on the controller, as root
        ca_bundle = root / "ca.pem"
        shutil.copy(s3service.ca_file, ca_bundle)
        os.chmod(ca_bundle, 0o644)
        common = {"bucket": s3service.buckets[0], "object": name, "ca_bundle": str(ca_bundle)}
        tasks = [
            dict(become, **{"ssec.s3.object_info": dict(common, ca_bundle=str(s3service.ca_file))}),
            dict(become, **{"ssec.s3.object": dict(common, src=str(src), sse_customer_key=lookup)}),
            dict(become, **{"ssec.s3.object": dict(common, content="x", sse_customer_key_file=str(key.path))}),
            dict(become, **{"ssec.s3.download": dict(common, dest=str(locked / "out.txt"), sse_customer_key=lookup)}),
            dict(become, **{"ssec.s3.sync": {"mode": "pull", "bucket": s3service.buckets[0], "prefix": "bad-input/perm/",
                                             "path": str(locked), "sse_customer_key": lookup,
                                             "ca_bundle": str(ca_bundle)}}),
        ]
        before = (tree_state(root), object_state(client, s3service.buckets[0], name, key))
        results = run_tasks(s3service, tasks, root / "run", allow_failures=True)
        expected = [
            (["ca_bundle", "cannot be read by this user"], ["permissions"]),
            (["src", "cannot be read by this user"], ["permissions", "become"]),
            (["cannot be read", "permission denied"], ["permissions"]),
            (["not writable by this user"], ["permissions", "become"]),
            (["not writable by this user"], ["permissions", "become"]),
        ]
        for result, (problem, fix) in zip(results, expected, strict=True):
            assert result.get("failed"), result.get("msg")
            for fragment in problem + fix:
                assert fragment.lower() in result["msg"].lower(), result["msg"]
            assert key.b64 not in json.dumps(result)
        after = (tree_state(root), object_state(client, s3service.buckets[0], name, key))

        def files(tree):  # without the playbook run's own directory
            return {path: state for path, state in tree.items() if path.split(os.sep)[0] != "run"}

        assert files(after[0]) == files(before[0]), differences(files(before[0]), files(after[0]))
        assert after[1] == before[1]
        client.delete_object(Bucket=s3service.buckets[0], Key=name)
    finally:
        shutil.rmtree(root, ignore_errors=True)

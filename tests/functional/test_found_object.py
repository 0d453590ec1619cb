# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bugs found by trying to break ssec.s3.object and ssec.s3.download, each replayed for real.

- An ``endpoint_url`` of the AWS config file (``[default]``, ``[profile X]``, the ``services`` form) is refused
  before any request, when it is plain http: a socket on loopback must see no connection at all.
- A stored digest that does not open with the key (a rotation done with another tool kept it) is a difference
  for ssec.s3.object and ssec.s3.sync push: they upload again and the digest opens afterwards.
- A src rewritten while its (throttled) upload runs never leaves an object whose digest describes other bytes.
- dest that is a FIFO or a device node, metadata a server would normalize: refused before anything happens.
- Check mode says "would ..." and returns the object's size with the object's sha256.
- TLS diagnoses name the real cause; the dangerous connection options warn.

Every result is checked with boto3 directly against the service (and the stored digest opened by this file's
own implementation of the digest format), or with the file system.
"""

from __future__ import annotations

import base64
import hashlib
import os
import stat
import threading
import time
import uuid

import pytest

from listener import ConnectionCounter
from playbook import Key, open_multipart_uploads, run_tasks

MIB = 1024 * 1024
DIGEST = "ssec-sha256"


# ---- helpers ------------------------------------------------------------------------------------------------


def unseal(key: Key, token: str) -> str:
    """The plaintext SHA-256 in a stored digest (DESIGN.md: HKDF-SHA256 of the key, AES-GCM), written here anew."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    version, _dot, body = token.partition(".")
    assert version == "v1", token
    sealed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"ssec.s3 content digest v1").derive(key.raw)
    return AESGCM(derived).decrypt(sealed[:12], sealed[12:], b"ssec-sha256:v1").hex()


def stored(client, bucket, name, key):
    """(plaintext bytes, digest token) of an object, read with ``key``; None when it does not exist."""
    try:
        answer = client.get_object(Bucket=bucket, Key=name, **key.boto3_params())
    except client.exceptions.NoSuchKey:
        return None
    return answer["Body"].read(), answer.get("Metadata", {}).get(DIGEST)


def digest_matches_content(client, bucket, name, key) -> bool:
    data, token = stored(client, bucket, name, key)
    return token is not None and unseal(key, token) == hashlib.sha256(data).hexdigest()


def exists(client, bucket, name) -> bool:
    try:
        client.head_object(Bucket=bucket, Key=name)
    except client.exceptions.ClientError as exc:
        return exc.response["ResponseMetadata"]["HTTPStatusCode"] != 404
    return True


@pytest.fixture
def prefix():
    return "found-object-%s/" % uuid.uuid4().hex[:12]


@pytest.fixture
def key(tmp_path):
    return Key(tmp_path / "ssec.key")


# ---- item 1: plain http from the AWS config file -------------------------------------------------------------

_PROFILE_CREDENTIALS = "aws_access_key_id = %s\naws_secret_access_key = %s\n"


def _config_files(url, service):
    """(case id, config text, task overrides, environment): every way the config file can name an endpoint."""
    credentials = _PROFILE_CREDENTIALS % (service.access_key, service.secret_key)
    services = "[services local]\ns3 =\n  endpoint_url = %s\n" % url
    no_keys = {"access_key": None, "secret_key": None}
    return [
        ("default", "[default]\nendpoint_url = %s\n" % url, {}, {}),
        ("profile-option", "[profile dev]\nendpoint_url = %s\n%s" % (url, credentials),
         dict(no_keys, profile="dev"), {}),
        ("profile-from-AWS_PROFILE", "[profile dev]\nendpoint_url = %s\n" % url, {}, {"AWS_PROFILE": "dev"}),
        ("services-default", "[default]\nservices = local\n" + services, {}, {}),
        ("services-profile", "[profile dev]\nservices = local\n%s" % credentials + services,
         dict(no_keys, profile="dev"), {}),
    ]


def test_plain_http_from_the_aws_config_file_never_connects(s3service, tmp_path, key):
    listener, control = ConnectionCounter(), ConnectionCounter()
    bucket = s3service.buckets[0]
    try:
        tasks = []
        for case, text, overrides, environment in _config_files(listener.url, s3service):
            config = tmp_path / ("config-" + case)
            config.write_text(text)
            tasks.append({"name": case, "environment": dict(environment, AWS_CONFIG_FILE=str(config)),
                          "ssec.s3.object": dict({"bucket": bucket, "object": "never/" + case, "content": "secret\n",
                                                  "endpoint_url": None, "sse_customer_key_file": str(key.path),
                                                  "retries": 0, "connect_timeout": 3}, **overrides)})
        # The control: the same config file form, allowed, must reach its socket (so the file is really read).
        config = tmp_path / "config-control"
        config.write_text("[default]\nservices = local\n[services local]\ns3 =\n  endpoint_url = %s\n" % control.url)
        tasks.append({"name": "control", "environment": {"AWS_CONFIG_FILE": str(config)},
                      "ssec.s3.object_info": {"bucket": bucket, "object": "never/control", "endpoint_url": None,
                                              "allow_plain_http": True, "retries": 0, "connect_timeout": 3,
                                              "read_timeout": 3}})
        results = run_tasks(s3service, tasks, tmp_path / "run", allow_failures=True)
    finally:
        listener.close()
        control.close()
    for task, result in zip(tasks[:-1], results, strict=False):
        message = result.get("msg", "")
        assert result.get("failed"), "%s: %s" % (task["name"], message)
        assert "from the AWS config file %s" % task["environment"]["AWS_CONFIG_FILE"] in message, message
        assert "uses plain http" in message and "allow_plain_http" in message, message
    assert listener.accepted == 0
    assert control.accepted >= 1
    assert any("allow_plain_http: true" in warning for warning in results[-1].get("warnings", [])), results[-1]
    assert not any(exists(s3service.client(), bucket, "never/" + task["name"]) for task in tasks)


# ---- item 5: a stored digest that does not open with the key ---------------------------------------------------


def test_a_digest_kept_from_another_key_is_sealed_anew(s3service, tmp_path, prefix):
    client, bucket = s3service.client(), s3service.buckets[0]
    old, new = Key(tmp_path / "old.key"), Key(tmp_path / "new.key")
    data = os.urandom(100 * 1024)
    (tmp_path / "tree").mkdir()
    src = tmp_path / "tree" / "file.bin"
    src.write_bytes(data)
    name, synced = prefix + "object.bin", prefix + "sync/file.bin"
    run_tasks(s3service, [
        {"ssec.s3.object": {"bucket": bucket, "object": name, "src": str(src), "sse_customer_key_file": str(old.path)}},
        {"ssec.s3.sync": {"mode": "push", "path": str(tmp_path / "tree"), "bucket": bucket, "prefix": prefix + "sync/",
                          "sse_customer_key_file": str(old.path)}},
    ], tmp_path / "first")
    # The rotation of another tool: GET with the old key, PUT the same bytes with the new key, metadata kept.
    for object_name in (name, synced):
        answer = client.get_object(Bucket=bucket, Key=object_name, **old.boto3_params())
        client.put_object(Bucket=bucket, Key=object_name, Body=answer["Body"].read(), Metadata=answer["Metadata"],
                          **new.boto3_params())
        assert not digest_matches_content_safe(client, bucket, object_name, new)

    object_task = {"ssec.s3.object": {"bucket": bucket, "object": name, "src": str(src),
                                      "sse_customer_key_file": str(new.path)}}
    sync_task = {"ssec.s3.sync": {"mode": "push", "path": str(tmp_path / "tree"), "bucket": bucket,
                                  "prefix": prefix + "sync/", "sse_customer_key_file": str(new.path)}}
    check = run_tasks(s3service, [object_task, sync_task], tmp_path / "check", check=True)
    assert check[0]["changed"] and check[0]["msg"].startswith("Would upload the object again: its stored content "
                                                              "digest does not open with this key"), check[0]["msg"]
    assert check[1]["changed"] and check[1]["counts"]["uploaded"] == 1, check[1]
    assert not digest_matches_content_safe(client, bucket, name, new)  # check mode wrote nothing

    real = run_tasks(s3service, [object_task, sync_task, object_task, sync_task], tmp_path / "real")
    assert real[0]["changed"] and "does not open with this key" in real[0]["msg"], real[0]["msg"]
    assert real[1]["changed"] and real[1]["counts"]["uploaded"] == 1, real[1]
    assert not real[2]["changed"] and not real[3]["changed"], (real[2]["msg"], real[3]["msg"])
    for object_name in (name, synced):
        assert digest_matches_content(client, bucket, object_name, new)
        assert stored(client, bucket, object_name, new)[0] == data


def digest_matches_content_safe(client, bucket, name, key) -> bool:
    """digest_matches_content, False when the digest does not open with ``key`` at all."""
    from cryptography.exceptions import InvalidTag

    try:
        return digest_matches_content(client, bucket, name, key)
    except InvalidTag:
        return False


# ---- item 6: a src that changes during the upload ----------------------------------------------------------------


def _rewrite_in_place(path, size):
    with open(path, "r+b") as handle:
        handle.write(os.urandom(size))


def _upload_while_rewriting(s3service, fault_proxy, tmp_path, key, name, size, rewrites, part_size_mb=None,
                            sync=False):
    """Upload ``size`` bytes through the throttled proxy; rewrite the file ``rewrites`` times (None: until the task
    ends), each once the proxy has seen the upload's data start. Returns the task's result. ``sync``: push the
    file's directory to the prefix ``name`` with ssec.s3.sync instead."""
    src = tmp_path / "tree" / "src.bin"
    src.parent.mkdir()
    src.write_bytes(os.urandom(size))
    fault_proxy.throttle(bytes_per_second=MIB)
    bucket = s3service.buckets[0]
    task = {"bucket": bucket, "object": name, "src": str(src), "sse_customer_key_file": str(key.path),
            "endpoint_url": fault_proxy.endpoint_url, "retries": 1, "read_timeout": 120}
    if sync:
        task.update(mode="push", path=str(src.parent), prefix=task.pop("object"))
        del task["src"]
    if part_size_mb:
        task["part_size_mb"] = part_size_mb
    done = threading.Event()

    def rewriter():
        count = 0
        while not done.is_set() and (rewrites is None or count < rewrites):
            seen = fault_proxy.count(method="PUT")
            while not done.is_set() and fault_proxy.count(method="PUT") <= seen:
                time.sleep(0.05)
            time.sleep(0.5)  # inside the data: at 1 MiB/s each part takes seconds
            if done.is_set():
                return
            _rewrite_in_place(src, size)
            count += 1

    thread = threading.Thread(target=rewriter, daemon=True)
    thread.start()
    try:
        module = "ssec.s3.sync" if sync else "ssec.s3.object"
        return run_tasks(s3service, [{module: task}], tmp_path / "run", allow_failures=True)[0]
    finally:
        done.set()
        thread.join(timeout=10)
        fault_proxy.throttle(None)


@pytest.mark.parametrize("size, part_size_mb", [(4 * MIB, None), (6 * MIB, 5)], ids=["single-put", "multipart"])
def test_a_src_rewritten_during_the_upload_is_uploaded_again(s3service, fault_proxy, tmp_path, key, prefix, size,
                                                             part_size_mb):
    client, bucket, name = s3service.client(), s3service.buckets[0], prefix + "changing.bin"
    result = _upload_while_rewriting(s3service, fault_proxy, tmp_path, key, name, size, 1, part_size_mb)
    assert not result.get("failed"), result.get("msg")
    # First what was left: the stored digest must describe the stored bytes.
    assert digest_matches_content(client, bucket, name, key), "the digest of %s describes other bytes" % name
    assert "src changed during the upload" in result["msg"], result["msg"]
    data, _token = stored(client, bucket, name, key)
    assert data == (tmp_path / "tree" / "src.bin").read_bytes()
    assert result["sha256"] == hashlib.sha256(data).hexdigest()
    assert all(upload["Key"] != name for upload in open_multipart_uploads(client, bucket))


def test_sync_push_reports_what_it_stored_when_a_file_changed_during_the_upload(
        s3service, fault_proxy, tmp_path, key, prefix):
    client, bucket = s3service.client(), s3service.buckets[0]
    result = _upload_while_rewriting(s3service, fault_proxy, tmp_path, key, prefix + "tree", 4 * MIB, 1, sync=True)
    assert not result.get("failed"), result.get("msg")
    name = prefix + "tree/src.bin"
    assert digest_matches_content(client, bucket, name, key), "the digest of %s describes other bytes" % name
    data, _token = stored(client, bucket, name, key)
    assert data == (tmp_path / "tree" / "src.bin").read_bytes()
    # The result describes the bytes stored, not those hashed before the rewrite.
    assert result["uploaded"] == ["src.bin"] and result["counts"]["bytes_transferred"] == len(data)
    assert result["diff"]["after"]["src.bin"] == "sha256 " + hashlib.sha256(data).hexdigest(), result["diff"]


def test_a_src_that_keeps_changing_fails_and_leaves_no_wrong_object(s3service, fault_proxy, tmp_path, key, prefix):
    client, bucket, name = s3service.client(), s3service.buckets[0], prefix + "always-changing.bin"
    result = _upload_while_rewriting(s3service, fault_proxy, tmp_path, key, name, 2 * MIB, None)
    assert not exists(client, bucket, name) or digest_matches_content(client, bucket, name, key)
    assert result.get("failed"), result.get("msg")
    assert "changed while it was uploaded" in result["msg"] and "Run the task again" in result["msg"], result["msg"]
    assert not exists(client, bucket, name)


# ---- items 4, 8, 12, 15, 16: refusals before any request, check mode, TLS, warnings ----------------------------


def test_refusals_check_mode_tls_and_warnings(s3service, tmp_path, key, prefix):
    client, bucket = s3service.client(), s3service.buckets[0]
    name = prefix + "object.txt"
    client.put_object(Bucket=bucket, Key=name, Body=b"x", **key.boto3_params())  # replaced below by the module
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    device = tmp_path / "null"
    if os.geteuid() == 0:
        os.mknod(device, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    else:
        os.symlink("/dev/null", device)
    old_dest = tmp_path / "old.txt"
    old_dest.write_bytes(b"an older, longer file than the object\n")
    not_a_ca = tmp_path / "not-a-ca.pem"
    not_a_ca.write_text("this file holds no certificate\n")
    plain_port = s3service.plain_http_endpoint_url.rsplit(":", 1)[1]
    key_file = {"sse_customer_key_file": str(key.path)}

    def upload(**extra):
        return {"ssec.s3.object": dict({"bucket": bucket, "object": name, "content": "content\n"}, **key_file, **extra)}

    def download(dest, **extra):
        return {"ssec.s3.download": dict({"bucket": bucket, "object": name, "dest": str(dest)}, **key_file, **extra)}

    refusals = [
        ("fifo", download(fifo), ["is not a regular file"]),
        ("device", download(device), ["is not a regular file"]),
        ("metadata-underscore", upload(metadata={"build_id": "7"}), ["holds '_'", "'build-id'"]),
        ("metadata-spaces", upload(metadata={"note": " x "}), ["begins or ends with spaces"]),
        ("metadata-empty", upload(metadata={"note": ""}), ["is empty"]),
        ("https-to-plain-port", {"ssec.s3.object_info": {"bucket": bucket, "object": name, "retries": 0,
                                                         "endpoint_url": "https://127.0.0.1:%s" % plain_port}},
         ["this port does not speak TLS", "port of endpoint_url"]),
        ("ca-bundle-not-a-ca", {"ssec.s3.object_info": {"bucket": bucket, "object": name, "ca_bundle": str(not_a_ca)}},
         ["ca_bundle %s holds no certificate" % not_a_ca]),
    ]
    warned = [
        ("validate-certs-false", {"ssec.s3.object_info": {"bucket": bucket, "object": name, "ca_bundle": None,
                                                          "validate_certs": False}}, "validate_certs: false"),
        ("allow-plain-http", {"ssec.s3.object_info": {"bucket": bucket, "object": name, "allow_plain_http": True,
                                                      "endpoint_url": s3service.plain_http_endpoint_url}},
         "allow_plain_http: true"),
    ]
    tasks = [dict(task, name=case) for case, task, _fragments in refusals]
    tasks += [dict(task, name=case) for case, task, _warning in warned]
    tasks += [dict(upload(content="new content\n"), name="object-check"),
              dict(download(old_dest), name="download-replace-check"),
              dict(download(tmp_path / "absent.txt"), name="download-new-check")]
    before = client.get_object(Bucket=bucket, Key=name, **key.boto3_params())["Body"].read()
    results = run_tasks(s3service, tasks, tmp_path / "check", check=True, allow_failures=True, timeout=300)
    by_name = dict(zip([task["name"] for task in tasks], results, strict=True))
    for case, _task, fragments in refusals:
        message = by_name[case].get("msg", "")
        assert by_name[case].get("failed"), "%s: %s" % (case, message)
        for fragment in fragments:
            assert fragment in message, "%s: %r not in %s" % (case, fragment, message)
        assert "could not be verified" not in message, message
    for case, _task, warning in warned:
        assert not by_name[case].get("failed"), by_name[case].get("msg")
        assert any(text.startswith(warning) for text in by_name[case].get("warnings", [])), by_name[case]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert not stat.S_ISREG(os.stat(device).st_mode)

    check_upload = by_name["object-check"]
    assert check_upload["changed"] and check_upload["msg"] == "Would upload the object again: its content differed."
    replace = by_name["download-replace-check"]
    assert replace["changed"] and replace["msg"].startswith("Would replace dest"), replace["msg"]
    assert replace["size"] == len(before)  # the object's, not the old file's
    new = by_name["download-new-check"]
    assert new["changed"] and new["msg"].startswith("Would download"), new["msg"]
    # Check mode wrote nothing.
    assert client.get_object(Bucket=bucket, Key=name, **key.boto3_params())["Body"].read() == before
    assert old_dest.read_bytes() == b"an older, longer file than the object\n"
    assert not (tmp_path / "absent.txt").exists()

    # The object as ssec.s3.object writes it (with a digest), then check mode of download reports its values.
    real = run_tasks(s3service, [upload(content="new content\n"), download(old_dest)], tmp_path / "real-up",
                     check=False)
    assert real[0]["msg"] == "Uploaded the object again: its content differed."
    after = run_tasks(s3service, [download(old_dest)], tmp_path / "check-again", check=True)[0]
    assert after["msg"] == "dest already holds the object's content."
    old_dest.write_bytes(b"changed locally, and longer than the object\n")
    replace = run_tasks(s3service, [download(old_dest)], tmp_path / "check-3", check=True)[0]
    assert replace["msg"] == "Would replace dest with the object's content, verified."
    assert (replace["size"], replace["sha256"]) == (len(b"new content\n"), hashlib.sha256(b"new content\n").hexdigest())

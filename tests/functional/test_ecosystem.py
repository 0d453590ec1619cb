# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection inside Ansible's own machinery, against the real server.

- ``async`` / ``poll``: a 300 MiB upload and download run as async jobs polled every 2 s, and a download started
  with ``poll: 0`` and waited for with ``async_status``; the content is checked with boto3 and the job files hold
  no key material.
- ``module_defaults`` with ``group/ssec.s3.s3``: the connection options set once for the play reach every module
  of the group, none of which names one; an option on a task beats the group's default.
"""

from __future__ import annotations

import hashlib
import json
import uuid

import yaml

from playbook import Key, connection_defaults, open_multipart_uploads, random_file, run_play, sha256_file

MIB = 1024 * 1024
ASYNC_SIZE = 300 * MIB
CONNECTION_OPTIONS = ("endpoint_url", "ca_bundle", "access_key", "secret_key", "region")


def _collect(names, results_file):
    """A last task writing the registered results ``names`` into ``results_file`` as a JSON object."""
    return {
        "name": "Write the results for the test",
        "ansible.builtin.copy": {
            "content": "{{ {%s} | to_json }}" % ", ".join("'%s': %s" % (name, name) for name in names),
            "dest": str(results_file),
            "mode": "0600",
        },
    }


def _play_output(proc):
    stdout, stderr = (stream.decode("utf-8", "replace")[-6000:] for stream in (proc.stdout, proc.stderr))
    return "--- stdout ---\n%s\n--- stderr ---\n%s" % (stdout, stderr)


def _stored_sha256(client, bucket, name, key):
    """SHA-256 of the object's plaintext, streamed from the server by boto3 with the key."""
    body = client.get_object(Bucket=bucket, Key=name, **key.boto3_params())["Body"]
    digest = hashlib.sha256()
    for chunk in iter(lambda: body.read(MIB), b""):
        digest.update(chunk)
    return digest.hexdigest()


def test_long_transfers_run_as_async_jobs(s3service, tmp_path):
    bucket = s3service.buckets[0]
    name = "ecosystem/async-%s.bin" % uuid.uuid4().hex[:12]
    key = Key(tmp_path / "ssec.key")
    source = random_file(tmp_path / "source.bin", ASYNC_SIZE)
    expected = sha256_file(source)
    async_dir = tmp_path / "async"
    results_file = tmp_path / "results.json"
    common = {"bucket": bucket, "object": name, "sse_customer_key_file": str(key.path)}
    tasks = [
        {"name": "Upload as an async job, polled", "ssec.s3.object": dict(common, src=str(source)),
         "async": 900, "poll": 2, "register": "upload"},
        {"name": "Download as an async job, polled", "ssec.s3.download": dict(common, dest=str(tmp_path / "polled.bin")),
         "async": 900, "poll": 2, "register": "download"},
        {"name": "Start a download and leave it running", "async": 900, "poll": 0, "register": "started",
         "ssec.s3.download": dict(common, dest=str(tmp_path / "background.bin"))},
        {"name": "Wait for the download", "ansible.builtin.async_status": {"jid": "{{ started.ansible_job_id }}"},
         "register": "waited", "until": "waited is finished", "retries": 600, "delay": 1},
        _collect(["upload", "download", "started", "waited"], results_file),
    ]
    client = s3service.client()
    try:
        proc = run_play(s3service, tasks, tmp_path, env={"ANSIBLE_ASYNC_DIR": str(async_dir)})
        assert proc.returncode == 0, _play_output(proc)
        results = json.loads(results_file.read_text(encoding="utf-8"))

        upload, download, started, waited = (results[name] for name in ("upload", "download", "started", "waited"))
        # Each ran as a job of Ansible's async wrapper (a job id), and reported the module's own result.
        for result in (upload, download, started):
            assert result.get("ansible_job_id"), result
        assert upload["changed"] is True and upload["size"] == ASYNC_SIZE and upload["sha256"] == expected
        assert download["changed"] is True and download["sha256"] == expected
        # poll: 0 returns at once, before the job ends; async_status then gives the module's result.
        assert started["finished"] == 0 and "sha256" not in started
        assert waited["finished"] == 1 and waited["changed"] is True and waited["sha256"] == expected
        assert sha256_file(tmp_path / "polled.bin") == expected
        assert sha256_file(tmp_path / "background.bin") == expected

        assert client.head_object(Bucket=bucket, Key=name, **key.boto3_params())["ContentLength"] == ASYNC_SIZE
        assert _stored_sha256(client, bucket, name, key) == expected
        assert not [upload for upload in open_multipart_uploads(client, bucket) if upload["Key"] == name]

        # The job files the async wrapper leaves hold results only, never the key.
        job_files = [path for path in async_dir.rglob("*") if path.is_file()]
        assert job_files
        for path in job_files:
            text = path.read_text(encoding="utf-8", errors="replace")
            assert key.b64 not in text and key.raw.hex() not in text, path
    finally:
        client.delete_object(Bucket=bucket, Key=name)


def test_group_module_defaults_reach_every_module(s3service, tmp_path):
    bucket = s3service.buckets[0]
    prefix = "ecosystem/defaults-%s" % uuid.uuid4().hex[:12]
    name = prefix + "/one.txt"
    key_a, key_b = Key(tmp_path / "a.key"), Key(tmp_path / "b.key")
    source = tmp_path / "one.txt"
    source.write_bytes(b"set once, used by every module\n")
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "top.txt").write_bytes(b"top\n")
    (tree / "sub" / "deep.txt").write_bytes(b"deep\n")
    wrong_defaults = dict(connection_defaults(s3service), secret_key="not-the-secret-key-of-the-service")
    results_file = tmp_path / "results.json"
    with_a = {"bucket": bucket, "sse_customer_key_file": str(key_a.path)}
    tasks = [
        # None of these tasks names a connection option: they all come from the play's module_defaults.
        {"name": "Upload", "ssec.s3.object": dict(with_a, object=name, src=str(source)), "register": "upload"},
        {"name": "Download", "ssec.s3.download": dict(with_a, object=name, dest=str(tmp_path / "back.txt")),
         "register": "download"},
        {"name": "Describe the object", "ssec.s3.object_info": dict(with_a, object=name), "register": "info"},
        {"name": "Rotate it to key B", "register": "rekey",
         "ssec.s3.rekey": {"bucket": bucket, "object": name, "old_sse_customer_key_file": str(key_a.path),
                           "sse_customer_key_file": str(key_b.path)}},
        {"name": "Push a tree", "ssec.s3.sync": dict(with_a, mode="push", path=str(tree), prefix=prefix + "/tree"),
         "register": "push"},
        {"name": "Describe the prefix", "ssec.s3.object_info": dict(with_a, prefix=prefix + "/"),
         "register": "prefix_info"},
        {
            "name": "Group defaults with a wrong secret key",
            "module_defaults": {"group/ssec.s3.s3": wrong_defaults},
            "block": [
                {"name": "Describe with the defaults' secret", "ssec.s3.object_info": dict(with_a, object=name),
                 "register": "wrong_secret", "ignore_errors": True},
                {"name": "Describe with the right secret on the task", "register": "task_secret",
                 "ssec.s3.object_info": dict(with_a, object=name, secret_key=s3service.secret_key)},
            ],
        },
        _collect(["upload", "download", "info", "rekey", "push", "prefix_info", "wrong_secret", "task_secret"],
                 results_file),
    ]
    client = s3service.client()
    try:
        proc = run_play(s3service, tasks, tmp_path)
        assert proc.returncode == 0, _play_output(proc)

        # The play as it ran: the five connection options in the group's defaults, on no task.
        play = yaml.safe_load((tmp_path / "playbook.yml").read_text(encoding="utf-8"))[0]
        assert play["module_defaults"] == {"group/ssec.s3.s3": connection_defaults(s3service)}
        assert set(play["module_defaults"]["group/ssec.s3.s3"]) == set(CONNECTION_OPTIONS)
        for task in play["tasks"][:6]:
            (module,) = [name for name in task if name.startswith("ssec.s3.")]
            assert not set(task[module]) & set(CONNECTION_OPTIONS), task["name"]

        results = json.loads(results_file.read_text(encoding="utf-8"))
        for label in ("upload", "download", "info", "rekey", "push", "prefix_info", "task_secret"):
            assert not results[label].get("failed"), (label, results[label].get("msg"))
        assert results["upload"]["changed"] is True
        assert (tmp_path / "back.txt").read_bytes() == source.read_bytes()
        assert results["info"]["key_matches"] is True
        assert results["rekey"]["counts"]["rotated"] == 1
        assert results["push"]["counts"]["uploaded"] == 2
        assert results["prefix_info"]["counts"]["this_key"] == 2 and results["prefix_info"]["counts"]["other_key"] == 1

        # The wrong secret of the block's defaults was sent (the server refused the signature); the task's own
        # secret_key replaced it.
        assert results["wrong_secret"]["failed"] is True
        assert "HTTP 403" in results["wrong_secret"]["msg"]
        assert results["task_secret"]["key_matches"] is False and results["task_secret"]["exists"] is True

        # What the modules did, read by boto3.
        read = client.get_object(Bucket=bucket, Key=name, **key_b.boto3_params())["Body"].read()
        assert read == source.read_bytes()
        for relative in ("top.txt", "sub/deep.txt"):
            stored = client.get_object(Bucket=bucket, Key="%s/tree/%s" % (prefix, relative), **key_a.boto3_params())
            assert stored["Body"].read() == (tree / relative).read_bytes()
    finally:
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix + "/")
        for item in [item for page in pages for item in page.get("Contents", [])]:
            client.delete_object(Bucket=bucket, Key=item["Key"])

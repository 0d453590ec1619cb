# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Many ``ansible-playbook`` forks on the same object at the same moment, against the real service.

Each test runs one real ``ansible-playbook`` over an inventory of local hosts (``host01``...) with one fork per
host, so the module runs in that many processes at once, as it does when a play targets a fleet:

- 10 hosts download the same object into one directory, each to its own ``dest``: every file is the object,
  byte for byte, and no temp file of any of them is left;
- 10 hosts upload their own, different file (8-20 MiB, multipart) to the same object name, a few rounds: the
  object then opens with the key as exactly one of the 10 versions, whole (never a mix of parts of several), its
  sealed digest is that version's (a check-mode rerun reports ``ok`` for that host alone), and no multipart
  upload is left open.

Sixteen creators of the same key file are raced by the integration target ``key`` (tasks/concurrent.yml: one
key, every creator reports its MD5, exactly one ``changed``, nothing else left in the directory); not repeated
here.
"""

from __future__ import annotations

import hashlib
import json
import random
import subprocess
import sys
import uuid
from pathlib import Path

from playbook import (
    Key,
    PlaybookError,
    ansible_env,
    connection_defaults,
    open_multipart_uploads,
    random_file,
    sha256_file,
    venv_bin,
    write_private_json,
)

MIB = 1024 * 1024
PART_SIZE_MB = 5
UPLOAD_ROUNDS = 3
FORKED_TIMEOUT = 1200


def hosts(count: int) -> list:
    return ["host%02d" % number for number in range(1, count + 1)]


def run_forked(service, workdir, host_vars: dict, tasks: list, check=False) -> dict:
    """Run ``tasks`` on every host of ``host_vars`` (name -> variables) at once, one fork per host, each host a
    local connection with this Python; return each host's registered results, ``{host: [result, ...]}``.

    Every task is registered and run with ``ignore_errors``; the play's last task writes all hosts' results into
    a file (``run_once``), which is read back.
    """
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    names = ["ssec_result_%d" % number for number in range(len(tasks))]
    play_tasks = [dict(task, register=name, ignore_errors=True) for name, task in zip(names, tasks, strict=True)]
    results_file = workdir / "results.json"
    if results_file.exists():
        results_file.unlink()
    per_host = "{%s}" % ", ".join("'%s': hostvars[h].%s | default({'skipped': true})" % (name, name)
                                  for name in names)
    play_tasks.append({
        "name": "collect every host's results",
        "ansible.builtin.copy": {
            "content": "{% set out = {} %}{% for h in ansible_play_hosts_all %}"
                       "{% set _ = out.update({h: " + per_host + "}) %}{% endfor %}{{ out | to_json }}",
            "dest": str(results_file), "mode": "0600"},
        "run_once": True,
        "check_mode": False,
    })
    play = {
        "name": "ssec.s3 concurrency test",
        "hosts": "all",
        "gather_facts": False,
        "module_defaults": {"group/ssec.s3.s3": connection_defaults(service)},
        "tasks": play_tasks,
    }
    playbook = workdir / "playbook.yml"
    inventory = workdir / "inventory.json"
    write_private_json(playbook, [play])
    write_private_json(inventory, {"all": {
        "vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable},
        "hosts": host_vars}})
    env = ansible_env(workdir)
    command = [venv_bin("ansible-playbook"), "-i", str(inventory), "--forks", str(len(host_vars)), str(playbook)]
    if check:
        command.append("--check")
    proc = subprocess.run(command, env=env, cwd=str(workdir), capture_output=True, text=True,
                          timeout=FORKED_TIMEOUT, check=False)
    if proc.returncode != 0 or not results_file.exists():
        raise PlaybookError("ansible-playbook exited with %d\n--- stdout ---\n%s\n--- stderr ---\n%s"
                            % (proc.returncode, proc.stdout[-6000:], proc.stderr[-6000:]))
    collected = json.loads(results_file.read_text(encoding="utf-8"))
    return {host: [collected[host][name] for name in names] for host in host_vars}


def _status(result) -> str:
    if result.get("failed"):
        return "failed: %s" % result.get("msg")
    if result.get("skipped"):
        return "skipped"
    return "changed" if result.get("changed") else "ok"


def test_ten_hosts_download_the_same_object(s3service, tmp_path):
    """10 forks download one multipart object at once, each to its own dest in one directory."""
    bucket = s3service.buckets[0]
    name = "concurrency-%s/shared.bin" % uuid.uuid4().hex[:12]
    key = Key(tmp_path / "ssec.key")
    source = random_file(tmp_path / "source.bin", 17 * MIB)
    source_sha256 = sha256_file(source)
    dest_dir = tmp_path / "downloads"
    dest_dir.mkdir()
    upload = {"name": "upload the object once", "run_once": True, "ssec.s3.object": {
        "bucket": bucket, "object": name, "src": str(source), "part_size_mb": PART_SIZE_MB,
        "sse_customer_key_file": str(key.path)}}
    download = {"name": "download it, every host to its own dest", "ssec.s3.download": {
        "bucket": bucket, "object": name, "dest": str(dest_dir) + "/{{ inventory_hostname }}.bin",
        "sse_customer_key_file": str(key.path), "concurrency": 4}}
    names = hosts(10)
    results = run_forked(s3service, tmp_path / "run", {host: {} for host in names}, [upload, download])

    # A run_once result is registered for every host.
    assert _status(results[names[0]][0]) == "changed"
    assert results[names[0]][0].get("parts", 0) > 1, "the source should have gone up in parts"
    statuses = {host: _status(results[host][1]) for host in names}
    assert set(statuses.values()) == {"changed"}, statuses
    for host in names:
        result = results[host][1]
        assert result["sha256"] == source_sha256, host
        assert result["sse_customer_key_md5"] == key.md5_b64, host
        assert sha256_file(dest_dir / ("%s.bin" % host)) == source_sha256, host
    # The dests and nothing else: no temp file of any download, not one overwritten by a neighbour.
    assert sorted(path.name for path in dest_dir.iterdir()) == sorted("%s.bin" % host for host in names)


def test_ten_hosts_upload_to_the_same_object(s3service, tmp_path):
    """10 forks upload their own, different multipart file to one object name at once, several rounds.

    The last complete upload wins: the object must open with the key as one whole version (never parts of
    several), its sealed digest must be that version's, and nothing may be left half done.
    """
    bucket = s3service.buckets[0]
    prefix = "concurrency-%s/" % uuid.uuid4().hex[:12]
    name = prefix + "contested.bin"
    key = Key(tmp_path / "ssec.key")
    client = s3service.client()
    names = hosts(10)
    rng = random.Random()
    upload = {"name": "upload this host's own file to the shared name", "ssec.s3.object": {
        "bucket": bucket, "object": name, "src": "{{ upload_src }}", "part_size_mb": PART_SIZE_MB,
        "concurrency": 3, "sse_customer_key_file": str(key.path)}}
    winners = []
    for round_number in range(1, UPLOAD_ROUNDS + 1):
        round_dir = tmp_path / ("round%d" % round_number)
        round_dir.mkdir()
        sources = {}
        for host in names:
            # Different sizes too: a mix of parts of two versions could not have the length of either.
            path = random_file(round_dir / ("%s.bin" % host), rng.randint(8 * MIB, 20 * MIB))
            sources[host] = (sha256_file(path), path.stat().st_size)
        host_vars = {host: {"upload_src": str(round_dir / ("%s.bin" % host))} for host in names}
        results = run_forked(s3service, round_dir / "run", host_vars, [upload])
        statuses = {host: _status(results[host][0]) for host in names}
        # Each host saw either no object or another host's version (the same key, other content): all upload.
        assert set(statuses.values()) == {"changed"}, "round %d: %s" % (round_number, statuses)
        assert all(results[host][0]["sha256"] == sources[host][0] for host in names)

        # Read back with boto3 and the key: one whole version.
        answer = client.get_object(Bucket=bucket, Key=name, **key.boto3_params())
        digest, size = hashlib.sha256(), 0
        for block in answer["Body"].iter_chunks(MIB):
            digest.update(block)
            size += len(block)
        stored = digest.hexdigest()
        matching = [host for host in names if sources[host][0] == stored]
        assert len(matching) == 1, "round %d: the object (%d bytes) is none of the 10 versions" % (round_number, size)
        winner = matching[0]
        assert size == sources[winner][1]
        assert answer["SSECustomerKeyMD5"].split(",")[0].strip() == key.md5_b64

        # The sealed digest is the winner's: in check mode, only the winner's file is already there.
        rerun = run_forked(s3service, round_dir / "check", host_vars, [upload], check=True)
        statuses = {host: _status(rerun[host][0]) for host in names}
        expected = {host: "ok" if host == winner else "changed" for host in names}
        assert statuses == expected, "round %d, winner %s: %s" % (round_number, winner, statuses)

        left = [entry for entry in open_multipart_uploads(client, bucket) if entry["Key"] == name]
        assert not left, "round %d: multipart uploads left open: %d" % (round_number, len(left))
        winners.append(winner)
    print("\nwinners of the %d rounds: %s" % (UPLOAD_ROUNDS, ", ".join(winners)))

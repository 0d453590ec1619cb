# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark a tree of files and a key rotation: ssec.s3.sync and ssec.s3.rekey against their peers.

Not run by CI. See benchmarks/README.md. Usage::

    scripts/bench tree [--files 1000] [--repeat 3] [--skip-loop] [--skip-rotation]
    scripts/bench tree --skip-loop --skip-rotation --candidate /tmp/copy  # time a modified sync
    scripts/bench tree --ops pull,survey --tools sync,aws --rot-files 20000 --rot-size 2048

Starts its own SeaweedFS (tests/support/s3service.py, HTTPS, credentials) with its Prometheus
metrics on loopback, so that every timed run can be charged with the requests and bytes the
server saw during it.

Part 1, a tree of --files random files (1 KiB - 1 MiB, log-uniform, seven directories): first
push into an empty prefix, no-op rerun, rerun after 10 files were edited, pull of the prefix into
a new empty directory, and a survey (one ``ssec.s3.object_info`` task with prefix). Tools, each
into its own prefix, interleaved with their order rotated on every repetition: one ``ssec.s3.sync``
task, a ``loop:`` of ``ssec.s3.object`` tasks (slow: by default only in the first repetition, and
only pushing), ``aws s3 sync`` and ``rclone sync`` with SSE-C. After every push the listing must
hold every file at its size, and 20 random objects plus the edited ones must decrypt with the key
to the local bytes; after a pull the directory must hold exactly the files, 20 random ones with the
source's SHA-256; the survey must count every file under the key.

Part 2, --rot-files objects of --rot-size-kib KiB under an old key: ``ssec.s3.rekey`` (one task,
prefix) against a boto3 script that downloads and re-uploads every object with the new key (8
threads). Bytes downloaded by each come from the server's own counter. After each rotation
``ssec.s3.object_info`` must count every object under the new key, and 20 random objects must
decrypt with it to the original bytes; then the objects are rotated back (a rekey run, not timed).

Every tool is a fresh process (interpreter, binary or ansible-playbook startup included). Every
timed run has its peak RSS (transfer.py's poller): the module's AnsiballZ process for the Ansible
tools, the process itself for the peers. --ops and --tools choose what runs.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import platform
import random
import re
import shutil
import signal
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

# pylint: disable=wrong-import-position
from transfer import (  # noqa: E402  (the sibling benchmark: tools' environments, runner, service loader)
    CANDIDATE as _CANDIDATE_TOOL, MIB, MODULE, RSS_TARGET_MB, Bench, Interrupted, Runner, _raise_interrupted,
    clean_env, clean_up, load_s3service, log, median, sha256_file, venv_bin,
)

KIB = 1024
BUCKET = "ssec-tree"
SYNC, LOOP, AWS, RCLONE = "ssec.s3.sync", "object loop", "aws s3 sync", "rclone sync"
INFO = "ssec.s3.object_info"  # the survey's only tool: one task with prefix over the sync prefix
# --candidate PATH: ssec.s3.sync from another copy of the collection (e.g. with a performance fix).
CANDIDATE = "candidate"
TOOLS = (SYNC, CANDIDATE, LOOP, AWS, RCLONE)
PREFIXES = {SYNC: "tree/sync/", CANDIDATE: "tree/candidate/", LOOP: "tree/loop/", AWS: "tree/aws/",
            RCLONE: "tree/rclone/"}
FIRST, NOOP, CHANGED, PULL, SURVEY = "first push", "no-op rerun", "10 changed", "pull", "survey"
OPS = (FIRST, NOOP, CHANGED, PULL, SURVEY)
PUSHES = (FIRST, NOOP, CHANGED)
OP_KEYS = {"first": FIRST, "noop": NOOP, "changed": CHANGED, "pull": PULL, "survey": SURVEY}
CHANGED_FILES = 10
SPOT_CHECKS = 20
# A tool still running after this many seconds is killed: one run over 100 000 objects can take half an hour.
RUN_TIMEOUT = 3 * 3600
# Targets for the sync task (median wall time): the loop's, and issue 12's ratios to the peers.
LOOP_FACTOR = 20.0
RATIO_TARGETS = ((NOOP, AWS, 1.5), (NOOP, RCLONE, 1.0), (FIRST, AWS, 1.0), (FIRST, RCLONE, 1.5))
DIRECTORIES = ("", "docs", "docs/api", "docs/api/v2", "img", "img/2026/06", "data/raw")
EXTENSIONS = (".txt", ".json", ".html", ".css", ".png", ".bin", ".csv.gz")

REKEY, BOTO3 = "ssec.s3.rekey", "boto3 script"
ROT_TOOLS = (REKEY, BOTO3)
# --tools names; ssec.s3.rekey always runs in part 2, ssec.s3.object_info whenever ssec.s3.sync does.
TOOL_KEYS = {"sync": SYNC, "loop": LOOP, "aws": AWS, "rclone": RCLONE, "boto3": BOTO3}
ROT_PREFIXES = {REKEY: "rot/rekey/", BOTO3: "rot/boto3/"}

# The download-and-re-upload peer of rekey: a fresh interpreter, boto3 defaults, 8 threads. It keeps
# the content type and user metadata, as a careful script would.
BOTO3_ROTATE = r"""
import sys
from concurrent.futures import ThreadPoolExecutor
import boto3
from botocore.config import Config
endpoint, ca, access, secret, region, bucket, prefix, old_file, new_file = sys.argv[1:]
old, new = open(old_file, "rb").read(), open(new_file, "rb").read()
client = boto3.session.Session().client(
    "s3", endpoint_url=endpoint, verify=ca, region_name=region,
    aws_access_key_id=access, aws_secret_access_key=secret,
    config=Config(s3={"addressing_style": "path"}, max_pool_connections=8))
names = [entry["Key"] for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
         for entry in page.get("Contents", ())]

def rotate(name):
    got = client.get_object(Bucket=bucket, Key=name, SSECustomerAlgorithm="AES256", SSECustomerKey=old)
    data = got["Body"].read()
    client.put_object(Bucket=bucket, Key=name, Body=data, ContentType=got.get("ContentType") or "binary/octet-stream",
                      Metadata=got.get("Metadata") or {}, SSECustomerAlgorithm="AES256", SSECustomerKey=new)
    return len(data)

with ThreadPoolExecutor(max_workers=8) as pool:
    total = sum(pool.map(rotate, names))
print("rotated %d objects, %d bytes" % (len(names), total))
"""


# --------------------------------------------------------------------------
# The service, with its metrics
# --------------------------------------------------------------------------


def metered_service_class(s3service):
    """S3Service that also serves SeaweedFS's Prometheus metrics on a loopback port."""

    class MeteredS3Service(s3service.S3Service):
        metrics_port = None

        def weed_args(self):
            taken = set(self.ports.values())
            for _attempt in range(500):
                port = random.randrange(*s3service.PORT_RANGE)
                if port not in taken and s3service._port_is_free(port):  # pylint: disable=protected-access
                    break
            else:
                raise s3service.S3ServiceError("no free port for the metrics")
            self.metrics_port = port
            return super().weed_args() + ["-metricsIp=127.0.0.1", "-metricsPort=%d" % port]

        def metrics(self, bucket):
            """Counters of the S3 gateway for ``bucket``: requests by type, bodies' bytes, GETs with a body."""
            url = "http://127.0.0.1:%d/metrics" % self.metrics_port
            with urllib.request.urlopen(url, timeout=10) as answer:  # nosec: loopback, our own server
                text = answer.read().decode("utf-8", "replace")
            label = 'bucket="%s"' % bucket
            values = {"GET": 0.0, "PUT": 0.0, "COPY": 0.0, "LIST": 0.0, "DELETE": 0.0,
                      "sent": 0.0, "received": 0.0, "bodies": 0.0}
            for line in text.splitlines():
                if not line.startswith("SeaweedFS_s3_") or label not in line:
                    continue
                name, _sep, value = line.rpartition(" ")
                if name.startswith("SeaweedFS_s3_request_total{"):
                    kind = re.search(r'type="([^"]*)"', name).group(1)
                    values[kind] = values.get(kind, 0.0) + float(value)
                elif name.startswith("SeaweedFS_s3_bucket_traffic_sent_bytes_total{"):
                    values["sent"] += float(value)
                elif name.startswith("SeaweedFS_s3_bucket_traffic_received_bytes_total{"):
                    values["received"] += float(value)
                elif name.startswith("SeaweedFS_s3_time_to_first_byte_millisecond_count{") and 'type="GET"' in name:
                    values["bodies"] += float(value)
            return values

    return MeteredS3Service


def requests_between(before, after):
    """What the server saw between two metrics snapshots; HEADs count as type GET without a first byte."""
    delta = {name: after.get(name, 0.0) - before.get(name, 0.0) for name in set(before) | set(after)}
    return {
        "HEAD": int(delta["GET"] - delta["bodies"]), "GET": int(delta["bodies"]), "PUT": int(delta["PUT"]),
        "COPY": int(delta["COPY"]), "LIST": int(delta["LIST"]), "sent": int(delta["sent"]),
        "received": int(delta["received"]),
    }


# --------------------------------------------------------------------------
# The local tree
# --------------------------------------------------------------------------


class Tree:
    """The local files: relative name -> size, written with random bytes."""

    def __init__(self, root: Path, count: int, rng: random.Random, smallest=KIB, largest=MIB, directories=None):
        self.root = root
        self.rng = rng
        self.sizes = {}
        folders = DIRECTORIES if not directories else ["dir-%02d" % number for number in range(directories)]
        for index in range(count):
            directory = folders[index % len(folders)]
            name = "file-%04d%s" % (index, EXTENSIONS[rng.randrange(len(EXTENSIONS))])
            relative = "%s/%s" % (directory, name) if directory else name
            # Log-uniform between smallest and largest (1 KiB and 1 MiB): many small files, a few large ones.
            self.sizes[relative] = int(smallest * (largest / smallest) ** rng.random())
        past = time.time() - 86400  # a tree edited yesterday, like most trees being synced
        for relative, size in self.sizes.items():
            path = self.path(relative)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(os.urandom(size))
            os.utime(path, (past, past))

    def path(self, relative) -> Path:
        return self.root / relative

    @property
    def total(self) -> int:
        return sum(self.sizes.values())

    def edit(self, count):
        """Rewrite ``count`` random files with new random bytes, as an editor would (new mtime).

        Half of them keep their size, so that a tool comparing sizes only would miss them; the
        others grow or shrink by up to a quarter.
        """
        chosen = self.rng.sample(sorted(self.sizes), count)
        for number, relative in enumerate(chosen):
            size = self.sizes[relative]
            if number % 2:
                delta = max(1, size // 4)
                size = size + self.rng.randint(1, delta) if self.rng.random() < 0.5 or size < 2 * KIB \
                    else size - self.rng.randint(1, delta)
            self.sizes[relative] = size
            self.path(relative).write_bytes(os.urandom(size))
        return chosen


# --------------------------------------------------------------------------
# The tools
# --------------------------------------------------------------------------


class TreeBench(Bench):
    """The tools' command lines against one service and one bucket, with two keys (old and new)."""

    def __init__(self, service, workdir, key_raw, runner, candidate=None):
        super().__init__(service, workdir, key_raw, runner, candidate)
        self.new_key_raw = os.urandom(32)
        self.new_key_file = workdir / "ssec-new.key"
        fd = os.open(self.new_key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(self.new_key_raw)

    def playbook_env(self, tool=SYNC):
        env = self.ansible_env(_CANDIDATE_TOOL if tool == CANDIDATE else MODULE)
        # One line per task with its whole result as JSON: the counts are read from it.
        env["ANSIBLE_STDOUT_CALLBACK"] = "ansible.builtin.minimal"
        # sync's record of what it verified (sync_record) stays in the benchmark's directory.
        env["XDG_CACHE_HOME"] = str(self.workdir / "cache" / tool.replace(" ", "-"))
        return env

    def connection(self, key_file=None):
        s3 = self.service
        return {
            "endpoint_url": s3.endpoint_url, "ca_bundle": str(s3.ca_file), "access_key": s3.access_key,
            "secret_key": s3.secret_key, "region": s3.region,
            "sse_customer_key_file": str(key_file or self.key_file),
        }

    def write_playbook(self, name, module, args, key_file=None, loop=None):
        task = {"name": module, module: dict(self.connection(key_file), **args)}
        if loop is not None:
            task["loop"] = loop
            task["loop_control"] = {"label": "{{ item.object }}"}
        play = [{"name": "ssec.s3 tree benchmark", "hosts": "localhost", "gather_facts": False, "tasks": [task]}]
        path = self.playbooks / ("%s.yml" % name)
        path.write_text(json.dumps(play, indent=1), encoding="utf-8")
        return path

    def playbook_argv(self, path):
        return [venv_bin("ansible-playbook"), "-i", "localhost,", "-c", "local", str(path)]

    def sync_command(self, tool, tree, pull_into=None):
        """(argv, env, RSS watch) of one sync of the whole tree into the tool's prefix, or of the prefix into the
        directory ``pull_into``. The watch: the module's process for the Ansible tools, the tool's own for peers."""
        s3, prefix = self.service, PREFIXES[tool]
        if tool in (SYNC, CANDIDATE):
            args = {"mode": "pull", "path": str(pull_into)} if pull_into else {"mode": "push", "path": str(tree.root)}
            path = self.write_playbook("sync", "ssec.s3.sync", dict(args, bucket=BUCKET, prefix=prefix))
            return self.playbook_argv(path), self.playbook_env(tool), self.module_watch(tool, "sync")
        if tool == LOOP and not pull_into:
            items = [{"src": str(tree.path(relative)), "object": prefix + relative} for relative in sorted(tree.sizes)]
            path = self.write_playbook("loop", "ssec.s3.object", {
                "bucket": BUCKET, "object": "{{ item.object }}", "src": "{{ item.src }}"}, loop=items)
            return self.playbook_argv(path), self.playbook_env(), self.module_watch(tool, "object")
        local = str(pull_into or tree.root)
        if tool == AWS:
            remote = "s3://%s/%s" % (BUCKET, prefix)
            argv = [venv_bin("aws"), "--endpoint-url", s3.endpoint_url, "--ca-bundle", str(s3.ca_file),
                    "s3", "sync", *((remote, local) if pull_into else (local, remote)), "--sse-c", "AES256",
                    "--sse-c-key", "fileb://%s" % self.key_file, "--no-progress"]
            return argv, self.aws_env(), True
        if tool == RCLONE:
            remote = "bench:%s/%s" % (BUCKET, prefix.rstrip("/"))
            argv = [venv_bin("rclone"), "--config", os.devnull, "--ca-cert", str(s3.ca_file),
                    "--s3-sse-customer-algorithm", "AES256", "--s3-sse-customer-key-base64", self.key_b64,
                    "sync", *((remote, local) if pull_into else (local, remote)), "-v", "--stats", "0"]
            return argv, self.rclone_env(), True
        raise ValueError(tool)

    def survey_command(self):
        """(argv, env, RSS watch) of one ssec.s3.object_info task with prefix over the sync prefix."""
        path = self.write_playbook("survey", INFO, {"bucket": BUCKET, "prefix": PREFIXES[SYNC]})
        return self.playbook_argv(path), self.playbook_env(), self.module_watch(SYNC, "object_info")

    def rotation_command(self, tool, prefix, old_file, new_file):
        s3 = self.service
        if tool == REKEY:
            args = {"bucket": BUCKET, "prefix": prefix, "old_sse_customer_key_file": str(old_file)}
            path = self.write_playbook("rekey-%s" % prefix.replace("/", "_"), "ssec.s3.rekey", args, key_file=new_file)
            return self.playbook_argv(path), self.playbook_env(), self.module_watch(tool, "rekey")
        if tool == BOTO3:
            argv = [sys.executable, "-c", BOTO3_ROTATE, s3.endpoint_url, str(s3.ca_file), s3.access_key,
                    s3.secret_key, s3.region, BUCKET, prefix, str(old_file), str(new_file)]
            return argv, clean_env({"AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
                                    "AWS_EC2_METADATA_DISABLED": "true"}), True
        raise ValueError(tool)

    def empty_sync(self):
        """One ssec.s3.sync task over an empty directory: Ansible and the module's own fixed cost."""
        empty = self.workdir / "empty-tree"
        empty.mkdir(exist_ok=True)
        path = self.write_playbook("sync-empty", "ssec.s3.sync", {
            "mode": "push", "path": str(empty), "bucket": BUCKET, "prefix": "tree/empty/"})
        return self.runner.run(self.playbook_argv(path), self.playbook_env(), str(self.workdir))

    def run_task(self, name, module, args, key_file=None):
        """One untimed ansible task; its result."""
        path = self.write_playbook(name, module, args, key_file=key_file)
        run = self.runner.run(self.playbook_argv(path), self.playbook_env(), str(self.workdir))
        return task_result(run.output)

    # -- the bucket, from the benchmark's own client ---------------------------

    def listing(self, prefix):
        """object name -> (LastModified, ETag, Size) under ``prefix``."""
        found = {}
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
            for entry in page.get("Contents", ()):
                found[entry["Key"]] = (entry["LastModified"], entry["ETag"], entry["Size"])
        return found

    def empty(self, prefix):
        names = sorted(self.listing(prefix))
        for start in range(0, len(names), 1000):
            self.client.delete_objects(Bucket=BUCKET, Delete={
                "Objects": [{"Key": name} for name in names[start:start + 1000]], "Quiet": True})
        if self.listing(prefix):
            raise RuntimeError("could not empty s3://%s/%s" % (BUCKET, prefix))

    def read(self, name, key_raw):
        got = self.client.get_object(Bucket=BUCKET, Key=name, SSECustomerAlgorithm="AES256", SSECustomerKey=key_raw)
        if not got.get("SSECustomerAlgorithm"):
            raise RuntimeError("s3://%s/%s is not SSE-C encrypted" % (BUCKET, name))
        return got["Body"].read()


def task_result(output):
    """The result of the (last) task from the minimal callback's ``host | STATE => {json}``."""
    matches = list(re.finditer(r"^\S+ \| (CHANGED|SUCCESS|FAILED!) => ", output, re.MULTILINE))
    if not matches:
        raise RuntimeError("no task result in the ansible output:\n%s" % output[-3000:])
    result, _end = json.JSONDecoder().raw_decode(output, matches[-1].end())
    return result


def transferred_by_tool(tool, op, output):
    """How many files the tool says it uploaded (downloaded for a pull), from its own output."""
    if tool in (SYNC, CANDIDATE):
        result = task_result(output)
        if result["counts"]["failed"] or result["counts"]["skipped"]:
            raise RuntimeError("ssec.s3.sync %s: %s" % (op, result["msg"]))
        return result["counts"]["downloaded" if op == PULL else "uploaded"]
    if tool == LOOP:
        return sum(1 for item in task_result(output)["results"] if item.get("changed"))
    if tool == AWS:
        return sum(1 for line in output.splitlines() if line.startswith("download: " if op == PULL else "upload: "))
    if tool == RCLONE:
        return sum(1 for line in output.splitlines() if ": Copied (" in line)
    raise ValueError(tool)


# --------------------------------------------------------------------------
# Part 1: the tree
# --------------------------------------------------------------------------


class Measure:  # pylint: disable=too-few-public-methods
    """One timed run: its Run, what the server saw, files transferred (tool's count, and the listing's count of
    changed objects; for a pull the files found in the directory, for a survey the objects counted)."""

    def __init__(self, run, requests, by_tool, by_listing):
        self.run = run
        self.requests = requests
        self.by_tool = by_tool
        self.by_listing = by_listing


def timed(bench, service, command):
    """Run ``command`` (argv, env, RSS watch): its Run, with the peak RSS, and the requests the server saw."""
    argv, env, watch = command
    before = service.metrics(BUCKET)
    run = bench.runner.run(argv, env, str(bench.workdir), watch=watch)
    requests = requests_between(before, service.metrics(BUCKET))
    if not run.peak_rss:
        raise RuntimeError("%s: the RSS poller found no process to measure" % " ".join(argv[:2]))
    return run, requests


def verify_tree(bench, tool, tree, names, rng, listed):
    """Every file ``listed`` at its size; ``names`` plus random ones decrypt with the key to the local bytes."""
    prefix = PREFIXES[tool]
    expected = {prefix + relative: size for relative, size in tree.sizes.items()}
    missing = sorted(set(expected) - set(listed))
    extra = sorted(set(listed) - set(expected))
    wrong = sorted(name for name in set(expected) & set(listed) if listed[name][2] != expected[name])
    if missing or extra or wrong:
        raise RuntimeError("%s: the prefix does not hold the tree (missing %s, extra %s, wrong size %s)"
                           % (tool, missing[:3], extra[:3], wrong[:3]))
    checked = set(names) | set(rng.sample(sorted(tree.sizes), min(SPOT_CHECKS, len(tree.sizes))))
    for relative in sorted(checked):
        if bench.read(prefix + relative, bench.key_raw) != tree.path(relative).read_bytes():
            raise RuntimeError("%s: s3://%s/%s does not decrypt to the local file" % (tool, BUCKET, prefix + relative))
    return len(checked)


def run_push(bench, service, tool, tree, op, changed, rng):
    """One timed push of the tree, checked; its Measure and the number of objects decrypted."""
    before_listing = bench.listing(PREFIXES[tool])
    run, requests = timed(bench, service, bench.sync_command(tool, tree))
    after_listing = bench.listing(PREFIXES[tool])
    by_listing = sum(1 for name, state in after_listing.items() if before_listing.get(name) != state)
    measure = Measure(run, requests, transferred_by_tool(tool, op, run.output), by_listing)
    return measure, verify_tree(bench, tool, tree, changed, rng, after_listing)


def run_pull(bench, service, tool, tree, rng):
    """One timed pull of the tool's prefix into a new empty directory: it must hold exactly the tree (names and
    sizes), and random files its bytes. Its Measure and the number of files compared."""
    dest = bench.workdir / "pulled" / tool.replace(" ", "-")
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    run, requests = timed(bench, service, bench.sync_command(tool, tree, pull_into=dest))
    found = {}
    for directory, _subdirs, files in os.walk(dest):
        for name in files:
            path = Path(directory, name)
            found[path.relative_to(dest).as_posix()] = path.stat().st_size
    if found != tree.sizes:
        missing, extra = sorted(set(tree.sizes) - set(found)), sorted(set(found) - set(tree.sizes))
        wrong = sorted(name for name in set(found) & set(tree.sizes) if found[name] != tree.sizes[name])
        raise RuntimeError("%s pull: the directory does not hold the tree (missing %s, extra %s, wrong size %s)"
                           % (tool, missing[:3], extra[:3], wrong[:3]))
    checked = rng.sample(sorted(tree.sizes), min(SPOT_CHECKS, len(tree.sizes)))
    for relative in checked:
        if sha256_file(dest / relative) != sha256_file(tree.path(relative)):
            raise RuntimeError("%s pull: %s differs from the source" % (tool, relative))
    shutil.rmtree(dest)
    return Measure(run, requests, transferred_by_tool(tool, PULL, run.output), len(found)), len(checked)


def check_survey(counts, expected, what):
    """object_info's counts: all ``expected`` objects this_key, nothing else."""
    if counts["this_key"] != expected or sum(counts.values()) != expected:
        raise RuntimeError("%s: object_info counts %s, expected %d this_key" % (what, counts, expected))
    return counts["this_key"]


def run_survey(bench, service, tree):
    """One timed object_info task with prefix over the sync prefix, which must count every file as this_key."""
    run, requests = timed(bench, service, bench.survey_command())
    count = check_survey(task_result(run.output)["counts"], len(tree.sizes), "survey of %s" % PREFIXES[SYNC])
    return Measure(run, requests, count, count), 0


def op_tools(args, op, tools):
    """The tools timed on ``op``, in the order of ``tools``: the survey is object_info's alone, the loop only
    pushes, the pull is for --pull-tools (the candidate with sync)."""
    if op == SURVEY:
        return [INFO] if SYNC in tools else []
    if op == PULL:
        chosen = args.pull_tools | ({CANDIDATE} if SYNC in args.pull_tools else set())
        return [tool for tool in tools if tool in chosen and tool != LOOP]
    return [tool for tool in tools if tool != LOOP or op in PUSHES]


def tree_part(args, bench, service, rng):
    tools = [tool for tool in TOOLS if tool in args.tools]
    log("creating %d files" % args.files)
    began = time.monotonic()
    tree = Tree(bench.workdir / "tree", args.files, rng, args.min_size, args.max_size, args.directories)
    log("tree: %d files, %.1f MiB, in %.1f s" % (len(tree.sizes), tree.total / MIB, time.monotonic() - began))
    ops = [op for op in OPS if op in args.ops]
    results = {op: {tool: [] for tool in op_tools(args, op, tools)} for op in ops}
    pings, empties = [], []
    for rep in range(args.repeat):
        present = [tool for tool in tools if tool != LOOP or rep < args.loop_repeat]
        order = present[rep % len(present):] + present[:rep % len(present)]
        for tool in present:
            bench.empty(PREFIXES[tool])  # each repetition starts from an empty prefix
        for op in ops:
            changed = []
            if op == CHANGED:
                time.sleep(1.1)  # LastModified has whole seconds: the edits come after the last upload's second
                changed = tree.edit(CHANGED_FILES)
            for tool in op_tools(args, op, order):
                if tool == LOOP and op not in args.loop_ops:
                    continue
                if op == PULL:
                    measure, checked = run_pull(bench, service, tool, tree, rng)
                elif op == SURVEY:
                    measure, checked = run_survey(bench, service, tree)
                else:
                    measure, checked = run_push(bench, service, tool, tree, op, changed, rng)
                results[op][tool].append(measure)
                log("rep %d %-11s %-12s %7.2f s wall, %6.2f s CPU, srv %5.2f s CPU, peak RSS %.1f MB; files %d "
                    "(tool) %d (%s); HEAD %d GET %d PUT %d LIST %d; %d checked ok" % (
                        rep + 1, op, tool, measure.run.seconds, measure.run.cpu, measure.run.server_cpu,
                        measure.run.peak_rss / 1e6, measure.by_tool, measure.by_listing,
                        {PULL: "local", SURVEY: "counted"}.get(op, "listing"), measure.requests["HEAD"],
                        measure.requests["GET"], measure.requests["PUT"], measure.requests["LIST"], checked))
        pings.append(bench.ping())
        empties.append(bench.empty_sync())
        log("rep %d ansible ping %.2f s; %s of an empty directory %.2f s" % (
            rep + 1, pings[-1].seconds, SYNC, empties[-1].seconds))
    return tree, results, (pings, empties)


def print_tree_table(args, tree, results, references):
    """Print part 1's table; return its lines of the Targets block."""
    pings, empties = references

    def runs_of(op, tool):
        return results.get(op, {}).get(tool, [])

    def wall(op, tool):
        return median([m.run.seconds for m in runs_of(op, tool)])

    def ratio(op, tool, peer):
        if not runs_of(op, peer) or not runs_of(op, tool):
            return "%8s" % "-"
        return "%7.2fx" % (wall(op, tool) / wall(op, peer))

    out = ["", "SSE-C sync of a tree of %d files (%.1f MiB, %s - %s, %d directories) over HTTPS to SeaweedFS on "
           "loopback, %d repetition(s), medians" % (
               len(tree.sizes), tree.total / MIB, _size(min(tree.sizes.values())), _size(max(tree.sizes.values())),
               len({relative.rpartition("/")[0] for relative in tree.sizes}), args.repeat),
           "(process startup included; every run checked: listing complete at the right sizes, %d random objects"
           % SPOT_CHECKS,
           " plus the edited ones decrypt with the key to the local bytes; a pull's directory holds exactly the",
           " files at their sizes and %d random ones match the source's SHA-256)" % SPOT_CHECKS, ""]
    header = "%-11s %-19s %8s %8s %8s %7s %7s %7s %6s %6s %6s %5s %6s  %s" % (
        "operation", "tool", "wall s", "vs aws", "vs sync", "CPU s", "srv CPU", "RSS MB", "HEAD", "GET", "PUT", "LIST",
        "files", "wall of each run (s)")
    out += [header, "-" * len(header)]
    for op, by_tool in results.items():
        for tool, runs in by_tool.items():
            if not runs:
                out.append("%-11s %-19s %8s  (not measured)" % (op, tool, "-"))
                continue
            out.append("%-11s %-19s %8.2f %s %s %7.2f %7.2f %7.1f %6d %6d %6d %5d %6d  %s" % (
                op, tool, wall(op, tool), ratio(op, tool, AWS), ratio(op, tool, SYNC),
                median([m.run.cpu for m in runs]), median([m.run.server_cpu for m in runs]),
                max(m.run.peak_rss for m in runs) / 1e6,
                median([m.requests["HEAD"] for m in runs]), median([m.requests["GET"] for m in runs]),
                median([m.requests["PUT"] for m in runs]), median([m.requests["LIST"] for m in runs]),
                median([m.by_listing for m in runs]), " ".join("%.2f" % m.run.seconds for m in runs)))
        out.append("")
    out.append("CPU s: user+system CPU of the tool's process tree; srv CPU: SeaweedFS meanwhile. RSS MB: the highest")
    out.append("peak RSS (VmHWM, polled every 50 ms) of the repetitions, of the module's AnsiballZ process for the")
    out.append("Ansible tools (not the controller), of the tool's own process for the peers. HEAD/GET/PUT/LIST:")
    out.append("requests the server counted during the run (GET = with a body). files: objects whose LastModified,")
    out.append("ETag or size changed (listing before/after); for %s the files in the directory, for %s the" % (
        PULL, SURVEY))
    out.append("objects counted this_key.")
    counted = {op: len(runs[LOOP]) for op, runs in results.items() if LOOP in runs}
    if counted:
        out.append("%s: %s." % (LOOP, ", ".join("%s measured %d time(s)" % item for item in counted.items())))
    if pings:
        out.append("ansible-playbook fixed cost (one ansible.builtin.ping task): median %.2f s wall, %.2f s CPU (%s)"
                   % (median([run.seconds for run in pings]), median([run.cpu for run in pings]),
                      " ".join("%.2f" % run.seconds for run in pings)))
    if empties:
        out.append("%s of an empty directory to an empty prefix (Ansible, module startup, one LIST): median %.2f s "
                   "wall, %.2f s CPU (%s)" % (SYNC, median([run.seconds for run in empties]),
                                              median([run.cpu for run in empties]),
                                              " ".join("%.2f" % run.seconds for run in empties)))
        if runs_of(NOOP, SYNC):
            extra = wall(NOOP, SYNC) - median([run.seconds for run in empties])
            out.append("  so the %s of %d files costs %.2f s beyond it: %.2f ms per file (hash, HEAD, compare)" % (
                NOOP, len(tree.sizes), extra, 1000 * extra / len(tree.sizes)))
    if CHANGED in results:
        out.append("")
        out.append("%s rerun: files transferred in each repetition (tool's own report / listing / server PUTs)"
                   % CHANGED)
        for tool, runs in results[CHANGED].items():
            if runs:
                counts = ["%d/%d/%d" % (m.by_tool, m.by_listing, m.requests["PUT"]) for m in runs]
                out.append("  %-12s %s" % (tool, "  ".join(counts)))
    print("\n".join(out), flush=True)

    targets = []
    for sync in (tool for tool in (SYNC, CANDIDATE) if runs_of(FIRST, tool)):
        if runs_of(NOOP, sync) and runs_of(NOOP, LOOP):
            speedup = wall(NOOP, LOOP) / wall(NOOP, sync)
            targets.append(target_line(sync, "no-op rerun >= %.0fx faster than the %s: %.1fx" % (
                LOOP_FACTOR, LOOP, speedup), speedup >= LOOP_FACTOR))
        for op, peer, factor in RATIO_TARGETS:
            if runs_of(op, sync) and runs_of(op, peer):
                value = wall(op, sync) / wall(op, peer)
                targets.append(target_line(sync, "%s <= %.1fx %s: %.2fx" % (op, factor, peer, value), value <= factor))
        if runs_of(NOOP, sync):
            heads = [m.requests["HEAD"] for m in runs_of(NOOP, sync)]
            targets.append(target_line(sync, "%s: no HEAD request: %s" % (NOOP, " ".join(map(str, heads))),
                                       not any(heads)))
        runs = runs_of(CHANGED, sync)
        if runs:
            targets.append(target_line(sync, "%s rerun transfers exactly %d files: %s" % (
                CHANGED, CHANGED_FILES, " ".join(str(m.by_listing) for m in runs)),
                all(count == CHANGED_FILES for m in runs for count in (m.by_tool, m.by_listing))))
    for op, by_tool in results.items():
        for tool in (SYNC, CANDIDATE, INFO):
            if by_tool.get(tool):
                targets.append(rss_target(tool, op, [m.run for m in by_tool[tool]]))
    return targets


def target_line(tool, text, met):
    return "  %-19s %s  %s" % (tool, text, "met" if met else "NOT MET")


def rss_target(tool, what, runs):
    """The Targets line of the highest peak RSS of ``runs`` against the issue's bound."""
    peak = max(run.peak_rss for run in runs) / 1e6
    return target_line(tool, "%s: peak RSS <= %d MB: %.1f MB" % (what, RSS_TARGET_MB, peak), peak <= RSS_TARGET_MB)


def _size(count):
    if count < KIB:
        return "%d B" % count
    return "%d KiB" % (count // KIB) if count < MIB else "%.1f MiB" % (count / MIB)


# --------------------------------------------------------------------------
# Part 2: key rotation
# --------------------------------------------------------------------------


def rotation_part(args, bench, service, rng):
    tools = [tool for tool in ROT_TOOLS if tool == REKEY or tool in args.tools]
    source = bench.workdir / "rot-src"
    log("creating %d objects of %s" % (args.rot_files, _size(args.rot_size)))
    digests = {}
    for index in range(args.rot_files):
        relative = "%s/obj-%05d.bin" % (DIRECTORIES[index % len(DIRECTORIES)] or "top", index)
        data = os.urandom(args.rot_size)
        path = source / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        digests[relative] = hashlib.sha256(data).hexdigest()
    keys = {"old": (bench.key_file, bench.key_raw), "new": (bench.new_key_file, bench.new_key_raw)}
    for tool in tools:
        began = time.monotonic()
        result = bench.run_task("populate", "ssec.s3.sync", {
            "mode": "push", "path": str(source), "bucket": BUCKET, "prefix": ROT_PREFIXES[tool]})
        if result["counts"]["uploaded"] != args.rot_files:
            raise RuntimeError("populating %s: %s" % (ROT_PREFIXES[tool], result["msg"]))
        log("uploaded %d objects under the old key to %s in %.1f s" % (
            args.rot_files, ROT_PREFIXES[tool], time.monotonic() - began))
    shutil.rmtree(source)

    runs = {tool: [] for tool in tools}
    methods, pings = [], []
    for rep in range(args.repeat):
        order = tools if rep % 2 == 0 else tools[::-1]
        for tool in order:
            prefix = ROT_PREFIXES[tool]
            run, requests = timed(bench, service, bench.rotation_command(tool, prefix, keys["old"][0], keys["new"][0]))
            runs[tool].append((run, requests))
            if tool == REKEY:
                result = task_result(run.output)
                if result["counts"]["rotated"] != args.rot_files or result["counts"]["failed"]:
                    raise RuntimeError("rekey rotated %s of %d: %s" % (
                        result["counts"]["rotated"], args.rot_files, result["msg"]))
                methods.append(sorted({entry["method"] for entry in result["rotated"]}))
            verify_rotation(bench, prefix, digests, keys["new"], rng)
            log("rep %d %-13s %7.2f s wall, %6.2f s CPU, srv %5.2f s CPU, peak RSS %.1f MB; downloaded %.1f MiB, "
                "GET %d HEAD %d COPY %d PUT %d; object_info: all %d under the new key, %d decrypted ok" % (
                    rep + 1, tool, run.seconds, run.cpu, run.server_cpu, run.peak_rss / 1e6, requests["sent"] / MIB,
                    requests["GET"], requests["HEAD"], requests["COPY"], requests["PUT"], args.rot_files,
                    SPOT_CHECKS))
            if rep + 1 == args.repeat:
                continue
            # Back under the old key for the next repetition: a rekey run, not timed.
            began = time.monotonic()
            back = bench.run_task("rotate-back", "ssec.s3.rekey", {
                "bucket": BUCKET, "prefix": prefix, "old_sse_customer_key_file": str(keys["new"][0])},
                key_file=keys["old"][0])
            if back["counts"]["rotated"] != args.rot_files:
                raise RuntimeError("rotating %s back: %s" % (prefix, back["msg"]))
            log("rep %d rotated %s back to the old key in %.1f s (not timed)" % (
                rep + 1, prefix, time.monotonic() - began))
        pings.append(bench.ping())  # the fixed cost taken off rekey's CPU per object
    return runs, methods, pings


def verify_rotation(bench, prefix, digests, new_key, rng):
    """object_info with the new key counts every object as this_key; random ones decrypt to the original bytes."""
    info = bench.run_task("object-info", INFO, {"bucket": BUCKET, "prefix": prefix}, key_file=new_key[0])
    check_survey(info["counts"], len(digests), "after the rotation of %s" % prefix)
    for relative in rng.sample(sorted(digests), min(SPOT_CHECKS, len(digests))):
        if hashlib.sha256(bench.read(prefix + relative, new_key[1])).hexdigest() != digests[relative]:
            raise RuntimeError("s3://%s/%s does not decrypt with the new key to the original" % (BUCKET,
                                                                                                 prefix + relative))


def print_rotation_table(args, runs, methods, pings):
    """Print part 2's table; return its lines of the Targets block."""
    fixed_cpu = median([run.cpu for run in pings])

    def wall(tool):
        return median([run.seconds for run, _requests in runs[tool]])

    def cpu_ms(tool):
        """Client CPU per object: beyond ansible's fixed cost (a ping task) for rekey, all of it for the script."""
        cpu = median([run.cpu for run, _requests in runs[tool]]) - (fixed_cpu if tool == REKEY else 0.0)
        return 1000 * cpu / args.rot_files

    out = ["", "SSE-C key rotation of %d objects of %s (old key -> new key, in place), %d repetition(s), medians"
           % (args.rot_files, _size(args.rot_size), args.repeat),
           "(process startup included; after each run ssec.s3.object_info counts every object under the new key and",
           " %d random objects decrypt with it to the original bytes)" % SPOT_CHECKS, ""]
    header = "%-13s %8s %8s %7s %10s %7s %7s %11s %6s %6s %6s %6s  %s" % (
        "tool", "wall s", "vs rekey", "CPU s", "CPU ms/obj", "RSS MB", "srv CPU", "downl. MiB", "GET", "HEAD", "COPY",
        "PUT", "wall of each run (s)")
    out += [header, "-" * len(header)]
    for tool, entries in runs.items():
        out.append("%-13s %8.2f %7.2fx %7.2f %10.3f %7.1f %7.2f %11.1f %6d %6d %6d %6d  %s" % (
            tool, wall(tool), wall(tool) / wall(REKEY), median([run.cpu for run, _r in entries]), cpu_ms(tool),
            max(run.peak_rss for run, _r in entries) / 1e6, median([run.server_cpu for run, _r in entries]),
            median([r["sent"] for _run, r in entries]) / MIB, median([r["GET"] for _run, r in entries]),
            median([r["HEAD"] for _run, r in entries]), median([r["COPY"] for _run, r in entries]),
            median([r["PUT"] for _run, r in entries]), " ".join("%.2f" % run.seconds for run, _r in entries)))
    out.append("")
    out.append("CPU ms/obj: the tool's client CPU per object; for %s without ansible-playbook's fixed cost" % REKEY)
    out.append("(one ansible.builtin.ping task, median %.2f s CPU). RSS MB: the highest peak RSS (VmHWM) of the"
               % fixed_cpu)
    out.append("repetitions, of the AnsiballZ_rekey.py process for %s, of the python process for the script." % REKEY)
    out.append("downl. MiB: object bytes the server sent during the run (SeaweedFS counter")
    out.append("SeaweedFS_s3_bucket_traffic_sent_bytes_total; bodies of GETs only, not listings nor HEADs).")
    out.append("GET/HEAD/COPY/PUT: requests the server counted during the run.")
    out.append("rekey's rotated[*].method in each repetition: %s" % "; ".join("/".join(m) for m in methods))
    print("\n".join(out), flush=True)

    sent = [r["sent"] for _run, r in runs[REKEY]]
    targets = [target_line(REKEY, "downloads no object data: %s bytes" % " ".join(map(str, sent)), not any(sent)),
               rss_target(REKEY, "rotation", [run for run, _r in runs[REKEY]])]
    value = cpu_ms(REKEY)
    if args.rekey_baseline_ms:
        targets.append(target_line(REKEY, "client CPU per object <= half of %.3f ms: %.3f ms" % (
            args.rekey_baseline_ms, value), value <= args.rekey_baseline_ms / 2))
    else:
        targets.append("  %-19s client CPU per object: %.3f ms (--rekey-baseline-ms MS compares it with a figure)"
                       % (REKEY, value))
    return targets


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--files", type=int, default=1000, help="files in the tree (default: %(default)s)")
    parser.add_argument("--min-size", type=int, default=KIB, help="smallest file in bytes (default: %(default)s)")
    parser.add_argument("--max-size", type=int, default=MIB, help="largest file in bytes (default: %(default)s)")
    parser.add_argument("--directories", type=int,
                        help="spread the files over this many directories (default: seven, some nested)")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions (default: %(default)s)")
    parser.add_argument("--ops", default=",".join(OP_KEYS),
                        help="operations of part 1, among %s (default: all; the first push always runs, the others "
                             "need its objects)" % ",".join(OP_KEYS))
    parser.add_argument("--tools", default=",".join(TOOL_KEYS),
                        help="tools, among %s (default: all; the loop only pushes, boto3 is part 2's peer; "
                             "ssec.s3.rekey always runs, ssec.s3.object_info whenever sync does)" % ",".join(TOOL_KEYS))
    parser.add_argument("--pull-tools",
                        help="the tools timed on the pull, among those of --tools (default: all of them but the loop)")
    parser.add_argument("--skip-loop", action="store_true", help="leave out the loop of ssec.s3.object tasks")
    parser.add_argument("--loop-repeat", type=int, default=1,
                        help="repetitions that include the loop (default: %(default)s: only the first)")
    parser.add_argument("--loop-ops", default="first,noop",
                        help="operations the loop is timed on, among first,noop,changed (default: %(default)s)")
    parser.add_argument("--skip-tree", action="store_true", help="leave out part 1 (the tree)")
    parser.add_argument("--skip-rotation", action="store_true", help="leave out part 2 (the key rotation)")
    parser.add_argument("--rot-files", type=int, default=1000, help="objects rotated (default: %(default)s)")
    parser.add_argument("--rot-size-kib", type=int, default=1024, help="size of each (default: %(default)s)")
    parser.add_argument("--rot-size", type=int, metavar="BYTES",
                        help="size of each in bytes (instead of --rot-size-kib)")
    parser.add_argument("--rekey-baseline-ms", type=float,
                        help="rekey's client CPU per object (ms) before a change: the target is half of it")
    parser.add_argument("--seed", type=int, default=2026, help="seed of sizes, names and choices (not contents)")
    parser.add_argument("--candidate", metavar="PATH",
                        help="also time ssec.s3.sync from the collection found in this ANSIBLE_COLLECTIONS_PATH "
                             "(PATH/ansible_collections/ssec/s3), as the tool 'candidate'")
    parser.add_argument("--workdir", help="parent of the temp directory (default: the system temp dir)")
    args = parser.parse_args(argv)
    if args.candidate:
        args.candidate = str(Path(args.candidate).resolve())
        if not (Path(args.candidate) / "ansible_collections" / "ssec" / "s3" / "galaxy.yml").is_file():
            parser.error("--candidate: no ansible_collections/ssec/s3/galaxy.yml under %s" % args.candidate)
    args.loop_ops = choices(parser, "--loop-ops", args.loop_ops, OP_KEYS) | {FIRST}  # later ones need its objects
    args.ops = choices(parser, "--ops", args.ops, OP_KEYS) | {FIRST}
    args.tools = choices(parser, "--tools", args.tools, TOOL_KEYS) - ({LOOP} if args.skip_loop else set())
    if args.candidate:
        args.tools.add(CANDIDATE)
    args.pull_tools = choices(parser, "--pull-tools", args.pull_tools, TOOL_KEYS) if args.pull_tools else args.tools
    if args.rot_size is None:
        args.rot_size = args.rot_size_kib * KIB
    if args.files < CHANGED_FILES or args.repeat < 1 or args.rot_files < 1 or args.rot_size < 1:
        parser.error("--files must be at least %d; --repeat, --rot-files and the rotated objects' size positive"
                     % CHANGED_FILES)
    if not args.skip_tree and not args.tools & set(TOOLS):
        parser.error("--tools: part 1 needs at least one of sync, aws, rclone, loop (or --skip-tree)")
    return args


def choices(parser, option, text, known):
    """The set of values named by a comma-separated option."""
    try:
        return {known[part.strip()] for part in text.split(",") if part.strip()}
    except KeyError as exc:
        parser.error("%s: unknown name %s, expected some of %s" % (option, exc, ",".join(known)))
        raise  # not reached: parser.error exits


def main(argv=None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _raise_interrupted)
    signal.signal(signal.SIGHUP, _raise_interrupted)
    s3service = load_s3service()
    workdir = Path(tempfile.mkdtemp(prefix="ssec-tree-bench-", dir=args.workdir))
    runner = Runner(timeout=RUN_TIMEOUT)
    service = None
    rng = random.Random(args.seed)
    began = time.monotonic()
    try:
        log("workdir %s; %s, %d cores, Python %s" % (
            workdir, platform.platform(), os.cpu_count(), platform.python_version()))
        service = metered_service_class(s3service)(workdir=workdir / "s3", buckets=(BUCKET,))
        started = time.monotonic()
        service.start()
        log("SeaweedFS ready in %.1f s at %s (metrics on port %d)" % (
            time.monotonic() - started, service.endpoint_url, service.metrics_port))
        runner.server_pid = service.pid
        bench = TreeBench(service, workdir, os.urandom(32), runner, args.candidate)
        targets = []
        if not args.skip_tree:
            tree, results, references = tree_part(args, bench, service, rng)
            targets += print_tree_table(args, tree, results, references)
            shutil.rmtree(tree.root)
        if not args.skip_rotation:
            runs, methods, pings = rotation_part(args, bench, service, rng)
            targets += print_rotation_table(args, runs, methods, pings)
        print("\n".join(["", "Targets (median wall time; peak RSS: the highest of the repetitions)"] + targets))
        print("\n%s, %s, %d cores, Python %s; whole run %.1f min" % (
            datetime.datetime.now().strftime("%Y-%m-%d %H:%M"), platform.platform(), os.cpu_count(),
            platform.python_version(), (time.monotonic() - began) / 60), flush=True)
        return 0
    except (KeyboardInterrupt, Interrupted):
        log("interrupted, cleaning up")
        return 130
    finally:
        clean_up(runner, service, workdir)


if __name__ == "__main__":
    sys.exit(main())

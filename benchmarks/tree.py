# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark a tree of files and a key rotation: ssec.s3.sync and ssec.s3.rekey against their peers.

Not run by CI. See benchmarks/README.md. Usage::

    scripts/bench tree [--files 1000] [--repeat 3] [--skip-loop] [--skip-rotation]
    scripts/bench tree --skip-loop --skip-rotation --candidate /tmp/copy  # time a modified sync

Starts its own SeaweedFS (tests/support/s3service.py, HTTPS, credentials) with its Prometheus
metrics on loopback, so that every timed run can be charged with the requests and bytes the
server saw during it.

Part 1, a tree of --files random files (1 KiB - 1 MiB, log-uniform, seven directories): first
push into an empty prefix, no-op rerun, rerun after 10 files were edited. Tools, each into its
own prefix, interleaved with their order rotated on every repetition: one ``ssec.s3.sync`` task,
a ``loop:`` of ``ssec.s3.object`` tasks (slow: by default only in the first repetition), ``aws s3
sync`` and ``rclone sync`` with SSE-C. After every run the listing must hold every file at its
size, and 20 random objects plus the edited ones must decrypt with the key to the local bytes.

Part 2, --rot-files objects of --rot-size-kib KiB under an old key: ``ssec.s3.rekey`` (one task,
prefix) against a boto3 script that downloads and re-uploads every object with the new key (8
threads). Bytes downloaded by each come from the server's own counter. After each rotation
``ssec.s3.object_info`` must count every object under the new key, and 20 random objects must
decrypt with it to the original bytes; then the objects are rotated back (a rekey run, not timed).

Every tool is a fresh process (interpreter, binary or ansible-playbook startup included).
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
    CANDIDATE as _CANDIDATE_TOOL, MIB, MODULE, Bench, Interrupted, Runner, _raise_interrupted, clean_env,
    clean_up, load_s3service, log, median, venv_bin,
)

KIB = 1024
BUCKET = "ssec-tree"
SYNC, LOOP, AWS, RCLONE = "ssec.s3.sync", "object loop", "aws s3 sync", "rclone sync"
# --candidate PATH: ssec.s3.sync from another copy of the collection (e.g. with a performance fix).
CANDIDATE = "candidate"
TOOLS = (SYNC, CANDIDATE, LOOP, AWS, RCLONE)
PREFIXES = {SYNC: "tree/sync/", CANDIDATE: "tree/candidate/", LOOP: "tree/loop/", AWS: "tree/aws/",
            RCLONE: "tree/rclone/"}
FIRST, NOOP, CHANGED = "first push", "no-op rerun", "10 changed"
OPS = (FIRST, NOOP, CHANGED)
OP_KEYS = {"first": FIRST, "noop": NOOP, "changed": CHANGED}
CHANGED_FILES = 10
SPOT_CHECKS = 20
# Targets for the sync task (median wall time of the no-op rerun).
LOOP_FACTOR, AWS_FACTOR = 20.0, 1.5
DIRECTORIES = ("", "docs", "docs/api", "docs/api/v2", "img", "img/2026/06", "data/raw")
EXTENSIONS = (".txt", ".json", ".html", ".css", ".png", ".bin", ".csv.gz")

REKEY, BOTO3 = "ssec.s3.rekey", "boto3 script"
ROT_TOOLS = (REKEY, BOTO3)
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

    def sync_command(self, tool, tree):
        """(argv, env) of one sync of the whole tree into the tool's prefix."""
        s3, prefix = self.service, PREFIXES[tool]
        if tool in (SYNC, CANDIDATE):
            path = self.write_playbook("sync", "ssec.s3.sync", {
                "mode": "push", "path": str(tree.root), "bucket": BUCKET, "prefix": prefix})
            return self.playbook_argv(path), self.playbook_env(tool)
        if tool == LOOP:
            items = [{"src": str(tree.path(relative)), "object": prefix + relative} for relative in sorted(tree.sizes)]
            path = self.write_playbook("loop", "ssec.s3.object", {
                "bucket": BUCKET, "object": "{{ item.object }}", "src": "{{ item.src }}"}, loop=items)
            return self.playbook_argv(path), self.playbook_env()
        if tool == AWS:
            argv = [venv_bin("aws"), "--endpoint-url", s3.endpoint_url, "--ca-bundle", str(s3.ca_file),
                    "s3", "sync", str(tree.root), "s3://%s/%s" % (BUCKET, prefix),
                    "--sse-c", "AES256", "--sse-c-key", "fileb://%s" % self.key_file, "--no-progress"]
            return argv, self.aws_env()
        if tool == RCLONE:
            argv = [venv_bin("rclone"), "--config", os.devnull, "--ca-cert", str(s3.ca_file),
                    "--s3-sse-customer-algorithm", "AES256", "--s3-sse-customer-key-base64", self.key_b64,
                    "sync", str(tree.root), "bench:%s/%s" % (BUCKET, prefix.rstrip("/")), "-v", "--stats", "0"]
            return argv, self.rclone_env()
        raise ValueError(tool)

    def rotation_command(self, tool, prefix, old_file, new_file):
        s3 = self.service
        if tool == REKEY:
            args = {"bucket": BUCKET, "prefix": prefix, "old_sse_customer_key_file": str(old_file)}
            path = self.write_playbook("rekey-%s" % prefix.replace("/", "_"), "ssec.s3.rekey", args, key_file=new_file)
            return self.playbook_argv(path), self.playbook_env()
        if tool == BOTO3:
            argv = [sys.executable, "-c", BOTO3_ROTATE, s3.endpoint_url, str(s3.ca_file), s3.access_key,
                    s3.secret_key, s3.region, BUCKET, prefix, str(old_file), str(new_file)]
            return argv, clean_env({"AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
                                    "AWS_EC2_METADATA_DISABLED": "true"})
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


def transferred_by_tool(tool, output):
    """How many files the tool says it uploaded, from its own output."""
    if tool in (SYNC, CANDIDATE):
        return task_result(output)["counts"]["uploaded"]
    if tool == LOOP:
        return sum(1 for item in task_result(output)["results"] if item.get("changed"))
    if tool == AWS:
        return sum(1 for line in output.splitlines() if line.startswith("upload: "))
    if tool == RCLONE:
        return sum(1 for line in output.splitlines() if ": Copied (" in line)
    raise ValueError(tool)


# --------------------------------------------------------------------------
# Part 1: the tree
# --------------------------------------------------------------------------


class Measure:  # pylint: disable=too-few-public-methods
    """One timed run: its Run, what the server saw, files transferred (tool's count, listing)."""

    def __init__(self, run, requests, by_tool, by_listing):
        self.run = run
        self.requests = requests
        self.by_tool = by_tool
        self.by_listing = by_listing


def verify_tree(bench, tool, tree, names, rng):
    """Every file listed at its size; ``names`` plus random ones decrypt with the key to the local bytes."""
    prefix = PREFIXES[tool]
    listed = bench.listing(prefix)
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


def run_sync(bench, service, tool, tree, op):
    argv, env = bench.sync_command(tool, tree)
    before_listing = bench.listing(PREFIXES[tool])
    before = service.metrics(BUCKET)
    run = bench.runner.run(argv, env, str(bench.workdir))
    requests = requests_between(before, service.metrics(BUCKET))
    after_listing = bench.listing(PREFIXES[tool])
    by_listing = sum(1 for name, state in after_listing.items() if before_listing.get(name) != state)
    by_tool = transferred_by_tool(tool, run.output)
    if tool in (SYNC, CANDIDATE):
        result = task_result(run.output)
        if result["counts"]["failed"] or result["counts"]["skipped"]:
            raise RuntimeError("ssec.s3.sync %s: %s" % (op, result["msg"]))
    return Measure(run, requests, by_tool, by_listing)


def tree_part(args, bench, service, rng):
    tools = [tool for tool in TOOLS if (tool != LOOP or not args.skip_loop) and (tool != CANDIDATE or args.candidate)]
    log("creating %d files" % args.files)
    began = time.monotonic()
    tree = Tree(bench.workdir / "tree", args.files, rng, args.min_size, args.max_size, args.directories)
    log("tree: %d files, %.1f MiB, in %.1f s" % (len(tree.sizes), tree.total / MIB, time.monotonic() - began))
    results = {op: {tool: [] for tool in tools} for op in OPS}
    changed_sets = []
    pings, empties = [], []
    for rep in range(args.repeat):
        present = [tool for tool in tools if tool != LOOP or rep < args.loop_repeat]
        order = present[rep % len(present):] + present[:rep % len(present)]
        for tool in present:
            bench.empty(PREFIXES[tool])  # each repetition starts from an empty prefix
        for op in OPS:
            changed = []
            if op == CHANGED:
                time.sleep(1.1)  # LastModified has whole seconds: the edits come after the last upload's second
                changed = tree.edit(CHANGED_FILES)
                changed_sets.append(changed)
            for tool in order:
                if tool == LOOP and op not in args.loop_ops:
                    continue
                measure = run_sync(bench, service, tool, tree, op)
                results[op][tool].append(measure)
                checked = verify_tree(bench, tool, tree, changed, rng)
                log("rep %d %-11s %-12s %7.2f s wall, %6.2f s CPU, srv %5.2f s CPU; transferred %d (tool) %d "
                    "(listing); HEAD %d GET %d PUT %d LIST %d; %d objects decrypted ok" % (
                        rep + 1, op, tool, measure.run.seconds, measure.run.cpu, measure.run.server_cpu,
                        measure.by_tool, measure.by_listing, measure.requests["HEAD"], measure.requests["GET"],
                        measure.requests["PUT"], measure.requests["LIST"], checked))
        pings.append(bench.ping())
        empties.append(bench.empty_sync())
        log("rep %d ansible ping %.2f s; %s of an empty directory %.2f s" % (
            rep + 1, pings[-1].seconds, SYNC, empties[-1].seconds))
    return tree, tools, results, (pings, empties)


def print_tree_table(args, tree, tools, results, references):
    pings, empties = references

    def wall(op, tool):
        return median([m.run.seconds for m in results[op][tool]])

    def ratio(op, tool, peer):
        if peer not in tools or not results[op][peer] or not results[op][tool]:
            return "%8s" % "-"
        return "%7.2fx" % (wall(op, tool) / wall(op, peer))

    out = ["", "SSE-C sync of a tree of %d files (%.1f MiB, %s - %s, %d directories) over HTTPS to SeaweedFS on "
           "loopback, %d repetition(s), medians" % (
               len(tree.sizes), tree.total / MIB, _size(min(tree.sizes.values())), _size(max(tree.sizes.values())),
               len({relative.rpartition("/")[0] for relative in tree.sizes}), args.repeat),
           "(process startup included; every run checked: listing complete at the right sizes, %d random objects"
           % SPOT_CHECKS,
           " plus the edited ones decrypt with the key to the local bytes)", ""]
    header = "%-11s %-12s %8s %8s %8s %7s %7s %5s %5s %5s %4s %5s  %s" % (
        "operation", "tool", "wall s", "vs aws", "vs sync", "CPU s", "srv CPU", "HEAD", "GET", "PUT", "LIST", "files",
        "wall of each run (s)")
    out += [header, "-" * len(header)]
    for op in OPS:
        for tool in tools:
            runs = results[op][tool]
            if not runs:
                out.append("%-11s %-12s %8s  (not measured)" % (op, tool, "-"))
                continue
            out.append("%-11s %-12s %8.2f %s %s %7.2f %7.2f %5d %5d %5d %4d %5d  %s" % (
                op, tool, wall(op, tool), ratio(op, tool, AWS), ratio(op, tool, SYNC),
                median([m.run.cpu for m in runs]), median([m.run.server_cpu for m in runs]),
                median([m.requests["HEAD"] for m in runs]), median([m.requests["GET"] for m in runs]),
                median([m.requests["PUT"] for m in runs]), median([m.requests["LIST"] for m in runs]),
                median([m.by_listing for m in runs]), " ".join("%.2f" % m.run.seconds for m in runs)))
        out.append("")
    out.append("CPU s: user+system CPU of the tool's process tree; srv CPU: SeaweedFS meanwhile. HEAD/GET/PUT/LIST:")
    out.append("requests the server counted during the run (GET = with a body). files: objects whose LastModified,")
    out.append("ETag or size changed (listing before/after).")
    if LOOP in tools:
        counted = {op: len(results[op][LOOP]) for op in OPS}
        out.append("%s: %s." % (LOOP, ", ".join("%s measured %d time(s)" % (op, counted[op]) for op in OPS)))
    if pings:
        out.append("ansible-playbook fixed cost (one ansible.builtin.ping task): median %.2f s wall, %.2f s CPU (%s)"
                   % (median([run.seconds for run in pings]), median([run.cpu for run in pings]),
                      " ".join("%.2f" % run.seconds for run in pings)))
    if empties:
        out.append("%s of an empty directory to an empty prefix (Ansible, module startup, one LIST): median %.2f s "
                   "wall, %.2f s CPU (%s)" % (SYNC, median([run.seconds for run in empties]),
                                              median([run.cpu for run in empties]),
                                              " ".join("%.2f" % run.seconds for run in empties)))
        if results[NOOP][SYNC]:
            extra = wall(NOOP, SYNC) - median([run.seconds for run in empties])
            out.append("  so the %s of %d files costs %.2f s beyond it: %.2f ms per file (hash, HEAD, compare)" % (
                NOOP, len(tree.sizes), extra, 1000 * extra / len(tree.sizes)))
    out.append("")
    out.append("%s rerun: files transferred in each repetition (tool's own report / listing / server PUTs)"
               % CHANGED)
    for tool in tools:
        runs = results[CHANGED][tool]
        if runs:
            counts = ["%d/%d/%d" % (m.by_tool, m.by_listing, m.requests["PUT"]) for m in runs]
            out.append("  %-12s %s" % (tool, "  ".join(counts)))
    out.append("")
    out.append("Targets (median wall time)")
    for sync in (tool for tool in (SYNC, CANDIDATE) if tool in tools):
        if results[NOOP][sync] and LOOP in tools and results[NOOP][LOOP]:
            speedup = wall(NOOP, LOOP) / wall(NOOP, sync)
            out.append("  %-12s no-op rerun >= %.0fx faster than the %s: %.1fx  %s" % (
                sync, LOOP_FACTOR, LOOP, speedup, "met" if speedup >= LOOP_FACTOR else "NOT MET"))
        if results[NOOP][sync] and AWS in tools:
            value = wall(NOOP, sync) / wall(NOOP, AWS)
            out.append("  %-12s no-op rerun <= %.1fx %s: %.2fx  %s" % (
                sync, AWS_FACTOR, AWS, value, "met" if value <= AWS_FACTOR else "NOT MET"))
        runs = results[CHANGED][sync]
        counts = [m.by_tool for m in runs] + [m.by_listing for m in runs]
        if counts:
            out.append("  %-12s %s rerun transfers exactly %d files: %s  %s" % (
                sync, CHANGED, CHANGED_FILES, " ".join(str(m.by_listing) for m in runs),
                "met" if all(count == CHANGED_FILES for count in counts) else "NOT MET"))
    print("\n".join(out), flush=True)


def _size(count):
    if count < KIB:
        return "%d B" % count
    return "%d KiB" % (count // KIB) if count < MIB else "%.1f MiB" % (count / MIB)


# --------------------------------------------------------------------------
# Part 2: key rotation
# --------------------------------------------------------------------------


def rotation_part(args, bench, service, rng):
    source = bench.workdir / "rot-src"
    log("creating %d objects of %d KiB" % (args.rot_files, args.rot_size_kib))
    digests = {}
    for index in range(args.rot_files):
        relative = "%s/obj-%05d.bin" % (DIRECTORIES[index % len(DIRECTORIES)] or "top", index)
        data = os.urandom(args.rot_size_kib * KIB)
        path = source / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        digests[relative] = hashlib.sha256(data).hexdigest()
    keys = {"old": (bench.key_file, bench.key_raw), "new": (bench.new_key_file, bench.new_key_raw)}
    for tool in ROT_TOOLS:
        began = time.monotonic()
        result = bench.run_task("populate", "ssec.s3.sync", {
            "mode": "push", "path": str(source), "bucket": BUCKET, "prefix": ROT_PREFIXES[tool]})
        if result["counts"]["uploaded"] != args.rot_files:
            raise RuntimeError("populating %s: %s" % (ROT_PREFIXES[tool], result["msg"]))
        log("uploaded %d objects under the old key to %s in %.1f s" % (
            args.rot_files, ROT_PREFIXES[tool], time.monotonic() - began))
    shutil.rmtree(source)

    runs = {tool: [] for tool in ROT_TOOLS}
    methods = []
    for rep in range(args.repeat):
        order = ROT_TOOLS if rep % 2 == 0 else ROT_TOOLS[::-1]
        for tool in order:
            prefix = ROT_PREFIXES[tool]
            argv, env = bench.rotation_command(tool, prefix, keys["old"][0], keys["new"][0])
            before = service.metrics(BUCKET)
            run = bench.runner.run(argv, env, str(bench.workdir))
            requests = requests_between(before, service.metrics(BUCKET))
            runs[tool].append((run, requests))
            if tool == REKEY:
                result = task_result(run.output)
                if result["counts"]["rotated"] != args.rot_files or result["counts"]["failed"]:
                    raise RuntimeError("rekey rotated %s of %d: %s" % (
                        result["counts"]["rotated"], args.rot_files, result["msg"]))
                methods.append(sorted({entry["method"] for entry in result["rotated"]}))
            verify_rotation(bench, prefix, digests, keys["new"], rng)
            log("rep %d %-13s %7.2f s wall, %6.2f s CPU, srv %5.2f s CPU; downloaded %.1f MiB, GET %d HEAD %d "
                "COPY %d PUT %d; object_info: all %d under the new key, %d decrypted ok" % (
                    rep + 1, tool, run.seconds, run.cpu, run.server_cpu, requests["sent"] / MIB, requests["GET"],
                    requests["HEAD"], requests["COPY"], requests["PUT"], args.rot_files, SPOT_CHECKS))
            # Back under the old key for the next repetition: a rekey run, not timed.
            began = time.monotonic()
            back = bench.run_task("rotate-back", "ssec.s3.rekey", {
                "bucket": BUCKET, "prefix": prefix, "old_sse_customer_key_file": str(keys["new"][0])},
                key_file=keys["old"][0])
            if back["counts"]["rotated"] != args.rot_files:
                raise RuntimeError("rotating %s back: %s" % (prefix, back["msg"]))
            log("rep %d rotated %s back to the old key in %.1f s (not timed)" % (
                rep + 1, prefix, time.monotonic() - began))
    return runs, methods


def verify_rotation(bench, prefix, digests, new_key, rng):
    """object_info with the new key counts every object as this_key; random ones decrypt to the original bytes."""
    info = bench.run_task("object-info", "ssec.s3.object_info", {"bucket": BUCKET, "prefix": prefix},
                          key_file=new_key[0])
    counts = info["counts"]
    if counts["this_key"] != len(digests) or sum(counts.values()) != len(digests):
        raise RuntimeError("after the rotation of %s, object_info counts %s" % (prefix, counts))
    for relative in rng.sample(sorted(digests), min(SPOT_CHECKS, len(digests))):
        if hashlib.sha256(bench.read(prefix + relative, new_key[1])).hexdigest() != digests[relative]:
            raise RuntimeError("s3://%s/%s does not decrypt with the new key to the original" % (BUCKET,
                                                                                                 prefix + relative))


def print_rotation_table(args, runs, methods):
    def wall(tool):
        return median([run.seconds for run, _requests in runs[tool]])

    out = ["", "SSE-C key rotation of %d objects of %d KiB (old key -> new key, in place), %d repetition(s), medians"
           % (args.rot_files, args.rot_size_kib, args.repeat),
           "(process startup included; after each run ssec.s3.object_info counts every object under the new key and",
           " %d random objects decrypt with it to the original bytes)" % SPOT_CHECKS, ""]
    header = "%-13s %8s %8s %7s %7s %11s %5s %5s %5s %5s  %s" % (
        "tool", "wall s", "vs rekey", "CPU s", "srv CPU", "downl. MiB", "GET", "HEAD", "COPY", "PUT",
        "wall of each run (s)")
    out += [header, "-" * len(header)]
    for tool in ROT_TOOLS:
        entries = runs[tool]
        out.append("%-13s %8.2f %7.2fx %7.2f %7.2f %11.1f %5d %5d %5d %5d  %s" % (
            tool, wall(tool), wall(tool) / wall(REKEY), median([run.cpu for run, _r in entries]),
            median([run.server_cpu for run, _r in entries]), median([r["sent"] for _run, r in entries]) / MIB,
            median([r["GET"] for _run, r in entries]), median([r["HEAD"] for _run, r in entries]),
            median([r["COPY"] for _run, r in entries]), median([r["PUT"] for _run, r in entries]),
            " ".join("%.2f" % run.seconds for run, _r in entries)))
    out.append("")
    out.append("downl. MiB: object bytes the server sent during the run (SeaweedFS counter")
    out.append("SeaweedFS_s3_bucket_traffic_sent_bytes_total; bodies of GETs only, not listings nor HEADs).")
    out.append("GET/HEAD/COPY/PUT: requests the server counted during the run.")
    out.append("rekey's rotated[*].method in each repetition: %s" % "; ".join("/".join(m) for m in methods))
    sent = [r["sent"] for _run, r in runs[REKEY]]
    out.append("")
    out.append("Target: ssec.s3.rekey downloads no object data: %s bytes  %s" % (
        " ".join(str(value) for value in sent), "met" if not any(sent) else "NOT MET"))
    print("\n".join(out), flush=True)


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
    parser.add_argument("--skip-loop", action="store_true", help="leave out the loop of ssec.s3.object tasks")
    parser.add_argument("--loop-repeat", type=int, default=1,
                        help="repetitions that include the loop (default: %(default)s: only the first)")
    parser.add_argument("--loop-ops", default="first,noop",
                        help="operations the loop is timed on, among first,noop,changed (default: %(default)s)")
    parser.add_argument("--skip-tree", action="store_true", help="leave out part 1 (the tree)")
    parser.add_argument("--skip-rotation", action="store_true", help="leave out part 2 (the key rotation)")
    parser.add_argument("--rot-files", type=int, default=1000, help="objects rotated (default: %(default)s)")
    parser.add_argument("--rot-size-kib", type=int, default=1024, help="size of each (default: %(default)s)")
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
    try:
        args.loop_ops = {OP_KEYS[part.strip()] for part in args.loop_ops.split(",") if part.strip()}
    except KeyError as exc:
        parser.error("--loop-ops: unknown operation %s" % exc)
    if FIRST not in args.loop_ops:
        args.loop_ops.add(FIRST)  # the later operations need the loop's objects
    if args.files < CHANGED_FILES or args.repeat < 1 or args.rot_files < 1 or args.rot_size_kib < 1:
        parser.error("--files must be at least %d; --repeat, --rot-files and --rot-size-kib positive" % CHANGED_FILES)
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _raise_interrupted)
    signal.signal(signal.SIGHUP, _raise_interrupted)
    s3service = load_s3service()
    workdir = Path(tempfile.mkdtemp(prefix="ssec-tree-bench-", dir=args.workdir))
    runner = Runner()
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
        if not args.skip_tree:
            tree, tools, results, references = tree_part(args, bench, service, rng)
            print_tree_table(args, tree, tools, results, references)
            shutil.rmtree(tree.root)
        if not args.skip_rotation:
            runs, methods = rotation_part(args, bench, service, rng)
            print_rotation_table(args, runs, methods)
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

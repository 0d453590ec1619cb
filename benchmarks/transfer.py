# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark SSE-C transfers: ssec.s3 modules against the aws cli, rclone and raw boto3.

Not run by CI. See benchmarks/README.md. Usage::

    scripts/bench transfer [--size-mib 1024] [--repeat 3] [--rss-sizes 256,1024]

Starts its own SeaweedFS (tests/support/s3service.py, HTTPS, credentials),
uploads and downloads one random file with every tool, interleaved, with the
tools' order rotated on every repetition, and prints the median wall times, the
CPU time of each tool's process tree and of the server (steadier than wall time
on a shared machine). Every upload is checked to have written a new SSE-C object
of the right size, every download against the SHA-256 of the source. Then it
measures the peak RSS (VmHWM) of the process doing the transfer (for the modules
the AnsiballZ_*.py process, not the controller) for each size of --rss-sizes.

Every process starts from scratch (interpreter or binary startup included):
the modules run as a one-task ``ansible-playbook``; boto3 runs in a fresh
``python`` with the default TransferConfig.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import hashlib
import importlib.util
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
MIB = 1024 * 1024
BLOCK = 64 * MIB
BUCKET = "ssec-bench"
# Environment variables that would change endpoints, credentials or config of any tool.
FOREIGN_ENV_PREFIXES = ("AWS_", "SCW_", "BOTO_", "RCLONE_", "ANSIBLE_")
# A tool still running after this many seconds is killed (and the benchmark fails).
RUN_TIMEOUT = 1800
POLL_INTERVAL = 0.05

UP, DOWN = "upload", "download"
MODULE, AWS, RCLONE, BOTO3 = "ssec.s3 module", "aws cli", "rclone", "raw boto3"
TOOLS = (MODULE, AWS, RCLONE, BOTO3)
# --candidate PATH: the modules of another copy of the collection (e.g. with a performance fix).
CANDIDATE = "candidate"
MODULES = (MODULE, CANDIDATE)
# Targets: module time <= factor x peer time.
TARGETS = ((AWS, 1.0), (BOTO3, 1.1))
RSS_TARGET_MB = 200

# The raw boto3 peer: a fresh interpreter, boto3 defaults (TransferConfig() and client config),
# only what is needed to reach the service (endpoint, CA, credentials, path addressing).
BOTO3_SCRIPT = r"""
import base64, sys
import boto3
from botocore.config import Config
direction, endpoint, ca, access, secret, region, bucket, name, path, key_b64 = sys.argv[1:]
client = boto3.session.Session().client(
    "s3", endpoint_url=endpoint, verify=ca, region_name=region,
    aws_access_key_id=access, aws_secret_access_key=secret,
    config=Config(s3={"addressing_style": "path"}))
extra = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": base64.b64decode(key_b64)}
if direction == "upload":
    client.upload_file(path, bucket, name, ExtraArgs=extra)
else:
    client.download_file(bucket, name, path, ExtraArgs=extra)
"""


class Interrupted(BaseException):
    """SIGTERM/SIGHUP, turned into an exception so that cleanup runs."""


def _raise_interrupted(signum, _frame):
    raise Interrupted(signum)


def log(message: str) -> None:
    print("[%s] %s" % (time.strftime("%H:%M:%S"), message), file=sys.stderr, flush=True)


def load_s3service():
    path = REPO_ROOT / "tests" / "support" / "s3service.py"
    spec = importlib.util.spec_from_file_location("ssec_bench_s3service", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses/pickling look modules up by name
    spec.loader.exec_module(module)
    return module


def venv_bin(name: str) -> str:
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which(name)
    if not found:
        raise SystemExit("%s not found next to %s or on PATH" % (name, sys.executable))
    return found


def clean_env(extra: dict) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(FOREIGN_ENV_PREFIXES)}
    env.update(extra)
    return env


def random_file(path: Path, size: int) -> None:
    with open(path, "wb") as handle:
        remaining = size
        while remaining:
            block = os.urandom(min(remaining, BLOCK))
            handle.write(block)
            remaining -= len(block)


def sha256_file(path) -> str:
    digest = hashlib.sha256()
    buffer = memoryview(bytearray(8 * MIB))
    with open(path, "rb", buffering=0) as handle:
        for count in iter(lambda: handle.readinto(buffer), 0):
            digest.update(buffer[:count])
    return digest.hexdigest()


def unlink(path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


# --------------------------------------------------------------------------
# Running commands: timed, killable, with CPU time and peak RSS
# --------------------------------------------------------------------------


def process_cpu_seconds(pid) -> float:
    """user + system CPU seconds of a running process (all its threads), from /proc/PID/stat."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as handle:
            fields = handle.read().rsplit(b")", 1)[1].split()
    except (OSError, TypeError):
        return float("nan")
    # Fields 14 and 15 (utime, stime); the split starts at field 3 (state).
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Run:  # pylint: disable=too-few-public-methods
    """What one command cost: wall seconds, CPU seconds of its process tree and of the S3 server."""

    def __init__(self, seconds, cpu, server_cpu, output, peak_rss):
        self.seconds = seconds
        self.cpu = cpu
        self.server_cpu = server_cpu
        self.output = output
        self.peak_rss = peak_rss


class Runner:
    """Runs commands in their own process group so that Ctrl-C can end exactly them."""

    def __init__(self, server_pid=None, timeout=RUN_TIMEOUT):
        self.current = None
        self.server_pid = server_pid
        self.timeout = timeout

    def run(self, command, env, cwd, watch=None) -> Run:
        """Run ``command`` and measure it.

        ``watch``: None (no RSS), ``True`` (the VmHWM of the started process itself), or
        substrings: the highest VmHWM of any process whose command line contains them all.
        """
        poller = None
        server_before = process_cpu_seconds(self.server_pid)
        started = time.perf_counter()
        proc = subprocess.Popen(  # pylint: disable=consider-using-with
            command, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, start_new_session=True)
        self.current = proc
        timer = threading.Timer(self.timeout, self._kill_group, (proc.pid,))
        timer.daemon = True
        timer.start()
        if watch:
            poller = RssPoller(pid=proc.pid) if watch is True else RssPoller(needles=watch)
            poller.start()
        try:
            output = proc.stdout.read()
            # wait4: the CPU time of the process and of every descendant it waited for
            # (for ansible-playbook: its workers and the module process).
            _pid, status, usage = os.wait4(proc.pid, 0)
            elapsed = time.perf_counter() - started
            proc.returncode = os.waitstatus_to_exitcode(status)
        finally:
            timer.cancel()
            self.current = None
            if poller:
                poller.stop()
            proc.stdout.close()
        server_cpu = process_cpu_seconds(self.server_pid) - server_before
        text = output.decode("utf-8", "replace")
        if proc.returncode != 0:
            raise RuntimeError("%s exited with %d:\n%s" % (" ".join(command[:3]), proc.returncode, text[-4000:]))
        return Run(elapsed, usage.ru_utime + usage.ru_stime, server_cpu, text,
                   poller.peak if poller else None)

    @staticmethod
    def _kill_group(pid):
        try:
            os.killpg(pid, signal.SIGKILL)  # the tool leads its own group (start_new_session)
        except ProcessLookupError:
            pass

    def kill_current(self):
        proc = self.current
        if proc is not None and proc.returncode is None:
            self._kill_group(proc.pid)
            try:
                os.waitpid(proc.pid, 0)
            except ChildProcessError:
                pass


class RssPoller(threading.Thread):
    """Every ~50 ms, read the VmHWM of one pid, or of every process whose cmdline contains all ``needles``.

    VmHWM is the peak RSS of a process image (reset by exec), so the last read before the
    process exits is its peak, give or take what happened in its last 50 ms.
    """

    def __init__(self, pid=None, needles=()):
        super().__init__(daemon=True)
        self.pid = pid
        self.needles = [needle.encode() for needle in needles]
        self.peak = 0
        self._stop_event = threading.Event()

    def _read_hwm(self, pid):
        try:
            if self.needles:
                with open("/proc/%s/cmdline" % pid, "rb") as handle:
                    cmdline = handle.read()
                if not all(needle in cmdline for needle in self.needles):
                    return
            with open("/proc/%s/status" % pid, "rb") as handle:
                for line in handle:
                    if line.startswith(b"VmHWM:"):
                        self.peak = max(self.peak, int(line.split()[1]) * 1024)
                        return
        except OSError:
            return  # gone meanwhile

    def _scan(self):
        if self.pid is not None:
            self._read_hwm(self.pid)
            return
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                self._read_hwm(entry)

    def run(self):
        while not self._stop_event.is_set():
            self._scan()
            self._stop_event.wait(POLL_INTERVAL)

    def stop(self):
        self._stop_event.set()
        self.join()


# --------------------------------------------------------------------------
# The tools
# --------------------------------------------------------------------------


class Bench:
    """The tools' command lines against one service, one key and one work directory."""

    def __init__(self, service, workdir: Path, key_raw: bytes, runner: Runner, candidate=None):
        self.service = service
        self.workdir = workdir
        self.key_raw = key_raw
        self.key_b64 = base64.b64encode(key_raw).decode("ascii")
        self.key_file = workdir / "ssec.key"
        fd = os.open(self.key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(key_raw)
        self.runner = runner
        self.client = service.client()
        self.ansible_tmp = workdir / "ansible-tmp"
        self.candidate = candidate
        self.playbooks = workdir / "playbooks"
        self.playbooks.mkdir()
        self.ansible_cfg = workdir / "ansible.cfg"
        self.ansible_cfg.write_text("[defaults]\n", encoding="utf-8")

    def remote_tmp(self, tool):
        return self.ansible_tmp / ("remote-candidate" if tool == CANDIDATE else "remote")

    def module_watch(self, tool, module):
        """RssPoller needles of the module process of a task run by ``tool``: its AnsiballZ file under our remote temp.

        Only our own module processes match, not the controller, nor other runs on the machine.
        """
        return (str(self.remote_tmp(tool)) + "/", "AnsiballZ_%s.py" % module)

    # -- environments ------------------------------------------------------

    def ansible_env(self, tool=MODULE):
        return clean_env({
            "ANSIBLE_COLLECTIONS_PATH": self.candidate if tool == CANDIDATE else str(REPO_ROOT / ".build" / "dev"),
            "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
            "ANSIBLE_LOCAL_TEMP": str(self.ansible_tmp / "local"),
            # The module's AnsiballZ file lives here: the RSS poller looks for this path.
            "ANSIBLE_REMOTE_TEMP": str(self.remote_tmp(tool)),
            "ANSIBLE_RETRY_FILES_ENABLED": "false",
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_DEPRECATION_WARNINGS": "false",
            "ANSIBLE_LOCALHOST_WARNING": "false",
            "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
            # An empty config of our own: no ansible.cfg of the person running the benchmark.
            "ANSIBLE_CONFIG": str(self.ansible_cfg),
        })

    def aws_env(self):
        return clean_env({
            "AWS_ACCESS_KEY_ID": self.service.access_key,
            "AWS_SECRET_ACCESS_KEY": self.service.secret_key,
            "AWS_DEFAULT_REGION": self.service.region,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
        })

    def rclone_env(self):
        return clean_env({
            "RCLONE_CONFIG_BENCH_TYPE": "s3",
            "RCLONE_CONFIG_BENCH_PROVIDER": "Other",
            "RCLONE_CONFIG_BENCH_ENDPOINT": self.service.endpoint_url,
            "RCLONE_CONFIG_BENCH_REGION": self.service.region,
            "RCLONE_CONFIG_BENCH_ACCESS_KEY_ID": self.service.access_key,
            "RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY": self.service.secret_key,
            "RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE": "true",
            "RCLONE_CONFIG_BENCH_NO_CHECK_BUCKET": "true",
        })

    # -- commands -----------------------------------------------------------

    def _playbook(self, module, args) -> Path:
        connection = {
            "endpoint_url": self.service.endpoint_url,
            "ca_bundle": str(self.service.ca_file),
            "access_key": self.service.access_key,
            "secret_key": self.service.secret_key,
            "region": self.service.region,
            "sse_customer_key_file": str(self.key_file),
        }
        play = [{
            "name": "ssec.s3 benchmark",
            "hosts": "localhost",
            "gather_facts": False,
            "tasks": [{"name": module, module: dict(connection, **args)}],
        }]
        path = self.playbooks / ("%s-%s.yml" % (module.rsplit(".", 1)[1], args["object"].replace("/", "_")))
        path.write_text(json.dumps(play, indent=2), encoding="utf-8")
        return path

    def command(self, tool, direction, name, path):
        """(argv, env, RSS watch string or None) for one transfer of ``path`` to/from object ``name``."""
        s3 = self.service
        if tool in MODULES:
            if direction == UP:
                playbook = self._playbook("ssec.s3.object", {
                    "bucket": BUCKET, "object": name, "src": str(path), "overwrite": "always"})
            else:
                playbook = self._playbook("ssec.s3.download", {"bucket": BUCKET, "object": name, "dest": str(path)})
            argv = [venv_bin("ansible-playbook"), "-i", "localhost,", "-c", "local", str(playbook)]
            return argv, self.ansible_env(tool), self.module_watch(tool, "object" if direction == UP else "download")
        if tool == AWS:
            url = "s3://%s/%s" % (BUCKET, name)
            pair = [str(path), url] if direction == UP else [url, str(path)]
            argv = [venv_bin("aws"), "--endpoint-url", s3.endpoint_url, "--ca-bundle", str(s3.ca_file),
                    "s3", "cp", *pair, "--sse-c", "AES256", "--sse-c-key", "fileb://%s" % self.key_file,
                    "--only-show-errors", "--no-progress"]
            return argv, self.aws_env(), None
        if tool == RCLONE:
            remote = "bench:%s/%s" % (BUCKET, name)
            pair = [str(path), remote] if direction == UP else [remote, str(path)]
            argv = [venv_bin("rclone"), "--config", os.devnull, "--ca-cert", str(s3.ca_file),
                    "--s3-sse-customer-algorithm", "AES256", "--s3-sse-customer-key-base64", self.key_b64,
                    # --ignore-times: upload even when the object looks the same (size and mtime).
                    "copyto", "--ignore-times", *pair]
            return argv, self.rclone_env(), None
        if tool == BOTO3:
            argv = [sys.executable, "-c", BOTO3_SCRIPT, direction, s3.endpoint_url, str(s3.ca_file),
                    s3.access_key, s3.secret_key, s3.region, BUCKET, name, str(path), self.key_b64]
            return argv, clean_env({"AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
                                    "AWS_EC2_METADATA_DISABLED": "true"}), None
        raise ValueError(tool)

    def transfer(self, tool, direction, name, path, rss=False):
        """Run one transfer (checked); return its Run."""
        argv, env, watch = self.command(tool, direction, name, path)
        started_at = time.time()
        if direction == DOWN:
            unlink(path)  # so that every tool really downloads
        else:
            # So that every tool really uploads: a tool that skipped "unchanged" data
            # (rclone without --ignore-times) would leave no object, and fail the check below.
            self.client.delete_object(Bucket=BUCKET, Key=name)
        run = self.runner.run(argv, env, str(self.workdir), watch=(watch or True) if rss else None)
        if rss and not run.peak_rss:
            raise RuntimeError("%s %s: the RSS poller found no process to measure" % (tool, direction))
        if tool in MODULES and "changed=1" not in run.output:
            raise RuntimeError("the %s task did not report a change:\n%s" % (direction, run.output[-3000:]))
        if direction == UP:
            self.check_uploaded(tool, name, path, started_at)
        return run

    def check_uploaded(self, tool, name, path, started_at):
        """The object must be new (written by this run, not skipped as unchanged) and SSE-C encrypted."""
        head = self.client.head_object(Bucket=BUCKET, Key=name, SSECustomerAlgorithm="AES256",
                                       SSECustomerKey=self.key_raw)
        written = head["LastModified"].timestamp()
        problems = []
        if written < int(started_at) - 1:  # LastModified has whole seconds
            problems.append("not rewritten (LastModified %s)" % head["LastModified"])
        if head["ContentLength"] != os.path.getsize(path):
            problems.append("size %d != %d" % (head["ContentLength"], os.path.getsize(path)))
        if not head.get("SSECustomerAlgorithm"):
            problems.append("not SSE-C encrypted")
        if problems:
            raise RuntimeError("%s upload of %s: %s" % (tool, name, "; ".join(problems)))

    def ping(self):
        """ansible-playbook with one ansible.builtin.ping task: the fixed cost of a module run."""
        play = [{"hosts": "localhost", "gather_facts": False, "tasks": [{"ansible.builtin.ping": {}}]}]
        path = self.playbooks / "ping.yml"
        path.write_text(json.dumps(play), encoding="utf-8")
        argv = [venv_bin("ansible-playbook"), "-i", "localhost,", "-c", "local", str(path)]
        return self.runner.run(argv, self.ansible_env(), str(self.workdir))


def object_name(tool, size_mib) -> str:
    return "bench/%s/%dMiB" % (tool.replace(" ", "-").replace(".", "-"), size_mib)


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------


def median(values):
    return statistics.median(values) if values else float("nan")


def print_table(runs, size_mib, repeat, tools, pings):
    def wall(direction, tool):
        return median([run.seconds for run in runs[direction][tool]])

    out = [""]
    out.append("SSE-C transfer of %d MiB over HTTPS to SeaweedFS on loopback, %d repetition(s), medians"
               % (size_mib, repeat))
    out.append("(process startup included; every download verified against the source SHA-256)")
    out.append("")
    header = "%-9s %-15s %8s %7s %7s %8s %8s %8s  %s" % (
        "direction", "tool", "wall s", "MiB/s", "vs aws", "vs boto3", "CPU s", "srv CPU", "wall of each run (s)")
    out.append(header)
    out.append("-" * len(header))

    def ratio(value, peer, direction):
        return "%7.2fx" % (value / wall(direction, peer)) if peer in tools else "%8s" % "-"

    for direction in (UP, DOWN):
        for tool in tools:
            value = wall(direction, tool)
            out.append("%-9s %-15s %8.2f %7.1f %s %s %8.2f %8.2f  %s" % (
                direction, tool, value, size_mib / value, ratio(value, AWS, direction)[1:],
                ratio(value, BOTO3, direction),
                median([run.cpu for run in runs[direction][tool]]),
                median([run.server_cpu for run in runs[direction][tool]]),
                " ".join("%.2f" % run.seconds for run in runs[direction][tool])))
        out.append("")
    out.append("CPU s: user+system CPU of the tool's whole process tree (for the module: ansible-playbook,")
    out.append("       its workers and the module process); srv CPU: CPU used meanwhile by SeaweedFS.")
    out.append("       Both load-independent, unlike wall time on a shared machine.")
    if pings:
        out.append("ansible-playbook fixed cost (one ansible.builtin.ping task, no transfer): median %.2f s wall, "
                   "%.2f s CPU  (%s)" % (
                       median([run.seconds for run in pings]), median([run.cpu for run in pings]),
                       " ".join("%.2f" % run.seconds for run in pings)))
    out.append("")
    out.append("Targets (median wall time)")
    for tool in (tool for tool in MODULES if tool in tools):
        for direction in (UP, DOWN):
            module = wall(direction, tool)
            for peer, factor in TARGETS:
                if peer not in tools:
                    continue
                value = module / wall(direction, peer)
                out.append("  %-9s %-8s <= %.1fx %-9s: %.2fx  %s" % (
                    tool if tool == CANDIDATE else "module", direction, factor, peer, value,
                    "met" if value <= factor else "NOT MET"))
    print("\n".join(out), flush=True)


def print_rss(rss, tools):
    out = ["", "Peak RSS (VmHWM, MB) of the process doing the transfer, polled every %d ms" % (POLL_INTERVAL * 1000),
           "(module: the AnsiballZ_object.py / AnsiballZ_download.py process, not the controller;",
           " peers: the aws / rclone / python process itself)", ""]
    header = "%9s %-9s " % ("size MiB", "direction") + " ".join("%15s" % tool for tool in tools)
    modules = [tool for tool in MODULES if tool in tools]
    if modules:
        header += "  %s <= %d MB" % ("/".join(modules), RSS_TARGET_MB)
    out.append(header)
    out.append("-" * len(header))
    for (size_mib, direction), peaks in rss.items():
        line = "%9d %-9s " % (size_mib, direction) + " ".join("%15.1f" % (peaks[tool] / 1e6) for tool in tools)
        if modules:
            line += "  " + "/".join("met" if peaks[tool] / 1e6 <= RSS_TARGET_MB else "NOT MET" for tool in modules)
        out.append(line)
    print("\n".join(out), flush=True)


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--size-mib", type=int, default=1024, help="size of the file (default: %(default)s)")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions per tool and direction (default: %(default)s)")
    parser.add_argument("--rss-sizes", default="256,1024",
                        help="comma-separated sizes in MiB of the peak-RSS runs (one upload and one download "
                             "per tool and size); empty to skip (default: %(default)s)")
    parser.add_argument("--tools", default=",".join(TOOLS),
                        help="comma-separated subset of: %s (default: all)" % ", ".join(TOOLS))
    parser.add_argument("--no-ping", action="store_true", help="skip the ansible startup reference runs")
    parser.add_argument("--candidate", metavar="PATH",
                        help="also measure the modules of the collection found in this ANSIBLE_COLLECTIONS_PATH "
                             "(PATH/ansible_collections/ssec/s3), as the tool 'candidate'")
    parser.add_argument("--workdir", help="parent of the temp directory (default: the system temp dir)")
    args = parser.parse_args(argv)
    args.rss_sizes = [int(part) for part in args.rss_sizes.split(",") if part.strip()]
    args.tools = [name.strip() for name in args.tools.split(",") if name.strip()]
    unknown = set(args.tools) - set(TOOLS)
    if unknown:
        parser.error("unknown tools: %s" % ", ".join(sorted(unknown)))
    if args.candidate:
        args.candidate = str(Path(args.candidate).resolve())
        if not (Path(args.candidate) / "ansible_collections" / "ssec" / "s3" / "galaxy.yml").is_file():
            parser.error("--candidate: no ansible_collections/ssec/s3/galaxy.yml under %s" % args.candidate)
        args.tools.insert(1 if MODULE in args.tools else 0, CANDIDATE)
    if args.size_mib < 1 or args.repeat < 1:
        parser.error("--size-mib and --repeat must be positive")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _raise_interrupted)
    signal.signal(signal.SIGHUP, _raise_interrupted)
    s3service = load_s3service()
    workdir = Path(tempfile.mkdtemp(prefix="ssec-bench-", dir=args.workdir))
    runner = Runner()
    service = None
    try:
        log("workdir %s; %s, %d cores, Python %s" % (
            workdir, platform.platform(), os.cpu_count(), platform.python_version()))
        service = s3service.S3Service(workdir=workdir / "s3", buckets=(BUCKET,))
        started = time.monotonic()
        service.start()
        log("SeaweedFS ready in %.1f s at %s" % (time.monotonic() - started, service.endpoint_url))
        runner.server_pid = service.pid
        bench = Bench(service, workdir, os.urandom(32), runner, args.candidate)

        sources = {}

        def source(size_mib):
            if size_mib not in sources:
                path = workdir / ("source-%dMiB.bin" % size_mib)
                began = time.monotonic()
                random_file(path, size_mib * MIB)
                sources[size_mib] = (path, sha256_file(path))
                log("created %s in %.1f s" % (path.name, time.monotonic() - began))
            return sources[size_mib]

        def check_download(tool, path, expected):
            actual = sha256_file(path)
            unlink(path)
            if actual != expected:
                raise RuntimeError("%s download does not match the source: %s != %s" % (tool, actual, expected))

        src, src_sha = source(args.size_mib)
        tools = list(dict.fromkeys(args.tools))
        runs = {direction: {tool: [] for tool in tools} for direction in (UP, DOWN)}
        pings = []
        dest = workdir / "download.bin"
        for rep in range(args.repeat):
            # Rotate the order: no tool always runs first, or always right after the same other tool.
            order = tools[rep % len(tools):] + tools[:rep % len(tools)]
            for direction in (UP, DOWN):
                for tool in order:
                    run = bench.transfer(tool, direction, object_name(tool, args.size_mib),
                                         src if direction == UP else dest)
                    runs[direction][tool].append(run)
                    if direction == DOWN:
                        check_download(tool, dest, src_sha)
                    log("rep %d %-8s %-15s %7.2f s wall, %6.2f s CPU, server %6.2f s CPU%s" % (
                        rep + 1, direction, tool, run.seconds, run.cpu, run.server_cpu,
                        " (sha256 ok)" if direction == DOWN else ""))
            if not args.no_ping and (MODULE in tools or CANDIDATE in tools):
                pings.append(bench.ping())
                log("rep %d ansible ping %.2f s" % (rep + 1, pings[-1].seconds))
        print_table(runs, args.size_mib, args.repeat, tools, pings)

        rss = {}
        for size_mib in args.rss_sizes:
            path, sha = source(size_mib)
            up, down = rss[(size_mib, UP)], rss[(size_mib, DOWN)] = {}, {}
            for tool in tools:
                name = "bench/rss/%s/%dMiB" % (tool.replace(" ", "-").replace(".", "-"), size_mib)
                up[tool] = bench.transfer(tool, UP, name, path, rss=True).peak_rss
                down[tool] = bench.transfer(tool, DOWN, name, dest, rss=True).peak_rss
                check_download(tool, dest, sha)
                log("rss %d MiB %-15s upload %.1f MB, download %.1f MB"
                    % (size_mib, tool, up[tool] / 1e6, down[tool] / 1e6))
            if size_mib != args.size_mib:
                unlink(path)
                del sources[size_mib]
        if rss:
            print_rss(rss, tools)
        print("\n%s, %s, %d cores, Python %s" % (
            datetime.datetime.now().strftime("%Y-%m-%d %H:%M"), platform.platform(), os.cpu_count(),
            platform.python_version()), flush=True)
        return 0
    except (KeyboardInterrupt, Interrupted):
        log("interrupted, cleaning up")
        return 130
    finally:
        clean_up(runner, service, workdir)


def clean_up(runner, service, workdir):
    """Stop the running tool and the server, remove the work directory; signals are ignored meanwhile."""
    # weed must not be left behind, even when a second Ctrl-C comes during the clean-up.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    runner.kill_current()
    if service is not None:
        service.stop()
    shutil.rmtree(workdir, ignore_errors=True)
    log("cleaned up %s" % workdir)


if __name__ == "__main__":
    sys.exit(main())

# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers of the functional tests: run ssec.s3 tasks through a real ``ansible-playbook``,
drive the independent clients (aws cli, rclone), make SSE-C keys.

``run_tasks(service, tasks, workdir)`` writes a one-play playbook (as JSON,
which is YAML) for ``localhost`` with ``-c local``, with the connection options
of the service set once through ``module_defaults`` for ``group/ssec.s3.s3``.
Every task is registered and run with ``ignore_errors``; a last task writes all
registered results as JSON into a file, which is returned parsed, one result
per task, in order. It runs at ``-vvvv --diff`` with the Ansible log on, and
fails when its output or log holds the S3 secret key or any 32-byte key whose
fingerprint also appears (the failure paths of the bad-input and fault tests
are leak tests too).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

# leak_scan.py lives in tests/support, which is not a package (conftest.py adds it too; this module may be
# imported on its own).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "support"))
# pylint: disable-next=wrong-import-position
from leak_scan import ScanStats, Secret, leaks, report, scan_sources  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[2]
# Environment variables that would give the modules or the clients credentials,
# endpoints or profiles other than the test service's.
_FOREIGN_ENV_PREFIXES = ("AWS_", "SCW_", "BOTO_", "RCLONE_")
PLAYBOOK_TIMEOUT = 1800
# What the leak scans of run_tasks searched in this session (conftest.py prints it at the end).
RUN_TASKS_SCAN = ScanStats()


class PlaybookError(AssertionError):
    """ansible-playbook failed, or a task failed that was expected to succeed."""


def venv_bin(name: str) -> str:
    """A program of the test venv (next to the running Python), else from PATH."""
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which(name)
    if not found:
        pytest.fail("%s not found next to %s or on PATH (see tests/requirements.txt)" % (name, sys.executable))
    return found


def collections_path() -> str:
    """ANSIBLE_COLLECTIONS_PATH from the environment (CI sets it to a copy), else the dev symlink tree."""
    return os.environ.get("ANSIBLE_COLLECTIONS_PATH") or str(REPO_ROOT / ".build" / "dev")


def clean_env(extra: dict | None = None) -> dict:
    """This process's environment without any AWS/Scaleway/rclone settings, plus ``extra``."""
    env = {name: value for name, value in os.environ.items() if not name.startswith(_FOREIGN_ENV_PREFIXES)}
    env.update(extra or {})
    return env


# --------------------------------------------------------------------------
# Keys
# --------------------------------------------------------------------------


class Key:
    """A 32-byte SSE-C key in a raw key file, with the encodings the clients want."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.raw = os.urandom(32)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(self.raw)

    @property
    def b64(self) -> str:
        return base64.b64encode(self.raw).decode("ascii")

    @property
    def md5_b64(self) -> str:
        return base64.b64encode(hashlib.md5(self.raw).digest()).decode("ascii")

    def boto3_params(self) -> dict:
        """SSE-C parameters for boto3 (raw bytes: botocore encodes them and computes the MD5)."""
        return {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": self.raw}


def random_file(path: Path, size: int) -> Path:
    path = Path(path)
    with open(path, "wb") as handle:
        remaining = size
        while remaining:
            block = os.urandom(min(remaining, 4 * 1024 * 1024))
            handle.write(block)
            remaining -= len(block)
    return path


def sha256_file(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


# --------------------------------------------------------------------------
# ansible-playbook
# --------------------------------------------------------------------------


def connection_defaults(service) -> dict:
    return {
        "endpoint_url": service.endpoint_url,
        "ca_bundle": str(service.ca_file),
        "access_key": service.access_key,
        "secret_key": service.secret_key,
        "region": service.region,
    }


def _playbook_command(service, tasks, workdir, play_name="ssec.s3 functional test", play_vars=None,
                      playbook_path=None):
    """Write ``tasks`` as one play for localhost, with the service's connection options in ``module_defaults``;
    return the ansible-playbook command and its environment. The playbook holds the service's secret key: it is
    written owner-only (to ``playbook_path``, default ``workdir/playbook.yml``)."""
    workdir = Path(workdir)
    play = {
        "name": play_name,
        "hosts": "localhost",
        "gather_facts": False,
        "vars": dict(play_vars or {}),
        "module_defaults": {"group/ssec.s3.s3": connection_defaults(service)},
        "tasks": list(tasks),
    }
    playbook = Path(playbook_path) if playbook_path else workdir / "playbook.yml"
    write_private_json(playbook, [play])
    return [venv_bin("ansible-playbook"), "-i", "localhost,", "-c", "local", str(playbook)], ansible_env(workdir)


def write_private_json(path, content):
    """Write ``content`` as JSON (which is YAML) readable by the owner only: playbooks hold the secret key."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(content, handle, indent=2)


def ansible_env(workdir, collections=None) -> dict:
    """The environment of the Ansible tools the tests run: the collections from ``collections`` (default
    ``collections_path()``), the venv's Python, temp dirs under ``workdir``, plain output, no ansible.cfg."""
    ansible_tmp = Path(workdir) / "ansible-tmp"
    env = clean_env({
        "ANSIBLE_COLLECTIONS_PATH": str(collections or collections_path()),
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
        "ANSIBLE_LOCAL_TEMP": str(ansible_tmp / "local"),
        "ANSIBLE_REMOTE_TEMP": str(ansible_tmp / "remote"),
        "ANSIBLE_RETRY_FILES_ENABLED": "false",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_DEPRECATION_WARNINGS": "false",
        # ssec.s3.sync's record of what it verified: in the run's directory, not in the user's ~/.cache.
        "XDG_CACHE_HOME": str(Path(workdir) / "cache"),
    })
    env.pop("ANSIBLE_CONFIG", None)
    return env


def run_tasks(service, tasks, workdir, check=False, allow_failures=False, timeout=PLAYBOOK_TIMEOUT):
    """Run ``tasks`` (list of task dicts) in one play; return the list of their registered results.

    A task that fails raises PlaybookError (with every task's ``msg``) unless ``allow_failures``.
    """
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    names = ["ssec_result_%d" % number for number in range(len(tasks))]
    results_file = workdir / "results.json"
    if results_file.exists():
        results_file.unlink()
    play_tasks = []
    for name, task in zip(names, tasks, strict=True):
        task = dict(task)
        task.setdefault("name", "task %s" % name.rsplit("_", 1)[1])
        task["register"] = name
        task["ignore_errors"] = True
        play_tasks.append(task)
    collected = "{{ [%s] | to_json }}" % ", ".join(names)
    play_tasks.append({
        "name": "collect the results",
        "ansible.builtin.copy": {"content": collected, "dest": str(results_file), "mode": "0600"},
        # In check mode too, the results must be written.
        "check_mode": False,
    })
    command, env = _playbook_command(service, play_tasks, workdir)
    # Every run is also a leak test: at -vvvv --diff, with the Ansible log, see _assert_no_key_material.
    command += ["-vvvv", "--diff"]
    log_path = workdir / "ansible.log"
    env["ANSIBLE_LOG_PATH"] = str(log_path)
    if check:
        command.append("--check")
    proc = subprocess.run(command, env=env, cwd=str(workdir), capture_output=True, text=True, timeout=timeout,
                          check=False)
    _assert_no_key_material(service, proc, log_path)
    if proc.returncode != 0 or not results_file.exists():
        raise PlaybookError("ansible-playbook exited with %d\n--- stdout ---\n%s\n--- stderr ---\n%s"
                            % (proc.returncode, proc.stdout[-6000:], proc.stderr[-6000:]))
    results = json.loads(results_file.read_text(encoding="utf-8"))
    if not allow_failures:
        failed = [(number, result.get("msg")) for number, result in enumerate(results) if result.get("failed")]
        if failed:
            raise PlaybookError("task(s) failed: %r\n--- stdout ---\n%s" % (failed, proc.stdout[-6000:]))
    return results


def _assert_no_key_material(service, proc, log_path):
    """No key in what a playbook run printed or logged: the S3 secret key in any form, nor any 32-byte key
    spelled out whose MD5 fingerprint (which the modules report) also appears - so every task the functional
    tests run, failure paths included, is searched for the keys it used without listing them."""
    sources = [("stdout", proc.stdout.encode("utf-8", "surrogateescape")),
               ("stderr", proc.stderr.encode("utf-8", "surrogateescape"))]
    if log_path.exists():
        sources.append((str(log_path), log_path.read_bytes()))
    stats = ScanStats()
    hits = scan_sources(sources, [Secret("the S3 secret key", service.secret_key.encode())], stats)
    RUN_TASKS_SCAN.sources += stats.sources
    RUN_TASKS_SCAN.bytes_searched += stats.bytes_searched
    if leaks(hits):
        raise PlaybookError("key material in the output of ansible-playbook:\n" + report(hits, stats))


def run_task(service, task, workdir, **kwargs) -> dict:
    return run_tasks(service, [task], workdir, **kwargs)[0]


# --------------------------------------------------------------------------
# Independent clients
# --------------------------------------------------------------------------


def aws(service, *args, check=True):
    """Run the aws cli (v1) against the service; returns the CompletedProcess."""
    env = clean_env({
        "AWS_ACCESS_KEY_ID": service.access_key,
        "AWS_SECRET_ACCESS_KEY": service.secret_key,
        "AWS_DEFAULT_REGION": service.region,
        # No shared config or credentials of the person running the tests.
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        # What this server needs from its clients (Ceph RGW: no aws-chunked checksum trailers).
        **getattr(service, "client_settings_env", dict)(),
    })
    command = [venv_bin("aws"), "--endpoint-url", service.endpoint_url, "--ca-bundle", str(service.ca_file)]
    command += list(args)
    proc = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600, check=False)
    if check and proc.returncode != 0:
        raise AssertionError("aws %s exited with %d: %s" % (" ".join(args[:2]), proc.returncode, proc.stderr[-3000:]))
    return proc


def aws_sse_c_args(key: Key) -> list:
    """s3api options for SSE-C: base64 key and base64 MD5 of the raw key, as the users' shell lines do."""
    return ["--sse-customer-algorithm", "AES256", "--sse-customer-key", key.b64,
            "--sse-customer-key-md5", key.md5_b64]


def rclone(service, key: Key, *args, check=True, binary=False):
    """Run rclone with a remote named ``s3test:`` (provider Other, SSE-C with ``key``) from env vars."""
    env = clean_env({
        "RCLONE_CONFIG_S3TEST_TYPE": "s3",
        "RCLONE_CONFIG_S3TEST_PROVIDER": "Other",
        "RCLONE_CONFIG_S3TEST_ENDPOINT": service.endpoint_url,
        "RCLONE_CONFIG_S3TEST_REGION": service.region,
        "RCLONE_CONFIG_S3TEST_ACCESS_KEY_ID": service.access_key,
        "RCLONE_CONFIG_S3TEST_SECRET_ACCESS_KEY": service.secret_key,
        "RCLONE_CONFIG_S3TEST_FORCE_PATH_STYLE": "true",
        # The buckets exist; rclone must not try to create them.
        "RCLONE_CONFIG_S3TEST_NO_CHECK_BUCKET": "true",
    })
    command = [venv_bin("rclone"), "--config", os.devnull, "--ca-cert", str(service.ca_file),
               "--s3-sse-customer-algorithm", "AES256", "--s3-sse-customer-key-base64", key.b64] + list(args)
    proc = subprocess.run(command, env=env, capture_output=True, text=not binary, timeout=600, check=False)
    if check and proc.returncode != 0:
        stderr = proc.stderr if not binary else proc.stderr.decode("utf-8", "replace")
        raise AssertionError("rclone %s exited with %d: %s" % (args[0], proc.returncode, stderr[-3000:]))
    return proc


def open_multipart_uploads(client, bucket) -> list:
    """The multipart uploads still open in ``bucket`` (should be none)."""
    return client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])


# --------------------------------------------------------------------------
# A playbook in the background, and killing it
# --------------------------------------------------------------------------


def start_tasks(service, tasks, workdir):
    """Start ``tasks`` in one play, as ``run_tasks`` would run them, in a background ``ansible-playbook``.

    The process leads a new session (its own process group), so ``kill_playbook`` reaches every process it
    starts: the forked workers and the module processes. Nothing is registered or collected; stdout and
    stderr go to files in ``workdir``. Returns the ``subprocess.Popen``.
    """
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    tasks = [dict(task, name=task.get("name", "task %d" % number)) for number, task in enumerate(tasks)]
    command, env = _playbook_command(service, tasks, workdir, play_name="ssec.s3 functional test (background)")
    with open(workdir / "stdout.txt", "wb") as stdout, open(workdir / "stderr.txt", "wb") as stderr:
        return subprocess.Popen(command, env=env, cwd=str(workdir), stdin=subprocess.DEVNULL, stdout=stdout,
                                stderr=stderr, start_new_session=True)


def processes_mentioning(text: str) -> list:
    """(pid, command line) of the live processes whose command line contains ``text`` (Linux /proc; zombies,
    whose command line is empty, are not listed)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open("/proc/%s/cmdline" % entry, "rb") as handle:
                cmdline = handle.read().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
        if text in cmdline:
            found.append((int(entry), cmdline.strip()))
    return found


def _descendants(pid: int) -> set:
    """``pid`` and every process below it, from the parent ids in /proc/<pid>/stat."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry, "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ")".
        parent = int(stat[stat.rindex(b")") + 2:].split()[1])
        children.setdefault(parent, []).append(int(entry))
    found, todo = set(), [pid]
    while todo:
        current = todo.pop()
        if current not in found:
            found.add(current)
            todo += children.get(current, [])
    return found


def kill_playbook(proc, workdir, timeout=5.0):
    """SIGKILL a ``start_tasks`` playbook and every process below it, all at the same instant, and check that
    nothing started from ``workdir`` survived.

    Killing the process group of ``ansible-playbook`` is not enough: ansible-core's forked workers call
    ``setsid()`` (WorkerProcess._detach), so each worker - and the module it runs - is in a session and
    process group of its own, and would run the task to its end. So the whole tree is first frozen with
    SIGSTOP (repeatedly, until no process appears in it any more: a fork in progress is caught by the next
    pass), then every process in it gets SIGKILL - like a power cut, no ``finally`` runs anywhere.
    """
    import signal
    import time

    tree = set()
    for _round in range(100):
        found = _descendants(proc.pid) if proc.poll() is None else set()
        for pid in found - tree:
            try:
                os.kill(pid, signal.SIGSTOP)
            except ProcessLookupError:
                pass
        if found <= tree:
            break
        tree |= found
    else:
        raise AssertionError("the process tree of the playbook kept growing: %r" % sorted(tree))
    for pid in tree:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait(timeout=timeout)
    deadline = time.monotonic() + timeout
    while True:
        left = processes_mentioning(str(workdir))
        if not left:
            return sorted(tree)
        if time.monotonic() > deadline:
            for pid, _cmdline in left:  # started by this test (through the playbook): by pid, then fail
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            raise AssertionError("processes of the killed playbook survived: %r" % left)
        time.sleep(0.05)


# --------------------------------------------------------------------------
# One play, run as it is: every option and every byte of output
# --------------------------------------------------------------------------


def run_play(service, tasks, workdir, playbook_path=None, args=(), env=None, play_vars=None,
             timeout=PLAYBOOK_TIMEOUT):
    """Run ``tasks`` as they are (no register, no ignore_errors added) in one play for ``localhost``, with the
    service's connection options in ``module_defaults``; return the ``subprocess.CompletedProcess`` with stdout
    and stderr as bytes, whatever the exit code.

    ``args`` are extra ansible-playbook arguments (``-vvvv``, ``--check``, ``--diff``...), ``env`` extra
    environment variables, ``play_vars`` the play's ``vars``. The playbook goes to ``playbook_path`` (default
    ``workdir/playbook.yml``), owner-only since it holds the service's secret key.
    """
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    command, full_env = _playbook_command(service, tasks, workdir, play_vars=play_vars, playbook_path=playbook_path)
    full_env.update(env or {})
    command += list(args)
    return subprocess.run(command, env=full_env, cwd=str(workdir), stdin=subprocess.DEVNULL, capture_output=True,
                          timeout=timeout, check=False)


def processes_with(variable):
    """pid -> parent pid of every process whose environment holds ``variable`` (NAME=value, bytes)."""
    found = {}
    for entry in os.listdir("/proc"):
        try:
            with open("/proc/%s/environ" % entry, "rb") as handle:
                if variable not in handle.read().split(b"\0"):
                    continue
            with open("/proc/%s/stat" % entry, "rb") as handle:
                found[int(entry)] = int(handle.read().rsplit(b")", 1)[1].split()[1])
        except (OSError, ValueError):
            continue
    return found

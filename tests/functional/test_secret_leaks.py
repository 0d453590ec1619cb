# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""No key material anywhere: every plugin, success and failure paths, real ansible-playbook at -vvvv.

One playbook exercises every plugin of the collection - ssec.s3.key, object, download, object_info, rekey,
sync, the lookup ssec.s3.key and the filter ssec.s3.key_md5 - on success paths and on failure paths
(every task ``ignore_errors``, so the play goes on), with keys given through the lookup with ``no_log`` as
documented, and also without ``no_log`` (the key options are ``no_log`` in the modules' argument specs, so
Ansible itself must mask them) and through key files (paths only). It runs twice against the real HTTPS
SeaweedFS of the ``s3service`` fixture: once for real, then once in check mode, both at ``-vvvv --diff`` with
``ANSIBLE_LOG_PATH`` and ``ANSIBLE_KEEP_REMOTE_FILES=0``.

Then everything captured - stdout, stderr, the log files, every file left under the work directory (the
registered results written as JSON, downloads, Ansible's temp dirs...) and the names of those files - is
searched by tests/support/leak_scan.py for every form of every key the runs used (``secret_forms``: raw bytes,
base64, base64url, unpadded, hex, HEX, base64 of the base64, bytes-repr escapes, plus their UTF-8, JSON and
Python-repr escapings), and for any other key spelled out whose fingerprint appears. Zero hits are required.
The search is shown to be meaningful: the keys' MD5 fingerprints do appear in the output, and a canary key
that the playbook prints on purpose is found (then left out of the zero-hit assertion).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import string
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from leak_scan import ScanStats, Secret, leaks, named_forms, parse_key_file, report, scan_sources
from playbook import Key, PlaybookError, random_file, run_play, run_tasks

MIB = 1024 * 1024
BIG_SIZE = 12 * MIB


# --------------------------------------------------------------------------
# The scanner (tests/support/leak_scan.py)
# --------------------------------------------------------------------------


def test_scanner_finds_every_form():
    """The scanner itself: each form of a key, hidden in noise, is found and named - and nothing else is."""
    raw = os.urandom(32)
    secret = Secret("probe", raw)
    other = Secret("bystander", os.urandom(32))
    sources = []
    for form, text in named_forms(raw).items():
        for encoding, data in (("latin-1", text.encode("latin-1")), ("UTF-8", text.encode("utf-8")),
                               ("JSON", json.dumps({"msg": text}).encode("ascii")),
                               ("Python repr", repr({"msg": text}).encode("utf-8"))):
            sources.append(("%s as %s" % (form, encoding),
                            os.urandom(100) + b"\n x=" + data + b" \n" + os.urandom(100)))
    hits = scan_sources(sources, [secret, other])
    assert not [hit for hit in hits if hit.secret == "bystander"]
    found_in = {hit.where for hit in hits}
    missed = [where for where, _data in sources if where not in found_in]
    assert not missed, "the scanner missed: %s" % missed
    # The hit names the form that was planted (base64 unpadded is also found inside base64, and so on).
    for where, _data in sources:
        planted = where.split(" as ")[0]
        assert any(hit.form.startswith(planted) for hit in hits if hit.where == where), where
    # Never the secret itself in what a report prints.
    text = report(hits, ScanStats()) + "\n".join(hit.describe() for hit in hits)
    assert not [form for form in named_forms(raw).values() if form in text]


def test_scanner_finds_unlisted_fingerprinted_keys():
    """A key the scanner was not given is still reported when it is spelled out and its fingerprint appears."""
    raw = os.urandom(32)
    fingerprint = base64.b64encode(hashlib.md5(raw).digest())
    spelled = [base64.b64encode(raw), base64.urlsafe_b64encode(raw).rstrip(b"="), raw.hex().encode(),
               base64.b64encode(base64.b64encode(raw))]
    for form in spelled:
        hits = scan_sources([("log", b"key_md5: " + fingerprint + b"\nline two\nkey: '" + form + b"'\n")],
                            [Secret("listed", os.urandom(32))])
        assert [(hit.where, hit.line) for hit in hits] == [("log", 3)], form
        # A published test vector is allowed; without the fingerprint, a random 32-byte value is no finding.
        assert not scan_sources([("log", b"key_md5: " + fingerprint + b"\nkey: " + form + b"\n")],
                                [Secret("listed", os.urandom(32))], public_keys=[raw])
        assert not scan_sources([("log", b"sha256: " + form + b"\n")], [Secret("listed", os.urandom(32))])


# --------------------------------------------------------------------------
# The playbook
# --------------------------------------------------------------------------


def _lookup(file_name):
    return "{{ lookup('ssec.s3.key', kd ~ '/%s') }}" % file_name


def _md5_of(file_name):
    return "{{ lookup('ssec.s3.key', kd ~ '/%s') | ssec.s3.key_md5 }}" % file_name


@dataclass
class Case:
    """One task of the playbook, and what the real run must report for it (None: not checked)."""

    ident: str
    module: str
    args: dict
    expect: str | None = None  # "changed", "ok" (not changed), "failed"
    msg: str | None = None  # a part of msg, when it is checked
    no_log: bool = False
    # The registered result itself holds the key (a debug msg, a fact): Ansible censors it on display only, so
    # the results file gets its flags alone. The results of modules are written whole, no_log or not.
    holds_key: bool = False
    also_in_check_mode: bool = False  # the same outcome in the check run (decided before any state matters)

    def task(self):
        task = {"name": "%s: %s" % (self.ident, self.module), self.module: self.args,
                "register": "r_" + self.ident, "ignore_errors": True}
        if self.no_log:
            task["no_log"] = True
        return task

    def collected(self):
        """The Jinja expression that puts this task's registered result into the results file."""
        if self.holds_key:
            return "{'failed': r_%s.failed | default(false), 'changed': r_%s.changed | default(false)}" % (
                self.ident, self.ident)
        return "r_" + self.ident


def build_cases(prefix, content_b64):
    o, b = "ssec.s3.object", "{{ bucket }}"
    p = prefix
    main_file = "{{ kd }}/main.key"
    cases = [
        # --- ssec.s3.key: creation, rerun, conversion, regeneration, failures ---
        Case("k1", "ssec.s3.key", {"path": "{{ mk }}/gen.key"}, "changed", "Created"),
        Case("k2", "ssec.s3.key", {"path": "{{ mk }}/gen.key"}, "ok", "kept"),
        Case("k3", "ssec.s3.key", {"path": "{{ mk }}/gen.key", "format": "base64"}, "changed", "Rewrote"),
        Case("k4", "ssec.s3.key", {"path": "{{ mk }}/gen.key", "format": "base64", "regenerate": "always"},
             "changed", "Replaced"),
        Case("k5", "ssec.s3.key", {"path": "{{ kd }}/bad33.key"}, "failed", "not a usable SSE-C key",
             also_in_check_mode=True),
        Case("k6", "ssec.s3.key", {"path": "{{ mk }}/no-such-dir/x.key"}, "failed", "does not exist",
             also_in_check_mode=True),
        Case("k7", "ansible.builtin.debug", {"msg": "generated key MD5 {{ r_k4.key_md5 }}"}, "ok"),

        # --- ssec.s3.object: content, src, content_base64, multipart, reruns ---
        Case("o1", o, {"bucket": b, "object": p + "content.txt", "content": "hello\n",
                       "sse_customer_key": _lookup("main.key")}, "changed", no_log=True),
        Case("o2", o, {"bucket": b, "object": p + "content.txt", "content": "hello\n",
                       "sse_customer_key": _lookup("main.key")}, "ok"),
        Case("o3", o, {"bucket": b, "object": p + "small.txt", "src": "{{ kd }}/small.txt",
                       "sse_customer_key_file": main_file}, "changed"),
        Case("o4", o, {"bucket": b, "object": p + "b64.bin", "content_base64": content_b64,
                       "sse_customer_key": _lookup("main.key")}, "changed"),
        Case("o5", o, {"bucket": b, "object": p + "big.bin", "src": "{{ kd }}/big.bin", "part_size_mb": 5,
                       "sse_customer_key_file": main_file}, "changed"),
        Case("o6", o, {"bucket": b, "object": p + "big.bin", "src": "{{ kd }}/big.bin", "part_size_mb": 5,
                       "sse_customer_key": _lookup("main.key")}, "ok"),
        # --- another key: refused, then overwrite always; state absent without and with force ---
        Case("o7", o, {"bucket": b, "object": p + "over.txt", "content": "v1",
                       "sse_customer_key": _lookup("main.key")}, "changed", no_log=True),
        Case("o8", o, {"bucket": b, "object": p + "over.txt", "content": "v2",
                       "sse_customer_key": _lookup("other.key")}, "failed", "encrypted with another SSE-C key"),
        Case("o9", o, {"bucket": b, "object": p + "over.txt", "content": "v2", "overwrite": "always",
                       "sse_customer_key": _lookup("other.key")}, "changed"),
        Case("o10", o, {"bucket": b, "object": p + "over.txt", "state": "absent",
                        "sse_customer_key_file": main_file}, "failed", "not deleted"),
        Case("o11", o, {"bucket": b, "object": p + "over.txt", "state": "absent", "force": True,
                        "sse_customer_key_file": main_file}, "changed", "Deleted"),
        Case("o12", o, {"bucket": b, "object": p + "over.txt", "state": "absent"}, "ok", "does not exist"),
        # --- invalid keys ---
        Case("o13", o, {"bucket": b, "object": p + "short.txt", "content": "x",
                        "sse_customer_key": "{{ lookup('file', kd ~ '/short31.b64') }}"},
             "failed", "decodes to 31 bytes", also_in_check_mode=True),
        Case("o14", o, {"bucket": b, "object": p + "pass.txt", "content": "x",
                        "sse_customer_key": "{{ lookup('file', kd ~ '/passphrase.txt') }}"},
             "failed", "not valid base64", also_in_check_mode=True),
        Case("o15", o, {"bucket": b, "object": p + "md5.txt", "content": "x", "sse_customer_key": _lookup("main.key"),
                        "sse_customer_key_md5": _md5_of("other.key")},
             "failed", "does not match the key", also_in_check_mode=True),
        # A key pasted into the fingerprint option by mistake (that option is not no_log).
        Case("o16", o, {"bucket": b, "object": p + "md5.txt", "content": "x", "sse_customer_key": _lookup("main.key"),
                        "sse_customer_key_md5": _lookup("pasted.key")},
             "failed", "is not a key fingerprint", also_in_check_mode=True),
        Case("o17", o, {"bucket": b, "object": p + "both.txt", "content": "x", "sse_customer_key": _lookup("main.key"),
                        "sse_customer_key_file": main_file}, "failed", "mutually exclusive",
             also_in_check_mode=True),
        # --- names refused before any request (botocore's ParamValidationError would print the parameters),
        # and odd parameters ---
        Case("o18", o, {"bucket": b, "object": "", "content": "x", "sse_customer_key": _lookup("main.key")},
             "failed", "object is empty", also_in_check_mode=True),
        Case("o19", o, {"bucket": "Not_A_Valid!Bucket", "object": p + "x", "content": "x",
                        "sse_customer_key": _lookup("main.key")},
             "failed", "not a valid bucket name", also_in_check_mode=True),
        Case("o20", o, {"bucket": b, "object": p + "meta.txt", "content": "x", "sse_customer_key": _lookup("main.key"),
                        "metadata": {"nested": {"a": [1, 2]}, "multi": "line1\nline2"}}),
        Case("o21", o, {"bucket": b, "object": p + "class.txt", "content": "x", "storage_class": "NOT_A_CLASS",
                        "sse_customer_key": _lookup("main.key")}),
        # --- keys from other files: the one ssec.s3.key made, a hex key file ---
        Case("o22", o, {"bucket": b, "object": p + "made.txt", "content": "made",
                        "sse_customer_key_file": "{{ mk }}/gen.key"}, "changed"),
        Case("o23", o, {"bucket": b, "object": p + "hex.txt", "content": "hex",
                        "sse_customer_key_file": "{{ kd }}/hex.key"}, "changed"),

        # --- ssec.s3.download ---
        Case("d1", "ssec.s3.download", {"bucket": b, "object": p + "content.txt", "dest": "{{ od }}/content.txt",
                                        "sse_customer_key": _lookup("main.key")}, "changed", no_log=True),
        Case("d2", "ssec.s3.download", {"bucket": b, "object": p + "content.txt", "dest": "{{ od }}/content.txt",
                                        "sse_customer_key": _lookup("main.key")}, "ok"),
        Case("d3", "ssec.s3.download", {"bucket": b, "object": p + "content.txt", "dest": "{{ od }}/wrong.txt",
                                        "sse_customer_key": _lookup("other.key")}, "failed", "another SSE-C key"),
        Case("d4", "ssec.s3.download", {"bucket": b, "object": p + "plain.txt", "dest": "{{ od }}/plain.txt",
                                        "sse_customer_key": _lookup("main.key")}, "failed", "not SSE-C encrypted"),
        Case("d5", "ssec.s3.download", {"bucket": b, "object": p + "content.txt",
                                        "dest": "{{ od }}/no-such-dir/content.txt",
                                        "sse_customer_key": _lookup("main.key")}, "failed", "does not exist",
             also_in_check_mode=True),
        Case("d6", "ssec.s3.download", {"bucket": b, "object": p + "big.bin", "dest": "{{ od }}/big.bin",
                                        "sse_customer_key_file": main_file}, "changed"),

        # --- ssec.s3.object_info ---
        Case("i1", "ssec.s3.object_info", {"bucket": b, "object": p + "content.txt",
                                           "sse_customer_key": _lookup("main.key")}, "ok", "with this key"),
        Case("i2", "ssec.s3.object_info", {"bucket": b, "object": p + "content.txt",
                                           "sse_customer_key": _lookup("other.key")}, "ok", "with another key"),
        Case("i3", "ssec.s3.object_info", {"bucket": b, "object": p + "content.txt"}, "ok", "give a key"),
        Case("i4", "ssec.s3.object_info", {"bucket": b, "prefix": p, "sse_customer_key": _lookup("main.key")}, "ok"),
        Case("i5", "ssec.s3.object_info", {"bucket": b, "object": p + "plain.txt",
                                           "sse_customer_key_file": main_file}, "ok", "not SSE-C encrypted"),
        # The key in a fact (set with no_log), then used in a task without no_log.
        Case("i6", "ansible.builtin.set_fact", {"main_b64": _lookup("main.key")}, "ok", no_log=True, holds_key=True),
        Case("i7", "ssec.s3.object_info", {"bucket": b, "object": p + "content.txt",
                                           "sse_customer_key": "{{ main_b64 }}"}, "ok", "with this key"),

        # --- ssec.s3.rekey: a prefix with a multipart object (streamed fallback) and a plaintext object ---
        Case("r1", o, {"bucket": b, "object": p + "rk/a.txt", "content": "rotate me",
                       "sse_customer_key": _lookup("main.key")}, "changed", no_log=True),
        Case("r2", o, {"bucket": b, "object": p + "rk/big.bin", "src": "{{ kd }}/big.bin", "part_size_mb": 5,
                       "sse_customer_key_file": main_file}, "changed"),
        Case("r3", "ssec.s3.rekey", {"bucket": b, "prefix": p + "rk/", "multipart_copy_threshold_mb": 5,
                                     "old_sse_customer_key": _lookup("main.key"),
                                     "sse_customer_key": _lookup("new.b64")}, "changed", no_log=True),
        Case("r4", "ssec.s3.rekey", {"bucket": b, "prefix": p + "rk/", "multipart_copy_threshold_mb": 5,
                                     "old_sse_customer_key": _lookup("main.key"),
                                     "sse_customer_key": _lookup("new.b64")}, "ok"),
        Case("r5", "ssec.s3.rekey", {"bucket": b, "prefix": p + "rk/", "old_sse_customer_key": _lookup("new.b64"),
                                     "sse_customer_key": _lookup("new.b64")}, "failed", "are the same key",
             also_in_check_mode=True),
        Case("r6", "ssec.s3.rekey", {"bucket": b, "prefix": p + "rk/", "old_sse_customer_key": _lookup("other.key"),
                                     "sse_customer_key_file": "{{ kd }}/hex.key"}, "failed", "unknown key"),
        Case("r7", "ssec.s3.rekey", {"bucket": b, "object": p + "rk/a.txt",
                                     "old_sse_customer_key_file": "{{ kd }}/new.b64",
                                     "sse_customer_key_file": main_file}, "changed"),

        # --- ssec.s3.sync ---
        Case("s1", "ssec.s3.sync", {"mode": "push", "path": "{{ kd }}/push", "bucket": b, "prefix": p + "sync/",
                                    "sse_customer_key_file": main_file}, "changed"),
        Case("s2", "ssec.s3.sync", {"mode": "push", "path": "{{ kd }}/push", "bucket": b, "prefix": p + "sync/",
                                    "sse_customer_key": _lookup("main.key")}, "ok"),
        Case("s3", "ssec.s3.sync", {"mode": "pull", "path": "{{ od }}/pulled", "bucket": b, "prefix": p + "sync/",
                                    "sse_customer_key": _lookup("main.key")}, "changed", no_log=True),
        Case("s4", "ssec.s3.sync", {"mode": "pull", "path": "{{ od }}/pulled", "bucket": b, "prefix": p + "sync/",
                                    "sse_customer_key": _lookup("main.key")}, "ok"),
        Case("s5", "ssec.s3.sync", {"mode": "push", "path": "{{ kd }}/small.txt", "bucket": b, "prefix": p + "sync/",
                                    "sse_customer_key": _lookup("main.key")}, "failed", "not a directory",
             also_in_check_mode=True),
        Case("s6", "ssec.s3.sync", {"mode": "pull", "path": "{{ kd }}/small.txt", "bucket": b, "prefix": p + "sync/",
                                    "sse_customer_key": _lookup("main.key")}, "failed", "not a directory",
             also_in_check_mode=True),
        Case("s7", "ssec.s3.sync", {"mode": "pull", "path": "{{ od }}/pulled-wrong", "bucket": b,
                                    "prefix": p + "sync/", "sse_customer_key": _lookup("other.key")}),

        # --- the lookup and the filter, in debug tasks ---
        Case("l1", "ansible.builtin.debug", {"msg": "main key MD5 " + _md5_of("main.key")}, "ok"),
        Case("l2", "ansible.builtin.debug", {"msg": _lookup("main.key")}, "ok", no_log=True, holds_key=True),
        Case("l3", "ansible.builtin.debug", {"msg": _lookup("bad33.key")}, "failed", "is not an SSE-C key",
             also_in_check_mode=True),
        Case("l4", "ansible.builtin.debug", {"msg": _lookup("passphrase.txt")}, "failed", "is not an SSE-C key",
             also_in_check_mode=True),
        Case("l5", "ansible.builtin.debug", {"msg": _lookup("missing.key")}, "failed", "does not exist",
             also_in_check_mode=True),
        Case("l6", "ansible.builtin.debug",
             {"msg": "{{ lookup('file', kd ~ '/short31.b64') | ssec.s3.key_md5 }}"}, "failed", "decodes to 31 bytes",
             also_in_check_mode=True),
        Case("l7", "ansible.builtin.debug",
             {"msg": "{{ lookup('file', kd ~ '/passphrase.txt') | ssec.s3.key_md5 }}"}, "failed", "not valid base64",
             also_in_check_mode=True),
        Case("l8", "ansible.builtin.debug", {"msg": "{{ 42 | ssec.s3.key_md5 }}"}, "failed", "a number",
             also_in_check_mode=True),
        # The control: a canary key, used nowhere else, printed on purpose. The scanner must find it.
        Case("canary", "ansible.builtin.debug", {"msg": "canary {{ lookup('file', kd ~ '/canary.b64') }}"}, "ok"),
    ]
    return cases


# --------------------------------------------------------------------------
# The test
# --------------------------------------------------------------------------


def _sha256(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _write(path, data, mode=0o600):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _files_under(root: Path):
    for directory, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            yield Path(directory) / name


def _result_status(result):
    if result.get("failed"):
        return "failed"
    return "changed" if result.get("changed") else "ok"


def test_every_run_tasks_playbook_is_scanned(s3service, tmp_path):
    """run_tasks, which most functional tests use (failure paths included), fails on a key in the output."""
    key = Key(tmp_path / "printed.key")
    printed = [{"ansible.builtin.debug": {"msg": "fingerprint %s, key %s" % (key.md5_b64, key.b64)}}]
    with pytest.raises(PlaybookError, match="an unlisted key whose MD5 fingerprint also appears"):
        run_tasks(s3service, printed, tmp_path / "leaky")
    fingerprint_only = [{"ansible.builtin.debug": {"msg": "fingerprint %s" % key.md5_b64}}]
    assert run_tasks(s3service, fingerprint_only, tmp_path / "clean")[0]["msg"] == "fingerprint %s" % key.md5_b64


def test_no_key_material_in_any_output(s3service, tmp_path):
    started = time.monotonic()
    bucket = s3service.buckets[0]
    prefix = "leaks-%s/" % uuid.uuid4().hex[:12]
    inputs = tmp_path / "inputs"
    made_keys = tmp_path / "made-keys"
    out = tmp_path / "out"
    captured = tmp_path / "captured"  # copies of stdout/stderr, for a person; searched in memory instead
    logs = tmp_path / "logs"
    for directory in (inputs, made_keys, out, captured, logs, inputs / "push" / "sub"):
        directory.mkdir(parents=True, exist_ok=True)

    # --- the keys and the other secrets, each in its own file ---
    main = Key(inputs / "main.key")
    other = Key(inputs / "other.key")
    new_raw = os.urandom(32)
    _write(inputs / "new.b64", base64.b64encode(new_raw) + b"\n")
    hex_raw = os.urandom(32)
    _write(inputs / "hex.key", hex_raw.hex().encode() + b"\n")
    short_raw = os.urandom(31)  # valid-looking base64, one byte short
    _write(inputs / "short31.b64", base64.b64encode(short_raw) + b"\n")
    bad_raw = os.urandom(33)
    _write(inputs / "bad33.key", bad_raw)
    pasted_raw = os.urandom(32)  # given as sse_customer_key_md5 by mistake
    _write(inputs / "pasted.key", pasted_raw)
    alphabet = string.ascii_letters + string.digits
    passphrase = "".join(secrets.choice(alphabet) for _number in range(40)) + "!"  # a secret that is no base64 at all
    _write(inputs / "passphrase.txt", passphrase.encode() + b"\n")
    canary_raw = os.urandom(32)
    _write(inputs / "canary.b64", base64.b64encode(canary_raw) + b"\n")

    # --- the data ---
    _write(inputs / "small.txt", b"small file\n")
    random_file(inputs / "big.bin", BIG_SIZE)
    for name in ("a.txt", "b.txt", "sub/c.txt"):
        _write(inputs / "push" / name, ("sync %s\n" % name).encode())
    client = s3service.client()
    client.put_object(Bucket=bucket, Key=prefix + "plain.txt", Body=b"not encrypted\n")
    client.put_object(Bucket=bucket, Key=prefix + "rk/plain.txt", Body=b"not encrypted either\n")

    cases = build_cases(prefix, base64.b64encode(b"binary\x00\xff data").decode("ascii"))
    play_vars = {"kd": str(inputs), "mk": str(made_keys), "od": str(out), "bucket": bucket}
    playbook_path = inputs / "playbook.yml"

    tasks = [case.task() for case in cases]
    tasks.append({
        "name": "collect the registered results",
        "ansible.builtin.copy": {"content": "{{ [%s] | to_json }}" % ", ".join(case.collected() for case in cases),
                                 "dest": "{{ results_file }}", "mode": "0600"},
        "check_mode": False,
    })
    # The inputs, as they are before the runs: a changed one is searched like any output.
    input_hashes = {path: _sha256(path) for path in _files_under(inputs)}

    runs = {}
    for run, check in (("real", False), ("check", True)):
        results_file = tmp_path / ("results-%s.json" % run)
        log_file = logs / ("ansible-%s.log" % run)
        args = ["-vvvv", "--diff", "-e", "results_file=%s" % results_file] + (["--check"] if check else [])
        env = {"ANSIBLE_LOG_PATH": str(log_file), "ANSIBLE_KEEP_REMOTE_FILES": "0",
               "ANSIBLE_HOME": str(tmp_path / "ansible-home")}
        run_started = time.monotonic()
        proc = run_play(s3service, tasks, tmp_path, playbook_path=playbook_path, args=args, env=env,
                        play_vars=play_vars)
        (captured / ("stdout-%s.txt" % run)).write_bytes(proc.stdout)
        (captured / ("stderr-%s.txt" % run)).write_bytes(proc.stderr)
        assert proc.returncode == 0 and results_file.exists(), (
            "ansible-playbook (%s run) exited with %d; see %s" % (run, proc.returncode, captured))
        results = json.loads(results_file.read_text(encoding="utf-8"))
        runs[run] = {"proc": proc, "results": results, "log": log_file, "seconds": time.monotonic() - run_started}
        if run == "real":
            input_hashes[playbook_path] = _sha256(playbook_path)  # the same playbook for both runs

    # --- the playbook did what it was meant to: every path was really taken ---
    problems = []
    for run in ("real", "check"):
        for case, result in zip(cases, runs[run]["results"], strict=False):
            if case.expect is None or (run == "check" and not case.also_in_check_mode):
                continue
            status = _result_status(result)
            message = str(result.get("msg", ""))
            if status != case.expect or (case.msg and case.msg not in message):
                problems.append("%s run, %s: %s (expected %s%s): %s" % (
                    run, case.ident, status, case.expect, " with %r" % case.msg if case.msg else "",
                    message[:300] if not case.no_log else "(no_log)"))
    real = dict(zip((case.ident for case in cases), runs["real"]["results"], strict=False))
    if real["o5"].get("parts") != 3:
        problems.append("o5 should have been a multipart upload in 3 parts of 5 MiB: %r" % real["o5"].get("parts"))
    if not real["k4"].get("backup_file"):
        problems.append("k4 should have kept a backup of the replaced key")
    assert not problems, "the playbook did not exercise the paths it is meant to:\n" + "\n".join(problems)

    # --- the secrets: the test's own, and every key ssec.s3.key wrote (the files themselves are not searched) ---
    secrets_list = [
        Secret("main", main.raw), Secret("other", other.raw), Secret("new (base64 file)", new_raw),
        Secret("hex file", hex_raw), Secret("31-byte base64", short_raw), Secret("33-byte key file", bad_raw),
        Secret("key pasted as sse_customer_key_md5", pasted_raw), Secret("passphrase", passphrase.encode()),
        Secret("S3 secret_key", s3service.secret_key.encode()),
        Secret("canary", canary_raw, expected_leak=True),
    ]
    key_store_files = {}
    for path in _files_under(made_keys):
        raw = parse_key_file(path.read_bytes())
        if raw is not None:
            key_store_files[path] = raw
    made = sorted(set(key_store_files.values()))
    assert len(made) == 2, "ssec.s3.key should have left two keys (the backup and the new one): %d" % len(made)
    secrets_list += [Secret("made by ssec.s3.key #%d" % number, raw) for number, raw in enumerate(made, 1)]

    # --- everything captured ---
    sources = []
    for run in ("real", "check"):
        sources.append(("stdout of the %s run" % run, runs[run]["proc"].stdout))
        sources.append(("stderr of the %s run" % run, runs[run]["proc"].stderr))
    skipped, names_seen = [], []
    for path in _files_under(tmp_path):
        relative = path.relative_to(tmp_path)
        names_seen.append(str(relative))
        if captured in path.parents:
            continue  # the same bytes as the stdout/stderr sources
        if input_hashes.get(path) == _sha256(path):
            skipped.append(str(relative))
            continue
        if path in key_store_files:
            skipped.append(str(relative))
            continue
        if path.is_symlink() or not path.is_file():
            continue
        sources.append(("file %s" % relative, path.read_bytes()))
    sources.append(("the names of the files under the work directory", "\n".join(names_seen).encode()))
    # Nothing that is searched was left out by accident: only the inputs and ssec.s3.key's own key files.
    assert all(name.startswith(("inputs/", "made-keys/")) for name in skipped), skipped

    stats = ScanStats()
    hits = scan_sources(sources, secrets_list, stats)
    leaked = leaks(hits)
    canary_hits = [hit for hit in hits if hit.expected]

    # --- the search is meaningful ---
    source_data = dict(sources)
    for where in ("stdout of the real run", "stdout of the check run", "file logs/ansible-real.log",
                  "file logs/ansible-check.log"):
        assert any(hit.where == where for hit in canary_hits), "the canary key was not found in %s" % where
        data = source_data[where]
        missing = [secret.name for secret in secrets_list[:4] if secret.md5_b64.encode() not in data]
        assert not missing, "the MD5 fingerprints of %s do not appear in %s: was the output captured?" % (
            missing, where)
    missing = [secret.name for secret in secrets_list if secret.name.startswith("made")
               and secret.md5_b64.encode() not in source_data["stdout of the real run"]]
    assert not missing, "the fingerprints of the keys ssec.s3.key made do not appear: %s" % missing

    summary = ("%s\n%d skipped input/key files, %d secrets; playbook runs: real %.1f s, check %.1f s; "
               "whole test %.1f s" % (report(hits, stats), len(skipped), len(secrets_list), runs["real"]["seconds"],
                                      runs["check"]["seconds"], time.monotonic() - started))
    print("\n" + summary)
    assert not leaked, "key material found (%d hits; the forms are not shown):\n%s" % (len(leaked), summary)

# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Search captured output for key material: the one scanner of the test suite.

Every form of every secret is searched for, as bytes: the forms the collection itself scrubs
(``plugins/module_utils/errors.secret_forms``: raw bytes, base64, base64url, unpadded, base64 of the base64,
hex, HEX, bytes repr), each as latin-1 bytes, UTF-8, JSON-escaped (ASCII and UTF-8) and Python-repr-escaped.
(A form found in text decoded from UTF-8 is also found as one of these byte strings, so one pass over the
bytes is enough.) Besides the listed secrets, any 32-byte key written out as base64, base64url, hex or base64
of the base64 is reported when its MD5 fingerprint also appears in the output: that catches the keys that
tests make and delete at run time, whose fingerprints the modules report. A hit names the secret, the form,
the file and the line: never the secret itself.

Use from Python (tests/functional puts tests/support on ``sys.path``)::

    from leak_scan import Secret, scan_paths, leaks, report
    secrets = [Secret("main key", raw_bytes), Secret("S3 secret key", secret.encode()),
               Secret("canary", canary_raw, expected_leak=True)]
    hits, stats = scan_paths([captured_dir, log_file], secrets)
    assert not leaks(hits), report(hits, stats)

``keys_in(paths)`` reads every key file (raw 32 bytes, base64 or hex text) under directories or files, for
``Secret``s of the keys a test made on disk. ``scan_sources`` takes ``(where, bytes)`` pairs instead of files.

Use from the shell (the integration stage of scripts/test)::

    python tests/support/leak_scan.py new-key DIR/canary.b64
    python tests/support/leak_scan.py scan --key-dir DIR --secret-file FILE --canary-file DIR/canary.b64 \\
        --expect-canary-in console.txt PATH...

It prints what it searched and every hit, and exits 1 on any leak, or when the canary (a key printed on purpose)
was not found in each ``--expect-canary-in`` file - then the output was not captured and the scan proves nothing.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import importlib.util
import json
import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

COLLECTION_ROOT = Path(__file__).resolve().parents[2]
# Hits listed per (secret, pattern, source): enough to locate a leak, bounded for a flood.
MAX_HITS_LISTED = 5


def _load_secret_forms():
    """``errors.secret_forms`` of the collection this file belongs to (errors.py uses the standard library
    only: loaded by path, so no collection path is needed)."""
    path = COLLECTION_ROOT / "plugins" / "module_utils" / "_errors.py"
    spec = importlib.util.spec_from_file_location("ssec_s3_errors_for_leak_scan", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.secret_forms


secret_forms = _load_secret_forms()


def named_forms(raw: bytes) -> dict:
    """``secret_forms(raw)`` with a name for each form (a report names the form, never prints it)."""
    b64 = base64.b64encode(raw)
    url = base64.urlsafe_b64encode(raw)
    named = {}
    for name, form in (
            ("base64", b64),
            ("base64url", url),
            ("base64 unpadded", b64.rstrip(b"=")),
            ("base64url unpadded", url.rstrip(b"=")),
            ("base64 of the base64", base64.b64encode(b64)),
            ("hex", raw.hex().encode()),
            ("HEX", raw.hex().upper().encode()),
            ("bytes repr", repr(raw)[2:-1].encode("ascii")),
    ):
        named.setdefault(form.decode("ascii"), name)
    named.setdefault(raw.decode("latin-1"), "raw bytes")
    # The scanner searches exactly the forms the collection scrubs (and more encodings of them, below).
    assert set(named) == secret_forms(raw), "named_forms is out of step with errors.secret_forms"
    return {name: text for text, name in named.items()}


def _encodings(text: str):
    yield "bytes", text.encode("latin-1")
    yield "UTF-8", text.encode("utf-8")
    yield "JSON-escaped", json.dumps(text)[1:-1].encode("ascii")
    yield "JSON-escaped UTF-8", json.dumps(text, ensure_ascii=False)[1:-1].encode("utf-8")
    yield "Python repr", repr(text)[1:-1].encode("utf-8")


@dataclass
class Secret:
    """Key material (or any secret) that must not appear, with every byte pattern searched for."""

    name: str
    raw: bytes
    expected_leak: bool = False  # a canary: printed on purpose, to show that the output was captured
    patterns: list = field(default_factory=list)  # (form name (encoding), bytes)

    def __post_init__(self):
        seen = set()
        for form_name, text in named_forms(self.raw).items():
            for encoding, pattern in _encodings(text):
                if pattern not in seen:
                    seen.add(pattern)
                    self.patterns.append(("%s (%s)" % (form_name, encoding), pattern))

    @property
    def md5_b64(self) -> str:
        return base64.b64encode(hashlib.md5(self.raw).digest()).decode("ascii")


@dataclass
class Hit:
    secret: str
    form: str
    where: str
    line: int
    expected: bool

    def describe(self) -> str:
        return "%s: line %d: %s, form %s" % (self.where, self.line, self.secret, self.form)


@dataclass
class ScanStats:
    sources: int = 0
    bytes_searched: int = 0
    secrets: int = 0
    patterns: int = 0
    seconds: float = 0.0
    fingerprints_seen: int = 0
    key_candidates: int = 0


def _find_all(haystack: bytes, needle: bytes):
    offset = haystack.find(needle)
    while offset != -1:
        yield offset
        offset = haystack.find(needle, offset + 1)


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


# Runs of base64/base64url/hex characters long enough to hold a 32-byte key, and base64 MD5 fingerprints.
_TOKEN = re.compile(rb"[A-Za-z0-9+/_-]{43,}={0,2}")
_FINGERPRINT = re.compile(rb"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{22}==")


def _decode_key_token(token: bytes):
    """The 32-byte key that ``token`` spells in one of the forms, or None."""
    candidates = []
    if len(token) == 64:
        try:
            candidates.append(bytes.fromhex(token.decode("ascii")))
        except ValueError:
            pass
    for decode in (base64.b64decode, base64.urlsafe_b64decode):
        try:
            decoded = decode(token + b"=" * (-len(token) % 4))
        except (binascii.Error, ValueError):
            continue
        candidates.append(decoded)
        if len(decoded) in (43, 44):  # the base64 of the base64
            try:
                candidates.append(base64.b64decode(decoded + b"=" * (-len(decoded) % 4)))
            except (binascii.Error, ValueError):
                pass
    return [raw for raw in candidates if len(raw) == 32]


def scan_sources(sources, secrets, stats: ScanStats | None = None, public_keys=()) -> list:
    """Every occurrence of every pattern of every secret in ``sources`` (``(where, bytes)`` pairs, consumed
    once), plus the fingerprinted keys that are not listed (see the module's docstring).

    ``public_keys`` (raw keys) are published test vectors, quoted in the tests' own source: not searched for,
    and not reported by the fingerprint check."""
    stats = stats if stats is not None else ScanStats()
    started = time.monotonic()
    stats.secrets = len(secrets)
    stats.patterns = sum(len(secret.patterns) for secret in secrets)
    hits = []
    fingerprints = {secret.md5_b64.encode() for secret in secrets}
    known = {secret.raw for secret in secrets} | set(public_keys)
    candidates = {}  # raw key -> (where, line) of its first appearance
    for where, data in sources:
        stats.sources += 1
        stats.bytes_searched += len(data)
        for secret in secrets:
            for form, pattern in secret.patterns:
                for number, offset in enumerate(_find_all(data, pattern)):
                    if number == MAX_HITS_LISTED:
                        break
                    hits.append(Hit(secret.name, form, where, _line_of(data, offset), secret.expected_leak))
        fingerprints.update(match.group() for match in _FINGERPRINT.finditer(data))
        for match in _TOKEN.finditer(data):
            for raw in _decode_key_token(match.group()):
                if raw not in known and raw not in candidates:
                    candidates[raw] = (where, _line_of(data, match.start()))
    stats.fingerprints_seen = len(fingerprints)
    stats.key_candidates = len(candidates)
    for raw, (where, line) in candidates.items():
        if base64.b64encode(hashlib.md5(raw).digest()) in fingerprints:
            hits.append(Hit("an unlisted key whose MD5 fingerprint also appears", "base64/base64url/hex",
                            where, line, False))
    stats.seconds += time.monotonic() - started
    return hits


def files_under(paths, skip=()):
    """Every regular file under ``paths`` (files or directories), sorted, except those under ``skip``."""
    skip = [Path(path).resolve() for path in skip]
    for path in paths:
        path = Path(path)
        if path.is_file():
            walk = [(str(path.parent), [], [path.name])]
        else:
            walk = os.walk(path)
        for directory, dirs, files in walk:
            dirs.sort()
            for name in sorted(files):
                candidate = Path(directory) / name
                resolved = candidate.resolve()
                if candidate.is_symlink() or not candidate.is_file():
                    continue
                if any(resolved == place or place in resolved.parents for place in skip):
                    continue
                yield candidate


def scan_paths(paths, secrets, skip=(), public_keys=()) -> tuple:
    """Scan every file under ``paths`` (and the list of their names); return ``(hits, stats)``."""
    files = list(files_under(paths, skip))

    def sources():
        for path in files:
            yield str(path), path.read_bytes()
        yield "(the names of the files scanned)", "\n".join(str(path) for path in files).encode("utf-8", "replace")

    stats = ScanStats()
    hits = scan_sources(sources(), secrets, stats, public_keys)
    return hits, stats


def leaks(hits) -> list:
    return [hit for hit in hits if not hit.expected]


def report(hits, stats: ScanStats) -> str:
    """What was searched, and every hit (located, never shown)."""
    found = leaks(hits)
    lines = ["leak scan: %d bytes in %d sources, %d secrets (%d patterns), %d fingerprints seen, "
             "%d other 32-byte keys spelled out, %.1f s: %d leaks, %d canary hits (expected)" % (
                 stats.bytes_searched, stats.sources, stats.secrets, stats.patterns, stats.fingerprints_seen,
                 stats.key_candidates, stats.seconds, len(found), len(hits) - len(found))]
    lines += ["LEAK %s" % hit.describe() for hit in found[:100]]
    if len(found) > 100:
        lines.append("... and %d more" % (len(found) - 100))
    return "\n".join(lines)


def parse_key_file(data: bytes):
    """The key in a key file (raw 32 bytes, base64 or hex text), or None."""
    if len(data) == 32:
        return data
    text = b"".join(data.split())
    if len(text) == 64:
        try:
            return bytes.fromhex(text.decode("ascii"))
        except (UnicodeDecodeError, ValueError):
            pass
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == 32 else None


def keys_in(paths) -> dict:
    """``{path: raw key}`` for every key file under ``paths``."""
    found = {}
    for path in files_under(paths):
        raw = parse_key_file(path.read_bytes())
        if raw is not None:
            found[path] = raw
    return found


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------


def _new_key(path: str) -> int:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(base64.b64encode(os.urandom(32)) + b"\n")
    return 0


def _scan_command(args) -> int:
    secrets = []
    for path, raw in sorted(keys_in(args.key_dir).items()):
        secrets.append(Secret("key %s" % path, raw))
    for path in args.secret_file:
        if not Path(path).is_file():
            print("leak scan: the secret file %s is missing: did the run start at all?" % path)
            return 1
        secrets.append(Secret("secret %s" % path, Path(path).read_bytes().strip()))
    canary = None
    if args.canary_file:
        canary = parse_key_file(Path(args.canary_file).read_bytes())
        if canary is None:
            print("leak scan: %s holds no key" % args.canary_file)
            return 1
        secrets = [secret for secret in secrets if secret.raw != canary]
        secrets.append(Secret("the canary", canary, expected_leak=True))
    if not [secret for secret in secrets if not secret.expected_leak]:
        print("leak scan: no secrets to search for (is --key-dir right?)")
        return 1
    public = set(keys_in(args.public_key_dir).values())
    secrets = [secret for secret in secrets if secret.raw not in public]
    hits, stats = scan_paths(args.paths, secrets, skip=args.key_dir, public_keys=public)
    print(report(hits, stats))
    print("leak scan: searched for %d keys and %d other secrets; %d public test keys allowed" % (
        sum(1 for secret in secrets if secret.name.startswith("key ")), len(args.secret_file), len(public)))
    failed = bool(leaks(hits))
    for path in args.expect_canary_in:
        count = sum(1 for hit in hits if hit.expected and Path(hit.where).resolve() == Path(path).resolve())
        print("leak scan: the canary appears %d times in %s" % (count, path))
        if not count:
            print("leak scan: the canary printed on purpose is missing from %s: the output was not captured, "
                  "so the scan proves nothing" % path)
            failed = True
    return 1 if failed else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    commands = parser.add_subparsers(dest="command", required=True)
    new_key = commands.add_parser("new-key", help="write a fresh random key as base64 text (owner-only)")
    new_key.add_argument("path")
    scan = commands.add_parser("scan", help="search files for key material")
    scan.add_argument("--key-dir", action="append", default=[],
                      help="every key file under it is searched for; the directory itself is not scanned")
    scan.add_argument("--public-key-dir", action="append", default=[],
                      help="test vectors published in the tests' source (every key file under it): not secrets")
    scan.add_argument("--secret-file", action="append", default=[], help="a file holding one secret (stripped)")
    scan.add_argument("--canary-file", help="a key printed on purpose: found is expected, not found is a failure")
    scan.add_argument("--expect-canary-in", action="append", default=[], metavar="FILE",
                      help="a scanned file that must hold the canary")
    scan.add_argument("paths", nargs="+", help="files and directories to scan")
    args = parser.parse_args(argv)
    if args.command == "new-key":
        return _new_key(args.path)
    return _scan_command(args)


if __name__ == "__main__":
    sys.exit(main())

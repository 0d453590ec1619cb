# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to the ssec.s3 collection, not a public API: it may change in any release.
"""ssec.s3.sync: the record of what was last verified, so that a rerun that changes nothing sends no request
per object (issue 12).

One entry per name says: the object whose listing entry was (ETag, size, Last-Modified) held, under this key,
the bytes of the local file whose identity was (device, inode, size, mtime_ns, ctime_ns), and those bytes have
this keyed fingerprint (an HMAC of their SHA-256 under a key derived from the SSE-C key, never the SHA-256).
An entry is only ever used when both sides still look exactly as recorded, so a stale entry (a concurrent run,
an edit, a rewrite by another client) is never trusted: it sends that name through the exact path.

The record lives on the host the module runs on, owner-only, in ``$XDG_CACHE_HOME/ssec.s3/sync`` (default
``~/.cache/ssec.s3/sync``), one file per endpoint, bucket, prefix, key fingerprint and local directory. The
file ends with an HMAC of its lines under the derived key: a file that is cut, altered or written under another
key is ignored as a whole. Losing it costs speed, never correctness.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import tempfile
import time

_HEADER = "ssec.s3 sync record v1"
_HKDF_INFO = b"ssec.s3 sync record v1"
_END = "end "
# A file changed in the same timestamp tick as it was looked at keeps its identity (coarse clocks, 2 s on some
# file systems): for a file that recent, the identity is not recorded, only its fingerprint (re-hashed, no HEAD).
SLACK_NS = 2 * 10 ** 9


def _derive(key):
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(key.raw)


def directory():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "ssec.s3", "sync")


def record_path(endpoint, bucket, prefix, key_md5, root, shard=None):
    """One file per place, key and shard; its name tells nothing of them (a hash)."""
    place = json.dumps([endpoint or "", bucket, prefix, key_md5, os.path.realpath(root)] + ([list(shard)] if shard else []))
    return os.path.join(directory(), hashlib.sha256(place.encode("utf-8", "surrogateescape")).hexdigest() + ".rec")


def listing_identity(entry):
    """(ETag, size, Last-Modified) of one entry of ListObjectsV2, as the record compares them."""
    modified = entry.get("LastModified")
    return (entry.get("ETag") or "", entry["Size"], modified.isoformat() if modified is not None else "")


def file_identity(info):
    """What tells a file's content changed without reading it; ctime last (it changes even when mtime is put back)."""
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)


class Record:
    """The entries of the last run (read) and of this one (kept); thread-safe for planners (dict writes)."""

    def __init__(self, path, key, trusted=True):
        self.path = path
        self._mac_key = _derive(key)
        self._old = {}  # name -> its line, parsed on use (compact: one string per name)
        self.new = {}
        if trusted:
            self._old = self._read()

    def fingerprint(self, sha256):
        """The keyed fingerprint of content: useless without the SSE-C key, unlike its SHA-256."""
        mac = hmac.new(self._mac_key, b"content " + bytes.fromhex(sha256), hashlib.sha256).digest()[:16]
        return base64.b64encode(mac).decode("ascii")

    def _read(self):
        entries = {}
        try:
            with open(self.path, "r", encoding="utf-8", errors="surrogateescape") as handle:
                mac = hmac.new(self._mac_key, digestmod=hashlib.sha256)
                header = handle.readline()
                if header.rstrip("\n") != _HEADER:
                    return {}
                mac.update(header.encode("utf-8", "surrogateescape"))
                for line in handle:
                    if line.startswith(_END):
                        if hmac.compare_digest(line[len(_END):].strip(), mac.hexdigest()):
                            return entries
                        return {}
                    mac.update(line.encode("utf-8", "surrogateescape"))
                    name = json.loads(line)[0]
                    entries[name] = line
        except (OSError, ValueError, IndexError, TypeError):
            pass  # missing, unreadable or corrupt: the exact path for every name
        return {}  # no valid end line: cut or altered

    def known(self, name, listed):
        """The entry of ``name`` when the object still has the listing identity ``listed``; else None."""
        line = self._old.get(name)
        if line is None:
            return None
        try:
            _name, etag, size, modified, local, fingerprint = json.loads(line)
        except ValueError:
            return None
        if (etag, size, modified) != tuple(listed):
            return None
        return Known(tuple(local) if local else None, fingerprint)

    def keep(self, name, listed, identity, sha256=None, fingerprint=None, seen_ns=None):
        """Record that ``name`` (listing identity ``listed``) holds the bytes of the file whose ``file_identity``
        (read before the bytes were) is ``identity``, whose SHA-256 is ``sha256`` (or whose fingerprint is known)."""
        self.keep_entry(name, listed, self.entry(identity, sha256, fingerprint, seen_ns))

    def carry(self, name):
        """Keep the entry of ``name`` as read (its object and its file are both as recorded): the same line, not a
        copy of it, so that a rerun of 100 000 unchanged names does not hold the record twice."""
        self.new[name] = self._old[name]

    def entry(self, identity, sha256=None, fingerprint=None, seen_ns=None):
        """The file's part of a record line (compact JSON text), for an object whose listing identity comes later."""
        if fingerprint is None:
            fingerprint = self.fingerprint(sha256)
        seen_ns = time.time_ns() if seen_ns is None else seen_ns
        local = list(identity) if identity is not None and identity[-1] + SLACK_NS < seen_ns else None
        return json.dumps([local, fingerprint])

    def keep_entry(self, name, listed, entry):
        """Record ``entry`` (see ``entry``) for ``name`` with listing identity ``listed``."""
        self.new[name] = json.dumps([name, listed[0], listed[1], listed[2]])[:-1] + ", " + entry[1:] + "\n"

    def write(self):
        """Replace the record with this run's entries, atomically (concurrent runs: the last one wins, and any
        entry is only trusted while both sides still match it). Returns an error message, or None."""
        folder = os.path.dirname(self.path)
        try:
            os.makedirs(folder, mode=0o700, exist_ok=True)
            os.chmod(folder, 0o700)
            handle, temp = tempfile.mkstemp(prefix=".rec-", dir=folder)  # 0600
        except OSError as exc:
            return "%s: %s" % (folder, exc.strerror or exc)
        try:
            with os.fdopen(handle, "w", encoding="utf-8", errors="surrogateescape") as out:
                mac = hmac.new(self._mac_key, digestmod=hashlib.sha256)
                for line in [_HEADER + "\n"] + [self.new[name] for name in sorted(self.new)]:
                    mac.update(line.encode("utf-8", "surrogateescape"))
                    out.write(line)
                out.write(_END + mac.hexdigest() + "\n")
            os.replace(temp, self.path)
        except OSError as exc:
            try:
                os.unlink(temp)
            except OSError:
                pass  # the temp file is gone already
            return "%s: %s" % (self.path, exc.strerror or exc)
        return None


class Known:
    """A recorded entry whose object is unchanged: is the local file unchanged too?"""

    def __init__(self, local, fingerprint):
        self.local = local
        self.fingerprint = fingerprint

    def same_file(self, info):
        return self.local is not None and file_identity(info) == self.local


def capture_etags(client):
    """name -> ETag of every object this client writes from now on (PutObject, CompleteMultipartUpload): an
    upload is recorded only when the listing after it shows that very ETag (not another client's object)."""
    etags = {}

    def name(params, context, **_kwargs):
        context["ssec_record_name"] = params.get("Key")

    def answer(http_response, parsed, context, **_kwargs):
        if getattr(http_response, "status_code", 0) == 200 and parsed.get("ETag"):
            etags[context.get("ssec_record_name")] = parsed["ETag"]

    for operation in ("PutObject", "CompleteMultipartUpload"):
        client.meta.events.register("before-parameter-build.s3.%s" % operation, name)
        client.meta.events.register("after-call.s3.%s" % operation, answer)
    return etags

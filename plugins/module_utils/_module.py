# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to the ssec.s3 collection, not a public API: it may change in any release.
"""What every ssec.s3 module shares: its argument spec, dependency checks, the error boundary."""

from __future__ import annotations

import re
import threading
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.ssec.s3.plugins.module_utils._connection import connection_argument_spec, s3_client
from ansible_collections.ssec.s3.plugins.module_utils._errors import SsecError, registered_secrets, scrub
from ansible_collections.ssec.s3.plugins.module_utils._sse_key import (
    key_argument_spec,
    key_from_params,
    key_mutually_exclusive,
    register_key_material,
)

BOTO3_IMPORT_ERROR = None
try:
    import boto3  # noqa: F401  pylint: disable=unused-import
    HAS_BOTO3 = True
except ImportError:
    BOTO3_IMPORT_ERROR = traceback.format_exc()
    HAS_BOTO3 = False

CRYPTOGRAPHY_IMPORT_ERROR = None
try:
    import cryptography  # noqa: F401  pylint: disable=unused-import
    HAS_CRYPTOGRAPHY = True
except ImportError:
    CRYPTOGRAPHY_IMPORT_ERROR = traceback.format_exc()
    HAS_CRYPTOGRAPHY = False


# What any S3 API accepts as a bucket name (botocore refuses other characters before sending anything);
# the current rules are stricter (lowercase, at most 63), but older buckets may not follow them.
_BUCKET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,253}[A-Za-z0-9]$")
# S3's limit on object names, in bytes of UTF-8.
MAX_NAME_BYTES = 1024
# Options that count something (workers, MiB): 1 or more.
COUNT_OPTIONS = ("concurrency", "part_size_mb")
# Options several modules share: their docs are written once, in doc_fragments/options.py.
_COMMON_OPTIONS = {
    "bucket": {"type": "str", "required": True},
    "object": {"type": "str", "required": True},
    "part_size_mb": {"type": "int", "default": 8},
    "concurrency": {"type": "int", "default": 8},
    "multipart_copy_threshold_mb": {"type": "int", "default": 5120},  # CopyObject's 5 GiB
}
_SHOWN_NAME_CHARACTERS = 40


def common_option(name) -> dict:
    """The argument spec of an option documented by the ssec.s3.options doc fragment."""
    return dict(_COMMON_OPTIONS[name])


def bucket_name_problem(name):
    """Why ``name`` can never be a bucket name, or None (access point ARNs are left to the SDK)."""
    if name.startswith("arn:") or _BUCKET_NAME.match(name):
        return None
    return ("bucket %r is not a valid bucket name. Bucket names are 3 to 63 characters: lowercase letters, "
            "digits, dots and hyphens, beginning and ending with a letter or digit. Correct bucket." % name)


def object_name_problem(name, option="object"):
    """Why ``name`` is refused as an object name (or, with ``option='prefix'``, a prefix), or None.

    Refused: what S3 cannot hold, and what a server would store under another name or refuse, measured on
    SeaweedFS: it drops a leading '/', turns '\\' into '/', collapses '//', answers 400 to '.' and '..' parts, and
    keeps a name ending in '/' as an empty unencrypted folder whatever was sent. Writing such a name reports
    success for data that is not where it was asked to be, and a sync with delete never converges.
    A prefix may end in '/' and its last part may be any start of a name.
    """
    if name == "" and option == "object":
        return "object is empty: give the name of the object in the bucket, for example dir/file.txt."
    if name.startswith("/"):
        return ("%s %r starts with '/': S3 names have no leading slash, and some servers would drop it and act on "
                "%r instead. Give the name without the leading '/'." % (option, _shown(name), _shown(name.lstrip("/"))))
    size = len(name.encode("utf-8", "surrogatepass"))
    if size > MAX_NAME_BYTES:
        return ("%s is %d bytes long in UTF-8 (it begins with %r), but S3 names are at most %d bytes. "
                "Use a shorter name." % (option, size, _shown(name), MAX_NAME_BYTES))
    if "\\" in name:
        return ("%s %r holds a backslash: some servers store it as '/', so the object would get another name. "
                "Use '/' or another character." % (option, _shown(name)))
    if "//" in name:
        return ("%s %r holds '//': some servers collapse it into one '/', so the object would get another name. "
                "Use a single '/'." % (option, _shown(name)))
    parts = name.split("/") if option != "prefix" else name.split("/")[:-1]
    if any(part in (".", "..") for part in parts):
        return ("%s %r has a '.' or '..' part: some servers resolve it like a path or refuse the name. "
                "Give the name without that part." % (option, _shown(name)))
    if name.endswith("/") and option != "prefix":
        return ("%s %r ends with '/', the name of a folder: some servers keep it as an empty unencrypted folder, "
                "whatever was sent. Give the name of a file, without the trailing '/'." % (option, _shown(name)))
    return None


def _shown(name):
    return name if len(name) <= _SHOWN_NAME_CHARACTERS else name[:_SHOWN_NAME_CHARACTERS] + "..."


class _MoveFailed(Exception):
    """fail_json called by AnsibleModule.atomic_move: turned into an SsecError by SsecModule.atomic_move."""


class SsecModule(AnsibleModule):
    """An AnsibleModule with the collection's option groups and a scrubbing exit path.

    ``s3=True`` adds the connection and key option groups and requires boto3 and cryptography;
    ``key_prefixes`` names extra key groups (``old_`` for rekey); ``key=False`` leaves out the key group
    (modules that handle buckets, not objects).
    """

    _moving = threading.local()  # set while atomic_move runs, in the thread that runs it

    def __init__(self, argument_spec, s3=True, key_prefixes=(), mutually_exclusive=None, key=True, **kwargs):
        spec = {}
        exclusive = list(mutually_exclusive or [])
        if s3:
            spec.update(connection_argument_spec())
            for prefix in (("",) if key else ()) + tuple(key_prefixes):
                spec.update(key_argument_spec(prefix))
                exclusive += key_mutually_exclusive(prefix)
        spec.update(argument_spec)
        super().__init__(argument_spec=spec, mutually_exclusive=exclusive, **kwargs)
        if s3:
            if not HAS_BOTO3:
                self.fail_json(msg=missing_required_lib("boto3"), exception=BOTO3_IMPORT_ERROR)
            if not HAS_CRYPTOGRAPHY:
                self.fail_json(msg=missing_required_lib("cryptography"), exception=CRYPTOGRAPHY_IMPORT_ERROR)
            self._check_options()

    def _check_options(self):
        """Refuse, before any request, names S3 cannot hold (a server may alter them, and act on another object)
        and counts below 1 (a zero concurrency or part size would be silently raised)."""
        problems = []
        for option in COUNT_OPTIONS:
            if self.params.get(option) is not None and self.params[option] < 1:
                problems.append("%s must be 1 or more (it is %d)." % (option, self.params[option]))
        if self.params.get("bucket") is not None:
            problems.append(bucket_name_problem(self.params["bucket"]))
        for option in ("object", "prefix"):
            if self.params.get(option) is not None:
                problems.append(object_name_problem(self.params[option], option))
        problems = [problem for problem in problems if problem]
        if problems:
            self.fail_json(msg=" ".join(problems))

    def customer_key(self, prefix="", required=True):
        """The SSE-C key given by the key options (``prefix`` selects another group)."""
        return key_from_params(self.params, prefix, required)

    def client(self, max_pool_connections=10):
        return s3_client(self.params, max_pool_connections, warn=self.warn)

    def check_replaceable(self, path):
        """Fail when the file at ``path`` can never be replaced, not even by root: immutable or append-only."""
        flags = self.get_file_attributes(path, include_version=False).get("attr_flags") or ""
        for flag, name in (("i", "immutable"), ("a", "append-only")):
            if flag in flags:
                raise SsecError("%s is %s (lsattr shows '%s'), so it cannot be replaced; it was left as it was. "
                                "Remove the attribute (chattr -%s) or write to another path." % (path, name, flag, flag))

    def backup_local(self, fn):
        # Before the copy: ansible-core copies the attributes too, and an immutable backup would stay behind.
        self.check_replaceable(fn)
        return super().backup_local(fn)

    def atomic_move(self, src, dest, *args, **kwargs):
        # A failed final rename (an immutable file, a read-only mount) makes ansible-core raise a bare Exception
        # (2.19) or call fail_json, which exits (2.17, 2.18): either way, say what it means for dest and leave
        # through run_module with the caller's cleanup done.
        self._moving.active = True
        try:
            return super().atomic_move(src, dest, *args, **kwargs)
        except SsecError:
            raise
        except Exception as exc:  # pylint: disable=broad-except
            cause = exc.__cause__ or exc.__context__
            reason = cause.strerror if isinstance(cause, OSError) and cause.strerror else "the final rename failed"
            raise SsecError("Could not put the new file in place at %s (%s); it was left as it was. Check the "
                            "permissions and attributes of the file and of its directory (an immutable or "
                            "append-only file, a read-only mount), or use become." % (dest, reason)) from None
        finally:
            self._moving.active = False

    def add_path_info(self, kwargs):
        # ansible-core adds the stat data of dest (or path) to the result, size included: an object's size stays
        # (in check mode, or with force: false, dest is still the old file).
        size = kwargs.get("size")
        kwargs = super().add_path_info(kwargs)
        if size is not None:
            kwargs["size"] = size
        return kwargs

    def _hide_secrets(self):
        # A key pasted into a fingerprint option (not no_log) would be echoed in the invocation: mask it too.
        for name, value in (getattr(self, "params", None) or {}).items():
            if name.endswith("sse_customer_key_md5") and isinstance(value, str) and register_key_material(value):
                self.no_log_values.update({value, value.strip()})
        # Ansible masks no_log values in everything it returns; add every form of every key seen.
        self.no_log_values.update(registered_secrets())

    def _log_invocation(self):
        # AnsibleModule.__init__ logs the arguments (syslog/journal) before any exit_json/fail_json.
        self._hide_secrets()
        super()._log_invocation()

    def exit_json(self, **kwargs):
        self._hide_secrets()
        super().exit_json(**kwargs)

    def fail_json(self, msg, **kwargs):
        if getattr(self._moving, "active", False):
            raise _MoveFailed(msg)  # inside atomic_move (ansible-core 2.17, 2.18): atomic_move above words it
        self._hide_secrets()
        super().fail_json(msg=scrub(msg), **kwargs)


def run_module(module, action):
    """Call ``action()`` and exit with its result; every failure leaves through one scrubbed path."""
    try:
        result = action()
    except SsecError as exc:
        details = {name: value for name, value in (("error_code", exc.code), ("http_status", exc.status))
                   if value is not None}
        module.fail_json(msg=exc.message, **dict(exc.result, **details))
    except Exception as exc:  # pylint: disable=broad-except
        # A bug, not a user error: keep the traceback for the report, without key material.
        module.fail_json(
            msg="Unexpected %s: %s. Please report this as a bug in ssec.s3." % (type(exc).__name__, scrub(exc)),
            exception=scrub(traceback.format_exc()),
        )
    module.exit_json(**result)

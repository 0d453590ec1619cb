# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to the ssec.s3 collection, not a public API: it may change in any release.
"""The ssec.s3.key module's backend: decide, then (outside check mode) act."""

from __future__ import annotations

from ansible_collections.ssec.s3.plugins.module_utils._errors import SsecError
from ansible_collections.ssec.s3.plugins.module_utils._key_file import (
    KeyFileState,
    create_key_file,
    inspect_key_file,
    replace_key_file,
)
from ansible_collections.ssec.s3.plugins.module_utils._local_files import set_attributes, writable_parent
from ansible_collections.ssec.s3.plugins.module_utils._sse_key import CustomerKey

DEFAULT_MODE = "0600"

KEEP, CREATE, CONVERT, REPLACE = "keep", "create", "convert", "replace"
_MESSAGES = {
    KEEP: "The key file already holds a valid SSE-C key; it was kept.",
    CREATE: "Created a new SSE-C key.",
    CONVERT: "Rewrote the existing key in %s format; the key itself is unchanged.",
    REPLACE: "Replaced the key file with a new SSE-C key.",
}


def plan_key_file(state: KeyFileState, key_format, regenerate) -> str:
    """What the task must do with the file at the path; refuses to touch an invalid file by default."""
    if regenerate == "always":
        return REPLACE if state.exists else CREATE
    if not state.exists:
        return CREATE
    if state.key is None:
        raise SsecError(
            "The file at path exists but is not a usable SSE-C key: %s. It was left untouched. "
            "Point path to another file, or set regenerate: always to replace it (a backup is kept)."
            % state.problem
        )
    return KEEP if state.format == key_format else CONVERT


def ensure_key(module) -> dict:
    params = module.params
    path, key_format = params["path"], params["format"]
    if params["mode"] is None:
        params["mode"] = DEFAULT_MODE  # a key file is readable by its owner only unless told otherwise

    before = inspect_key_file(path)
    action = plan_key_file(before, key_format, params["regenerate"])
    key = before.key if action in (KEEP, CONVERT) else CustomerKey.generate()
    changed = action != KEEP
    if changed:
        writable_parent(path)  # in check mode too, so it predicts the real run's failure
        if before.exists:
            module.check_replaceable(path)
    backup_file = None

    if not module.check_mode:
        if action == CREATE:
            # Another process may have won the race: then its key is the one to report.
            key, changed = create_key_file(path, key, key_format)
        elif action == CONVERT:
            replace_key_file(module, path, key, key_format)
        elif action == REPLACE:
            # A failed replace removes its backup itself: the key file is intact.
            backup_file = replace_key_file(module, path, key, key_format, backup=params["backup"])

    # In check mode a new key is not generated for real, so there is no fingerprint to report yet.
    unknown_key = module.check_mode and action in (CREATE, REPLACE)
    after = KeyFileState(exists=True, key=None if unknown_key else key, key_format=key_format)
    diff = {"before": before.summary(), "after": after.summary()}
    if before.exists or not module.check_mode:
        changed = set_attributes(module, path, changed, diff=diff)

    result = {
        "changed": changed,
        "path": path,
        "format": key_format,
        "key_md5": after.summary()["key_md5"],
        "msg": (_MESSAGES[action] % key_format) if action == CONVERT else _MESSAGES[action],
        "diff": diff,
    }
    if action == CREATE and not changed:
        result["msg"] = "Another process created the key at the same time; its key was kept."
    if backup_file:
        result["backup_file"] = backup_file
    return result

# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every ssec.s3 module shares: its argument spec, dependency checks, the error boundary."""

from __future__ import annotations

import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.ssec.s3.plugins.module_utils.connection import connection_argument_spec, s3_client
from ansible_collections.ssec.s3.plugins.module_utils.errors import SsecError, registered_secrets, scrub
from ansible_collections.ssec.s3.plugins.module_utils.sse_key import (
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


class SsecModule(AnsibleModule):
    """An AnsibleModule with the collection's option groups and a scrubbing exit path.

    ``s3=True`` adds the connection and key option groups and requires boto3 and cryptography;
    ``key_prefixes`` names extra key groups (``old_`` for rekey).
    """

    def __init__(self, argument_spec, s3=True, key_prefixes=(), mutually_exclusive=None, **kwargs):
        spec = {}
        exclusive = list(mutually_exclusive or [])
        if s3:
            spec.update(connection_argument_spec())
            for prefix in ("",) + tuple(key_prefixes):
                spec.update(key_argument_spec(prefix))
                exclusive += key_mutually_exclusive(prefix)
        spec.update(argument_spec)
        super().__init__(argument_spec=spec, mutually_exclusive=exclusive, **kwargs)
        if s3:
            if not HAS_BOTO3:
                self.fail_json(msg=missing_required_lib("boto3"), exception=BOTO3_IMPORT_ERROR)
            if not HAS_CRYPTOGRAPHY:
                self.fail_json(msg=missing_required_lib("cryptography"), exception=CRYPTOGRAPHY_IMPORT_ERROR)

    def customer_key(self, prefix="", required=True):
        """The SSE-C key given by the key options (``prefix`` selects another group)."""
        return key_from_params(self.params, prefix, required)

    def client(self, max_pool_connections=10):
        return s3_client(self.params, max_pool_connections)

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
        self._hide_secrets()
        super().fail_json(msg=scrub(msg), **kwargs)


def run_module(module, action):
    """Call ``action()`` and exit with its result; every failure leaves through one scrubbed path."""
    try:
        result = action()
    except SsecError as exc:
        details = {"error_code": exc.code, "http_status": exc.status}
        module.fail_json(msg=exc.message, **{name: value for name, value in details.items() if value is not None})
    except Exception as exc:  # pylint: disable=broad-except
        # A bug, not a user error: keep the traceback for the report, without key material.
        module.fail_json(
            msg="Unexpected %s: %s. Please report this as a bug in ssec.s3." % (type(exc).__name__, scrub(exc)),
            exception=scrub(traceback.format_exc()),
        )
    module.exit_json(**result)

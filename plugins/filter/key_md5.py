# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.ssec.s3.plugins.module_utils._errors import SsecError
from ansible_collections.ssec.s3.plugins.module_utils._sse_key import key_from_base64


def _kind(value):
    # Plain names: ansible-core wraps template values in internal subclasses of these.
    for kind, name in ((bool, "a boolean"), (int, "a number"), (float, "a number"), (bytes, "bytes"),
                       (list, "a list"), (dict, "a dictionary"), (type(None), "null")):
        if isinstance(value, kind):
            return name
    return "a value that is not text"


def key_md5(key_b64):
    """The SSE-C fingerprint (base64 of the binary MD5) of a base64 key."""
    if not isinstance(key_b64, str):
        raise AnsibleFilterError("ssec.s3.key_md5 expects the base64 text of a key, got %s." % _kind(key_b64))
    try:
        return key_from_base64(key_b64, "The input of ssec.s3.key_md5").md5
    except SsecError as exc:
        raise AnsibleFilterError(exc.message) from None


class FilterModule:
    def filters(self):
        return {"key_md5": key_md5}

# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: key
short_description: Read an SSE-C key file on the controller
version_added: 0.1.0
description:
  - Reads key files on the controller and returns each key as base64 text, the form
    O(ssec.s3.object#module:sse_customer_key) expects.
  - A file may hold the 32 raw bytes (as C(openssl rand -out FILE 32) writes them), their base64 text,
    or 64 hexadecimal digits.
  - Relative paths are searched like the C(file) lookup does (the role's or playbook's C(files/) directory first).
  - The result is key material. Put C(no_log=true) on tasks that use it.
author:
  - ssec.s3 contributors (@ssec-s3)
options:
  _terms:
    description: Paths of key files.
    type: list
    elements: path
    required: true
seealso:
  - module: ssec.s3.key
  - plugin: ssec.s3.key_md5
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Upload with a key kept on the controller
  ssec.s3.object:
    bucket: artifacts
    object: app/release.tar.gz
    src: dist/release.tar.gz
    sse_customer_key: "{{ lookup('ssec.s3.key', 'keys/artifacts.key') }}"
  no_log: true  # the task's options hold the key
"""

RETURN = r"""
_raw:
  description: The base64 text of each key.
  type: list
  elements: str
"""

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

from ansible_collections.ssec.s3.plugins.module_utils._errors import SsecError
from ansible_collections.ssec.s3.plugins.module_utils._sse_key import read_key_file


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        keys = []
        for term in terms:
            path = self.find_file_in_search_path(variables, "files", term, ignore_missing=True) or term
            try:
                keys.append(read_key_file(path).b64)
            except SsecError as exc:
                raise AnsibleLookupError("ssec.s3.key lookup: %s" % exc.message) from None
        return keys

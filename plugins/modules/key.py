#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: key
short_description: Create and keep an SSE-C key file
version_added: 0.1.0
description:
  - Creates a file holding a new random 32-byte SSE-C key, or keeps the key already there.
  - An existing valid key is never replaced unless O(regenerate=always), and then a backup is kept;
    a lost key means every object encrypted with it is lost.
  - A file at O(path) that is not a valid key (wrong size, not base64, unreadable) is never touched
    with O(regenerate=never); the task fails and says what is wrong.
  - Creation is safe when many processes create the same path at once (for example
    C(delegate_to=localhost) without C(run_once)); they all end with, and report, one key.
  - The file mode defaults to C(0600) when O(mode) is not given.
  - Returns only the key fingerprint, never the key.
author:
  - ssec.s3 contributors (@ssec-s3)
options:
  path:
    description: Path of the key file.
    type: path
    required: true
  format:
    description:
      - How the key is written. V(raw) is the 32 bytes themselves (as C(openssl rand -out FILE 32) writes them),
        V(base64) is their base64 text with a newline.
      - Converting an existing valid key to the other format keeps the same key.
    type: str
    default: raw
    choices: [raw, base64]
  regenerate:
    description:
      - V(never) keeps an existing valid key, and fails on a file that is not one.
      - V(always) replaces whatever is at O(path) with a new key. Objects encrypted with the old key
        then need it, so rotate them first with M(ssec.s3.rekey).
    type: str
    default: never
    choices: [never, always]
  backup:
    description:
      - Keep a timestamped copy of a file before it is replaced by a new key.
      - Defaults to V(true); only an explicit V(false) replaces a key without a backup.
    type: bool
    default: true
extends_documentation_fragment:
  - ansible.builtin.files
  - ssec.s3.attributes
  - ssec.s3.attributes.FILES
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  idempotent:
    support: full
  safe_file_operations:
    support: full
seealso:
  - plugin: ssec.s3.key
    plugin_type: lookup
  - plugin: ssec.s3.key_md5
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Create the key once, on the controller, readable by its owner only
  ssec.s3.key:
    path: "{{ playbook_dir }}/keys/artifacts.key"
  delegate_to: localhost
  run_once: true
  register: artifacts_key

- name: Show its fingerprint (safe to log; the key itself is never returned)
  ansible.builtin.debug:
    msg: "Key MD5 {{ artifacts_key.key_md5 }}"

- name: Keep the key as base64 text, owned by a service account
  ssec.s3.key:
    path: /etc/backup/ssec.key
    format: base64
    owner: backup
    group: backup
    mode: "0400"

- name: Replace the key (a backup of the old one is kept); rotate objects with ssec.s3.rekey first
  ssec.s3.key:
    path: /etc/backup/ssec.key
    regenerate: always
"""

RETURN = r"""
path:
  description: Path of the key file.
  returned: always
  type: str
  sample: /etc/backup/ssec.key
format:
  description: Format of the key file after the task.
  returned: always
  type: str
  sample: raw
key_md5:
  description:
    - Fingerprint of the key, the base64 of its binary MD5, exactly what C(openssl dgst -md5 -binary KEYFILE | base64) prints.
    - It is also the value S3 expects in C(x-amz-server-side-encryption-customer-key-MD5).
    - V(null) in check mode when a new key would be generated.
  returned: always
  type: str
  sample: 9q2x0JHcgGt2ZqMkq5qiLQ==
backup_file:
  description: Path of the backup of the replaced file.
  returned: when a file was replaced and O(backup=true)
  type: str
  sample: /etc/backup/ssec.key.12345.2026-11-27@10:22:24~
msg:
  description: What the task did, in one sentence.
  returned: always
  type: str
  sample: Created a new SSE-C key.
"""

from ansible_collections.ssec.s3.plugins.module_utils._key_task import ensure_key
from ansible_collections.ssec.s3.plugins.module_utils._module import SsecModule, run_module


def main():
    module = SsecModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "format": {"type": "str", "default": "raw", "choices": ["raw", "base64"]},
            "regenerate": {"type": "str", "default": "never", "choices": ["never", "always"]},
            "backup": {"type": "bool", "default": True},
        },
        s3=False,
        add_file_common_args=True,
        supports_check_mode=True,
    )
    run_module(module, lambda: ensure_key(module))


if __name__ == "__main__":
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: sync
short_description: Synchronise a local directory with an S3 prefix, encrypted with a customer key (SSE-C)
version_added: 0.1.0
description:
  - With O(mode=push), uploads the files of a directory on the host the module runs on to the objects under a
    prefix, each encrypted with an SSE-C key. With O(mode=pull), downloads the objects under a prefix into a
    directory.
  - Decides what to transfer exactly, without ETags or modification times. Each object written carries its
    plaintext SHA-256 encrypted under a key derived from the SSE-C key (user metadata entry C(ssec-sha256)), so a
    rerun compares it with the local file without reading the object. Objects written by other tools with the same
    key are compared by streaming them, or by rclone's C(md5chksum) metadata when present.
  - Lists the prefix once, then handles O(concurrency) files at a time. A file that fails does not stop the
    others; the task fails at the end when any did, and lists them in RV(failed_entries).
  - An object encrypted with another key is never replaced, downloaded or deleted; it is reported in
    RV(skipped_entries), unless O(force=true) (push only).
  - Every download goes to a temp file beside its destination, is verified against the stored digest (or its
    size), and renamed into place, so a file is never left partly written.
author:
  - ssec.s3 contributors (@ssec-s3)
options:
  mode:
    description:
      - V(push) makes the objects under O(prefix) hold the files of O(path).
      - V(pull) makes O(path) hold the objects under O(prefix).
      - Not file permissions, unlike O(ssec.s3.download#module:mode). The permissions of the files pull writes are
        O(file_mode).
    type: str
    required: true
    choices: [push, pull]
  path:
    description:
      - The local directory, on the host the module runs on.
      - With O(mode=push) it must exist. With O(mode=pull) it is created, with its parents, when missing.
      - A file at O(path) is an error in both modes.
      - Symbolic links to directories inside O(path) are not followed. With O(mode=push) a symbolic link to a
        file is uploaded as the file it points to; sockets, FIFOs, devices, broken links and symbolic link loops
        are skipped.
      - With O(mode=push), a file whose object name would be refused is skipped and listed in RV(skipped_entries),
        for example a name that is not UTF-8 (shown with C(\xNN) escapes), one holding a backslash (some servers store
        it as C(/)), or one too long for S3. A rerun then changes nothing, instead of storing it under another name.
    type: path
    required: true
  prefix:
    description:
      - The "directory" in the bucket. The object of a file is O(prefix) followed by the file's path relative to
        O(path), with C(/) separators. V(backups) and V(backups/) are the same prefix (a missing C(/) is
        added, so that C(backups-old/) is never part of the tree).
      - Objects whose name ends with C(/) (folder markers made by consoles) are ignored.
      - Without a leading C(/), C(//), a backslash, or a C(.) or C(..) part, like object names (some servers change
        such names, and would list or write other objects). Refused before any request.
      - The default is the whole bucket.
    type: str
    default: ''
  include:
    description:
      - Only names that match one of these patterns are synced, and with O(delete=true) only they are deleted.
      - Patterns are shell-style (C(fnmatch)) and apply to the name relative to O(path) and O(prefix), for
        example C(sub/dir/file.txt). C(*) also matches C(/), so V(*.log) selects logs at any depth and
        V(logs/*) everything under C(logs).
      - The default is every name.
    type: list
    elements: str
  exclude:
    description:
      - Names that match one of these patterns are neither synced nor deleted, even when they match O(include).
      - Same pattern syntax as O(include).
    type: list
    elements: str
  delete:
    description:
      - Also delete what the destination holds and the source does not, among the names O(include) and O(exclude)
        select - objects under O(prefix) with no local file (push), or local files with no object (pull).
      - Push never deletes an object encrypted with another key unless O(force=true), and deletes nothing when
        part of O(path) could not be read (that part's objects would otherwise be lost).
      - Pull deletes files, never directories, and never a file no object could match (a name that is not
        UTF-8, or one an object could not have); those are listed in RV(skipped_entries).
      - Nothing is deleted on either side when the server lists names under O(prefix) that do not start with it
        (it did not take the prefix as given); they are listed in RV(skipped_entries), with a warning.
    type: bool
    default: false
  force:
    description:
      - With O(mode=push), also replace (and with O(delete=true) delete) objects encrypted with another SSE-C key.
        Without it they are left as they are and listed in RV(skipped_entries).
      - Has no effect with O(mode=pull), which never downloads an object this key does not open.
    type: bool
    default: false
  file_mode:
    description:
      - With O(mode=pull), the permissions of the files written, and of files already holding the right content
        (those are reported in RV(file_mode_changed)).
      - Octal, as a quoted string such as V('0640'), or symbolic such as V(u=rw,g=r,o=).
      - When omitted, new files get the default permissions (V(0666) less the umask) and replaced files keep
        theirs. Directories are created with the default permissions; owner and group are those of the user
        running the task. Use M(ansible.builtin.file) with C(recurse) for anything else.
      - Not allowed with O(mode=push).
    type: raw
  shard:
    description:
      - Sync only a stable share of the names, given as V(i/n) (1 <= i <= n), so that n hosts (Ansible's forks,
        AWX) share one prefix; the n runs V(1/n) ... V(n/n) together do what one run without O(shard) does.
      - A name's share comes from a hash of its name relative to O(path) and O(prefix), so push and pull, every
        host and every run agree, whatever the other options. O(include), O(exclude) and O(delete) act within the
        share (a run deletes only names of its share).
      - Each host gives its own number and the count of hosts (see the examples), with O(path) on storage every
        host sees.
      - The default is every name.
    type: str
  full_check:
    description:
      - Check every name the exact way (a HEAD of its object, a hash of its file), ignoring the record of what
        the last runs verified.
      - Without it, a name whose object still has the listing entry (ETag, size, Last-Modified) and whose file
        still has the identity (device, inode, size, modification and change times) they had when this key last
        verified them is unchanged without any request; a file whose identity changed is hashed and compared
        with the recorded fingerprint. Anything else, or anything the record does not know, is checked the exact
        way.
      - The record is kept on the host the module runs on, readable by its user only, in
        C($XDG_CACHE_HOME/ssec.s3/sync/) (by default C(~/.cache/ssec.s3/sync/)), one file per endpoint, bucket,
        prefix, key and O(path). It holds no key and no SHA-256 of your data, only fingerprints keyed with a
        key derived from the SSE-C key. Deleting it is safe; the next run is then a full check. It is updated
        after each run, also with O(full_check=true), and not in check mode.
    type: bool
    default: false
  concurrency:
    description:
      - How many files are compared and transferred at once. When fewer files than this are transferred, the
        remainder goes to the parts of each file.
      - On Linux, when a batch of names has 400 transfers or more, they are shared between worker processes, one
        per usable CPU core and at most O(concurrency), each running its share of the O(concurrency) transfers. A
        Python process runs one thread at a time, and the CPU of each request bounds many small files.
extends_documentation_fragment:
  - ssec.s3.options
  - ssec.s3.options.PART_SIZE
  - ssec.s3.options.CONCURRENCY
  - ssec.s3.connection
  - ssec.s3.key
  - ssec.s3.attributes
  - ssec.s3.attributes.FILES
  - ssec.s3.attributes.ACTION_GROUP
attributes:
  check_mode:
    support: full
    details: Makes the same decisions as a real run (hashing files and reading object headers) and transfers nothing.
  diff_mode:
    support: full
    details: Shows the names that change, with the SHA-256 (or size) before and after; unchanged names are left out.
  idempotent:
    support: full
  safe_file_operations:
    support: full
notes:
  - A key is required, through O(sse_customer_key) or O(sse_customer_key_file).
  - With O(mode=pull), objects such as C(a) and C(a/b), which need one local path to be a file and a directory at
    once, both fail (in check mode too), and the others are synced.
  - The result lists are capped at 1000 entries each (RV(truncated) tells when); RV(counts) are always exact.
  - Include and exclude patterns that select nothing make the task a no-op with a warning, not an error.
seealso:
  - module: ssec.s3.object
  - module: ssec.s3.download
  - module: ssec.s3.rekey
"""

EXAMPLES = r"""
- name: Publish a static site, encrypted with a key kept on the controller
  ssec.s3.sync:
    mode: push
    path: /srv/site/public
    bucket: websites
    prefix: example.org/
    exclude: ["*.map", ".git/*"]
    delete: true
    sse_customer_key: "{{ lookup('ssec.s3.key', 'keys/site.key') }}"
  no_log: true  # the task's options hold the key

- name: Back up a directory to Scaleway with a key file on the host
  ssec.s3.sync:
    mode: push
    provider: scaleway
    region: fr-par
    path: /var/backups/db
    bucket: backups
    prefix: "{{ inventory_hostname }}/db"
    include: ["*.sql.gz"]
    sse_customer_key_file: /etc/backup/ssec.key

- name: Restore it on another host, removing files that are no longer in the bucket
  ssec.s3.sync:
    mode: pull
    path: /srv/restore/db
    bucket: backups
    prefix: "db01/db"
    delete: true
    file_mode: "0640"
    sse_customer_key_file: /etc/backup/ssec.key
  register: restore

- name: Show what was restored
  ansible.builtin.debug:
    msg: "{{ restore.counts.downloaded }} files, {{ restore.counts.bytes_transferred }} bytes"

- name: Push one tree on shared storage from every host of the play at once, each host a share of the names
  ssec.s3.sync:
    mode: push
    path: /mnt/shared/archive
    bucket: archive
    prefix: 2026/
    shard: "{{ ansible_play_hosts.index(inventory_hostname) + 1 }}/{{ ansible_play_hosts | length }}"
    sse_customer_key_file: /etc/backup/ssec.key
"""

RETURN = r"""
bucket:
  description: Name of the bucket.
  returned: always
  type: str
prefix:
  description: The prefix used, with the C(/) added when it was missing.
  returned: always
  type: str
  sample: backups/db/
sse_customer_key_md5:
  description: Fingerprint of the key used (base64 of its MD5), never the key.
  returned: always
  type: str
  sample: 9q2x0JHcgGt2ZqMkq5qiLQ==
uploaded:
  description: Names (relative to O(path) and O(prefix)) of the files uploaded; in check mode, those that would be.
  returned: with O(mode=push)
  type: list
  elements: str
  sample: [index.html, css/site.css]
downloaded:
  description: Names of the objects downloaded (or that would be, in check mode).
  returned: with O(mode=pull)
  type: list
  elements: str
unchanged:
  description: Names already identical on both sides.
  returned: always
  type: list
  elements: str
deleted:
  description: Names deleted from the destination (or that would be) with O(delete=true).
  returned: always
  type: list
  elements: str
file_mode_changed:
  description: Names of files that already held the right content and whose permissions were set to O(file_mode).
  returned: with O(mode=pull)
  type: list
  elements: str
skipped_entries:
  description:
    - Names left alone, each with the C(reason) (another key, not SSE-C encrypted, not a regular file...) and the
      C(object) name.
    - Not called C(skipped) because that key is Ansible's own - a true value would mark the whole task skipped,
      and its handlers would not run. RV(counts) has the number under C(skipped).
  returned: always
  type: list
  elements: dict
  sample: [{name: old/report.pdf, object: backups/old/report.pdf, reason: encrypted with another SSE-C key ...}]
failed_entries:
  description:
    - Names that could not be synced, each with the C(error) and the C(object) name. The task fails when any
      did (Ansible then sets C(failed) to V(true)), so this list is empty in a successful result.
    - Not called C(failed) because that key is Ansible's own. RV(counts) has the number under C(failed).
  returned: always
  type: list
  elements: dict
  sample: [{name: docs/index.md, object: site/docs/index.md, error: "... is a directory where the object needs a file ..."}]
counts:
  description:
    - Exact number of names in each list above (C(skipped) and C(failed) count RV(skipped_entries) and
      RV(failed_entries)), and C(bytes_transferred) (in check mode, what would be).
  returned: always
  type: dict
  sample: {uploaded: 3, unchanged: 27, deleted: 1, skipped: 0, failed: 0, bytes_transferred: 10485760}
truncated:
  description: Whether any list was cut at 1000 entries.
  returned: always
  type: bool
msg:
  description: What the task did, in one sentence.
  returned: always
  type: str
"""

from ansible_collections.ssec.s3.plugins.module_utils._module import SsecModule, common_option, run_module
from ansible_collections.ssec.s3.plugins.module_utils._sync_options import mode_hint
from ansible_collections.ssec.s3.plugins.module_utils._sync_task import sync


class SyncModule(SsecModule):
    """Adds a hint when mode holds file permissions: Ansible's own message only lists push and pull."""

    def fail_json(self, msg, **kwargs):
        hint = mode_hint((getattr(self, "params", None) or {}).get("mode"))
        super().fail_json(msg="%s %s" % (msg, hint) if hint and hint not in msg else msg, **kwargs)


def main():
    module = SyncModule(
        argument_spec={
            "mode": {"type": "str", "required": True, "choices": ["push", "pull"]},
            "path": {"type": "path", "required": True},
            "bucket": common_option("bucket"),
            "prefix": {"type": "str", "default": ""},
            "include": {"type": "list", "elements": "str"},
            "exclude": {"type": "list", "elements": "str"},
            "delete": {"type": "bool", "default": False},
            "force": {"type": "bool", "default": False},
            "file_mode": {"type": "raw"},
            "full_check": {"type": "bool", "default": False},
            "shard": {"type": "str"},
            "part_size_mb": common_option("part_size_mb"),
            "concurrency": common_option("concurrency"),
        },
        supports_check_mode=True,
    )
    run_module(module, lambda: sync(module))


if __name__ == "__main__":
    main()

# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to the ssec.s3 collection, not a public API: it may change in any release.
"""ssec.s3.sync: the writes a plan decided (upload, download, mode fix, delete), one item at a time."""

from __future__ import annotations

import mimetypes
import os

from ansible_collections.ssec.s3.plugins.module_utils import _local_files as local_files, _transfer as transfer
from ansible_collections.ssec.s3.plugins.module_utils._errors import DELETE as DELETE_WRITE, s3_errors
from ansible_collections.ssec.s3.plugins.module_utils._sync_plan import CHMOD, DELETE, DOWNLOAD, UPLOAD, fingerprint, os_error


def _stored(item):
    # A file rewritten during the upload was hashed and sent again: report what was stored.
    item.size = item.source.size
    item.after = fingerprint(sha256=item.source.sha256)


def upload_report(item, etags):
    """What the module's process needs of an upload done in a worker process: the file as sent, its ETag."""
    source = item.source
    return source.size, source.sha256, source.identity, source.hashed_at_ns, etags.pop(item.name, None)


def take_upload_report(item, report, etags):
    """The other end of upload_report: ``item`` and ``etags`` as if the upload had been done here."""
    source = item.source
    source.size, source.sha256, source.identity, source.hashed_at_ns, etag = report
    _stored(item)
    if etag is not None:
        etags[item.name] = etag


class Applier:
    """Carries out one decided item (in a worker thread); an OSError becomes the item's failure."""

    appliers = {}

    def __init__(self, module, settings, client, key, inner=1):
        self.module = module  # for AnsibleModule's atomic_move and file attributes
        self.settings = settings
        self.client = client
        self.key = key
        self.inner = inner  # the parallelism each transfer gives its parts

    def apply(self, item):
        try:
            self.appliers[item.action](self, item)
        except OSError as exc:
            raise os_error("write", item.path or item.name, exc) from None


class PushApplier(Applier):
    """Uploads files, deletes objects."""

    def upload(self, item):
        content_type = mimetypes.guess_type(item.relative)[0] or "application/octet-stream"
        transfer.upload(self.client, self.settings.bucket, item.name, item.source, self.key, None, content_type, None,
                        self.settings.part_size, self.inner)
        _stored(item)

    def delete(self, item):
        with s3_errors("delete s3://%s/%s" % (self.settings.bucket, item.name), write=DELETE_WRITE):
            self.client.delete_object(Bucket=self.settings.bucket, Key=item.name)

    appliers = {UPLOAD: upload, DELETE: delete}


class PullApplier(Applier):
    """Downloads objects, fixes file modes, deletes local files."""

    def download(self, item):
        directory = os.path.dirname(item.path)
        try:
            local_files.make_directories(directory)
        except OSError as exc:
            raise os_error("create the directory", directory, exc) from None
        # A replaced file keeps its owner and group where the user may give them (atomic_move); the mode
        # is the one the planner chose, as octal bits (no umask read in these threads).
        try:
            transfer.write_download(self.module, self.client, item.remote, self.key, item.path, self.inner)
            local_files.set_attributes(self.module, item.path, True, mode=item.mode, params={})
        except OSError as exc:
            raise os_error("replace", item.path, exc) from None

    def chmod(self, item):
        try:
            local_files.set_attributes(self.module, item.path, True, mode=item.mode, params={})
        except OSError as exc:
            raise os_error("set the mode of", item.path, exc) from None

    def delete(self, item):
        try:
            os.unlink(item.path)
        except FileNotFoundError:
            pass  # already gone: what the deletion was for
        except OSError as exc:
            raise os_error("delete", item.path, exc) from None

    appliers = {DOWNLOAD: download, CHMOD: chmod, DELETE: delete}

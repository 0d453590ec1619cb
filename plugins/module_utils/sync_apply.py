# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ssec.s3.sync: the writes a plan decided (upload, download, mode fix, delete), one item at a time."""

from __future__ import annotations

import mimetypes
import os

from ansible_collections.ssec.s3.plugins.module_utils import transfer
from ansible_collections.ssec.s3.plugins.module_utils.errors import DELETE as DELETE_WRITE, s3_errors
from ansible_collections.ssec.s3.plugins.module_utils.sync_plan import CHMOD, DELETE, DOWNLOAD, UPLOAD, fingerprint, os_error


class Applier:
    """Carries out one decided item (in a worker thread); an OSError becomes the item's failure."""

    appliers = {}

    def __init__(self, settings, client, key, inner=1):
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
        # A file rewritten during the upload was hashed and sent again: report what was stored.
        item.size = item.source.size
        item.after = fingerprint(sha256=item.source.sha256)

    def delete(self, item):
        with s3_errors("delete s3://%s/%s" % (self.settings.bucket, item.name), write=DELETE_WRITE):
            self.client.delete_object(Bucket=self.settings.bucket, Key=item.name)

    appliers = {UPLOAD: upload, DELETE: delete}


class PullApplier(Applier):
    """Downloads objects, fixes file modes, deletes local files."""

    def download(self, item):
        directory = os.path.dirname(item.path)
        try:
            os.makedirs(directory, exist_ok=True)
        except OSError as exc:
            raise os_error("create the directory", directory, exc) from None
        temp_path = transfer.download_to_temp(self.client, item.remote, self.key, item.path, self.inner)
        try:
            os.chmod(temp_path, item.mode)
            if item.local_owner and item.local_owner != (os.geteuid(), os.getegid()):
                try:
                    os.chown(temp_path, *item.local_owner)
                except PermissionError:
                    pass  # only root may give a file away: it then belongs to the user running the task
            os.replace(temp_path, item.path)
        except OSError as exc:
            raise os_error("replace", item.path, exc) from None
        finally:
            if os.path.exists(temp_path):
                os.unlink(temp_path)

    def chmod(self, item):
        try:
            os.chmod(item.path, item.mode)
        except OSError as exc:
            raise os_error("set the mode of", item.path, exc) from None

    def delete(self, item):
        try:
            os.unlink(item.path)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise os_error("delete", item.path, exc) from None

    appliers = {DOWNLOAD: download, CHMOD: chmod, DELETE: delete}

# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Work over many objects: listing a prefix, bounded parallelism, capped result lists."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from ansible_collections.ssec.s3.plugins.module_utils.errors import SsecError, s3_errors

# Result lists stop growing here; the counts stay exact.
LIST_CAP = 1000


def list_objects(client, bucket, prefix=""):
    """Yield (name, size) of every object under ``prefix``, page by page."""
    paginator = client.get_paginator("list_objects_v2")
    with s3_errors("list s3://%s/%s" % (bucket, prefix)):
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            for entry in page.get("Contents", ()):
                yield entry["Key"], entry["Size"]


def run_parallel(function, items, concurrency):
    """``function(item)`` for every item with at most ``concurrency`` at once; yields (item, result, error).

    An SsecError becomes ``error`` (a message) so one bad item never stops the others.
    """
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        futures = [(item, pool.submit(function, item)) for item in items]
        for item, future in futures:
            try:
                yield item, future.result(), None
            except SsecError as exc:
                yield item, None, exc.message


class Tally:
    """Named result lists, capped at LIST_CAP entries each, with exact counts."""

    def __init__(self, names):
        self.lists = {name: [] for name in names}
        self.counts = {name: 0 for name in names}

    def add(self, name, entry):
        self.counts[name] += 1
        if len(self.lists[name]) < LIST_CAP:
            self.lists[name].append(entry)

    def result(self):
        result = dict(self.lists)
        result["counts"] = dict(self.counts)
        result["truncated"] = any(self.counts[name] > len(self.lists[name]) for name in self.lists)
        return result

# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to the ssec.s3 collection, not a public API: it may change in any release.
"""Backend of ssec.s3.sync: a local directory and an object prefix, made the same in one direction.

A run on the bulk engine, one batch of names at a time (so that memory stays flat at 100 000 names). Plan: the
planner of the direction (sync_plan) walks the directory and lists the prefix once, then decides the names of
a batch in parallel as the policy says (for an object under this key, by comparing exactly as ssec.s3.object
does with overwrite: different). Apply, unless in check mode: the applier of the direction (sync_apply)
transfers and deletes in parallel. Check mode runs the plan only, so it reports the decisions a real run would
make. The result (sync_result) gathers the decided items batch by batch. What was verified (compared, uploaded
or downloaded) goes into the record (sync_record) for the next run.
"""

from __future__ import annotations

import mimetypes
import os

from ansible_collections.ssec.s3.plugins.module_utils import (
    _bulk as bulk, _sync_record as sync_record, _sync_result as sync_result)
from ansible_collections.ssec.s3.plugins.module_utils._errors import SsecError
from ansible_collections.ssec.s3.plugins.module_utils._sync_apply import (
    PullApplier, PushApplier, take_upload_report, upload_report)
from ansible_collections.ssec.s3.plugins.module_utils._sync_options import PULL, PUSH, Settings, check_root, validate
from ansible_collections.ssec.s3.plugins.module_utils._sync_plan import (
    DOWNLOAD,
    FAIL,
    UPLOAD,
    WORK,
    PullPlanner,
    PushPlanner,
    os_error,
)
from ansible_collections.ssec.s3.plugins.module_utils._sync_names import relative_name

PLANNERS = {PUSH: PushPlanner, PULL: PullPlanner}
APPLIERS = {PUSH: PushApplier, PULL: PullApplier}


def _fail(item, message):
    item.decide(FAIL, message)


class Sync:
    """One run: plan every name, review the plan, apply it, build the result."""

    def __init__(self, module, settings, client, key):
        self.module = module
        self.settings = settings
        self.client = client
        self.key = key
        endpoint = client.meta.endpoint_url if client is not None else None
        path = sync_record.record_path(endpoint, settings.bucket, settings.prefix, key.md5, settings.root,
                                       settings.shard)
        self.record = sync_record.Record(path, key, trusted=not settings.full_check)
        self.etags = sync_record.capture_etags(client) if client is not None else {}
        self.planner = PLANNERS[settings.direction](settings, client, key, self.record)
        self.engine = bulk.Engine(settings.concurrency)
        self.warnings = []
        # Push: relative name -> (ETag its write got, size, record entry of the file) of each upload, until the
        # listing after them all (record_uploads).
        self.uploaded = {}

    def run(self):
        settings = self.settings
        check_root(settings.root, settings.direction)
        mimetypes.init()  # once, before the threads
        batches, errors, total, chosen = self.planner.items()
        outcome = sync_result.Outcome(settings.direction, errors)
        created = settings.direction == PULL and not os.path.isdir(settings.root)  # made like rsync does
        if created and not settings.check_mode:
            try:
                os.makedirs(settings.root)
            except OSError as exc:
                raise os_error("create the directory", settings.root, exc) from None
        for items in batches:
            self.engine.plan(self.planner.plan, items, _fail)
            self.planner.review(items)
            if not settings.check_mode:
                self.apply(items)
                self.remember(items)
            outcome.add(items)
        if not settings.check_mode:
            self.save_record()
        return outcome.result(settings, self.key, total, chosen, created, self.warnings)

    def apply(self, items):
        work = [item for item in items if item.action in WORK]
        if not work:
            return
        settings = self.settings
        transfers = sum(1 for item in work if item.action in (UPLOAD, DOWNLOAD))
        processes = bulk.worker_processes(transfers, settings.concurrency)
        threads = max(1, settings.concurrency // processes)
        # Files in parallel; the parallelism left over goes to the parts of each file.
        inner = max(1, threads // max(1, min(threads, transfers // processes)))
        applier_class = APPLIERS[settings.direction]
        if processes == 1:
            applier = applier_class(self.module, settings, self.client, self.key, inner)
            self.engine.apply(applier.apply, work, _fail)
            return

        def make_worker():  # in each worker process: its own connections, its own ETags
            client = self.module.client(max_pool_connections=threads + 2)
            etags = sync_record.capture_etags(client)
            applier = applier_class(self.module, settings, client, self.key, inner)

            def work_on(item):
                applier.apply(item)
                return upload_report(item, etags) if item.action == UPLOAD else None
            return work_on

        for item, report, error in bulk.run_in_processes(make_worker, work, processes, threads):
            if error is not None:
                _fail(item, error)
            elif report is not None:
                take_upload_report(item, report, self.etags)

    def remember(self, items):
        """What a batch wrote, for the record: a download now; an upload after the listing that follows them all."""
        for item in items:
            if item.action == UPLOAD:
                etag = self.etags.pop(item.name, None)  # what its own write got; held for this batch only
                if etag is not None:
                    source = item.source
                    self.uploaded[item.relative] = (etag, source.size, self.record.entry(
                        source.identity, source.sha256, seen_ns=source.hashed_at_ns))
            elif item.action == DOWNLOAD and item.remote.sha256 is not None:
                try:
                    info = os.stat(item.path)
                except OSError:
                    continue  # gone already: nothing to record
                self.planner.keep(item, sync_record.file_identity(info), item.remote.sha256, item.remote)

    def save_record(self):
        """Add what this run uploaded (and verified) to the record, then replace the record."""
        try:
            self.record_uploads()
        except SsecError as exc:
            # The uploads are done; only the record misses them (the next run checks them the exact way).
            self.warnings.append("The listing after the uploads failed, so they were not recorded: %s" % exc.message)
        problem = self.record.write()
        if problem:
            self.warnings.append("The record of what this task verified could not be written (%s), so the next run "
                                 "checks every object again (correct, but slower). Make the cache directory "
                                 "writable, or set XDG_CACHE_HOME to a writable directory." % problem)

    def record_uploads(self):
        """One listing after the uploads: an upload is recorded under the listing identity that shows the ETag
        its own write got, so an object another client wrote meanwhile is never taken for it."""
        if not self.uploaded:
            return
        settings = self.settings
        for listed in bulk.list_entries(self.client, settings.bucket, settings.prefix):
            relative = relative_name(settings.prefix, listed["Key"])
            upload = self.uploaded.pop(relative, None)  # freed as recorded: the two are not held at once
            if upload is not None and upload[:2] == (listed.get("ETag"), listed["Size"]):
                self.record.keep_entry(relative, sync_record.listing_identity(listed), upload[2])


def sync(module) -> dict:
    params = module.params
    validate(params)
    key = module.customer_key()
    client = module.client(max_pool_connections=params["concurrency"] + 2)
    task = Sync(module, Settings(params, module.check_mode), client, key)
    result = task.run()
    for warning in task.warnings:
        module.warn(warning)
    failed = result["counts"]["failed"]
    if failed:
        first = result["failed_entries"][0]
        message = "%s failed to sync (the first: %s: %s). Otherwise: %s" % (
            "1 entry" if failed == 1 else "%d entries" % failed, first["name"], first["error"].rstrip("."),
            result.pop("msg"))
        raise SsecError(message, result=result)
    return result

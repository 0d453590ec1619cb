# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to the ssec.s3 collection, not a public API: it may change in any release.
"""The bulk engine of sync, rekey and the prefix survey: list -> parallel plan -> apply -> tally.

- list: ``list_objects`` reads a prefix page by page, as a generator;
- plan and apply: ``Engine.each`` runs one function per item on a bounded thread pool and hands back the
  outcomes in the order of the items. It takes at most a few items per worker ahead of the consumer, so a
  listing is read as the work goes and never held twice (a later scale target is 100 000 objects).
  ``Engine.plan`` and ``Engine.apply`` are the two phases of a run that must see every decision before it
  writes (sync); a run that can write as soon as it decides (rekey) does both in one ``each``;
- tally: ``Tally`` keeps capped result lists with exact counts;
- worker processes: where many small requests are CPU-bound in one Python process, ``run_in_processes`` and
  ``each_spread`` share them between forked processes, one per core (sync's apply step, the prefix survey).

One item's SsecError never stops the others: it becomes that item's error, and the caller records it. A run
with failures leaves through run_module like every other failure (SsecError carrying the partial result).
"""

from __future__ import annotations

import collections
import itertools
import multiprocessing
import os
import sys
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.ssec.s3.plugins.module_utils._errors import SsecError, s3_errors, scrub

# Result lists stop growing here; the counts stay exact.
LIST_CAP = 1000
# Items submitted ahead of the consumer, per worker: enough to keep every worker busy, few enough to stay small.
AHEAD = 4
# A worker process costs a fork and a client (tens of milliseconds): each must have this many transfers to pay.
TRANSFERS_PER_PROCESS = 200
# each_spread reads this many items of a listing at a time, and shares them between the worker processes.
SPREAD_CHUNK = 2000


def list_entries(client, bucket, prefix=""):
    """Yield the ListObjectsV2 entry (Key, Size, ETag, LastModified...) of every object under ``prefix``."""
    paginator = client.get_paginator("list_objects_v2")
    with s3_errors("list s3://%s/%s" % (bucket, prefix)):
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            yield from page.get("Contents", ())


def list_objects(client, bucket, prefix=""):
    """Yield (name, size) of every object under ``prefix``, page by page."""
    for entry in list_entries(client, bucket, prefix):
        yield entry["Key"], entry["Size"]


def _outcome(item, future):
    try:
        return item, future.result(), None
    except SsecError as exc:
        return item, None, exc.message


def run_parallel(function, items, concurrency):
    """``function(item)`` for every item with at most ``concurrency`` at once; yields (item, result, error) in
    the order of ``items``, which may be a generator: it is read only a few items ahead of the results.

    An SsecError becomes ``error`` (a message) so one bad item never stops the others; any other exception
    stops the run (a bug, or an interruption).
    """
    workers = max(1, concurrency)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending = collections.deque()
        for item in items:
            pending.append((item, pool.submit(function, item)))
            if len(pending) >= workers * AHEAD:
                yield _outcome(*pending.popleft())
        while pending:
            yield _outcome(*pending.popleft())


def worker_processes(transfers, concurrency) -> int:
    """How many processes share ``transfers`` small requests: one per usable core, within ``concurrency``.

    Python runs one thread at a time, and botocore's CPU per request (about 1.2 ms) is what bounds many small
    transfers; on Linux (fork keeps the module's state without pickling it) the cores share them instead.
    """
    if not sys.platform.startswith("linux"):
        return 1
    cores = len(os.sched_getaffinity(0))
    return max(1, min(cores, concurrency, transfers // TRANSFERS_PER_PROCESS))


def _work_share(connection, make_worker, share, threads):
    """In a forked process: run its share and send back [(result, error)], in order, or ("crash", text)."""
    # A module's stdout carries its result and nothing else: whatever this process might print goes nowhere.
    nowhere = os.open(os.devnull, os.O_WRONLY)
    os.dup2(nowhere, 1)
    os.dup2(nowhere, 2)
    os.close(nowhere)
    sys.stdout = sys.stderr = open(os.devnull, "w", encoding="utf-8")  # pylint: disable=consider-using-with
    try:
        work = make_worker()
        answer = ("done", [(result, error) for _item, result, error in run_parallel(work, share, threads)])
    except BaseException as exc:  # pylint: disable=broad-except
        answer = ("crash", "%s: %s" % (type(exc).__name__, scrub(exc)))
    connection.send(answer)
    connection.close()


def run_in_processes(make_worker, items, processes, threads):
    """Like run_parallel over a list, in ``processes`` forked processes of ``threads`` threads each.

    ``make_worker()`` runs in each process and returns the function for its items (so each process opens its
    own connections: sockets are not shared across a fork); the function's results must pickle. Process i
    takes items i, i + processes, ... Yields (item, result, error) in the order of ``items``. Where no process
    can be started, the items are run here, in threads.
    """
    context = multiprocessing.get_context("fork")
    children = []
    try:
        for index in range(processes):
            receiver, sender = context.Pipe(duplex=False)
            child = context.Process(target=_work_share, args=(sender, make_worker, items[index::processes], threads),
                                    daemon=True)
            child.start()
            sender.close()  # the child's end: the parent sees EOF if the child dies before it reports
            children.append((child, receiver))
    except OSError:
        # No fork allowed (a process limit, a sandbox): stop those started, then do it all here. Their share may
        # be partly done; every action of the engine can be done twice.
        for child, _receiver in children:
            child.terminate()
            child.join()
        yield from run_parallel(make_worker(), items, processes * threads)
        return
    answers = []
    for child, receiver in children:
        try:
            answer = receiver.recv()
        except EOFError:
            answer = None
        child.join()
        answers.append((answer, child.exitcode))
    for answer, exitcode in answers:
        if answer is None:
            raise SsecError("A worker process of this task ended before it reported (exit code %s: killed, or out "
                            "of memory?): its share of the work may be partly done, and none of it is in the result "
                            "(nor in sync's record). Run the task again; it finds what is done." % exitcode)
        if answer[0] == "crash":
            raise RuntimeError("a worker process failed: %s" % answer[1])
    results = [answer[1] for answer, _exitcode in answers]
    for position, item in enumerate(items):
        result, error = results[position % processes][position // processes]
        yield item, result, error


def each_spread(function, make_worker, items, concurrency):
    """run_parallel over ``items`` (a generator: read SPREAD_CHUNK at a time), each chunk shared between worker
    processes where it pays (worker_processes): ``function`` here, or ``make_worker()`` in each worker process
    (see run_in_processes). Yields (item, result, error) in the order of ``items``."""
    iterator = iter(items)
    while True:
        chunk = list(itertools.islice(iterator, SPREAD_CHUNK))
        if not chunk:
            return
        processes = worker_processes(len(chunk), concurrency)
        if processes == 1:
            yield from run_parallel(function, chunk, concurrency)
        else:
            yield from run_in_processes(make_worker, chunk, processes, max(1, concurrency // processes))


class Engine:
    """Parallel plan and apply over many items, with bounded memory and per-item failures."""

    def __init__(self, concurrency):
        self.concurrency = max(1, concurrency)

    def each(self, function, items, concurrency=None):
        """(item, result, error) for ``function(item)`` over every item (see run_parallel)."""
        return run_parallel(function, items, concurrency or self.concurrency)

    def plan(self, planner, items, fail):
        """Plan every item of a list in parallel: ``planner(item)`` records its decision on the item; an item
        whose planning failed gets ``fail(item, message)``. The list itself is the plan (no copy is made)."""
        for item, _result, error in self.each(planner, items):
            if error is not None:
                fail(item, error)
        return items

    def apply(self, applier, items, fail, concurrency=None):
        """Apply every planned item in parallel: ``applier(item)`` does the work; ``fail(item, message)``
        records a failure. Returns how many failed."""
        failed = 0
        for item, _result, error in self.each(applier, items, concurrency):
            if error is not None:
                failed += 1
                fail(item, error)
        return failed


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


def plural(count, word):
    """``1 object``, ``2 objects``: the counts of every bulk result message."""
    return "%d %s%s" % (count, word, "" if count == 1 else "s")

# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The bulk engine: order, per-item failures, bounded parallelism, bounded read-ahead, capped tallies."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from ansible_collections.ssec.s3.plugins.module_utils import _bulk as bulk
from ansible_collections.ssec.s3.plugins.module_utils._errors import SsecError


def test_results_come_in_the_order_of_the_items_whatever_finishes_first():
    def slow_first(number):
        time.sleep(0.05 if number == 0 else 0)
        return number * 10

    assert list(bulk.run_parallel(slow_first, range(6), 3)) == [(n, n * 10, None) for n in range(6)]


def test_an_ssec_error_fails_its_item_only():
    def work(number):
        if number % 2:
            raise SsecError("odd %d" % number)
        return number

    assert list(bulk.run_parallel(work, range(4), 2)) == [(0, 0, None), (1, None, "odd 1"), (2, 2, None),
                                                          (3, None, "odd 3")]


def test_any_other_exception_stops_the_run():
    def work(number):
        raise ValueError("bug")

    with pytest.raises(ValueError, match="bug"):
        list(bulk.run_parallel(work, range(3), 2))


@pytest.mark.parametrize("concurrency", [1, 3])
def test_at_most_concurrency_items_run_at_once(concurrency):
    lock, running, peak = threading.Lock(), [0], [0]

    def work(_item):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.03)
        with lock:
            running[0] -= 1

    list(bulk.run_parallel(work, range(12), concurrency))
    assert peak[0] == concurrency


def test_the_input_is_read_only_a_few_items_ahead():
    """A listing of 100 000 names is never held whole: the engine pulls items as results are consumed."""
    pulled = []

    def listing():
        for number in range(1000):
            pulled.append(number)
            yield number

    results = bulk.run_parallel(lambda number: number, listing(), 2)
    first = next(results)
    assert first == (0, 0, None)
    assert len(pulled) == 2 * bulk.AHEAD
    consumed = 1 + len(list(zip(range(99), results, strict=False)))  # results is longer
    assert consumed == 100 and len(pulled) <= consumed + 2 * bulk.AHEAD
    results.close()


def test_plan_records_failures_on_the_items_and_returns_the_same_list():
    items = [{"name": name} for name in ("a", "b", "c")]

    def planner(item):
        if item["name"] == "b":
            raise SsecError("cannot read b")
        item["action"] = "upload"

    planned = bulk.Engine(2).plan(planner, items, lambda item, message: item.update(action="fail", error=message))
    assert planned is items
    assert [item["action"] for item in items] == ["upload", "fail", "upload"]
    assert items[1]["error"] == "cannot read b"


def test_apply_counts_failures_and_runs_with_the_concurrency_asked():
    seen = []

    def applier(item):
        seen.append(threading.current_thread().name)
        if item == 2:
            raise SsecError("no")

    failures = []
    engine = bulk.Engine(8)
    assert engine.apply(applier, [1, 2, 3], lambda item, message: failures.append((item, message)),
                        concurrency=1) == 1
    assert failures == [(2, "no")]
    assert len(set(seen)) == 1  # one worker: one item at a time


def test_a_concurrency_below_one_still_runs():
    assert [result for _item, result, _error in bulk.Engine(0).each(lambda item: item + 1, [1, 2])] == [2, 3]


def test_tally_caps_lists_and_keeps_counts_exact(monkeypatch):
    monkeypatch.setattr(bulk, "LIST_CAP", 2)
    tally = bulk.Tally(("done", "failed"))
    for number in range(5):
        tally.add("done", number)
    tally.add("failed", "x")
    assert tally.result() == {"done": [0, 1], "failed": ["x"], "counts": {"done": 5, "failed": 1}, "truncated": True}
    assert bulk.Tally(("done",)).result() == {"done": [], "counts": {"done": 0}, "truncated": False}


def _in_processes(function, items, processes=2, threads=2):
    return list(bulk.run_in_processes(lambda: function, items, processes, threads))


def test_processes_share_the_items_and_the_results_come_in_their_order():
    def work(number):
        time.sleep(0.02 if number == 0 else 0)
        return number * 10, os.getpid()

    outcomes = _in_processes(work, list(range(9)), processes=3)
    assert [(item, result[0], error) for item, result, error in outcomes] == [(n, n * 10, None) for n in range(9)]
    pids = {result[1] for _item, result, _error in outcomes}
    assert len(pids) == 3 and os.getpid() not in pids
    # Process i took items i, i + 3, ...: one pid per residue.
    assert all(outcomes[n][1][1] == outcomes[n % 3][1][1] for n in range(9))


def test_each_process_makes_its_own_worker():
    made = []

    def make_worker():
        made.append(os.getpid())  # in the child: the parent's list never sees it
        pid = os.getpid()
        return lambda number: pid

    outcomes = list(bulk.run_in_processes(make_worker, list(range(4)), 2, 1))
    assert made == []
    assert len({result for _item, result, _error in outcomes}) == 2


def test_in_processes_an_ssec_error_fails_its_item_only():
    def work(number):
        if number % 2:
            raise SsecError("odd %d" % number)
        return number

    assert _in_processes(work, list(range(4))) == [(0, 0, None), (1, None, "odd 1"), (2, 2, None), (3, None, "odd 3")]


def test_a_bug_in_a_worker_process_stops_the_run_with_its_key_material_scrubbed(assert_no_key_material):
    from ansible_collections.ssec.s3.plugins.module_utils._errors import register_secret

    raw = bytes(range(32))
    register_secret(raw)

    def work(_number):
        raise ValueError("bug near %s" % raw.hex())

    with pytest.raises(RuntimeError, match="a worker process failed: ValueError: bug near") as caught:
        _in_processes(work, list(range(3)))
    assert_no_key_material(str(caught.value), raw)


def test_a_worker_process_that_dies_fails_the_run_with_advice():
    def work(number):
        if number == 1:
            os.kill(os.getpid(), signal.SIGKILL)
        return number

    with pytest.raises(SsecError, match=r"ended before it reported \(exit code -9.*Run the task again"):
        _in_processes(work, list(range(4)))


def test_a_worker_process_writes_nothing_to_the_module_output(capfd):
    """The module's stdout carries its JSON result: a print in a worker must not reach it."""
    def work(number):
        print("noise %d" % number)
        os.write(1, b"raw noise\n")
        os.write(2, b"raw error\n")
        return number

    assert [result for _item, result, _error in _in_processes(work, list(range(4)))] == [0, 1, 2, 3]
    out, err = capfd.readouterr()
    assert "noise" not in out and "error" not in err


@pytest.mark.parametrize("transfers, concurrency, cores, expected", [
    (10000, 8, 2, 2),  # one per core
    (10000, 8, 16, 8),  # never more than the concurrency asked
    (10000, 1, 4, 1),  # concurrency: 1 is one process
    (399, 8, 2, 1),  # too few transfers to pay for a second process
    (400, 8, 2, 2),
])
def test_worker_processes(monkeypatch, transfers, concurrency, cores, expected):
    monkeypatch.setattr(bulk.os, "sched_getaffinity", lambda _pid: set(range(cores)))
    assert bulk.worker_processes(transfers, concurrency) == expected


def test_no_worker_process_off_linux(monkeypatch):
    monkeypatch.setattr(bulk.sys, "platform", "darwin")
    assert bulk.worker_processes(10000, 8) == 1


def test_where_no_process_can_start_the_items_run_here(monkeypatch):
    class NoFork:
        def __init__(self, *args, **kwargs):
            pass

        def start(self):
            raise BlockingIOError(11, "Resource temporarily unavailable")

    context = bulk.multiprocessing.get_context("fork")
    monkeypatch.setattr(context, "Process", NoFork)
    monkeypatch.setattr(bulk.multiprocessing, "get_context", lambda _method: context)
    outcomes = _in_processes(lambda number: (number, os.getpid()), list(range(5)))
    assert outcomes == [(n, (n, os.getpid()), None) for n in range(5)]


def test_each_spread_reads_a_chunk_at_a_time_and_shares_the_large_ones(monkeypatch):
    """A listing is read a chunk at a time; a chunk large enough goes to worker processes, a small one runs here."""
    monkeypatch.setattr(bulk, "SPREAD_CHUNK", 10)
    monkeypatch.setattr(bulk, "TRANSFERS_PER_PROCESS", 5)
    monkeypatch.setattr(bulk.os, "sched_getaffinity", lambda _pid: {0, 1})
    read = []

    def listing():
        for number in range(14):
            read.append(number)
            yield number

    def here(number):
        return number, "here", os.getpid()

    def make_worker():
        return lambda number: (number, "worker", os.getpid())

    outcomes = bulk.each_spread(here, make_worker, listing(), 4)
    first = next(outcomes)
    assert read == list(range(10))  # one chunk read, not the whole listing
    outcomes = [first] + list(outcomes)
    assert [item for item, _result, _error in outcomes] == list(range(14))
    chunk, rest = [result for _item, result, _error in outcomes[:10]], [result for _i, result, _e in outcomes[10:]]
    assert {where for _n, where, _pid in chunk} == {"worker"} and len({pid for _n, _w, pid in chunk}) == 2
    assert rest == [(n, "here", os.getpid()) for n in range(10, 14)]  # 4 items: too few for two processes

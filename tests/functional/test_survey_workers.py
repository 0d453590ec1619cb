# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ssec.s3.object_info with prefix over enough objects that its HEADs are shared by worker processes (issue 12:
the survey touches every object). Run for real through the fault proxy; the objects are written with boto3, so
what each one is (this key, another known key, plaintext) is known independently of the module. Proved here:
worker processes of the module do the HEADs, and the counts, the per-object states and the key inventory's
counts_by_key are exactly what was written.
"""

from __future__ import annotations

import os
import threading
import time
import uuid

import pytest

from playbook import Key, processes_with, run_tasks


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="one worker process per core: needs 2 cores")
def test_a_survey_is_shared_by_worker_processes_and_counts_exactly(s3service, fault_proxy, tmp_path):
    this, other = Key(tmp_path / "this.key"), Key(tmp_path / "other.key")
    bucket, client = s3service.buckets[0], s3service.client()
    prefix = "survey/%s/" % uuid.uuid4().hex[:8]
    written = {}  # name -> what it is
    for number in range(500):  # 2 workers of 250 HEADs each (at least 200 each)
        name = "o%04d" % number
        kind = ("this", "other", "plain")[number % 3]
        extra = {"this": this.boto3_params(), "other": other.boto3_params(), "plain": {}}[kind]
        client.put_object(Bucket=bucket, Key=prefix + name, Body=os.urandom(number % 40), **extra)
        written[name] = kind
    marker = ("XDG_CACHE_HOME=%s" % (tmp_path / "marker")).encode()  # the module's environment, inherited
    task = {"ssec.s3.object_info": {"endpoint_url": fault_proxy.endpoint_url, "bucket": bucket, "prefix": prefix,
                                    "sse_customer_key_file": str(this.path), "concurrency": 4,
                                    "known_keys": [{"label": "this", "key_file": str(this.path)},
                                                   {"label": "other", "key_file": str(other.path)}]},
            "environment": {"XDG_CACHE_HOME": str(tmp_path / "marker")}}
    fault_proxy.stall(5, method="HEAD", times=4)  # both workers busy when looked at
    results, most = [], 0
    run = threading.Thread(target=lambda: results.append(run_tasks(s3service, [task], tmp_path / "run")))
    run.start()
    while run.is_alive():
        found = processes_with(marker)
        modules = [pid for pid, parent in found.items() if parent not in found]
        most = max(most, sum(1 for parent in found.values() if parent in modules))
        time.sleep(0.2)
    run.join()
    assert most == 2, "the survey's HEADs were not shared by 2 worker processes"
    [surveyed] = results[0]

    expected = {"this": "this_key", "other": "other_key", "plain": "plaintext"}
    assert surveyed["counts"] == {"plaintext": 166, "this_key": 167, "other_key": 167, "sse_c_unknown": 0,
                                  "other": 0, "error": 0}
    assert surveyed["truncated"] is False
    states = {entry["object"][len(prefix):]: entry["state"] for entry in surveyed["objects"]}
    assert states == {name: expected[kind] for name, kind in written.items()}
    labels = {entry["object"][len(prefix):]: entry["key_label"] for entry in surveyed["objects"]}
    assert labels == {name: (None if kind == "plain" else kind) for name, kind in written.items()}
    assert surveyed["counts_by_key"] == {"this": 167, "other": 167}

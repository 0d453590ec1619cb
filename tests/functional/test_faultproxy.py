# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fault proxy itself (tests/support/faultproxy.py) does what test_faults.py relies on: it relays requests
untouched, injects S3 errors that botocore reads as the server's, cuts and stalls connections, and counts."""

from __future__ import annotations

import os
import time
import uuid

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError, ReadTimeoutError, ResponseStreamingError, SSLError

MIB = 1024 * 1024


def _client(s3service, proxy, attempts=1, read_timeout=30):
    return s3service.client(endpoint_url=proxy.endpoint_url, config=Config(
        signature_version="s3v4", s3={"addressing_style": "path"},
        retries={"mode": "standard", "total_max_attempts": attempts}, read_timeout=read_timeout))


@pytest.fixture
def name():
    return "faultproxy-%s/object" % uuid.uuid4().hex[:12]


def test_relays_requests_untouched(s3service, fault_proxy, name):
    client = _client(s3service, fault_proxy)
    bucket = s3service.buckets[0]
    data = os.urandom(3 * MIB + 17)
    client.put_object(Bucket=bucket, Key=name, Body=data)
    assert client.get_object(Bucket=bucket, Key=name)["Body"].read() == data
    assert client.head_object(Bucket=bucket, Key=name)["ContentLength"] == len(data)
    assert s3service.client().get_object(Bucket=bucket, Key=name)["Body"].read() == data
    assert fault_proxy.count(method="PUT") == 1 and fault_proxy.count(method="GET") == 1
    assert fault_proxy.count(action="forward") == len(fault_proxy.requests) == 3
    # SeaweedFS closes the connection after a PUT (Connection: close); the proxy follows it.
    assert 1 <= fault_proxy.connections <= 2


def test_injected_errors_are_read_as_the_servers_and_counted(s3service, fault_proxy, name):
    bucket = s3service.buckets[0]
    sse_c = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": os.urandom(32)}
    denied = fault_proxy.fail(method="PUT", sse_c=True, status=403, code="AccessDenied", times=None)
    slow = fault_proxy.fail(method="GET", path=r"/%s$" % name, status=503, code="SlowDown", times=2)
    client = _client(s3service, fault_proxy, attempts=3)
    client.put_object(Bucket=bucket, Key=name, Body=b"plain")  # no SSE-C: passes
    with pytest.raises(ClientError) as caught:
        client.put_object(Bucket=bucket, Key=name, Body=os.urandom(2 * MIB), **sse_c)  # with Expect: 100-continue
    assert caught.value.response["Error"]["Code"] == "AccessDenied"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert (denied.seen, denied.fired) == (1, 1)
    assert s3service.client().get_object(Bucket=bucket, Key=name)["Body"].read() == b"plain"
    # Two 503s, then the third attempt reaches the server.
    assert client.get_object(Bucket=bucket, Key=name)["Body"].read() == b"plain"
    assert (slow.seen, slow.fired) == (3, 2)
    assert fault_proxy.count(method="GET", path=name) == 3
    assert fault_proxy.count(method="GET", action="fail") == 2


def test_cuts_uploads_and_downloads_after_n_bytes(s3service, fault_proxy, name):
    bucket = s3service.buckets[0]
    data = os.urandom(2 * MIB)
    client = _client(s3service, fault_proxy)
    up = fault_proxy.cut(method="PUT", bytes_up=MIB)
    # Depending on when the reset reaches the client: while it sends (SSLError) or while it waits for the answer.
    with pytest.raises((ConnectionClosedError, SSLError)):
        client.put_object(Bucket=bucket, Key=name, Body=data)
    assert up.fired == 1
    direct = s3service.client()
    with pytest.raises(ClientError):
        direct.head_object(Bucket=bucket, Key=name)  # the server got half a body: no object
    client.put_object(Bucket=bucket, Key=name, Body=data)  # times=1: the next one passes
    down = fault_proxy.cut(method="GET", bytes_down=MIB // 2)
    body = client.get_object(Bucket=bucket, Key=name)["Body"]
    with pytest.raises((ResponseStreamingError, ConnectionError, OSError)):
        body.read()
    assert down.fired == 1
    assert client.get_object(Bucket=bucket, Key=name)["Body"].read() == data


def test_stall_holds_a_request(s3service, fault_proxy, name):
    bucket = s3service.buckets[0]
    s3service.client().put_object(Bucket=bucket, Key=name, Body=b"x")
    stall = fault_proxy.stall(3, method="HEAD")
    client = _client(s3service, fault_proxy, read_timeout=1)
    with pytest.raises(ReadTimeoutError):
        client.head_object(Bucket=bucket, Key=name)
    assert stall.fired == 1
    assert client.head_object(Bucket=bucket, Key=name)["ContentLength"] == 1


def test_throttle_slows_transfers(s3service, fault_proxy, name):
    bucket = s3service.buckets[0]
    fault_proxy.throttle(bytes_per_second=MIB)
    started = time.monotonic()
    _client(s3service, fault_proxy).put_object(Bucket=bucket, Key=name, Body=os.urandom(2 * MIB))
    assert time.monotonic() - started >= 1.5

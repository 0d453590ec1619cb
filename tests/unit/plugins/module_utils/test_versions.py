# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pure parts of versions.py: messages, diff entries, the record of the version written.

What the servers answer for versions is tested against them (tests/integration/targets/versions).
"""

from __future__ import annotations

import pytest

from ansible_collections.ssec.s3.plugins.module_utils import _versions as versions
from ansible_collections.ssec.s3.plugins.module_utils._remote import SSE_C, RemoteObject
from ansible_collections.ssec.s3.plugins.module_utils._sse_key import CustomerKey

pytestmark = pytest.mark.usefixtures("no_network")

STATES = ("plaintext", "this_key", "other_key", "sse_c_unknown", "other")
KEY = CustomerKey(bytes(range(32)))


def counts(every, current):
    def full(values):
        return dict(dict.fromkeys(STATES + (versions.DELETE_MARKER, "error"), 0), **values)
    noncurrent = {state: every.get(state, 0) - current.get(state, 0) for state in every}
    return {"all": full(every), True: full(current), False: full(noncurrent)}


@pytest.mark.parametrize("every, current, versioning, expected", [
    ({}, {}, versions.ENABLED, "No version under the prefix."),
    ({"this_key": 3, "other_key": 1, "delete_marker": 1}, {"this_key": 1, "delete_marker": 1}, versions.ENABLED,
     "4 versions under the prefix: 3 SSE-C with this key, 1 SSE-C with another key. 1 current, 3 noncurrent; "
     "1 delete marker (1 current)."),
    ({"delete_marker": 2}, {"delete_marker": 1}, versions.SUSPENDED,
     "0 versions under the prefix. 0 current, 0 noncurrent; 2 delete markers (1 current)."),
    ({"this_key": 1}, {"this_key": 1}, versions.DISABLED,
     "1 version under the prefix: 1 SSE-C with this key. 1 current, 0 noncurrent. Versioning has never been enabled "
     "on bucket b: each object has one version (null)."),
    ({"this_key": 1, "error": 1}, {"this_key": 1, "error": 1}, None,
     "2 versions under the prefix: 1 SSE-C with this key, 1 could not be read. 2 current, 0 noncurrent."),
])
def test_describe_versions(every, current, versioning, expected):
    assert versions.describe_versions(counts(every, current), KEY, versioning, "b", STATES) == expected


def test_describe_versions_without_a_key_says_what_is_missing():
    message = versions.describe_versions(counts({"sse_c_unknown": 2}, {"sse_c_unknown": 1}), None, versions.ENABLED,
                                         "b", STATES)
    assert message.endswith("Without a key, SSE-C versions show no size, metadata or digest.")


def version(exists=True, delete_marker=False, version_id="v1"):
    remote = RemoteObject("b", "o", exists, SSE_C if exists else "absent", True if exists else None)
    remote.version_id, remote.delete_marker = version_id, delete_marker
    return remote


def test_missing_message():
    assert versions.missing_message(version()) is None
    assert versions.missing_message(version(exists=False, version_id=None)) is None  # no version was asked for
    assert versions.missing_message(version(exists=False)) == (
        "Version v1 of s3://b/o does not exist (it was deleted, or the id is wrong). List the versions with "
        "ssec.s3.object_info (prefix and versions: true).")
    assert versions.missing_message(version(exists=False, delete_marker=True)).startswith(
        "Version v1 of s3://b/o is a delete marker, which holds no data. Give the version_id of a version written "
        "before it")


def test_version_fields():
    assert versions.version_fields(version()) == {"version_id": "v1", "is_latest": None, "delete_marker": False}
    current = RemoteObject("b", "o", True, SSE_C, True, head={"VersionId": "v9"})
    assert versions.version_fields(current) == {"version_id": "v9"}


def test_deleted_versions_diff_shows_fingerprints_only():
    before, after = versions.deleted_versions_diff([{"object": "o", "version_id": "v1"}], KEY)
    assert before == {"o (version v1)": {"encryption": SSE_C, "sse_customer_key_md5": KEY.md5}}
    assert after == {"o (version v1)": {"exists": False}}


class _Response:
    def __init__(self, status_code):
        self.status_code = status_code


def test_written_versions_keeps_the_last_successful_answer():
    import boto3

    client = boto3.client("s3", region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b")
    written = versions.WrittenVersions(client)
    versions.WrittenVersions(client)  # registering twice records once (unique ids)
    emit = client.meta.events.emit
    emit("after-call.s3.PutObject", http_response=_Response(200), parsed={"VersionId": "v1"}, model=None, context={})
    emit("after-call.s3.CompleteMultipartUpload", http_response=_Response(200), parsed={"VersionId": "v2"}, model=None,
         context={})
    emit("after-call.s3.PutObject", http_response=_Response(500), parsed={"VersionId": "bad"}, model=None, context={})
    emit("after-call.s3.PutObject", http_response=_Response(200), parsed={}, model=None, context={})
    assert written.last == "v2"

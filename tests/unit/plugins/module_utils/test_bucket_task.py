# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ssec.s3.bucket: the merge rules, and AWS's BlockedEncryptionTypes at the API boundary (botocore's Stubber).

No server here keeps BlockedEncryptionTypes (SeaweedFS 4.48 drops it, Ceph RGW 16.2 has no PutBucketEncryption), so
the AWS request and answer shapes are checked request by request; so are the answers each call may get (a refusal,
an accepted code, no answer at all). Everything else runs against the servers in the integration target
tests/integration/targets/bucket.
"""

from __future__ import annotations

import json

import pytest
from botocore import exceptions as bex

from ansible_collections.ssec.s3.plugins.module_utils import _bucket_task as bucket_task
from ansible_collections.ssec.s3.plugins.module_utils._bucket_task import (
    RULE_ID,
    STATEMENT_ID,
    blocked_state,
    foreign_rule_problem,
    has_own_statement,
    merged_policy,
    merged_rules,
    own_statement,
    parse_policy,
    read_state,
    rule_days,
    rules_with_blocked,
)
from ansible_collections.ssec.s3.plugins.module_utils._errors import SsecError, register_secret

BUCKET = "artifacts"
KMS_RULE = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "arn:aws:kms:k"},
            "BucketKeyEnabled": True}


class _Module:
    """The few AnsibleModule attributes the backend uses; the client is botocore's, stubbed at the API boundary."""

    def __init__(self, client, check_mode=False, **params):
        self.params = dict({"bucket": BUCKET, "state": "present", "versioning": None,
                            "abort_incomplete_uploads_days": None, "require_sse_c": None, "sse_c_writes": None,
                            "provider": "aws", "region": "us-east-1", "probe": False}, **params)
        self.check_mode = check_mode
        self._diff = True
        self._client = client
        self.warnings = []

    def client(self):
        return self._client

    def warn(self, text):
        self.warnings.append(text)


def _queue_read(stubber, encryption, policy=None):
    """The answers AWS gives to read_state for an existing bucket."""
    stubber.add_response("head_bucket", {}, {"Bucket": BUCKET})
    stubber.add_response("get_bucket_versioning", {"Status": "Enabled"}, {"Bucket": BUCKET})
    stubber.add_client_error("get_bucket_lifecycle_configuration", "NoSuchLifecycleConfiguration", http_status_code=404)
    if policy is None:
        stubber.add_client_error("get_bucket_policy", "NoSuchBucketPolicy", http_status_code=404)
    else:
        stubber.add_response("get_bucket_policy", {"Policy": policy}, {"Bucket": BUCKET})
    stubber.add_response("get_bucket_encryption", {"ServerSideEncryptionConfiguration": {"Rules": encryption}},
                         {"Bucket": BUCKET})


def _blocked(rule, types):
    return dict(rule, BlockedEncryptionTypes={"EncryptionType": types})


def test_a_new_aws_bucket_reads_as_blocking_sse_c_writes(stubbed):
    client, stubber = stubbed
    _queue_read(stubber, [_blocked({"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}, ["SSE-C"])])
    facts = read_state(client, BUCKET, "aws").facts()
    assert facts["sse_c_writes"] == "blocked"
    assert facts["versioning"] == "enabled"


@pytest.mark.parametrize("value, expected_types", [("allowed", ["NONE"]), ("blocked", ["SSE-C"])])
def test_sse_c_writes_sets_blocked_types_and_keeps_the_default_encryption_rule(stubbed, value, expected_types):
    client, stubber = stubbed
    current = "SSE-C" if value == "allowed" else "NONE"
    _queue_read(stubber, [_blocked(KMS_RULE, [current])])
    wanted = [_blocked(KMS_RULE, expected_types)]
    # The one write: the existing KMS rule (key id, bucket key) kept, BlockedEncryptionTypes set.
    stubber.add_response("put_bucket_encryption", {},
                         {"Bucket": BUCKET, "ServerSideEncryptionConfiguration": {"Rules": wanted}})
    stubber.add_response("get_bucket_encryption", {"ServerSideEncryptionConfiguration": {"Rules": wanted}},
                         {"Bucket": BUCKET})
    _queue_read(stubber, wanted)  # the facts after
    module = _Module(client, sse_c_writes=value)
    result = bucket_task.bucket(module)
    assert result["changed"]
    assert result["diff"]["before"]["sse_c_writes"] == ("blocked" if value == "allowed" else "allowed")
    assert result["bucket_info"]["sse_c_writes"] == value
    assert "SSE-C writes %s" % value in result["msg"]


def test_unset_a_blocking_bucket_gets_sse_c_writes_allowed(stubbed):
    client, stubber = stubbed
    rule = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": False}
    _queue_read(stubber, [_blocked(rule, ["SSE-C"])])
    wanted = [_blocked(rule, ["NONE"])]
    stubber.add_response("put_bucket_encryption", {},
                         {"Bucket": BUCKET, "ServerSideEncryptionConfiguration": {"Rules": wanted}})
    stubber.add_response("get_bucket_encryption", {"ServerSideEncryptionConfiguration": {"Rules": wanted}},
                         {"Bucket": BUCKET})
    _queue_read(stubber, wanted)
    result = bucket_task.bucket(_Module(client))
    assert result["changed"] and result["bucket_info"]["sse_c_writes"] == "allowed"


def test_check_mode_predicts_the_change_and_sends_no_write(stubbed):
    client, stubber = stubbed
    _queue_read(stubber, [_blocked(KMS_RULE, ["SSE-C"])])
    result = bucket_task.bucket(_Module(client, check_mode=True, sse_c_writes="allowed"))
    # An unqueued PutBucketEncryption would have failed the call.
    assert result["changed"]
    assert result["diff"]["after"]["sse_c_writes"] == "allowed"


def test_an_allowing_aws_bucket_is_left_alone(stubbed):
    client, stubber = stubbed
    _queue_read(stubber, [_blocked(KMS_RULE, ["NONE"])])
    result = bucket_task.bucket(_Module(client, sse_c_writes="allowed"))
    assert not result["changed"]
    assert result["msg"] == "Bucket artifacts is as requested."


def test_aws_without_the_field_means_allowed():
    assert blocked_state([KMS_RULE], "aws") == "allowed"
    assert blocked_state([KMS_RULE], "other") == "unknown"
    assert blocked_state(None, "aws") == "unknown"


def test_rules_with_blocked_adds_a_default_rule_when_there_is_none():
    assert rules_with_blocked(None, "allowed") == [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"},
         "BlockedEncryptionTypes": {"EncryptionType": ["NONE"]}}]


def test_a_policy_that_is_not_json_changes_nothing(stubbed):
    # No server here stores one (SeaweedFS and RGW refuse it with 400); other S3 servers may.
    client, stubber = stubbed
    _queue_read(stubber, [KMS_RULE], policy="this is { not json")
    with pytest.raises(SsecError) as error:
        bucket_task.bucket(_Module(client, require_sse_c=True))
    assert "is not a JSON policy document" in error.value.message
    assert "nothing was changed" in error.value.message
    assert "delete-bucket-policy" in error.value.message


@pytest.mark.parametrize("text", ["[1, 2]", '{"Statement": "x"}', "{", ""])
def test_parse_policy_refuses_what_cannot_be_merged(text):
    with pytest.raises(SsecError, match="not a JSON policy document"):
        parse_policy(text, BUCKET)


def test_the_statement_is_merged_and_removed_keeping_the_others():
    other = {"Sid": "KeepMe", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
             "Resource": "arn:aws:s3:::artifacts/public/*"}
    document = {"Version": "2012-10-17", "Id": "p1", "Statement": [other]}
    merged = merged_policy(document, BUCKET, True)
    assert merged["Id"] == "p1" and merged["Statement"] == [other, own_statement(BUCKET)]
    assert has_own_statement(merged, BUCKET)
    assert merged_policy(merged, BUCKET, False)["Statement"] == [other]
    assert merged_policy({"Statement": [own_statement(BUCKET)]}, BUCKET, False) is None


def test_a_reformatted_statement_is_still_recognised():
    statement = dict(own_statement(BUCKET), Principal={"AWS": ["*"]}, Action=["s3:PutObject"])
    assert has_own_statement({"Statement": statement}, BUCKET)
    assert not has_own_statement({"Statement": [dict(own_statement("other"), Sid=STATEMENT_ID)]}, BUCKET)


def test_lifecycle_rules_of_others_are_kept_in_place():
    logs = {"ID": "logs", "Status": "Enabled", "Filter": {"Prefix": "logs/"}, "Expiration": {"Days": 3}}
    ours = {"ID": RULE_ID, "Status": "Enabled", "Prefix": "", "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}}
    assert rule_days([logs, ours]) == 7  # RGW answers the old form, Prefix beside ID
    merged = merged_rules([ours, logs], 3)
    assert merged[1] == logs and merged[0]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 3}
    assert merged_rules([ours, logs], 0) == [logs]


@pytest.mark.parametrize("rule, words", [
    ({"ID": RULE_ID, "Status": "Enabled", "Filter": {"Prefix": "tmp/"},
      "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}}, "part of the bucket"),
    ({"ID": RULE_ID, "Status": "Enabled", "Filter": {}, "Expiration": {"Days": 1}}, "also has Expiration"),
    ({"ID": RULE_ID, "Status": "Enabled", "Filter": {"Prefix": ""}}, "does not abort"),
])
def test_a_foreign_rule_with_the_module_id_is_recognised(rule, words):
    assert words in foreign_rule_problem(rule)
    assert rule_days([rule]) is None


def test_options_of_a_present_bucket_are_refused_with_state_absent():
    with pytest.raises(SsecError, match="require_sse_c, sse_c_writes only apply with state: present"):
        bucket_task.check_bucket_options({"state": "absent", "require_sse_c": False, "sse_c_writes": "allowed"})


def test_the_policy_statement_is_a_deny_of_writes_without_the_sse_c_header():
    statement = own_statement(BUCKET)
    assert statement["Effect"] == "Deny" and statement["Resource"] == "arn:aws:s3:::artifacts/*"
    assert json.dumps(statement["Condition"]) == \
        '{"Null": {"s3:x-amz-server-side-encryption-customer-algorithm": "true"}}'


# ---- answers read from the SsecError of s3_errors ----------------------------------------------------------------

class _Unreachable:
    """A client whose every request fails before any answer (no HTTP status, no code)."""

    def __getattr__(self, name):
        def call(**_params):
            raise bex.EndpointConnectionError(endpoint_url="https://s3.example.test")
        return call


def _read_versioning(client, accept=()):
    return bucket_task._Call(client, BUCKET)(  # pylint: disable=protected-access
        "get_bucket_versioning", "read the versioning", "s3:GetBucketVersioning", accept=accept)


@pytest.mark.parametrize("status, code, words", [
    (403, "AccessDenied", ["Failed to read the versioning of bucket artifacts: access denied (HTTP 403)",
                           "(permission s3:GetBucketVersioning)"]),
    (404, "NoSuchBucket", ["Failed to read the versioning: bucket artifacts does not exist (it was deleted "
                           "meanwhile?). Run the task again."]),
    (500, "InternalError", ["Failed to read the versioning of bucket artifacts: We failed (HTTP 500)."]),
])
def test_a_refused_bucket_call_says_what_and_keeps_status_and_code(stubbed, status, code, words):
    client, stubber = stubbed
    stubber.add_client_error("get_bucket_versioning", code, "We failed", status, expected_params={"Bucket": BUCKET})
    with pytest.raises(SsecError) as caught:
        _read_versioning(client, accept=(400, "NoSuchBucketPolicy"))
    assert (caught.value.status, caught.value.code) == (status, code)
    for word in words:
        assert word in caught.value.message
    assert caught.value.__context__ is None and caught.value.__cause__ is None


@pytest.mark.parametrize("accept", [(501,), ("NotImplemented",)])
def test_an_accepted_answer_is_returned_by_status_or_code(stubbed, accept):
    client, stubber = stubbed
    stubber.add_client_error("get_bucket_versioning", "NotImplemented", "", 501, expected_params={"Bucket": BUCKET})
    answer = _read_versioning(client, accept=accept)
    assert isinstance(answer, SsecError) and (answer.status, answer.code) == (501, "NotImplemented")


def test_a_transport_failure_is_never_an_accepted_answer():
    with pytest.raises(SsecError) as caught:
        _read_versioning(_Unreachable(), accept=(400, 403, 404, 405, 501))
    assert caught.value.status is None and "could not be reached" in caught.value.message


def test_a_refused_probe_write_is_its_status_and_code(stubbed):
    client, stubber = stubbed
    stubber.add_client_error("put_object", "AccessDenied", "", 403)
    assert bucket_task._probe_write(client, BUCKET, "disabled", None) == "HTTP 403 AccessDenied"  # pylint: disable=protected-access


def test_a_probe_write_without_an_answer_fails_and_shows_no_key(assert_no_key_material):
    key = bytes(range(32))
    register_secret(key)

    class _Invalid:
        def put_object(self, **params):
            # botocore's ParamValidationError prints the parameters it refused.
            raise bex.ParamValidationError(report="SSECustomerKey %r" % params["SSECustomerKey"])

    for client, words in ((_Unreachable(), "could not be reached"), (_Invalid(), "invalid request parameters")):
        with pytest.raises(SsecError) as caught:
            bucket_task._probe_write(client, BUCKET, "disabled", key)  # pylint: disable=protected-access
        assert "Failed to write a probe object to bucket artifacts" in caught.value.message
        assert words in caught.value.message and caught.value.status is None
        assert_no_key_material(caught.value.message, key)

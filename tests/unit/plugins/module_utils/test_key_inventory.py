# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""object_info known_keys: the option's no_log reaches Ansible's masking, and the inventory's refusals.

Which key opens which object runs against the servers (integration target object_info_known_keys); here each
answer a key's HEAD may get is given once (botocore's Stubber).
"""

from __future__ import annotations

import base64
import os

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.ssec.s3.plugins.module_utils import _key_inventory as key_inventory
from ansible_collections.ssec.s3.plugins.module_utils._errors import SsecError
from ansible_collections.ssec.s3.plugins.module_utils._sse_key import CustomerKey


def _b64():
    return base64.b64encode(os.urandom(32)).decode()


def test_the_key_suboption_is_masked_by_ansible(tmp_path):
    key = _b64()
    key_file = tmp_path / "k"
    key_file.write_bytes(os.urandom(32))
    params = {"known_keys": [{"label": "old", "key": key}, {"label": "new", "key_file": str(key_file)}]}
    result = ArgumentSpecValidator(key_inventory.argument_spec()).validate(params)
    assert not result.error_messages
    # What AnsibleModule replaces in its invocation, its logs and its results.
    assert key in result._no_log_values
    assert str(key_file) not in result._no_log_values


def test_labels_and_fingerprints_only(tmp_path, assert_no_key_material):
    raw = os.urandom(32)
    inventory = key_inventory.from_params({"known_keys": [{"label": "a", "key": base64.b64encode(raw).decode()}]})
    shown = repr(inventory.result())
    assert_no_key_material(shown, raw)
    assert inventory.result()["counts_by_key"] == {"a": 0}


@pytest.mark.parametrize("entries, words", [
    ([{"label": "x", "key": "K1"}, {"label": "x", "key": "K2"}], "given twice"),
    ([{"label": "x", "key": "K1"}, {"label": "y", "key": "K1"}], "hold the same key"),
    ([{"label": "", "key": "K1"}], "empty label"),
    ([{"label": "x", "key": "not base64!"}], "not valid base64"),
])
def test_refusals(entries, words):
    keys = {"K1": _b64(), "K2": _b64()}
    entries = [dict(entry, key=keys.get(entry["key"], entry["key"])) for entry in entries]
    with pytest.raises(SsecError, match=words):
        key_inventory.from_params({"known_keys": entries})


def test_no_inventory_without_the_option():
    assert key_inventory.from_params({"known_keys": None}) is None


# ---- one HEAD per known key, at the API boundary (botocore's Stubber) -----------------------------------------

class _Remote:
    bucket, name = "artifacts", "app.tar.gz"


def _head_params(key):
    return dict({"Bucket": _Remote.bucket, "Key": _Remote.name}, **key.request_params())


@pytest.mark.parametrize("status", [400, 403, 404])
def test_another_keys_answer_is_not_this_key(stubbed, status):
    client, stubber = stubbed
    key = CustomerKey(os.urandom(32))
    stubber.add_client_error("head_object", str(status), "", status, expected_params=_head_params(key))
    assert key_inventory._opens(client, _Remote, key) is False  # pylint: disable=protected-access


def test_the_key_that_opens_the_object(stubbed):
    client, stubber = stubbed
    key = CustomerKey(os.urandom(32))
    stubber.add_response("head_object", {"SSECustomerAlgorithm": "AES256", "SSECustomerKeyMD5": "%s, %s" % (key.md5, key.md5)},
                         _head_params(key))
    assert key_inventory._opens(client, _Remote, key) is True  # pylint: disable=protected-access


def test_any_other_failure_fails_the_survey_without_the_key(stubbed, assert_no_key_material):
    client, stubber = stubbed
    key = CustomerKey(os.urandom(32))
    stubber.add_client_error("head_object", "InternalError", "", 500, expected_params=_head_params(key))
    with pytest.raises(SsecError) as caught:
        key_inventory._opens(client, _Remote, key)  # pylint: disable=protected-access
    assert caught.value.status == 500
    assert caught.value.message.startswith("Failed to read the state of s3://artifacts/app.tar.gz")
    assert_no_key_material(caught.value.message, key.raw)

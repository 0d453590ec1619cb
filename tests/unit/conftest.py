# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures shared by the unit tests: a hermetic environment, no network, a key-leak check."""

from __future__ import annotations

import os
import socket

import pytest

from ansible_collections.ssec.s3.plugins.module_utils._errors import secret_forms

# Prefixes of the environment variables the collection (or boto3 behind it) reads.
_ENV_PREFIXES = ("AWS_", "SCW_", "BOTO_")


@pytest.fixture(autouse=True)
def hermetic_environment(monkeypatch, tmp_path):
    """No test sees the developer's credentials, profiles or endpoints."""
    for name in list(os.environ):
        if name.startswith(_ENV_PREFIXES):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


class NetworkUsed(AssertionError):
    pass


@pytest.fixture
def no_network(monkeypatch):
    """Fail the test on any attempt to resolve a name or open a connection."""

    def refuse(*args, **kwargs):
        raise NetworkUsed("a unit test tried to use the network: %r" % (args,))

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


@pytest.fixture
def assert_no_key_material():
    """``check(text, raw)`` fails if ``text`` holds any textual form of the key bytes ``raw``.

    The failure names the kind of form found, never the form itself.
    """

    def check(text, raw):
        if not raw:
            return  # nothing to leak
        text = str(text)
        leaked = sorted(
            ("form #%d (%d chars)" % (number, len(form)))
            for number, form in enumerate(sorted(secret_forms(raw)))
            if form in text
        )
        assert not leaked, "key material found in the text: %s" % ", ".join(leaked)

    return check


@pytest.fixture
def stubbed():
    """(client, Stubber) for request shapes at the API boundary, only for answers no test server gives (AWS's own).

    Fails when a queued answer was not asked for; an unqueued request fails the call itself.
    """
    import boto3  # pylint: disable=import-outside-toplevel
    from botocore.config import Config  # pylint: disable=import-outside-toplevel
    from botocore.stub import Stubber  # pylint: disable=import-outside-toplevel

    client = boto3.client("s3", region_name="us-east-1", endpoint_url="https://s3.example.test",
                          aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret",
                          config=Config(s3={"addressing_style": "path"}))
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def _patch_args(args):
    """AnsibleModule reads its arguments from these (ansible-core's own testing helper where it exists)."""
    try:
        from ansible.module_utils.testing import patch_module_args  # pylint: disable=import-outside-toplevel
    except ImportError:  # ansible-core < 2.19
        import json  # pylint: disable=import-outside-toplevel
        from unittest import mock  # pylint: disable=import-outside-toplevel

        from ansible.module_utils import basic  # pylint: disable=import-outside-toplevel
        return mock.patch.object(basic, "_ANSIBLE_ARGS", json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode())
    return patch_module_args(args)


@pytest.fixture
def file_module():
    """``make(check_mode=False, **params)``: a real SsecModule with the file options (mode, owner, group...)."""
    from ansible_collections.ssec.s3.plugins.module_utils._module import SsecModule  # pylint: disable=import-outside-toplevel

    def make(check_mode=False, **params):
        args = dict(params, _ansible_check_mode=check_mode, _ansible_no_log=True)
        with _patch_args(args):
            return SsecModule({"path": {"type": "path"}, "backup": {"type": "bool", "default": False}}, s3=False,
                              add_file_common_args=True, supports_check_mode=True)

    return make

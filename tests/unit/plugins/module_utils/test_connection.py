# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection options: precedence over the environment, provider defaults, refusing plain http."""

from __future__ import annotations

import shutil

import pytest
from botocore.httpsession import DEFAULT_CA_BUNDLE

from ansible_collections.ssec.s3.plugins.module_utils._connection import (
    connection_argument_spec,
    parse_timestamp,
    resolve_settings,
    s3_client,
)
from ansible_collections.ssec.s3.plugins.module_utils._errors import SsecError

pytestmark = pytest.mark.usefixtures("no_network")


def params(**overrides):
    """Module parameters as AnsibleModule would pass them: every option, defaults filled in."""
    values = {name: spec.get("default") for name, spec in connection_argument_spec().items()}
    unknown = set(overrides) - set(values)
    assert not unknown, "not connection options: %s" % unknown
    values.update(overrides)
    return values


def test_defaults_without_environment():
    settings = resolve_settings(params(), {})
    assert settings == {
        "provider": "aws",
        "endpoint_url": None,
        "endpoint_source": None,
        "region": "us-east-1",
        "access_key": None,
        "secret_key": None,
        "session_token": None,
        "profile": None,
        "verify": True,
        "addressing_style": "auto",
        "retries": 5,
        "connect_timeout": 10.0,
        "read_timeout": 60.0,
    }


def test_argument_spec_defaults_are_safe():
    spec = connection_argument_spec()
    assert spec["allow_plain_http"]["default"] is False
    assert spec["validate_certs"]["default"] is True
    assert spec["secret_key"]["no_log"] is True
    assert spec["session_token"]["no_log"] is True
    assert spec["provider"]["choices"] == ["aws", "scaleway", "other"]


# --- precedence ------------------------------------------------------------------------------

FULL_ENV = {
    "AWS_ENDPOINT_URL_S3": "https://s3-env.example.test",
    "AWS_ENDPOINT_URL": "https://all-env.example.test",
    "AWS_REGION": "aws-region",
    "AWS_DEFAULT_REGION": "aws-default-region",
    "SCW_DEFAULT_REGION": "scw-region",
    "AWS_ACCESS_KEY_ID": "aws-access",
    "AWS_SECRET_ACCESS_KEY": "aws-secret",
    "SCW_ACCESS_KEY": "scw-access",
    "SCW_SECRET_KEY": "scw-secret",
    "AWS_SESSION_TOKEN": "env-token",
    "AWS_CA_BUNDLE": "/env/ca.pem",
}

EXPLICIT = {
    "endpoint_url": "https://explicit.example.test",
    "region": "explicit-region",
    "access_key": "explicit-access",
    "secret_key": "explicit-secret",
    "session_token": "explicit-token",
    "ca_bundle": "/explicit/ca.pem",
}


@pytest.mark.parametrize("provider", [None, "aws", "scaleway", "other"])
def test_explicit_options_beat_the_environment(provider):
    settings = resolve_settings(params(provider=provider, **EXPLICIT), dict(FULL_ENV))
    for name, value in EXPLICIT.items():
        assert settings["verify" if name == "ca_bundle" else name] == value


def test_profile_comes_from_the_option_then_aws_profile():
    assert resolve_settings(params(profile="mine"), {"AWS_PROFILE": "env"})["profile"] == "mine"
    assert resolve_settings(params(), {"AWS_PROFILE": "env"})["profile"] == "env"


def test_profile_is_ignored_when_keys_are_given():
    settings = resolve_settings(params(access_key="a", secret_key="s", profile="mine"), {"AWS_PROFILE": "env"})
    assert settings["profile"] is None


def _without(*names):
    return {name: value for name, value in FULL_ENV.items() if name not in names}


@pytest.mark.parametrize(
    "environ, expected",
    [
        pytest.param(FULL_ENV, "https://s3-env.example.test", id="AWS_ENDPOINT_URL_S3-first"),
        pytest.param(_without("AWS_ENDPOINT_URL_S3"), "https://all-env.example.test", id="then-AWS_ENDPOINT_URL"),
        pytest.param(dict(FULL_ENV, AWS_ENDPOINT_URL_S3=""), "https://all-env.example.test", id="empty-is-unset"),
        pytest.param(_without("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"), None, id="none"),
    ],
)
def test_endpoint_from_the_environment(environ, expected):
    assert resolve_settings(params(provider="aws"), dict(environ))["endpoint_url"] == expected


@pytest.mark.parametrize(
    "provider, removed, expected",
    [
        ("aws", (), ("aws-region", "aws-access", "aws-secret")),
        ("aws", ("AWS_REGION",), ("aws-default-region", "aws-access", "aws-secret")),
        ("aws", ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"),
         ("scw-region", "scw-access", "scw-secret")),
        (None, (), ("aws-region", "aws-access", "aws-secret")),
        ("other", (), ("aws-region", "aws-access", "aws-secret")),
        ("scaleway", (), ("scw-region", "scw-access", "scw-secret")),
        ("scaleway", ("SCW_DEFAULT_REGION", "SCW_ACCESS_KEY", "SCW_SECRET_KEY"),
         ("aws-region", "aws-access", "aws-secret")),
        ("scaleway", ("SCW_DEFAULT_REGION", "AWS_REGION"), ("aws-default-region", "scw-access", "scw-secret")),
    ],
)
def test_environment_precedence_depends_on_the_provider(provider, removed, expected):
    settings = resolve_settings(params(provider=provider), _without(*removed))
    assert (settings["region"], settings["access_key"], settings["secret_key"]) == expected
    assert settings["session_token"] == "env-token"
    assert settings["verify"] == "/env/ca.pem"


# --- providers -------------------------------------------------------------------------------

@pytest.mark.parametrize("region", ["fr-par", "nl-ams", "pl-waw"])
def test_scaleway_region_gives_the_scaleway_endpoint(region):
    settings = resolve_settings(params(provider="scaleway", region=region), {})
    assert settings["endpoint_url"] == "https://s3.%s.scw.cloud" % region
    assert settings["region"] == region
    assert settings["provider"] == "scaleway"
    assert settings["addressing_style"] == "auto"


def test_scaleway_region_from_the_environment():
    settings = resolve_settings(params(provider="scaleway"), {"SCW_DEFAULT_REGION": "nl-ams"})
    assert settings["endpoint_url"] == "https://s3.nl-ams.scw.cloud"


def test_scaleway_with_an_explicit_endpoint_keeps_it():
    settings = resolve_settings(params(provider="scaleway", endpoint_url="https://s3.example.test"), {})
    assert settings["endpoint_url"] == "https://s3.example.test"


def test_scaleway_without_a_region_names_region():
    with pytest.raises(SsecError) as info:
        resolve_settings(params(provider="scaleway"), {})
    message = info.value.message
    assert "provider: scaleway needs a region" in message
    assert "set region or SCW_DEFAULT_REGION" in message
    assert "fr-par" in message


@pytest.mark.parametrize(
    "overrides, provider",
    [
        ({}, "aws"),
        ({"endpoint_url": "https://minio.example.test:9000"}, "other"),
        ({"provider": "aws", "endpoint_url": "https://s3.eu-west-3.amazonaws.com"}, "aws"),
    ],
)
def test_provider_is_inferred_from_the_endpoint(overrides, provider):
    assert resolve_settings(params(**overrides), {})["provider"] == provider


def test_provider_is_inferred_from_an_endpoint_in_the_environment():
    settings = resolve_settings(params(), {"AWS_ENDPOINT_URL": "https://minio.example.test"})
    assert settings["provider"] == "other"
    assert settings["addressing_style"] == "path"


@pytest.mark.parametrize(
    "overrides, style",
    [
        ({"provider": "other", "endpoint_url": "https://h.example.test"}, "path"),
        ({"endpoint_url": "https://h.example.test"}, "path"),
        ({"provider": "other", "endpoint_url": "https://h.example.test", "addressing_style": "virtual"}, "virtual"),
        ({"provider": "aws"}, "auto"),
        ({"provider": "aws", "addressing_style": "path"}, "path"),
        ({"provider": "scaleway", "region": "fr-par"}, "auto"),
        ({"provider": "scaleway", "region": "fr-par", "addressing_style": "virtual"}, "virtual"),
    ],
)
def test_addressing_style(overrides, style):
    assert resolve_settings(params(**overrides), {})["addressing_style"] == style


# --- refusals --------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "overrides, environ",
    [
        pytest.param({"endpoint_url": "http://minio.example.test:9000"}, {}, id="option"),
        pytest.param({"endpoint_url": "HTTP://minio.example.test"}, {}, id="uppercase-scheme"),
        pytest.param({}, {"AWS_ENDPOINT_URL_S3": "http://minio.example.test"}, id="environment"),
        pytest.param({"provider": "scaleway", "region": "fr-par", "endpoint_url": "http://s3.fr-par.scw.cloud"}, {},
                     id="scaleway"),
    ],
)
def test_plain_http_is_refused(overrides, environ):
    with pytest.raises(SsecError) as info:
        resolve_settings(params(**overrides), environ)
    message = info.value.message
    assert "uses plain http" in message
    assert "the SSE-C key would travel in clear" in message
    assert "Use an https:// endpoint" in message
    assert "allow_plain_http: true" in message


def test_plain_http_is_refused_before_a_client_exists():
    with pytest.raises(SsecError, match="travel in clear"):
        s3_client(params(endpoint_url="http://minio.example.test"), environ={})


def test_plain_http_is_accepted_when_allowed():
    settings = resolve_settings(params(endpoint_url="http://127.0.0.1:8333", allow_plain_http=True), {})
    assert settings["endpoint_url"] == "http://127.0.0.1:8333"


@pytest.mark.parametrize("endpoint", ["s3.example.test", "ftp://s3.example.test", "//s3.example.test", "https"])
def test_an_endpoint_that_is_not_an_http_url_is_refused(endpoint):
    with pytest.raises(SsecError) as info:
        resolve_settings(params(endpoint_url=endpoint, allow_plain_http=True), {})
    message = info.value.message
    assert "endpoint_url %s is not an http(s) URL" % endpoint in message
    assert "give it as https://HOST[:PORT]" in message


@pytest.mark.parametrize(
    "overrides, environ",
    [
        pytest.param({"access_key": "a"}, {}, id="access-only"),
        pytest.param({"secret_key": "s"}, {}, id="secret-only"),
        pytest.param({}, {"AWS_ACCESS_KEY_ID": "a"}, id="access-only-env"),
        pytest.param({"provider": "scaleway", "region": "fr-par"}, {"SCW_SECRET_KEY": "s"}, id="secret-only-scw-env"),
    ],
)
def test_half_a_key_pair_is_refused(overrides, environ):
    with pytest.raises(SsecError) as info:
        resolve_settings(params(**overrides), environ)
    message = info.value.message
    assert "access_key and secret_key go together" in message
    assert "set both" in message


def test_key_pair_may_mix_option_and_environment():
    settings = resolve_settings(params(access_key="a"), {"AWS_SECRET_ACCESS_KEY": "s"})
    assert (settings["access_key"], settings["secret_key"]) == ("a", "s")


# --- TLS verification ------------------------------------------------------------------------

@pytest.mark.parametrize(
    "overrides, environ, verify",
    [
        ({}, {}, True),
        ({"ca_bundle": "/etc/ssl/my-ca.pem"}, {}, "/etc/ssl/my-ca.pem"),
        ({}, {"AWS_CA_BUNDLE": "/env/ca.pem"}, "/env/ca.pem"),
        ({"validate_certs": False}, {}, False),
        ({"validate_certs": False, "ca_bundle": "/etc/ssl/my-ca.pem"}, {"AWS_CA_BUNDLE": "/env/ca.pem"}, False),
    ],
)
def test_verify(overrides, environ, verify):
    assert resolve_settings(params(**overrides), environ)["verify"] == verify


# --- the client ------------------------------------------------------------------------------

def test_s3_client_is_configured_from_the_options(tmp_path):
    shutil.copy(DEFAULT_CA_BUNDLE, tmp_path / "ca.pem")
    client = s3_client(
        params(endpoint_url="https://s3.example.test:8443", region="eu-central-1", access_key="AKID",
               secret_key="SECRET", ca_bundle=str(tmp_path / "ca.pem"), retries=3, connect_timeout=2.5,
               read_timeout=7.0),
        max_pool_connections=7,
        environ={},
    )
    config = client.meta.config
    assert client.meta.endpoint_url == "https://s3.example.test:8443"
    assert client.meta.region_name == "eu-central-1"
    assert config.retries == {"mode": "standard", "total_max_attempts": 4}
    assert config.connect_timeout == 2.5
    assert config.read_timeout == 7.0
    assert config.max_pool_connections == 7
    # Over https the body is not hashed a second time for the signature; TLS protects it.
    assert config.s3 == {"addressing_style": "path", "payload_signing_enabled": False}
    assert config.signature_version == "s3v4"
    assert config.request_checksum_calculation == "when_required"
    assert config.response_checksum_validation == "when_required"
    assert client._endpoint.http_session._verify == str(tmp_path / "ca.pem")
    credentials = client._request_signer._credentials
    assert (credentials.access_key, credentials.secret_key) == ("AKID", "SECRET")


def test_s3_client_for_scaleway_from_the_environment():
    client = s3_client(params(provider="scaleway"),
                       environ={"SCW_DEFAULT_REGION": "fr-par", "SCW_ACCESS_KEY": "SCWXXX", "SCW_SECRET_KEY": "s"})
    assert client.meta.endpoint_url == "https://s3.fr-par.scw.cloud"
    assert client.meta.region_name == "fr-par"
    assert client._request_signer._credentials.access_key == "SCWXXX"
    assert client.meta.config.retries == {"mode": "standard", "total_max_attempts": 6}


def test_s3_client_without_certificate_validation():
    client = s3_client(params(endpoint_url="https://s3.example.test", access_key="a", secret_key="s",
                              validate_certs=False), environ={})
    assert client._endpoint.http_session._verify is False


def test_unknown_profile_is_reported_as_an_ssec_error():
    with pytest.raises(SsecError) as info:
        s3_client(params(profile="no-such-profile"), environ={})
    message = info.value.message
    assert message.startswith("Failed to create the S3 client:")
    assert "no-such-profile" in message


def test_plain_http_keeps_signing_the_payload():
    client = s3_client(params(endpoint_url="http://127.0.0.1:9000", allow_plain_http=True, access_key="AKID",
                              secret_key="SECRET"), environ={})
    assert client.meta.config.s3["payload_signing_enabled"] is True


@pytest.mark.parametrize("make, problem", [
    (lambda path: None, "does not exist"),
    (lambda path: path.mkdir(), "is a directory"),
])
def test_an_unusable_ca_bundle_is_named(tmp_path, make, problem):
    ca_bundle = tmp_path / "ca.pem"
    make(ca_bundle)
    with pytest.raises(SsecError) as caught:
        s3_client(params(endpoint_url="https://s3.example.test", ca_bundle=str(ca_bundle)), environ={})
    assert "ca_bundle %s %s" % (ca_bundle, problem) in caught.value.message


def test_a_ca_bundle_from_the_environment_is_checked_too(tmp_path):
    with pytest.raises(SsecError, match="ca_bundle .*missing.pem does not exist"):
        s3_client(params(endpoint_url="https://s3.example.test"), environ={"AWS_CA_BUNDLE": str(tmp_path / "missing.pem")})


def test_a_plain_http_endpoint_from_the_environment_names_the_variable():
    with pytest.raises(SsecError) as caught:
        resolve_settings(params(), {"AWS_ENDPOINT_URL": "http://minio.test:9000"})
    assert caught.value.message.startswith("endpoint_url (from AWS_ENDPOINT_URL) http://minio.test:9000 uses plain http")
    with pytest.raises(SsecError) as caught:
        resolve_settings(params(endpoint_url="http://minio.test:9000"), {"AWS_ENDPOINT_URL": "https://other.test"})
    assert caught.value.message.startswith("endpoint_url http://minio.test:9000 uses plain http")


# ---- endpoints from the AWS config file (botocore reads them itself) ----------------------------------------

_CONFIG_FILES = {
    "default": "[default]\nendpoint_url = http://127.0.0.1:9/\n",
    "profile": "[profile dev]\nendpoint_url = http://127.0.0.1:9/\n",
    "services-default": "[default]\nservices = local\n[services local]\ns3 =\n  endpoint_url = http://127.0.0.1:9/\n",
    "services-profile": "[profile dev]\nservices = local\n[services local]\ns3 =\n  endpoint_url = http://127.0.0.1:9/\n",
}


@pytest.mark.parametrize("name", sorted(_CONFIG_FILES))
@pytest.mark.parametrize("profile_from", ["option", "AWS_PROFILE"])
def test_plain_http_from_the_aws_config_file_is_refused(tmp_path, monkeypatch, name, profile_from):
    config_file = tmp_path / "config"
    config_file.write_text(_CONFIG_FILES[name])
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config_file))
    profile = "dev" if name.endswith("profile") else None
    if profile and profile_from == "AWS_PROFILE":
        monkeypatch.setenv("AWS_PROFILE", profile)
    options = params(profile=profile) if profile_from == "option" else params()
    with pytest.raises(SsecError) as caught:
        s3_client(options)
    message = caught.value.message
    assert message.startswith("endpoint_url (from the AWS config file %s, profile %s) http://127.0.0.1:9/ uses "
                              "plain http" % (config_file, profile or "default"))
    assert "allow_plain_http: true" in message


def test_plain_http_from_the_aws_config_file_is_accepted_when_allowed_with_a_warning(tmp_path, monkeypatch):
    config_file = tmp_path / "config"
    config_file.write_text(_CONFIG_FILES["services-default"])
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config_file))
    warnings = []
    client = s3_client(params(allow_plain_http=True), warn=warnings.append)
    assert client.meta.endpoint_url == "http://127.0.0.1:9/"
    assert len(warnings) == 1 and "over plain http" in warnings[0] and "leaked" in warnings[0]


@pytest.mark.parametrize("variable, value", [
    ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true"),
])
def test_ignored_config_endpoints_are_not_refused(tmp_path, monkeypatch, variable, value):
    config_file = tmp_path / "config"
    config_file.write_text(_CONFIG_FILES["default"])
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config_file))
    monkeypatch.setenv(variable, value)
    assert s3_client(params()).meta.endpoint_url.startswith("https://")


def test_an_https_endpoint_from_the_aws_config_file_is_used(tmp_path, monkeypatch):
    config_file = tmp_path / "config"
    config_file.write_text("[default]\nendpoint_url = https://s3.example.test:8443\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config_file))
    warnings = []
    assert s3_client(params(), warn=warnings.append).meta.endpoint_url == "https://s3.example.test:8443"
    assert not warnings


# ---- warnings for the dangerous options ---------------------------------------------------------------------

def test_dangerous_options_warn_when_they_take_effect():
    warnings = []
    s3_client(params(endpoint_url="https://s3.example.test", validate_certs=False), warn=warnings.append, environ={})
    assert len(warnings) == 1 and warnings[0].startswith("validate_certs: false") and "ca_bundle" in warnings[0]
    warnings = []
    s3_client(params(endpoint_url="http://127.0.0.1:9000", allow_plain_http=True), warn=warnings.append, environ={})
    assert len(warnings) == 1 and warnings[0].startswith("allow_plain_http: true") and "in clear" in warnings[0]
    warnings = []
    s3_client(params(endpoint_url="https://s3.example.test", allow_plain_http=True), warn=warnings.append, environ={})
    assert warnings == []


@pytest.mark.parametrize("content", ["", "not a certificate\n", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"])
def test_a_ca_bundle_without_a_certificate_is_named(tmp_path, content):
    ca_bundle = tmp_path / "ca.pem"
    ca_bundle.write_text(content)
    with pytest.raises(SsecError) as caught:
        s3_client(params(endpoint_url="https://s3.example.test", ca_bundle=str(ca_bundle)), environ={})
    assert caught.value.message.startswith("ca_bundle %s holds no certificate" % ca_bundle)


@pytest.mark.parametrize("value", [
    "2026-12-06T22:01:02.000Z",  # ListObjectsV2
    "2026-12-06T22:01:02Z",
    "2026-12-06T22:01:02.123456+00:00",
    "2026-12-06T23:01:02+01:00",
    "Sun, 06 Dec 2026 22:01:02 GMT",  # Last-Modified
    "1796594462",  # epoch seconds: botocore's parser
    "2026-12-06T22:01:02",  # no zone: botocore's parser (it assumes UTC)
])
def test_timestamps_parse_as_botocore_parses_them(value):
    from botocore.utils import parse_timestamp as botocore_parse

    ours, theirs = parse_timestamp(value), botocore_parse(value)
    assert ours == theirs and ours.utcoffset() == theirs.utcoffset()
    # The sync record keeps listing dates as isoformat(): a record written with either parser matches.
    assert ours.isoformat() == theirs.isoformat()

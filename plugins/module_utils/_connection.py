# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to the ssec.s3 collection, not a public API: it may change in any release.
"""The connection option group and the one S3 client factory.

An explicit option always wins over the environment. A plain ``http://``
endpoint is refused before any request is made, because an SSE-C key sent
over it travels in clear: whatever botocore took it from (options, environment,
the AWS config file), the endpoint of the created client is checked.
"""

from __future__ import annotations

import datetime
import email.utils
import os
import ssl
from urllib.parse import urlparse

from ansible_collections.ssec.s3.plugins.module_utils._errors import SsecError, s3_errors

PROVIDERS = ("aws", "scaleway", "other")

# Environment variables the ecosystem already uses, in order of precedence.
_ENV = {
    "endpoint_url": ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"),
    "region": ("AWS_REGION", "AWS_DEFAULT_REGION", "SCW_DEFAULT_REGION"),
    "access_key": ("AWS_ACCESS_KEY_ID", "SCW_ACCESS_KEY"),
    "secret_key": ("AWS_SECRET_ACCESS_KEY", "SCW_SECRET_KEY"),
    "session_token": ("AWS_SESSION_TOKEN",),
    "profile": ("AWS_PROFILE",),
    "ca_bundle": ("AWS_CA_BUNDLE",),
}
# With provider=scaleway the Scaleway variables come first.
_SCALEWAY_ENV = {
    "region": ("SCW_DEFAULT_REGION", "AWS_REGION", "AWS_DEFAULT_REGION"),
    "access_key": ("SCW_ACCESS_KEY", "AWS_ACCESS_KEY_ID"),
    "secret_key": ("SCW_SECRET_KEY", "AWS_SECRET_ACCESS_KEY"),
}


def connection_argument_spec() -> dict:
    return {
        "endpoint_url": {"type": "str"},
        "region": {"type": "str"},
        "provider": {"type": "str", "choices": list(PROVIDERS)},
        "access_key": {"type": "str", "no_log": False},
        "secret_key": {"type": "str", "no_log": True},
        "session_token": {"type": "str", "no_log": True},
        "profile": {"type": "str"},
        "ca_bundle": {"type": "path"},
        "validate_certs": {"type": "bool", "default": True},
        "addressing_style": {"type": "str", "default": "auto", "choices": ["auto", "path", "virtual"]},
        "allow_plain_http": {"type": "bool", "default": False},
        "retries": {"type": "int", "default": 5},
        "connect_timeout": {"type": "float", "default": 10.0},
        "read_timeout": {"type": "float", "default": 60.0},
    }


def _env_variable(name, provider, environ):
    """The environment variable that gives option ``name``, or None."""
    names = (_SCALEWAY_ENV if provider == "scaleway" else {}).get(name) or _ENV.get(name, ())
    for variable in names:
        if environ.get(variable):
            return variable
    return None


def _from_env(name, provider, environ):
    variable = _env_variable(name, provider, environ)
    return environ[variable] if variable else None


def resolve_settings(params: dict, environ=None) -> dict:
    """Fold options, environment and provider defaults into the client's settings."""
    environ = os.environ if environ is None else environ

    def pick(name):
        value = params.get(name)
        return value if value is not None else _from_env(name, provider, environ)

    provider = params.get("provider")
    endpoint_url = pick("endpoint_url")
    if provider is None:
        provider = "other" if endpoint_url else "aws"
    region = pick("region")
    if provider == "scaleway" and not endpoint_url:
        if not region:
            raise SsecError("provider: scaleway needs a region (for example fr-par, nl-ams or pl-waw): "
                            "set region or SCW_DEFAULT_REGION.")
        endpoint_url = "https://s3.%s.scw.cloud" % region
    endpoint_source = None
    if endpoint_url:
        variable = None if params.get("endpoint_url") is not None else _env_variable("endpoint_url", provider, environ)
        endpoint_source = "endpoint_url (from %s)" % variable if variable else "endpoint_url"
        _check_endpoint(endpoint_url, params.get("allow_plain_http", False), endpoint_source)

    access_key, secret_key = pick("access_key"), pick("secret_key")
    if bool(access_key) != bool(secret_key):
        raise SsecError("access_key and secret_key go together: set both (or neither, to use a profile "
                        "or the default credential chain).")

    validate_certs = params.get("validate_certs", True)
    addressing_style = params.get("addressing_style") or "auto"
    if addressing_style == "auto" and provider == "other":
        # S3-compatible servers on an IP or a single host name rarely serve bucket subdomains.
        addressing_style = "path"
    return {
        "provider": provider,
        "endpoint_url": endpoint_url,
        "endpoint_source": endpoint_source,
        "region": region or "us-east-1",
        "access_key": access_key,
        "secret_key": secret_key,
        "session_token": pick("session_token"),
        "profile": pick("profile") if not access_key else None,
        "verify": (pick("ca_bundle") or True) if validate_certs else False,
        "addressing_style": addressing_style,
        "retries": params.get("retries", 5),
        "connect_timeout": params.get("connect_timeout", 10.0),
        "read_timeout": params.get("read_timeout", 60.0),
    }


def _check_endpoint(endpoint_url, allow_plain_http, source="endpoint_url"):
    scheme = urlparse(endpoint_url).scheme.lower()
    if scheme == "https":
        return
    if scheme == "http":
        if allow_plain_http:
            return
        raise SsecError("%s %s uses plain http: the SSE-C key would travel in clear and must "
                        "then be considered leaked. Use an https:// endpoint; allow_plain_http: true "
                        "exists only for throwaway test servers." % (source, endpoint_url))
    raise SsecError("%s %s is not an http(s) URL: give it as https://HOST[:PORT]." % (source, endpoint_url))


def check_ca_bundle(path):
    """A CA bundle that cannot be used fails here, by name: botocore would report it as a broken TLS connection."""
    try:
        with open(path, "rb"):
            pass
    except FileNotFoundError:
        raise SsecError("ca_bundle %s does not exist. Give the path of the PEM file of the CA that signed the "
                        "endpoint's certificate (on the host the module runs on)." % path) from None
    except IsADirectoryError:
        raise SsecError("ca_bundle %s is a directory. Give the path of a PEM file." % path) from None
    except OSError as exc:
        raise SsecError("ca_bundle %s cannot be read by this user (%s). Fix its permissions, or copy it to a "
                        "readable place." % (path, exc.strerror)) from None
    try:
        ssl.create_default_context(cafile=path)
    except ssl.SSLError:
        raise SsecError("ca_bundle %s holds no certificate (no PEM block '-----BEGIN CERTIFICATE-----' that can be "
                        "read). Give the PEM file of the CA that signed the endpoint's certificate." % path) from None


def _configured_endpoint_source(session):
    """Where botocore found an endpoint that no option or variable of ours gave: the shared config file."""
    config_file = os.environ.get("AWS_CONFIG_FILE") or "~/.aws/config"
    return "endpoint_url (from the AWS config file %s, profile %s)" % (config_file, session.profile_name)


def _transport_warnings(endpoint_url, verify):
    """What the dangerous connection options did in this run, as Ansible warnings."""
    if urlparse(endpoint_url).scheme.lower() == "http":
        return ["allow_plain_http: true lets this task talk to %s over plain http: an SSE-C key sent with its "
                "requests travels in clear and must be considered leaked (rotate the objects with ssec.s3.rekey). "
                "Use an https:// endpoint outside throwaway test servers." % endpoint_url]
    if verify is False:
        return ["validate_certs: false: the certificate of %s is not verified, so anyone able to intercept the "
                "connection can read the SSE-C key. Set ca_bundle to the CA that signed it instead." % endpoint_url]
    return []


def parse_timestamp(value):
    """Listing dates (ISO 8601) and Last-Modified headers (RFC 1123) without dateutil, botocore's default parser,
    which costs about a fifth of the client's CPU of a HEAD; anything else still goes to botocore's."""
    from botocore.utils import parse_timestamp as botocore_parse

    if isinstance(value, str):
        try:
            if value[:4].isdigit():
                parsed = datetime.datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith("Z") else value)
            else:
                parsed = email.utils.parsedate_to_datetime(value)
            if parsed.tzinfo is not None:
                return parsed
        except (TypeError, ValueError):
            pass  # not one of the two: botocore's parser knows the rest
    return botocore_parse(value)


# botocore's loader of the service models, shared by every client of this process: it keeps the parsed JSON, so a
# second client (each worker process of a sync makes its own) costs about 10 ms instead of 70.
_MODEL_LOADER = []


def _share_model_loader(core):
    if _MODEL_LOADER:
        core.register_component("data_loader", _MODEL_LOADER[0])
    else:
        _MODEL_LOADER.append(core.get_component("data_loader"))


def s3_client(params: dict, max_pool_connections=10, environ=None, warn=None):
    """The boto3 S3 client for these module parameters. Retries live here and only here.

    ``warn`` receives a warning for each dangerous connection option in effect.
    """
    import boto3
    import botocore.session
    from botocore.config import Config

    settings = resolve_settings(params, environ)
    if isinstance(settings["verify"], str):
        check_ca_bundle(settings["verify"])
    config = Config(
        region_name=settings["region"],
        signature_version="s3v4",
        s3={
            "addressing_style": settings["addressing_style"],
            # Over https, TLS protects the body: sign the headers only. Otherwise, with request checksums
            # "when_required", botocore reads every part a second time to SHA-256 it for the signature.
            "payload_signing_enabled": urlparse(settings["endpoint_url"] or "https://").scheme != "https",
        },
        # "standard" retries throttling, 5xx and connection errors with backoff; never 4xx.
        retries={"mode": "standard", "total_max_attempts": settings["retries"] + 1},
        connect_timeout=settings["connect_timeout"],
        read_timeout=settings["read_timeout"],
        max_pool_connections=max_pool_connections,
        # Newer botocore adds CRC checksums by default; not every S3-compatible server accepts them.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    with s3_errors("create the S3 client"):
        # Inside the boundary: an unknown profile raises here (botocore's ProfileNotFound).
        core = botocore.session.get_session()
        core.get_component("response_parser_factory").set_parser_defaults(timestamp_parser=parse_timestamp)
        _share_model_loader(core)
        session = boto3.session.Session(
            aws_access_key_id=settings["access_key"],
            aws_secret_access_key=settings["secret_key"],
            aws_session_token=settings["session_token"],
            profile_name=settings["profile"],
            botocore_session=core,
        )
        client = session.client("s3", endpoint_url=settings["endpoint_url"], verify=settings["verify"], config=config)
    # The endpoint botocore will really use (creating the client sends nothing): an endpoint_url of the AWS config
    # file ([profile] or its services section) never went through resolve_settings.
    endpoint_url = client.meta.endpoint_url
    _check_endpoint(endpoint_url, params.get("allow_plain_http", False),
                    settings["endpoint_source"] or _configured_endpoint_source(session))
    for warning in _transport_warnings(endpoint_url, settings["verify"]) if warn else ():
        warn(warning)
    return client

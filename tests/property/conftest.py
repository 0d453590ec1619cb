# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Property-based tests: generated inputs for the real modules, against the real S3 service.

Hypothesis profiles (environment variable ``SSEC_HYPOTHESIS_PROFILE``):

- ``ci`` (default): a fixed seed (derived from each test) and a bounded number of examples per property,
  so that the stage is repeatable and fits its time budget.
- ``replay``: only the examples saved in the example database (``tests/property/examples.json``, committed),
  read-only. Hypothesis ignores the database when the seed is fixed, so ``scripts/test property`` runs
  this pass first, then ``ci``.
- ``explore``: a random seed and many more examples, for a long local run; failing examples are saved
  in the example database (``SSEC_HYPOTHESIS_DB``, which ``scripts/test property`` points at the
  repository's ``tests/property/examples.json``): commit them, and every later CI run replays them.

``SSEC_HYPOTHESIS_EXAMPLES`` overrides the number of examples of either profile. Saved examples are keyed by
the test's source: after editing a test, ``prune_examples.py`` drops those no test reads any more.

The modules run in this process, with real AnsibleModule arguments (``module_run``); every result is
checked with boto3 and the file system, not with the module's return values alone.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import importlib
import io
import json
import os
import sys
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis.database import ExampleDatabase, ReadOnlyDatabase

# s3service.py lives in tests/support, which is not a package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "support"))

from listener import ConnectionCounter  # noqa: E402  pylint: disable=wrong-import-position
from s3service import BACKENDS, DEFAULT_BACKEND, BackendUnavailable, S3Service  # noqa: E402  pylint: disable=wrong-import-position

EXAMPLES_FILE = Path(os.environ.get("SSEC_HYPOTHESIS_DB") or Path(__file__).resolve().parent / "examples.json")
PROFILE = os.environ.get("SSEC_HYPOTHESIS_PROFILE", "ci")


class JsonExampleDatabase(ExampleDatabase):
    """Hypothesis's saved examples in one JSON file: text that sanity accepts and a review can read.

    Keys (a digest of each test's source, plus its node id when parametrized) and values (choice
    sequences) are bytes: stored as hex and base64, sorted, so that saving the same example twice changes
    nothing.
    """

    def __init__(self, path):
        super().__init__()
        self.path = Path(path)

    def _load(self):
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        return {bytes.fromhex(key): {base64.b64decode(value) for value in values} for key, values in data.items()}

    def _store(self, entries):
        data = {key.hex(): sorted(base64.b64encode(value).decode() for value in values)
                for key, values in sorted(entries.items()) if values}
        temp = self.path.with_suffix(".tmp")
        temp.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(temp, self.path)

    def fetch(self, key):
        yield from sorted(self._load().get(key, ()))

    def save(self, key, value):
        entries = self._load()
        if value not in entries.setdefault(key, set()):
            entries[key].add(value)
            self._store(entries)

    def delete(self, key, value):
        entries = self._load()
        if value in entries.get(key, ()):
            entries[key].discard(value)
            self._store(entries)


# Each module call talks to a server on loopback: never fail an example on time alone.
_COMMON = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                              HealthCheck.data_too_large, HealthCheck.filter_too_much],
    "print_blob": True,
}
# No shrinking in CI: every step of it is a run against the server, and a known bug (xfail) would pay for
# it on every run. A failure is reported as found; an explore run shrinks it and saves it.
_NO_SHRINK = [Phase.explicit, Phase.reuse, Phase.generate]
# Hypothesis reads no database when the seed is fixed, so CI makes two passes (scripts/test property):
# "replay" runs only the saved examples, "ci" only generated ones, from a seed derived from each test.
settings.register_profile(
    "ci", derandomize=True, max_examples=int(os.environ.get("SSEC_HYPOTHESIS_EXAMPLES", "10")),
    phases=_NO_SHRINK, **_COMMON)
settings.register_profile(
    "replay", database=ReadOnlyDatabase(JsonExampleDatabase(EXAMPLES_FILE)),
    phases=[Phase.explicit, Phase.reuse], **_COMMON)
settings.register_profile(
    "explore", max_examples=int(os.environ.get("SSEC_HYPOTHESIS_EXAMPLES", "300")),
    database=JsonExampleDatabase(EXAMPLES_FILE), **_COMMON)
settings.load_profile(PROFILE)


def budget(factor):
    """Settings giving a property ``factor`` times the profile's number of examples (cheap ones get more)."""
    return settings(max_examples=max(1, int(settings.default.max_examples * factor)))


def pytest_report_header(config):  # pylint: disable=unused-argument
    return "ssec.s3 property profile: %s (examples per property: %d, database: %s)" % (
        PROFILE, settings.default.max_examples, EXAMPLES_FILE)


# Properties that fail today only because of a known bug, with the bug. The marks are applied here, not on
# the tests: Hypothesis keys saved examples by the test's source, which removing a decorator would change.
# Remove an entry once the fix is merged (strict=False: the property may pass before that).
KNOWN_BUGS = {
}


def pytest_collection_modifyitems(items):
    for item in items:
        reason = KNOWN_BUGS.get(item.originalname)
        if reason:
            item.add_marker(pytest.mark.xfail(reason="known bug: " + reason, strict=False))


# --------------------------------------------------------------------------
# Running a module
# --------------------------------------------------------------------------


def _patch_args(args):
    """AnsibleModule reads its arguments from these (ansible-core's own testing helper where it exists)."""
    try:
        from ansible.module_utils.testing import patch_module_args  # pylint: disable=import-outside-toplevel
    except ImportError:  # ansible-core < 2.19
        from unittest import mock  # pylint: disable=import-outside-toplevel

        from ansible.module_utils import basic  # pylint: disable=import-outside-toplevel
        return mock.patch.object(basic, "_ANSIBLE_ARGS", json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode())
    return patch_module_args(args)


def run_module(name, args, check_mode=False):
    """Run ``ssec.s3.<name>`` in this process with ``args``, as Ansible would; return its result dict.

    The module prints its JSON result and exits (sys.exit): both are caught here. Measured on 2 busy cores:
    0.1-0.3 s for ssec.s3.object against SeaweedFS, against 0.5-0.6 s for the same module in a subprocess
    (python -m with an arguments file), and 1-2 s through ansible-playbook.
    """
    module = importlib.import_module("ansible_collections.ssec.s3.plugins.modules." + name)
    args = dict(args, _ansible_check_mode=check_mode)
    out = io.StringIO()
    with _patch_args(args), contextlib.redirect_stdout(out):
        try:
            module.main()
        except SystemExit:
            pass
    text = out.getvalue().strip()
    assert text, "module %s printed no result" % name
    return json.loads(text.splitlines()[-1])


# --------------------------------------------------------------------------
# The service and what each example gets
# --------------------------------------------------------------------------


class Service:
    """The started S3 service with the connection arguments of the modules and a boto3 client."""

    def __init__(self, service, backend):
        self.service = service
        self.backend = backend
        self.bucket = service.buckets[0]
        self.s3 = service.client()

    def connection(self, endpoint_url=None):
        return {
            "endpoint_url": endpoint_url or self.service.endpoint_url,
            "access_key": self.service.access_key,
            "secret_key": self.service.secret_key,
            "region": self.service.region,
            "ca_bundle": self.service.ca_file,
            "retries": 1,
            "connect_timeout": 5,
        }

    def new_prefix(self):
        """A prefix no other example uses."""
        return "p-%s/" % uuid.uuid4().hex[:12]

    def listing(self, prefix):
        """name -> (size, ETag, LastModified) of every object under ``prefix`` (boto3)."""
        found = {}
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            for entry in page.get("Contents", ()):
                found[entry["Key"]] = (entry["Size"], entry["ETag"], entry["LastModified"])
        return found

    def get(self, name, key):
        """The plaintext bytes of an object, read with its SSE-C key (boto3)."""
        answer = self.s3.get_object(Bucket=self.bucket, Key=name, **key.sse)
        return answer["Body"].read()

    def head(self, name, key):
        return self.s3.head_object(Bucket=self.bucket, Key=name, **key.sse)


def selected_backends():
    """The backends named by SSEC_BACKENDS (comma-separated, or ``all``, the default), in BACKENDS order."""
    text = os.environ.get("SSEC_BACKENDS", "all").strip() or "all"
    names = set(BACKENDS) if text == "all" else {name.strip() for name in text.split(",") if name.strip()}
    if names - set(BACKENDS):
        raise pytest.UsageError("SSEC_BACKENDS: unknown backend(s) %s" % ", ".join(sorted(names - set(BACKENDS))))
    return [name for name in BACKENDS if name in names]


@pytest.fixture(scope="session")
def services():
    """backend -> Service, each started on first use and stopped at the end of the session."""
    started, unavailable = {}, {}

    def get(backend):
        if backend not in started and backend not in unavailable:
            server = S3Service(backend=backend)
            try:
                server.start()
                started[backend] = Service(server, backend)
            except BackendUnavailable as exc:
                unavailable[backend] = str(exc)
        if backend in unavailable:
            message = "the %s backend is not available here: %s" % (backend, unavailable[backend])
            if os.environ.get("CI") == "true":
                pytest.fail(message + " (CI=true: a missing backend is a failure)", pytrace=False)
            pytest.skip(message)
        return started[backend]

    yield get
    for started_service in started.values():
        started_service.service.stop()


@pytest.fixture(scope="session")
def service(services):
    """SeaweedFS, for the properties that run on one backend; every example works under its own prefix."""
    return services(DEFAULT_BACKEND)


@pytest.fixture(scope="session", params=selected_backends())
def backend_service(request, services):
    """Each selected backend in turn (SSEC_BACKENDS), for the properties that must hold on every server."""
    return services(request.param)


class Key:
    """A random SSE-C key in the forms the tests need."""

    def __init__(self, raw=None):
        self.raw = raw or os.urandom(32)
        self.b64 = base64.b64encode(self.raw).decode()
        self.md5 = base64.b64encode(hashlib.md5(self.raw).digest()).decode()
        self.sse = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": self.b64, "SSECustomerKeyMD5": self.md5}


@pytest.fixture(scope="session")
def key():
    return Key()


def key_material_forms(raw):
    """Every text form of key bytes a message could leak, computed here (not by the collection)."""
    forms = {base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode(), raw.hex(), raw.hex().upper()}
    forms |= {form.rstrip("=") for form in set(forms)}
    try:
        forms.add(raw.decode("latin-1"))
    except UnicodeDecodeError:
        pass
    return forms


@pytest.fixture(scope="session")
def counter():
    # https: an input the module does not refuse up front fails the TLS handshake, never the test run.
    listener = ConnectionCounter("https")
    yield listener
    listener.close()

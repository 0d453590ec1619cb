"""Fixtures that give the functional tests real HTTPS S3 services (SeaweedFS, and Ceph RGW where selected).

SSEC_BACKENDS (comma-separated, or ``all``, the default) selects the backends of the tests that use
``backend_service``: the interop tests run once per backend, everything else on SeaweedFS. Where Ceph
RGW cannot be had (not root, no apt-get), its tests are skipped with the reason, except in CI
(CI=true), where that fails them.
"""

import os
import sys
from pathlib import Path

import pytest

# s3service.py lives in tests/support, which is not a package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "support"))

from s3service import BACKENDS, DEFAULT_BACKEND, BackendUnavailable, S3Service  # noqa: E402  pylint: disable=wrong-import-position


def selected_backends() -> list:
    """The backends named by SSEC_BACKENDS, in the order of BACKENDS."""
    text = os.environ.get("SSEC_BACKENDS", "all").strip() or "all"
    names = set(BACKENDS) if text == "all" else {name.strip() for name in text.split(",") if name.strip()}
    unknown = names - set(BACKENDS)
    if unknown:
        raise pytest.UsageError("SSEC_BACKENDS: unknown backend(s) %s; choose from %s or all"
                                % (", ".join(sorted(unknown)), ", ".join(BACKENDS)))
    return [name for name in BACKENDS if name in names]


class ServicePool:
    """One started service per backend for the whole session, started on first use."""

    def __init__(self):
        self.services = {}
        self.unavailable = {}

    def get(self, backend):
        if backend in self.unavailable:
            _unavailable(backend, self.unavailable[backend])
        if backend not in self.services:
            service = S3Service(backend=backend)
            try:
                service.start()
            except BackendUnavailable as exc:
                self.unavailable[backend] = str(exc)
                _unavailable(backend, str(exc))
            self.services[backend] = service
        return self.services[backend]

    def stop(self):
        for service in self.services.values():
            service.stop()


def _unavailable(backend, reason):
    message = "the %s backend is not available here: %s" % (backend, reason)
    if os.environ.get("CI") == "true":
        pytest.fail(message + " (CI=true: a missing backend is a failure)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def s3services():
    """The session's ServicePool; every service it started is stopped at the end."""
    pool = ServicePool()
    yield pool
    pool.stop()


@pytest.fixture(scope="session")
def s3service(s3services):
    """The session's SeaweedFS S3Service, shared by the whole session; stopped at the end.

    Don't kill or restart it in a test: use ``s3service_factory`` for that.
    """
    return s3services.get(DEFAULT_BACKEND)


@pytest.fixture(scope="session", params=selected_backends())
def backend_service(request, s3services):
    """The session's service of each selected backend in turn (tests using it run once per backend)."""
    return s3services.get(request.param)


@pytest.fixture
def s3service_factory():
    """Make extra S3Service objects (not started); all are stopped after the test."""
    made = []

    def make(**kwargs):
        service = S3Service(**kwargs)
        made.append(service)
        return service

    yield make
    for service in made:
        service.stop()


@pytest.fixture
def fault_proxy(s3service, tmp_path):
    """A FaultProxy (tests/support/faultproxy.py) in front of the session's service, with no rules; stopped
    after the test. Modules reach it with ``endpoint_url: fault_proxy.endpoint_url`` and the service's CA."""
    from faultproxy import FaultProxy  # pylint: disable=import-outside-toplevel

    with FaultProxy.for_service(s3service, tmp_path / "faultproxy-tls") as proxy:
        yield proxy


def pytest_terminal_summary(terminalreporter):
    """How much playbook output the leak scan of every run_tasks call searched (each call fails on a hit)."""
    from playbook import RUN_TASKS_SCAN  # pylint: disable=import-outside-toplevel

    if RUN_TASKS_SCAN.sources:
        terminalreporter.write_line("leak scan of the run_tasks playbooks: %d bytes searched in %d outputs and logs "
                                    "(a hit fails its test)"
                                    % (RUN_TASKS_SCAN.bytes_searched, RUN_TASKS_SCAN.sources))

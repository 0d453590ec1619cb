"""Fixtures that give the functional tests a real HTTPS S3 service (SeaweedFS)."""

import sys
from pathlib import Path

import pytest

# s3service.py lives in tests/support, which is not a package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "support"))

from s3service import S3Service  # noqa: E402  pylint: disable=wrong-import-position


@pytest.fixture(scope="session")
def s3service():
    """One started S3Service shared by the whole session; stopped at the end.

    Don't kill or restart it in a test: use ``s3service_factory`` for that.
    """
    with S3Service() as service:
        yield service


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

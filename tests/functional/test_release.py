# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The release path, as a maintainer and then a user take it.

A copy of the collection gets its changelog released (``antsibull-changelog release``), is built with
``ansible-galaxy collection build`` and installed from the artifact with ``ansible-galaxy collection install``
into an empty collections path. Then:
- the artifact holds what users and execution environments need, and none of the development files;
- ``tests/functional/playbooks/every_plugin.yml`` (every module, the lookup, the filter and the artifacts role)
  runs from the installed collection only - the working tree is on no collections path and on no Python path,
  and every plugin and role file Ansible names comes from the installed copy - and its effects are checked
  with boto3;
- ``meta/execution-environment.yml`` leads ansible-builder to a requirements file that covers every
  third-party import of the plugins, at versions the tests run with.
"""

from __future__ import annotations

import ast
import base64
import hashlib
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import uuid
from pathlib import Path

import pytest
import yaml
from botocore.exceptions import ClientError
from packaging.requirements import Requirement

from playbook import REPO_ROOT, ansible_env, connection_defaults, venv_bin

MODULES = ("key", "object", "download", "object_info", "rekey", "sync", "bucket", "bucket_info", "copy")
PLAYBOOK = Path(__file__).resolve().parent / "playbooks" / "every_plugin.yml"
HAS_ROLE = (REPO_ROOT / "roles" / "artifacts" / "tasks" / "main.yml").is_file()
# Generated or machine-local entries of the tree, never part of a release.
_NOT_COPIED_AT_ROOT = {".git", ".venv", ".build", ".ansible", ".pytest_cache"}
_NOT_COPIED_ANYWHERE = {"__pycache__", ".plugin-cache.yaml"}
# Development files galaxy.yml's build_ignore keeps out of the artifact.
_DEV_ONLY = (".ansible-lint", ".gitignore", ".ci/", "scripts/", "benchmarks/", "tests/output/", ".venv/", ".build/")


def _ignore_generated(directory, names):
    ignored = {name for name in names if name in _NOT_COPIED_ANYWHERE}
    if Path(directory).resolve() == REPO_ROOT:
        ignored |= {name for name in names if name in _NOT_COPIED_AT_ROOT}
    if Path(directory).resolve() == REPO_ROOT / "tests":
        ignored |= {"output"} & set(names)
    return ignored


def _tool_env(collections_root, workdir):
    """Environment of the Ansible tools: ``collections_root`` is the only place collections come from (no
    default paths, no scan of ``sys.path``, no PYTHONPATH that the test command points at its copy)."""
    env = ansible_env(workdir, collections=collections_root)
    env["ANSIBLE_COLLECTIONS_SCAN_SYS_PATH"] = "false"
    # antsibull-changelog runs ansible-doc from PATH: the one of this venv.
    env["PATH"] = str(Path(venv_bin("ansible-doc")).parent) + os.pathsep + os.environ.get("PATH", "")
    env.pop("PYTHONPATH", None)
    return env


def _run(command, env, cwd, timeout=600):
    proc = subprocess.run([str(part) for part in command], env=env, cwd=str(cwd), capture_output=True, text=True,
                          timeout=timeout, check=False)
    if proc.returncode != 0:
        raise AssertionError("%s exited with %d\n--- stdout ---\n%s\n--- stderr ---\n%s"
                             % (" ".join(str(part) for part in command[:3]), proc.returncode, proc.stdout[-6000:],
                                proc.stderr[-6000:]))
    return proc


class Release:
    """The built artifact and the collection installed from it."""

    def __init__(self, root: Path):
        self.root = root
        self.version = yaml.safe_load((REPO_ROOT / "galaxy.yml").read_text(encoding="utf-8"))["version"]
        self.fragments = sorted(path.name for path in (REPO_ROOT / "changelogs" / "fragments").glob("*.y*ml"))
        self.source_root = root / "source"
        self.source = self.source_root / "ansible_collections" / "ssec" / "s3"
        self.tarball = root / "dist" / ("ssec-s3-%s.tar.gz" % self.version)
        self.install_root = root / "installed"
        self.installed = self.install_root / "ansible_collections" / "ssec" / "s3"

    def env(self, workdir):
        """The environment of a run that sees the installed collection only."""
        return _tool_env(self.install_root, workdir)

    def make(self):
        shutil.copytree(REPO_ROOT, self.source, symlinks=True, ignore=_ignore_generated)
        source_env = _tool_env(self.source_root, self.root)
        _run([venv_bin("antsibull-changelog"), "release", "--version", self.version], source_env, self.source)
        _run([venv_bin("ansible-galaxy"), "collection", "build", "--output-path", self.root / "dist", self.source],
             source_env, self.root)
        _run([venv_bin("ansible-galaxy"), "collection", "install", "--offline", "-p", self.install_root,
              self.tarball], self.env(self.root), self.root)
        return self


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    root = tmp_path_factory.mktemp("release")
    yield Release(root).make()
    shutil.rmtree(root, ignore_errors=True)


def test_artifact_holds_the_release_and_no_development_files(release):
    with tarfile.open(release.tarball) as artifact:
        members = set(artifact.getnames())
    expected = {"MANIFEST.json", "FILES.json", "README.md", "requirements.txt", "meta/runtime.yml",
                "meta/execution-environment.yml", "CHANGELOG.rst", "changelogs/changelog.yaml",
                "plugins/lookup/key.py", "plugins/filter/key_md5.py", "plugins/filter/key_md5.yml"}
    expected |= {"plugins/modules/%s.py" % name for name in MODULES}
    if HAS_ROLE:
        expected |= {"roles/artifacts/tasks/main.yml", "roles/artifacts/meta/argument_specs.yml"}
    assert expected <= members, sorted(expected - members)
    dev_files = sorted(member for member in members if member.startswith(_DEV_ONLY) or "__pycache__" in member)
    assert dev_files == []
    # The release consumed every fragment into the changelog.
    assert not [member for member in members if member.startswith("changelogs/fragments/") and "." in member]

    changes = yaml.safe_load((release.installed / "changelogs" / "changelog.yaml").read_text(encoding="utf-8"))
    released = changes["releases"][release.version]
    assert sorted(released["fragments"]) == release.fragments
    assert sorted(module["name"] for module in released["modules"]) == sorted(MODULES)
    assert {(plugin["name"]) for plugin in released["plugins"]["lookup"]} == {"key"}
    assert {(plugin["name"]) for plugin in released["plugins"]["filter"]} == {"key_md5"}
    changelog = (release.installed / "CHANGELOG.rst").read_text(encoding="utf-8")
    assert "v%s" % release.version in changelog
    for name in MODULES:
        assert "ssec.s3.%s - " % name in changelog


def test_installed_collection_is_the_only_one_ansible_sees(release, tmp_path):
    env = release.env(tmp_path)
    listed = json.loads(_run([venv_bin("ansible-galaxy"), "collection", "list", "ssec.s3", "--format", "json"],
                             env, tmp_path).stdout)
    assert listed == {str(release.install_root / "ansible_collections"): {"ssec.s3": {"version": release.version}}}
    # Every installed file still has the checksum MANIFEST.json / FILES.json give it.
    _run([venv_bin("ansible-galaxy"), "collection", "verify", "--offline", "ssec.s3"], env, tmp_path)
    for plugin_type, names in (("module", MODULES), ("lookup", ("key",)), ("filter", ("key_md5",))):
        docs = json.loads(_run([venv_bin("ansible-doc"), "-t", plugin_type, "--json"]
                               + ["ssec.s3.%s" % name for name in names], env, tmp_path).stdout)
        assert sorted(docs) == sorted("ssec.s3.%s" % name for name in names)
        for name, doc in docs.items():
            assert Path(doc["doc"]["filename"]).is_relative_to(release.installed), (name, doc["doc"]["filename"])


def _objects_under(client, bucket, prefix):
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return sorted(item["Key"] for page in pages for item in page.get("Contents", []))


def _read(client, bucket, name, raw_key):
    return client.get_object(Bucket=bucket, Key=name, SSECustomerAlgorithm="AES256",
                             SSECustomerKey=raw_key)["Body"].read()


def _md5_b64(raw_key):
    return base64.b64encode(hashlib.md5(raw_key).digest()).decode("ascii")


def test_every_plugin_runs_from_the_installed_artifact(release, s3service, tmp_path):
    bucket = s3service.buckets[0]
    prefix = "release/%s" % uuid.uuid4().hex[:12]
    workdir = tmp_path / "work"
    workdir.mkdir()
    playbook = tmp_path / PLAYBOOK.name  # outside any collection tree
    shutil.copyfile(PLAYBOOK, playbook)
    extra_vars = tmp_path / "vars.json"  # holds the service's secret key: owner-only
    fd = os.open(extra_vars, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump({"release_s3": connection_defaults(s3service), "release_bucket": bucket, "release_prefix": prefix,
                   "release_dir": str(workdir), "release_role": HAS_ROLE}, handle)
    client = s3service.client()
    try:
        proc = _run([venv_bin("ansible-playbook"), "-i", "localhost,", "-c", "local", "-vvv",
                     "-e", "@%s" % extra_vars, playbook], release.env(tmp_path), tmp_path, timeout=900)

        # Where Ansible took the collection from: every path it names inside an ssec.s3 collection is in the
        # installed copy, and each module ran from there.
        roots = set(re.findall(r"(/\S*?)/ansible_collections/ssec/s3/", proc.stdout))
        assert roots == {str(release.install_root)}
        used = set(re.findall(r"Using module file (\S+)", proc.stdout))
        for name in MODULES:
            assert str(release.installed / "plugins" / "modules" / ("%s.py" % name)) in used, name
        if HAS_ROLE:
            assert "task path: %s/" % (release.installed / "roles" / "artifacts" / "tasks") in proc.stdout

        results = json.loads((workdir / "results.json").read_text(encoding="utf-8"))
        source = (workdir / "src" / "app.txt").read_bytes()
        source_sha256 = hashlib.sha256(source).hexdigest()
        old_key = (workdir / "release.key").read_bytes()
        new_key = base64.b64decode((workdir / "new.key").read_text(encoding="ascii").strip())
        assert len(old_key) == 32 and len(new_key) == 32
        assert results["key"]["changed"] is True and results["key"]["key_md5"] == _md5_b64(old_key)
        assert results["new_key"]["key_md5"] == _md5_b64(new_key)

        upload, download, info = results["upload"], results["download"], results["info"]
        assert upload["changed"] is True and upload["sha256"] == source_sha256
        assert download["changed"] is True and download["sha256"] == source_sha256
        deployed = workdir / "deployed" / "app.txt"
        assert deployed.read_bytes() == source and (deployed.stat().st_mode & 0o777) == 0o640
        assert (info["encryption"], info["key_matches"], info["sha256"]) == ("sse-c", True, source_sha256)

        tree = {"%s/tree/index.txt" % prefix: workdir / "tree" / "index.txt",
                "%s/tree/docs/guide.txt" % prefix: workdir / "tree" / "docs" / "guide.txt",
                "%s/app.txt" % prefix: workdir / "src" / "app.txt"}
        assert results["push"]["counts"]["uploaded"] == 2
        assert results["prefix_info"]["counts"]["this_key"] == 3
        assert sorted(item["object"] for item in results["prefix_info"]["objects"]) == sorted(tree)
        assert results["rekey"]["counts"]["rotated"] == 3
        assert results["bucket"]["changed"] is False and results["bucket"]["bucket_info"]["exists"] is True
        assert results["bucket_info"]["exists"] is True
        assert results["copy"]["changed"] is True
        promoted = "%s-promoted/app.txt" % prefix
        assert _read(client, bucket, promoted, old_key) == source
        with pytest.raises(ClientError):
            _read(client, bucket, promoted, new_key)

        # What the server holds, read by boto3: every object under the prefix opens with the new key only.
        assert _objects_under(client, bucket, prefix + "/") == sorted(tree)
        for name, path in tree.items():
            assert _read(client, bucket, name, new_key) == path.read_bytes(), name
            with pytest.raises(ClientError):
                _read(client, bucket, name, old_key)

        if HAS_ROLE:
            role_key = (workdir / "role.key").read_bytes()
            assert _read(client, bucket, "%s-role/app.txt" % prefix, role_key) == source
            role_deployed = workdir / "deployed" / "role-app.txt"
            assert role_deployed.read_bytes() == source and (role_deployed.stat().st_mode & 0o777) == 0o600
    finally:
        for name in _objects_under(client, bucket, prefix):
            client.delete_object(Bucket=bucket, Key=name)


def _third_party_imports(plugins_dir):
    """Top-level names of the modules the plugins import, other than the standard library and Ansible."""
    names = set()
    for path in plugins_dir.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - {"ansible", "ansible_collections", "__future__"}


def test_execution_environment_metadata_lists_every_dependency(release):
    # ansible-builder reads meta/execution-environment.yml of each installed collection; paths are relative to
    # the collection root and must be in the artifact.
    metadata = yaml.safe_load((release.installed / "meta" / "execution-environment.yml").read_text(encoding="utf-8"))
    dependencies = metadata["dependencies"]
    assert set(dependencies) <= {"python", "system"}
    for entry in dependencies.values():
        assert not os.path.isabs(entry) and (release.installed / entry).is_file(), entry
    lines = (release.installed / dependencies["python"]).read_text(encoding="utf-8").splitlines()
    requirements = [Requirement(line.split("#")[0]) for line in lines if line.split("#")[0].strip()]
    assert _third_party_imports(release.installed / "plugins") <= {req.name for req in requirements}
    # The ranges hold the versions every test here runs with.
    for req in requirements:
        installed = importlib.metadata.version(req.name)
        assert req.specifier.contains(installed, prereleases=True), (str(req), installed)

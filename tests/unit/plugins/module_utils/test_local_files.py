# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one local write path (local_files.write_file) and its callers, on real files.

Each guarantee is checked for each caller: download (transfer.write_download, as ssec.s3.download uses it),
sync pull (Sync.apply_download) and key files (key_file): a failed verification leaves the old file, an
immutable file is reported and left, a backup is made, mode / owner / group are applied. The transfer
itself is replaced by a local writer here (the S3 side is what the download and sync integration targets
test against real servers).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import stat
import subprocess
import types

import pytest

from ansible_collections.ssec.s3.plugins.module_utils import (
    _key_file as key_file, _local_files as local_files, _sync_options as sync_options, _sync_plan as sync_plan,
    _transfer as transfer)
from ansible_collections.ssec.s3.plugins.module_utils._sync_apply import PullApplier
from ansible_collections.ssec.s3.plugins.module_utils._sync_options import Settings, parse_file_mode
from ansible_collections.ssec.s3.plugins.module_utils._errors import SsecError
from ansible_collections.ssec.s3.plugins.module_utils._remote import SSE_C, RemoteObject
from ansible_collections.ssec.s3.plugins.module_utils._sse_key import CustomerKey

pytestmark = pytest.mark.usefixtures("no_network")

KEY = CustomerKey(bytes(range(32)))
OLD, NEW = b"old content\n", b"new content, longer\n"
ROOT = os.geteuid() == 0
NOBODY = 65534


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def leftovers(directory, *expected):
    """Names in ``directory`` besides ``expected``: temp files must never stay behind."""
    return sorted(set(os.listdir(directory)) - set(expected))


@contextlib.contextmanager
def immutable(path):
    """``path`` made immutable for real (chattr +i, as root on a filesystem that has the attribute)."""
    if not ROOT or subprocess.run(["chattr", "+i", str(path)], capture_output=True, check=False).returncode:
        pytest.skip("chattr +i needs root and a filesystem with the attribute")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


def writer(content):
    return lambda handle: handle.write(content)


def refuse(_path):
    raise SsecError("verification failed")


# ---- write_file ------------------------------------------------------------------------------------

def test_new_file_is_written_whole_with_no_temp_file_left(tmp_path, file_module, monkeypatch):
    synced = []
    real_fsync_directory = local_files.fsync_directory
    monkeypatch.setattr(local_files, "fsync_directory", lambda d: synced.append(d) or real_fsync_directory(d))
    dest = tmp_path / "f"
    assert local_files.write_file(file_module(), str(dest), writer(NEW)) == (True, None)
    assert dest.read_bytes() == NEW
    assert leftovers(tmp_path, "f") == []
    assert synced == [str(tmp_path)]  # the rename itself is made durable


@pytest.mark.parametrize("failure", ["verify", "fill"])
def test_a_failed_write_leaves_the_old_file_and_no_temp_file(tmp_path, file_module, failure):
    dest = tmp_path / "f"
    dest.write_bytes(OLD)
    inode = os.stat(dest).st_ino

    def broken_fill(handle):
        handle.write(NEW[:5])
        raise SsecError("connection lost")

    fill, verify = (writer(NEW), refuse) if failure == "verify" else (broken_fill, None)
    with pytest.raises(SsecError):
        local_files.write_file(file_module(), str(dest), fill, verify=verify, backup=True)
    assert dest.read_bytes() == OLD and os.stat(dest).st_ino == inode
    assert leftovers(tmp_path, "f") == []  # no temp file, no backup


def test_verify_sees_the_complete_fsynced_content(tmp_path, file_module):
    seen = []
    local_files.write_file(file_module(), str(tmp_path / "f"), writer(NEW),
                           verify=lambda path: seen.append((open(path, "rb").read(), mode_of(path))))
    assert seen == [(NEW, 0o600)]  # the temp file is private until it is in place


def test_an_immutable_file_is_reported_before_anything_is_written(tmp_path, file_module):
    dest = tmp_path / "f"
    dest.write_bytes(OLD)
    calls = []
    with immutable(dest):
        with pytest.raises(SsecError) as caught:
            local_files.write_file(file_module(), str(dest), calls.append, backup=True)
        assert "is immutable" in caught.value.message and "chattr -i" in caught.value.message
    assert dest.read_bytes() == OLD and calls == []
    assert leftovers(tmp_path, "f") == []


def test_backup_holds_the_old_content(tmp_path, file_module):
    dest = tmp_path / "f"
    dest.write_bytes(OLD)
    written, backup = local_files.write_file(file_module(), str(dest), writer(NEW), backup=True)
    assert written and dest.read_bytes() == NEW
    assert backup and os.path.dirname(backup) == str(tmp_path) and open(backup, "rb").read() == OLD
    assert leftovers(tmp_path, "f") == [os.path.basename(backup)]


def test_a_failed_final_rename_removes_its_backup(tmp_path, file_module, monkeypatch):
    from ansible.module_utils.basic import AnsibleModule

    def refuse(self, src, dest, *args, **kwargs):
        raise Exception("Could not replace %r with %r." % (dest, src))  # as ansible-core does

    monkeypatch.setattr(AnsibleModule, "atomic_move", refuse)
    dest = tmp_path / "f"
    dest.write_bytes(OLD)
    with pytest.raises(SsecError, match="left as it was"):
        local_files.write_file(file_module(), str(dest), writer(NEW), backup=True)
    assert dest.read_bytes() == OLD and leftovers(tmp_path, "f") == []


@pytest.mark.skipif(not ROOT, reason="only root may give a file away")
@pytest.mark.parametrize("keep, expected", [(True, (0o640, NOBODY, NOBODY)), (False, (0o600, 0, 0))])
def test_a_replaced_file_keeps_owner_group_and_mode_unless_told_not_to(tmp_path, file_module, keep, expected):
    dest = tmp_path / "f"
    dest.write_bytes(OLD)
    os.chown(dest, NOBODY, NOBODY)
    dest.chmod(0o640)
    local_files.write_file(file_module(), str(dest), writer(NEW), keep_attributes=keep)
    info = os.stat(dest)
    assert (stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid) == expected


@pytest.mark.parametrize("exists", [False, True])
def test_exclusive_create_never_replaces(tmp_path, exists):
    dest = tmp_path / "f"
    if exists:
        dest.write_bytes(OLD)
    written, _backup = local_files.write_file(None, str(dest), writer(NEW), exclusive=True)
    assert written is not exists
    assert dest.read_bytes() == (OLD if exists else NEW)
    assert leftovers(tmp_path, "f") == []


# ---- set_attributes: mode, owner, group through AnsibleModule's public helper -------------------------

@pytest.mark.parametrize("mode, expected", [("0640", 0o640), ("u=rw,g=r,o=", 0o640), ("g+w", 0o664)])
def test_set_attributes_applies_octal_and_symbolic_modes(tmp_path, file_module, mode, expected):
    dest = tmp_path / "f"
    dest.write_bytes(OLD)
    dest.chmod(0o644)
    diff = {}
    assert local_files.set_attributes(file_module(mode=mode), str(dest), False, diff=diff) is True
    assert mode_of(dest) == expected and diff["after"]["mode"] == "0%03o" % expected
    assert local_files.set_attributes(file_module(mode=mode), str(dest), False) is False  # idempotent


def test_set_attributes_in_check_mode_reports_and_changes_nothing(tmp_path, file_module):
    dest = tmp_path / "f"
    dest.write_bytes(OLD)
    dest.chmod(0o644)
    assert local_files.set_attributes(file_module(check_mode=True, mode="0600"), str(dest), False) is True
    assert mode_of(dest) == 0o644


@pytest.mark.skipif(not ROOT, reason="only root may give a file away")
def test_set_attributes_applies_owner_and_group(tmp_path, file_module):
    dest = tmp_path / "f"
    dest.write_bytes(OLD)
    assert local_files.set_attributes(file_module(owner=str(NOBODY), group=str(NOBODY)), str(dest), False)
    assert (os.stat(dest).st_uid, os.stat(dest).st_gid) == (NOBODY, NOBODY)


# ---- symbolic modes: the same answers as ansible.builtin.file ------------------------------------------

MODES = ["u=rw,g=r,o=", "g+w", "o-r", "a+X", "u+x,a+X", "=rw", "+x", "a=", "u=g", "go=u-w", "u+s,g+s,o+t",
         "o=t", "ug=rwx,o=rx", "a-rwx,u+rw", "u=rwX,g=rX,o=", "g=o", "-w", "u", ""]


@pytest.mark.parametrize("mode", MODES)
def test_symbolic_mode_agrees_with_ansible_core(mode):
    from ansible.module_utils.basic import AnsibleModule

    for current, umask in itertools.product((0o000, 0o644, 0o744, 0o600, 0o4755, 0o1777), (0o022, 0o077, 0)):
        previous = os.umask(umask)
        try:
            oracle = AnsibleModule._symbolic_mode_to_octal(  # pylint: disable=protected-access
                types.SimpleNamespace(st_mode=stat.S_IFREG | current), mode)
        finally:
            os.umask(previous)
        assert local_files.symbolic_mode(mode, current, umask) == oracle, (mode, oct(current), oct(umask))


@pytest.mark.parametrize("mode", ["u=rwz", "a+q", "rw", "x=r", "ua+r", "u=r,q"])
def test_symbolic_mode_refuses_what_is_not_a_mode(mode):
    with pytest.raises(ValueError):
        local_files.symbolic_mode(mode, 0o644)


# ---- callers -----------------------------------------------------------------------------------------

class _Download:
    """Stands in for s3transfer: writes ``content`` into the handle it is given."""

    def __init__(self, content):
        self.content = content

    def __call__(self, _client, _chunk, _concurrency):
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def download(self, _bucket, _name, handle, extra_args=None):
        handle.write(self.content)
        return types.SimpleNamespace(result=lambda: None)


def remote_object(size):
    return RemoteObject("b", "o", True, SSE_C, True, {"ContentLength": size})


@pytest.fixture
def served(monkeypatch):
    """``served(content)``: what the next download writes (one part through s3transfer, or one GetObject)."""
    def serve(content):
        monkeypatch.setattr(transfer, "_transfer_manager", _Download(content))
        monkeypatch.setattr(transfer, "_get_into", lambda _client, _remote, _extra, handle: handle.write(content))
    return serve


def test_download_short_content_leaves_dest(tmp_path, file_module, served):
    dest = tmp_path / "f"
    dest.write_bytes(OLD)
    served(NEW[:-1])
    with pytest.raises(SsecError, match="incomplete"):
        transfer.write_download(file_module(), None, remote_object(len(NEW)), KEY, str(dest), backup=True)
    assert dest.read_bytes() == OLD and leftovers(tmp_path, "f") == []


def test_download_replaces_with_backup(tmp_path, file_module, served):
    dest = tmp_path / "f"
    dest.write_bytes(OLD)
    served(NEW)
    backup = transfer.write_download(file_module(), None, remote_object(len(NEW)), KEY, str(dest), backup=True)
    assert dest.read_bytes() == NEW and open(backup, "rb").read() == OLD


def test_download_to_an_immutable_dest_is_reported(tmp_path, file_module, served):
    dest = tmp_path / "f"
    dest.write_bytes(OLD)
    served(NEW)
    with immutable(dest):
        with pytest.raises(SsecError, match="is immutable"):
            transfer.write_download(file_module(), None, remote_object(len(NEW)), KEY, str(dest))
    assert dest.read_bytes() == OLD


class PullSync:
    """The planner's mode resolution and the applier of a pull, as a run uses them (no S3)."""

    def __init__(self, module, settings):
        self.planner = sync_plan.PullPlanner(settings, None, KEY)
        self.applier = PullApplier(module, settings, None, KEY)
        self.resolve_modes = self.planner.resolve_modes
        self.apply_download = self.applier.download


def pull_sync(tmp_path, module, file_mode=None):
    params = {"mode": "pull", "path": str(tmp_path), "bucket": "b", "prefix": "p", "include": None, "exclude": None,
              "delete": False, "force": False, "concurrency": 4, "part_size_mb": 8, "file_mode": file_mode}
    module.params = params
    return PullSync(module, Settings(params))


def pulled(sync, tmp_path, relative, action=sync_plan.DOWNLOAD, local_mode=None):
    item = sync_plan.Item(sync_plan.Kind.GET, relative, "p/" + relative)
    item.decide(action)
    item.path = str(tmp_path / relative)
    item.remote = remote_object(len(NEW))
    item.local_mode = local_mode
    sync.resolve_modes([item])
    return item


@pytest.mark.parametrize("file_mode, expected", [("u=rw,g=r,o=", 0o640), ("0600", 0o600), ("g+w", 0o664)])
def test_sync_pull_applies_symbolic_and_octal_modes(tmp_path, file_module, served, monkeypatch, file_mode, expected):
    for module in (sync_options, sync_plan):  # the planner's default mode and the symbolic clauses read it
        monkeypatch.setattr(module, "current_umask", lambda: 0o022)
    sync = pull_sync(tmp_path, file_module(), parse_file_mode(file_mode))
    served(NEW)
    new = pulled(sync, tmp_path, "sub/new.txt")
    (tmp_path / "old.txt").write_bytes(OLD)
    os.chmod(tmp_path / "old.txt", 0o644)
    old = pulled(sync, tmp_path, "old.txt", local_mode=0o644)
    sync.apply_download(new)
    sync.apply_download(old)
    assert (tmp_path / "sub" / "new.txt").read_bytes() == NEW and mode_of(tmp_path / "sub" / "new.txt") == expected
    assert (tmp_path / "old.txt").read_bytes() == NEW and mode_of(tmp_path / "old.txt") == expected
    assert leftovers(tmp_path, "sub", "old.txt") == [] and leftovers(tmp_path / "sub", "new.txt") == []


@pytest.mark.skipif(not ROOT, reason="only root may give a file away")
def test_sync_pull_keeps_the_owner_and_mode_of_a_replaced_file(tmp_path, file_module, served):
    sync = pull_sync(tmp_path, file_module())
    served(NEW)
    path = tmp_path / "old.txt"
    path.write_bytes(OLD)
    os.chown(path, NOBODY, NOBODY)
    path.chmod(0o604)
    sync.apply_download(pulled(sync, tmp_path, "old.txt", local_mode=0o604))
    info = os.stat(path)
    assert path.read_bytes() == NEW and (stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid) == (0o604, NOBODY, NOBODY)


def test_sync_pull_failed_verify_and_immutable_file_leave_the_old_file(tmp_path, file_module, served):
    sync = pull_sync(tmp_path, file_module())
    path = tmp_path / "old.txt"
    path.write_bytes(OLD)
    served(NEW[:-1])
    with pytest.raises(SsecError, match="incomplete"):
        sync.apply_download(pulled(sync, tmp_path, "old.txt", local_mode=0o644))
    assert path.read_bytes() == OLD
    served(NEW)
    with immutable(path):
        with pytest.raises(SsecError, match="is immutable"):
            sync.apply_download(pulled(sync, tmp_path, "old.txt", local_mode=0o644))
    assert path.read_bytes() == OLD and leftovers(tmp_path, "old.txt") == []


def test_key_file_replace_makes_a_backup_and_stays_0600(tmp_path, file_module):
    path = tmp_path / "ssec.key"
    path.write_bytes(bytes(range(1, 33)))
    path.chmod(0o644)
    backup = key_file.replace_key_file(file_module(), str(path), KEY, "raw", backup=True)
    assert path.read_bytes() == bytes(range(32)) and mode_of(path) == 0o600
    assert open(backup, "rb").read() == bytes(range(1, 33))


def test_an_immutable_key_file_is_reported_and_kept(tmp_path, file_module):
    path = tmp_path / "ssec.key"
    path.write_bytes(bytes(range(1, 33)))
    with immutable(path):
        with pytest.raises(SsecError, match="is immutable"):
            key_file.replace_key_file(file_module(), str(path), KEY, "raw", backup=True)
    assert path.read_bytes() == bytes(range(1, 33)) and leftovers(tmp_path, "ssec.key") == []


def test_a_new_key_file_is_durable(tmp_path, monkeypatch):
    synced = []
    monkeypatch.setattr(local_files, "fsync_directory", synced.append)
    assert key_file.create_key_file(str(tmp_path / "ssec.key"), KEY, "raw") == (KEY, True)
    assert synced == [str(tmp_path)]

# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every module checks before any request: bucket and object names, counts; a failed final rename explained."""

from __future__ import annotations

import errno

import pytest
from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ssec.s3.plugins.module_utils._errors import SsecError
from ansible_collections.ssec.s3.plugins.module_utils._module import (
    MAX_NAME_BYTES,
    SsecModule,
    bucket_name_problem,
    object_name_problem,
    run_module,
)


@pytest.mark.parametrize("name", ["abc", "my-bucket", "my.bucket.1", "a" * 63, "Legacy_Bucket",
                                  "arn:aws:s3:eu-west-1:123456789012:accesspoint/ap"])
def test_bucket_names_accepted(name):
    assert bucket_name_problem(name) is None


@pytest.mark.parametrize("name", ["", "a", "ab", "Bad_Bucket!", "bucket/with/slash", "-leading", "trailing.",
                                  "space here", "b" * 256, "\u00e9t\u00e9"])
def test_bucket_names_refused(name):
    problem = bucket_name_problem(name)
    assert "is not a valid bucket name" in problem and "3 to 63 characters" in problem


@pytest.mark.parametrize("name", ["file.txt", "dir/file.txt", "a name with spaces", "donn\u00e9es/\u00e9t\u00e9 \u2603",
                                  "\u00e9" * (MAX_NAME_BYTES // 2)])
def test_object_names_accepted(name):
    assert object_name_problem(name) is None


def test_object_name_with_a_leading_slash_names_the_fix():
    problem = object_name_problem("/dir/file.txt")
    assert "starts with '/'" in problem and "'dir/file.txt'" in problem and "without the leading '/'" in problem


def test_object_name_too_long_counts_utf8_bytes_and_shows_only_its_start():
    problem = object_name_problem("\u00e9" * 513)
    assert "1026 bytes" in problem and "at most 1024 bytes" in problem
    assert "\u00e9" * 41 not in problem  # the name is cut, not echoed whole


def test_empty_object_name_but_empty_prefix_is_the_whole_bucket():
    assert "object is empty" in object_name_problem("")
    assert object_name_problem("", "prefix") is None
    assert "prefix '/logs/' starts with '/'" in object_name_problem("/logs/", "prefix")


def test_failed_final_rename_says_what_to_check(monkeypatch):
    def refuse(self, src, dest, *args, **kwargs):
        try:
            raise OSError(errno.EPERM, "Operation not permitted")
        except OSError as exc:
            raise Exception("Unable to make %r into to %r" % (src, dest)) from exc  # as ansible-core does

    monkeypatch.setattr(AnsibleModule, "atomic_move", refuse)
    module = SsecModule.__new__(SsecModule)
    with pytest.raises(SsecError) as caught:
        module.atomic_move("/tmp/.x.part", "/srv/x")
    message = caught.value.message
    assert "/srv/x (Operation not permitted)" in message and "left as it was" in message
    assert "immutable" in message and "Unable to make" not in message


@pytest.mark.parametrize("flags, refused", [("", None), ("e", None), ("ie", "immutable"), ("a", "append-only")])
def test_a_file_that_cannot_be_replaced_is_refused_before_its_backup(monkeypatch, flags, refused):
    copies = []
    monkeypatch.setattr(AnsibleModule, "get_file_attributes", lambda self, path, include_version=True: {
        "attr_flags": flags})
    monkeypatch.setattr(AnsibleModule, "backup_local", lambda self, path: copies.append(path) or path + "~")
    module = SsecModule.__new__(SsecModule)
    if refused is None:
        assert module.backup_local("/etc/ssec.key") == "/etc/ssec.key~"
        assert copies == ["/etc/ssec.key"]
        return
    with pytest.raises(SsecError) as caught:
        module.backup_local("/etc/ssec.key")
    assert "/etc/ssec.key is %s" % refused in caught.value.message and "chattr -" in caught.value.message
    assert copies == []


@pytest.mark.parametrize("params, refused", [
    ({"concurrency": 8, "part_size_mb": 8}, None),
    ({"concurrency": 1}, None),
    ({"concurrency": 0}, "concurrency must be 1 or more (it is 0)."),
    ({"concurrency": 8, "part_size_mb": -1}, "part_size_mb must be 1 or more (it is -1)."),
    ({"bucket": "ab", "concurrency": 0}, "concurrency must be 1 or more"),
])
def test_counts_below_one_are_refused_for_every_module(params, refused):
    module = SsecModule.__new__(SsecModule)
    module.params = params
    failures = []

    def fail_json(msg):
        failures.append(msg)

    module.fail_json = fail_json
    module._check_options()  # pylint: disable=protected-access
    if refused is None:
        assert failures == []
    else:
        assert len(failures) == 1 and refused in failures[0]


class _Exits:
    """Records how run_module leaves (the module's own exits end the process)."""

    def __init__(self):
        self.failed, self.exited = [], []

    def fail_json(self, **kwargs):
        self.failed.append(kwargs)
        raise SystemExit(1)

    def exit_json(self, **kwargs):
        self.exited.append(kwargs)
        raise SystemExit(0)


def test_a_bulk_failure_leaves_through_run_module_with_its_partial_result():
    module = _Exits()

    def action():
        raise SsecError("1 entry failed to sync.", status=500, result={"changed": True, "counts": {"failed": 1}})

    with pytest.raises(SystemExit):
        run_module(module, action)
    assert module.exited == []
    assert module.failed == [{"msg": "1 entry failed to sync.", "changed": True, "counts": {"failed": 1},
                              "http_status": 500}]


def test_a_plain_failure_carries_only_its_message_and_codes():
    module = _Exits()

    def action():
        raise SsecError("Bucket b does not exist.", code="NoSuchBucket", status=404)

    with pytest.raises(SystemExit):
        run_module(module, action)
    assert module.failed == [{"msg": "Bucket b does not exist.", "error_code": "NoSuchBucket", "http_status": 404}]

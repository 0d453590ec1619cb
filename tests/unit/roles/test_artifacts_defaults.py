# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The artifacts role: meta/argument_specs.yml is the contract, and the rest of the role must agree with it.

ansible-core reads argument_specs defaults as documentation only; nothing else notices when they drift from
defaults/main.yml, from the connection options of the modules, or when a task that carries the key loses no_log.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ansible_collections.ssec.s3.plugins.module_utils._connection import connection_argument_spec

ROLE = Path(__file__).resolve().parents[3] / "roles" / "artifacts"
KEY_VARIABLE = "__artifacts_sse_key"
S3_MODULES = ("ssec.s3.object", "ssec.s3.sync", "ssec.s3.download", "ssec.s3.object_info", "ssec.s3.rekey")


def load(relative):
    with open(ROLE / relative, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def options():
    return load("meta/argument_specs.yml")["argument_specs"]["main"]["options"]


def walk_tasks(tasks, inherited=None):
    """Yield (task, module_defaults in force) for every task, blocks included."""
    for task in tasks or []:
        module_defaults = dict(inherited or {})
        module_defaults.update(task.get("module_defaults") or {})
        if "block" in task:
            for section in ("block", "rescue", "always"):
                yield from walk_tasks(task.get(section), module_defaults)
        else:
            yield task, module_defaults


def role_tasks():
    return list(walk_tasks(load("tasks/main.yml")))


def plain_tasks():
    return [task for task, _defaults in role_tasks()]


def test_defaults_agree_with_argument_specs():
    defaults = load("defaults/main.yml")
    specs = options()
    assert set(defaults) - set(specs) == set(), "variables in defaults/main.yml that argument_specs does not document"
    for name, spec in specs.items():
        if spec.get("required"):
            assert name not in defaults, "%s is required: it must have no default" % name
            assert "default" not in spec, "%s is required: its spec must have no default" % name
        else:
            assert name in defaults, "%s has no value in defaults/main.yml" % name
            assert "default" in spec, "%s has no default in argument_specs" % name
            assert defaults[name] == spec["default"], "%s: defaults/main.yml says %r, argument_specs %r" % (
                name, defaults[name], spec["default"])


@pytest.mark.parametrize("name", sorted(options()))
def test_every_option_is_documented(name):
    spec = options()[name]
    assert spec.get("description"), name
    assert spec.get("type"), name
    assert name.startswith("artifacts_"), "role variables carry the role's prefix"


def test_secrets_are_no_log():
    specs = options()
    assert specs["artifacts_key"].get("no_log") is True
    for name in ("secret_key", "session_token"):
        assert specs["artifacts_s3"]["options"][name].get("no_log") is True, name


def test_artifacts_s3_offers_exactly_the_connection_options():
    offered = options()["artifacts_s3"]["options"]
    modules = connection_argument_spec()
    assert set(offered) == set(modules)
    for name, spec in offered.items():
        assert spec["type"] == modules[name]["type"], name
        assert spec.get("choices") == modules[name].get("choices"), name
        # Defaults stay with the modules: an option left out of artifacts_s3 must not override the play's.
        assert "default" not in spec, name


def test_every_task_that_carries_the_key_is_no_log():
    carriers = [task for task in plain_tasks() if KEY_VARIABLE in yaml.safe_dump(task)]
    assert len(carriers) >= 3  # upload, sync push, download
    for task in carriers:
        assert task.get("no_log") is True, task["name"]


def test_no_task_prints_the_key_or_the_key_options():
    for task in plain_tasks():
        if "ansible.builtin.debug" in task:
            text = yaml.safe_dump(task["ansible.builtin.debug"])
            assert KEY_VARIABLE not in text and "artifacts_key " not in text and "artifacts_s3" not in text


def test_every_s3_task_gets_artifacts_s3_for_its_own_module():
    # Per module, not group/ssec.s3.s3: a block's group entry would replace the play's group defaults whole.
    s3_tasks = [(task, defaults) for task, defaults in role_tasks() if any(m in task for m in S3_MODULES)]
    assert s3_tasks
    for task, module_defaults in s3_tasks:
        module = next(m for m in S3_MODULES if m in task)
        assert module_defaults.get(module) == "{{ artifacts_s3 }}", task["name"]
        assert "group/ssec.s3.s3" not in module_defaults, task["name"]


def test_controller_tasks_run_once_without_become():
    controller = [task for task in plain_tasks()
                  if "ssec.s3.key" in task or "ssec.s3.object" in task or task.get("ssec.s3.sync", {}).get("mode") == "push"]
    assert len(controller) == 3
    blocks = load("tasks/main.yml")
    for task in controller:
        parent = next(block for block in blocks if task in block.get("block", []))
        assert parent.get("run_once") is True, task["name"]
        assert parent.get("delegate_to") == "localhost", task["name"]
        assert parent.get("become") is False, task["name"]


def _dict_specs(specs):
    """Every option spec of type dict or list of dicts, with its nested options, recursively."""
    for spec in specs.values():
        if spec.get("options"):
            yield spec
            yield from _dict_specs(spec["options"])


def test_rules_between_suboptions_are_lists():
    # antsibull-docs rejects a required_by value that is a bare string (ansible-core accepts both).
    for spec in _dict_specs(options()):
        for name, required in (spec.get("required_by") or {}).items():
            assert isinstance(required, list), name
            assert set(required) <= set(spec["options"]), name
        for group in (spec.get("mutually_exclusive") or []) + (spec.get("required_one_of") or []):
            assert isinstance(group, list) and set(group) <= set(spec["options"]), group


def test_deploy_offers_files_and_trees():
    deploy = options()["artifacts_deploy"]
    assert ["object", "prefix"] in deploy["mutually_exclusive"]
    assert ["object", "prefix"] in deploy["required_one_of"]
    # owner/group are set by the download only; the pull of a tree does not set them.
    assert deploy["required_by"]["owner"] == ["object"] and deploy["required_by"]["group"] == ["object"]
    modules = [next(m for m in S3_MODULES if m in task) for task in plain_tasks() if any(m in task for m in S3_MODULES)]
    assert modules.count("ssec.s3.sync") == 2  # push (publish) and pull (deploy)


def test_deploy_tasks_run_on_every_host():
    """The download and the pull run on each host of the play, never once for all."""
    deploy = [task for task in plain_tasks()
              if "ssec.s3.download" in task or task.get("ssec.s3.sync", {}).get("mode") == "pull"]
    assert len(deploy) == 2
    blocks = load("tasks/main.yml")
    for task in deploy:
        parent = next(block for block in blocks if task in block.get("block", []))
        assert "run_once" not in parent and "delegate_to" not in parent and "run_once" not in task, task["name"]
        assert task.get("notify") == "{{ artifacts_notify }}" and task.get("no_log") is True, task["name"]

# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Options several modules share are documented once (the ssec.s3.options doc fragment), not per module."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
import yaml

from ansible_collections.ssec.s3.plugins.doc_fragments.options import ModuleDocFragment
from ansible_collections.ssec.s3.plugins.module_utils._module import common_option

FRAGMENTS = {"bucket": ("ssec.s3.options", ModuleDocFragment.DOCUMENTATION),
             "object": ("ssec.s3.options.OBJECT", ModuleDocFragment.OBJECT),
             "part_size_mb": ("ssec.s3.options.PART_SIZE", ModuleDocFragment.PART_SIZE),
             "concurrency": ("ssec.s3.options.CONCURRENCY", ModuleDocFragment.CONCURRENCY),
             "multipart_copy_threshold_mb": ("ssec.s3.options.MULTIPART_COPY_THRESHOLD",
                                             ModuleDocFragment.MULTIPART_COPY_THRESHOLD)}
# Where the option exists but means something else (another object, required or not): documented by the module.
OWN = {("object_info", "object"), ("rekey", "object"), ("copy", "object")}
MODULES = sorted(path.stem for path in (Path(__file__).parents[4] / "plugins" / "modules").glob("*.py")
                 if path.stem not in ("__init__", "key"))


def documentation(name):
    module = importlib.import_module("ansible_collections.ssec.s3.plugins.modules." + name)
    return yaml.safe_load(module.DOCUMENTATION)


@pytest.mark.parametrize("name", MODULES)
def test_shared_options_come_from_the_fragment(name):
    doc = documentation(name)
    for option, (fragment, text) in FRAGMENTS.items():
        if option not in doc["options"] and fragment not in doc["extends_documentation_fragment"]:
            continue
        if (name, option) in OWN:
            continue
        assert fragment in doc["extends_documentation_fragment"], (name, option)
        own = doc["options"].get(option, {})
        # A module may say what its concurrency runs in parallel; type, default and requirement are the fragment's.
        assert set(own) <= {"description"}, (name, option, own)
        spec = yaml.safe_load(text)["options"][option]
        assert common_option(option) == {key: spec[key] for key in ("type", "default", "required") if key in spec}


def test_the_multipart_copy_threshold_default_is_the_largest_copy():
    from ansible_collections.ssec.s3.plugins.module_utils._rekey_task import MAX_COPY_MB

    assert common_option("multipart_copy_threshold_mb")["default"] == MAX_COPY_MB


def test_every_module_is_checked():
    assert {"copy", "bucket", "bucket_info", "object", "sync"} <= set(MODULES)

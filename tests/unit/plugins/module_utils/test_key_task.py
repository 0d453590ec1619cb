# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the ssec.s3.key module decides to do with the file at its path."""

from __future__ import annotations

import pytest

from ansible_collections.ssec.s3.plugins.module_utils._errors import SsecError
from ansible_collections.ssec.s3.plugins.module_utils._key_file import KeyFileState, inspect_key_file
from ansible_collections.ssec.s3.plugins.module_utils._key_task import (
    CONVERT,
    CREATE,
    KEEP,
    REPLACE,
    plan_key_file,
)
from ansible_collections.ssec.s3.plugins.module_utils._sse_key import CustomerKey

KEY = CustomerKey(bytes(range(1, 33)))
OTHER_FORMAT = {"raw": "base64", "base64": "raw"}
STATES = {
    "absent": lambda fmt: KeyFileState(exists=False),
    "valid-same-format": lambda fmt: KeyFileState(exists=True, key=KEY, key_format=fmt),
    "valid-other-format": lambda fmt: KeyFileState(exists=True, key=KEY, key_format=OTHER_FORMAT[fmt]),
    "valid-hex": lambda fmt: KeyFileState(exists=True, key=KEY, key_format="hex"),
    "invalid": lambda fmt: KeyFileState(exists=True, problem="it holds 16 bytes, which is neither a raw key"),
}


@pytest.mark.parametrize("key_format", ["raw", "base64"])
@pytest.mark.parametrize(
    "state, regenerate, action",
    [
        ("absent", "never", CREATE),
        ("absent", "always", CREATE),
        ("valid-same-format", "never", KEEP),
        ("valid-same-format", "always", REPLACE),
        ("valid-other-format", "never", CONVERT),
        ("valid-other-format", "always", REPLACE),
        ("valid-hex", "never", CONVERT),
        ("valid-hex", "always", REPLACE),
        ("invalid", "always", REPLACE),
    ],
)
def test_plan(state, regenerate, action, key_format):
    assert plan_key_file(STATES[state](key_format), key_format, regenerate) == action


@pytest.mark.parametrize("key_format", ["raw", "base64"])
def test_an_unusable_file_is_refused_unless_regenerate_always(key_format):
    with pytest.raises(SsecError) as info:
        plan_key_file(STATES["invalid"](key_format), key_format, "never")
    message = info.value.message
    assert "exists but is not a usable SSE-C key: it holds 16 bytes, which is neither a raw key. It was left untouched." in message
    assert ".." not in message
    assert "It was left untouched." in message
    assert "set regenerate: always to replace it (a backup is kept)" in message


def test_the_refusal_carries_the_problem_found_on_disk(tmp_path):
    path = tmp_path / "ssec.key"
    path.write_bytes(b"short")
    with pytest.raises(SsecError) as info:
        plan_key_file(inspect_key_file(str(path)), "raw", "never")
    assert "it holds 5 bytes" in info.value.message
    assert "regenerate: always" in info.value.message
    assert path.read_bytes() == b"short"

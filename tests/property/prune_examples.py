# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Drop saved examples no test reads any more from tests/property/examples.json.

Hypothesis keys saved examples by a digest of each test's source (and the node id of a parametrized test),
so editing a test orphans its examples. Run from the repository root after such an edit, and after an
explore run: ``.venv/bin/python tests/property/prune_examples.py``.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

from hypothesis.internal.reflection import function_digest

HERE = Path(__file__).resolve().parent
SUFFIXES = (b"", b".secondary", b".pareto")
BACKENDS = ("seaweedfs", "rgw")


def live_keys():
    """Every database key the current tests read (the node ids are those of scripts/test property)."""
    sys.path.insert(0, str(HERE))
    keys = set()
    for path in sorted(HERE.glob("test_*.py")):
        module = importlib.import_module(path.stem)
        for name in dir(module):
            inner = getattr(getattr(module, name), "hypothesis", None)
            if not name.startswith("test_") or inner is None:
                continue
            inner = inner.inner_test
            node_ids = [None] + ["tests/property/%s::%s[%s]" % (path.name, name, backend) for backend in BACKENDS]
            for node_id in node_ids:
                # What Hypothesis's pytest plugin sets for a parametrized test.
                if node_id:
                    inner._hypothesis_internal_add_digest = node_id.encode()  # pylint: disable=protected-access
                digest = function_digest(inner)
                keys.update((digest + suffix).hex() for suffix in SUFFIXES)
            del inner._hypothesis_internal_add_digest  # pylint: disable=protected-access
    return keys


def main():
    path = HERE / "examples.json"
    saved = json.loads(path.read_text(encoding="utf-8"))
    live = live_keys()
    kept = {key: values for key, values in saved.items() if key in live}
    path.write_text(json.dumps(kept, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print("kept %d keys (%d examples), dropped %d keys" % (
        len(kept), sum(len(values) for values in kept.values()), len(saved) - len(kept)))


if __name__ == "__main__":
    main()

# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # Descriptions of the attributes every ssec.s3 module declares; each module states its support.
    DOCUMENTATION = r"""
attributes:
  check_mode:
    description: Can run in check mode and return the same C(changed) a real run would, without changing anything.
  diff_mode:
    description: Returns details on what has changed (or would change in check mode) when in diff mode; never key material.
  idempotent:
    description: Running the task again with the same options reports C(changed=false) and changes nothing.
"""

    # For modules that write local files.
    FILES = r"""
attributes:
  safe_file_operations:
    description: Writes files through a temp file beside the target and an atomic rename; a failure leaves the old file.
"""

    # For modules in the ssec.s3.s3 action group (module_defaults).
    ACTION_GROUP = r"""
attributes:
  action_group:
    description: Use C(group/ssec.s3.s3) in C(module_defaults) to set the connection options once.
    support: full
    membership:
      - ssec.s3.s3
"""

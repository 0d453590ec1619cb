# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks on local paths before anything is written, shared by the modules that write files."""

from __future__ import annotations

import os

from ansible_collections.ssec.s3.plugins.module_utils.errors import SsecError


def writable_parent(path, option="path") -> str:
    """The directory that will hold ``path``; fails, naming ``option``, if it is missing or not writable.

    Run in check mode too, so that check mode predicts the real run's failure.
    """
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise SsecError("The directory %s does not exist, so %s cannot be written there. Create it first "
                        "(ansible.builtin.file with state: directory) or choose another path." % (directory, option))
    if not os.access(directory, os.W_OK | os.X_OK):
        raise SsecError("The directory %s is not writable by this user, so %s cannot be written there. "
                        "Choose a writable path, fix its permissions, or use become." % (directory, option))
    return directory

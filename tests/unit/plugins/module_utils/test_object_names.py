# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Object names and prefixes a server would store under another name, or refuse, are refused before any request.

What SeaweedFS does with each refused name (measured): 'a//b' is stored as 'a/b', 'a\\b' as 'a/b', './y' and
'a/../b' get 400, and 'trail/' is kept as an empty unencrypted folder whatever the request carried.
"""

from __future__ import annotations

import pytest

from ansible_collections.ssec.s3.plugins.module_utils._module import object_name_problem


@pytest.mark.parametrize("name", ["..a", "a..b", "dir/.hidden", "end.", "...", "a/.../b", "sp ace", "a%2Fb", "a+b",
                                  "\u00e9/\u00fc", "tab\tin", "~a"])
def test_names_servers_keep_as_given_are_accepted(name):
    assert object_name_problem(name) is None


@pytest.mark.parametrize("name, problem", [
    ("rel//a", "holds '//': some servers collapse it into one '/'"),
    ("a//", "holds '//'"),
    ("back\\slash", "holds a backslash: some servers store it as '/'"),
    ("q\\", "holds a backslash"),
    ("./y", "has a '.' or '..' part"),
    ("a/./b", "has a '.' or '..' part"),
    ("a/../b", "has a '.' or '..' part"),
    ("a/..", "has a '.' or '..' part"),
    ("..", "has a '.' or '..' part"),
    (".", "has a '.' or '..' part"),
    ("trail/", "ends with '/', the name of a folder"),
    ("a/b/", "ends with '/'"),
])
def test_names_servers_would_change_are_refused(name, problem):
    message = object_name_problem(name)
    assert problem in message
    assert message.startswith("object %r " % name)
    assert message.rstrip(".").split(". ")[-1].startswith(("Use", "Give"))  # says what to do


@pytest.mark.parametrize("prefix", ["", "rel/", "backups", "logs/2024-", ".", "..", "a/.x", "a/..", "a/.", "d/"])
def test_prefixes_may_end_with_a_slash_or_any_start_of_a_name(prefix):
    assert object_name_problem(prefix, "prefix") is None


@pytest.mark.parametrize("prefix, problem", [
    ("rel//", "holds '//'"),
    ("rel\\", "holds a backslash"),
    ("./", "has a '.' or '..' part"),
    ("a/./", "has a '.' or '..' part"),
    ("../x", "has a '.' or '..' part"),
    ("/x", "starts with '/'"),
])
def test_prefixes_servers_would_change_are_refused(prefix, problem):
    message = object_name_problem(prefix, "prefix")
    assert message.startswith("prefix %r " % prefix) and problem in message


def test_the_option_name_is_the_subject():
    assert object_name_problem("p/x\\y", "object name").startswith("object name 'p/x\\\\y' holds a backslash")

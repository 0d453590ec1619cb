# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shard option of the prefix modules (issue 12, item 4): rekey and object_info take a share of a listing by
one rule (sync_names.in_share), and refuse a shard with object or a value that is not a share, before any request.

The surveys themselves run for real in the object_info_prefix and versions integration targets.
"""

from __future__ import annotations

import hashlib
import types

import pytest

from ansible_collections.ssec.s3.plugins.module_utils import (
    _object_info_prefix as survey, _rekey_task as rekey_task, _versions as versions)
from ansible_collections.ssec.s3.plugins.module_utils._errors import SsecError
from ansible_collections.ssec.s3.plugins.module_utils._sse_key import CustomerKey
from ansible_collections.ssec.s3.plugins.module_utils._sync_names import in_share, in_shard, prefix_shard
from ansible_collections.ssec.s3.plugins.modules import object_info as object_info_module

pytestmark = pytest.mark.usefixtures("no_network")

PREFIX = "logs/2026-"  # literal: not a "directory"
NAMES = ["%s%02d/host-%03d.gz" % (PREFIX, number % 12, number) for number in range(600)]


def documented_share(relative, count):
    """The rule of docs/decisions.md, written out apart from the code under test."""
    return int.from_bytes(hashlib.sha256(relative.encode("utf-8")).digest()[:8], "big") % count + 1


@pytest.mark.parametrize("count", [1, 2, 3, 7])
def test_the_shares_of_a_listing_are_disjoint_cover_it_and_follow_the_name_after_the_prefix(count):
    listing = [(name, len(name)) for name in NAMES]
    shares = [list(in_share(iter(listing), PREFIX, (number, count))) for number in range(1, count + 1)]
    assert sorted(entry for share in shares for entry in share) == sorted(listing)  # disjoint, and every entry
    for number, share in enumerate(shares, 1):
        assert share, "share %d is empty" % number
        assert all(documented_share(name[len(PREFIX):], count) == number for name, _size in share)
        assert share == [entry for entry in listing if entry in share]  # listing order kept


def test_no_shard_is_the_whole_listing_untouched():
    listing = iter([("a", 1)])
    assert in_share(listing, "", None) is listing


def test_versions_of_a_name_share_its_share():
    entries = [{"object": name, "version_id": "v%d" % number} for name in NAMES[:90] for number in range(3)]
    shares = [list(in_share(entries, PREFIX, (number, 3), name=lambda entry: entry["object"])) for number in (1, 2, 3)]
    assert sum(len(share) for share in shares) == len(entries)
    for share in shares:
        names = {entry["object"] for entry in share}
        assert len(share) == 3 * len(names)  # all three versions of each of its names, none of another share's


def test_a_prefix_ending_in_slash_gives_the_shares_of_sync():
    # sync's relative name is the one after its prefix and "/": the shares of rekey and object_info with
    # "backups/" are those of sync with prefix "backups".
    names = ["backups/%d/f.txt" % number for number in range(200)]
    picked = [name for name, _size in in_share(((name, 0) for name in names), "backups/", (2, 5))]
    assert picked == [name for name in names if in_shard(name[len("backups/"):], (2, 5))]


def test_the_listing_is_read_as_it_goes():
    # A survey of 100 000 objects must not hold the listing: the filter pulls one entry at a time.
    read = []

    def listing():
        for name in NAMES:
            read.append(name)
            yield name, 0

    share = in_share(listing(), PREFIX, (1, 2))
    assert read == []
    next(share)
    assert len(read) < len(NAMES) / 2


@pytest.mark.parametrize("value, expected", [(None, None), ("1/1", (1, 1)), (" 2/4 ", (2, 4))])
def test_prefix_shard(value, expected):
    assert prefix_shard({"object": None, "prefix": "p/", "shard": value}) == expected


@pytest.mark.parametrize("value", ["0/3", "4/3", "3", "1/0", "a/b", "-1/2", "1/2/3", ""])
def test_a_value_that_is_not_a_share_is_refused(value):
    with pytest.raises(SsecError, match=r"^shard %r is not a share: give it as 'i/n' with 1 <= i <= n, for "
                                        r"example '2/4' for the second of four hosts\.$" % value):
        prefix_shard({"object": None, "prefix": "p/", "shard": value})


def test_a_shard_with_object_is_refused():
    with pytest.raises(SsecError, match=r"^shard applies to the objects under prefix: remove it, or give prefix "
                                        r"instead of object\.$"):
        prefix_shard({"object": "p/a", "prefix": None, "shard": "1/2"})


def no_request_module(**params):
    """A module whose every step towards a request fails the test: the option checks must come first."""

    def refuse(*_args, **_kwargs):
        raise AssertionError("a request was prepared before the options were checked")

    defaults = {"bucket": "b", "object": None, "prefix": None, "shard": None, "concurrency": 2, "known_keys": None,
                "versions": False, "version_id": None}
    return types.SimpleNamespace(params=dict(defaults, **params), customer_key=refuse, client=refuse, check_mode=False)


@pytest.mark.parametrize("run, params, message", [
    (survey.object_info_prefix, {"prefix": "p/", "shard": "3/2"}, "shard '3/2' is not a share"),
    (versions.object_info_versions, {"prefix": "p/", "versions": True, "shard": "0/1"}, "shard '0/1' is not a share"),
    (object_info_module.one_object, {"object": "p/a", "shard": "1/2"}, "shard applies to the objects under prefix"),
])
def test_object_info_refuses_before_any_request(run, params, message):
    with pytest.raises(SsecError, match=message):
        run(no_request_module(**params))


def test_rekey_refuses_with_the_same_words():
    old, new = CustomerKey(bytes(range(32))), CustomerKey(bytes(range(32, 64)))
    params = {"object": None, "prefix": "p/", "shard": "5/4", "multipart_copy_threshold_mb": 5120}
    with pytest.raises(SsecError, match="shard '5/4' is not a share"):
        rekey_task._check_options(params, old, new)
    with pytest.raises(SsecError, match="shard applies to the objects under prefix"):
        rekey_task._check_options(dict(params, object="p/a", prefix=None, shard="1/2"), old, new)


def test_the_messages_name_the_share():
    counts = dict.fromkeys(survey.STATES + ("error",), 0)
    assert survey.describe(counts, 0, None, (2, 3)) == "No object in share 2/3 of the prefix."
    counts["this_key"] = 4
    assert survey.describe(counts, 4, object(), (1, 3)) == "4 objects in share 1/3 of the prefix: 4 SSE-C with this key."
    assert survey.describe(counts, 4, object()) == "4 objects under the prefix: 4 SSE-C with this key."
    assert survey.add_shard({}, (2, 4)) == {"shard": "2/4"}
    assert survey.add_shard({}, None) == {}

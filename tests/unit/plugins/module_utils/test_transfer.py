# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Part sizing: whole MiB, never below S3's 5 MiB or the asked minimum, never more than 1000 parts (Scaleway)."""

from __future__ import annotations

import pytest

from ansible_collections.ssec.s3.plugins.module_utils import _transfer as transfer
from ansible_collections.ssec.s3.plugins.module_utils._transfer import MAX_PARTS, MIB, part_count, part_size

GIB = 1024 * MIB
TIB = 1024 * GIB


@pytest.mark.parametrize("size, minimum, expected", [
    (0, 8 * MIB, 8 * MIB),
    (1, 8 * MIB, 8 * MIB),
    (8 * MIB * MAX_PARTS, 8 * MIB, 8 * MIB),  # exactly 1000 parts of the default size
    (8 * MIB * MAX_PARTS + 1, 8 * MIB, 9 * MIB),  # one byte more: the part grows by a whole MiB
    (10 * GIB, 8 * MIB, 11 * MIB),  # ceil(10 GiB / 1000) = 10.24 MiB, rounded up
    (5 * TIB, 8 * MIB, 5243 * MIB),  # S3's largest object still fits in 1000 parts
    (100 * MIB, 1 * MIB, 5 * MIB),  # never below S3's smallest part
    (100 * MIB, 64 * MIB, 64 * MIB),  # the asked minimum wins while it keeps within 1000 parts
    (100 * MIB, 64 * MIB + 1, 65 * MIB),  # rounded up to a whole MiB
])
def test_part_size(size, minimum, expected):
    assert part_size(size, minimum) == expected


@pytest.mark.parametrize("size", [0, 1, 5 * MIB - 1, 8 * MIB * MAX_PARTS + 1, 10 * GIB + 12345, 5 * TIB, 48 * TIB])
@pytest.mark.parametrize("minimum", [1, 5 * MIB, 8 * MIB, 100 * MIB + 7])
def test_part_size_properties(size, minimum):
    chunk = part_size(size, minimum)
    assert chunk % MIB == 0
    assert chunk >= max(minimum, transfer.MIN_PART_SIZE)
    assert part_count(size, chunk) <= MAX_PARTS
    # The smallest such size: one MiB less would need more parts or break a lower bound.
    smaller = chunk - MIB
    assert smaller < max(minimum, transfer.MIN_PART_SIZE) or part_count(size, smaller) > MAX_PARTS


def test_default_part_size_is_8_mib():
    assert part_size(1) == 8 * MIB == transfer.DEFAULT_PART_SIZE


@pytest.mark.parametrize("size, chunk, expected", [
    (0, 8 * MIB, 1), (1, 8 * MIB, 1), (8 * MIB, 8 * MIB, 1), (8 * MIB + 1, 8 * MIB, 2), (80 * MIB, 8 * MIB, 10),
])
def test_part_count(size, chunk, expected):
    assert part_count(size, chunk) == expected


@pytest.mark.parametrize("chunk, concurrency, expected", [
    (8 * MIB, 8, 8),  # 64 MiB in flight
    (64 * MIB, 8, 4),  # lowered: at most 256 MiB of parts in memory
    (512 * MIB, 8, 1),  # never below one
    (8 * MIB, 0, 1),
])
def test_transfer_manager_bounds_memory(stubbed, chunk, concurrency, expected):
    manager = transfer._transfer_manager(stubbed[0], chunk, concurrency)  # pylint: disable=protected-access
    try:
        config = manager.config
        assert (config.max_request_concurrency, config.multipart_chunksize) == (expected, chunk)
    finally:
        manager.shutdown()

"""A bulk run holds off CPython's full collections and gives the thresholds back afterwards."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from core.heap import FULL_PASS_EVERY, bulk_run


@pytest.fixture
def thresholds() -> Iterator[tuple[int, int, int]]:
    before = gc.get_threshold()
    gc.set_threshold(500, 7, 12)  # not the defaults: what was there is what comes back
    yield (500, 7, 12)
    gc.set_threshold(*before)


def test_full_passes_are_rare_in_the_block_and_the_young_ones_unchanged(thresholds):
    with bulk_run():
        young, middle, full = gc.get_threshold()
        assert (young, middle) == (500, 7)
        assert full >= 100  # a full pass after 100+ middle passes, not after 12
    assert gc.get_threshold() == (500, 7, 12)


def test_a_higher_threshold_already_set_is_kept(thresholds):
    gc.set_threshold(500, 7, 5000)
    with bulk_run():
        assert gc.get_threshold() == (500, 7, 5000)
    assert gc.get_threshold() == (500, 7, 5000)


def test_the_thresholds_come_back_when_the_block_raises(thresholds):
    with pytest.raises(RuntimeError), bulk_run():
        raise RuntimeError("the run failed")
    assert gc.get_threshold() == (500, 7, 12)


def test_overlapping_runs_restore_only_when_the_last_ends(thresholds):
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen: list[tuple[int, int, int]] = []

    def second() -> None:
        first_in.wait()
        with bulk_run():
            second_in.set()
            first_out.wait()
            seen.append(gc.get_threshold())  # the first run ended: still held off for this one

    thread = threading.Thread(target=second)
    thread.start()
    with bulk_run():
        first_in.set()
        second_in.wait()
    first_out.set()
    thread.join()
    assert seen == [(500, 7, FULL_PASS_EVERY)]
    assert gc.get_threshold() == (500, 7, 12)


def test_nested_blocks_restore_once(thresholds):
    with bulk_run():
        with bulk_run():
            pass
        assert gc.get_threshold()[2] == FULL_PASS_EVERY
    assert gc.get_threshold() == (500, 7, 12)

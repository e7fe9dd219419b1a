"""Estimates of how long jobs take, from step times measured on the tiny prior."""

from __future__ import annotations

import pytest

from gen2res_desktop.core import defaults
from gen2res_desktop.core.estimates import (
    REPAIR_SECONDS_PER_MEGAPIXEL,
    StepTimes,
    describe_duration,
    measure_step_times,
    restore_seconds,
    train_seconds,
)
from gen2res_desktop.core.progress import Progress


def test_measuring_times_both_steps_and_reports_progress(tiny_prior):
    seen: list[Progress] = []
    times = measure_step_times(tiny_prior, batch=2, progress=seen.append)
    assert 0 < times.denoise_s < 60 and 0 < times.train_s < 60
    assert seen[-1].step == seen[-1].total == 4
    assert StepTimes.from_json(times.to_json()) == times


@pytest.mark.parametrize(
    "value", [None, {}, {"denoise_s": "x", "train_s": 1}, {"denoise_s": -1, "train_s": 1}]
)
def test_a_damaged_record_is_no_record(value):
    assert StepTimes.from_json(value) is None


def test_estimates_add_up_the_stages():
    t = StepTimes(denoise_s=0.5, train_s=2.0)
    assert train_seconds(t, 500) == 1000
    repair = REPAIR_SECONDS_PER_MEGAPIXEL * 2.0
    assert restore_seconds(t, faces=0, megapixels=2.0) == repair
    assert restore_seconds(t, faces=2, steps=25, megapixels=2.0) == repair + 2 * 25 * 0.5
    single = restore_seconds(t, faces=1, steps=25, megapixels=0, single_photo=True)
    album = defaults.ALBUM_COUNT * defaults.ALBUM_STEPS * 0.5
    assert single == 25 * 0.5 + album + defaults.SINGLE_TRAIN_STEPS * 2.0


def test_durations_in_words():
    assert describe_duration(10) == "less than a minute"
    assert describe_duration(60) == "about 1 minute"
    assert describe_duration(40 * 60) == "about 40 minutes"
    assert describe_duration(3 * 3600) == "about 3 hours"
    assert describe_duration(2.5 * 3600) == "about 2.5 hours"


def test_the_denoising_step_is_timed_on_the_engine_restores_use(tiny_prior):
    from dataclasses import replace

    import torch

    calls = []

    def engine(x, t):
        calls.append(tuple(x.shape))
        return torch.zeros_like(x)

    measure_step_times(replace(tiny_prior, fast=engine), batch=2)
    assert calls == [(1, 3, 32, 32)] * 3  # a warm-up and two timed steps


def test_a_restore_plan_lists_its_parts_in_the_order_they_run():
    from gen2res_desktop.core.estimates import REPAIR_STAGES, restore_plan

    t = StepTimes(denoise_s=0.5, train_s=2.0)
    plan = restore_plan(t, faces=3, steps=25, megapixels=2.0, batch=2)
    assert [(p.stages, p.seconds, p.paced) for p in plan] == [
        (REPAIR_STAGES, REPAIR_SECONDS_PER_MEGAPIXEL * 2.0, False),
        (frozenset({"restore"}), 2 * 25 * 0.5, True),  # two faces in the first batch
        (frozenset({"restore"}), 25 * 0.5, True),
    ]
    single = [p.stages for p in restore_plan(t, faces=2, single_photo=True)]
    assert single[1:] == [frozenset({s}) for s in ("album", "train", "restore") * 2]
    assert [p.stages for p in restore_plan(t, faces=0)] == [REPAIR_STAGES]


def test_a_jobs_own_pace_rescales_what_is_left_of_its_plan():
    """The speed check promised 22 minutes; the job's steps take a twentieth of what was
    planned, and from the moment that is measured the rest of the job follows it."""
    from gen2res_desktop.core.estimates import REPAIR_STAGES, PlanClock, StageEstimate

    plan = [
        StageEstimate(REPAIR_STAGES, 60.0, paced=False),
        StageEstimate(frozenset({"album"}), 600.0),
        StageEstimate(frozenset({"restore"}), 660.0),
    ]
    clock = PlanClock(plan)
    assert clock.seconds_left("loading", 0, 1, None, now=0.0) == 1320.0  # not begun: all
    clock.note("damage", 0, 1, now=0.0)
    # the repair is timed by the clock, not by its tiles; it never goes below zero
    assert clock.seconds_left("damage", 0, 1, None, now=20.0) == 40.0 + 1260.0
    assert clock.seconds_left("colour", 1, 1, None, now=200.0) == 1260.0
    clock.note("album", 1, 100, now=30.0)
    assert clock.seconds_left("album", 1, 100, None, now=30.0) == 594.0 + 660.0
    clock.learn_pace("faces", 9.0, 4)  # the pace of a stage of no part: not the prior's
    assert clock.factor == 1.0
    clock.learn_pace("album", 0.3, 100)  # 0.3 s a step measured, 6 s planned
    assert clock.factor == pytest.approx(0.05)
    assert clock.seconds_left("album", 10, 100, 27.0, now=33.0) == pytest.approx(27.0 + 33.0)
    clock.note("faces", 0, 1, now=60.0)  # a stage of no part: still the album
    clock.note("restore", 1, 25, now=61.0)
    assert clock.index == 2
    assert clock.seconds_left("restore", 1, 25, None, now=61.0) == pytest.approx(33.0 * 24 / 25)

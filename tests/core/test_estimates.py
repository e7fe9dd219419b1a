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

"""Prompt and output lengths drawn from a stated distribution (agent_sessions' prompt_tokens and
output_tokens): gamma with the stated mean and coefficient of variation, checked over 20,000 draws."""

from __future__ import annotations

import random
import statistics

import pytest

from harness.load.corpus import draw_length
from harness.schemas.checklist import Lengths, ScenarioPlan


@pytest.mark.parametrize(("mean", "cv"), [(64, 0.5), (200, 1.0), (16, 0.25)])
def test_lengths_have_the_stated_mean_and_cv(mean: float, cv: float) -> None:
    rng = random.Random(7)
    draws = [draw_length(Lengths(mean=mean, cv=cv), rng) for _ in range(20_000)]
    measured_mean = statistics.fmean(draws)
    assert abs(measured_mean - mean) <= 0.05 * mean
    assert abs(statistics.pstdev(draws) / measured_mean - cv) <= 0.05 * cv
    assert min(draws) >= 1 and all(isinstance(d, int) for d in draws)


def test_no_spread_is_the_mean_and_no_spec_is_none() -> None:
    rng = random.Random(1)
    assert {draw_length(Lengths(mean=40.4), rng) for _ in range(100)} == {40}
    assert draw_length(None, rng) is None


def test_a_plan_states_them() -> None:
    plan = ScenarioPlan.model_validate({"turn_rate_rps": 4, "output_tokens": {"mean": 32, "cv": 0.5}})
    assert plan.output_tokens == Lengths(mean=32, cv=0.5) and plan.prompt_tokens is None
    with pytest.raises(ValueError, match="greater than 0"):
        ScenarioPlan.model_validate({"prompt_tokens": {"mean": 0}})

"""Learned service durations, the pure estimator (issue 14 item 1, ``domain.durations``): properties."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatch.domain.durations import effective_minutes, learn, trimmed_mean

minutes = st.integers(min_value=0, max_value=10080)
samples = st.lists(minutes, min_size=1, max_size=300)
trims = st.sampled_from([0.0, 0.05, 0.1, 0.2, 0.25, 0.4])


@given(samples, trims)
def test_trimmed_mean_lies_between_the_kept_extremes_and_ignores_order(xs, trim):
    k = math.floor(len(xs) * trim)
    s = sorted(xs)
    m = trimmed_mean(xs, trim)
    assert s[k] <= m <= s[len(s) - 1 - k]
    assert m == trimmed_mean(list(reversed(xs)), trim)


@given(samples, trims, st.integers(min_value=0, max_value=10**6))
def test_outliers_within_the_trimmed_share_do_not_move_it_beyond_the_rest(xs, trim, big):
    """A forgotten timer (huge labour minutes) among at most the trimmed share cannot pull the estimate above
    the largest ordinary sample."""
    n = len(xs)
    k = math.floor(n * trim)
    if k == 0:
        return
    polluted = sorted(xs)[:n - k] + [max(xs) + big] * k
    assert trimmed_mean(polluted, trim) <= max(sorted(xs)[:n - k])


@given(samples, st.integers(min_value=1, max_value=50), trims)
def test_no_learned_value_below_the_minimum_sample_count(xs, min_samples, trim):
    got = learn(xs, min_samples=min_samples, trim=trim)
    assert got.samples == len(xs)
    if len(xs) < min_samples:
        assert got.minutes is None
    else:
        assert got.minutes is not None and min(xs) <= got.minutes <= max(xs)


@given(st.integers(min_value=0, max_value=1440), st.integers(min_value=1, max_value=100), trims)
def test_constant_samples_learn_that_constant(v, n, trim):
    assert learn([v] * n, min_samples=1, trim=trim).minutes == v


@given(st.one_of(st.none(), minutes), st.one_of(st.none(), minutes), st.booleans())
def test_a_manual_override_wins_then_learned_then_configured(configured, learned, override):
    got = effective_minutes(configured, learned, override=override)
    if override and configured is not None:
        assert got == configured
    elif learned is not None:
        assert got == learned
    else:
        assert got == configured


def test_bad_parameters_are_refused():
    with pytest.raises(ValueError):
        trimmed_mean([], 0.1)
    with pytest.raises(ValueError):
        trimmed_mean([1], 0.5)
    with pytest.raises(ValueError):
        learn([1], min_samples=0)

"""Property tests are deterministic in CI (CI=true) and keep exploring on a developer's machine."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

from tests.conftest import hypothesis_profile


@pytest.mark.parametrize(
    ("environ", "profile"),
    [
        ({"CI": "true"}, "ci"),
        ({"CI": "TRUE"}, "ci"),
        ({"CI": "1"}, "ci"),
        ({"CI": "false"}, "explore"),
        ({"CI": ""}, "explore"),
        ({}, "explore"),
    ],
)
def test_profile_follows_ci(environ, profile):
    assert hypothesis_profile(environ) == profile


def test_ci_profile_replays_the_same_examples():
    ci = settings.get_profile("ci")
    assert ci.derandomize is True
    assert ci.database is None
    assert settings.get_profile("explore").derandomize is False


def test_this_run_uses_the_profile_its_environment_asks_for():
    assert settings.default.derandomize is (hypothesis_profile(os.environ) == "ci")

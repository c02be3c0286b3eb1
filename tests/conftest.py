"""Shared fixtures.  Qt runs offscreen; local plugins come only from folders a test makes."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from hypothesis import settings

# Continuous integration replays the same examples every time; locally they vary.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(autouse=True)
def _isolated_plugin_folder(tmp_path_factory, monkeypatch):
    """Keep the user's own local plugins out of every test."""
    folder = tmp_path_factory.mktemp("no-local-plugins")
    monkeypatch.setenv("ZOO_PLUGIN_PATH", str(folder))
    monkeypatch.delenv("ZOO_DISABLE_PLUGINS", raising=False)


@pytest.fixture(scope="session")
def registry():
    from zoo import load_registry

    return load_registry(local=False)

"""Test session: the real stack comes from aftersales_shared.testing.plugin (loaded in pyproject)."""

"""Test helpers: the real stack as pytest fixtures, service settings, tokens, running apps."""

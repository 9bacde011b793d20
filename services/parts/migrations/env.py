"""Alembic environment of the parts service."""

import importlib
import pkgutil

import parts
from aftersales_shared.migrations import run_env
from parts.models import Base

# import every module so all tables are registered on Base.metadata (autogenerate)
for mod in pkgutil.walk_packages(parts.__path__, "parts."):
    if mod.name.endswith(("models", ".tables")):
        importlib.import_module(mod.name)

run_env(Base.metadata, "parts")

"""Alembic environment of the dispatch service."""

import importlib
import pkgutil

import dispatch
from aftersales_shared.migrations import run_env
from dispatch.models import Base

# import every module so all tables are registered on Base.metadata (autogenerate)
for mod in pkgutil.walk_packages(dispatch.__path__, "dispatch."):
    if mod.name.endswith(("models", ".tables")):
        importlib.import_module(mod.name)

run_env(Base.metadata, "dispatch")

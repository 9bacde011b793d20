"""Alembic environment of the ticketing service."""

import importlib
import pkgutil

import ticketing
from aftersales_shared.migrations import run_env
from ticketing.models import Base

# import every module so all tables are registered on Base.metadata (autogenerate)
for mod in pkgutil.walk_packages(ticketing.__path__, "ticketing."):
    if mod.name.endswith(("models", ".tables")):
        importlib.import_module(mod.name)

run_env(Base.metadata, "ticketing")

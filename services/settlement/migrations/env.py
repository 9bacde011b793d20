"""Alembic environment of the settlement service."""

import importlib
import pkgutil

import settlement
from aftersales_shared.migrations import run_env
from settlement.models import Base

# import every module so all tables are registered on Base.metadata (autogenerate)
for mod in pkgutil.walk_packages(settlement.__path__, "settlement."):
    if mod.name.endswith(("models", ".tables")):
        importlib.import_module(mod.name)

run_env(Base.metadata, "settlement")

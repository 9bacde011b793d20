"""The parts schema's declarative base; aggregate packages define their tables on it."""

from aftersales_shared.db import make_base

Base = make_base("parts")

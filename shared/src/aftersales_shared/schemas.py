"""The one strict base model every request schema derives from, and the shared read base."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """A request body: unknown fields are refused (422 naming them), surrounding whitespace is dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ReadModel(BaseModel):
    """A response body: built from rows or dicts by attribute or key."""

    model_config = ConfigDict(from_attributes=True)

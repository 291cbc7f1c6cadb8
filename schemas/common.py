"""Wire types shared by every area: safe strings, pages, problems."""

from __future__ import annotations

import re
from typing import Annotated, Generic, TypeVar
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

T = TypeVar("T")

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SLUG = r"^[a-z0-9]+(-[a-z0-9]+)*$"


def _no_control_characters(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("control characters (such as NUL) are not allowed")
    return value


def _single_line(value: str) -> str:
    if "\n" in value or "\r" in value:
        raise ValueError("must be a single line")
    return value


def _no_surrogates(value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("must be valid Unicode text") from exc
    return value


def text_field(max_length: int, min_length: int = 1) -> object:
    return Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length),
        AfterValidator(_no_surrogates),
        AfterValidator(_no_control_characters),
    ]


def line_field(max_length: int, min_length: int = 1) -> object:
    return Annotated[text_field(max_length, min_length), AfterValidator(_single_line)]  # type: ignore[valid-type]


def _public_https_url(value: str) -> str:
    if any(char.isspace() for char in value):
        raise ValueError("must not contain spaces (percent-encode them)")
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname:
        raise ValueError("must be an absolute https:// URL")
    if parts.username is not None or parts.password is not None:
        raise ValueError("must not carry credentials")
    return value


# An image a client shows as is (an icon): https only, no credentials, the design's 500 chars.
HttpsUrl = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=9, max_length=500),
    AfterValidator(_no_surrogates),
    AfterValidator(_no_control_characters),
    AfterValidator(_single_line),
    AfterValidator(_public_https_url),
]

Name = line_field(100)
Title = line_field(200)
Slug = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=_SLUG)]
ShortText = text_field(2_000)
LongText = text_field(20_000)


class WireModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class InputModel(BaseModel):
    """Request bodies refuse unknown fields, so a typo is an error, not a silent no-op."""

    model_config = ConfigDict(extra="forbid")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(None, description="Pass as ?cursor= for the next page.")


class FieldError(BaseModel):
    pointer: str
    message: str
    rule: str | None = None


class Problem(BaseModel):
    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = None

"""Wire models for accounts and tokens."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, EmailStr, Field, StringConstraints, field_validator

from schemas.common import InputModel, Name, ShortText, WireModel

Username = Annotated[
    str, StringConstraints(min_length=3, max_length=32, pattern=r"^[A-Za-z0-9_]+$")
]
Password = Annotated[str, StringConstraints(min_length=10, max_length=256)]
Url = Annotated[str, StringConstraints(max_length=2048, pattern=r"^https?://[^\s\x00]+$")]


class RegisterIn(InputModel):
    email: EmailStr = Field(max_length=254)
    username: Username
    password: Password

    @field_validator("password")
    @classmethod
    def _password_is_text(cls, value: str) -> str:
        if "\x00" in value:
            raise ValueError("must not contain NUL")
        return value


class LoginIn(InputModel):
    login: Annotated[str, StringConstraints(min_length=1, max_length=254)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]


class RefreshIn(InputModel):
    refresh_token: Annotated[str, StringConstraints(min_length=1, max_length=512)]


class TokenPair(WireModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the access token expires.")


class ProfilePatch(InputModel):
    display_name: Name | None = None  # type: ignore[valid-type]
    avatar_url: Url | None = None
    bio: ShortText | None = None  # type: ignore[valid-type]


class PublicProfile(WireModel):
    id: uuid.UUID
    username: str
    display_name: str | None
    avatar_url: str | None
    bio: str | None
    role: str
    created_at: datetime


class ContributorProfile(PublicProfile):
    """A public profile with what the contributor has published (visible items only)."""

    idea_count: int
    scene_count: int
    segment_count: int


class Me(PublicProfile):
    email: str
    email_verified: bool
    is_active: bool
    last_login_at: datetime | None


Token = Annotated[
    str, StringConstraints(min_length=16, max_length=128, pattern=r"^[A-Za-z0-9_-]+$")
]


class PasswordResetIn(InputModel):
    email: EmailStr = Field(max_length=254)


class PasswordResetConfirmIn(InputModel):
    token: Token = Field(description="The token from the reset mail's link.")
    password: Password

    @field_validator("password")
    @classmethod
    def _password_is_text(cls, value: str) -> str:
        if "\x00" in value:
            raise ValueError("must not contain NUL")
        return value


class VerifyEmailConfirmIn(InputModel):
    token: Token = Field(description="The token from the verification mail's link.")


class LoginCodeIn(InputModel):
    code: Token = Field(description="The one-time code from the OpenID callback's redirect.")


class OIDCProviders(WireModel):
    providers: list[str] = Field(
        description="Names of the configured OpenID providers; sign in at "
        "/v1/auth/oidc/{name}/login."
    )


class MailAccepted(WireModel):
    detail: str


class AccountExport(WireModel):
    """Everything the platform holds about the caller.

    Besides `profile`, one list per table that names the account (`ideas`, `scenes`,
    `segments`, `jobs`, `likes`, `user_topics` (topic proposals), `refresh_tokens`,
    `account_tokens`, `oauth_accounts`, `job_idempotency_keys`, and any table added later
    with a `user_id`), plus
    `bible_versions_written`, `scene_views`, `flags_filed`, `moderation_actions_taken` and
    `moderation_of_account`. Secrets and their digests are never included.
    """

    model_config = ConfigDict(extra="allow")

    format: int = Field(description="The export's format version.")
    exported_at: datetime
    profile: dict[str, Any]

"""The search vocabulary: every word written in searchable text, for typo correction."""

from __future__ import annotations

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from domain.base import Base


class SearchWord(Base):
    """One lowercased word; filled by the `search_words_collect` trigger (migration 0003).

    Only ever grows: a word whose last use was edited away still corrects towards content that
    no longer contains it, which costs an empty alternative in the query and nothing else.
    """

    __tablename__ = "search_words"
    __table_args__ = (
        Index(
            "ix_search_words_trgm",
            "word",
            postgresql_using="gin",
            postgresql_ops={"word": "gin_trgm_ops"},
        ),
    )

    word: Mapped[str] = mapped_column(String(32), primary_key=True)

"""What :func:`spamscore.message.parse` returns, and the limits it works under.

``ParsedMessage`` is the one type the feature extractors see of a message;
``Limits`` bounds the work parse does on hostile mail.  They live apart from
``parse`` so that the part modules (``bodies``, ``mime``) can build them
without importing the package (an import cycle).
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Attachment", "DEFAULT_LIMITS", "Limits", "ParsedMessage"]



@dataclass(frozen=True, slots=True)
class Limits:
    """Resource limits applied while parsing (safe defaults for hostile mail).

    ``max_bytes``: only the first ``max_bytes`` of a message are parsed (the
    rest is still counted in ``size``); like SpamAssassin's 500 KB limit.
    ``max_parts``: MIME parts looked at.  ``max_depth``: MIME nesting followed.
    ``max_part_bytes``: decoded bytes kept per text or HTML part.
    ``max_headers``: header fields kept.
    """

    max_bytes: int = 512 * 1024
    max_parts: int = 200
    max_depth: int = 30
    max_part_bytes: int = 256 * 1024
    max_headers: int = 500


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True, slots=True)
class Attachment:
    """A leaf part that is not a text or HTML body: its file name (decoded, may be empty), type and size.

    ``size`` is the payload's length, or 3/4 of it for base64 (the decoded
    size, without decoding an attachment no feature reads).
    """

    name: str
    content_type: str
    size: int


@dataclass(slots=True)
class ParsedMessage:
    """What the feature extractors see of a message.

    ``headers`` holds ``(lower-case name, decoded value)`` pairs in message order.
    ``text`` and ``html`` hold the decoded text/plain and text/html bodies.
    ``parts`` holds ``(content type, charset)`` per leaf part, for the report.
    """

    headers: list[tuple[str, str]] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    parts: list[tuple[str, str]] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)
    size: int = 0
    truncated: bool = False

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first header called ``name`` (case-insensitive), decoded."""
        name = name.lower()
        for key, value in self.headers:
            if key == name:
                return value
        return default

    def get_all(self, name: str) -> list[str]:
        name = name.lower()
        return [value for key, value in self.headers if key == name]

    @property
    def subject(self) -> str:
        return self.get("subject", "") or ""

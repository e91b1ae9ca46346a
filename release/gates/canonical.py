"""Canonical JSON and hashing, so equal data always hashes to the same digest."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import Enum
from typing import Any

ZERO_HASH = "0" * 64


def iso_utc(moment: datetime) -> str:
    """Render an aware datetime as an ISO-8601 UTC string with microseconds."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: every timestamp must carry a timezone")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _plain(value: Any) -> Any:
    """Turn enums, datetimes, dataclasses, tuples and sets into plain JSON values."""
    if isinstance(value, Enum):
        return _plain(value.value)
    if isinstance(value, datetime):
        return iso_utc(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (frozenset, set)):
        return sorted(_plain(v) for v in value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"cannot canonicalise a {type(value).__name__}")


def canonical_json(value: Any) -> str:
    """Serialise to compact JSON with sorted keys, so the same data gives the same text."""
    return json.dumps(_plain(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def sha256_hex(text: str | bytes) -> str:
    """Return the hex sha256 of text (UTF-8) or bytes."""
    return hashlib.sha256(text.encode("utf-8") if isinstance(text, str) else text).hexdigest()


def canonical_hash(value: Any) -> str:
    """Return the sha256 of the canonical JSON of value."""
    return sha256_hex(canonical_json(value))


def config_hash(gate_config: Mapping[str, Any]) -> str:
    """Hash a gate's config table (as parsed from release.toml) for evidence binding."""
    return canonical_hash(gate_config)

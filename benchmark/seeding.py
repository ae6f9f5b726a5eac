"""Seeds hashed from the parts of a run, so they never depend on run order (benchopt's rule)."""
from __future__ import annotations

import hashlib
import json
from typing import Any


def stable_hash(*parts: Any, digits: int = 16) -> str:
    """Hex digest of a JSON rendering of ``parts``; the same parts give the same digest anywhere."""
    payload = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()[:digits]


def stable_seed(*parts: Any) -> int:
    """A 32-bit seed from ``parts``."""
    return int(stable_hash(*parts, digits=8), 16)

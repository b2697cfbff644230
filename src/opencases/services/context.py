"""RequestContext: who is calling, where, and with what store and settings."""

from __future__ import annotations

import os
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache

from opencases.config import Settings
from opencases.store.store import Store


def _now_ms() -> int:
    return int(time.time() * 1000)


# Random UUIDs (version 4) from a generator of this process's own: uuid.uuid4() reads the
# OS's entropy on every call, a system call that cost 5% of a server's time under load (three
# ids a request). These ids name resources, requests and cases; they are no secret.
_ids = random.Random()
# A forked child would repeat its parent's ids (the module-level random reseeds itself on
# fork; an instance of our own does not).
os.register_at_fork(after_in_child=_ids.seed)
_UUID4_CLEAR = ~((0xC000 << 48) | (0xF000 << 64)) & ((1 << 128) - 1)
_UUID4_SET = (0x8000 << 48) | (0x4000 << 64)


def new_id() -> str:
    """A random UUID (version 4), in its usual text form."""
    h = "%032x" % (_ids.getrandbits(128) & _UUID4_CLEAR | _UUID4_SET)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


@dataclass
class RequestContext:
    store: Store
    settings: Settings
    account: str = "000000000000"
    region: str = "us-east-1"
    principal_arn: str = "arn:aws:iam::000000000000:root"
    request_id: str = field(default_factory=new_id)
    clock: Callable[[], int] = _now_ms
    partition: str = "aws"

    def now_ms(self) -> int:
        return self.clock()

    def arn(self, resource: str) -> str:
        """A Cases ARN for `resource` (e.g. `domain/<id>/field/<id>`), SPEC.md section 7."""
        return f"arn:{self.partition}:cases:{self.region}:{self.account}:{resource}"


def ms_to_datetime(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


@lru_cache(maxsize=1024)  # a write stamps several values with the same time
def ms_to_iso(ms: int) -> str:
    """`YYYY-MM-DDTHH:MM:SS.sssZ`, the form DESIGN.md fixes for DateTime values."""
    # Whole seconds from isoformat (a fifth of strftime's time), milliseconds from the integer.
    return datetime.fromtimestamp(ms // 1000, tz=UTC).isoformat()[:-6] + f".{ms % 1000:03d}Z"


def new_time_ordered_id(now_ms: int) -> str:
    """A UUIDv7 (RFC 9562): a valid UUID whose first 48 bits are the time in milliseconds.

    Used for case ids: AWS's are UUIDs too, and time order makes index inserts append at the
    end of the B-trees instead of landing at random pages (bulk import at a million cases).
    """
    rand = _ids.getrandbits(80)
    value = (now_ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | (rand >> 68 & 0xFFF) << 64 | 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    return str(uuid.UUID(int=value))

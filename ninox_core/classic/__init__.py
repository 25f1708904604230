"""The classic Ninox REST API (`/v1`, docs/api.md) as a `ninox_core.backend.Backend`.

The first implementation of the backend seam (docs/decisions/0020-backend-seam.md):
letter ids, keyset paging by `sinceId`, the integer change sequence, one
POST for creates, updates and `_upsert`s. The HTTP calls themselves are
still `NinoxClient`'s typed helpers; this package is where they are turned
into domain types, and the only place outside the client that knows the
classic wire format.
"""

from ninox_core.classic.backend import CLASSIC_CAPABILITIES, ClassicBackend
from ninox_core.classic.records import FieldIds

__all__ = ["CLASSIC_CAPABILITIES", "ClassicBackend", "FieldIds"]

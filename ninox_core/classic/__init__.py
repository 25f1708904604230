"""The classic Ninox REST API (`/v1`, docs/api.md) behind the backend seam.

The first implementation of `ninox_core.backend.Backend`
(docs/decisions/0020-backend-seam.md): letter ids, keyset paging by
`sinceId`, the integer change sequence, one POST for creates, updates and
`_upsert`s.

- `backend.py`: `ClassicBackend`, the seam's calls over `NinoxClient`'s
  typed helpers;
- `records.py`: classic records and POST elements ↔ domain types (a
  name-keyed answer is keyed by id here, once);
- `checks.py`: the checks of the classic answers (docs/design.md,
  "Checked answers").

Import the modules themselves: this package imports nothing, so that
`ninox_core.transport.client` can use `checks` without a cycle.
"""

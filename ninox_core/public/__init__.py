"""Ninox 4's Public API (`…/api/v1/workspace/{id}`, docs/api.md) behind the backend seam.

The second implementation of `ninox_core.backend.Backend`
(docs/decisions/0020-backend-seam.md, 0022-public-backend.md): workspace →
module → table, everything addressed by name, `limit` + `offset` pages of
at most 100, a change feed of ids with an `asOf` cursor on tables with
history, separate transactional POST / PATCH / upsert / DELETE.

- `backend.py`: `PublicBackend`, the seam's calls;
- `calls.py`: the paths and requests over the shared transport, and the
  one-line errors of this API (key, scope, quota, web page);
- `checks.py`: the checks of its answers (every success is JSON with `data`);
- `schema.py`: modules, tables and fields → `NinoxTable` (the shared type names);
- `records.py`: records → `Record`, values in the shared read forms;
- `paging.py`: offset pages that end right whatever `has_more` says;
- `feed.py`: the change feed → `ChangeSet`, and the `asOf` cursor;
- `writes.py`: a write plan → requests within the API's limits.
"""

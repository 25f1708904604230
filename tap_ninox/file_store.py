r"""Where `download_files` puts attachment bytes (docs/spec.md "Streams").

Layout: `<files_path>/<database id>/<table id>/<record id>/<safe name>`, on
the local disk or any fsspec URL (`s3://…`, `gs://…` with that fsspec
package installed). Every part of it after `files_path` comes from the
server, so none is trusted (docs/design.md "The files stream"):

- **Safe ids.** A database, table or record id made of ASCII letters,
  digits, `_` and `-` (every id Ninox gives) is its own directory name.
  Any other id is percent-encoded (`safe_component`: each other byte as
  `%XX`, `.` included, so `..` is `%2E%2E` and `../x` is `%2E%2E%2Fx`):
  it can neither climb out of `files_path` nor share a directory with
  another id.

- **Safe names.** An attachment's name is kept when every common
  filesystem can store it. Otherwise (`/ \\ : * ? " < > |`, control
  characters, trailing dots or spaces, Windows device names such as `CON`
  or `lpt1.txt`, names too long, or names ending like this module's own
  files) the offending characters become `_` and a short hash of the
  original name is added before the extension, so two names that sanitise
  alike never share a file. Names of one record that differ only in case
  (or Unicode normalisation) are all tagged too, for case-insensitive
  filesystems. The `name` column keeps the original name.
- **No second download.** Next to each file a sidecar `<safe name>.ninox.json`
  holds the size, `seq` and sha256 of the bytes it describes. A file whose
  sidecar matches the listing's size and `seq`, and whose bytes on disk have
  that size, is not fetched again. The sidecar is written last, so a file
  without one (a run killed between the two) is fetched again.
- **Never a half file.** Bytes go to `<safe name>.ninox-part` first and are
  moved to their name only once complete and of the listed size.
- **No symlink is written through** (local disks): part files and sidecars
  are created afresh (`O_EXCL | O_NOFOLLOW`) after removing whatever had
  their name, the move replaces a link at the final name instead of
  following it, and a directory below `files_path` that is a symlink
  fails the run with one line. `files_path` itself may be a symlink.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fsspec
from fsspec.implementations.local import LocalFileSystem

from ninox_core.backend import Attachment
from ninox_core.errors import NinoxError

#: Suffix of the sidecar that describes a downloaded file.
SIDECAR_SUFFIX = ".ninox.json"
#: Suffix of a download in progress.
PART_SUFFIX = ".ninox-part"
#: Longest safe name in UTF-8 bytes, leaving room for the suffixes above
#: within the usual 255-byte limit of a file name.
MAX_NAME_BYTES = 200

_UNSAFE_CHARS = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')
#: Ids made only of these are their own directory names (see `safe_component`).
_SAFE_ID = re.compile(r"[A-Za-z0-9_-]+")
_SAFE_ID_CHARS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_WINDOWS_DEVICES = re.compile(
    r"^(con|prn|aux|nul|conin\$|conout\$|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$", re.IGNORECASE
)


def safe_component(component: str) -> str:
    """The directory name of a database, table or record id from the server.

    Kept as it is when made of ASCII letters, digits, `_` and `-` (and not
    too long); otherwise every other byte of its UTF-8 form becomes `%XX`
    (so the result always holds a `%` and never equals a kept id), the
    empty id is `%`, and a result too long for a file name is cut and
    ends with `~` and a hash of the id.
    """
    if _SAFE_ID.fullmatch(component) and len(component) <= MAX_NAME_BYTES:
        return component
    encoded = "".join(
        chr(byte) if byte in _SAFE_ID_CHARS else f"%{byte:02X}" for byte in component.encode()
    )
    if not encoded:
        return "%"
    if len(encoded) <= MAX_NAME_BYTES:
        return encoded
    tag = "~" + hashlib.sha256(component.encode()).hexdigest()[:16]
    head = encoded[: MAX_NAME_BYTES - len(tag)]
    cut = head.rfind("%", len(head) - 2)  # never keep half of a `%XX`
    return (head[:cut] if cut >= 0 else head) + tag


def safe_name(name: str, *, tagged: bool = False) -> str:
    """A file name every common filesystem can store, unchanged when it already is.

    `tagged` adds the hash of the original name even to a safe name (see
    `safe_names`).
    """
    cleaned = _UNSAFE_CHARS.sub("_", name)
    stripped = cleaned.rstrip(". ")
    if stripped != cleaned:
        cleaned = stripped + "_"
    if _WINDOWS_DEVICES.match(cleaned):
        cleaned = "_" + cleaned
    if cleaned.casefold().endswith((SIDECAR_SUFFIX, PART_SUFFIX)):
        cleaned += "_"
    too_long = len(cleaned.encode()) > MAX_NAME_BYTES
    if cleaned == name and not too_long and name and not tagged:
        return name
    # The hash of the original name keeps two names that sanitise alike apart.
    tag = "~" + hashlib.sha256(name.encode()).hexdigest()[:8]
    stem, dot, ext = cleaned.rpartition(".")
    if not dot or not stem or len(ext.encode()) > 16:
        stem, ext = cleaned, ""
    suffix = tag + (f".{ext}" if ext else "")
    return _truncate(stem, MAX_NAME_BYTES - len(suffix.encode())) + suffix


def safe_names(names: Iterable[str]) -> dict[str, str]:
    """The safe name of each attachment of one record.

    Names whose safe forms differ only in case or Unicode normalisation
    (`Scan.pdf` and `scan.pdf`) would share one file on Windows and macOS:
    each of them is tagged with its hash, whatever order they come in.
    """
    plain = {name: safe_name(name) for name in names}
    groups: dict[str, list[str]] = {}
    for name, safe in plain.items():
        groups.setdefault(unicodedata.normalize("NFC", safe).casefold(), []).append(name)
    for group in groups.values():
        if len(group) > 1:
            for name in group:
                plain[name] = safe_name(name, tagged=True)
    return plain


def _truncate(text: str, max_bytes: int) -> str:
    """`text` cut to at most `max_bytes` of UTF-8, never inside a character."""
    encoded = unicodedata.normalize("NFC", text).encode()[:max_bytes]
    return encoded.decode("utf-8", "ignore").rstrip(". ")


@dataclass(frozen=True)
class StoredFile:
    """Where an attachment's bytes are and their digest."""

    path: str
    sha256: str
    downloaded: bool


class FileStore:
    """The `files_path` tree of one tap run."""

    def __init__(self, files_path: str) -> None:
        """Resolve `files_path` (a directory or an fsspec URL); nothing is written yet."""
        self.url = files_path.rstrip("/") or "."
        self.fs, self.root = fsspec.core.url_to_fs(self.url)
        #: On a local disk, files are written with os calls that never follow a symlink.
        self.local = isinstance(self.fs, LocalFileSystem)

    def store(
        self,
        ids: tuple[str, str, int],
        meta: Attachment,
        fetch: Callable[[Callable[[Iterator[bytes]], str]], str],
        file_name: str | None = None,
    ) -> StoredFile:
        """Make the attachment `meta` of record `ids` (database, table, record) present.

        `file_name` is its name on disk (default: `safe_name` of its name;
        `safe_names` gives those of a whole record).

        `fetch(consume)` downloads the bytes and passes them to `consume`
        (see `Backend.download_file`); it is only called when the
        copy on disk is missing or stale.
        """
        file_name = file_name or safe_name(meta.name)
        directories = [safe_component(str(part)) for part in ids]
        relative = "/".join([*directories, file_name])
        target = f"{self.root}/{relative}"
        url = f"{self.url}/{relative}"
        size, seq = meta.size, meta.seq
        known = self._sidecar(target)
        if (
            known is not None
            and known.get("size") == size
            and known.get("seq") == seq
            and isinstance(known.get("sha256"), str)
            and self._size_on_disk(target) == size
        ):
            return StoredFile(url, known["sha256"], downloaded=False)

        self._make_directories(directories)
        part = target + PART_SUFFIX

        def consume(chunks: Iterator[bytes]) -> str:
            digest = hashlib.sha256()
            with self._open_new(part) as out:
                for chunk in chunks:
                    digest.update(chunk)
                    out.write(chunk)
            return digest.hexdigest()

        try:
            sha256 = fetch(consume)
        except BaseException:
            self._remove(part)
            raise
        self._move(part, target)
        sidecar = {"name": meta.name, "size": size, "seq": seq, "sha256": sha256}
        sidecar_part = target + SIDECAR_SUFFIX + PART_SUFFIX
        with self._open_new(sidecar_part) as out:
            out.write(json.dumps(sidecar).encode())
        self._move(sidecar_part, target + SIDECAR_SUFFIX)
        return StoredFile(url, sha256, downloaded=True)

    def _make_directories(self, parts: list[str]) -> None:
        """Create `<root>/<parts...>`; on a local disk, refuse a symlink among them."""
        if not self.local:
            self.fs.makedirs("/".join([self.root, *parts]), exist_ok=True)
            return
        path = Path(self.root)
        path.mkdir(parents=True, exist_ok=True)  # files_path itself may be a link
        for part in parts:
            path /= part
            if path.is_symlink():
                raise NinoxError(
                    f"download_files: {path} is a symlink, and downloads never write through "
                    "one; remove it or choose another files_path"
                )
            with contextlib.suppress(FileExistsError):
                path.mkdir()

    def _open_new(self, path: str) -> Any:
        """`path` opened for writing as a new file; whatever had its name is removed first."""
        if not self.local:
            return self.fs.open(path, "wb")
        with contextlib.suppress(FileNotFoundError):
            Path(path).unlink()  # removes a symlink itself, never its target
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        return os.fdopen(os.open(path, flags | getattr(os, "O_BINARY", 0), 0o644), "wb")

    def _move(self, source: str, target: str) -> None:
        """Rename `source` to `target`; a symlink at `target` is replaced, not followed."""
        if self.local:
            Path(source).replace(target)
        else:
            self.fs.mv(source, target)

    def _sidecar(self, target: str) -> dict[str, Any] | None:
        if self.local and Path(target + SIDECAR_SUFFIX).is_symlink():
            return None  # not one this class wrote
        try:
            with self.fs.open(target + SIDECAR_SUFFIX, "r", encoding="utf-8") as handle:
                data = json.load(handle)
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def _size_on_disk(self, target: str) -> int | None:
        try:
            return int(self.fs.size(target))
        except (OSError, TypeError, ValueError):
            return None

    def _remove(self, path: str) -> None:
        with contextlib.suppress(OSError):
            self.fs.rm(path)

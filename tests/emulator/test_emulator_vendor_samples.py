"""Every sample request of the vendor's API pages, sent to the emulator's demo.

The samples are parsed out of the copies of the vendor's pages in
`tests/vendor_pages/` (`public-cloud-api.txt`, `private-cloud-api.txt`) at run
time; host and key are swapped, ids stay as they are. Each runs on a fresh
demo and must answer 2xx with the same JSON container types and (at least)
the keys of the vendor's sample answer, where the public page shows one; a
private sample is compared with the public page's answer of the same route.

Out of scope (not in docs/api.md), listed in `OUT_OF_SCOPE` and checked to
be exactly the samples skipped: the private page's views
(`.../databases/{db}/views`, `.../tables/{t}/views`), shared views
(`.../views/{view}/share`, GET/POST/DELETE) and file share links
(`.../files/{file}/share`, GET/POST/DELETE).
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

# Copies of the vendor's API pages, kept with the tests.
API_DIR = Path(__file__).resolve().parents[1] / "vendor_pages"
PAGES = ("public-cloud-api.txt", "private-cloud-api.txt")

OUT_OF_SCOPE = {
    ("GET", "/databases/*/views"),
    ("GET", "/tables/*/views"),
    ("GET", "/views/*/share"),
    ("POST", "/views/*/share"),
    ("DELETE", "/views/*/share"),
    ("GET", "/files/*/share"),
    ("POST", "/files/*/share"),
    ("DELETE", "/files/*/share"),
}
#: Keys whose content depends on the data; only their JSON type is compared.
DATA_KEYS = {"fields", "updates", "views", "types", "nextRids", "config", "reports"}


@dataclass
class Sample:
    """One sample request (and the vendor's answer, if the page shows one)."""

    page: str
    method: str
    url: str
    data: str | None = None
    upload: str | None = None
    answer: Any = None

    @property
    def path(self) -> str:
        return re.sub(r"^(?:https?://)?[^/]+/v1", "", self.url)

    @property
    def route(self) -> str:
        """The path with ids replaced by `*`, e.g. `/teams/*/databases/*`."""
        parts = self.path.split("?")[0].strip("/").split("/")
        return "/" + "/".join(p if i % 2 == 0 else "*" for i, p in enumerate(parts))

    @property
    def kind(self) -> str:
        """What distinguishes samples of one route: a filtered read, an upsert."""
        if "filters" in self.path or (self.data and "filters" in self.data):
            return "filtered"
        if self.data and "_upsert" in self.data:
            return "upsert"
        return ""

    @property
    def label(self) -> str:
        return f"{self.page.split('-')[0]}:{self.method}:{self.path}"


def _lenient_json(text: str) -> Any:
    """The vendor's JSON, with its typos (missing and trailing commas) fixed."""
    text = re.sub(r"}\s*\n(\s*){", r"},\n\1{", text)
    text = re.sub(r",(\s*[}\]])", r"\1", text)
    return json.loads(text)


def _answer_before(chunk: str) -> Any:
    """The last JSON block at column 0 of a page chunk (the sample answer)."""
    lines = chunk.splitlines()
    found = None
    i = 0
    while i < len(lines):
        if lines[i].rstrip() in ("{", "["):
            closing = "}" if lines[i].rstrip() == "{" else "]"
            for j in range(i + 1, len(lines)):
                if lines[j].startswith(closing):
                    found = "\n".join(lines[i : j + 1])
                    i = j
                    break
        i += 1
    return _lenient_json(found) if found else None


def _method_before(chunk: str) -> str | None:
    methods = re.findall(r"^(get|post|put|delete|GET|POST|PUT|DELETE)\b", chunk, re.MULTILINE)
    return methods[-1].upper() if methods else None


def _sample_lines(text: str, numbered: bool) -> list[str]:
    lines = text.strip("\n").splitlines()
    out: list[str] = []
    if numbered:  # the private page numbers every line of a sample
        i = 0
        while i + 1 < len(lines) and lines[i].strip().isdigit():
            out.append(lines[i + 1])
            i += 2
        return out
    for line in lines:
        if not line.strip():
            break
        out.append(line)
    return out


def _parse(lines: list[str], page: str, method: str | None, answer: Any) -> Sample:
    url = lines[0].removeprefix("curl ").strip()
    data_lines: list[str] = []
    upload = None
    collecting = False
    for line in lines[1:]:
        if line.startswith("-X "):
            method = line[3:].strip()
            collecting = False
        elif line.startswith("-H "):
            collecting = False
        elif line.startswith("-F "):
            upload = re.search(r'@"([^"]+)"', line).group(1)  # type: ignore[union-attr]
        elif line.startswith("-D "):
            data_lines = [line[3:]]
            collecting = True
        elif collecting:
            data_lines.append(line)
    data = "\n".join(data_lines).strip().lstrip("'") or None
    if data:  # the JSON value only: the page's text may follow without a blank line
        _, end = json.JSONDecoder().raw_decode(data)
        data = data[:end]
    if method is None:
        method = "POST" if data or upload else "GET"
    return Sample(page, method.upper(), url, data, upload, answer)


def load_samples() -> list[Sample]:
    """Every sample request of both pages, plus the "alternative notation" URLs."""
    samples: list[Sample] = []
    for page in PAGES:
        text = (API_DIR / page).read_text(encoding="utf-8")
        chunks = text.split("Sample request")
        public = page.startswith("public")
        for before, after in itertools.pairwise(chunks):
            answer = _answer_before(before) if public else None
            lines = _sample_lines(after, numbered=not public)
            sample = _parse(lines, page, _method_before(before), answer)
            samples.append(sample)
            alt = re.search(r"Alternative notation.*?\n(?:\d+\n)?(https://\S+)", after, re.DOTALL)
            if alt and "Sample request" not in after[: alt.start()]:
                samples.append(Sample(page, sample.method, alt.group(1), None, None, answer))
    return samples


SAMPLES = load_samples() if API_DIR.is_dir() else []
IN_SCOPE = [
    s for s in SAMPLES if not any(s.method == m and s.route.endswith(r) for m, r in OUT_OF_SCOPE)
]
PUBLIC_ANSWERS = {(s.method, s.route, s.kind): s.answer for s in SAMPLES if s.answer is not None}


def _same_shape(got: Any, want: Any, where: str = "") -> None:
    """`got` has `want`'s container types and at least its keys."""
    if isinstance(want, dict):
        assert isinstance(got, dict), f"{where}: expected an object, got {got!r:.200}"
        for key, value in want.items():
            if key.startswith("_") or key in DATA_KEYS:
                if key in ("_id", "_mu", "_md"):
                    assert key in got, f"{where}: missing {key!r}"
                if key in DATA_KEYS:
                    assert key in got, f"{where}: missing {key!r}"
                    assert isinstance(got[key], type(value)), f"{where}.{key}: wrong type"
                continue
            if len(key) <= 2 and key.isupper():
                continue  # a field id in a raw record: data, not shape
            assert key in got, f"{where}: missing {key!r} in {sorted(got)}"
            _same_shape(got[key], value, f"{where}.{key}")
    elif isinstance(want, list):
        assert isinstance(got, list), f"{where}: expected an array, got {got!r:.200}"
        if want and got:
            for item in got:
                _same_shape(item, want[0], f"{where}[]")


def test_the_vendor_pages_were_found_and_parsed():
    assert SAMPLES, f"no vendor pages under {API_DIR}"
    assert len(SAMPLES) >= 50
    skipped = {
        (s.method, next(r for m, r in OUT_OF_SCOPE if s.method == m and s.route.endswith(r)))
        for s in SAMPLES
        if s not in IN_SCOPE
    }
    assert skipped == OUT_OF_SCOPE
    assert all(s.url.startswith(("https://", "api.ninox.com")) for s in SAMPLES)


@pytest.mark.parametrize("sample", IN_SCOPE, ids=[s.label for s in IN_SCOPE])
def test_vendor_sample_is_answered(emulator, sample: Sample, tmp_path):
    url = emulator.base_url + sample.path
    headers = {"Authorization": "Bearer test-key"}
    kwargs: dict[str, Any] = {"headers": headers, "timeout": 10}
    if sample.upload:
        kwargs["files"] = {"file": (Path(sample.upload).name, b"\xff\xd8 sample bytes")}
    elif sample.data is not None:
        headers["Content-Type"] = "application/json"
        kwargs["data"] = json.dumps(json.loads(sample.data)).encode()
    response = requests.request(sample.method, url, **kwargs)  # noqa: S113  # timeout in kwargs
    assert 200 <= response.status_code < 300, (response.status_code, response.text[:300])

    route = sample.route
    if "/files/" in route and not route.endswith("/metadata"):
        if sample.method == "GET":
            assert response.content  # bytes of the file or thumbnail
            if route.endswith("thumb.jpg"):
                assert response.headers["Content-Type"] == "image/jpeg"
        return
    body = response.json()
    want = sample.answer
    if want is None:
        want = PUBLIC_ANSWERS.get((sample.method, route, sample.kind))
    if route.endswith("/records") and sample.method == "GET" and sample.kind == "filtered":
        # docs/api.md §4 (fixed): a filtered read is still an array of the matches.
        assert isinstance(body, list)
        assert all(set(want) <= set(item) for item in body)
        return
    if want is not None:
        _same_shape(body, want, sample.label)
    if sample.method == "DELETE":
        assert body == {}

"""Which API the settings select: team_id → the classic API, workspace_id → Ninox 4's Public API."""

from __future__ import annotations

import json

import pytest

from ninox_core.backends import open_backend, uses_public_api
from ninox_core.classic.backend import ClassicBackend
from ninox_core.cli.settings import PUBLIC_BASE_URL, api_problem, client_from_config
from ninox_core.errors import NinoxAuthError, NinoxConfigError
from ninox_core.public.backend import PublicBackend
from ninox_core.transport.client import DEFAULT_BASE_URL, NinoxClient
from tests.cli_support import run
from tests.public.conftest import PUBLIC_TEST_KEY


@pytest.fixture
def client():
    with NinoxClient("k" * 8, "http://127.0.0.1:9/v1") as client:
        yield client


def test_team_id_selects_the_classic_backend(client):
    backend = open_backend({"api_key": "k", "team_id": "t"}, client)
    assert isinstance(backend, ClassicBackend)
    assert not uses_public_api({"team_id": "t"})


def test_workspace_id_selects_the_public_backend_of_that_workspace(client):
    backend = open_backend({"api_key": "k", "workspace_id": "5rdco4s18swu"}, client)
    assert isinstance(backend, PublicBackend)
    assert backend.workspace_id == "5rdco4s18swu"
    assert backend.transport is client


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"team_id": "t", "workspace_id": "w"}, "team_id and workspace_id are both set"),
        ({}, "setting team_id is required"),
    ],
)
def test_both_ids_or_neither_is_one_line(client, config, expected):
    with pytest.raises(NinoxConfigError, match=expected):
        open_backend({"api_key": "k", **config}, client)
    assert "workspace_id" in (api_problem(config) or "")


@pytest.mark.parametrize(
    ("config", "base_url"),
    [
        ({"team_id": "t"}, DEFAULT_BASE_URL),
        ({"workspace_id": "w"}, PUBLIC_BASE_URL),
        (
            {"workspace_id": "w", "base_url": "http://127.0.0.1:1/api/v1"},
            "http://127.0.0.1:1/api/v1",
        ),
    ],
)
def test_base_url_defaults_to_the_root_of_the_api_chosen(config, base_url):
    with client_from_config({"api_key": "k" * 8, **config}, "ua") as client:
        assert client.base_url == base_url


def test_the_classic_refusal_of_a_key_names_the_workspace_id_setting():
    line = str(NinoxAuthError(401, "GET", "/teams", "Unauthorized"))
    assert "a Ninox 4 workspace key needs workspace_id instead of team_id" in line


def test_a_tap_given_both_ids_fails_with_one_line_before_any_request(tmp_path, public_emulator):
    path = tmp_path / "config.json"
    config = {
        "api_key": PUBLIC_TEST_KEY,
        "base_url": public_emulator.base_url,
        "team_id": "t",
        "workspace_id": public_emulator.workspace_id,
    }
    path.write_text(json.dumps(config))
    public_emulator.clear_log()
    run("tap", "--config", str(path), "--discover").assert_one_line_failure(
        "team_id and workspace_id are both set", "keep the one your API key belongs to"
    )
    assert public_emulator.request_count() == 0

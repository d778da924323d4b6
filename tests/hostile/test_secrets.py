"""A server that repeats the access token back (verbatim, in another case, base64, URL-encoded, or in a text
long enough to be cut) never gets it into the log, the outbox, ``tagcast queue show`` or ``tagcast channels
test``: not whole, and not a beginning of 8 characters or more. Real HTTP to a loopback fake, a real SQLite
outbox, the CLI as a user runs it."""

from __future__ import annotations

import base64
import logging

import pytest
from fakes.hostile import ECHO_FORMS, EchoForm, EchoingMastodon
from service.conftest import DUE, Site, article, config_text, dispatch, real_now
from service.processes import tagcast
from typer.testing import CliRunner

from scheduler.cli.app import app
from scheduler.config.redact import MASK, Redactor
from scheduler.store import DeliveryState

TOKEN = "MASTOSECRET-9f8e7d6c5b4a3210zyxw"
ENV = {"TAGCAST_CHANNELS__MASTO__TOKEN": TOKEN}


def pieces(secret: str = TOKEN) -> list[str]:
    """What must never show: each form of the secret and its first 8 characters (any case)."""
    raw = secret.encode()
    forms = [
        secret,
        base64.b64encode(raw).decode(),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
        base64.b64encode(b"tagcast:" + raw).decode()[12:],  # the characters only the token determines
    ]
    return [piece.lower() for form in forms for piece in (form, form[:8])]


def leaks(text: str) -> list[str]:
    low = text.lower()
    return [piece for piece in pieces() if piece in low]


@pytest.fixture
def site(site: Site, monkeypatch: pytest.MonkeyPatch) -> Site:
    """The service tests' workspace, with the token in the environment."""
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    return site


def masto(site: Site, fake: EchoingMastodon) -> None:
    site.write_config(config_text({"masto": {"network": "mastodon", "base_url": fake.base_url}}))


def test_the_fake_really_echoes_the_token() -> None:
    with EchoingMastodon("long").running() as fake:
        import httpx

        answer = httpx.post(f"{fake.base_url}/api/v1/statuses", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 422 and TOKEN in answer.text and len(answer.text) > 300


@pytest.mark.parametrize("form", ECHO_FORMS)
def test_an_echoed_token_reaches_no_log_no_outbox_row_and_no_queue_show(
    site: Site, form: EchoForm, caplog: pytest.LogCaptureFixture
) -> None:
    with EchoingMastodon(form).running() as fake:
        masto(site, fake)
        site.write_post("p1.md", article("Post 1", publish_at=DUE))
        site.ingest(real_now())
        with caplog.at_level(logging.DEBUG):
            dispatch(site.workspace, site.store)
        assert len(fake.requests_to("POST", "/api/v1/statuses")) == 1

    [delivery] = site.store.list()
    assert delivery.state is DeliveryState.FAILED
    error = delivery.last_error or ""
    assert "refused (422)" in error and MASK in error
    assert leaks(error) == []
    assert leaks(caplog.text) == []
    history = " ".join(str(entry) for entry in site.store.history(delivery.id))
    assert leaks(history) == []
    site.close()
    stored = b"".join(path.read_bytes() for path in (site.root / "var").glob("tagcast.db*"))
    assert leaks(stored.decode("utf-8", "replace")) == []

    runner = CliRunner()
    for extra in ([], ["--json"]):
        shown = runner.invoke(
            app, ["queue", "show", delivery.id, *extra, "--config", str(site.root)], env=ENV
        )
        assert shown.exit_code == 0, shown.output
        assert "422" in shown.output
        assert leaks(shown.output) == []


@pytest.mark.parametrize("form", ECHO_FORMS)
def test_channels_test_never_prints_an_echoed_token(site: Site, form: EchoForm) -> None:
    with EchoingMastodon(form).running() as fake:
        masto(site, fake)
        result = CliRunner().invoke(
            app, ["channels", "test", "masto", "--config", str(site.root)], env={**ENV, "COLUMNS": "300"}
        )
    assert result.exit_code == 0, result.output
    assert "posts as" in result.output
    assert "could not read the instance's length limit" in result.output
    assert leaks(result.output) == []


@pytest.mark.parametrize(
    "text",
    [
        f"Bearer {TOKEN[:12]}…",
        f"Bearer {TOKEN[:9]}...",
        f"token {TOKEN.upper()[:20]}",
        f"401: {TOKEN[:8]}",
        f"{TOKEN[:10]}… and more",
    ],
)
def test_a_beginning_of_a_secret_left_by_a_cut_is_masked(text: str) -> None:
    masked = Redactor([TOKEN])(text)
    assert MASK in masked and leaks(masked) == []


def test_short_pieces_and_other_text_are_left_alone() -> None:
    redact = Redactor([TOKEN])
    assert redact(f"the word {TOKEN[:7]} stays") == f"the word {TOKEN[:7]} stays"
    assert redact("nothing secret here…") == "nothing secret here…"


def test_a_database_password_is_masked_in_every_form_by_the_store_commands() -> None:
    from scheduler.cli.store_cmd import scrub

    password = "S3cretPassw0rd-42"
    url = f"postgresql://tagcast:{password}@db.example/tagcast"
    encoded = base64.b64encode(password.encode()).decode()
    text = f"cannot reach {url}: password {password.upper()} rejected ({encoded}); tried {password[:10]}…"
    shown = scrub(text, [url])
    assert "postgresql://tagcast:***@db.example/tagcast" in shown
    assert password[:8].lower() not in shown.lower() and encoded[:8] not in shown


@pytest.mark.parametrize("form", ["upper", "base64", "long"])
def test_serve_logs_no_echoed_token_in_text_or_json_lines(site: Site, form: EchoForm) -> None:
    with EchoingMastodon(form).running() as fake:
        masto(site, fake)
        for log_format in ("text", "json"):
            site.write_post(f"p-{log_format}.md", article(f"Post {log_format}", publish_at=DUE))
            result = tagcast("serve", "--once", "--log-format", log_format, cwd=site.root, env=ENV)
            assert result.returncode == 0, result.stderr
            assert "refused (422)" in result.stderr  # the failure was logged
            assert leaks(result.stderr) == []
        assert len(fake.requests_to("POST", "/api/v1/statuses")) == 2

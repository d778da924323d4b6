"""Secrets set in the environment never reach a log line, in text or JSON, whatever carries them: the message,
its arguments, a traceback, an ``extra`` field."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from store.store_support import make_post

from scheduler.config.redact import MASK, Redactor, secret_values
from scheduler.service.logs import JsonFormatter, RedactSecrets, redact_secrets_of
from scheduler.service.outcomes import label
from scheduler.store import Store

from .conftest import workspace_with

TOKEN = "123456:AAE-very-secret-bot-token"
HOOK_SECRET = "whsec/with+odd&chars=42"
DB_PASSWORD = "pg-pass-0815"

CONFIG = f"""\
[store]
url = "postgresql+psycopg://tagcast:{DB_PASSWORD}@db.example/tagcast"
[channels.tg]
network = "telegram"
chat_id = "@news"
[channels.hook]
network = "webhook"
url = "https://hooks.example/in"
"""


@pytest.fixture
def secrets_from_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Redactor:
    monkeypatch.setenv("TAGCAST_CHANNELS__TG__BOT_TOKEN", TOKEN)
    monkeypatch.setenv("TAGCAST_CHANNELS__HOOK__SECRET", HOOK_SECRET)
    workspace = workspace_with(tmp_path / "ws", CONFIG)
    assert sorted(secret_values(workspace.settings)) == sorted([TOKEN, HOOK_SECRET, DB_PASSWORD])
    return Redactor.from_settings(workspace.settings)


def test_every_form_of_a_secret_is_masked(secrets_from_env: Redactor) -> None:
    redact = secrets_from_env
    text = (
        f"url https://api.telegram.org/bot{TOKEN}/sendMessage; json {json.dumps({'s': HOOK_SECRET})}; "
        f"query ?secret=whsec%2Fwith%2Bodd%26chars%3D42; dsn postgresql://tagcast:{DB_PASSWORD}@db"
    )
    masked = redact(text)
    for secret in (TOKEN, HOOK_SECRET, "whsec%2Fwith%2Bodd%26chars%3D42", DB_PASSWORD):
        assert secret not in masked
    assert masked.count(MASK) == 4
    assert Redactor(["abc"])("abc abc") == "abc abc"  # too short to mask without garbling every text
    assert not Redactor()


@pytest.fixture
def log_to() -> Iterator[tuple[logging.Logger, io.StringIO, io.StringIO]]:
    """A logger writing text to one buffer and JSON to another, each handler with the secrets filter."""
    logger = logging.getLogger("tagcast.test-redaction")
    logger.propagate, logger.level = False, logging.DEBUG
    text, data = io.StringIO(), io.StringIO()
    text_handler, json_handler = logging.StreamHandler(text), logging.StreamHandler(data)
    text_handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    json_handler.setFormatter(JsonFormatter())
    logger.handlers = [text_handler, json_handler]
    yield logger, text, data
    logger.handlers = []


def test_log_records_are_masked_in_text_and_json(
    secrets_from_env: Redactor, log_to: tuple[logging.Logger, io.StringIO, io.StringIO], tmp_path: Path
) -> None:
    logger, text, data = log_to
    for handler in logger.handlers:
        handler.addFilter(RedactSecrets(secrets_from_env))
    with Store.open("sqlite:///var/tagcast.db", root=tmp_path / "db") as store:
        now = datetime.now(UTC)
        delivery = store.upsert_result(
            make_post("posts/a.md", "tg", at=now + timedelta(hours=1)), now=now
        ).delivery
        assert delivery is not None
    logger.info("in the message %s", f"bot{TOKEN}")
    logger.warning(f"formatted into the message: {HOOK_SECRET}")
    logger.error("%s: failed: %s", label(delivery), f"server said {TOKEN}", extra={"reason": DB_PASSWORD})
    try:
        raise RuntimeError(f"connect to postgresql://tagcast:{DB_PASSWORD}@db failed")
    except RuntimeError:
        logger.exception("with a traceback")

    for output in (text.getvalue(), data.getvalue()):
        assert output and MASK in output
        for secret in (TOKEN, HOOK_SECRET, DB_PASSWORD):
            assert secret not in output
    lines = [json.loads(line) for line in data.getvalue().splitlines()]
    assert [line["level"] for line in lines] == ["info", "warning", "error", "error"]
    failed = lines[2]
    assert (
        failed["delivery_id"] == delivery.id
        and failed["channel"] == "tg"
        and failed["source"] == "posts/a.md"
    )
    assert failed["reason"] == MASK
    assert "RuntimeError" in lines[3]["exc"]


def test_the_service_masks_the_root_loggers_handlers_and_follows_a_reload(
    secrets_from_env: Redactor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        workspace = workspace_with(tmp_path / "ws", CONFIG)
        redact_secrets_of(workspace.settings)  # adds the filter to a handler that has none
        logging.getLogger("httpx").warning("HTTP Request: POST https://api.telegram.org/bot%s/getMe", TOKEN)
        [found] = [f for f in handler.filters if isinstance(f, RedactSecrets)]
        monkeypatch.delenv("TAGCAST_CHANNELS__TG__BOT_TOKEN")
        monkeypatch.delenv("TAGCAST_CHANNELS__HOOK__SECRET")
        redact_secrets_of(workspace_with(tmp_path / "other", "[channels.file]\nnetwork = 'file'\n").settings)
        assert handler.filters == [found] and not found.redactor  # replaced, not added again
    finally:
        root.removeHandler(handler)
    assert TOKEN not in stream.getvalue() and f"bot{MASK}/getMe" in stream.getvalue()

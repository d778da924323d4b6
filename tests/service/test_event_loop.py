"""``[service] event_loop``: the service runs on uvloop when it is installed, on asyncio's own loop when told
to, and its "ready" line says which (the other service tests that start ``tagcast serve`` run on the
default, uvloop, from end to end)."""

from __future__ import annotations

import asyncio
import importlib.util
import sys

import pytest

from scheduler.errors import ConfigError
from scheduler.service.event_loop import loop_factory, running_loop_name

from .conftest import Site, config_text
from .processes import Serve, clean_env, tagcast

HAS_UVLOOP = importlib.util.find_spec("uvloop") is not None


def ready_line(site: Site, **env: str) -> str:
    started = tagcast("serve", "--exit-after-start", cwd=site.root, env=clean_env(env))
    assert started.returncode == 0, started.stderr
    return next(line for line in started.stderr.splitlines() if "ready: worker" in line)


@pytest.mark.skipif(not HAS_UVLOOP, reason="uvloop is not installed (it has no Windows build)")
def test_serve_runs_on_uvloop_by_default_and_says_so(site: Site) -> None:
    site.write_config(config_text({"hook": {"network": "webhook", "url": "http://127.0.0.1:9/hook"}}))

    assert ", event loop uvloop " in ready_line(site)


def test_event_loop_asyncio_rules_uvloop_out(site: Site) -> None:
    site.write_config(config_text({"hook": {"network": "webhook", "url": "http://127.0.0.1:9/hook"}}))

    assert ready_line(site, TAGCAST_SERVICE__EVENT_LOOP="asyncio").endswith(", event loop asyncio")


def test_asking_for_uvloop_where_it_cannot_be_imported_names_the_key_and_the_way_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # what `import uvloop` meets where it is not installed

    with pytest.raises(ConfigError) as raised:
        loop_factory("uvloop")

    message = str(raised.value)
    assert "service.event_loop is 'uvloop', but uvloop cannot be imported" in message
    assert 'set event_loop = "auto" in [service]' in message
    assert loop_factory("auto") is None  # "auto" falls back to asyncio's loop without a word


def test_each_choice_gives_the_loop_it_names() -> None:
    assert loop_factory("asyncio") is None
    with asyncio.Runner(loop_factory=loop_factory("asyncio")) as runner:
        assert runner.run(_name()) == "asyncio"
    if HAS_UVLOOP:
        for choice in ("auto", "uvloop"):
            with asyncio.Runner(loop_factory=loop_factory(choice)) as runner:
                assert runner.run(_name()).startswith("uvloop ")


async def _name() -> str:
    return running_loop_name()


def test_a_changed_event_loop_is_said_to_wait_for_a_restart(site: Site) -> None:
    config = config_text(
        {"hook": {"network": "webhook", "url": "http://127.0.0.1:9/hook"}},
        service={"watch_interval": "0.2s", "event_loop": "asyncio"},
    )
    site.write_config(config)
    serve = Serve(site.root, log=site.root / "serve.log")
    try:
        serve.wait_for_log("ready: worker")
        site.write_config(config.replace('event_loop = "asyncio"', 'event_loop = "auto"'))
        serve.wait_for_log("config reloaded")
        assert "service.event_loop changed: the service runs on asyncio until it is restarted" in serve.output
    finally:
        serve.stop()

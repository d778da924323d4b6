"""``tagcast serve`` logs what ``tagcast config validate`` warns about (a channel key that its network does
not use, most often a typo) when it starts and when it reloads its config: nobody runs ``config validate``
against a running service's file."""

from __future__ import annotations

from .conftest import Site, config_text
from .processes import Serve


def test_an_unused_channel_key_is_logged_at_start_and_at_reload(site: Site) -> None:
    config = config_text(
        {"hook": {"network": "webhook", "url": "http://127.0.0.1:9/hook", "chat_id": "42"}},
        service={"watch_interval": "0.2s"},
    )
    site.write_config(config)
    serve = Serve(site.root, log=site.root / "serve.log")
    try:
        serve.wait_for_log("ready: worker")
        lines = serve.output.splitlines()
        [warning] = [line for line in lines if "channels.hook.chat_id" in line]
        assert "webhook does not use this key (telegram does); remove it" in warning
        assert lines.index(warning) < next(i for i, line in enumerate(lines) if "ready: worker" in line)

        site.write_config(config.replace('chat_id = "42"', 'chat_id = "42"\nalt_max = 900'))
        serve.wait_for_log("config reloaded")
        serve.wait_for_log("channels.hook.alt_max")
        assert serve.output.count("channels.hook.chat_id") == 2  # at start, and again at the reload
    finally:
        serve.stop()

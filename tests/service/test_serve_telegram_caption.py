"""A Telegram thread with an image, from the article to the chat: ``tagcast preview`` shows the first part
(the photo's caption) against 1024 and the later parts against 4096, and ``tagcast serve --once`` sends
exactly those parts to the Telegram fake, which refuses a caption over 1024 and a message over 4096."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from fakes.telegram import MAX_CAPTION, MAX_TEXT, TelegramFake
from PIL import Image

from scheduler.store import DeliveryState

from .conftest import DUE, Site, config_text, real_now
from .processes import tagcast

TOKEN = "123456:good-token"
SENTENCES = [
    f"Day {n}: the ferry (No. {n}) crossed the river at dawn, and the town watched it go!" for n in range(70)
]


def article(*, image: bool = True) -> str:
    front = ["title: The river crossing", "tags: [History]", f"publish_at: {DUE}"]
    if image:
        front += ["image: img/ferry.jpg", "image_alt: The ferry at dawn"]
    return "---\n" + "\n".join(front) + "\n---\n\n" + " ".join(SENTENCES) + "\n"


@pytest.fixture
def telegram() -> Iterator[TelegramFake]:
    with TelegramFake(token=TOKEN).running() as fake:
        assert isinstance(fake, TelegramFake)
        yield fake


def telegram_site(site: Site, telegram: TelegramFake, *, image: bool = True, thread: bool = True) -> None:
    channel = {
        "network": "telegram",
        "base_url": telegram.base_url,
        "chat_id": "@tagcastnews",
        "parse_mode": "MarkdownV2",
        "thread": thread,
    }
    site.write_config(config_text({"tg": channel}))
    (site.root / "posts" / "img").mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (96, 64), "teal").save(site.root / "posts" / "img" / "ferry.jpg")
    site.write_post("crossing.md", article(image=image))


def preview_json(site: Site) -> dict[str, object]:
    shown = tagcast("preview", "--json", cwd=site.root)
    assert shown.returncode == 0, shown.stderr
    [post] = json.loads(shown.stdout)
    assert isinstance(post, dict)
    return post


def test_preview_shows_each_parts_limit_and_serve_sends_exactly_those_parts(
    site: Site, telegram: TelegramFake
) -> None:
    telegram_site(site, telegram)
    post = preview_json(site)
    parts, lengths, limits = post["parts"], post["lengths"], post["limits"]
    assert isinstance(parts, list) and isinstance(lengths, list)
    assert post["problems"] == [] and post["limit"] == MAX_TEXT and post["unit"] == "utf16"
    assert len(parts) == 3
    assert limits == [MAX_CAPTION, MAX_TEXT, MAX_TEXT]
    assert lengths[0] <= MAX_CAPTION < lengths[1] <= MAX_TEXT, "only the caption is held to 1024"
    [media] = post["media"]  # type: ignore[misc]
    assert (media["width"], media["height"]) == (96, 64)

    terminal = tagcast("preview", cwd=site.root)
    assert terminal.returncode == 0, terminal.stderr
    text = " ".join(re.sub(r"[│╭╮╰╯─]", "", terminal.stdout).split())
    expected = "  ".join(
        f"part {n}: {length}/{limit} utf16"
        for n, (length, limit) in enumerate(zip(lengths, limits, strict=True), 1)
    )
    assert " ".join(expected.split()) in text
    page = site.root / "preview.html"
    assert tagcast("preview", "--html", str(page), cwd=site.root).returncode == 0
    html = page.read_text(encoding="utf-8")
    for length, limit in zip(lengths, limits, strict=True):
        assert f"{length} / {limit} utf16</p>" in html
    assert "over the limit" not in html

    site.ingest(real_now())
    done = tagcast("serve", "--once", cwd=site.root, env={"TAGCAST_CHANNELS__TG__BOT_TOKEN": TOKEN})
    assert done.returncode == 0, done.stderr
    methods = [r.path.rsplit("/", 1)[-1] for r in telegram.requests if r.method == "POST"]
    assert methods == ["sendPhoto", "sendMessage", "sendMessage"]
    assert [message.text for message in telegram.messages] == parts, "what preview showed is what went out"
    photo, second, third = telegram.messages
    assert [p.width for p in photo.photos] == [96] and second.photos == third.photos == []
    assert (second.reply_to, third.reply_to) == (photo.message_id, second.message_id)
    [delivery] = site.store.list()
    assert delivery.state is DeliveryState.SENT


def test_a_single_post_with_an_image_is_shortened_to_the_caption_and_sent(
    site: Site, telegram: TelegramFake
) -> None:
    telegram_site(site, telegram, thread=False)
    post = preview_json(site)
    assert post["problems"] == [] and post["shortened"] is True
    assert post["limits"] == [MAX_CAPTION]
    [length] = post["lengths"]  # type: ignore[misc]
    assert MAX_CAPTION - 100 < length <= MAX_CAPTION
    site.ingest(real_now())
    done = tagcast("serve", "--once", cwd=site.root, env={"TAGCAST_CHANNELS__TG__BOT_TOKEN": TOKEN})
    assert done.returncode == 0, done.stderr
    [message] = telegram.messages
    assert [message.text] == post["parts"] and len(message.photos) == 1


def test_a_thread_without_images_keeps_4096_for_every_part(site: Site, telegram: TelegramFake) -> None:
    telegram_site(site, telegram, image=False)
    post = preview_json(site)
    assert post["problems"] == [] and post["media"] == []
    assert post["limits"] == [MAX_TEXT, MAX_TEXT]
    assert post["lengths"][0] > MAX_CAPTION  # type: ignore[index]

"""Telegram images: ``sendPhoto`` / ``sendMediaGroup`` with the first part as caption, fitted to 1024; the
later parts of a thread are messages, fitted to 4096."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fakes.multipart import form_parts
from fakes.telegram import TelegramFake
from media_files import image_media
from PIL import Image
from pydantic import SecretStr

from scheduler.adapters.telegram import CAPTION_LIMIT, TelegramAdapter
from scheduler.adapters.uploads import upload_file
from scheduler.config import load_workspace
from scheduler.config.models import ChannelSettings
from scheduler.errors import PermanentDeliveryError, UnknownOutcome
from scheduler.media.model import ImageRef
from scheduler.models import Article
from scheduler.pipeline import Pipeline, rules_with_media
from tests.conftest import WriteWorkspace
from tests.test_readme_adapter import readme_adapter_class

from .contract import THREAD, DurableJournal, client, outgoing

pytestmark = pytest.mark.anyio

TOKEN = "123456:AAHsecret-part-of-the-token"


@pytest.fixture
def fake() -> Iterator[TelegramFake]:
    with TelegramFake(token=TOKEN).running() as running:
        assert isinstance(running, TelegramFake)
        yield running


def adapter(fake: TelegramFake, http: httpx.AsyncClient, **extra: str) -> TelegramAdapter:
    settings = ChannelSettings(
        network="telegram",
        base_url=fake.base_url,
        bot_token=SecretStr(TOKEN),
        chat_id="@tagcastnews",
        **extra,  # type: ignore[arg-type]
    )
    return TelegramAdapter("news", settings, http=http, root=Path("."))


def test_the_caption_limit_applies_to_the_first_part_of_a_post_with_images() -> None:
    settings = ChannelSettings(network="telegram")
    assert TelegramAdapter.length_rules(settings).limits(3) == (4096, 4096, 4096)
    rules = TelegramAdapter.length_rules(settings, media=True)
    assert (rules.first_limit, rules.limit) == (CAPTION_LIMIT, 4096) == (1024, 4096)
    assert rules.limits(3) == (1024, 4096, 4096)
    lower = TelegramAdapter.length_rules(ChannelSettings(network="telegram", limit=500), media=True)
    assert lower.limits(2) == (500, 500), "a channel limit under 1024 holds the caption too"


def pipeline_with_image(make_workspace: WriteWorkspace, *, thread: bool) -> Pipeline:
    config = (
        '[defaults]\nchannels = ["tg"]\n\n[channels.tg]\nnetwork = "telegram"\nchat_id = "@news"\n'
        f"thread = {'true' if thread else 'false'}\n"
    )
    root = make_workspace(config)
    (root / "posts").mkdir(exist_ok=True)
    Image.new("RGB", (64, 48), "navy").save(root / "posts" / "a.jpg")
    return Pipeline(load_workspace(root))


STORY = " ".join(f"Sentence {n} of a long story about the river and the boats on it." for n in range(150))


def test_the_pipeline_shortens_a_post_with_images_to_the_caption(make_workspace: WriteWorkspace) -> None:
    pipeline = pipeline_with_image(make_workspace, thread=False)
    body = STORY[:3000]
    plain = Article(source="posts/a.md", title="A", body=body)
    pictured = Article(source="posts/a.md", title="A", body=body, images=(ImageRef("a.jpg", "A river"),))
    [text_post] = pipeline.compose(plain)
    [photo_post] = pipeline.compose(pictured)
    assert text_post.limits == (4096,) and len(text_post.parts[0]) > CAPTION_LIMIT
    assert photo_post.limits == (CAPTION_LIMIT,) and photo_post.shortened
    assert photo_post.lengths[0] <= CAPTION_LIMIT
    assert photo_post.problems == ()


def test_the_pipeline_splits_a_thread_with_images_by_the_limit_of_each_part(
    make_workspace: WriteWorkspace,
) -> None:
    pipeline = pipeline_with_image(make_workspace, thread=True)
    pictured = Article(source="posts/a.md", title="A", body=STORY, images=(ImageRef("a.jpg", "A river"),))
    [post] = pipeline.compose(pictured)
    assert post.problems == ()
    assert len(post.parts) == 4
    assert post.limits == (1024, 4096, 4096, 4096)
    assert post.to_json()["limits"] == [1024, 4096, 4096, 4096]
    assert post.lengths[0] <= CAPTION_LIMIT < min(post.lengths[1:-1])
    assert all(length <= 4096 for length in post.lengths)
    [plain] = pipeline.compose(Article(source="posts/a.md", title="A", body=STORY))
    assert plain.limits == (4096, 4096, 4096) and plain.lengths[0] > CAPTION_LIMIT, "no image: no caption"


def test_an_adapter_written_before_the_media_keyword_still_gets_its_rules() -> None:
    pigeon = readme_adapter_class()
    settings = ChannelSettings(network="pigeon")
    assert rules_with_media(pigeon, settings).limit == 280
    assert rules_with_media(TelegramAdapter, ChannelSettings(network="telegram")).first_limit == CAPTION_LIMIT


async def test_one_image_is_a_photo_with_the_part_as_its_caption(fake: TelegramFake, tmp_path: Path) -> None:
    [photo] = image_media(tmp_path, 1)
    text = "Khalkhin Gol (1939) #WW2 - read more!"
    async with client() as http:
        receipt = await adapter(fake, http, parse_mode="MarkdownV2").publish(
            outgoing([text], media=(photo,)), DurableJournal().journal()
        )
    [request] = [r for r in fake.requests if r.method == "POST"]
    assert request.path.endswith("/sendPhoto")
    form = form_parts(request)
    assert form.values() == {
        "chat_id": "@tagcastnews",
        "caption": r"Khalkhin Gol \(1939\) \#WW2 \- read more\!",
        "parse_mode": "MarkdownV2",
    }, "no alt text field: the Bot API has none"
    [message] = fake.messages
    assert message.text == text
    assert [(p.sha256, p.width, p.height) for p in message.photos] == [(photo.sha256, 64, 48)]
    assert receipt.remote_ids == (str(message.message_id),)
    assert receipt.url == f"https://t.me/tagcastnews/{message.message_id}"


async def test_an_album_carries_the_caption_and_the_thread_replies_to_it(
    fake: TelegramFake, tmp_path: Path
) -> None:
    media = image_media(tmp_path, 3)
    durable = DurableJournal()
    async with client() as http:
        receipt = await adapter(fake, http).publish(outgoing(THREAD, media=media), durable.journal())
    paths = [r.path.rsplit("/", 1)[-1] for r in fake.requests if r.method == "POST"]
    assert paths == ["sendMediaGroup", "sendMessage", "sendMessage"]
    album = form_parts(fake.requests[0])
    assert [f.name for f in album.files()] == ["photo0", "photo1", "photo2"]
    first, second, third = fake.messages
    assert [p.sha256 for p in first.photos] == [m.sha256 for m in media]
    assert len(first.album) == 2, "the album's other photos are messages of their own"
    assert (first.text, second.reply_to, third.reply_to) == (THREAD[0], first.message_id, second.message_id)
    assert receipt.remote_ids == tuple(str(m.message_id) for m in (first, second, third))
    assert durable.saved["telegram"]["sent"][0] == first.message_id, "the photo message is part 1"


async def test_a_caption_over_1024_is_refused_before_sending(fake: TelegramFake, tmp_path: Path) -> None:
    media = image_media(tmp_path, 1)
    async with client() as http:
        with pytest.raises(PermanentDeliveryError, match="1024"):
            await adapter(fake, http).publish(outgoing(["a" * 1025], media=media), DurableJournal().journal())
        with pytest.raises(PermanentDeliveryError) as caught:
            await adapter(fake, http).publish(
                outgoing(["a" * 1025 + " 1/2", "b" * 2000 + " 2/2"], media=media), DurableJournal().journal()
            )
    assert str(caught.value) == (
        "telegram: the post does not fit, nothing was sent: part 1/2: 1029 UTF-16 code units, limit 1024"
    )
    assert fake.requests == []


async def test_a_later_part_over_4096_is_refused_before_sending(fake: TelegramFake, tmp_path: Path) -> None:
    media = image_media(tmp_path, 1)
    async with client() as http:
        with pytest.raises(PermanentDeliveryError) as caught:
            await adapter(fake, http).publish(
                outgoing(["Caption 1/3", "b" * 3000 + " 2/3", "c" * 4095 + " 3/3"], media=media),
                DurableJournal().journal(),
            )
    assert str(caught.value) == (
        "telegram: the post does not fit, nothing was sent: part 3/3: 4099 UTF-16 code units, limit 4096"
    )
    assert fake.requests == []


@pytest.mark.parametrize("images", [1, 3])
async def test_the_parts_after_the_caption_may_be_longer_than_1024(
    fake: TelegramFake, tmp_path: Path, images: int
) -> None:
    media = image_media(tmp_path, images)
    parts = ["The river (1939): a caption #River 1/3", "é" * 3000 + " 2/3", "Bridges! " * 450 + "3/3"]
    async with client() as http:
        receipt = await adapter(fake, http, parse_mode="MarkdownV2").publish(
            outgoing(parts, media=media), DurableJournal().journal()
        )
    methods = [r.path.rsplit("/", 1)[-1] for r in fake.requests if r.method == "POST"]
    assert methods == ["sendPhoto" if images == 1 else "sendMediaGroup", "sendMessage", "sendMessage"]
    photo, second, third = fake.messages
    assert [message.text for message in fake.messages] == parts
    assert len(photo.photos) == images and second.photos == third.photos == []
    assert (second.reply_to, third.reply_to) == (photo.message_id, second.message_id)
    assert len(second.text) == 3004 and len(third.text) == 4053, "over the caption limit, under 4096"
    assert len(third.raw) > 4096, "escaped for MarkdownV2: Telegram counts the text after parsing"
    assert receipt.remote_ids == tuple(str(m.message_id) for m in fake.messages)


async def test_the_fake_refuses_a_long_caption_like_the_bot_api(fake: TelegramFake, tmp_path: Path) -> None:
    [photo] = image_media(tmp_path, 1)
    async with client() as http:
        answer = await http.post(
            f"{fake.base_url}/bot{TOKEN}/sendPhoto",
            data={"chat_id": "@tagcastnews", "caption": "é" * 1025},
            files={"photo": upload_file(photo)},
        )
    assert answer.status_code == 400
    assert answer.json()["description"] == "Bad Request: message caption is too long"
    assert fake.messages == []


async def test_a_photo_whose_answer_was_lost_is_never_resent(fake: TelegramFake, tmp_path: Path) -> None:
    media = image_media(tmp_path, 1)
    fake.faults.commit_then_drop(path=r"/sendPhoto$")
    durable = DurableJournal()
    async with client() as http:
        with pytest.raises(UnknownOutcome):
            await adapter(fake, http).publish(outgoing(THREAD, media=media), durable.journal())
        with pytest.raises(UnknownOutcome, match="part 1 of 3"):
            await adapter(fake, http).publish(outgoing(THREAD, media=media), durable.journal())
    assert len(fake.messages) == 1
    assert [r.path.rsplit("/", 1)[-1] for r in fake.requests] == ["sendPhoto"]

"""Threads specifics beyond the contract: the container journalled before it is published, the container's
status after a crash, the 24-hour quota as a channel pause, and who ``check`` says the channel posts as."""

from __future__ import annotations

import logging
import os
import stat
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fakes.server import Reply, Request, route
from fakes.threads import ThreadsFake, V
from media_files import image_media
from pydantic import SecretStr

from scheduler.adapters.threads import CONTAINER_WAIT, QUOTA_RECHECK, ThreadsAdapter
from scheduler.config.models import ChannelSettings
from scheduler.errors import AuthError, PermanentDeliveryError, TransientDeliveryError, UnknownOutcome

from .contract import SINGLE, THREAD, DurableJournal, client, outgoing

pytestmark = pytest.mark.anyio
TOKEN = "th-secret-token-42"


@pytest.fixture
def fake() -> Iterator[ThreadsFake]:
    with ThreadsFake(token=TOKEN).running() as running:
        yield running


def adapter(fake: ThreadsFake, http: object, **keys: object) -> ThreadsAdapter:
    settings = ChannelSettings.model_validate(
        {"network": "threads", "base_url": fake.api_url, "token": SecretStr(TOKEN), **keys}
    )
    return ThreadsAdapter("th", settings, http=http, root=Path("."))  # type: ignore[arg-type]


def publishes(fake: ThreadsFake) -> list[str]:
    """The creation_id of every threads_publish request, in order."""
    return [r.fields()["creation_id"] for r in fake.requests_to("POST", r"/threads_publish$")]


async def test_a_post_is_a_text_container_then_its_publication(fake: ThreadsFake) -> None:
    async with client() as http:
        receipt = await adapter(fake, http).publish(outgoing([SINGLE]), DurableJournal().journal())
    [create] = fake.requests_to("POST", r"/me/threads$")
    assert create.fields() == {"media_type": "TEXT", "text": SINGLE, "access_token": TOKEN}
    assert "access_token" not in create.query, "the token must not travel in a URL"
    [container] = fake.containers.values()
    assert publishes(fake) == [container.id]
    [post] = fake.posts
    assert receipt.remote_ids == (post.id,)
    assert receipt.url == post.permalink
    assert receipt.pause_for is None


async def test_a_thread_replies_to_the_previous_part(fake: ThreadsFake) -> None:
    async with client() as http:
        await adapter(fake, http).publish(outgoing(THREAD), DurableJournal().journal())
    creates = fake.requests_to("POST", r"/threads$")
    first, second, third = fake.posts
    assert [c.fields().get("reply_to_id") for c in creates] == [None, first.id, second.id]
    assert third.reply_to == second.id


async def test_the_container_is_journalled_before_it_is_published(fake: ThreadsFake) -> None:
    fake.faults.drop(path=r"/threads_publish$")
    durable = DurableJournal()
    async with client() as http:
        with pytest.raises(TransientDeliveryError):
            await adapter(fake, http).publish(outgoing([SINGLE]), durable.journal())
        [container] = fake.containers
        assert durable.saved["container"] == {"index": 0, "id": container}
        assert fake.posts == []
        receipt = await adapter(fake, http).publish(outgoing([SINGLE]), durable.journal())
    assert list(fake.containers) == [container], "a second container was made for the same part"
    assert publishes(fake) == [container, container]
    assert receipt.remote_ids == (fake.posts[0].id,)


async def test_a_published_container_is_never_published_again(fake: ThreadsFake) -> None:
    fake.faults.commit_then_drop(path=r"/threads_publish$", after=1)
    durable = DurableJournal()
    async with client() as http:
        with pytest.raises(TransientDeliveryError):
            await adapter(fake, http).publish(outgoing(THREAD), durable.journal())
        assert len(fake.posts) == 2
        restarted = adapter(fake, http)
        assert await restarted.reconcile(outgoing(THREAD), durable.journal()) is None
        receipt = await restarted.publish(outgoing(THREAD), durable.journal())
    assert len(publishes(fake)) == 3
    assert len(set(publishes(fake))) == 3
    assert len(fake.containers) == 3
    assert receipt.remote_ids == tuple(p.id for p in fake.posts)
    assert receipt.extra["urls"] == [p.permalink for p in fake.posts]


async def test_an_expired_container_is_replaced(fake: ThreadsFake) -> None:
    fake.faults.drop(path=r"/threads_publish$")
    durable = DurableJournal()
    async with client() as http:
        with pytest.raises(TransientDeliveryError):
            await adapter(fake, http).publish(outgoing([SINGLE]), durable.journal())
        [old] = fake.containers.values()
        old.status = "EXPIRED"
        await adapter(fake, http).publish(outgoing([SINGLE]), durable.journal())
    [post] = fake.posts
    assert post.container != old.id
    assert len(fake.containers) == 2


async def test_a_container_in_progress_waits(fake: ThreadsFake) -> None:
    fake.faults.drop(path=r"/threads_publish$")
    durable = DurableJournal()
    async with client() as http:
        with pytest.raises(TransientDeliveryError):
            await adapter(fake, http).publish(outgoing([SINGLE]), durable.journal())
        [container] = fake.containers.values()
        container.status = "IN_PROGRESS"
        with pytest.raises(TransientDeliveryError) as caught:
            await adapter(fake, http).publish(outgoing([SINGLE]), durable.journal())
    assert caught.value.retry_after == CONTAINER_WAIT
    assert fake.posts == []


async def test_a_published_post_that_cannot_be_found_is_unknown(fake: ThreadsFake) -> None:
    fake.faults.commit_then_drop(path=r"/threads_publish$")
    durable = DurableJournal()
    async with client() as http:
        with pytest.raises(TransientDeliveryError):
            await adapter(fake, http).publish(outgoing([SINGLE]), durable.journal())
        fake.posts[0].text = "edited on the phone since"
        with pytest.raises(UnknownOutcome) as caught:
            await adapter(fake, http).reconcile(outgoing([SINGLE]), durable.journal())
    assert "tagcast queue resolve d-1 --sent URL" in caught.value.reason
    assert len(publishes(fake)) == 1


async def test_a_used_up_quota_pauses_the_channel_before_anything_is_made() -> None:
    with ThreadsFake(token=TOKEN, quota_used=250).running() as fake:
        async with client() as http:
            with pytest.raises(TransientDeliveryError) as caught:
                await adapter(fake, http).publish(outgoing([SINGLE]), DurableJournal().journal())
        assert fake.containers == {}
    assert caught.value.retry_after == QUOTA_RECHECK
    assert "250 of 250 posts" in caught.value.reason


async def test_a_used_up_reply_quota_holds_a_thread_but_not_a_single_post() -> None:
    with ThreadsFake(token=TOKEN, reply_quota_used=1000).running() as fake:
        async with client() as http:
            with pytest.raises(TransientDeliveryError) as caught:
                await adapter(fake, http).publish(outgoing(THREAD), DurableJournal().journal())
            assert fake.containers == {}
            await adapter(fake, http).publish(outgoing([SINGLE]), DurableJournal().journal())
        assert [p.text for p in fake.posts] == [SINGLE]
    assert "1000 of 1000 replies" in caught.value.reason


async def test_the_last_post_of_the_quota_pauses_the_channel_after_it() -> None:
    with ThreadsFake(token=TOKEN, quota_used=249).running() as fake:
        async with client() as http:
            receipt = await adapter(fake, http).publish(outgoing([SINGLE]), DurableJournal().journal())
        assert len(fake.posts) == 1
    assert receipt.pause_for == QUOTA_RECHECK


class StaleQuotaFake(ThreadsFake):
    """Reports an empty quota while the publish endpoint enforces a full one (the counts lag)."""

    @route("GET", V + "/{user}/threads_publishing_limit")
    def publishing_limit(self, request: Request) -> Reply:
        row = {"quota_usage": 0, "config": {"quota_total": 250, "quota_duration": 86400}}
        return Reply.json({"data": [row]})


async def test_the_quota_error_of_publish_is_a_pause_too() -> None:
    with StaleQuotaFake(token=TOKEN, quota_used=250).running() as fake:
        async with client() as http:
            with pytest.raises(TransientDeliveryError) as caught:
                await adapter(fake, http).publish(outgoing([SINGLE]), DurableJournal().journal())
        assert fake.posts == []
    assert caught.value.retry_after == QUOTA_RECHECK


async def test_a_rejected_token_is_an_auth_error_without_the_token(fake: ThreadsFake) -> None:
    settings = ChannelSettings(network="threads", base_url=fake.api_url, token=SecretStr("expired-xyz"))
    async with client() as http:
        with pytest.raises(AuthError) as caught:
            await ThreadsAdapter("th", settings, http=http, root=Path(".")).publish(
                outgoing([SINGLE]), DurableJournal().journal()
            )
    assert "Invalid OAuth access token" in caught.value.reason
    assert "long-lived token" in caught.value.reason
    assert "expired-xyz" not in caught.value.reason
    assert fake.containers == {}


async def test_a_missing_token_names_the_variable(fake: ThreadsFake) -> None:
    settings = ChannelSettings(network="threads", base_url=fake.api_url)
    async with client() as http:
        with pytest.raises(AuthError) as caught:
            await ThreadsAdapter("th", settings, http=http, root=Path(".")).check()
    assert "TAGCAST_CHANNELS__TH__TOKEN" in caught.value.reason
    assert fake.requests == []


async def test_six_links_are_refused_before_sending(fake: ThreadsFake) -> None:
    text = " ".join(f"https://example.com/{n}" for n in range(6))
    async with client() as http:
        with pytest.raises(PermanentDeliveryError) as caught:
            await adapter(fake, http).publish(outgoing([text]), DurableJournal().journal())
    assert "6 different links, limit 5" in caught.value.reason
    assert fake.requests == []


async def test_the_user_id_key_names_the_account(fake: ThreadsFake) -> None:
    async with client() as http:
        numbered = adapter(fake, http, user_id=fake.user_id)
        await numbered.publish(outgoing([SINGLE]), DurableJournal().journal())
        with pytest.raises(PermanentDeliveryError) as caught:
            await adapter(fake, http, user_id="999").publish(outgoing(["other"]), DurableJournal().journal())
    assert fake.requests_to("POST", rf"^{V}/{fake.user_id}/threads$")
    assert "999" in caught.value.reason
    assert len(fake.posts) == 1


async def test_check_names_the_account_and_the_quota() -> None:
    with ThreadsFake(token=TOKEN, quota_used=12).running() as fake:
        async with client() as http:
            identity = await adapter(fake, http).check()
    assert identity.account == "@alice.threads"
    assert identity.url == "https://www.threads.net/@alice.threads"
    assert identity.detail is not None
    assert identity.detail.startswith("12 of 250 posts and 0 of 1000 replies used in the last 24 hours; ")
    assert "the token is not refreshed by tagcast" in identity.detail


def test_defaults_are_those_of_the_design() -> None:
    settings = ChannelSettings(network="threads", token=SecretStr(TOKEN))
    threads = ThreadsAdapter("th", settings, http=None, root=Path("."))  # type: ignore[arg-type]
    assert threads.base_url == "https://graph.threads.net/v1.0"
    assert threads.user_id == "me"
    assert ThreadsAdapter.length_rules(settings).limit == 500


# --- token refresh -----------------------------------------------------------------------------------------


def filed(fake: ThreadsFake, http: object, root: Path, *, age_days: float) -> ThreadsAdapter:
    """An adapter whose token comes from ``root/secrets/threads.token``, last written ``age_days`` ago."""
    path = root / "secrets" / "threads.token"
    path.parent.mkdir(exist_ok=True)
    path.write_text(TOKEN + "\n", encoding="utf-8")
    path.chmod(0o600)
    written = time.time() - age_days * 86400
    os.utime(path, (written, written))
    settings = ChannelSettings(
        network="threads", base_url=fake.api_url, token=SecretStr(TOKEN), token_file="secrets/threads.token"
    )
    return ThreadsAdapter("th", settings, http=http, root=root)  # type: ignore[arg-type]


async def test_an_old_token_file_is_refreshed_before_a_post(fake: ThreadsFake, tmp_path: Path) -> None:
    async with client() as http:
        threads = filed(fake, http, tmp_path, age_days=8)
        await threads.publish(outgoing([SINGLE]), DurableJournal().journal())
        await threads.publish(outgoing(["second"], delivery_id="d-2"), DurableJournal().journal())
    path = tmp_path / "secrets" / "threads.token"
    fresh = f"{TOKEN}-refreshed-1"
    assert path.read_text(encoding="utf-8") == fresh + "\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert fake.refreshes == 1
    [refresh] = fake.requests_to("GET", r"^/refresh_access_token$")
    assert refresh.arg("grant_type") == "th_refresh_token"
    assert [r.fields()["access_token"] for r in fake.requests_to("POST", r"/threads$")] == [fresh, fresh]
    assert len(fake.posts) == 2


async def test_a_recent_token_file_is_left_alone(fake: ThreadsFake, tmp_path: Path) -> None:
    async with client() as http:
        await filed(fake, http, tmp_path, age_days=2).publish(outgoing([SINGLE]), DurableJournal().journal())
    assert fake.refreshes == 0
    assert (tmp_path / "secrets" / "threads.token").read_text(encoding="utf-8") == TOKEN + "\n"


async def test_a_token_from_the_environment_is_never_written_to_the_file(
    fake: ThreadsFake, tmp_path: Path
) -> None:
    async with client() as http:
        threads = filed(fake, http, tmp_path, age_days=30)
        (tmp_path / "secrets" / "threads.token").write_text("an-older-token\n", encoding="utf-8")
        await threads.publish(outgoing([SINGLE]), DurableJournal().journal())
        with pytest.raises(PermanentDeliveryError) as caught:
            await threads.refresh_token()
    assert fake.refreshes == 0
    assert (tmp_path / "secrets" / "threads.token").read_text(encoding="utf-8") == "an-older-token\n"
    assert "leave TAGCAST_CHANNELS__TH__TOKEN unset" in caught.value.reason


async def test_a_refused_refresh_does_not_stop_the_post(
    fake: ThreadsFake, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    fake.refresh_refused = True
    async with client() as http:
        threads = filed(fake, http, tmp_path, age_days=8)
        await threads.publish(outgoing([SINGLE]), DurableJournal().journal())
        await threads.publish(outgoing(["second"], delivery_id="d-2"), DurableJournal().journal())
    assert len(fake.posts) == 2
    assert len(fake.requests_to("GET", r"^/refresh_access_token$")) == 1, "retried at once"
    assert "could not refresh the token of channel th" in caplog.text
    assert TOKEN not in caplog.text


async def test_check_refreshes_a_filed_token_and_says_when_it_expires(
    fake: ThreadsFake, tmp_path: Path
) -> None:
    day = datetime.fromtimestamp(time.time() + 60 * 86400, UTC).date().isoformat()
    async with client() as http:
        identity = await filed(fake, http, tmp_path, age_days=1).check()
    assert identity.detail is not None
    assert identity.detail.endswith(
        f"token refreshed and stored in secrets/threads.token: the token expires on {day} (in 60 days)"
    )
    assert fake.refreshes == 1


async def test_check_does_not_refresh_a_token_written_today(fake: ThreadsFake, tmp_path: Path) -> None:
    async with client() as http:
        identity = await filed(fake, http, tmp_path, age_days=0.5).check()
    assert identity.detail is not None
    assert identity.detail.endswith(
        "the token in secrets/threads.token was written less than a day ago; Threads refreshes a token once "
        "it is a day old"
    )
    assert fake.refreshes == 0


# --- images ---------------------------------------------------------------------------------------------

PUBLIC = "https://images.example.com/{n}.jpg"


async def test_one_image_is_an_image_container_with_its_alt_text(fake: ThreadsFake, tmp_path: Path) -> None:
    [image] = image_media(tmp_path, 1, src=PUBLIC)
    async with client() as http:
        await adapter(fake, http).publish(outgoing([SINGLE], media=(image,)), DurableJournal().journal())
    [create] = fake.requests_to("POST", r"/me/threads$")
    assert create.fields() == {
        "media_type": "IMAGE",
        "image_url": "https://images.example.com/1.jpg",
        "alt_text": image.alt,
        "text": SINGLE,
        "access_token": TOKEN,
    }
    [post] = fake.posts
    assert post.images == [("https://images.example.com/1.jpg", image.alt)]


async def test_a_carousel_reuses_its_journalled_items_on_retry(fake: ThreadsFake, tmp_path: Path) -> None:
    media = image_media(tmp_path, 3, src=PUBLIC)
    fake.faults.server_error(status=503, path=r"/me/threads$", after=3)  # the CAROUSEL container
    durable = DurableJournal()
    async with client() as http:
        with pytest.raises(TransientDeliveryError):
            await adapter(fake, http).publish(outgoing(THREAD, media=media), durable.journal())
        items = durable.saved["items"]
        assert len(items) == 3 and all(fake.containers[i].carousel_item for i in items)
        await adapter(fake, http).publish(outgoing(THREAD, media=media), durable.journal())
    creates = [r.fields() for r in fake.requests_to("POST", r"/me/threads$")]
    assert [c["media_type"] for c in creates] == ["IMAGE"] * 3 + ["CAROUSEL", "CAROUSEL", "TEXT", "TEXT"]
    assert all(c["is_carousel_item"] == "true" for c in creates[:3])
    assert creates[4]["children"] == ",".join(items)
    assert creates[4]["text"] == THREAD[0]
    first, second, third = fake.posts
    assert [url for url, _ in first.images] == [PUBLIC.format(n=n) for n in (1, 2, 3)]
    assert (second.images, second.reply_to, third.reply_to) == ([], first.id, second.id)
    assert durable.saved["items"] is None


async def test_an_image_still_processing_is_published_on_the_next_attempt(
    fake: ThreadsFake, tmp_path: Path
) -> None:
    media = image_media(tmp_path, 1, src=PUBLIC)
    fake.image_status = "IN_PROGRESS"
    durable = DurableJournal()
    async with client() as http:
        with pytest.raises(TransientDeliveryError) as caught:
            await adapter(fake, http).publish(outgoing([SINGLE], media=media), durable.journal())
        assert caught.value.retry_after == CONTAINER_WAIT
        container = durable.saved["container"]["id"]
        assert publishes(fake) == []
        fake.containers[container].status = "FINISHED"
        await adapter(fake, http).publish(outgoing([SINGLE], media=media), durable.journal())
    assert publishes(fake) == [container]
    assert len(fake.containers) == 1, "the same container, never a second one"


async def test_a_local_image_is_left_out_and_the_text_goes(
    fake: ThreadsFake, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    media = image_media(tmp_path, 1, src="images/{n}.jpg")
    with caplog.at_level(logging.WARNING, logger="tagcast.adapters.media"):
        async with client() as http:
            await adapter(fake, http).publish(outgoing([SINGLE], media=media), DurableJournal().journal())
    [create] = fake.requests_to("POST", r"/me/threads$")
    assert create.fields()["media_type"] == "TEXT"
    assert "images/1.jpg is left out" in caplog.text


@pytest.mark.parametrize(
    "url", ["http://images.example.com/a.jpg", "https://127.0.0.1/a.jpg", "https://10.0.0.7/a.jpg"]
)
async def test_the_fake_refuses_an_image_meta_cannot_fetch(fake: ThreadsFake, url: str) -> None:
    async with client() as http:
        answer = await http.post(
            f"{fake.api_url}/me/threads",
            data={"media_type": "IMAGE", "image_url": url, "access_token": TOKEN},
        )
    assert answer.status_code == 400
    assert "public https URL" in answer.json()["error"]["message"]
    assert fake.containers == {}

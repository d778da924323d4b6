"""Facebook specifics beyond the contract: message and link, a 500 that may have posted, the duplicate
message, Graph errors (token, rate limits), and who ``check`` says it posts as."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fakes.facebook import FacebookFake
from fakes.multipart import form_parts
from media_files import image_media
from pydantic import SecretStr

from scheduler.adapters.base import Outgoing
from scheduler.adapters.facebook import FACEBOOK_LIMIT, FacebookAdapter
from scheduler.adapters.graph import business_use_case_wait
from scheduler.adapters.tokens import describe_expiry
from scheduler.config.models import ChannelSettings
from scheduler.errors import AuthError, PermanentDeliveryError, TransientDeliveryError, UnknownOutcome
from scheduler.models import Article

from .contract import SINGLE, THREAD, DurableJournal, client, outgoing

pytestmark = pytest.mark.anyio
TOKEN = "fb-secret-page-token-5"
URL = "https://example.com/article"


@pytest.fixture
def fake() -> Iterator[FacebookFake]:
    with FacebookFake(token=TOKEN).running() as running:
        yield running


def adapter(fake: FacebookFake, http: Any, **keys: Any) -> FacebookAdapter:
    values = {"page_id": fake.page_id, "token": SecretStr(TOKEN), **keys}
    settings = ChannelSettings.model_validate({"network": "facebook", "base_url": fake.api_url, **values})
    return FacebookAdapter("fb", settings, http=http, root=Path("."))


def with_link(text: str) -> Outgoing:
    article = Article(source="posts/a.md", title="A", body=text, url=URL)
    return replace(outgoing([text]), article=article)


async def test_a_page_post_has_the_message_and_the_link(fake: FacebookFake) -> None:
    async with client() as http:
        receipt = await adapter(fake, http).publish(with_link(SINGLE), DurableJournal().journal())
    [request] = fake.requests_to("POST", r"/feed$")
    assert request.fields() == {"message": SINGLE, "link": URL, "access_token": TOKEN}
    assert "access_token" not in request.query, "the token must not travel in a URL"
    [post] = fake.posts
    assert receipt.remote_ids == (post.id,)
    page, _, story = post.id.partition("_")
    assert receipt.url == f"https://www.facebook.com/{page}/posts/{story}"


async def test_a_500_may_have_posted_so_it_is_unknown_and_never_resent(fake: FacebookFake) -> None:
    fake.commit_on_500 = True
    fake.faults.server_error(status=500, path=r"/feed$")
    durable = DurableJournal()
    async with client() as http:
        with pytest.raises(UnknownOutcome) as caught:
            await adapter(fake, http).publish(outgoing([SINGLE]), durable.journal())
        with pytest.raises(UnknownOutcome) as again:
            await adapter(fake, http).publish(outgoing([SINGLE]), durable.journal())
        with pytest.raises(UnknownOutcome):
            await adapter(fake, http).reconcile(outgoing([SINGLE]), durable.journal())
    assert "not resent" in caught.value.reason
    assert "tagcast queue resolve d-1" in again.value.reason
    assert len(fake.posts) == 1
    assert len(fake.requests_to("POST", r"/feed$")) == 1


async def test_a_duplicate_message_is_unknown(fake: FacebookFake) -> None:
    async with client() as http:
        await adapter(fake, http).publish(outgoing([SINGLE]), DurableJournal().journal())
        with pytest.raises(UnknownOutcome) as caught:
            await adapter(fake, http).publish(
                outgoing([SINGLE], delivery_id="d-2"), DurableJournal().journal()
            )
    assert "(#506) Duplicate status message" in caught.value.reason
    assert "probably out" in caught.value.reason
    assert len(fake.posts) == 1


async def test_a_rejected_token_is_an_auth_error_without_the_token(fake: FacebookFake) -> None:
    async with client() as http:
        with pytest.raises(AuthError) as caught:
            await adapter(fake, http, token=SecretStr("expired-abc")).publish(
                outgoing([SINGLE]), DurableJournal().journal()
            )
    assert "code 190" in caught.value.reason
    assert "pages_manage_posts" in caught.value.reason
    assert "expired-abc" not in caught.value.reason
    assert fake.posts == []


async def test_a_missing_page_id_is_named_before_any_request(fake: FacebookFake) -> None:
    async with client() as http:
        with pytest.raises(AuthError) as caught:
            await adapter(fake, http, page_id=None).check()
    assert "channels.fb.page_id is not set" in caught.value.reason
    assert fake.requests == []


async def test_a_missing_token_says_how_to_get_one_and_where_to_set_it(fake: FacebookFake) -> None:
    async with client() as http:
        with pytest.raises(AuthError) as caught:
            await adapter(fake, http, token=None).check()
    assert caught.value.reason == (
        "channels.fb.token is not set: get a Page access token with pages_manage_posts "
        "(GET /{user-id}/accounts) and set it as the channel's token (TAGCAST_CHANNELS__FB__TOKEN, .env or "
        "token_file)"
    )
    assert fake.requests == []


async def test_several_parts_are_refused_before_sending(fake: FacebookFake) -> None:
    async with client() as http:
        with pytest.raises(PermanentDeliveryError) as caught:
            await adapter(fake, http).publish(outgoing(THREAD), DurableJournal().journal())
    assert "thread = false" in caught.value.reason
    assert fake.requests == []


async def test_the_length_rule_is_facebooks(fake: FacebookFake) -> None:
    async with client() as http:
        with pytest.raises(PermanentDeliveryError) as caught:
            await adapter(fake, http).publish(outgoing(["a" * 63_207]), DurableJournal().journal())
        await adapter(fake, http).publish(outgoing(["a" * 63_206]), DurableJournal().journal())
    assert "63207 characters, limit 63206" in caught.value.reason
    assert len(fake.posts) == 1


async def test_a_page_rate_limit_pauses_the_channel(fake: FacebookFake) -> None:
    fake.faults.rate_limited(wait=20, path=r"/feed$")
    async with client() as http:
        with pytest.raises(TransientDeliveryError) as caught:
            await adapter(fake, http).publish(outgoing([SINGLE]), DurableJournal().journal())
    assert caught.value.retry_after is not None
    assert caught.value.retry_after >= 19
    assert "(#32) Page request limit reached" in caught.value.reason


def test_the_business_use_case_header_says_how_long() -> None:
    usage = '{"104857392011234":[{"type":"pages","call_count":100,"estimated_time_to_regain_access":7}]}'
    assert business_use_case_wait(httpx.Headers({"X-Business-Use-Case-Usage": usage})) == 420
    assert business_use_case_wait(httpx.Headers({"X-Business-Use-Case-Usage": "not json"})) is None
    assert business_use_case_wait(httpx.Headers()) is None


async def test_check_names_the_page(fake: FacebookFake) -> None:
    async with client() as http:
        identity = await adapter(fake, http).check()
    assert identity.account == f"Tagcast News (Page {fake.page_id})"
    assert identity.url == f"https://www.facebook.com/{fake.page_id}"
    assert fake.posts == []


def test_defaults_are_those_of_the_design() -> None:
    settings = ChannelSettings(network="facebook", page_id="1", token=SecretStr(TOKEN))
    facebook = FacebookAdapter("fb", settings, http=None, root=Path("."))  # type: ignore[arg-type]
    assert facebook.base_url == "https://graph.facebook.com/v21.0"
    assert FacebookAdapter.length_rules(settings).limit == FACEBOOK_LIMIT == 63_206


async def test_check_says_when_the_token_expires() -> None:
    expires_at = int(time.time()) + 40 * 86400 + 3600
    day = datetime.fromtimestamp(expires_at, UTC).date().isoformat()
    with FacebookFake(token=TOKEN, token_expires_at=expires_at).running() as fake:
        async with client() as http:
            identity = await adapter(fake, http).check()
    assert identity.detail == f"the token expires on {day} (in 40 days)"


async def test_check_says_a_page_token_does_not_expire(fake: FacebookFake) -> None:
    async with client() as http:
        identity = await adapter(fake, http).check()
    assert identity.detail == "the token does not expire"


def test_expiry_wording() -> None:
    now = 1_800_000_000.0
    assert describe_expiry(None, now=now) is None
    assert describe_expiry(now - 10, now=now) == "the token expired on 2027-01-15"
    assert describe_expiry(now + 86400 + 5, now=now) == "the token expires on 2027-01-16 (in 1 day)"


# --- photos ---------------------------------------------------------------------------------------------


def photo_uploads(fake: FacebookFake) -> list[dict[str, str]]:
    return [form_parts(r).values() for r in fake.requests_to("POST", r"/photos$")]


async def test_one_image_is_a_photo_post_with_its_alt_text(fake: FacebookFake, tmp_path: Path) -> None:
    [image] = image_media(tmp_path, 1)
    async with client() as http:
        receipt = await adapter(fake, http).publish(
            replace(with_link(SINGLE), media=(image,)), DurableJournal().journal()
        )
    [request] = fake.requests_to("POST", r"/photos$")
    form = form_parts(request)
    assert form.values() == {"message": SINGLE, "access_token": TOKEN, "alt_text_custom": image.alt}
    assert form.file("source") is not None and form.file("source").data == image.path.read_bytes()
    assert fake.requests_to("POST", r"/feed$") == []
    [post] = fake.posts
    assert [(p.sha256, p.alt, p.published) for p in post.photos] == [(image.sha256, image.alt, True)]
    assert receipt.remote_ids == (post.id,)
    assert receipt.url == f"https://www.facebook.com/{fake.page_id}/posts/{post.id.split('_')[1]}"


async def test_several_images_are_unpublished_photos_attached_to_the_post(
    fake: FacebookFake, tmp_path: Path
) -> None:
    media = image_media(tmp_path, 3)
    async with client() as http:
        await adapter(fake, http).publish(replace(with_link(SINGLE), media=media), DurableJournal().journal())
    assert [u["published"] for u in photo_uploads(fake)] == ["false"] * 3
    assert [u["alt_text_custom"] for u in photo_uploads(fake)] == [m.alt for m in media]
    [feed] = fake.requests_to("POST", r"/feed$")
    form = feed.fields()
    assert "link" not in form, "photos, not a link card"
    ids = [p.id for p in fake.photos.values()]
    assert [json.loads(form[f"attached_media[{n}]"]) for n in range(3)] == [{"media_fbid": i} for i in ids]
    [post] = fake.posts
    assert [p.sha256 for p in post.photos] == [m.sha256 for m in media]


async def test_a_failure_before_the_post_reuses_journalled_photos(fake: FacebookFake, tmp_path: Path) -> None:
    media = image_media(tmp_path, 2)
    fake.faults.server_error(status=503, path=r"/feed$")
    durable = DurableJournal()
    async with client() as http:
        with pytest.raises(TransientDeliveryError):
            await adapter(fake, http).publish(outgoing([SINGLE], media=media), durable.journal())
        assert list(durable.saved["uploads"]["facebook"].values()) == list(fake.photos)
        assert durable.saved["facebook"]["in_flight"] is None
        restarted = adapter(fake, http)
        assert await restarted.reconcile(outgoing([SINGLE], media=media), durable.journal()) is None
        await restarted.publish(outgoing([SINGLE], media=media), durable.journal())
    assert len(photo_uploads(fake)) == 2, "no photo was uploaded twice"
    [post] = fake.posts
    assert [p.sha256 for p in post.photos] == [m.sha256 for m in media]


async def test_a_photo_upload_that_failed_resumes_after_the_journalled_ones(
    fake: FacebookFake, tmp_path: Path
) -> None:
    media = image_media(tmp_path, 3)
    fake.faults.server_error(status=500, path=r"/photos$", after=1)
    durable = DurableJournal()
    async with client() as http:
        with pytest.raises(TransientDeliveryError):
            await adapter(fake, http).publish(outgoing([SINGLE], media=media), durable.journal())
        await adapter(fake, http).publish(outgoing([SINGLE], media=media), durable.journal())
    assert len(photo_uploads(fake)) == 4, "the first photo once, the failed one again, then the third"
    [post] = fake.posts
    assert [p.sha256 for p in post.photos] == [m.sha256 for m in media]


async def test_an_interrupted_photo_post_is_unknown_not_resent(fake: FacebookFake, tmp_path: Path) -> None:
    media = image_media(tmp_path, 2)
    fake.faults.commit_then_drop(path=r"/feed$")
    durable = DurableJournal()
    async with client() as http:
        with pytest.raises(UnknownOutcome):
            await adapter(fake, http).publish(outgoing([SINGLE], media=media), durable.journal())
        with pytest.raises(UnknownOutcome):
            await adapter(fake, http).reconcile(outgoing([SINGLE], media=media), durable.journal())
    assert len(fake.posts) == 1
    assert len(fake.requests_to("POST", r"/feed$")) == 1

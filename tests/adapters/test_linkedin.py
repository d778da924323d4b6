"""LinkedIn specifics beyond the contract: the versioned headers and body, little-text escaping (counted after
escaping), the duplicate 422 as a receipt, a sunset version, authors, and who ``check`` says it posts as."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fakes.linkedin import LinkedInFake
from media_files import image_media
from pydantic import SecretStr

from scheduler.adapters.base import Journal
from scheduler.adapters.linkedin import DUPLICATE_WINDOW, LinkedInAdapter
from scheduler.config.models import ChannelSettings
from scheduler.errors import AuthError, PermanentDeliveryError, TransientDeliveryError, UnknownOutcome

from .contract import SINGLE, THREAD, DurableJournal, client, outgoing

pytestmark = pytest.mark.anyio
TOKEN = "li-secret-token-77"
RESERVED = r"C# (and F#) @ 50% off_now [x] {y} <z> *a* ~b~ |c| back\slash"


@pytest.fixture
def fake() -> Iterator[LinkedInFake]:
    with LinkedInFake(token=TOKEN).running() as running:
        yield running


def adapter(fake: LinkedInFake, http: Any, **keys: Any) -> LinkedInAdapter:
    values = {"author": fake.person, "version": "202511", "token": SecretStr(TOKEN), **keys}
    settings = ChannelSettings.model_validate({"network": "linkedin", "base_url": fake.base_url, **values})
    return LinkedInAdapter("li", settings, http=http, root=Path("."))


async def test_a_post_carries_the_versioned_headers_and_the_documented_body(fake: LinkedInFake) -> None:
    async with client() as http:
        receipt = await adapter(fake, http).publish(outgoing([SINGLE]), DurableJournal().journal())
    [request] = fake.requests_to("POST", r"^/rest/posts$")
    assert request.headers["linkedin-version"] == "202511"
    assert request.headers["x-restli-protocol-version"] == "2.0.0"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.json() == {
        "author": fake.person,
        "commentary": SINGLE.replace("#TagCast", "{hashtag|\\#|TagCast}"),
        "visibility": "PUBLIC",
        "distribution": {
            "feedDistribution": "MAIN_FEED",
            "targetEntities": [],
            "thirdPartyDistributionChannels": [],
        },
        "lifecycleState": "PUBLISHED",
        "isReshareDisabledByAuthor": False,
    }
    [post] = fake.posts
    assert (post.text, post.hashtags) == (SINGLE, ["TagCast"])
    assert receipt.remote_ids == (post.id,)
    assert receipt.url == f"https://www.linkedin.com/feed/update/{post.id}/"


async def test_reserved_characters_are_escaped_so_nothing_is_cut(fake: LinkedInFake) -> None:
    async with client() as http:
        await adapter(fake, http).publish(outgoing([RESERVED]), DurableJournal().journal())
    [post] = fake.posts
    assert post.text == RESERVED


async def test_the_length_is_counted_after_escaping(fake: LinkedInFake) -> None:
    fits = "#" * 1500
    too_long = "#" * 1501
    async with client() as http:
        with pytest.raises(PermanentDeliveryError) as caught:
            await adapter(fake, http).publish(outgoing([too_long]), DurableJournal().journal())
        assert "3002 characters" in caught.value.reason
        assert fake.requests == []
        await adapter(fake, http).publish(outgoing([fits]), DurableJournal().journal())
    assert [p.text for p in fake.posts] == [fits]


async def test_hashtags_are_sent_as_linkedin_links_them_and_counted_so(fake: LinkedInFake) -> None:
    """``#Tag`` goes out as ``{hashtag|\\#|Tag}`` (12 characters more, counted), a tag's own reserved
    characters escaped inside it; a ``#`` that starts no hashtag stays plain text."""
    text = "C# news: #Python_3 and #Rust. " + "x" * 2925
    rules = LinkedInAdapter.length_rules(ChannelSettings.model_validate({"network": "linkedin"}))
    assert (len(text), rules.count(text)) == (2955, 2981)
    too_long = text + " #Go" * 4
    assert (len(too_long), rules.count(too_long)) == (2971, 3045)
    async with client() as http:
        with pytest.raises(PermanentDeliveryError) as caught:
            await adapter(fake, http).publish(outgoing([too_long]), DurableJournal().journal())
        assert "3045 characters" in caught.value.reason
        assert fake.requests == []
        await adapter(fake, http).publish(outgoing([text]), DurableJournal().journal())
    [request] = fake.requests_to("POST", r"^/rest/posts$")
    assert request.json()["commentary"].startswith(
        "C\\# news: {hashtag|\\#|Python\\_3} and {hashtag|\\#|Rust}. xxx"
    )
    [post] = fake.posts
    assert (post.text, post.hashtags) == (text, ["Python_3", "Rust"])


async def test_a_duplicate_is_the_receipt_of_the_first_post(fake: LinkedInFake) -> None:
    async with client() as http:
        first = await adapter(fake, http).publish(outgoing([SINGLE]), DurableJournal().journal())
        again = await adapter(fake, http).publish(
            outgoing([SINGLE], delivery_id="d-2"), DurableJournal().journal()
        )
    assert len(fake.posts) == 1
    assert again.remote_ids == first.remote_ids
    assert again.extra["duplicate"] is True


async def test_a_duplicate_that_names_no_post_is_unknown() -> None:
    with LinkedInFake(token=TOKEN, names_duplicates=False).running() as fake:
        async with client() as http:
            await adapter(fake, http).publish(outgoing([SINGLE]), DurableJournal().journal())
            with pytest.raises(UnknownOutcome) as caught:
                await adapter(fake, http).publish(
                    outgoing([SINGLE], delivery_id="d-2"), DurableJournal().journal()
                )
    assert "tagcast queue resolve d-2" in caught.value.reason


async def test_a_sunset_version_pauses_the_channel_naming_the_key(fake: LinkedInFake) -> None:
    async with client() as http:
        with pytest.raises(AuthError) as caught:
            await adapter(fake, http, version="202301").publish(
                outgoing([SINGLE]), DurableJournal().journal()
            )
    assert "426" in caught.value.reason
    assert "channels.li.version" in caught.value.reason
    assert fake.posts == []


@pytest.mark.parametrize(
    ("keys", "named"),
    [
        ({"version": None}, "channels.li.version is not set"),
        ({"version": "2025-11"}, "channels.li.version is '2025-11'"),
        ({"author": None}, "channels.li.author is not set"),
        ({"author": "alice"}, "channels.li.author is 'alice'"),
        ({"token": None}, "TAGCAST_CHANNELS__LI__TOKEN"),
    ],
)
async def test_a_missing_or_malformed_key_is_named_before_any_request(
    fake: LinkedInFake, keys: dict[str, Any], named: str
) -> None:
    async with client() as http:
        with pytest.raises(AuthError) as caught:
            await adapter(fake, http, **keys).publish(outgoing([SINGLE]), DurableJournal().journal())
    assert named in caught.value.reason
    assert fake.requests == []


async def test_an_organization_posts_and_a_foreign_author_is_refused(fake: LinkedInFake) -> None:
    async with client() as http:
        org = adapter(fake, http, author="urn:li:organization:2414183")
        await org.publish(outgoing([SINGLE]), DurableJournal().journal())
        with pytest.raises(AuthError):
            await adapter(fake, http, author="urn:li:organization:1").publish(
                outgoing(["other"]), DurableJournal().journal()
            )
    assert [p.author for p in fake.posts] == ["urn:li:organization:2414183"]


async def test_several_parts_are_refused_before_sending(fake: LinkedInFake) -> None:
    async with client() as http:
        with pytest.raises(PermanentDeliveryError) as caught:
            await adapter(fake, http).publish(outgoing(THREAD), DurableJournal().journal())
    assert "thread = false" in caught.value.reason
    assert fake.requests == []


async def test_a_lost_answer_older_than_the_window_is_unknown_not_resent(fake: LinkedInFake) -> None:
    journal = Journal(state={"version": 1, "urn": None, "sent_at": time.time() - DUPLICATE_WINDOW - 1})
    async with client() as http:
        with pytest.raises(UnknownOutcome):
            await adapter(fake, http).reconcile(outgoing([SINGLE]), journal)
    assert fake.requests == []


async def test_a_throttled_post_is_known_not_sent(fake: LinkedInFake) -> None:
    fake.faults.rate_limited(wait=30, path=r"^/rest/posts$")
    durable = DurableJournal()
    async with client() as http:
        with pytest.raises(TransientDeliveryError) as caught:
            await adapter(fake, http).publish(outgoing([SINGLE]), durable.journal())
    assert caught.value.retry_after is not None
    assert caught.value.retry_after >= 29
    assert durable.saved["sent_at"] is None


async def test_check_names_the_member(fake: LinkedInFake) -> None:
    async with client() as http:
        identity = await adapter(fake, http).check()
        organization = await adapter(fake, http, author="urn:li:organization:2414183").check()
        with pytest.raises(AuthError) as caught:
            await adapter(fake, http, author="urn:li:person:someoneelse").check()
    assert identity.account == f"Alice Example ({fake.person})"
    assert organization.account == "urn:li:organization:2414183"
    assert organization.detail == "posts as the organization, with the token of Alice Example"
    assert f'author = "{fake.person}"' in caught.value.reason


async def test_check_without_the_openid_scope_still_passes() -> None:
    with LinkedInFake(token=TOKEN, openid=False).running() as fake:
        async with client() as http:
            identity = await adapter(fake, http).check()
    assert identity.account == fake.person
    assert identity.detail is not None and "openid" in identity.detail


def test_defaults_are_those_of_the_design() -> None:
    settings = ChannelSettings(network="linkedin", token=SecretStr(TOKEN))
    linkedin = LinkedInAdapter("li", settings, http=None, root=Path("."))  # type: ignore[arg-type]
    assert linkedin.base_url == "https://api.linkedin.com"
    assert LinkedInAdapter.length_rules(settings).limit == 3000


async def test_an_unreachable_server_leaves_nothing_in_flight(tmp_path: Path) -> None:
    settings = ChannelSettings(
        network="linkedin",
        base_url="http://127.0.0.1:9",
        author="urn:li:person:AbC123xyz",
        version="202511",
        token=SecretStr(TOKEN),
    )
    durable = DurableJournal()
    async with client() as http:
        with pytest.raises(TransientDeliveryError) as caught:
            await LinkedInAdapter("li", settings, http=http, root=tmp_path).publish(
                outgoing([SINGLE]), durable.journal()
            )
    assert "cannot connect" in caught.value.reason
    assert durable.saved["sent_at"] is None


# --- refresh tokens ----------------------------------------------------------------------------------------


def refreshing(fake: LinkedInFake, http: Any, root: Path, **keys: Any) -> LinkedInAdapter:
    (root / "li.token").write_text(TOKEN + "\n", encoding="utf-8")
    values = {
        "network": "linkedin",
        "base_url": fake.base_url,
        "author": fake.person,
        "version": "202511",
        "token": SecretStr(TOKEN),
        "token_file": "li.token",
        "oauth2_refresh_token": SecretStr(fake.refresh_token),
        "client_id": fake.client[0],
        "client_secret": SecretStr(fake.client[1]),
        **keys,
    }
    return LinkedInAdapter("li", ChannelSettings.model_validate(values), http=http, root=root)


async def test_an_expired_token_is_renewed_with_the_refresh_token(fake: LinkedInFake, tmp_path: Path) -> None:
    fake.expire_tokens()
    async with client() as http:
        linkedin = refreshing(fake, http, tmp_path)
        await linkedin.publish(outgoing([SINGLE]), DurableJournal().journal())
        await linkedin.publish(outgoing(["second"], delivery_id="d-2"), DurableJournal().journal())
        identity = await linkedin.check()
    assert fake.refreshes == 1
    [exchange] = fake.requests_to("POST", r"^/oauth/v2/accessToken$")
    assert exchange.fields() == {
        "grant_type": "refresh_token",
        "refresh_token": fake.refresh_token,
        "client_id": fake.client[0],
        "client_secret": fake.client[1],
    }
    assert (tmp_path / "li.token").read_text(encoding="utf-8") == f"{TOKEN}-renewed-1\n"
    assert [p.text for p in fake.posts] == [SINGLE, "second"]
    assert identity.detail is not None
    assert "the token expires on" in identity.detail
    assert "(in 60 days) (refreshed with the refresh token)" in identity.detail


async def test_a_refused_refresh_says_to_authorize_again(fake: LinkedInFake, tmp_path: Path) -> None:
    fake.expire_tokens()
    async with client() as http:
        linkedin = refreshing(fake, http, tmp_path, oauth2_refresh_token=SecretStr("revoked-refresh-55"))
        with pytest.raises(AuthError) as caught:
            await linkedin.publish(outgoing([SINGLE]), DurableJournal().journal())
    assert "authorize the app again" in caught.value.reason
    assert "revoked-refresh-55" not in caught.value.reason
    assert (tmp_path / "li.token").read_text(encoding="utf-8") == TOKEN + "\n"
    assert fake.posts == []


async def test_without_the_app_secret_a_401_is_not_retried(fake: LinkedInFake, tmp_path: Path) -> None:
    fake.expire_tokens()
    async with client() as http:
        linkedin = refreshing(fake, http, tmp_path, client_secret=None)
        with pytest.raises(AuthError) as caught:
            await linkedin.publish(outgoing([SINGLE]), DurableJournal().journal())
    assert "last 60 days" in caught.value.reason
    assert fake.requests_to("POST", r"^/oauth/v2/accessToken$") == []


async def test_check_with_the_app_credentials_says_when_the_token_expires(fake: LinkedInFake) -> None:
    async with client() as http:
        app = adapter(fake, http, client_id=fake.client[0], client_secret=SecretStr(fake.client[1]))
        identity = await app.check()
        wrong = await adapter(fake, http, client_id="other", client_secret=SecretStr("nope-77")).check()
    assert identity.detail is not None
    assert identity.detail.startswith("posts as a member; the token expires on 2100-01-01 (in ")
    introspection = fake.requests_to("POST", r"^/oauth/v2/introspectToken$")[0]
    assert introspection.fields() == {
        "client_id": "li-client",
        "client_secret": "li-client-secret",
        "token": TOKEN,
    }
    assert wrong.detail is not None
    assert wrong.detail.startswith("posts as a member; could not read when the token expires")
    assert "nope-77" not in wrong.detail


# --- images ---------------------------------------------------------------------------------------------


def uploads(fake: LinkedInFake) -> list[bytes]:
    """The bytes of every image upload (PUT to an uploadUrl) that LinkedIn accepted."""
    return [r.body for r in fake.requests_to("PUT", r"^/dms-uploads/")]


async def test_an_image_is_uploaded_then_named_in_the_post_with_its_alt(
    fake: LinkedInFake, tmp_path: Path
) -> None:
    [image] = image_media(tmp_path, 1)
    async with client() as http:
        await adapter(fake, http).publish(outgoing([SINGLE], media=(image,)), DurableJournal().journal())
    [initialize] = fake.requests_to("POST", r"^/rest/images$")
    assert initialize.query == {"action": ["initializeUpload"]}
    assert initialize.json() == {"initializeUploadRequest": {"owner": fake.person}}
    assert initialize.headers["linkedin-version"] == "202511"
    assert uploads(fake) == [image.path.read_bytes()]
    [urn] = fake.images
    [create] = fake.requests_to("POST", r"^/rest/posts$")
    assert create.json()["content"] == {"media": {"id": urn, "altText": image.alt}}
    assert fake.posts[0].images == [(image.sha256, image.alt)]


async def test_several_images_are_a_multi_image_post(fake: LinkedInFake, tmp_path: Path) -> None:
    media = image_media(tmp_path, 3)
    async with client() as http:
        await adapter(fake, http).publish(outgoing([SINGLE], media=media), DurableJournal().journal())
    [create] = fake.requests_to("POST", r"^/rest/posts$")
    assert create.json()["content"] == {
        "multiImage": {
            "images": [{"id": urn, "altText": m.alt} for urn, m in zip(fake.images, media, strict=True)]
        }
    }


async def test_a_crash_before_the_post_reuses_the_journalled_images(
    fake: LinkedInFake, tmp_path: Path
) -> None:
    media = image_media(tmp_path, 2)
    fake.faults.drop(path=r"^/rest/posts$")
    durable = DurableJournal()
    async with client() as http:
        with pytest.raises(TransientDeliveryError):
            await adapter(fake, http).publish(outgoing([SINGLE], media=media), durable.journal())
        stored = durable.saved["uploads"]["linkedin"]
        assert list(stored) == [m.sha256 for m in media]
        assert list(stored.values()) == list(fake.images)
        restarted = adapter(fake, http)
        receipt = await restarted.reconcile(outgoing([SINGLE], media=media), durable.journal())
        if receipt is None:
            receipt = await restarted.publish(outgoing([SINGLE], media=media), durable.journal())
    assert len(fake.requests_to("POST", r"^/rest/images$")) == 2, "no image was uploaded twice"
    assert len(uploads(fake)) == 2
    [post] = fake.posts
    assert post.images == [(m.sha256, m.alt) for m in media]
    assert receipt.remote_ids == (post.id,)


async def test_an_upload_that_failed_midway_resumes_after_the_journalled_ones(
    fake: LinkedInFake, tmp_path: Path
) -> None:
    media = image_media(tmp_path, 3)
    fake.faults.server_error(status=503, path=r"^/dms-uploads/", after=1)
    durable = DurableJournal()
    async with client() as http:
        with pytest.raises(TransientDeliveryError):
            await adapter(fake, http).publish(outgoing([SINGLE], media=media), durable.journal())
        assert list(durable.saved["uploads"]["linkedin"]) == [media[0].sha256]
        assert fake.posts == []
        await adapter(fake, http).publish(outgoing([SINGLE], media=media), durable.journal())
    accepted = [r.body for r in fake.requests_to("PUT", r"^/dms-uploads/")]
    assert accepted.count(media[0].path.read_bytes()) == 1, "the journalled image is not uploaded again"
    [post] = fake.posts
    assert post.images == [(m.sha256, m.alt) for m in media]


async def test_the_fake_refuses_an_image_that_was_never_uploaded(fake: LinkedInFake) -> None:
    headers = {
        "Authorization": f"Bearer {TOKEN}",
        "LinkedIn-Version": "202511",
        "X-Restli-Protocol-Version": "2.0.0",
    }
    body = {"initializeUploadRequest": {"owner": fake.person}}
    async with client() as http:
        answer = await http.post(
            f"{fake.base_url}/rest/images?action=initializeUpload", json=body, headers=headers
        )
        urn = answer.json()["value"]["image"]
        post = {
            "author": fake.person,
            "commentary": "x",
            "visibility": "PUBLIC",
            "distribution": {"feedDistribution": "MAIN_FEED"},
            "lifecycleState": "PUBLISHED",
            "content": {"media": {"id": urn, "altText": "a"}},
        }
        refused = await http.post(f"{fake.base_url}/rest/posts", json=post, headers=headers)
    assert refused.status_code == 422
    assert f"image {urn} is not an uploaded image" in refused.json()["message"]
    assert fake.posts == []

"""Link pages and https images named by an article (a remote feed's, perhaps) are not fetched from private,
loopback or link-local addresses: not by address, not after a redirect, not through a name resolving there.
Each hop goes to the address that was checked (a test resolver shows it is asked once). The fake servers
are on loopback, so what is fetched here is allowed through ``[media] private_addresses`` (a list of
networks) and what is refused never reaches them."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import re
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from fakes.images import ImageServer
from fakes.pages import PagesFake
from intranet import ALLOW_TOML
from typer.testing import CliRunner

from scheduler.adapters.base import Outgoing
from scheduler.cli.app import app
from scheduler.config.loader import load_workspace
from scheduler.config.settings import Settings
from scheduler.media.addresses import AddressPolicy, PrivateAddressError, kind_of
from scheduler.media.cards import CardRules
from scheduler.media.fetch import ImageAddressRefused, fetch_image
from scheduler.media.model import Card, ImageRef
from scheduler.media.prepare import MediaCache, MediaPreparer, prepare_media
from scheduler.models import Article
from scheduler.store import Store
from tests.cards.support import article as card_article
from tests.cards.support import link_cards
from tests.conftest import WriteWorkspace

from .pictures import noisy_jpeg

PHOTO = noisy_jpeg(64, 48)
HINT = 'to fetch from private addresses (an intranet), set [media] private_addresses = "allow"'


def resolver(answers: dict[str, list[list[str]]], asked: list[str]) -> Callable[[str, int], list[str]]:
    """Answers each name from ``answers`` (the next list each time it is asked; the last one repeats)."""

    def resolve(host: str, port: int) -> list[str]:
        asked.append(host)
        lists = answers[host]
        return lists[min(asked.count(host), len(lists)) - 1]

    return resolve


def only_loopback_1(resolve: Callable[[str, int], list[str]]) -> AddressPolicy:
    """``private_addresses = ["127.0.0.1/32"]``: the fake servers, and nothing else private."""
    settings = Settings(media={"private_addresses": ["127.0.0.1/32"]})  # type: ignore[arg-type]
    return AddressPolicy.of(settings, resolve=resolve)


# --- what is private ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("192.168.0.1", "private"),
        ("fd00::1", "private"),
        ("169.254.169.254", "link-local (cloud metadata services live here)"),
        ("0.0.0.0", "unspecified"),
        ("100.64.0.1", "not public"),
        ("93.184.215.14", None),
        ("2606:2800:21f:cb07:6820:80da:af6b:8b2c", None),
    ],
)
def test_what_counts_as_private(address: str, kind: str | None) -> None:
    assert kind_of(ipaddress.ip_address(address)) == kind


# --- images ---------------------------------------------------------------------------------------------


def test_an_image_on_loopback_is_refused_by_default(trusted: ImageServer, tmp_path: Path) -> None:
    trusted.files["/photo.jpg"] = PHOTO
    url = trusted.url("/photo.jpg")
    with pytest.raises(ImageAddressRefused) as caught:
        fetch_image(url, folder=tmp_path)
    assert caught.value.message == f"{url}: 127.0.0.1 is a loopback address: not fetched"
    assert caught.value.hint == HINT
    assert trusted.requests == [] and not list(tmp_path.iterdir())


def test_a_redirect_to_loopback_is_refused(trusted: ImageServer, tmp_path: Path) -> None:
    trusted.files["/real.jpg"] = PHOTO
    port = trusted.base_url.rsplit(":", 1)[1]
    trusted.redirects["/moved.jpg"] = f"https://127.0.0.2:{port}/real.jpg"
    trusted.redirects["/meta.jpg"] = "https://169.254.169.254/latest/meta-data/"
    policy = only_loopback_1(resolver({}, []))
    for path, target, kind in [
        ("/moved.jpg", f"https://127.0.0.2:{port}/real.jpg", "loopback"),
        (
            "/meta.jpg",
            "https://169.254.169.254/latest/meta-data/",
            "link-local (cloud metadata services live here)",
        ),
    ]:
        with pytest.raises(ImageAddressRefused) as caught:
            fetch_image(trusted.url(path), folder=tmp_path, addresses=policy)
        address = target.split("/")[2].split(":")[0]
        assert caught.value.message == (
            f"{trusted.url(path)} redirects to {target}: {address} is a {kind} address: not fetched"
        )
    assert trusted.requests == ["/moved.jpg", "/meta.jpg"]  # the redirects' targets were never asked


def test_a_name_resolving_to_loopback_is_refused(trusted: ImageServer, tmp_path: Path) -> None:
    trusted.files["/photo.jpg"] = PHOTO
    url = trusted.url("/photo.jpg").replace("127.0.0.1", "localhost")  # the system resolver, /etc/hosts
    with pytest.raises(ImageAddressRefused) as caught:
        fetch_image(url, folder=tmp_path)
    assert re.fullmatch(
        rf"{re.escape(url)}: localhost resolves to (127\.0\.0\.1|::1), a loopback address: not fetched",
        caught.value.message,
    )
    # one private answer among public ones is enough to refuse
    asked: list[str] = []
    mixed = AddressPolicy(resolve=resolver({"images.test": [["93.184.215.14", "10.0.0.5"]]}, asked))
    with pytest.raises(ImageAddressRefused) as caught:
        fetch_image(url.replace("localhost", "images.test"), folder=tmp_path, addresses=mixed)
    assert "images.test resolves to 10.0.0.5, a private address: not fetched" in caught.value.message
    assert trusted.requests == []


def test_the_connection_goes_to_the_address_that_was_checked(trusted: ImageServer, tmp_path: Path) -> None:
    """images.test resolves to 127.0.0.1 once, then (DNS rebinding) to the metadata service: the download
    goes to the first answer, the one checked; no second lookup happens. The certificate is checked for
    images.test (the name is kept for TLS)."""
    trusted.files["/photo.jpg"] = PHOTO
    asked: list[str] = []
    rebinding = resolver({"images.test": [["127.0.0.1"], ["169.254.169.254"]]}, asked)
    url = trusted.url("/photo.jpg").replace("127.0.0.1", "images.test")
    assert fetch_image(url, folder=tmp_path, addresses=only_loopback_1(rebinding)).read_bytes() == PHOTO
    assert asked == ["images.test"] and trusted.requests == ["/photo.jpg"]


def test_a_refused_image_is_left_out_and_the_post_still_goes(
    trusted: ImageServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    trusted.files["/photo.jpg"] = PHOTO
    url = trusted.url("/photo.jpg")
    root = tmp_path / "ws"
    (root / "config").mkdir(parents=True)
    (root / "config" / "tagcast.toml").write_text('[channels.bsky]\nnetwork = "bluesky"\nhandle = "a.test"\n')
    workspace = load_workspace(root / "config" / "tagcast.toml")
    art = Article(source="posts/feed.md", title="Ships", body="Text.", images=(ImageRef(url, "A boat"),))
    settings = workspace.settings.channels["bsky"]
    from scheduler.adapters.bluesky import BlueskyAdapter

    prepared = prepare_media(
        art, BlueskyAdapter.media_limits, settings, channel="bsky", cache=MediaCache.for_workspace(workspace)
    )
    refusal = f"image 1 ({url}): {url}: 127.0.0.1 is a loopback address: not fetched; {HINT}"
    assert (prepared.media, prepared.problems) == ((), ())
    assert prepared.refused == (refusal,)
    assert prepared.left_out == (
        f"image 1 ({url}) left out: {url}: 127.0.0.1 is a loopback address: not fetched; {HINT}",
    )
    outgoing = Outgoing(delivery_id="d1", idempotency_key="k1", parts=("Text.",), article=art, channel="bsky")
    with caplog.at_level(logging.WARNING, logger="tagcast.media"):
        ready = asyncio.run(MediaPreparer(lambda: workspace)(outgoing))
    assert ready.media == ()
    assert [r.getMessage() for r in caplog.records] == [
        f"bsky: posts/feed.md: {refusal}; the post goes without it"
    ]
    assert trusted.requests == []
    # the documented opt-in sends it
    (root / "config" / "tagcast.toml").write_text(
        '[channels.bsky]\nnetwork = "bluesky"\nhandle = "a.test"\n' + ALLOW_TOML
    )
    allowed = load_workspace(root / "config" / "tagcast.toml")
    assert len(asyncio.run(MediaPreparer(lambda: allowed)(outgoing)).media) == 1


def test_preview_json_says_a_refused_image_is_left_out_and_the_post_is_valid(
    trusted: ImageServer, make_workspace: WriteWorkspace
) -> None:
    trusted.files["/photo.jpg"] = PHOTO
    url = trusted.url("/photo.jpg")
    config = '[defaults]\nchannels = ["bsky"]\n[channels.bsky]\nnetwork = "bluesky"\nhandle = "a.test"\n'
    root = make_workspace(
        config, {"a.md": f"---\ntitle: Boat\nimage: {url}\nimage_alt: A boat\n---\nText.\n"}
    )
    result = CliRunner().invoke(app, ["preview", "--json", "--config", str(root)])
    assert result.exit_code == 0, result.output
    [post] = json.loads(result.stdout)
    assert (post["media"], post["problems"], post["parts"]) == ([], [], ["Boat\n\nText."])
    assert post["left_out"] == [
        f"image 1 ({url}) left out: {url}: 127.0.0.1 is a loopback address: not fetched; {HINT}"
    ]
    assert trusted.requests == []


# --- link pages -----------------------------------------------------------------------------------------


def card_for(store: Store, root: Path, url: str, rules: CardRules) -> tuple[Card | None, list[str]]:
    async def run() -> tuple[Card | None, list[str]]:
        async with link_cards(store, root, rules=rules) as cards:
            return await cards.card_for("bsky", card_article(url))

    return asyncio.run(run())


def test_a_page_on_loopback_gives_no_card_and_a_warning(
    site: PagesFake, store: Store, tmp_path: Path
) -> None:
    url = site.url("/og")
    card, warnings = card_for(store, tmp_path, url, CardRules(deadline=5.0))
    assert card is None
    assert warnings == [
        f"link card {url}: 127.0.0.1 is a loopback address: not fetched; the post goes without a link card "
        f"({HINT})"
    ]
    assert site.hits("/og") == 0
    assert store.link_page(url) is None  # a refusal is not remembered: allowing it later takes effect


def test_a_page_redirecting_to_loopback_or_a_name_resolving_there_gives_no_card(
    site: PagesFake, store: Store, tmp_path: Path
) -> None:
    from fakes.server import Reply

    port = site.base_url.rsplit(":", 1)[1]
    site.pages["/away"] = Reply(302, b"", {"Location": f"http://127.0.0.2:{port}/og"})
    rules = CardRules(deadline=5.0, addresses=only_loopback_1(resolver({}, [])))
    card, warnings = card_for(store, tmp_path, site.url("/away"), rules)
    assert card is None
    assert warnings == [
        f"link card {site.url('/away')}: it redirects to http://127.0.0.2:{port}/og: 127.0.0.2 is a loopback "
        f"address: not fetched; the post goes without a link card ({HINT})"
    ]
    asked: list[str] = []
    named = CardRules(
        deadline=5.0, addresses=AddressPolicy(resolve=resolver({"news.test": [["127.0.0.1"]]}, asked))
    )
    card, warnings = card_for(store, tmp_path, f"http://news.test:{port}/og", named)
    assert card is None and "news.test resolves to 127.0.0.1, a loopback address: not fetched" in warnings[0]
    assert site.hits("/og") == 0


def test_a_page_is_fetched_from_the_checked_address_with_its_name_as_host(
    site: PagesFake, store: Store, tmp_path: Path
) -> None:
    port = site.base_url.rsplit(":", 1)[1]
    asked: list[str] = []
    rebinding = resolver({"news.test": [["127.0.0.1"], ["10.0.0.1"]]}, asked)
    rules = CardRules(deadline=5.0, addresses=only_loopback_1(rebinding))
    card, warnings = card_for(store, tmp_path, f"http://news.test:{port}/plain", rules)
    assert warnings == []
    assert card == Card(f"http://news.test:{port}/plain", "Khalkhin Gol, 1939", "")
    [request] = [r for r in site.requests if r.path == "/plain"]
    assert request.headers["host"] == f"news.test:{port}"
    assert asked == ["news.test"]


# --- config ---------------------------------------------------------------------------------------------


def test_the_config_key_takes_refuse_allow_or_networks() -> None:
    assert AddressPolicy.of(Settings()) == AddressPolicy()
    assert AddressPolicy.of(Settings(media={"private_addresses": "allow"})).allow_all  # type: ignore[arg-type]
    listed = AddressPolicy.of(Settings(media={"private_addresses": ["10.1.0.0/16", "fd00::/8"]}))  # type: ignore[arg-type]
    assert listed.refusal(ipaddress.ip_address("10.1.2.3")) is None
    assert listed.refusal(ipaddress.ip_address("fd00::5")) is None
    assert listed.refusal(ipaddress.ip_address("10.2.0.1")) == "private"
    with pytest.raises(PrivateAddressError):
        listed.pin(httpx.URL("http://127.0.0.1/"))


def test_the_send_path_posts_without_a_refused_card_and_logs_why(
    site: PagesFake, store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = site.url("/og")
    outgoing = Outgoing(
        delivery_id="d1", idempotency_key="k1", parts=("Text.",), article=card_article(url), channel="bsky"
    )

    async def run() -> Outgoing:
        async with link_cards(store, tmp_path, rules=CardRules(deadline=5.0)) as cards:
            return await cards.prepare(outgoing)

    with caplog.at_level(logging.WARNING, logger="tagcast.cards"):
        ready = asyncio.run(run())
    assert ready.card is None and ready.parts == ("Text.",)
    assert [r.getMessage() for r in caplog.records if r.name == "tagcast.cards"] == [
        f"bsky: posts/khalkhin.md: link card {url}: 127.0.0.1 is a loopback address: not fetched; the post "
        f"goes without a link card ({HINT})"
    ]
    assert site.hits("/og") == 0

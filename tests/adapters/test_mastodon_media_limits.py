"""A Mastodon channel fits images to ITS instance's limits: ``channels test`` reads the instance and names the
keys to set; with them set, preview and the send path fit images under them and a strict instance takes the
upload; without them, the same send is refused by the instance."""

from __future__ import annotations

import asyncio
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fakes.mastodon import MastodonFake
from media.pictures import noisy_jpeg
from media_files import image_media
from PIL import Image
from pydantic import SecretStr
from service.conftest import DUE, Site, real_now
from typer.testing import CliRunner, Result

from scheduler.adapters.bluesky import BlueskyAdapter
from scheduler.adapters.mastodon import MastodonAdapter, media_advice, v1_configuration
from scheduler.cli.app import app
from scheduler.config.loader import load_workspace
from scheduler.config.models import ChannelSettings
from scheduler.errors import PermanentDeliveryError
from scheduler.media.channel_limits import lowering_keys
from scheduler.media.model import MediaLimits
from scheduler.media.prepare import MediaPreparer
from scheduler.service.dispatcher import Dispatcher, DispatchReport
from scheduler.store import DeliveryState
from tests.conftest import REPO

from .contract import DurableJournal, outgoing

TOKEN = "masto-limits-token-4711"
STRICT: dict[str, Any] = {
    "max_image_bytes": 1_000_000,
    "image_matrix_limit": 2_000_000,
    "max_media_attachments": 2,
    "description_limit": 500,
    "supported_mime_types": ("image/jpeg", "image/png"),
}
"""A small instance: every image limit below Mastodon's defaults."""
ADVICE = [
    "the instance takes at most 2 images per status; set max_images = 2 in [channels.masto]",
    "the instance takes images up to 1,000,000 bytes; set image_max_bytes = 1000000 in [channels.masto]",
    "the instance takes images up to 2,000,000 pixels (width x height); set image_max_pixels = 2000000 in "
    "[channels.masto]",
    "the instance takes alt text up to 500 characters; set alt_max = 500 in [channels.masto]",
    "the instance refuses image/webp, image/gif, which tagcast may send; "
    'set image_types = ["image/jpeg", "image/png"] in [channels.masto]',
]

ARTICLE = f"""\
---
title: Little ships
tags: [History]
publish_at: {DUE}
image: img/photo.jpg
image_alt: Small boats crossing the Channel
---
Small boats crossed the Channel.
"""


def write_workspace(root: Path, base_url: str, keys: str = "") -> Path:
    (root / "config").mkdir(parents=True, exist_ok=True)
    (root / "posts").mkdir(exist_ok=True)
    (root / "config" / "tagcast.toml").write_text(
        '[defaults]\nchannels = ["masto"]\n\n'
        f'[channels.masto]\nnetwork = "mastodon"\nbase_url = "{base_url}"\n{keys}',
        encoding="utf-8",
    )
    (root / ".env").write_text(f"TAGCAST_CHANNELS__MASTO__TOKEN={TOKEN}\n", encoding="utf-8")
    return root


def tagcast(root: Path, *args: str) -> Result:
    return CliRunner().invoke(app, [*args, "--config", str(root)], env={"COLUMNS": "250"})


def advice_printed(result: Result, characters: int = 500) -> list[str]:
    """The lines ``channels test`` prints after the length line."""
    assert result.exit_code == 0, result.output
    lines = [line.strip() for line in result.stdout.splitlines()]
    return lines[lines.index(f"the instance allows {characters} characters per status") + 1 :]


def keys_advised(advice: list[str]) -> str:
    """The config lines the advice names (``set KEY = VALUE in [channels.masto]``), as TOML."""
    found = [re.search(r"set (\w+ = .+) in \[channels\.masto\]$", line) for line in advice]
    assert all(found), advice
    return "".join(f"{match.group(1)}\n" for match in found if match)


# --- channels test ---


def test_channels_test_names_each_key_a_strict_instance_needs(tmp_path: Path) -> None:
    with MastodonFake(token=TOKEN, **STRICT).running() as fake:
        assert (
            advice_printed(tagcast(write_workspace(tmp_path, fake.base_url), "channels", "test", "masto"))
            == ADVICE
        )


def test_the_advised_keys_silence_the_advice(tmp_path: Path) -> None:
    with MastodonFake(token=TOKEN, **STRICT).running() as fake:
        root = write_workspace(tmp_path, fake.base_url, keys_advised(ADVICE))
        assert advice_printed(tagcast(root, "channels", "test", "masto")) == []
        assert tagcast(root, "config", "validate").exit_code == 0


def test_a_default_instance_gets_no_advice(tmp_path: Path) -> None:
    with MastodonFake(token=TOKEN).running() as fake:
        result = tagcast(write_workspace(tmp_path, fake.base_url), "channels", "test", "masto")
    assert advice_printed(result) == []
    assert "posts as @alice@127.0.0.1" in result.stdout


def test_a_field_the_instance_does_not_publish_is_not_mentioned(tmp_path: Path) -> None:
    hidden = frozenset({"image_size_limit", "description_limit", "supported_mime_types"})
    with MastodonFake(token=TOKEN, unpublished=hidden, **STRICT).running() as fake:
        result = tagcast(write_workspace(tmp_path, fake.base_url), "channels", "test", "masto")
    assert advice_printed(result) == [ADVICE[0], ADVICE[2]]


def test_an_instance_taking_none_of_the_types_tagcast_sends_is_said_so() -> None:
    limits = MastodonAdapter.channel_media_limits(ChannelSettings(network="mastodon"))
    assert limits is not None
    configuration = {"media_attachments": {"supported_mime_types": ["image/heic", "video/mp4"]}}
    assert media_advice(configuration, limits, channel="m") == [
        "the instance takes none of the image types tagcast sends (image/jpeg, image/png, image/webp, "
        "image/gif): posts with images will be refused"
    ]
    assert media_advice({"statuses": {"max_media_attachments": True}}, limits, channel="m") == []


# --- servers without /api/v2/instance ---

V1_ADVICE = {
    "mastodon": [ADVICE[0], ADVICE[1], ADVICE[2], ADVICE[4]],  # v1 has no description_limit
    "pleroma": [ADVICE[0], ADVICE[1], ADVICE[3]],  # upload_limit, no pixel limit, no types
}
V1_UNPUBLISHED = {
    "mastodon": frozenset({"description_limit"}),
    "pleroma": frozenset({"image_matrix_limit", "supported_mime_types"}),
}


@pytest.mark.parametrize("shape", ["mastodon", "pleroma"])
def test_a_server_without_v2_is_advised_from_v1_in_one_request(tmp_path: Path, shape: str) -> None:
    with MastodonFake(
        token=TOKEN, v1_only=True, v1_shape=shape, max_characters=1000, **STRICT
    ).running() as old:
        root = write_workspace(tmp_path, old.base_url)
        assert advice_printed(tagcast(root, "channels", "test", "masto"), 1000) == V1_ADVICE[shape]
    assert len(old.requests_to("GET", "/api/v2/instance$")) == 1
    assert len(old.requests_to("GET", "/api/v1/instance$")) == 1
    unpublished = V1_UNPUBLISHED[shape]
    with MastodonFake(token=TOKEN, unpublished=unpublished, max_characters=1000, **STRICT).running() as new:
        write_workspace(tmp_path, new.base_url)
        assert advice_printed(tagcast(root, "channels", "test", "masto"), 1000) == V1_ADVICE[shape]
    assert new.requests_to("GET", "/api/v1/instance$") == []


def test_a_v2_document_without_a_length_limit_is_completed_from_one_v1_request(tmp_path: Path) -> None:
    """A fork's v2 document without ``max_characters``: v1 is read once, and v2's image limits advised."""
    hidden = frozenset({"max_characters"})
    with MastodonFake(token=TOKEN, unpublished=hidden, v1_shape="pleroma", **STRICT).running() as fake:
        result = tagcast(write_workspace(tmp_path, fake.base_url), "channels", "test", "masto")
        assert advice_printed(result) == ADVICE
    assert len(fake.requests_to("GET", "/api/v1/instance$")) == 1


def test_the_advised_keys_silence_the_advice_of_a_v1_server(tmp_path: Path) -> None:
    with MastodonFake(token=TOKEN, v1_only=True, v1_shape="pleroma", **STRICT).running() as fake:
        root = write_workspace(tmp_path, fake.base_url, keys_advised(V1_ADVICE["pleroma"]))
        assert advice_printed(tagcast(root, "channels", "test", "masto")) == []


def test_the_v1_documents_are_read_in_the_shape_of_v2s_configuration() -> None:
    with MastodonFake(token=TOKEN, v1_only=True, v1_shape="pleroma", **STRICT).running() as fake:
        pleroma = httpx.get(f"{fake.base_url}/api/v1/instance").json()
    assert v1_configuration(pleroma) == {
        "statuses": {"max_characters": 500, "max_media_attachments": 2},
        "media_attachments": {"image_size_limit": 1_000_000, "description_limit": 500},
    }
    mastodon_3 = {"configuration": {"statuses": {"max_characters": 700}}, "max_toot_chars": 900}
    assert v1_configuration(mastodon_3)["statuses"] == {"max_characters": 700}
    assert v1_configuration(["not", "a", "document"]) == {"statuses": {}, "media_attachments": {}}


def test_an_instance_taking_any_file_gets_no_advice_on_types() -> None:
    """Pleroma lists ``application/octet-stream`` as its ``supported_mime_types``: it takes any file."""
    limits = MastodonAdapter.channel_media_limits(ChannelSettings(network="mastodon"))
    assert limits is not None
    pleroma = {"supported_mime_types": ["application/octet-stream"], "image_size_limit": 16_000_000}
    assert media_advice({"media_attachments": pleroma}, limits, channel="p") == []


# --- preview and the send path ---


def send(site: Site) -> DispatchReport:
    async def go() -> DispatchReport:
        async with httpx.AsyncClient(timeout=10) as http:
            dispatcher = Dispatcher(
                site.workspace,
                site.store,
                http,
                worker_id="w",
                clock=real_now,
                prepare=MediaPreparer(lambda: dispatcher.workspace),
            )
            try:
                return await dispatcher.run_due(real_now())
            finally:
                dispatcher.calls.close()

    return asyncio.run(go())


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    site = Site(tmp_path / "ws")
    photo = site.root / "posts" / "img" / "photo.jpg"
    photo.parent.mkdir(parents=True)
    photo.write_bytes(noisy_jpeg(640, 480))  # 307,200 pixels, about 170 kB
    site.write_post("ships.md", ARTICLE)
    yield site
    site.close()


STRICT_ON = {
    "image_max_bytes": (
        {"max_image_bytes": 100_000},
        "Validation failed: File file size must be less than 97 KB",
    ),
    "image_max_pixels": ({"image_matrix_limit": 200_000}, "640x480 images are not supported"),
}


@pytest.mark.parametrize("key", sorted(STRICT_ON))
def test_without_the_key_the_instance_refuses_the_image(site: Site, key: str) -> None:
    fake_limits, refusal = STRICT_ON[key]
    with MastodonFake(token=TOKEN, **fake_limits).running() as fake:
        write_workspace(site.root, fake.base_url)
        site.ingest(real_now())
        report = send(site)
    assert report.count("failed") == 1
    [delivery] = site.store.list(channel="masto")
    assert delivery.state is DeliveryState.FAILED
    assert delivery.last_error is not None and refusal in delivery.last_error
    assert fake.statuses == []


@pytest.mark.parametrize("key", sorted(STRICT_ON))
def test_with_the_key_preview_and_send_fit_the_image_under_it(site: Site, key: str) -> None:
    fake_limits, _ = STRICT_ON[key]
    bound = next(iter(fake_limits.values()))
    with MastodonFake(token=TOKEN, **fake_limits).running() as fake:
        write_workspace(site.root, fake.base_url, f"{key} = {bound}\n")
        result = tagcast(site.root, "preview", "--json")
        assert result.exit_code == 0, result.output
        [post] = json.loads(result.stdout)
        assert post["problems"] == []
        [previewed] = post["media"]
        site.ingest(real_now())
        report = send(site)
    assert report.count("sent") == 1
    [status] = fake.statuses
    [upload] = status.media
    with Image.open(io.BytesIO(upload.data)) as image:
        width, height = image.size
    measured = {"image_max_bytes": len(upload.data), "image_max_pixels": width * height}[key]
    assert measured <= bound
    assert (previewed["width"], previewed["height"], previewed["bytes"]) == (width, height, len(upload.data))
    assert previewed["mime"] == upload.mime == "image/jpeg"
    assert upload.description == "Small boats crossing the Channel"


THREE = ARTICLE.replace(
    "image: img/photo.jpg\nimage_alt: Small boats crossing the Channel\n",
    "images:\n" + "".join(f"  - src: img/photo.jpg\n    alt: Small boats, view {n}\n" for n in (1, 2, 3)),
)


def problems_previewed(site: Site, keys: str) -> list[str]:
    with MastodonFake(token=TOKEN).running() as fake:
        write_workspace(site.root, fake.base_url, keys)
        result = tagcast(site.root, "preview", "--json")
    assert result.exit_code == 0, result.output
    [post] = json.loads(result.stdout)
    problems: list[str] = post["problems"]
    return problems


def test_lowered_alt_text_and_image_count_are_problems_naming_the_key(site: Site) -> None:
    site.write_post("ships.md", THREE)
    assert problems_previewed(site, "max_images = 2\nalt_max = 10\n") == [
        "3 images; channel masto takes at most 2 (max_images in [channels.masto])",
        *(
            f"image {n} (img/photo.jpg): the alt text has 19 characters; channel masto takes at most 10 "
            "(alt_max in [channels.masto]): shorten it"
            for n in (1, 2, 3)
        ),
    ]


def test_a_byte_limit_no_image_can_reach_is_a_problem_naming_the_key(site: Site) -> None:
    assert problems_previewed(site, "image_max_bytes = 500\n") == [
        "image 1 (img/photo.jpg) cannot be made smaller than 500 bytes, the most channel masto takes "
        "(image_max_bytes in [channels.masto])"
    ]


def test_a_limit_the_key_does_not_lower_is_the_networks(site: Site) -> None:
    """``alt_max = 1500`` is Mastodon's own figure: the problem names Mastodon, as without the key."""
    site.write_post("ships.md", ARTICLE.replace("Small boats crossing the Channel", "Boats " * 251))
    assert problems_previewed(site, "alt_max = 1500\n") == [
        "image 1 (img/photo.jpg): the alt text has 1,505 characters; mastodon takes at most 1,500 "
        "(channel masto): shorten it"
    ]


def test_the_keys_that_lowered_a_limit_are_found_by_comparing_with_the_networks() -> None:
    keys = {"max_images": 2, "image_max_bytes": 16_000_000, "alt_max": 400, "image_max_pixels": 1000}
    masto = ChannelSettings(network="mastodon", **keys)
    limits = MastodonAdapter.channel_media_limits(masto)
    assert limits is not None
    assert lowering_keys(limits, masto, MastodonAdapter.media_limits) == {
        "max_images": "max_images",
        "alt_max": "alt_max",
        "max_pixels": "image_max_pixels",
    }
    bsky = ChannelSettings(network="bluesky", **keys)  # Bluesky's adapter ignores the keys
    bsky_limits = BlueskyAdapter.channel_media_limits(bsky)
    assert bsky_limits is not None
    assert lowering_keys(bsky_limits, bsky, BlueskyAdapter.media_limits) == {}


def test_an_image_fitted_before_the_key_was_lowered_is_refused_before_sending(tmp_path: Path) -> None:
    """A stale image (fitted for Mastodon's own limits, before ``image_max_pixels`` was set) reaches the
    adapter: its last guard holds it to the channel's limit, and the instance is asked nothing."""
    [image] = image_media(tmp_path / "media", 1, size=(640, 480))
    with MastodonFake(token=TOKEN).running() as fake:
        config = ChannelSettings(
            network="mastodon", base_url=fake.base_url, token=SecretStr(TOKEN), image_max_pixels=200_000
        )

        async def publish() -> None:
            async with httpx.AsyncClient(timeout=10) as http:
                adapter = MastodonAdapter("masto", config, http=http, root=tmp_path)
                await adapter.publish(outgoing(["Small boats"], media=(image,)), DurableJournal().journal())

        with pytest.raises(PermanentDeliveryError) as caught:
            asyncio.run(publish())
    assert caught.value.reason == (
        "mastodon: the images do not fit, nothing was sent: "
        "image 1 (images/photo1.jpg) has 307200 pixels (640x480), at most 200000"
    )
    assert fake.requests == []


# --- bad values ---


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            "max_images = 0",
            "channels.masto.max_images ({config}:7): Input should be greater than or equal to 1",
        ),
        (
            "image_max_pixels = -5",
            "channels.masto.image_max_pixels ({config}:7): Input should be greater than or equal to 1",
        ),
        (
            "image_max_bytes = 20000000",
            "channels.masto.image_max_bytes ({config}:7): 20000000 is more than mastodon takes "
            "(16000000); set at most 16000000, or remove it",
        ),
        (
            "alt_max = 1501",
            "channels.masto.alt_max ({config}:7): 1501 is more than mastodon takes (1500); "
            "set at most 1500, or remove it",
        ),
        (
            'image_types = ["image/heic"]',
            "channels.masto.image_types.0 ({config}:7): Input should be 'image/jpeg', "
            "'image/png', 'image/webp' or 'image/gif'",
        ),
    ],
)
def test_a_bad_value_is_a_config_problem_naming_the_key_and_line(
    tmp_path: Path, line: str, message: str
) -> None:
    root = write_workspace(tmp_path, "https://masto.example", line + "\n")
    result = tagcast(root, "config", "validate")
    assert result.exit_code == 1
    assert message.format(config=root / "config" / "tagcast.toml") in result.output
    assert "Traceback" not in result.output


def test_preview_refuses_a_key_above_mastodons_own_limit(tmp_path: Path) -> None:
    root = write_workspace(tmp_path, "https://masto.example", "image_max_pixels = 20000000\n")
    result = tagcast(root, "preview")
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "error: channels.masto: image_max_pixels = 20000000 is more than mastodon takes (16777216); "
        "set at most 16777216, or remove it"
    )


# --- the documented example ---


def docs_example() -> tuple[str, str]:
    """The TOML block of docs/articles.md "A Mastodon instance that takes less", and the advice it quotes."""
    text = (REPO / "docs" / "articles.md").read_text(encoding="utf-8")
    section = text.split("#### A Mastodon instance that takes less\n", 1)[1].split("\n### ", 1)[0]
    block = re.search(r"```toml\n(.*?)```", section, re.DOTALL)
    quoted = re.search(r"`(the instance takes\s+images up to .*?)`", section, re.DOTALL)
    assert block and quoted, "the section has a TOML example and quotes an advice line"
    return block.group(1), " ".join(quoted.group(1).split())


def test_the_documented_example_is_what_channels_test_advises_and_fits_to_it(tmp_path: Path) -> None:
    example, quoted = docs_example()
    root = tmp_path / "ws"
    write_workspace(root, "https://unused.example")
    config = root / "config" / "tagcast.toml"
    config.write_text(example, encoding="utf-8")  # exactly as printed
    assert tagcast(root, "config", "validate").exit_code == 0
    [settings] = load_workspace(config).settings.channels.values()
    assert MastodonAdapter.channel_media_limits(settings) == MediaLimits(
        max_images=2,
        max_bytes=8_388_608,
        max_pixels=8_294_400,
        mimes=("image/jpeg", "image/png"),
        alt_max=500,
    )
    instance = {
        "max_image_bytes": 8_388_608,
        "image_matrix_limit": 8_294_400,
        "max_media_attachments": 2,
        "description_limit": 500,
        "supported_mime_types": ("image/jpeg", "image/png", "image/heic"),
    }
    with MastodonFake(token=TOKEN, **instance).running() as fake:
        local = example.replace('base_url = "https://small.example"', f'base_url = "{fake.base_url}"')
        keys = "".join(line + "\n" for line in example.splitlines()[3:])
        config.write_text(local.replace(keys, ""), encoding="utf-8")
        advice = advice_printed(tagcast(root, "channels", "test", "masto"))
        assert quoted in advice
        assert keys_advised(advice).splitlines() == keys.splitlines()
        config.write_text(local, encoding="utf-8")
        assert advice_printed(tagcast(root, "channels", "test", "masto")) == []


def test_channels_test_says_a_key_above_mastodons_own_and_still_advises(tmp_path: Path) -> None:
    with MastodonFake(token=TOKEN, max_image_bytes=8_388_608).running() as fake:
        root = write_workspace(tmp_path, fake.base_url, "image_max_bytes = 20000000\n")
        assert advice_printed(tagcast(root, "channels", "test", "masto")) == [
            "channels.masto.image_max_bytes: 20000000 is more than mastodon takes (16000000); set at most "
            "16000000, or remove it",
            "the instance takes images up to 8,388,608 bytes; set image_max_bytes = 8388608 in "
            "[channels.masto]",
        ]


# --- the fake's rules ---


def upload(fake: MastodonFake, data: bytes, name: str = "a.jpg") -> httpx.Response:
    return httpx.post(
        f"{fake.base_url}/api/v2/media",
        files={"file": (name, data, "application/octet-stream")},
        data={"description": "alt"},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )


def test_the_fake_refuses_what_its_instance_document_says_it_refuses() -> None:
    with MastodonFake(token=TOKEN, **STRICT).running() as fake:
        document = httpx.get(f"{fake.base_url}/api/v2/instance").json()["configuration"]
        assert document["statuses"]["max_media_attachments"] == 2
        assert document["media_attachments"] == {
            "supported_mime_types": ["image/jpeg", "image/png"],
            "image_size_limit": 1_000_000,
            "image_matrix_limit": 2_000_000,
            "description_limit": 500,
        }
        webp = io.BytesIO()
        Image.new("RGB", (10, 10)).save(webp, "WEBP")
        refused = upload(fake, webp.getvalue(), "a.webp")
        assert (refused.status_code, refused.json()) == (
            422,
            {"error": "Validation failed: File content type is invalid"},
        )
        large = io.BytesIO()
        Image.new("RGB", (2000, 1001)).save(large, "PNG")
        refused = upload(fake, large.getvalue(), "a.png")
        assert (refused.status_code, refused.json()) == (422, {"error": "2000x1001 images are not supported"})
        small = io.BytesIO()
        Image.new("RGB", (2000, 1000)).save(small, "PNG")
        assert upload(fake, small.getvalue(), "a.png").status_code == 200
        assert len(fake.uploads) == 1


def test_pleroma_s_alt_text_limit_is_read_from_its_v1_document(tmp_path: Path) -> None:
    """Pleroma and Akkoma publish ``description_limit`` only at the top of v1, not in their v2
    ``configuration``: a v2 document with a ``pleroma`` section and no alt-text limit is completed from one
    v1 request, and the alt-text advice is given."""
    with MastodonFake(token=TOKEN, v1_shape="pleroma", **STRICT).running() as fake:
        v2 = httpx.get(f"{fake.base_url}/api/v2/instance").json()
        assert "description_limit" not in v2["configuration"]["media_attachments"]
        result = tagcast(write_workspace(tmp_path, fake.base_url), "channels", "test", "masto")
        assert advice_printed(result) == ADVICE
    assert len(fake.requests_to("GET", "/api/v1/instance$")) == 1

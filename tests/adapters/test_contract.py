"""The one contract suite, run over every adapter case in ``tests/adapters/cases_*.py`` (see contract.py)."""

from __future__ import annotations

import importlib
import io
import math
import pkgutil
import re
import traceback
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from media_files import gallery, image_media, media_from_bytes
from PIL import Image

from scheduler.errors import (
    AuthError,
    DeliveryError,
    PermanentDeliveryError,
    TransientDeliveryError,
    UnknownOutcome,
)
from scheduler.media.model import Media, MediaLimits

from .contract import (
    SINGLE,
    THREAD,
    AdapterCase,
    Deployment,
    DurableJournal,
    SentImage,
    client,
    outgoing,
)

pytestmark = pytest.mark.anyio


def collect_cases() -> tuple[list[AdapterCase], dict[str, str]]:
    """Every ``CASES`` list of every ``cases_*`` module beside this file, in module-name order, and the
    modules that failed to import (each fails ``test_cases_module_imports``; the other cases still run)."""
    found: list[AdapterCase] = []
    broken: dict[str, str] = {}
    for module in sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)])):
        if module.startswith("cases_"):
            try:
                found.extend(importlib.import_module(f"{__package__}.{module}").CASES)
            except Exception:
                broken[module] = traceback.format_exc()
    return found, broken


CASES, BROKEN = collect_cases()


@pytest.mark.parametrize("module", sorted(BROKEN) or [None])
def test_cases_module_imports(module: str | None) -> None:
    if module is not None:
        pytest.fail(f"tests/adapters/{module}.py cannot be imported:\n{BROKEN[module]}", pytrace=False)


@pytest.fixture(params=CASES, ids=[c.id for c in CASES])
def case(request: pytest.FixtureRequest) -> AdapterCase:
    chosen: AdapterCase = request.param
    reason = chosen.skip.get(request.node.originalname)
    if reason:
        pytest.skip(reason)
    return chosen


@pytest.fixture
def deployment(case: AdapterCase, tmp_path: Path) -> Iterator[Deployment]:
    with case.deploy(tmp_path) as deployed:
        yield deployed


def needs_fake(deployment: Deployment) -> None:
    if deployment.fake is None:
        pytest.skip("no server to fail: this adapter makes no network calls")


def publish_requests(case: AdapterCase, deployment: Deployment) -> list[float]:
    assert deployment.fake is not None
    return [r.at for r in deployment.fake.requests if r.method == "POST" and _matches(case, r.path)]


def _matches(case: AdapterCase, path: str) -> bool:
    return re.search(case.publish_path, path) is not None


async def test_single_post(case: AdapterCase, deployment: Deployment) -> None:
    async with client() as http:
        receipt = await case.build(deployment, http).publish(outgoing([SINGLE]), DurableJournal().journal())
    posts = deployment.posts()
    assert [p.text for p in posts] == [SINGLE]
    assert receipt.remote_ids == (posts[0].id,)


async def test_thread_is_a_reply_chain(case: AdapterCase, deployment: Deployment) -> None:
    if not case.reply_chain or not case.adapter_class().supports_threads:
        pytest.skip(f"{case.network} does not post threads as replies")
    async with client() as http:
        receipt = await case.build(deployment, http).publish(outgoing(THREAD), DurableJournal().journal())
    posts = deployment.posts()
    assert [p.text for p in posts] == list(THREAD)
    assert receipt.remote_ids == tuple(p.id for p in posts)
    assert [p.reply_to for p in posts] == [None, posts[0].id, posts[1].id]


async def test_check_names_the_account(case: AdapterCase, deployment: Deployment) -> None:
    async with client() as http:
        identity = await case.build(deployment, http).check()
    assert identity.account
    assert deployment.posts() == []


async def test_bad_credentials_fail_check(case: AdapterCase, deployment: Deployment) -> None:
    async with client() as http:
        with pytest.raises(AuthError) as caught:
            await case.build(deployment, http, bad=True).check()
    assert caught.value.reason


async def test_bad_credentials_fail_publish(case: AdapterCase, deployment: Deployment) -> None:
    needs_fake(deployment)
    async with client() as http:
        adapter = case.build(deployment, http, bad=True)
        with pytest.raises(AuthError):
            await adapter.publish(outgoing([SINGLE]), DurableJournal().journal())
    assert deployment.posts() == []


async def test_rate_limit_says_how_long_to_wait_and_a_retry_posts_once(
    case: AdapterCase, deployment: Deployment
) -> None:
    """The adapter raises with a ``retry_after`` covering the announced reset and sends nothing more itself:
    waiting is its caller's (the dispatcher pauses the channel; tests/service moves its clock past the
    pause). The retry, with the same journal, posts once."""
    needs_fake(deployment)
    assert deployment.fake is not None
    deployment.fake.faults.rate_limited(wait=1.0, path=case.publish_path)
    durable = DurableJournal()
    async with client() as http:
        adapter = case.build(deployment, http)
        with pytest.raises(TransientDeliveryError) as caught:
            await adapter.publish(outgoing([SINGLE]), durable.journal())
        [announced] = deployment.fake.announcements
        assert caught.value.retry_after is not None
        assert caught.value.retry_after >= announced.reset - announced.at
        last = deployment.fake.requests[-1]
        assert re.search(case.publish_path, last.path), "a request came after the 429, before the reset"
        await adapter.publish(outgoing([SINGLE]), durable.journal())
    assert [p.text for p in deployment.posts()] == [SINGLE]


async def test_server_error_then_success(case: AdapterCase, deployment: Deployment) -> None:
    needs_fake(deployment)
    assert deployment.fake is not None
    deployment.fake.faults.server_error(status=503, path=case.publish_path)
    durable = DurableJournal()
    async with client() as http:
        adapter = case.build(deployment, http)
        with pytest.raises(TransientDeliveryError):
            await adapter.publish(outgoing([SINGLE]), durable.journal())
        receipt = await adapter.publish(outgoing([SINGLE]), durable.journal())
    posts = deployment.posts()
    assert [p.text for p in posts] == [SINGLE]
    assert receipt.remote_ids == (posts[0].id,)


async def test_timeout(case: AdapterCase, deployment: Deployment) -> None:
    needs_fake(deployment)
    assert deployment.fake is not None
    deployment.fake.faults.timeout(path=case.publish_path)
    durable = DurableJournal()
    async with client() as http:
        adapter = case.build(deployment, http)
        expected: type[DeliveryError] = TransientDeliveryError if case.idempotent else UnknownOutcome
        with pytest.raises(expected):
            await adapter.publish(outgoing([SINGLE]), durable.journal())
        assert len(publish_requests(case, deployment)) == 1, "the adapter resent on its own"
        if case.idempotent:
            await adapter.publish(outgoing([SINGLE]), durable.journal())
            assert [p.text for p in deployment.posts()] == [SINGLE]
        else:
            with pytest.raises(UnknownOutcome):
                await case.build(deployment, http).reconcile(outgoing([SINGLE]), durable.journal())
            assert deployment.posts() == []
            assert len(publish_requests(case, deployment)) == 1


async def test_over_length_is_refused_before_sending(case: AdapterCase, deployment: Deployment) -> None:
    text = case.too_long(deployment.settings)
    parts = [SINGLE, text] if case.adapter_class().supports_threads else [text]
    async with client() as http:
        with pytest.raises(PermanentDeliveryError) as caught:
            await case.build(deployment, http).publish(outgoing(parts), DurableJournal().journal())
    assert not isinstance(caught.value, AuthError)
    assert deployment.posts() == []
    if deployment.fake is not None:
        assert deployment.fake.requests == [], "the adapter sent something before checking the length"


async def test_failed_part_does_not_repost_earlier_parts(case: AdapterCase, deployment: Deployment) -> None:
    needs_fake(deployment)
    if not case.reply_chain or not case.adapter_class().supports_threads:
        pytest.skip(f"{case.network} does not post threads as replies")
    assert deployment.fake is not None
    deployment.fake.faults.server_error(status=502, path=case.publish_path, after=1)
    durable = DurableJournal()
    async with client() as http:
        with pytest.raises(TransientDeliveryError):
            await case.build(deployment, http).publish(outgoing(THREAD), durable.journal())
        assert len(deployment.posts()) == 1
        receipt = await case.build(deployment, http).publish(outgoing(THREAD), durable.journal())
    posts = deployment.posts()
    assert [p.text for p in posts] == list(THREAD)
    assert [p.reply_to for p in posts] == [None, posts[0].id, posts[1].id]
    assert receipt.remote_ids == tuple(p.id for p in posts)


@pytest.mark.parametrize("crash_at", [0, 1], ids=["first-part", "second-part"])
async def test_reconcile_after_commit_then_crash(
    case: AdapterCase, deployment: Deployment, crash_at: int
) -> None:
    needs_fake(deployment)
    assert deployment.fake is not None
    threaded = case.reply_chain and case.adapter_class().supports_threads
    if crash_at and not threaded:
        pytest.skip(f"{case.network} does not post threads as replies")
    parts = THREAD if threaded else (SINGLE,)
    deployment.fake.faults.commit_then_drop(path=case.publish_path, after=crash_at)
    durable = DurableJournal()
    async with client() as http:
        with pytest.raises((TransientDeliveryError, UnknownOutcome)) as caught:
            await case.build(deployment, http).publish(outgoing(parts), durable.journal())
        if not case.idempotent:
            assert isinstance(caught.value, UnknownOutcome)
        assert len(deployment.posts()) == crash_at + 1
        sent_before = len(publish_requests(case, deployment))

        restarted = case.build(deployment, http)
        if case.idempotent:
            journal = durable.journal()
            receipt = await restarted.reconcile(outgoing(parts), journal)
            if receipt is None:
                receipt = await restarted.publish(outgoing(parts), journal)
            posts = deployment.posts()
            assert [p.text for p in posts] == list(parts)
            assert receipt.remote_ids == tuple(p.id for p in posts)
            if threaded:
                assert [p.reply_to for p in posts] == [None, posts[0].id, posts[1].id]
        else:
            with pytest.raises(UnknownOutcome) as unknown:
                await restarted.reconcile(outgoing(parts), durable.journal())
            assert unknown.value.reason
            assert len(deployment.posts()) == crash_at + 1
            assert len(publish_requests(case, deployment)) == sent_before, "reconcile resent"


async def test_reconcile_after_success_posts_nothing_new(case: AdapterCase, deployment: Deployment) -> None:
    durable = DurableJournal()
    async with client() as http:
        receipt = await case.build(deployment, http).publish(outgoing([SINGLE]), durable.journal())
        try:
            again = await case.build(deployment, http).reconcile(outgoing([SINGLE]), durable.journal())
        except UnknownOutcome:
            assert not case.idempotent, "an idempotent network can tell"
        else:
            assert again is not None
            assert again.remote_ids == receipt.remote_ids
    assert [p.text for p in deployment.posts()] == [SINGLE]


# --- images: every adapter that declares media_limits -------------------------------------------------------


def image_limits(case: AdapterCase) -> MediaLimits:
    limits = case.adapter_class().media_limits
    if limits is None:
        pytest.skip(f"{case.network} takes no images (no media_limits)")
    return limits


def contract_images(limits: MediaLimits, folder: Path, count: int, **keys: str) -> tuple[Media, ...]:
    """``count`` real images; public https ones for a network that fetches images by URL."""
    src = "https://images.example.com/photo{n}.jpg" if limits.by_url else "images/photo{n}.jpg"
    return image_media(folder, count, src=src, **keys)


def expected(limits: MediaLimits, media: tuple[Media, ...]) -> tuple[SentImage, ...]:
    """What the server stores of ``media``: each image's bytes (or the URL it fetches) and its alt text
    where the network has an alt field."""
    return tuple(
        SentImage(
            sha256=None if limits.by_url else m.sha256,
            url=m.src if limits.by_url else None,
            alt=m.alt if limits.alt_max is not None else None,
        )
        for m in media
    )


def threaded(case: AdapterCase) -> bool:
    return case.reply_chain and case.adapter_class().supports_threads


def assert_uploads(deployment: Deployment, count: int) -> None:
    """Each image was uploaded once, on a network that takes images as uploads of their own."""
    if deployment.uploads is not None:
        assert deployment.uploads() == count, "an image was uploaded more than once, or not at all"


@pytest.mark.parametrize("shape", ["single", "thread"])
@pytest.mark.parametrize("count", [1, 2, 4])
async def test_images_go_with_the_first_part_once_each(
    case: AdapterCase, deployment: Deployment, tmp_path: Path, count: int, shape: str
) -> None:
    """Every image arrives once, in order, on the first post (a single post, or the first part of a thread),
    with its alt text where the network has an alt field."""
    limits = image_limits(case)
    if count > limits.max_images:
        pytest.skip(f"{case.network} takes at most {limits.max_images} images")
    if shape == "thread" and not threaded(case):
        pytest.skip(f"{case.network} does not post threads as replies")
    images = contract_images(limits, tmp_path / "media", count)
    parts = THREAD if shape == "thread" else (SINGLE,)
    async with client() as http:
        receipt = await case.build(deployment, http).publish(
            outgoing(parts, media=images), DurableJournal().journal()
        )
    first, *rest = posts = deployment.posts()
    assert [p.text for p in posts] == list(parts)
    assert first.media == expected(limits, images)
    assert [p.media for p in rest] == [()] * len(rest)
    if shape == "thread":
        assert [p.reply_to for p in posts] == [None, posts[0].id, posts[1].id]
    assert receipt.remote_ids == tuple(p.id for p in posts if p.id), "Slack answers no id"
    assert_uploads(deployment, count)


async def test_images_of_different_sizes_arrive_as_they_are(
    case: AdapterCase, deployment: Deployment, tmp_path: Path
) -> None:
    """Images of different pixel sizes and bytes (by-URL networks: their addresses) arrive unchanged."""
    limits = image_limits(case)
    images = gallery(tmp_path / "media", min(2, limits.max_images))
    if limits.by_url:
        images = tuple(replace(m, src=f"https://images.example.com/{m.sha256}.jpg") for m in images)
    async with client() as http:
        await case.build(deployment, http).publish(
            outgoing([SINGLE], media=images), DurableJournal().journal()
        )
    [sent] = deployment.posts()
    assert sent.media == expected(limits, images)
    assert_uploads(deployment, len(images))


async def test_more_images_than_the_network_takes_are_refused_before_sending(
    case: AdapterCase, deployment: Deployment, tmp_path: Path
) -> None:
    limits = image_limits(case)
    images = contract_images(limits, tmp_path / "media", limits.max_images + 1)
    async with client() as http:
        with pytest.raises(PermanentDeliveryError) as caught:
            await case.build(deployment, http).publish(
                outgoing([SINGLE], media=images), DurableJournal().journal()
            )
    n, most = limits.max_images + 1, limits.max_images
    assert re.search(rf"\b{n} images\b.*\bat most {most}\b", caught.value.reason), caught.value.reason
    assert deployment.posts() == []
    assert deployment.fake is None or deployment.fake.requests == []


async def test_alt_text_over_the_networks_bound_is_refused_before_sending(
    case: AdapterCase, deployment: Deployment, tmp_path: Path
) -> None:
    limits = image_limits(case)
    if limits.alt_max is None:
        pytest.skip(f"{case.network} has no alt text field")
    images = contract_images(limits, tmp_path / "media", 1, alt="a" * (limits.alt_max + 1))
    async with client() as http:
        with pytest.raises(PermanentDeliveryError) as caught:
            await case.build(deployment, http).publish(
                outgoing([SINGLE], media=images), DurableJournal().journal()
            )
    reason, n, most = caught.value.reason, limits.alt_max + 1, limits.alt_max
    assert "alt text" in reason and re.search(rf"\b{n} {limits.alt_unit}\b", reason), reason
    assert re.search(rf"(at most|limit) {most}\b", reason), reason
    assert deployment.posts() == []
    assert deployment.fake is None or deployment.fake.requests == []


def over_the_pixel_limits(limits: MediaLimits) -> tuple[int, int]:
    """The size of an image one row or column over ``max_pixels`` or ``max_side``, whichever binds."""
    if limits.max_pixels is not None:
        width = math.isqrt(limits.max_pixels) + 1
        return width, limits.max_pixels // width + 1
    assert limits.max_side is not None
    return limits.max_side + 1, 1


async def test_an_image_over_the_pixel_limits_is_refused_before_sending(
    case: AdapterCase, deployment: Deployment, tmp_path: Path
) -> None:
    """The media stage fits images to ``max_pixels`` and ``max_side``; an image that reaches the adapter
    larger anyway (a third-party ``prepare``, a stale cache) is the adapter's to refuse, naming it."""
    limits = image_limits(case)
    if limits.max_pixels is None and limits.max_side is None:
        pytest.skip(f"{case.network} bounds no pixels")
    width, height = over_the_pixel_limits(limits)
    png = io.BytesIO()
    Image.new("1", (width, height)).save(png, "PNG")  # mostly header: a few kB for millions of pixels
    src = "https://images.example.com/large.png" if limits.by_url else "images/large.png"
    large = media_from_bytes(
        tmp_path / "media", png.getvalue(), alt="A large picture", mime="image/png", src=src
    )
    async with client() as http:
        with pytest.raises(PermanentDeliveryError) as caught:
            await case.build(deployment, http).publish(
                outgoing([SINGLE], media=(large,)), DurableJournal().journal()
            )
    if limits.max_pixels is not None:
        why = f"has {width * height} pixels ({width}x{height}), at most {limits.max_pixels}"
    else:
        why = f"is {width}x{height} pixels, at most {limits.max_side} on its longer side"
    assert caught.value.reason == (
        f"{case.network}: the images do not fit, nothing was sent: image 1 ({src}) {why}"
    )
    assert deployment.posts() == []
    assert deployment.fake is None or deployment.fake.requests == []


async def test_a_retry_after_a_failed_post_reuses_the_uploads(
    case: AdapterCase, deployment: Deployment, tmp_path: Path
) -> None:
    """A 5xx on the post itself: the retry with the saved journal makes one post with every image, and
    uploads none of them again."""
    limits = image_limits(case)
    needs_fake(deployment)
    assert deployment.fake is not None
    images = contract_images(limits, tmp_path / "media", min(3, limits.max_images))
    deployment.fake.faults.server_error(status=503, path=case.media_publish_path or case.publish_path)
    durable = DurableJournal()
    post = outgoing([SINGLE], media=images)
    async with client() as http:
        with pytest.raises(TransientDeliveryError):
            await case.build(deployment, http).publish(post, durable.journal())
        assert deployment.posts() == []
        await case.build(deployment, http).publish(post, durable.journal())
    [sent] = deployment.posts()
    assert sent.text == SINGLE
    assert sent.media == expected(limits, images)
    assert_uploads(deployment, len(images))


async def test_a_crash_after_the_uploads_never_uploads_again(
    case: AdapterCase, deployment: Deployment, tmp_path: Path
) -> None:
    """The post's answer is lost (the server stored it); a restarted adapter with the saved journal ends
    with one post carrying the images (idempotent networks) or says it cannot know, and uploads nothing."""
    limits = image_limits(case)
    needs_fake(deployment)
    assert deployment.fake is not None
    images = contract_images(limits, tmp_path / "media", min(2, limits.max_images))
    deployment.fake.faults.commit_then_drop(path=case.media_publish_path or case.publish_path)
    durable = DurableJournal()
    post = outgoing([SINGLE], media=images)
    async with client() as http:
        with pytest.raises((TransientDeliveryError, UnknownOutcome)) as caught:
            await case.build(deployment, http).publish(post, durable.journal())
        restarted = case.build(deployment, http)
        if case.idempotent:
            journal = durable.journal()
            if await restarted.reconcile(post, journal) is None:
                await restarted.publish(post, journal)
        else:
            assert isinstance(caught.value, UnknownOutcome)
            with pytest.raises(UnknownOutcome):
                await restarted.reconcile(post, durable.journal())
    [sent] = deployment.posts()
    assert sent.media == expected(limits, images)
    assert_uploads(deployment, len(images))

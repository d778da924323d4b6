from __future__ import annotations

import asyncio
import json
import os
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from media_files import image_media

from scheduler.adapters.base import Journal, Outgoing
from scheduler.adapters.file import FileAdapter, OutsideOutbox
from scheduler.config.models import ChannelSettings
from scheduler.errors import AuthError, PermanentDeliveryError
from scheduler.models import Article


def outgoing(parts: tuple[str, ...] = ("one", "two")) -> Outgoing:
    article = Article(source="posts/a.md", title="A", body="B", url="https://example.org/a")
    return Outgoing(delivery_id="d_1", idempotency_key="k1", parts=parts, article=article, channel="out")


async def publish(adapter: FileAdapter, post: Outgoing) -> None:
    await adapter.publish(post, Journal(state={}))


def test_writes_text_and_json_and_reconciles(tmp_path: Path) -> None:
    adapter = FileAdapter("out", ChannelSettings(network="file"), http=httpx.AsyncClient(), root=tmp_path)
    assert asyncio.run(adapter.reconcile(outgoing(), Journal(state={}))) is None
    asyncio.run(publish(adapter, outgoing()))
    folder = tmp_path / "var" / "outbox" / "out"
    assert (folder / "d_1.txt").read_text(encoding="utf-8") == "one\n---\ntwo\n"
    record = json.loads((folder / "d_1.json").read_text(encoding="utf-8"))
    assert record["parts"] == ["one", "two"] and record["idempotency_key"] == "k1"
    receipt = asyncio.run(adapter.reconcile(outgoing(), Journal(state={})))
    assert receipt is not None and receipt.remote_ids == ("d_1",)
    assert asyncio.run(adapter.reconcile(outgoing(("changed",)), Journal(state={}))) is None


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write into a read-only folder")
def test_unwritable_folder_is_a_permanent_delivery_error(tmp_path: Path) -> None:
    tmp_path.joinpath("ro").mkdir(mode=0o500)
    settings = ChannelSettings(network="file", path=str(tmp_path / "ro"))
    adapter = FileAdapter("out", settings, http=httpx.AsyncClient(), root=tmp_path)
    with pytest.raises(PermanentDeliveryError, match="cannot write"):
        asyncio.run(publish(adapter, outgoing()))


def test_a_file_where_the_folder_should_be_is_a_permanent_delivery_error(tmp_path: Path) -> None:
    (tmp_path / "blocker").write_text("not a folder", encoding="utf-8")
    settings = ChannelSettings(network="file", path=str(tmp_path / "blocker"))
    adapter = FileAdapter("out", settings, http=httpx.AsyncClient(), root=tmp_path)
    with pytest.raises(PermanentDeliveryError, match="path"):
        asyncio.run(publish(adapter, outgoing()))


@pytest.mark.parametrize("channel", ["../../x", "/tmp/tagcast-escape", "a/../../b", "..", ".", "x\x00y"])
def test_a_hostile_channel_name_never_writes_outside_the_outbox(tmp_path: Path, channel: str) -> None:
    """Built directly, past the config's validation of channel names: the adapter itself refuses."""
    root = tmp_path / "ws"
    root.mkdir()
    before = sorted(tmp_path.rglob("*"))
    adapter = FileAdapter(channel, ChannelSettings(network="file"), http=httpx.AsyncClient(), root=root)
    with pytest.raises(OutsideOutbox, match=r"outside the outbox folder|not a usable file name"):
        asyncio.run(publish(adapter, outgoing()))
    with pytest.raises(OutsideOutbox):
        asyncio.run(adapter.reconcile(outgoing(), Journal(state={})))
    with pytest.raises(AuthError):
        asyncio.run(adapter.check())
    assert sorted(tmp_path.rglob("*")) == before
    assert not Path("/tmp/tagcast-escape").exists()


def test_a_symlink_in_the_outbox_that_leads_elsewhere_is_refused(tmp_path: Path) -> None:
    root, elsewhere = tmp_path / "ws", tmp_path / "elsewhere"
    (root / "var" / "outbox").mkdir(parents=True)
    elsewhere.mkdir()
    (root / "var" / "outbox" / "out").symlink_to(elsewhere, target_is_directory=True)
    adapter = FileAdapter("out", ChannelSettings(network="file"), http=httpx.AsyncClient(), root=root)
    with pytest.raises(OutsideOutbox, match=str(elsewhere)):
        asyncio.run(publish(adapter, outgoing()))
    assert list(elsewhere.iterdir()) == []


def test_a_delivery_id_with_dots_and_slashes_stays_in_the_channel_folder(tmp_path: Path) -> None:
    adapter = FileAdapter("out", ChannelSettings(network="file"), http=httpx.AsyncClient(), root=tmp_path)
    article = Article(source="posts/a.md", title="A", body="B", url="https://example.org/a")
    post = Outgoing(
        delivery_id="../../../x", idempotency_key="k", parts=("one",), article=article, channel="out"
    )
    asyncio.run(publish(adapter, post))
    folder = tmp_path / "var" / "outbox" / "out"
    assert sorted(p.name for p in folder.iterdir()) == [".._.._.._x.json", ".._.._.._x.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["var"]


def test_images_are_copied_next_to_the_post_and_named_with_their_alt(tmp_path: Path) -> None:
    media = image_media(tmp_path / "cache", 2, alt="Photo {n}: the [old] bridge")
    media = (media[0], replace(media[1], mime="image/png", path=media[1].path))
    adapter = FileAdapter("out", ChannelSettings(network="file"), http=httpx.AsyncClient(), root=tmp_path)
    asyncio.run(publish(adapter, replace(outgoing(), media=media)))
    folder = tmp_path / "var" / "outbox" / "out"
    assert sorted(p.name for p in folder.iterdir()) == ["d_1-1.jpg", "d_1-2.png", "d_1.json", "d_1.txt"]
    assert (folder / "d_1-1.jpg").read_bytes() == media[0].path.read_bytes()
    assert (folder / "d_1.txt").read_text(encoding="utf-8") == (
        "one\n\n![Photo 1: the \\[old\\] bridge](d_1-1.jpg)\n![Photo 2: the \\[old\\] bridge](d_1-2.png)"
        "\n---\ntwo\n"
    )
    record = json.loads((folder / "d_1.json").read_text(encoding="utf-8"))
    assert [(i["file"], i["alt"], i["sha256"]) for i in record["images"]] == [
        ("d_1-1.jpg", "Photo 1: the [old] bridge", media[0].sha256),
        ("d_1-2.png", "Photo 2: the [old] bridge", media[1].sha256),
    ]
    assert record["parts"] == ["one", "two"], "the parts stay as previewed"


def test_an_image_name_linked_outside_the_folder_is_refused(tmp_path: Path) -> None:
    media = image_media(tmp_path / "cache", 1)
    folder = tmp_path / "var" / "outbox" / "out"
    folder.mkdir(parents=True)
    target = tmp_path / "elsewhere.jpg"
    (folder / "d_1-1.jpg").symlink_to(target)
    adapter = FileAdapter("out", ChannelSettings(network="file"), http=httpx.AsyncClient(), root=tmp_path)
    with pytest.raises(OutsideOutbox):
        asyncio.run(publish(adapter, replace(outgoing(), media=media)))
    assert not target.exists()
    assert sorted(p.name for p in folder.iterdir()) == ["d_1-1.jpg"], "nothing was written"

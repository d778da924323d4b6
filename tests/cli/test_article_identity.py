"""One article, one delivery, whatever its file is called: renames keep the delivery, copies are reported
and never posted twice, ``--repost`` posts them on purpose. Real workspaces and a real SQLite outbox."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from daily_workspace import DAILY_CONFIG
from service.processes import tagcast as run_tagcast
from typer.testing import CliRunner, Result

from scheduler.adapters.base import Receipt
from scheduler.articles import load_articles
from scheduler.cli.app import app
from scheduler.config.loader import load_workspace
from scheduler.identity import article_identity, canonical_url, fingerprint
from scheduler.ingest import ingest
from scheduler.models import Article
from scheduler.store import DeliveryState, Store, UpsertOutcome
from tests.conftest import WriteWorkspace

NOW = "2026-06-01T08:00:00+00:00"  # 10:00 in Berlin: the next slots are 18:00 today, then 09:00 tomorrow
CLOCK = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)

CONFIG = DAILY_CONFIG


def article(title: str, body: str, *, url: str | None = None, id: str | None = None) -> str:
    front = [f"title: {title}"]
    if url is not None:
        front.append(f"url: {url}")
    if id is not None:
        front.append(f"id: {id}")
    return "---\n" + "\n".join(front) + f"\n---\n\n{body}\n"


ALPHA = article("Alpha story", "The first body.", url="https://example.org/alpha")
BRAVO = article("Bravo story", "The second body.", url="https://example.org/bravo")


@pytest.fixture
def workspace(make_workspace: WriteWorkspace) -> Path:
    templates = {"post.j2": "{{ title }}\n\n{{ body }}"}
    return make_workspace(CONFIG, {"a.md": ALPHA, "b.md": BRAVO}, templates=templates)


def write(root: Path, name: str, text: str) -> Path:
    path = root / "posts" / name
    path.write_text(text, encoding="utf-8")
    return path


def tagcast(root: Path, *args: str) -> Result:
    return CliRunner().invoke(app, [*args, "--config", str(root)])


def flat(text: str) -> str:
    return " ".join(text.translate({ord(c): " " for c in "│╭╮╰╯─"}).split())


def add(root: Path, *args: str) -> list[dict[str, Any]]:
    """``queue add --json``: one row per post, with its outcome and detail."""
    result = tagcast(root, "queue", "add", "--now", NOW, "--json", *args)
    assert result.exit_code == 0, result.output
    rows: list[dict[str, Any]] = json.loads(result.stdout)
    return rows


def by_source(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {row["source"]: row for row in rows}


def open_store(root: Path) -> Store:
    return Store.open("sqlite:///var/tagcast.db", root=root)


def deliveries(root: Path) -> list[Any]:
    with open_store(root) as store:
        return store.list(limit=100)


def test_a_renamed_file_keeps_its_queued_delivery(workspace: Path) -> None:
    first = by_source(add(workspace))
    queued_id = first["posts/a.md"]["id"]
    (workspace / "posts" / "a.md").rename(workspace / "posts" / "alpha-2026.md")

    rows = by_source(add(workspace))
    assert rows["posts/alpha-2026.md"]["outcome"] == "renamed"
    assert rows["posts/alpha-2026.md"]["id"] == queued_id
    assert rows["posts/alpha-2026.md"]["detail"] == (
        f"renamed from posts/a.md: delivery {queued_id} follows the file"
    )
    assert rows["posts/alpha-2026.md"]["scheduled_at"] == first["posts/a.md"]["scheduled_at"]
    assert [(d.id, d.source) for d in deliveries(workspace)] == [
        (queued_id, "posts/alpha-2026.md"),
        (first["posts/b.md"]["id"], "posts/b.md"),
    ]
    with open_store(workspace) as store:
        assert store.history(queued_id)[-1].reason == (
            "posts/a.md was renamed to posts/alpha-2026.md: the delivery follows it"
        )
    assert by_source(add(workspace))["posts/alpha-2026.md"]["outcome"] == "unchanged"
    table = tagcast(workspace, "queue", "add", "--now", NOW)
    assert table.exit_code == 0 and "2 unchanged" in flat(table.stdout)


def test_a_sent_article_renamed_is_not_sent_again(workspace: Path) -> None:
    queued_id = by_source(add(workspace))["posts/a.md"]["id"]
    with open_store(workspace) as store:
        store.claim_due(CLOCK + timedelta(hours=9), worker="test", lease=LEASE, limit=1)
        store.mark_sent(queued_id, Receipt(remote_ids=("1",)), now=CLOCK + timedelta(hours=9))
    shutil.move(workspace / "posts" / "a.md", workspace / "posts" / "archive-alpha.md")

    row = by_source(add(workspace))["posts/archive-alpha.md"]
    assert (row["outcome"], row["id"], row["state"]) == ("renamed", queued_id, "sent")
    assert len(deliveries(workspace)) == 2
    with open_store(workspace) as store:
        sent = store.get(queued_id)
        assert (sent.source, sent.state) == ("posts/archive-alpha.md", DeliveryState.SENT)
        assert [t.to_state for t in store.history(queued_id)][-1] is DeliveryState.SENT  # no new transition


def test_an_identical_copy_is_a_warning_naming_both_files_not_a_second_post(workspace: Path) -> None:
    add(workspace)
    shutil.copy(workspace / "posts" / "a.md", workspace / "posts" / "copy-of-a.md")

    result = tagcast(workspace, "queue", "add", "--now", NOW)
    assert result.exit_code == 0, result.output
    out = flat(result.stdout)
    assert "duplicate" in out and "1 duplicate, 2 unchanged" in out
    assert (
        "posts/copy-of-a.md -> file: a copy of posts/a.md (url https://example.org/alpha), queued as d_"
        in out
    )
    assert "`tagcast queue add --repost posts/copy-of-a.md`" in out
    assert len(deliveries(workspace)) == 2

    warning = (
        "posts/copy-of-a.md is a copy of posts/a.md (url https://example.org/alpha): it is not posted a "
        "second time"
    )
    preview = tagcast(workspace, "preview", "--now", NOW)
    assert preview.exit_code == 0 and warning in flat(preview.stderr)
    check = tagcast(workspace, "check", "--now", NOW)
    assert check.exit_code == 0 and warning in flat(check.stderr)


def test_copies_new_in_the_same_run_are_queued_once_and_take_no_slot(workspace: Path) -> None:
    write(workspace, "a2.md", ALPHA)  # sorts between a.md and b.md
    rows = by_source(add(workspace))
    assert rows["posts/a.md"]["outcome"] == "added"
    assert rows["posts/a2.md"]["outcome"] == "duplicate"
    assert rows["posts/a2.md"]["id"] == rows["posts/a.md"]["id"]
    assert rows["posts/a.md"]["scheduled_at"] == "2026-06-01T18:00:00+02:00"
    assert rows["posts/b.md"]["scheduled_at"] == "2026-06-02T09:00:00+02:00"  # the slot after a's
    assert len(deliveries(workspace)) == 2


def test_repost_posts_a_copy_on_purpose(workspace: Path) -> None:
    original = by_source(add(workspace))["posts/a.md"]
    write(workspace, "again.md", ALPHA)
    row = by_source(add(workspace, "--repost", str(workspace / "posts" / "again.md")))["posts/again.md"]
    assert row["outcome"] == "reposted"
    assert row["id"] != original["id"]
    assert row["detail"] == (
        "a copy of posts/a.md (url https://example.org/alpha): queued as a post of its own, "
        "as asked (--repost)"
    )
    with open_store(workspace) as store:
        copy, first = store.get(row["id"]), store.get(original["id"])
        assert copy.idempotency_key != first.idempotency_key
        assert (copy.identity, copy.generation) == (first.identity, 2)
        assert store.history(copy.id)[0].reason.startswith("queued again from posts/again.md (a copy of")
    assert len(deliveries(workspace)) == 3


def test_an_id_tells_apart_two_articles_about_one_page_and_survives_rename_and_edit(workspace: Path) -> None:
    url = "https://example.org/page"
    write(workspace, "one.md", article("Part one", "First look.", url=url, id="page-1"))
    write(workspace, "two.md", article("Part two", "Second look.", url=url, id="page-2"))
    rows = by_source(add(workspace))
    assert rows["posts/one.md"]["outcome"] == rows["posts/two.md"]["outcome"] == "added"

    (workspace / "posts" / "one.md").unlink()
    write(
        workspace, "first-look.md", article("Part one", "First look, revised.", url=url + "?v=2", id="page-1")
    )
    moved = by_source(add(workspace))["posts/first-look.md"]
    assert (moved["outcome"], moved["id"]) == ("updated", rows["posts/one.md"]["id"])
    assert moved["parts"] == ["Part one\n\nFirst look, revised."]
    assert moved["detail"] == f"renamed from posts/one.md: delivery {moved['id']} follows the file"
    assert len(deliveries(workspace)) == 4


def test_an_article_without_id_or_url_is_known_by_its_text(workspace: Path) -> None:
    write(workspace, "note.md", article("A short note", "Nothing to link to."))
    queued_id = by_source(add(workspace))["posts/note.md"]["id"]
    (workspace / "posts" / "note.md").rename(workspace / "posts" / "note-renamed.md")
    assert by_source(add(workspace))["posts/note-renamed.md"]["outcome"] == "renamed"
    write(workspace, "note-copy.md", article("A short  note", "Nothing to link to.\n"))  # white space only
    copy = by_source(add(workspace))["posts/note-copy.md"]
    assert (copy["outcome"], copy["id"]) == ("duplicate", queued_id)
    assert "(the same title and text)" in copy["detail"]
    # an edit in place of the same file (its text, so its identity, changes) is still an edit of its delivery
    (workspace / "posts" / "note-copy.md").unlink()
    write(workspace, "note-renamed.md", article("A short note", "Now with more to say."))
    edited = by_source(add(workspace))["posts/note-renamed.md"]
    assert (edited["outcome"], edited["id"]) == ("updated", queued_id)


def test_a_file_renamed_and_a_new_article_under_its_old_name_are_two_articles(workspace: Path) -> None:
    queued_id = by_source(add(workspace))["posts/a.md"]["id"]
    with open_store(workspace) as store:
        store.claim_due(CLOCK + timedelta(hours=9), worker="test", lease=LEASE, limit=1)
        store.mark_sent(queued_id, Receipt(remote_ids=("1",)), now=CLOCK + timedelta(hours=9))
    (workspace / "posts" / "a.md").rename(workspace / "posts" / "alpha.md")
    write(workspace, "a.md", article("Charlie story", "A new article.", url="https://example.org/charlie"))
    rows = by_source(add(workspace))
    assert (rows["posts/alpha.md"]["outcome"], rows["posts/alpha.md"]["id"]) == ("renamed", queued_id)
    assert rows["posts/a.md"]["outcome"] == "added"
    assert rows["posts/a.md"]["parts"] == ["Charlie story\n\nA new article."]
    assert len(deliveries(workspace)) == 3


def test_a_partial_ingest_tells_a_rename_from_a_copy_by_reading_the_other_file(workspace: Path) -> None:
    """The service re-ingests only the files that changed: the old file is read to tell the two apart."""
    loaded = load_workspace(str(workspace))
    with open_store(workspace) as store:
        ingest(loaded, store, now=CLOCK)
        copy = write(workspace, "a-again.md", ALPHA)
        [item] = ingest(loaded, store, [copy], now=CLOCK).items
        assert (item.outcome, item.delivery.source if item.delivery else None) == (
            UpsertOutcome.DUPLICATE,
            "posts/a.md",
        )
        copy.unlink()
        (workspace / "posts" / "a.md").rename(workspace / "posts" / "alpha.md")
        [item] = ingest(loaded, store, [workspace / "posts" / "alpha.md"], now=CLOCK).items
        assert item.outcome is UpsertOutcome.RENAMED
        # the file that holds the delivery cannot be read: its delivery is neither moved nor doubled
        write(workspace, "alpha.md", "---\ntitle: [broken\n---\n")
        another = write(workspace, "alpha-again.md", ALPHA)
        [item] = ingest(loaded, store, [another], now=CLOCK).items
        assert item.outcome is UpsertOutcome.DUPLICATE
        assert {d.source for d in store.list()} == {"posts/alpha.md", "posts/b.md"}


def test_serve_logs_a_copy_as_a_warning_naming_both_files(workspace: Path) -> None:
    write(workspace, "z-copy.md", BRAVO)
    done = run_tagcast("serve", "--once", cwd=workspace)
    assert done.returncode == 0, done.stderr
    log = flat(done.stderr)
    assert "WARNING" in log and "posts/z-copy.md: duplicate: a copy of posts/b.md" in log
    assert len(deliveries(workspace)) == 2


def test_identity_prefers_id_then_the_canonical_url_then_the_text() -> None:
    base = Article(source="posts/x.md", title="T", body="B  text", url="HTTPS://Example.org:443/a/#top")
    assert article_identity(base) == "url:https://example.org/a"
    assert article_identity(Article(source="x", title="T", body="B", id=" my-id ")) == "id:my-id"
    assert canonical_url("http://example.org:8080/a?b=1#c") == "http://example.org:8080/a?b=1"
    text_only = Article(source="x", title="T", body="B\ttext\n")
    assert article_identity(text_only) == f"sha256:{fingerprint('T', 'B text')}"
    assert fingerprint("T", "B text") != fingerprint("T", "B texts")


def test_an_item_removed_from_a_json_list_does_not_shift_the_others_deliveries(workspace: Path) -> None:
    items = [
        {"title": name, "body": f"About {name}.", "url": f"https://example.org/{name.lower()}"}
        for name in ("One", "Two", "Three")
    ]
    (workspace / "posts" / "list.json").write_text(json.dumps(items), encoding="utf-8")
    first = by_source(add(workspace))
    del items[1]
    (workspace / "posts" / "list.json").write_text(json.dumps(items), encoding="utf-8")

    result = tagcast(workspace, "queue", "add", "--now", NOW, "--json")
    rows = by_source(json.loads(result.stdout))
    assert rows["posts/list.json#0"]["outcome"] == "unchanged"
    assert (rows["posts/list.json#1"]["outcome"], rows["posts/list.json#1"]["id"]) == (
        "renamed",
        first["posts/list.json#2"]["id"],  # Three keeps its delivery and its text
    )
    assert rows["posts/list.json#1"]["parts"] == ["Three\n\nAbout Three."]
    two = first["posts/list.json#1"]["id"]
    assert (
        f"posts/list.json#1 now holds another article; the one queued is gone; still queued "
        f"(cancel with `tagcast queue cancel {two}`)" in flat(result.stderr)
    )
    with open_store(workspace) as store:
        assert store.get(two).parts == ("Two\n\nAbout Two.",)  # not overwritten with Three's text


def test_id_and_publish_at_now_are_read_from_front_matter_and_json(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text(
        "---\ntitle: A\nid: story-7\npublish_at: now\n---\nText.\n", encoding="utf-8"
    )
    (tmp_path / "b.json").write_text(json.dumps({"title": "B", "body": "Text.", "id": 42}), encoding="utf-8")
    before = datetime.now(UTC)
    result = load_articles([tmp_path], root=tmp_path)
    after = datetime.now(UTC)
    assert result.errors == []
    a, b = sorted(result.articles, key=lambda article: article.source)
    assert (a.id, b.id) == ("story-7", "42")
    assert "id" not in a.extra and "id" not in b.extra
    assert a.publish_at is not None and before <= a.publish_at <= after
    assert article_identity(b) == "id:42"

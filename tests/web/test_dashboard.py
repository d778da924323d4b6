"""``tagcast web``'s pages and actions, through real HTTP requests into the app over a real SQLite outbox."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from starlette.applications import Starlette

from scheduler.config.loader import load_workspace
from scheduler.store import DeliveryState, Store
from scheduler.web.app import create_app

from .conftest import NOW, Client

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def csrf_of(page: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match, "the page has no CSRF field"
    return match[1]


def entries_by_day(page: str) -> dict[str, list[str]]:
    """Delivery ids under each day of a calendar page."""
    days: dict[str, list[str]] = {}
    sections = re.findall(r'<section class="day[^"]*"[^>]*data-day="([^"]+)">(.*?)</section>', page, re.S)
    for day, html in sections:
        days[day] = re.findall(r'data-id="([^"]+)"', html)
    return days


def test_the_calendar_shows_each_delivery_under_its_day_with_time_channel_state_and_text(
    client: Client, store: Store
) -> None:
    response = client.get("/")
    assert response.status_code == 200
    page = response.text
    deliveries = store.list(limit=100)
    assert len(deliveries) == 6  # two articles, three channels
    by_day = entries_by_day(page)
    assert list(by_day) == [f"2027-01-{day}" for day in range(11, 18)]
    alpha = [d.id for d in deliveries if d.source == "posts/alpha.md"]  # 09:00 Berlin
    bravo = [d.id for d in deliveries if d.source == "posts/bravo.md"]  # 18:00 Berlin
    assert sorted(by_day["2027-01-11"][:3]) == sorted(alpha)
    assert sorted(by_day["2027-01-11"][3:]) == sorted(bravo)
    assert all(by_day[f"2027-01-{day}"] == [] for day in range(12, 18))
    # 23:30 Berlin on Wednesday is Wednesday, though it is 22:30 UTC
    store.reschedule(bravo[0], datetime(2027, 1, 13, 22, 30, tzinfo=UTC), now=NOW)
    moved = entries_by_day(client.get("/").text)
    assert moved["2027-01-13"] == [bravo[0]] and bravo[0] not in moved["2027-01-11"]
    assert '<span class="time">09:00</span> <span class="channel">bsky</span>' in page
    assert "Week 2027-W02" in page and "6 deliveries this week" in page
    assert 'href="/?week=2027-W01"' in page and 'href="/?week=2027-W03"' in page
    # The article's markup is text, never HTML
    assert "Alpha &lt;b&gt;story&lt;/b&gt;" in page and "<b>story" not in page


def test_another_week_is_chosen_with_the_week_parameter_and_a_bad_one_says_how_to_write_it(
    client: Client,
) -> None:
    empty = client.get("/?week=2027-W05")
    assert empty.status_code == 200
    assert "0 deliveries this week" in empty.text
    assert all(ids == [] for ids in entries_by_day(empty.text).values())
    bad = client.get("/?week=next")
    assert bad.status_code == 400
    assert "&#39;next&#39; is not a week" in bad.text and "?week=2027-W02" in bad.text


def test_a_delivery_page_shows_its_card_history_and_the_actions_its_state_allows(
    client: Client, store: Store
) -> None:
    delivery = next(d for d in store.list() if d.channel == "masto")
    page = client.get(f"/deliveries/{delivery.id}").text
    assert 'class="card net-mastodon' in page
    assert '<a class="tag" href="https://social.example/tags/History"' in page
    assert '<a class="mention" href="https://museum.example/@curator"' in page
    assert "queued" in page or "planned" in page
    for action in ("cancel", "send-now", "reschedule"):
        assert f'action="/deliveries/{delivery.id}/{action}"' in page
    assert f'action="/deliveries/{delivery.id}/retry"' not in page  # only failed or unknown ones
    assert client.get("/deliveries/d_nosuchthing").status_code == 404


def test_cancel_with_the_pages_csrf_token_cancels_the_delivery_in_the_store(
    client: Client, store: Store
) -> None:
    delivery = store.list()[0]
    token = csrf_of(client.get(f"/deliveries/{delivery.id}").text)
    response = client.post(
        f"/deliveries/{delivery.id}/cancel",
        content=f"csrf={token}",
        headers={**FORM, "Origin": "http://127.0.0.1:8464", "Sec-Fetch-Site": "same-origin"},
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/deliveries/{delivery.id}?done=cancel"
    assert store.get(delivery.id).state is DeliveryState.CANCELLED
    assert store.history(delivery.id)[-1].reason == "cancelled by the operator"
    shown = client.get(response.headers["location"]).text
    assert "Cancelled: it will not be sent." in shown
    # Cancelled twice: the store's refusal is shown, nothing changes
    again = client.post(f"/deliveries/{delivery.id}/cancel", content=f"csrf={token}", headers=FORM)
    assert again.status_code == 409
    assert f"cannot cancel delivery {delivery.id}: it is cancelled" in again.text


def test_cross_site_posts_are_refused_and_change_nothing(client: Client, store: Store) -> None:
    delivery = store.list()[0]
    token = csrf_of(client.get(f"/deliveries/{delivery.id}").text)
    attempts = [
        ("csrf=wrong", {}),
        ("", {}),
        (f"csrf={token}", {"Sec-Fetch-Site": "cross-site"}),
        (f"csrf={token}", {"Origin": "https://evil.example"}),
    ]
    for body, headers in attempts:
        response = client.post(f"/deliveries/{delivery.id}/cancel", content=body, headers={**FORM, **headers})
        assert response.status_code == 403, (body, headers)
    assert store.get(delivery.id).state is DeliveryState.PLANNED
    assert len(store.history(delivery.id)) == 1


def test_send_now_and_reschedule_move_the_slot_through_the_store(client: Client, store: Store) -> None:
    first, second = store.list()[:2]
    token = csrf_of(client.get(f"/deliveries/{first.id}").text)
    assert client.post(f"/deliveries/{first.id}/send-now", content=f"csrf={token}", headers=FORM).is_redirect
    now_planned = store.get(first.id)
    assert (now_planned.state, now_planned.scheduled_at) == (DeliveryState.PLANNED, NOW)
    assert store.history(first.id)[-1].reason == "send now, asked from the dashboard"

    moved = client.post(
        f"/deliveries/{second.id}/reschedule", content=f"csrf={token}&at=2027-01-20T10:15", headers=FORM
    )
    assert moved.status_code == 303
    # A time without an offset is read in the delivery's zone (Europe/Berlin, UTC+1 in January)
    assert store.get(second.id).scheduled_at == datetime(2027, 1, 20, 9, 15, tzinfo=UTC)
    bad = client.post(f"/deliveries/{second.id}/reschedule", content=f"csrf={token}&at=soon", headers=FORM)
    assert bad.status_code == 409 and "&#39;soon&#39; is not a time" in bad.text


def test_retry_plans_a_failed_delivery_again_now(client: Client, store: Store) -> None:
    first_slot = store.list()[0].scheduled_at
    [delivery] = store.claim_due(first_slot, worker="w", lease=timedelta(minutes=5), limit=1)
    store.mark_failed(delivery.id, reason="401 Unauthorized", now=delivery.scheduled_at)
    page = client.get(f"/deliveries/{delivery.id}").text
    assert "401 Unauthorized" in page
    token = csrf_of(page)
    assert client.post(f"/deliveries/{delivery.id}/retry", content=f"csrf={token}", headers=FORM).is_redirect
    assert store.get(delivery.id).state is DeliveryState.PLANNED
    assert store.get(delivery.id).attempts == 0


def test_posts_shows_the_preview_cards(client: Client) -> None:
    page = client.get("/posts").text
    assert page.count('<article class="card') == 6
    assert "6 posts from 2 articles, all valid" in page
    assert 'aria-current="page">Posts' in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>" not in page


def test_every_response_forbids_scripts_framing_and_outside_requests(client: Client) -> None:
    headers = client.get("/").headers
    policy = headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src" not in policy
    assert "form-action 'self'" in policy and "frame-ancestors 'none'" in policy
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "same-origin"


def test_on_loopback_only_loopback_host_names_are_served(app: Starlette) -> None:
    assert Client(app, "http://localhost:8464").get("/").status_code == 200
    assert Client(app, "http://[::1]:8464").get("/").status_code == 200
    rebound = Client(app, "http://attacker.example:8464").get("/")
    assert rebound.status_code == 421


def test_with_a_token_every_request_must_bring_it(workspace: object, store: Store) -> None:
    app = create_app(
        load_workspace(str(workspace)), store, clock=lambda: NOW, token="s3cret-token", loopback_only=False
    )
    client = Client(app, "http://192.0.2.10:8464")
    refused = client.get("/")
    assert refused.status_code == 401
    assert "s3cret-token" not in refused.text
    assert client.get("/?token=wrong").status_code == 401
    opened = client.get("/?token=s3cret-token&week=2027-W02")
    assert opened.status_code == 303
    assert opened.headers["location"] == "/?week=2027-W02"
    cookie = opened.headers["set-cookie"]
    assert cookie.startswith("tagcast_token=s3cret-token;")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert client.get("/", headers={"Cookie": "tagcast_token=s3cret-token"}).status_code == 200
    assert client.get("/", headers={"Authorization": "Bearer s3cret-token"}).status_code == 200
    assert client.get("/", headers={"Cookie": "tagcast_token=other"}).status_code == 401


def test_posts_says_why_when_the_workspace_cannot_be_previewed(client: Client, workspace: Path) -> None:
    (workspace / "config" / "templates" / "post.j2").unlink()
    response = client.get("/posts")
    assert response.status_code == 422
    assert "The posts cannot be previewed" in response.text
    assert "post.j2" in response.text


def test_the_calendar_of_one_channel(client: Client, store: Store) -> None:
    page = client.get("/?week=2027-W02&channel=bsky").text
    ids = [i for day in entries_by_day(page).values() for i in day]
    assert sorted(ids) == sorted(d.id for d in store.list() if d.channel == "bsky")
    assert "2 deliveries this week" in page and "Week 2027-W02: bsky" in page
    assert 'href="/?week=2027-W01&amp;channel=bsky"' in page
    assert '<a href="/?week=2027-W02&amp;channel=bsky" aria-current="page">bsky</a>' in page
    assert "0 deliveries this week" in client.get("/?channel=nosuchchannel").text

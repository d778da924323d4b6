"""How a person sees posts in a terminal: one panel per post, the text exactly as it will be sent."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Group
from rich.panel import Panel
from rich.rule import Rule
from rich.text import Text

from scheduler.cli.common import stdout
from scheduler.media.model import Card
from scheduler.models import Post
from scheduler.safe_text import shown


def _length_line(post: Post) -> Text:
    line = Text()
    limits = post.limits
    for index, length in enumerate(post.lengths):
        if index:
            line.append("  ")
        label = f"part {index + 1}: " if len(post.lengths) > 1 else ""
        limit = limits[index] if index < len(limits) else post.limit
        style = "red bold" if length > limit else "green"
        line.append(f"{label}{length}/{limit} {post.unit}", style=style)
    if post.shortened:
        line.append("  (body shortened to fit)", style="yellow")
    return line


def _meta_line(post: Post) -> Text:
    when = post.scheduled_at.strftime("%a %Y-%m-%d %H:%M %Z (%z)") if post.scheduled_at else "not scheduled"
    line = Text()
    line.append("when ", style="dim")
    line.append(when, style="bold cyan" if post.scheduled_at else "red")
    if post.slot_note:
        line.append(f"  {post.slot_note}", style="dim")
    line.append("\nrule ", style="dim")
    line.append(post.rule)
    line.append("  template ", style="dim")
    line.append(post.template or "-")
    return line


def _image_lines(post: Post) -> list[Text]:
    """Each image as it will be sent (its source, type, pixels and bytes after processing, alt text), and a
    note for each image of the article that this network is not sent."""
    from scheduler.media.prepare import left_out_notes

    lines = []
    for number, item in enumerate(post.media, start=1):
        line = Text()
        line.append(f"image {number} ", style="dim")
        line.append(shown(item.src))
        line.append(f"  {item.mime} {item.width}x{item.height}, {item.size:,} bytes", style="cyan")
        line.append("  alt ", style="dim")
        line.append(shown(item.alt) if item.alt else "(none)", style="" if item.alt else "yellow")
        lines.append(line)
    notes = list(post.left_out) or left_out_notes(post.article, post.media, post.network)
    lines.extend(Text(shown(note), style="yellow") for note in notes)
    return lines


def card_panel(card: Card) -> Panel:
    """The link card under the first part: its site, title, description and thumbnail."""
    lines = Text()
    lines.append(card.uri.split("://", 1)[-1].split("/", 1)[0], style="dim")
    lines.append("\n" + (shown(card.title) or "(no title)"), style="bold")
    if card.description:
        lines.append("\n" + shown(card.description))
    if card.thumb is not None:
        thumb = card.thumb
        lines.append(
            f"\nthumb {shown(thumb.src)} ({thumb.width}x{thumb.height}, {thumb.size} bytes)", style="dim"
        )
    else:
        lines.append("\nno thumbnail", style="dim")
    return Panel(lines, title=Text("link card", style="dim"), title_align="left", border_style="dim")


def post_panel(post: Post) -> Panel:
    body: list[Text | Rule | Panel] = []
    for index, part in enumerate(post.parts):
        if index:
            body.append(Rule(f"part {index + 1}", style="dim"))
        body.append(Text(part))
        if index == 0 and post.card is not None:
            body.append(card_panel(post.card))
    if not post.parts:
        body.append(Text("(nothing rendered)", style="red"))
    body.append(Rule(style="dim"))
    body.append(_length_line(post))
    body.extend(_image_lines(post))
    body.append(_meta_line(post))
    for problem in post.problems:
        body.append(Text(f"✗ {shown(problem)}", style="bold red"))
    return Panel(
        Group(*body),
        title=Text(f"{post.channel} · {post.network}", style="bold"),
        title_align="left",
        subtitle=Text(shown(post.source), style="dim"),
        subtitle_align="right",
        border_style="red" if post.problems else "blue",
    )


def show_posts(posts: Sequence[Post], *, unreadable: int = 0) -> None:
    """Every post as a panel, then a summary that counts the ``unreadable`` articles (listed on stderr)."""
    console = stdout()
    for post in posts:
        console.print(post_panel(post))
    bad = sum(1 for post in posts if post.problems)
    articles = len({post.source for post in posts})
    summary = f"{len(posts)} post(s) from {articles} article(s)"
    if bad:
        summary += f", [red]{bad} with problems[/]"
    if unreadable:
        summary += f", [red]{unreadable} article(s) could not be read[/] (see stderr)"
    console.print(summary if bad or unreadable else f"{summary}, all valid")


def show_check(posts: Sequence[Post], bad: Sequence[Post], article_errors: int) -> None:
    console = stdout()
    for post in bad:
        for problem in post.problems:
            console.print(
                Text(shown(f"{post.source} -> {post.channel}: {problem}"), style="red"), soft_wrap=True
            )
    status = "ok" if not bad and not article_errors else "problems found"
    console.print(
        f"checked {len(posts)} post(s): {len(bad)} with problems, "
        f"{article_errors} unreadable article(s): {status}"
    )

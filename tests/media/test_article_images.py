"""Images named by an article: Markdown front matter, JSON, the plain-text format, feeds. Each problem names
the file, the key's line and how to fix it."""

from __future__ import annotations

import textwrap
from pathlib import Path

from scheduler.articles import load_articles
from scheduler.media.model import ImageRef

from .pictures import noisy_jpeg, oriented_jpeg


def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    oriented_jpeg(root / "posts" / "img" / "photo.jpg")
    (root / "posts" / "img" / "notes.jpg").write_text("not a picture\n")
    return root


def load(root: Path, name: str, text: str) -> tuple[list[object], list[str]]:
    path = root / "posts" / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    result = load_articles([path], root=root)
    return list(result.articles), [str(error) for error in result.errors]


def test_image_and_image_alt_in_front_matter(tmp_path: Path) -> None:
    root = workspace(tmp_path)
    articles, errors = load(
        root,
        "a.md",
        """\
        ---
        title: Little ships
        image: img/photo.jpg
        image_alt: "Small boats crossing the Channel"
        ---
        Text.
        """,
    )
    assert errors == []
    assert articles[0].images == (ImageRef("img/photo.jpg", "Small boats crossing the Channel"),)  # type: ignore[attr-defined]


def test_a_list_of_images_with_https_addresses_and_a_missing_alt(tmp_path: Path) -> None:
    root = workspace(tmp_path)
    articles, errors = load(
        root,
        "a.md",
        """\
        ---
        title: Little ships
        images:
          - {src: img/photo.jpg, alt: The harbour}
          - src: https://example.org/boat.jpg
        ---
        Text.
        """,
    )
    assert errors == []
    assert articles[0].images == (  # type: ignore[attr-defined]
        ImageRef("img/photo.jpg", "The harbour"),
        ImageRef("https://example.org/boat.jpg", None),  # a problem per channel, when the post is made
    )


def test_every_problem_of_the_images_names_the_file_line_key_and_fix(tmp_path: Path) -> None:
    root = workspace(tmp_path)
    _, errors = load(
        root,
        "a.md",
        """\
        ---
        title: Little ships
        images:
          - {src: img/photo.jpg, atl: The harbour}
          - img/phto.jpg
          - http://example.org/boat.jpg
          - img/notes.jpg
          - ../../outside.jpg
        ---
        Text.
        """,
    )
    hint = 'each image is images: [{src: photo.jpg, alt: "what it shows"}]'
    assert errors == [  # each on the line of its item, after the key's own
        "posts/a.md:3: images: 5 images; a post carries at most 4\n  hint: keep the 4 that matter most",
        f"posts/a.md:4: images: item 1: unknown key 'atl'; did you mean 'alt'?\n  hint: {hint}",
        "posts/a.md:5: images: item 2: no such file 'img/phto.jpg' (looked in posts/img/); did you mean "
        "'photo.jpg'?\n  hint: write the path relative to the article file",
        "posts/a.md:6: images: item 3: 'http://example.org/boat.jpg' is not https\n"
        "  hint: use the https:// address of the image (tagcast downloads images only over https)",
        "posts/a.md:7: images: item 4: 'img/notes.jpg' is not an image (Pillow cannot read it)\n"
        "  hint: use a JPEG, PNG, WebP or GIF image file",
        "posts/a.md:8: images: item 5: '../../outside.jpg' is outside the workspace\n"
        "  hint: keep images inside the workspace, e.g. posts/images/",
    ]


def test_image_problems_in_front_matter_keys(tmp_path: Path) -> None:
    root = workspace(tmp_path)
    _, errors = load(
        root,
        "b.md",
        """\
        ---
        title: Little ships
        image_alt: "A boat"
        ---
        Text.
        """,
    )
    assert errors == [
        "posts/b.md:3: image_alt: there is no image to describe\n"
        '  hint: add the image too: image: photo.jpg and image_alt: "what the image shows"'
    ]
    _, errors = load(
        root,
        "c.md",
        """\
        ---
        title: Little ships
        image: [img/photo.jpg]
        images: [img/photo.jpg]
        ---
        Text.
        """,
    )
    assert errors == [
        "posts/c.md:4: images: write either image (with image_alt) or images, not both\n"
        '  hint: images: [{src: photo.jpg, alt: "what it shows"}]'
    ]
    _, errors = load(root, "d.md", "---\ntitle: T\nimage: /etc/photo.jpg\nimage_alt: x\n---\nText.\n")
    assert errors == [
        "posts/d.md:3: image: '/etc/photo.jpg' is an absolute path\n"
        "  hint: write the path relative to the article file, e.g. images/photo.jpg"
    ]
    _, errors = load(
        root, "e.md", "---\ntitle: T\nimage: ftp://example.org/a.jpg\nimage_alt: x\n---\nText.\n"
    )
    assert errors == [
        "posts/e.md:3: image: 'ftp://example.org/a.jpg' is not a file path or an https address\n"
        "  hint: write a path relative to the article file, or https://...; "
        'image: photo.jpg and image_alt: "what the image shows"'
    ]


def test_json_articles_carry_images(tmp_path: Path) -> None:
    root = workspace(tmp_path)
    articles, errors = load(
        root,
        "list.json",
        """\
        [
          {"title": "One", "body": "Text.", "image": "img/photo.jpg", "image_alt": "A harbour"},
          {"title": "Two", "body": "Text.",
           "images": [{"src": "https://example.org/a.jpg", "alt": "A boat"}]},
          {"title": "Three", "body": "Text.", "images": [{"src": "img/zzz.png", "alt": "x"}]}
        ]
        """,
    )
    assert [article.images for article in articles] == [  # type: ignore[attr-defined]
        (ImageRef("img/photo.jpg", "A harbour"),),
        (ImageRef("https://example.org/a.jpg", "A boat"),),
    ]
    assert errors == [
        "posts/list.json:5: posts/list.json#2: images: item 1: no such file 'img/zzz.png' (looked in "
        "posts/img/)\n  hint: write the path relative to the article file"
    ]


def test_a_problem_in_a_json_images_item_points_at_the_items_own_line(tmp_path: Path) -> None:
    root = workspace(tmp_path)
    _, errors = load(
        root,
        "items.json",
        """\
        {
          "title": "Ships",
          "body": "Text.",
          "images": [
            {"src": "img/photo.jpg", "alt": "A harbour"},
            {"src": "img/zzz.png", "alt": "x"},
            {"src": "img/photo.jpg", "alt": "A harbour", "atl": "typo"}
          ]
        }
        """,
    )
    assert [error.split(":")[1] for error in errors] == ["6", "7"]
    assert errors[0].startswith("posts/items.json:6: images: item 2: no such file 'img/zzz.png'")
    assert "images: item 3: unknown key 'atl'" in errors[1]


def test_the_plain_text_format_takes_image_lines(tmp_path: Path) -> None:
    root = workspace(tmp_path)
    articles, errors = load(
        root,
        "a.txt",
        """\
        Stalin's Role in Khalkhin Gol Battles
        Image: img/photo.jpg
        Image alt: Soldiers in the steppe, 1939

        The Battles of Khalkhin Gol were fought in 1939.
        #MomentOfLife #KhalkhinGol
        """,
    )
    assert errors == []
    article = articles[0]
    assert article.images == (ImageRef("img/photo.jpg", "Soldiers in the steppe, 1939"),)  # type: ignore[attr-defined]
    assert "Image" not in article.body  # type: ignore[attr-defined]


def test_a_feed_entry_image_is_kept_only_over_https(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    (root / "posts").mkdir(parents=True)
    items = "".join(
        f"<item><title>{title}</title><link>https://example.org/{title}</link><guid>{title}</guid>"
        f"<description>About {title}.</description>"
        f'<enclosure url="{url}" type="image/jpeg" length="1"/></item>'
        for title, url in (("a", "https://example.org/a.jpg"), ("b", "http://example.org/b.jpg"))
    )
    feed = f'<?xml version="1.0"?><rss version="2.0"><channel><title>F</title>{items}</channel></rss>'
    (root / "posts" / "feed.xml").write_text(feed, encoding="utf-8")
    result = load_articles([root / "posts" / "feed.xml"], root=root)
    assert result.errors == []
    assert [article.images for article in result.articles] == [
        (ImageRef("https://example.org/a.jpg", optional=True),),  # no alt text: sent only where not required
        (),
    ]


def test_noisy_photo_helper_makes_big_files() -> None:
    assert len(noisy_jpeg(600, 400)) > 100_000

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from jinja2 import TemplateNotFound, TemplateSyntaxError, UndefinedError
from render_examples import context_for, khalkhin_gol

from scheduler.errors import TemplateError, UserError
from scheduler.models import Article
from scheduler.render import BUILTIN_TEMPLATES, TemplateRenderer, resolve_template_name

Write = Callable[[str, str], Path]
BUILTIN_NAMES = [
    "base.j2",
    "bluesky.j2",
    "default.j2",
    "discord.j2",
    "file.j2",
    "linkedin.j2",
    "mastodon.j2",
    "slack.j2",
    "telegram.j2",
    "threads.j2",
    "x.j2",
]


def simple() -> Article:
    return Article(source="posts/s.md", title="Title", body="Body text.", url=None)


class TestLoading:
    def test_builtins_only(self, builtin: TemplateRenderer) -> None:
        assert builtin.names() == BUILTIN_NAMES
        assert builtin.exists("mastodon.j2")
        assert not builtin.exists("nope.j2")

    def test_names_include_workspace_templates_once(self, renderer: TemplateRenderer, write: Write) -> None:
        write("history.j2", "{{ title }}")
        write("x.j2", "{{ title }}")
        write("notes.txt", "not a template")
        assert renderer.names() == sorted([*BUILTIN_NAMES, "history.j2"])

    def test_workspace_template_overrides_builtin(self, renderer: TemplateRenderer, write: Write) -> None:
        write("mastodon.j2", "mine: {{ title }}")
        assert renderer.render("mastodon.j2", context_for(simple())) == "mine: Title"

    def test_workspace_template_extends_builtin_base(self, renderer: TemplateRenderer, write: Write) -> None:
        write("mine.j2", '{% extends "base.j2" %}{% block headline %}>> {{ super() }} <<{% endblock %}')
        assert renderer.render("mine.j2", context_for(simple())) == ">> Title <<\n\nBody text."

    def test_overridden_base_is_used_by_builtin_children(
        self, renderer: TemplateRenderer, write: Write
    ) -> None:
        write("base.j2", "[{% block headline %}{% endblock %}|{% block tags %}{% endblock %}]")
        article = khalkhin_gol()
        assert renderer.render("x.j2", context_for(article)) == "[|#mooflife #MomentOfLife #Stalin]"

    def test_template_in_a_subfolder(self, renderer: TemplateRenderer, write: Write) -> None:
        write("shared/sig.j2", "-- {{ channel }}")
        write("post.j2", '{{ title }}\n{% include "shared/sig.j2" %}')
        assert renderer.render("post.j2", context_for(simple(), channel="blog")) == "Title\n-- blog"

    def test_missing_template_dir_still_has_builtins(self, tmp_path: Path) -> None:
        renderer = TemplateRenderer(tmp_path / "absent")
        assert renderer.render("default.j2", context_for(simple())) == "Title\n\nBody text."

    def test_builtin_folder_is_inside_the_package(self) -> None:
        package = Path(__file__).resolve().parents[2] / "scheduler"
        assert package / "defaults" / "templates" == BUILTIN_TEMPLATES

    def test_a_template_written_after_a_failed_lookup_is_found(
        self, renderer: TemplateRenderer, write: Write
    ) -> None:
        assert not renderer.exists("later.j2")
        write("later.j2", "{{ title }}")
        assert renderer.exists("later.j2")
        assert renderer.exists("later.j2")
        assert renderer.render("later.j2", context_for(simple())) == "Title"

    def test_every_global_is_there_and_a_template_keeps_its_own(
        self, renderer: TemplateRenderer, write: Write
    ) -> None:
        write(
            "globals.j2",
            "{% set ns = namespace(n=0) %}{% for i in range(3) %}{% set ns.n = ns.n + i %}{% endfor %}"
            "{{ ns.n }} {{ dict(a=1)['a'] }} {{ cycler('x', 'y').next() }} {{ joiner(',')() }}|"
            "{{ lipsum(1, html=False) | length > 0 }}",
        )
        assert renderer.render("globals.j2", {}) == "3 1 x |True"
        template = renderer._env.from_string("{{ own }} {{ range(2) | list }}", globals={"own": "mine"})
        assert template.render() == "mine [0, 1]"
        assert "own" not in renderer._env.globals

    def test_template_names_cannot_leave_the_folders(self, renderer: TemplateRenderer, write: Write) -> None:
        write("ok.j2", "x")
        assert not renderer.exists("../templates/ok.j2")
        with pytest.raises(TemplateError):
            renderer.render("../../../etc/passwd", {})


class TestRenderOutput:
    def test_stripped_and_blank_lines_collapsed(self, renderer: TemplateRenderer, write: Write) -> None:
        write("gaps.j2", "\n\n  {{ title }}\n\n\n\n{{ body }}\n \n\t\n\nend  \n\n")
        assert renderer.render("gaps.j2", context_for(simple())) == "Title\n\nBody text.\n\nend"

    def test_block_whitespace_is_trimmed(self, renderer: TemplateRenderer, write: Write) -> None:
        write(
            "blocks.j2", "{% for tag in tags %}\n  {% if loop.first %}\nfirst\n  {% endif %}\n{% endfor %}\n"
        )
        assert renderer.render("blocks.j2", context_for(khalkhin_gol())) == "first"

    def test_none_prints_as_nothing_and_no_autoescape(self, renderer: TemplateRenderer, write: Write) -> None:
        write("plain.j2", "[{{ url }}] {{ '<b> & </b>' }}")
        assert renderer.render("plain.j2", context_for(simple())) == "[] <b> & </b>"

    def test_extra_front_matter_keys(self, renderer: TemplateRenderer, write: Write) -> None:
        write("extra.j2", "{{ era }} {{ extra.era }} {{ extra.get('missing', '-') }}")
        article = Article(source="posts/e.md", title="T", body="B", extra={"era": "1939"})
        assert renderer.render("extra.j2", context_for(article)) == "1939 1939 -"

    def test_loop_controls(self, renderer: TemplateRenderer, write: Write) -> None:
        write(
            "loop.j2",
            "{% for tag in tags %}{% if loop.index > 2 %}{% break %}{% endif %}{{ tag }} {% endfor %}",
        )
        assert renderer.render("loop.j2", context_for(khalkhin_gol())) == "#mooflife #MomentOfLife"


class TestErrors:
    def test_undefined_variable_names_file_line_and_variables(
        self, renderer: TemplateRenderer, write: Write
    ) -> None:
        path = write("undef.j2", "{{ title }}\n\n{{ subtitle }}\n")
        with pytest.raises(TemplateError) as caught:
            renderer.render("undef.j2", context_for(simple()))
        error = caught.value
        assert isinstance(error, UserError)
        assert isinstance(error.__cause__, UndefinedError)
        assert (error.template, error.line) == (str(path), 3)
        assert "'subtitle' is undefined" in error.message
        assert error.hint is not None
        assert "available variables: article, body, channel, explore, extra, limit" in error.hint
        assert "is defined" in error.hint
        assert f"template {path}, line 3" in str(error)

    def test_undefined_attribute(self, renderer: TemplateRenderer, write: Write) -> None:
        path = write("attr.j2", "{{ title }}\n{{ article.subtitle }}")
        with pytest.raises(TemplateError) as caught:
            renderer.render("attr.j2", context_for(simple()))
        assert (caught.value.template, caught.value.line) == (str(path), 2)
        assert "subtitle" in caught.value.message

    def test_optional_key_can_be_tested(self, renderer: TemplateRenderer, write: Write) -> None:
        write("opt.j2", "{% if era is defined %}{{ era }}{% endif %}{{ series | default('none') }}")
        assert renderer.render("opt.j2", context_for(simple())) == "none"

    def test_syntax_error_names_file_and_line(self, renderer: TemplateRenderer, write: Write) -> None:
        path = write("broken.j2", "{{ title }}\n{% for tag in tags %}\n{{ tag }}\n")
        for action in (lambda: renderer.check("broken.j2"), lambda: renderer.render("broken.j2", {})):
            with pytest.raises(TemplateError) as caught:
                action()
            assert isinstance(caught.value.__cause__, TemplateSyntaxError)
            assert caught.value.template == str(path)
            assert caught.value.line == 3
            assert "endfor" in caught.value.message

    def test_syntax_error_in_parent_names_the_parent(self, renderer: TemplateRenderer, write: Write) -> None:
        parent = write("parent.j2", "ok\n{{ title ) }}")
        write("child.j2", '{% extends "parent.j2" %}')
        with pytest.raises(TemplateError) as caught:
            renderer.check("child.j2")
        assert (caught.value.template, caught.value.line) == (str(parent), 2)

    def test_unknown_filter_lists_tagcast_filters(self, renderer: TemplateRenderer, write: Write) -> None:
        write("filter.j2", "\n{{ tags | hashtag }}")
        with pytest.raises(TemplateError) as caught:
            renderer.check("filter.j2")
        assert caught.value.line == 2
        assert caught.value.hint is not None
        assert "hashtags" in caught.value.hint

    def test_runtime_error_in_a_block_names_file_and_line(
        self, renderer: TemplateRenderer, write: Write
    ) -> None:
        source = '{% extends "base.j2" %}\n{% block content %}\n{{ body }}\n{{ 1 / 0 }}\n{% endblock %}'
        path = write("child.j2", source)
        with pytest.raises(TemplateError) as caught:
            renderer.render("child.j2", context_for(simple()))
        assert (caught.value.template, caught.value.line) == (str(path), 4)
        assert "ZeroDivisionError" in caught.value.message

    def test_error_in_parent_names_the_parent(self, renderer: TemplateRenderer, write: Write) -> None:
        parent = write("parent.j2", "{{ title }}\n{% block body %}{% endblock %}\n{{ missing_in_parent }}")
        write("child.j2", '{% extends "parent.j2" %}{% block body %}fine{% endblock %}')
        with pytest.raises(TemplateError) as caught:
            renderer.render("child.j2", context_for(simple()))
        assert (caught.value.template, caught.value.line) == (str(parent), 3)

    def test_error_raised_inside_a_filter_names_the_calling_line(
        self, renderer: TemplateRenderer, write: Write
    ) -> None:
        path = write("esc.j2", "{{ title }}\n{{ body | escape_markdown_v2('bold') }}")
        with pytest.raises(TemplateError) as caught:
            renderer.render("esc.j2", context_for(simple()))
        assert (caught.value.template, caught.value.line) == (str(path), 2)
        assert "ValueError" in caught.value.message

    def test_missing_template_lists_the_available_ones(
        self, renderer: TemplateRenderer, write: Write
    ) -> None:
        write("history.j2", "x")
        with pytest.raises(TemplateError) as caught:
            renderer.render("histroy.j2", {})
        error = caught.value
        assert isinstance(error.__cause__, TemplateNotFound)
        assert (error.template, error.line) == ("histroy.j2", None)
        assert error.hint is not None
        assert "history.j2" in error.hint and "mastodon.j2" in error.hint
        with pytest.raises(TemplateError, match=r"histroy\.j2"):
            renderer.check("histroy.j2")

    def test_missing_parent_names_the_extending_file(self, renderer: TemplateRenderer, write: Write) -> None:
        path = write("orphan.j2", "{# parent gone #}\n{% extends 'gone.j2' %}")
        for action in (lambda: renderer.check("orphan.j2"), lambda: renderer.render("orphan.j2", {})):
            with pytest.raises(TemplateError) as caught:
                action()
            assert (caught.value.template, caught.value.line) == (str(path), 2)
            assert "'gone.j2' not found" in caught.value.message

    def test_check_follows_includes_and_skips_optional_ones(
        self, renderer: TemplateRenderer, write: Write
    ) -> None:
        write("a.j2", '{% include "b.j2" %}{% include "opt.j2" ignore missing %}{% import "a.j2" as me %}')
        broken = write("b.j2", "{% if %}")
        with pytest.raises(TemplateError) as caught:
            renderer.check("a.j2")
        assert caught.value.template == str(broken)
        write("b.j2", "fine")
        renderer.check("a.j2")

    def test_check_does_not_render(self, renderer: TemplateRenderer, write: Write) -> None:
        write("lazy.j2", "{{ not_given }}")
        renderer.check("lazy.j2")

    def test_every_builtin_passes_check(self, builtin: TemplateRenderer) -> None:
        for name in builtin.names():
            builtin.check(name)


class TestResolveTemplateName:
    def test_explicit_wins(self, renderer: TemplateRenderer, write: Write) -> None:
        write("history.j2", "x")
        assert resolve_template_name(renderer, explicit="history.j2", network="mastodon") == "history.j2"

    def test_explicit_must_exist(self, renderer: TemplateRenderer) -> None:
        with pytest.raises(TemplateError) as caught:
            resolve_template_name(renderer, explicit="missing.j2", network="mastodon")
        assert caught.value.template == "missing.j2"
        assert caught.value.hint is not None and "default.j2" in caught.value.hint

    def test_network_template(self, builtin: TemplateRenderer) -> None:
        assert resolve_template_name(builtin, explicit=None, network="bluesky") == "bluesky.j2"

    def test_workspace_network_template(self, renderer: TemplateRenderer, write: Write) -> None:
        write("facebook.j2", "x")
        assert resolve_template_name(renderer, explicit=None, network="facebook") == "facebook.j2"

    def test_default_for_unknown_network(self, builtin: TemplateRenderer) -> None:
        assert resolve_template_name(builtin, explicit=None, network="webhook") == "default.j2"
        assert resolve_template_name(builtin, explicit="", network="webhook") == "default.j2"


def test_khalkhin_gol_renders_with_the_default_layout(builtin: TemplateRenderer) -> None:
    article = khalkhin_gol()
    text = builtin.render("default.j2", context_for(article))
    title, body, url, hashtags = text.split("\n\n")
    assert (title, body, url) == (article.title, article.body, article.url)
    assert hashtags.split() == [str(tag) for tag in article.hashtags]

"""A render has a budget: time per post and per article, output, and text built along the way.

Time is read from a clock that advances a fixed step at every reading, so a template runs out of time after a
known number of steps (loop iterations, calls, outputs), without any test waiting on the wall clock.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from render_examples import context_for, khalkhin_gol

from scheduler.config import load_workspace
from scheduler.errors import TemplateError
from scheduler.pipeline import Pipeline
from scheduler.render import TemplateRenderer
from scheduler.render.budget import (
    STEPS_PER_LOOK,
    RenderBudget,
    RenderBudgetExceeded,
    RenderCancelled,
    RenderLimits,
)
from tests.conftest import WriteWorkspace

Write = Callable[[str, str], Path]

NESTED = "{% for i in range(100000) %}{% for j in range(100000) %}{{ '' }}{% endfor %}{% endfor %}"


class StepClock:
    """A clock that moves ``step`` seconds forward every time it is read."""

    def __init__(self, step: float = 0.001) -> None:
        self.now = 0.0
        self.step = step
        self.readings = 0

    def __call__(self) -> float:
        self.now += self.step
        self.readings += 1
        return self.now


def renderer_with(template_dir: Path, clock: StepClock, **limits: float) -> TemplateRenderer:
    return TemplateRenderer(template_dir, limits=RenderLimits(**limits), clock=clock)  # type: ignore[arg-type]


def test_nested_loops_over_budget_are_a_problem_naming_the_template(template_dir: Path, write: Write) -> None:
    path = write("bluesky.j2", "{{ title }}\n" + NESTED)
    clock = StepClock(step=0.001)
    renderer = renderer_with(template_dir, clock, timeout=0.5)

    with pytest.raises(TemplateError) as caught:
        renderer.render("bluesky.j2", context_for(khalkhin_gol()))

    error = caught.value
    assert (error.template, error.line) == (str(path), 2)
    assert error.message == f"template {path}, line 2: took longer than 0.5 s to render (render.timeout)"
    assert error.hint is not None and "loop over less" in error.hint and "[render]" in error.hint
    assert clock.readings < 1000, "the render stopped right after its deadline"


def test_a_template_within_budget_renders_on_the_same_clock(template_dir: Path, write: Write) -> None:
    write("loop.j2", "{% for i in range(50) %}{{ i }}{% endfor %}")
    renderer = renderer_with(template_dir, StepClock(step=0.001), timeout=0.5)
    assert renderer.render("loop.j2", {}) == "".join(str(i) for i in range(50))


def test_recursive_macros_run_out_of_time(template_dir: Path, write: Write) -> None:
    write(
        "macro.j2",
        "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(40) }}",
    )
    renderer = renderer_with(template_dir, StepClock(), timeout=0.2)
    with pytest.raises(TemplateError, match=r"took longer than 0\.2 s to render"):
        renderer.render("macro.j2", {})


@pytest.mark.parametrize(
    "loop",
    [
        "{% for c in 'x' * 100000 %}{% for d in 'y' * 100000 %}{% endfor %}{% endfor %}",
        "{% for c in range(100000) | list %}{% for d in range(100000) | list %}{% endfor %}{% endfor %}",
        "{{ range(100000) | map('string') | join | length }}{{ range(100000) | sum }}",
    ],
)
def test_every_kind_of_loop_counts_its_steps(template_dir: Path, write: Write, loop: str) -> None:
    write("loop.j2", loop)
    renderer = renderer_with(template_dir, StepClock(), timeout=1.0)
    with pytest.raises(TemplateError, match="took longer than 1 s"):
        renderer.render("loop.j2", {})


def test_one_budget_covers_every_render_of_a_post(template_dir: Path, write: Write) -> None:
    write("ten.j2", "{% for i in range(100) %}{% endfor %}ok")
    clock = StepClock(step=0.01)
    renderer = renderer_with(template_dir, clock, timeout=0.5)
    budget = renderer.budget()
    rendered = 0
    with pytest.raises(TemplateError, match=r"took longer than 0\.5 s"):
        for _ in range(100):
            renderer.render("ten.j2", {}, budget=budget)
            rendered += 1
    assert 2 <= rendered < 20
    assert renderer.render("ten.j2", {}) == "ok", "a new post gets a new budget"


def test_the_article_deadline_is_shared_by_its_posts(template_dir: Path, write: Write) -> None:
    write("ten.j2", "{% for i in range(100) %}{% endfor %}ok")
    clock = StepClock(step=0.01)
    renderer = renderer_with(template_dir, clock, timeout=1.0, article_timeout=0.3)
    deadline = renderer.article_deadline()
    with pytest.raises(TemplateError) as caught:
        for _ in range(100):
            renderer.render("ten.j2", {}, budget=renderer.budget(article_deadline=deadline))
    assert "its posts took longer than 0.3 s to render together (render.article_timeout)" in str(caught.value)


def test_output_over_the_cap_is_a_problem(template_dir: Path, write: Write) -> None:
    path = write("big.j2", "{% for i in range(1000) %}\n{{ 'x' * 100 }}\n{% endfor %}")
    renderer = renderer_with(template_dir, StepClock(0.0), max_output=2000)
    with pytest.raises(TemplateError) as caught:
        renderer.render("big.j2", {})
    assert str(caught.value).startswith(
        f"template {path}, line 2: produced more than 2000 characters (render.max_output = 2000, "
        "plus 4 times the article's own text)"
    )
    assert caught.value.hint is not None and "print less" in caught.value.hint


def test_output_captured_by_set_counts_too(template_dir: Path, write: Write) -> None:
    write(
        "captured.j2",
        "{% set a %}{% for i in range(1000) %}0123456789{% endfor %}{% endset %}{{ a | length }}",
    )
    renderer = renderer_with(template_dir, StepClock(0.0), max_output=5000)
    with pytest.raises(TemplateError, match="produced more than 5000 characters"):
        renderer.render("captured.j2", {})


def test_the_output_allowance_grows_with_the_article(template_dir: Path, write: Write) -> None:
    write("whole.j2", "{{ body }}\n{{ body }}")
    renderer = renderer_with(template_dir, StepClock(0.0), max_output=100)
    body = "word " * 10_000
    assert renderer.render("whole.j2", {"body": body}) == (body + "\n" + body).strip()


def test_text_built_along_the_way_is_bounded(template_dir: Path, write: Write) -> None:
    write(
        "grow.j2",
        "{% set ns = namespace(text='') %}{% for i in range(3000) %}"
        "{% set ns.text = ns.text ~ '0123456789' %}{% endfor %}{{ ns.text | length }}",
    )
    renderer = renderer_with(template_dir, StepClock(0.0), max_output=1000)
    with pytest.raises(TemplateError) as caught:
        renderer.render("grow.j2", {})
    assert "built more than 64000 characters of text along the way" in str(caught.value)
    assert caught.value.hint is not None and "build less" in caught.value.hint


KEPT_ALIVE = {
    "slices": "{% set s = 'x' * 3000 %}{% for i in range(100000) %}{% set t = s[::-1] %}{% endfor %}",
    "a chain of namespaces": (
        "{% set s = 'x' * 3000 %}{% set ns = namespace(last=none) %}{% for i in range(100000) %}"
        "{% set ns.last = namespace(previous=ns.last, text=s[1:]) %}{% endfor %}"
    ),
    "a chain of cyclers": (
        "{% set s = 'x' * 3000 %}{% set ns = namespace(last=none) %}{% for i in range(100000) %}"
        "{% set ns.last = cycler(ns.last, s[1:]) %}{% endfor %}"
    ),
    "stacked lazy filters": (
        "{% set ns = namespace(items=[1]) %}{% for i in range(100000) %}"
        "{% set ns.items = ns.items | map('string') %}{% endfor %}"
    ),
    "str + Markup": "{% set s = 'x' * 3000 %}{{ (s + (s | safe)) | length }}",
}


@pytest.mark.parametrize("name", list(KEPT_ALIVE))
def test_values_a_template_builds_are_bounded_by_size_whatever_the_time(
    template_dir: Path, write: Write, name: str
) -> None:
    """With a clock that never moves, only the size caps can stop these; each would otherwise hold more
    memory the longer it runs."""
    write("keep.j2", KEPT_ALIVE[name])
    renderer = renderer_with(template_dir, StepClock(0.0), timeout=1e9, article_timeout=1e9, max_output=1000)
    with pytest.raises(TemplateError) as caught:
        renderer.render("keep.j2", {})
    message = str(caught.value)
    assert "built more than 64000 characters of text along the way" in message or "would build" in message


def test_a_stopped_render_is_cancelled_not_a_problem(template_dir: Path, write: Write) -> None:
    write("slow.j2", NESTED)
    stop = threading.Event()
    stop.set()
    renderer = TemplateRenderer(template_dir, stop=stop)
    with pytest.raises(RenderCancelled):
        renderer.render("slow.j2", {})


def test_a_budget_reads_its_own_clock() -> None:
    clock = StepClock(step=1.0)
    budget = RenderBudget(RenderLimits(timeout=2.5), clock=clock)  # starts at 1.0: due at 3.5
    budget.tick()  # reads 2.0
    for _ in range(STEPS_PER_LOOK):
        budget.tick()  # reads 3.0 at the last
    assert clock.readings == 3
    with pytest.raises(RenderBudgetExceeded, match=r"took longer than 2\.5 s") as caught:
        for _ in range(STEPS_PER_LOOK):
            budget.tick()  # reads 4.0 at the last
    assert caught.value.kind == "time"


CONFIG = """\
[defaults]
channels = ["good"]

[render]
timeout = "1s"
max_output = 4000

[channels.slow]
network = "file"
template = "slow.j2"

[channels.good]
network = "file"

[[rules]]
name = "all"
tags = ["History"]
channels = ["slow", "good"]
"""


def test_a_post_over_budget_is_a_problem_and_the_other_posts_render(make_workspace: WriteWorkspace) -> None:
    root = make_workspace(CONFIG, {"a.md": "---\ntitle: Hello\ntags: [History]\n---\nThe body.\n"})
    (root / "config" / "templates").mkdir()
    (root / "config" / "templates" / "slow.j2").write_text(NESTED, encoding="utf-8")
    workspace = load_workspace(root)
    assert workspace.settings.render.max_output == 4000

    result = Pipeline(workspace, render_clock=StepClock(0.001)).run()

    posts = {post.channel: post for post in result.posts}
    assert posts["slow"].parts == ()
    assert len(posts["slow"].problems) == 1
    problem = posts["slow"].problems[0]
    assert "slow.j2, line 1: took longer than 1 s to render (render.timeout)" in problem
    assert posts["good"].problems == ()
    assert posts["good"].parts and "The body." in posts["good"].parts[0]


def test_the_documented_render_table_is_a_valid_config(make_workspace: WriteWorkspace) -> None:
    docs = Path(__file__).resolve().parents[2] / "docs"
    documented = (docs / "configuration.md").read_text(encoding="utf-8")
    block = re.search(r"```toml\n(\[render\]\n.*?)```", documented, re.DOTALL)
    assert block is not None, "docs/configuration.md shows the [render] table"
    root = make_workspace(block.group(1))
    render = load_workspace(root).settings.render
    assert (render.timeout.total_seconds(), render.article_timeout.total_seconds(), render.max_output) == (
        2.0,
        10.0,
        65536,
    )
    limits = Pipeline(load_workspace(root)).renderer.limits
    assert limits == RenderLimits(timeout=2.0, article_timeout=10.0, max_output=65536)

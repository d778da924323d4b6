"""Hostile templates: every operation that would fill the memory is refused before it runs, a template that
spins is a problem of its post, and a service rendering one still delivers and stops on SIGTERM."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fakes.webhook import WebhookFake
from service.conftest import DUE, Site, article, config_text
from service.processes import Serve, tagcast

from scheduler.errors import TemplateError
from scheduler.models import Article
from scheduler.render import TemplateRenderer
from scheduler.render.budget import RenderBudgetExceeded, RenderLimits, TooLarge

REPO = Path(__file__).resolve().parents[2]


ARTICLE = Article(source="posts/big.md", title="Big", body="word " * 2000)
"""An object in the context that prints as a long text (its repr holds its body)."""

MEMORY_FILLERS = {
    "center method": "{{ 'a'.center(1000000000) }}",
    "center filter": "{{ 'a' | center(1000000000) }}",
    "percent width": "{{ '%999999999s' % 'a' }}",
    "percent precision": "{{ '%.999999999f' % 1.0 }}",
    "percent star": "{{ '%*s' % (999999999, 'a') }}",
    "format filter": "{{ '%999999999s' | format('a') }}",
    "str.format width": "{{ '{:999999999}'.format('a') }}",
    "str.format nested width": "{{ '{:{w}}'.format('a', w=999999999) }}",
    "str.format_map": "{{ '{a:>999999999}'.format_map({'a': 1}) }}",
    "ljust": "{{ 'a'.ljust(1000000000) }}",
    "rjust": "{{ 'a'.rjust(1000000000) }}",
    "zfill": "{{ '1'.zfill(1000000000) }}",
    "expandtabs": "{{ ('\\t' * 100000).expandtabs(100000) }}",
    "replace empty": "{{ ('x' * 100000).replace('', 'y' * 100000) }}",
    "replace filter": "{{ ('x' * 100000) | replace('x', 'y' * 100000) }}",
    "repeat": "{{ 'x' * 10 ** 9 }}",
    "repeat a list": "{{ [[1] * 100000] * 100000 }}",
    "indent": "{{ 'a\\nb' | indent(1000000000) }}",
    "wordwrap": "{{ 'a b' | wordwrap(1000000000) }}",
    "lipsum": "{{ lipsum(10000000) }}",
    "join method": "{{ ('x' * 100000).join(['a'] * 100000) }}",
    "join filter": "{{ (['a'] * 100000) | join('x' * 100000) }}",
    "doubling with ~": "{% set a = 'x' * 100000 %}{% set b = a ~ a %}{% set c = b ~ b %}{{ c ~ c }}",
    "doubling with +": "{% set a = 'x' * 100000 %}{% set b = a + a %}{% set c = b + b %}{{ c + c }}",
    "a list of big lists": "{% set a = range(100000) | list %}{{ [a, a, a, a, a, a, a, a] | length }}",
    "batch fill": "{{ [1] | batch(1000000000, 'x') | list | length }}",
    "slice": "{{ [1] | slice(1000000000) | list | length }}",
    "tojson indent": "{{ range(1000) | list | tojson(indent=100000) }}",
    "hashtags separator": "{{ range(100000) | map('string') | hashtags(sep='x' * 100000) }}",
    "power": "{{ 10 ** 100000 }}",
    "a list of articles": "{{ [article] * 100000 }}",
}

OVER_BUDGET = {
    "a loop printing large strings": "{% for i in range(100000) %}{{ 'x' * 50000 }}{% endfor %}",
    "captured output": (
        "{% set a %}{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}{% endset %}{{ a }}"
    ),
    "an article printed in a loop": "{% for i in range(100000) %}{{ article }}{% endfor %}",
    "text built in a loop": (
        "{% set ns = namespace(s='') %}{% for i in range(100000) %}{% set ns.s = ns.s ~ 'xxxxxxxxxx' %}"
        "{% endfor %}{{ ns.s | length }}"
    ),
}


@pytest.fixture
def renderer(tmp_path: Path) -> TemplateRenderer:
    folder = tmp_path / "templates"
    folder.mkdir()
    for number, source in enumerate([*MEMORY_FILLERS.values(), *OVER_BUDGET.values()]):
        (folder / f"t{number}.j2").write_text(source, encoding="utf-8")
    return TemplateRenderer(folder)


@pytest.mark.parametrize("name", list(MEMORY_FILLERS))
def test_memory_filling_operations_are_refused_before_they_run(renderer: TemplateRenderer, name: str) -> None:
    number = list(MEMORY_FILLERS).index(name)
    with pytest.raises(TemplateError) as caught:
        renderer.render(f"t{number}.j2", {"title": "T", "article": ARTICLE})
    message = str(caught.value)
    assert f"t{number}.j2, line 1: refused by the sandbox: " in message
    assert isinstance(caught.value.__cause__, TooLarge)
    assert any(words in message for words in ("would build", "is refused in templates", "is too large"))
    assert caught.value.hint is not None and "smaller width, count or repetition" in caught.value.hint


@pytest.mark.parametrize("name", list(OVER_BUDGET))
def test_printing_or_building_too_much_is_over_budget(renderer: TemplateRenderer, name: str) -> None:
    number = len(MEMORY_FILLERS) + list(OVER_BUDGET).index(name)
    with pytest.raises(TemplateError) as caught:
        renderer.render(f"t{number}.j2", {"article": ARTICLE})
    assert isinstance(caught.value.__cause__, RenderBudgetExceeded)
    assert caught.value.__cause__.kind in ("output", "text")
    assert "produced more than 65536 characters" in str(caught.value) or "built more than" in str(
        caught.value
    )


CHILD = """
import json, resource, sys
from pathlib import Path
from scheduler.errors import TemplateError
from scheduler.models import Article
from scheduler.render import TemplateRenderer
from scheduler.render.budget import RenderLimits

article = Article(source="posts/big.md", title="Big", body="word " * 2000)
renderer = TemplateRenderer(Path(sys.argv[1]), limits=RenderLimits(timeout=60.0, article_timeout=60.0))
outcomes = {}
for path in sorted(Path(sys.argv[1]).glob("*.j2")):
    try:
        text = renderer.render(path.name, {"title": "T", "article": article})
        outcomes[path.name] = f"rendered {len(text)} characters"
    except TemplateError as exc:
        outcomes[path.name] = "refused: " + exc.message
status = Path("/proc/self/status")
if status.exists():  # this process's own peak: ru_maxrss also holds the parent's, when spawned by vfork
    peak = next(line for line in status.read_text().splitlines() if line.startswith("VmHWM:"))
    rss_kib = int(peak.split()[1])
else:
    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"outcomes": outcomes, "rss_kib": rss_kib}))
"""


def test_all_of_them_together_stay_within_a_small_memory(tmp_path: Path, renderer: TemplateRenderer) -> None:
    """In a process of its own, so that its peak memory is its own: read from ``VmHWM`` where there is a
    /proc, since on Linux a child's ``ru_maxrss`` starts at the peak of the process that spawned it (exec
    after vfork keeps the parent's high-water mark), which a pytest worker far into the suite may hold at
    hundreds of MiB."""
    folder = tmp_path / "templates"
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(folder)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert len(report["outcomes"]) == len(MEMORY_FILLERS) + len(OVER_BUDGET)
    not_refused = {name: outcome for name, outcome in report["outcomes"].items() if "refused" not in outcome}
    assert not_refused == {}
    assert report["rss_kib"] < 200 * 1024, f"peak memory {report['rss_kib'] // 1024} MiB"


GROWING_WHILE_TIME_LASTS = {
    "a chain of namespaces holding slices": (
        "{% set s = 'x' * 100000 ~ 'x' * 100000 %}{% set ns = namespace(last=none) %}"
        "{% for i in range(100000) %}{% set ns.last = namespace(previous=ns.last, text=s[::-1]) %}"
        "{% endfor %}"
    ),
    "a chain of cyclers holding slices": (
        "{% set s = 'x' * 100000 ~ 'x' * 100000 %}{% set ns = namespace(last=none) %}"
        "{% for i in range(100000) %}{% set ns.last = cycler(ns.last, s[1:]) %}{% endfor %}"
    ),
    "stacked lazy filters": (
        "{% set ns = namespace(items=[1]) %}{% for i in range(100000) %}"
        "{% set ns.items = ns.items | map('string') %}{% endfor %}"
    ),
}
"""Templates that keep what each step builds alive: before their size was counted, only the time budget
stopped them, at 0.6 GiB after 2 s and 2 GiB after 10 s."""


@pytest.mark.parametrize("name", list(GROWING_WHILE_TIME_LASTS))
def test_memory_is_bounded_by_size_not_by_the_time_budget(tmp_path: Path, name: str) -> None:
    """The clock never moves, so the time budget never ends these: the size caps must, in little memory."""
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "grow.j2").write_text(GROWING_WHILE_TIME_LASTS[name], encoding="utf-8")
    limits = RenderLimits(timeout=1e9, article_timeout=1e9)
    renderer = TemplateRenderer(folder, limits=limits, clock=lambda: 0.0)
    tracemalloc.start()
    try:
        with pytest.raises(TemplateError) as caught:
            renderer.render("grow.j2", {"title": "T"})
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert isinstance(caught.value.__cause__, TooLarge | RenderBudgetExceeded)
    assert (
        not isinstance(caught.value.__cause__, RenderBudgetExceeded) or caught.value.__cause__.kind == "text"
    )
    assert peak < 64 * 1024 * 1024, f"peak {peak // 1024 // 1024} MiB"


NESTED = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"


def test_nested_loops_over_budget_are_a_problem(tmp_path: Path) -> None:
    ticks = iter(range(10**9))
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "bluesky.j2").write_text("{{ title }}\n" + NESTED, encoding="utf-8")
    renderer = TemplateRenderer(
        folder, limits=RenderLimits(timeout=2.0), clock=lambda: next(ticks) / 1000
    )  # a millisecond a step
    with pytest.raises(TemplateError) as caught:
        renderer.render("bluesky.j2", {"title": "T"})
    assert str(caught.value).startswith(
        f"template {folder / 'bluesky.j2'}, line 2: took longer than 2 s to render (render.timeout)\n  hint: "
    )
    assert next(ticks) < 2100, "it stopped at its deadline"


# --- the commands and the service --------------------------------------------------------------------------

RENDER_FOREVER = '[render]\ntimeout = "1h"\narticle_timeout = "1h"\n'


def hostile_site(site: Site, webhook: WebhookFake, render: str, **service: object) -> None:
    config = config_text({"hook": {"network": "webhook", "url": webhook.url}}, service=service)
    site.write_config(config + render)
    templates = site.root / "config" / "templates"
    templates.mkdir(parents=True, exist_ok=True)
    (templates / "hostile.j2").write_text(NESTED + "{{ title }}", encoding="utf-8")


def hostile_article() -> str:
    return article("Hostile", publish_at=DUE).replace("---\n\n", "template: hostile.j2\n---\n\n")


@pytest.mark.parametrize(("command", "code"), [(["preview"], 0), (["check"], 1), (["queue", "add"], 1)])
def test_preview_check_and_queue_add_end_with_the_problem(
    site: Site, webhook: WebhookFake, command: list[str], code: int
) -> None:
    hostile_site(site, webhook, '[render]\ntimeout = "0.3s"\n')
    site.write_post("hostile.md", hostile_article())
    site.write_post("good.md", article("Good", publish_at="2031-01-01T09:00:00Z"))

    done = tagcast(*command, cwd=site.root, env={"COLUMNS": "1000"}, timeout=300)

    assert done.returncode == code, done.stdout + done.stderr
    output = " ".join((done.stdout + done.stderr).replace("│", " ").split())
    assert "hostile.j2, line 1: took longer than 0.3 s to render (render.timeout)" in output
    if command == ["queue", "add"]:
        assert [d.source for d in site.store.list()] == ["posts/good.md"]


def test_a_service_rendering_a_hostile_template_delivers_and_stops_on_sigterm(
    site: Site, webhook: WebhookFake
) -> None:
    hostile_site(site, webhook, RENDER_FOREVER, watch_interval="0.2s", shutdown_timeout="5s")
    soon = (datetime.now(UTC) + timedelta(seconds=4)).strftime("%Y-%m-%dT%H:%M:%SZ")
    site.write_post("good.md", article("Good", publish_at=soon))
    serve = Serve(site.root, log=site.root / "serve.log")
    try:
        serve.wait_for_log("ready: worker")
        site.write_post("hostile.md", hostile_article())
        serve.wait_for_log("reading 1 article file(s) of posts/", count=1)

        # the render of hostile.md never ends (a budget of an hour), and the good post goes out meanwhile
        serve.wait_for(lambda: len(webhook.deliveries) == 1, "the good post to be sent", timeout=120)
        assert "re-ingested edits" not in serve.output, "the hostile article is still being rendered"
        assert serve.process.poll() is None

        serve.signal(signal.SIGTERM)
        code = serve.process.wait(timeout=120)
    finally:
        serve.kill()
    assert code == 0, serve.output
    assert "stopped" in serve.output
    assert [d.body["article"]["title"] for d in webhook.deliveries] == ["Good"]


def test_serve_once_with_a_hostile_template_sends_the_good_post(site: Site, webhook: WebhookFake) -> None:
    hostile_site(site, webhook, '[render]\ntimeout = "0.3s"\n')
    site.write_post("hostile.md", hostile_article())
    site.write_post("good.md", article("Good", publish_at=DUE))

    done = tagcast("serve", "--once", cwd=site.root, timeout=300)

    assert done.returncode == 0, done.stderr
    assert "took longer than 0.3 s to render" in done.stderr
    assert [d.body["article"]["title"] for d in webhook.deliveries] == ["Good"]


def test_the_budget_defaults_show_in_the_config(site: Site, webhook: WebhookFake) -> None:
    hostile_site(site, webhook, "")
    shown = [tagcast("config", "get", key, cwd=site.root) for key in ("render.timeout", "render.max_output")]
    assert [(done.returncode, done.stdout.strip()) for done in shown] == [(0, "2s"), (0, "65536")]

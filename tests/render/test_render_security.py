from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from jinja2 import UndefinedError
from jinja2.exceptions import SecurityError
from render_examples import context_for, khalkhin_gol

from scheduler.errors import TemplateError
from scheduler.models import Article
from scheduler.render import TemplateRenderer
from scheduler.render.budget import TooLarge

Write = Callable[[str, str], Path]

SSTI_PAYLOADS = [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__.os }}",
    "{{ joiner.__init__.__globals__.os.popen('id').read() }}",
    "{{ self._TemplateReference__context }}",
    "{{ lipsum.__globals__['os'].popen('id').read() }}",
    "{{ config.__class__ }}",
    "{{ article.__class__.__init__.__globals__ }}",
    "{% for c in [].__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
    "{{ title.__class__.__base__ }}",
    "{{ '{0.__class__}'.format(title) }}",
    "{{ tags[0].__slots__ }}",
    "{{ namespace()._Namespace__attrs }}",
    "{{ article.__repr__.__globals__ }}",
    "{{ (tags | first).__init__ }}",
    "{{ range.__globals__.SecurityError }}",
    "{{ extra.update({'title': 'pwned'}) }}",
    "{{ tags.append('pwned') }}",
    "{{ range(10**9) | list | length }}",
    "{% for i in range(10 ** 9) %}{% endfor %}",
    "{{ range(10**30) | length }}",
    "{{ 10 ** 100000 }}",
    "{{ 'x' * 10 ** 9 }}",
    "{{ [1, 2] * 10 ** 8 }}",
]


class Holder:
    """A value a front-matter loader could hand over, with private state."""

    def __init__(self) -> None:
        self.public = "visible"
        self._token = "secret-token"
        self.__hidden = "hidden"

    def _private_method(self) -> str:
        return "called"


@pytest.mark.parametrize("payload", SSTI_PAYLOADS)
def test_payloads_are_refused_by_the_sandbox(renderer: TemplateRenderer, write: Write, payload: str) -> None:
    path = write("evil.j2", "{{ title }}\n" + payload)
    with pytest.raises(TemplateError) as caught:
        renderer.render("evil.j2", context_for(khalkhin_gol()))
    assert isinstance(caught.value.__cause__, SecurityError)
    assert (caught.value.template, caught.value.line) == (str(path), 2)
    assert ", line 2: refused by the sandbox: " in caught.value.message
    assert caught.value.hint is not None
    if isinstance(caught.value.__cause__, TooLarge):  # a huge value, not a forbidden name
        assert "10" in payload and "smaller width, count or repetition" in caught.value.hint
    else:
        assert "'_'" in caught.value.hint


@pytest.mark.parametrize("payload", ["{{ request }}", "{{ request.application.__globals__ }}", "{{ g }}"])
def test_flask_objects_do_not_exist(renderer: TemplateRenderer, write: Write, payload: str) -> None:
    write("flask.j2", payload)
    with pytest.raises(TemplateError) as caught:
        renderer.render("flask.j2", context_for(khalkhin_gol()))
    assert isinstance(caught.value.__cause__, UndefinedError)


def test_payloads_never_execute(renderer: TemplateRenderer, write: Write, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    commands = [
        f"{{{{ lipsum.__globals__['os'].popen('touch {marker}').read() }}}}",
        f"{{{{ cycler.__init__.__globals__.os.system('touch {marker}') }}}}",
        "{% for c in ''.__class__.__mro__[1].__subclasses__() %}{% if c.__name__ == 'Popen' %}"
        f"{{{{ c(['touch', '{marker}']) }}}}{{% endif %}}{{% endfor %}}",
        f"{{{{ self.__init__.__globals__.__builtins__.open('{marker}', 'w') }}}}",
    ]
    for number, payload in enumerate(commands):
        write(f"run{number}.j2", payload)
        with pytest.raises(TemplateError):
            renderer.render(f"run{number}.j2", context_for(khalkhin_gol()))
    assert not marker.exists()


@pytest.mark.parametrize(
    "expression", ["holder._token", "holder._Holder__hidden", "holder._private_method()", "holder['_token']"]
)
def test_private_names_are_refused(renderer: TemplateRenderer, write: Write, expression: str) -> None:
    article = Article(source="posts/p.md", title="T", body="B", extra={"holder": Holder()})
    write("private.j2", f"{{{{ holder.public }}}} {{{{ {expression} }}}}")
    with pytest.raises(TemplateError) as caught:
        renderer.render("private.j2", context_for(article))
    assert isinstance(caught.value.__cause__, SecurityError)
    assert "secret-token" not in str(caught.value)


def test_values_cannot_be_changed(renderer: TemplateRenderer, write: Write) -> None:
    article = Article(source="posts/m.md", title="T", body="B", extra={"series": ["a"], "meta": {"k": "v"}})
    context = context_for(article)
    statements = [
        "{{ series.append('x') }}",
        "{{ meta.pop('k') }}",
        "{{ extra.clear() }}",
        "{{ meta.update(n=1) }}",
    ]
    for number, statement in enumerate(statements):
        write(f"mutate{number}.j2", statement)
        with pytest.raises(TemplateError):
            renderer.render(f"mutate{number}.j2", context)
    assert article.extra == {"series": ["a"], "meta": {"k": "v"}}


def test_huge_constants_are_not_computed_at_compile_time(renderer: TemplateRenderer, write: Write) -> None:
    write("huge.j2", "{{ 10 ** 10 ** 10 ** 10 }}{{ 'x' * 10 ** 12 }}")
    renderer.check("huge.j2")
    with pytest.raises(TemplateError) as caught:
        renderer.render("huge.j2", {})
    assert isinstance(caught.value.__cause__, SecurityError)


def test_reasonable_arithmetic_still_works(renderer: TemplateRenderer, write: Write) -> None:
    write(
        "math.j2", "{{ 2 ** 10 }} {{ '-' * 3 }} {{ [0] * 2 }} {{ 3 * 4 }} {{ 2.5 ** 2 }} {{ range(3)|list }}"
    )
    assert renderer.render("math.j2", {}) == "1024 --- [0, 0] 12 6.25 [0, 1, 2]"

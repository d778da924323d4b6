"""Each shipped adapter declares exactly the channel keys its module reads (``Adapter.settings_keys``).

``tagcast config validate`` warns about a channel key its network's adapter does not declare, so a key read
but not declared would be a false warning ("does not use this key") on a key that works, and a key declared
but not read would hide a real one. These tests read each adapter module's source (its AST, not a regex)
and collect what it reads from a ``ChannelSettings`` (``settings`` or ``self.settings``):

* an attribute, ``self.settings.chat_id``;
* ``settings.secret_value("token")`` and ``getattr(settings, "x")``, with a constant name or a loop variable
  over a tuple of constants (or a module-level tuple such as ``OAUTH1_KEYS``);
* the keys a helper reads when ``settings`` is passed to it, from :data:`HELPERS`; a call passing it to a
  helper not listed there fails the test, which names the call, so that a new helper is looked at.

A read the scan cannot follow (a computed key) also fails the test instead of being skipped. What the scan
does not see: a key read through an alias (``s = self.settings; s.x``) or through an object that is not
named ``settings``; the adapters do not do that, and a reviewer of a new one should keep it so.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from dataclasses import dataclass, field
from types import ModuleType

import pytest

from scheduler.adapters.base import Adapter
from scheduler.adapters.channel_keys import EVERY_CHANNEL_KEYS
from scheduler.adapters.registry import installed, load_adapter
from scheduler.config.models import SECRET_KEYS, ChannelSettings
from scheduler.media.channel_limits import LIMIT_KEYS

SHIPPED = sorted(name for name, entry in installed().items() if entry.value.startswith("scheduler.adapters."))

HELPERS: dict[str, frozenset[str]] = {
    "lowered_limits": frozenset(LIMIT_KEYS) | {"image_types"},
    # the <key>_file of a secret the adapter reads with secret_value: declared together with that secret
    "TokenFile.of": frozenset(),
    # the class's own methods (scanned in its module) and the base class's (common keys only, tested below)
    "self.length_rules": frozenset(),
    "cls.length_rules": frozenset(),
    "super().length_rules": frozenset(),
    "self.channel_media_limits": frozenset(),
    "super().__init__": frozenset(),
    # masks whatever secrets a channel holds in messages; it uses none of them for the network
    "Redactor.for_channel": frozenset(),
}
"""Functions an adapter passes its ``ChannelSettings`` to, and the keys each reads from it."""


@dataclass
class Reads:
    keys: set[str] = field(default_factory=set)
    unfollowed: list[str] = field(default_factory=list)


def _is_settings(node: ast.AST) -> bool:
    return (isinstance(node, ast.Name) and node.id == "settings") or (
        isinstance(node, ast.Attribute) and node.attr == "settings"
    )


def _loop_values(tree: ast.AST, names: dict[str, object]) -> dict[str, set[str]]:
    """Loop variable -> the string constants it runs over, for ``for k in ("a", "b")`` and comprehensions
    over such a tuple or a module-level tuple of strings."""
    values: dict[str, set[str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.For | ast.comprehension) and isinstance(node.target, ast.Name):
            source: object = None
            if isinstance(node.iter, ast.Tuple | ast.List):
                source = [e.value for e in node.iter.elts if isinstance(e, ast.Constant)]
            elif isinstance(node.iter, ast.Name):
                source = names.get(node.iter.id)
            if isinstance(source, tuple | list) and all(isinstance(v, str) for v in source):
                values.setdefault(node.target.id, set()).update(source)
    return values


def _key_names(arg: ast.AST, loops: dict[str, set[str]]) -> set[str] | None:
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return {arg.value}
    if isinstance(arg, ast.Name) and arg.id in loops:
        return loops[arg.id]
    return None


def module_reads(module: ModuleType) -> Reads:
    """Every channel key the source of ``module`` reads from a ``ChannelSettings``."""
    return settings_reads(inspect.getsource(module), vars(module))


def settings_reads(source: str, names: dict[str, object]) -> Reads:
    """Every channel key ``source`` reads from a ``ChannelSettings``; ``names``: its module's globals."""
    tree = ast.parse(source)
    loops = _loop_values(tree, names)
    reads = Reads()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _is_settings(node.value) and node.attr != "secret_value":
            reads.keys.add(node.attr)
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        by_name = (
            isinstance(func, ast.Attribute) and func.attr == "secret_value" and _is_settings(func.value)
        ) or (
            isinstance(func, ast.Name) and func.id == "getattr" and node.args and _is_settings(node.args[0])
        )
        if by_name:
            arg = node.args[1] if isinstance(func, ast.Name) else node.args[0]
            names = _key_names(arg, loops)
            if names is None:
                reads.unfollowed.append(f"line {node.lineno}: {ast.unparse(node)}")
            else:
                reads.keys |= names
            continue
        passed = [a for a in [*node.args, *(k.value for k in node.keywords)] if _is_settings(a)]
        if passed:
            callee = ast.unparse(func)
            if callee in HELPERS:
                reads.keys |= HELPERS[callee]
            else:
                reads.unfollowed.append(f"line {node.lineno}: settings passed to {callee}")
    return reads


@pytest.mark.parametrize("network", SHIPPED)
def test_an_adapter_declares_exactly_the_keys_its_module_reads(network: str) -> None:
    cls = load_adapter(network)
    reads = module_reads(importlib.import_module(cls.__module__))
    assert reads.unfollowed == [], (
        "a read the scan cannot follow: make it plain or list the helper in HELPERS"
    )
    assert cls.settings_keys is not None, f"{network} declares no settings_keys"
    unknown = reads.keys - set(ChannelSettings.model_fields)
    assert not unknown, f"not channel keys (is something else named settings?): {unknown}"
    own = reads.keys - EVERY_CHANNEL_KEYS - set(cls.secrets)
    assert set(cls.settings_keys) == own, (
        f"{network}: read but not declared {sorted(own - cls.settings_keys)}, "
        f"declared but not read {sorted(cls.settings_keys - own)}"
    )


@pytest.mark.parametrize("network", SHIPPED)
def test_an_adapter_reads_each_of_its_secrets(network: str) -> None:
    """Its ``secrets`` count as declared, so one it never reads would silence a warning."""
    cls = load_adapter(network)
    reads = module_reads(importlib.import_module(cls.__module__))
    assert set(cls.secrets) <= reads.keys
    assert set(cls.secrets) <= set(SECRET_KEYS)


def test_the_base_adapter_reads_only_keys_every_channel_has() -> None:
    reads = module_reads(importlib.import_module(Adapter.__module__))
    assert reads.unfollowed == []
    assert reads.keys == {"limit", "request_deadline", "max_response_bytes"}
    assert reads.keys <= EVERY_CHANNEL_KEYS


def test_the_scan_finds_every_kind_of_read() -> None:
    """The scanner itself, on a source written to hold each form it follows and two it cannot."""
    source = """
def f(self, settings):
    self.settings.chat_id
    settings.handle
    self.settings.secret_value("token")
    [settings.secret_value(k) for k in PAIR]
    for key in ("visibility", "language"):
        getattr(self.settings, key)
    lowered_limits(None, settings, network="x")
    getattr(settings, compute())
    helper(self.settings)
"""
    reads = settings_reads(source, {"PAIR": ("api_key", "api_secret")})
    assert reads.keys == {
        "chat_id",
        "handle",
        "token",
        "api_key",
        "api_secret",
        "visibility",
        "language",
        *LIMIT_KEYS,
        "image_types",
    }
    assert reads.unfollowed == ["line 10: getattr(settings, compute())", "line 11: settings passed to helper"]

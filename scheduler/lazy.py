"""Libraries that load on first use, not when a module that names them is imported.

httpx (which imports its own command line's click, rich and pygments) and Pillow's image module add about
7 MiB to a preview that uses neither, and every adapter module names httpx. A module writes::

    from scheduler.lazy import httpx

and uses ``httpx.Response`` in annotations and ``httpx.AsyncClient(...)`` in its functions exactly as after
``import httpx``; the library is imported the first time one of its attributes is read. This is what Python
3.15 spells ``lazy import httpx`` (PEP 810). Type checkers see the real modules.

A name read at a module's top level (a base class, a constant built from the library) loads the library at
once: keep such names inside functions, or quote them in a type alias.

A package whose names bring a heavy library imports them on first use with :func:`lazy_names`.
"""

from __future__ import annotations

import importlib
import types
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

__all__ = ["Image", "ImageOps", "httpx", "lazy_names"]


class LazyModule(types.ModuleType):
    """A stand-in for the module ``name`` that imports it when an attribute is first read; every read is a
    read of the module itself (a value it changes later is seen as it is)."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.__dict__["_lazy_module"] = None

    def _load(self) -> types.ModuleType:
        module: types.ModuleType | None = self.__dict__["_lazy_module"]
        if module is None:
            module = self.__dict__["_lazy_module"] = importlib.import_module(self.__name__)
        return module

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self._load(), attribute)

    def __dir__(self) -> list[str]:
        return dir(self._load())

    def __repr__(self) -> str:
        state = "loaded" if self.__dict__["_lazy_module"] is not None else "not loaded yet"
        return f"<lazy module {self.__name__!r} ({state})>"


def lazy_names(package: str, sources: Mapping[str, str], namespace: dict[str, Any]) -> Callable[[str], Any]:
    """A package's module ``__getattr__`` (PEP 562): each name of ``sources`` is imported from the module
    named there when first read, and kept in ``namespace`` (the package's ``globals()``) for the next read::

        __getattr__ = lazy_names(__name__, {"Store": "scheduler.store.store"}, globals())
    """

    def __getattr__(name: str) -> Any:
        module = sources.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    return __getattr__


if TYPE_CHECKING:
    import httpx
    from PIL import Image, ImageOps
else:
    httpx = LazyModule("httpx")
    Image = LazyModule("PIL.Image")
    ImageOps = LazyModule("PIL.ImageOps")

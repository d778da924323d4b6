"""``tagcast init``: write a workspace that works at once (``tagcast preview`` runs in it right away).

What it writes::

    config/tagcast.toml          every section explained; first line ``#:schema ./tagcast.schema.json``
    config/tagcast.schema.json   the JSON Schema that TOML editors read for completion and checking
    config/templates/*.j2        tagcast's built-in templates (one per network) and an example of your own
    posts/welcome-to-tagcast.md  one example article
    .env.example                 the secret environment variables of the example channels
    .gitignore                   ``.env`` and ``var/`` (an existing one gets the missing lines appended)
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from scheduler.config.atomic import atomic_write_bytes
from scheduler.config.credentials import secret_env_var, secret_keys
from scheduler.config.schema import SCHEMA_FILE_NAME, schema_text
from scheduler.errors import UserError
from scheduler.render import BUILTIN_TEMPLATES

INIT_FILES = Path(__file__).parent / "defaults" / "init"
GITIGNORE_LINES = (".env", "var/")


@dataclass
class InitResult:
    """What :func:`init_workspace` did, as paths relative to ``root``."""

    root: Path
    created: list[str] = field(default_factory=list)
    overwritten: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)


def workspace_files() -> dict[str, bytes]:
    """Every file ``tagcast init`` writes (except ``.gitignore``), by path relative to the workspace."""
    files: dict[str, bytes] = {}
    for template in sorted(BUILTIN_TEMPLATES.glob("*.j2")):
        files[f"config/templates/{template.name}"] = template.read_bytes()
    for path in sorted(INIT_FILES.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            files[path.relative_to(INIT_FILES).as_posix()] = path.read_bytes()
    files[f"config/{SCHEMA_FILE_NAME}"] = schema_text().encode("utf-8")
    files[".env.example"] = env_example(files["config/tagcast.toml"].decode("utf-8")).encode("utf-8")
    return dict(sorted(files.items()))


def env_example(config_text: str) -> str:
    """``.env.example`` for a config: one line per secret that its channels need, values left empty."""
    lines = [
        "# Secrets for the channels in config/tagcast.toml. Copy this file to .env (which git ignores)",
        "# and fill in the values, or export the variables in the environment. Never put secrets in",
        "# tagcast.toml. Any other key can be set here too: TAGCAST_ + the key path joined by '__',",
        "# e.g. TAGCAST_STORE__URL.",
    ]
    channels = tomllib.loads(config_text).get("channels", {})
    for name, channel in channels.items():
        keys = secret_keys(str(channel.get("network", "")))
        if keys:
            lines.append("")
            lines.append(f"# [channels.{name}] ({channel.get('network')})")
            lines.extend(f"{secret_env_var(name, key)}=" for key in keys)
    return "\n".join(lines) + "\n"


def init_workspace(root: Path, *, force: bool = False) -> InitResult:
    """Write a new workspace into ``root`` (created if missing).

    Refuses, writing nothing, when any of the files exists already, unless ``force``; ``.gitignore`` is never
    overwritten: the lines it lacks are appended.
    """
    files = workspace_files()
    existing = [name for name in files if (root / name).exists()]
    if existing and not force:
        raise UserError(
            f"{root} already has {len(existing)} of the files tagcast init writes: {', '.join(existing)}",
            hint="nothing was written; run `tagcast init --force` to overwrite them, or init another folder",
        )
    result = InitResult(root=root)
    try:
        for name, data in files.items():
            target = root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            (result.overwritten if target.exists() else result.created).append(name)
            atomic_write_bytes(target, data)
        _update_gitignore(root, result)
    except OSError as exc:
        raise UserError(
            f"cannot write into {root}: {exc.strerror or exc}", hint="choose a folder you can write to"
        ) from None
    return result


def _update_gitignore(root: Path, result: InitResult) -> None:
    path = root / ".gitignore"
    if not path.exists():
        atomic_write_bytes(path, ("\n".join(GITIGNORE_LINES) + "\n").encode("utf-8"))
        result.created.append(".gitignore")
        return
    text = path.read_text(encoding="utf-8")
    present = {line.strip() for line in text.splitlines()}
    missing = [line for line in GITIGNORE_LINES if line not in present and line.rstrip("/") not in present]
    if missing:
        separator = "" if not text or text.endswith("\n") else "\n"
        atomic_write_bytes(path, (text + separator + "\n".join(missing) + "\n").encode("utf-8"))
        result.updated.append(".gitignore")

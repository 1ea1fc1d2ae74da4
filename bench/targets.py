"""How the benchmarks drive syndicate: its console entry as a subprocess, with a config file per run.

Interface assumed (from src/syndicate/cli.py and app.py): ``syndicate build --config FILE`` and
``syndicate serve --config FILE --host H --port P``; every other setting (posts, out, cache, admin token,
debounce) is in the TOML file. Served feeds live under
``/feeds/<path in the output directory>``, readiness is ``GET /readyz`` (200 once feeds are served),
``POST /admin/regenerate`` with a bearer token requests a rebuild.
"""

from __future__ import annotations

import compileall
import importlib.util
import json
import shutil
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

from bench._process import write_unshared

ADMIN_TOKEN = "bench-admin-token"
SITE_URL = "https://news.example.net"


def syndicate_command() -> list[str]:
    """The console entry next to this interpreter (``.venv/bin/syndicate``), else ``python -m syndicate``."""
    entry = Path(sys.executable).parent / "syndicate"
    if entry.exists():
        return [str(entry)]
    return [sys.executable, "-m", "syndicate"]


def compile_sources() -> None:
    """Write syndicate's bytecode once, so no timed start pays for compiling it.

    An editable install under ``PYTHONDONTWRITEBYTECODE=1`` (as some sandboxes and CI images set) would otherwise
    compile every module at every start, which costs a start far more than anything it measures.
    """
    spec = importlib.util.find_spec("syndicate")
    if spec is None or spec.origin is None:
        return
    compileall.compile_dir(str(Path(spec.origin).parent), quiet=1)


def _toml_string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


@dataclass(frozen=True)
class Workspace:
    """One corpus with the files syndicate and Hugo need: posts, our config and output, Hugo's site."""

    root: Path

    @property
    def posts(self) -> Path:
        return self.root / "_posts"

    @property
    def out(self) -> Path:
        return self.root / "out"

    @property
    def cache(self) -> Path:
        return self.root / "cache.sqlite3"

    @property
    def config(self) -> Path:
        return self.root / "syndicate.toml"

    @property
    def hugo_site(self) -> Path:
        return self.root / "hugo"

    @property
    def hugo_public(self) -> Path:
        return self.root / "hugo-public"

    def write_config(self, port: int = 8000, debounce_ms: int = 50) -> Path:
        lines = [
            'title = "bench"',
            f"url = {_toml_string(SITE_URL)}",
            'timezone = "Asia/Shanghai"',
            f"posts = {_toml_string(str(self.posts))}",
            f"out = {_toml_string(str(self.out))}",
            f"cache = {_toml_string(str(self.cache))}",
            "limit = 50",
            'host = "127.0.0.1"',
            f"port = {port}",
            f"debounce_ms = {debounce_ms}",
            # The scheduled rescan would add builds the scenario did not ask for.
            "rescan_minutes = 0",
            f"admin_token = {_toml_string(ADMIN_TOKEN)}",
            "admin_rate = 0",
        ]
        write_unshared(self.config, "\n".join(lines) + "\n")
        return self.config

    def clean_output(self) -> None:
        """Take away our output and parse cache (a cold build) — never the posts."""
        set_aside(self.out, self.trash)
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(str(self.cache) + suffix).unlink(missing_ok=True)

    def clean_hugo_output(self) -> None:
        set_aside(self.hugo_public, self.trash)
        set_aside(self.hugo_site / "resources", self.trash)

    @property
    def trash(self) -> Path:
        return trash_of(self.root.parent)


def trash_of(workdir: Path) -> Path:
    return workdir / "trash"


def set_aside(directory: Path, trash: Path) -> None:
    """Move ``directory`` out of the way, into ``trash``, emptied by ``empty_trash`` when the benchmark run ends.

    Not deleted here: on a file system without a journal (this machine's ext4 is one), the kernel avoids reusing
    inodes deleted in the last minute or more, and each file created then costs a search past them — about 1 ms
    per file after removing the ~2,900 files of a 10k build, a third of the next timed build's system time. That
    would measure the harness's own clean-up, not the build, and mostly ours (Hugo writes 154 files).
    """
    if not directory.exists():
        return
    trash.mkdir(parents=True, exist_ok=True)
    directory.rename(trash / f"{directory.parent.name}-{directory.name}-{uuid.uuid4().hex}")


def empty_trash(workdir: Path) -> None:
    shutil.rmtree(trash_of(workdir), ignore_errors=True)


def build_command(workspace: Workspace) -> list[str]:
    return [*syndicate_command(), "build", "--config", str(workspace.config)]


def serve_command(workspace: Workspace, port: int) -> list[str]:
    # --host/--port given explicitly: the CLI's flag defaults would otherwise override the config file.
    return [
        *syndicate_command(),
        "serve",
        "--config",
        str(workspace.config),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]


def category_slug(name: str) -> str:
    from syndicate.terms import slugify

    return slugify(name)

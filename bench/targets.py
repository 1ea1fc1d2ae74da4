"""How the benchmarks drive syndicate: its console entry as a subprocess, with a config file per run.

Interface assumed (from src/syndicate/cli.py and app.py): ``syndicate build --config FILE`` and
``syndicate serve --config FILE --host H --port P``; every other setting (posts, out, cache, admin token,
debounce) is in the TOML file. Served feeds live under
``/feeds/<path in the output directory>``, readiness is ``GET /readyz`` (200 once feeds are served),
``POST /admin/regenerate`` with a bearer token requests a rebuild.
"""

from __future__ import annotations

import json
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

ADMIN_TOKEN = "bench-admin-token"
SITE_URL = "https://news.example.net"


def syndicate_command() -> list[str]:
    """The console entry next to this interpreter (``.venv/bin/syndicate``), else ``python -m syndicate``."""
    entry = Path(sys.executable).parent / "syndicate"
    if entry.exists():
        return [str(entry)]
    return [sys.executable, "-m", "syndicate"]


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
        self.config.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return self.config

    def clean_output(self) -> None:
        """Remove our output and parse cache (a cold build) — never the posts."""
        shutil.rmtree(self.out, ignore_errors=True)
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(str(self.cache) + suffix).unlink(missing_ok=True)

    def clean_hugo_output(self) -> None:
        shutil.rmtree(self.hugo_public, ignore_errors=True)
        shutil.rmtree(self.hugo_site / "resources", ignore_errors=True)


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

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import REPO
from syndicate.cli import main, settings_markdown


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "syndicate", *args], capture_output=True, text=True, cwd=cwd, timeout=120, check=False
    )


def test_build_the_example_via_python_m(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run("build", "--config", str(REPO / "examples/site/syndicate.toml"), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "posts published, 0 rejected" in result.stdout
    assert (out / "all.atom").is_file() and (out / "index.opml").is_file()


def test_exit_codes(
    tmp_path: Path, write_post: Callable[..., Path], posts_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = str(tmp_path / "out")
    cache = ["--no-cache"]
    assert main(["build", "--posts", str(tmp_path / "missing"), "--out", out, *cache]) == 1
    assert "cannot be read" in capsys.readouterr().err
    bad = tmp_path / "bad.toml"
    bad.write_text("title = [unclosed")
    assert main(["build", "--config", str(bad), "--posts", str(posts_dir), "--out", out]) == 1
    assert "not valid TOML" in capsys.readouterr().err
    write_post("2024-01-01-ok.md", "title: OK")
    (posts_dir / "2024-01-02-broken.md").write_text("---\ntitle: [x\n---\n")
    assert main(["build", "--posts", str(posts_dir), "--out", out, *cache]) == 0
    err = capsys.readouterr().err
    assert "rejected: 2024-01-02-broken.md: front matter is not valid YAML" in err
    assert main(["build", "--strict", "--posts", str(posts_dir), "--out", out, *cache]) == 2
    capsys.readouterr()
    assert main(["check", "--posts", str(posts_dir)]) == 2
    assert "2024-01-02-broken.md" in capsys.readouterr().out


def test_environment_overrides_the_config_file(
    tmp_path: Path, write_post: Callable[..., Path], posts_dir: Path
) -> None:
    write_post("2024-01-01-ok.md", "title: OK")
    config = tmp_path / "syndicate.toml"
    config.write_text('title = "From file"\nposts = "_posts"\nout = "out"\ncache = "off"\n')
    result = subprocess.run(
        [sys.executable, "-m", "syndicate", "build", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"PATH": "/usr/bin:/bin", "SYNDICATE_TITLE": "From env", "HOME": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr
    assert "<title>From env</title>" in (tmp_path / "out" / "all.atom").read_text()


def test_configuration_doc_is_generated_from_the_settings() -> None:
    assert (REPO / "docs" / "configuration.md").read_text() == settings_markdown()

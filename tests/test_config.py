from __future__ import annotations

from pathlib import Path

import pytest

from syndicate.config import SETTINGS, ConfigError, Settings, load_settings


def test_settings_data_matches_the_dataclass() -> None:
    fields = set(Settings.__dataclass_fields__)
    assert {s.name for s in SETTINGS} == fields


def test_file_paths_are_relative_to_the_file_and_env_beats_file(tmp_path: Path) -> None:
    config = tmp_path / "site" / "syndicate.toml"
    config.parent.mkdir()
    config.write_text('posts = "p"\nout = "o"\nlimit = 7\n[display_names]\nnews = "新闻"\n')
    settings = load_settings(config, environ={"SYNDICATE_LIMIT": "9"})
    assert settings.posts == tmp_path / "site" / "p" and settings.out == tmp_path / "site" / "o"
    assert settings.limit == 9 and settings.display_names == {"news": "新闻"}
    assert load_settings(config, {"limit": 3}, environ={"SYNDICATE_LIMIT": "9"}).limit == 3


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("nope = 1", "unknown setting 'nope'"),
        ("limit = 'many'", "expected a number"),
        ("limit = 0", "at least 1"),
        ("timezone = 'Mars/Olympus'", "unknown time zone"),
        ("url = 'ftp://x'", "expected an http(s) URL"),
        ("future = 'perhaps'", "expected true or false"),
        ("display_names = 3", "expected a table"),
        (
            "permalink = 'weird'",
            "setting 'permalink': 'weird' is neither a built-in style (date, pretty, ordinal, weekdate, none) nor",
        ),
        ("permalink = '/:year/:month/:day/'", "pattern naming :title, :slug or :second"),
    ],
)
def test_bad_settings_are_reported(tmp_path: Path, text: str, message: str) -> None:
    config = tmp_path / "c.toml"
    config.write_text(text)
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_settings(config, environ={})


def test_missing_config_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_settings(tmp_path / "absent.toml", environ={})


def test_permalink_styles_and_patterns_with_a_distinct_placeholder_are_accepted(tmp_path: Path) -> None:
    for value in ("date", "pretty", "ordinal", "weekdate", "none", "/blog/:slug/", "/:year/:hour:minute:second/"):
        assert load_settings(None, {"permalink": value}, environ={}).permalink == value


def test_a_misspelt_permalink_style_is_refused_from_the_environment_too() -> None:
    with pytest.raises(ConfigError, match="setting 'permalink': 'prety' is neither a built-in style"):
        load_settings(None, environ={"SYNDICATE_PERMALINK": "prety"})

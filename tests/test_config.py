from __future__ import annotations

import re
from pathlib import Path

import pytest

from syndicate.config import SETTINGS, ConfigError, Setting, Settings, load_settings


def test_settings_data_matches_the_dataclass() -> None:
    fields = set(Settings.__dataclass_fields__)
    assert {s.name for s in SETTINGS} | {"jekyll"} == fields  # jekyll: the site that the setting 'site' names


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_dataclass_defaults_are_the_table_defaults(setting: Setting) -> None:
    # Value by value, in the form Settings holds (lists as tuples, directories as paths): a default written in
    # the dataclass by hand drifted once (Settings().attribution_patterns was empty).
    held = getattr(Settings(), setting.name)
    expected = {list: tuple, Path: Path}.get(setting.kind, type(setting.default))(setting.default)
    assert held == expected and type(held) is type(expected)


def test_defaults_alone_load_as_the_dataclass_defaults() -> None:
    assert load_settings(None, environ={}) == Settings()
    assert Settings().display_names is not Settings().display_names  # each instance its own table


def test_file_paths_are_relative_to_the_file_and_env_beats_file(tmp_path: Path) -> None:
    config = tmp_path / "site" / "syndicate.toml"
    config.parent.mkdir()
    config.write_text('posts = "p"\nout = "o"\nlimit = 7\n[display_names]\nnews = "新闻"\n')
    settings = load_settings(config, environ={"SYNDICATE_LIMIT": "9"})
    assert settings.posts == tmp_path / "site" / "p" and settings.out == tmp_path / "site" / "o"
    assert settings.limit == 9 and settings.display_names == {"news": "新闻"}
    assert load_settings(config, {"limit": 3}, environ={"SYNDICATE_LIMIT": "9"}).limit == 3


def test_a_retired_setting_is_ignored_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    config = tmp_path / "c.toml"
    config.write_text('title = "Harbour"\nttl = 60\n')
    settings = load_settings(config)
    assert settings.title == "Harbour"
    assert "setting 'ttl' is no longer used (RSS <ttl> now follows how often each feed changes" in caplog.text


@pytest.mark.parametrize(
    ("text", "message"),
    [("tll = 60", "unknown setting 'tll'")],
)
def test_an_unknown_setting_is_an_error(tmp_path: Path, text: str, message: str) -> None:
    config = tmp_path / "c.toml"
    config.write_text(text)
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_settings(config)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("nope = 1", "unknown setting 'nope'"),
        ("limit = 'many'", "expected a whole number"),
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
        ('title = ""', "setting 'title' (from c.toml): must not be empty"),
        ('title = "  "', "must not be empty"),
        ('title = "a\\u0001b"', "setting 'title' (from c.toml): contains U+0001, a character that XML"),
        ('description = "x\\u000b"', "setting 'description' (from c.toml): contains U+000B"),
        ('author = "\\uffff"', "setting 'author' (from c.toml): contains U+FFFF"),
        ('language = "zh\\u001f"', "setting 'language' (from c.toml): contains U+001F"),
        (
            '[display_names]\nnews = "<b>x</b>\\uFFFE"',
            "setting 'display_names' (from c.toml), name 'news': contains U+FFFE",
        ),
        ('attribution_patterns = ["a\\u0000"]', "setting 'attribution_patterns' (from c.toml): contains U+0000"),
        ("port = 99999", "setting 'port' (from c.toml): must be at most 65535, got 99999"),
        ("port = -1", "must not be negative"),
        ("limit = 2.5", "expected a whole number, got 2.5"),
        ("limit = inf", "must be at most 2147483647, got inf"),
        ("limit = 1" + "0" * 30, "must be at most 2147483647, got 1000"),
        ("query_limit = 0", "setting 'query_limit' (from c.toml): must be at least 1"),
        ("max_age = 2147483648", "must be at most 2147483647"),
        ("poll_min = 0", "setting 'poll_min' (from c.toml): must be at least 1"),
        ("poll_min = 60\npoll_max = 30", "setting 'poll_min': 60 is more than poll_max (30)"),
        ('icon = "/icon.png"', "setting 'icon': expected an http(s) URL, got '/icon.png'"),
        (
            'logo = "https://news.example.net/标志.png"',
            "setting 'logo': 'https://news.example.net/标志.png' is not a URI",
        ),
        ('hub = "https://hub.example.net/a b"', "setting 'hub': 'https://hub.example.net/a b' is not a URI"),
        ("debounce_ms = 3600000", "setting 'debounce_ms' (from c.toml): must be at most 60000"),
        ("rescan_minutes = nan", "expected a number, got nan"),
        ("rescan_minutes = 1e12", "must be at most 525600"),
        ("build_share = 1.5", "must be at most 1"),
        ("build_share = 0", "more than 0"),
        ("admin_rate = -1", "must not be negative"),
        ('admin_token = "short-token"', "setting 'admin_token': must be at least 16 characters (or empty: admin off)"),
        ('trusted_proxies = "127.0.0.1, nginx"', "setting 'trusted_proxies': 'nginx' is not an IP address or network"),
    ],
)
def test_bad_settings_are_reported(tmp_path: Path, text: str, message: str) -> None:
    config = tmp_path / "c.toml"
    config.write_text(text)
    with pytest.raises(ConfigError, match=re.escape(message.replace("c.toml", str(config)))):
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


def test_settings_from_the_environment_are_checked_too() -> None:
    with pytest.raises(ConfigError, match=r"setting 'title' \(from SYNDICATE_TITLE\): must not be empty"):
        load_settings(None, environ={"SYNDICATE_TITLE": ""})
    with pytest.raises(ConfigError, match=r"setting 'port' \(from SYNDICATE_PORT\): must be at most 65535"):
        load_settings(None, environ={"SYNDICATE_PORT": "65536"})
    with pytest.raises(ConfigError, match="SYNDICATE_LIMIT.*expected a whole number"):
        load_settings(None, environ={"SYNDICATE_LIMIT": "2.5"})
    # a variable that is not UTF-8 reaches Python with surrogate escapes, which no feed can carry
    with pytest.raises(ConfigError, match=r"SYNDICATE_AUTHOR.*U\+DCFF"):
        load_settings(None, environ={"SYNDICATE_AUTHOR": "x\udcff"})


def test_numbers_at_the_ends_of_their_range_and_whole_floats_are_accepted() -> None:
    settings = load_settings(None, {"port": 65535, "limit": 50.0, "rescan_minutes": 0, "debounce_ms": "60000"}, {})
    assert (settings.port, settings.limit, settings.rescan_minutes, settings.debounce_ms) == (65535, 50, 0.0, 60000)
    assert type(settings.limit) is int and type(settings.rescan_minutes) is float
    assert load_settings(None, {"port": 0}, environ={}).port == 0  # a free port, as with --port 0
    # tab and line breaks are XML characters: a multi-line description is fine
    assert load_settings(None, {"description": "a\tb\nc"}, environ={}).description == "a\tb\nc"

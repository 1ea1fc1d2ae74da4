"""Hugo, the peer we time builds against: a site config over the same corpus that writes only RSS per term.

Checked against the Debian package's Hugo 0.111: the feed size limit is the top-level ``rssLimit`` there
(``services.rss.limit`` only arrived in 0.114), so both are written; HTML output is switched off through
``disableKinds`` and ``outputs`` (``page = []`` keeps pages in the terms, with permalinks, but renders
none; a ``_build.render = "never"`` cascade instead leaves the feed links empty); raw HTML in Markdown
needs ``markup.goldmark.renderer.unsafe``.
Hugo's built-in RSS template puts only ``.Summary`` in ``<description>``; ours carries full content, so
the site gets a small RSS template with ``.Content`` to make both do comparable work.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from bench._process import write_unshared

_CONFIG = """\
baseURL = "https://{host}/"
title = "bench"
languageCode = "zh-cn"
contentDir = "{content}"
publishDir = "{publish}"
disableKinds = ["section", "taxonomy", "sitemap", "robotsTXT", "404"]
rssLimit = 50
# Disabling the taxonomy kind (the list of terms) is intended: term feeds stay on.
ignoreErrors = ["error-disable-taxonomy"]
timeZone = "Asia/Shanghai"

[services.rss]
limit = 50

[taxonomies]
category = "categories"
tag = "tags"

[outputs]
home = ["RSS"]
page = []
term = ["RSS"]

[markup.goldmark.renderer]
unsafe = true
"""

_RSS_TEMPLATE = """\
{{- $pages := .Pages -}}
{{- if .IsHome }}{{ $pages = .Site.RegularPages }}{{ end -}}
{{- $pages = $pages.ByDate.Reverse -}}
{{- $limit := .Site.Config.Services.RSS.Limit -}}
{{- if ge $limit 1 }}{{ $pages = $pages | first $limit }}{{ end -}}
{{ printf "<?xml version=\\"1.0\\" encoding=\\"utf-8\\"?>" | safeHTML }}
<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom">
<channel>
<title>{{ .Title }} - {{ .Site.Title }}</title>
<link>{{ .Permalink }}</link>
<description>{{ .Title }}</description>
{{ with .OutputFormats.Get "RSS" -}}
{{ printf "<atom:link href=%q rel=\\"self\\" type=%q />" .Permalink .MediaType | safeHTML }}
{{- end }}
{{- range $pages }}
<item>
<title>{{ .Title }}</title>
<link>{{ .Permalink }}</link>
<pubDate>{{ .Date.Format "Mon, 02 Jan 2006 15:04:05 -0700" | safeHTML }}</pubDate>
<guid>{{ .Permalink }}</guid>
<description>{{ .Content | html }}</description>
</item>
{{- end }}
</channel>
</rss>
"""


def hugo_binary() -> str | None:
    return shutil.which("hugo")


def hugo_version() -> str:
    binary = hugo_binary()
    if binary is None:
        return "hugo not installed"
    return subprocess.run([binary, "version"], capture_output=True, text=True, check=True).stdout.strip()


def write_hugo_site(site: Path, content: Path, publish: Path, host: str = "news.example.net") -> Path:
    """Write a Hugo site in ``site`` reading posts from ``content`` and publishing to ``publish``."""
    site.mkdir(parents=True, exist_ok=True)
    write_unshared(site / "hugo.toml", _CONFIG.format(host=host, content=content.resolve(), publish=publish.resolve()))
    layouts = site / "layouts" / "_default"
    layouts.mkdir(parents=True, exist_ok=True)
    write_unshared(layouts / "rss.xml", _RSS_TEMPLATE)
    return site


def hugo_command(site: Path) -> list[str]:
    binary = hugo_binary()
    if binary is None:
        raise RuntimeError("hugo is not installed (Debian: apt-get install hugo)")
    # --quiet: no progress output to time. The caller empties publishDir first (a cold build):
    # --cleanDestinationDir only prunes when static files are synced, so it does not help here.
    return [binary, "--source", str(site), "--quiet", "--noBuildLock"]

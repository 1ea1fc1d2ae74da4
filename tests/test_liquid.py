"""liquid: post bodies' Liquid rendered as Jekyll 4.3 renders it, problems as notes, hostile posts bounded."""

from __future__ import annotations

import html
import re
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from _jekyll import jekyll_build
from syndicate.liquid import LiquidSite, Rendered, has_liquid, render_liquid, strip_liquid

EAST8 = timezone(timedelta(hours=8))
PAGE: dict[str, Any] = {
    "title": "A Liquid Post",
    "date": datetime(2021, 5, 6, 7, 8, 9, tzinfo=EAST8),
    "url": "/2021/05/06/liquid.html",
    "categories": [],
    "tags": ["alpha", "beta", "gamma"],
    "mood": "sunny",
    "q": 'say "hi"',
    "smart": '"Hi" -- it\'s... ---',
}


def make_site(root: Path, **overrides: Any) -> LiquidSite:
    values: dict[str, Any] = {
        "root": root,
        "variables": {
            "title": "Harbour Notes",
            "owner": {"name": "Ada"},
            "time": datetime(2024, 2, 3, 4, 5, 6, tzinfo=UTC),
            "data": {"crew": [{"name": "Zed", "rank": 2}, {"name": "Amy", "rank": 1}, {"name": "Bob"}]},
            "posts": [
                {"title": "Later", "category": "news", "date": datetime(2021, 6, 1, tzinfo=UTC)},
                {"title": "Earlier", "category": "notes", "date": datetime(2021, 1, 1, tzinfo=UTC)},
                {"title": "Middle", "category": "news", "date": datetime(2021, 3, 1, tzinfo=UTC)},
            ],
        },
        "links": {"about.md": "/about/", "_posts/2021-03-04-first.md": "/2021/03/04/first.html"},
        "post_urls": {"2021-03-04-first": "/2021/03/04/first.html", "sub/2020-01-01-deep": "/2020/01/01/deep.html"},
        "baseurl": "/blog",
        "url": "https://harbour.example",
    }
    values.update(overrides)
    return LiquidSite(**values)


def render(source: str, root: Path, page: dict[str, Any] | None = None, **site: Any) -> Rendered:
    return render_liquid(source, site=make_site(root, **site), page=PAGE if page is None else page, path="_posts/p.md")


def text(source: str, root: Path, **site: Any) -> str:
    done = render(source, root, **site)
    assert done.notes == (), done.notes
    return done.text


# The engine, variables and standard Liquid


def test_has_liquid_is_a_cheap_test_for_delimiters() -> None:
    assert has_liquid("a {{ b }}") and has_liquid("{% raw %}")
    assert not has_liquid("plain { text } with % signs")


def test_a_body_without_liquid_comes_back_unchanged(tmp_path: Path) -> None:
    assert render("no liquid { here }", tmp_path) == Rendered("no liquid { here }", ())


def test_site_and_page_variables_and_undefined_names(tmp_path: Path) -> None:
    source = "{{ site.title }}|{{ site.owner.name }}|{{ page.title }}|{{ page.mood }}|{{ page.nothing }}|{{ nope.x }}"
    assert text(source, tmp_path) == "Harbour Notes|Ada|A Liquid Post|sunny||"


def test_a_time_prints_as_ruby_does(tmp_path: Path) -> None:
    assert text("{{ page.date }}", tmp_path) == "2021-05-06 07:08:09 +0800"


def test_standard_liquid_tags(tmp_path: Path) -> None:
    source = (
        "{% assign n = page.tags | size %}{% capture c %}n={{ n }}{% endcapture %}{{ c }};"
        "{% for t in page.tags %}{% if forloop.last %}{{ t | upcase }}{% else %}{{ t }},{% endif %}{% endfor %};"
        "{% case page.mood %}{% when 'sunny' %}warm{% else %}cold{% endcase %};"
        "{% unless page.draft %}live{% endunless %}{% comment %}hidden{% endcomment %}"
    )
    assert text(source, tmp_path) == "n=3;alpha,beta,GAMMA;warm;live"


def test_raw_keeps_liquid_as_text(tmp_path: Path) -> None:
    assert text("{% raw %}{{ site.title }} {% if %}{% endraw %}", tmp_path) == "{{ site.title }} {% if %}"


# Jekyll's tags


def test_highlight_is_shaped_as_jekyll_and_rouge_write_it(tmp_path: Path) -> None:
    out = text("{% highlight Ruby %}\n\ndef hi\n  puts 'x' < 1\nend\n\n{% endhighlight %}", tmp_path)
    assert out.startswith('<figure class="highlight"><pre><code class="language-ruby" data-lang="ruby">')
    assert out.endswith("</code></pre></figure>")
    assert '<span class="k">def</span>' in out
    assert html.unescape(re.sub(r"<[^>]+>", "", out)) == "def hi\n  puts 'x' < 1\nend"


def test_highlight_with_line_numbers_and_an_unknown_language(tmp_path: Path) -> None:
    out = text("{% highlight nosuchlang linenos %}\na\nb\n{% endhighlight %}", tmp_path)
    assert '<pre class="lineno">1\n2\n</pre>' in out
    assert 'data-lang="nosuchlang"' in out and "a\nb" in out


def test_highlight_with_bad_markup_is_left_out_with_a_note(tmp_path: Path) -> None:
    done = render("x{% highlight %}code{% endhighlight %}y", tmp_path)
    assert done.text == "xy"
    assert len(done.notes) == 1 and "highlight" in done.notes[0]


def test_link_and_post_url_carry_the_baseurl(tmp_path: Path) -> None:
    source = "{% link about.md %} {% link _posts/2021-03-04-first.md %} {% post_url 2021-03-04-first %} "
    source += "{% post_url sub/2020-01-01-deep %} {% post_url 2020-01-01-deep %}"
    expected = "/blog/about/ /blog/2021/03/04/first.html /blog/2021/03/04/first.html /blog/2020/01/01/deep.html"
    assert text(source, tmp_path) == expected + " /blog/2020/01/01/deep.html"
    assert text("{% link about.md %}", tmp_path, baseurl="") == "/about/"


def test_link_renders_variables_in_its_path(tmp_path: Path) -> None:
    assert text("{% assign f = 'about' %}{% link {{ f }}.md %}", tmp_path) == "/blog/about/"


def test_missing_link_and_post_are_noted(tmp_path: Path) -> None:
    done = render("a{% link gone.md %}b{% post_url 2000-01-01-gone %}c{% post_url nodate %}d", tmp_path)
    assert done.text == "abcd"
    assert len(done.notes) == 3
    for name in ("gone.md", "2000-01-01-gone", "nodate"):
        assert sum(name in note for note in done.notes) == 1, name
    assert all(note.startswith("_posts/p.md: ") for note in done.notes)


def test_include_with_parameters_from_includes(tmp_path: Path) -> None:
    (tmp_path / "_includes").mkdir()
    (tmp_path / "_includes" / "box.html").write_text("[{{ include.kind }}:{{ include.who }}:{{ include.n }}]")
    source = "{% assign p = 'Bo' %}{% include box.html kind=\"tip \\\"x\\\"\" who=p n='3' %}{% include box.html %}"
    assert text(source, tmp_path) == '[tip "x":Bo:3][::]'


def test_include_name_from_a_variable_and_assigns_leak_as_in_jekyll(tmp_path: Path) -> None:
    (tmp_path / "_includes").mkdir()
    (tmp_path / "_includes" / "set.html").write_text("{% assign made = 'yes' %}")
    assert text("{% assign f = 'set' %}{% include {{ f }}.html %}{{ made }}", tmp_path) == "yes"


def test_include_relative_reads_beside_the_post(tmp_path: Path) -> None:
    (tmp_path / "_posts").mkdir()
    (tmp_path / "_posts" / "snippet.txt").write_text("beside {{ page.mood }}")
    assert text("{% include_relative snippet.txt %}", tmp_path) == "beside sunny"


def test_include_stays_inside_the_site(tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "_includes").mkdir(parents=True)
    (tmp_path / "secret.txt").write_text("SECRET")
    (site / "_includes" / "link.html").symlink_to(tmp_path / "secret.txt")
    for source in ("{% include ../secret.txt %}", "{% include link.html %}", "{% include_relative ../../secret.txt %}"):
        done = render(source, site)
        assert "SECRET" not in done.text and done.notes, source


def test_a_missing_include_is_noted(tmp_path: Path) -> None:
    done = render("a{% include none.html %}b", tmp_path)
    assert done.text == "ab" and "none.html" in done.notes[0]


def test_recursive_includes_stop_with_a_note_and_finish_fast(tmp_path: Path) -> None:
    (tmp_path / "_includes").mkdir()
    (tmp_path / "_includes" / "loop.html").write_text("x{% include loop.html %}{% include loop.html %}")
    started = time.monotonic()
    done = render("{% include loop.html %}", tmp_path)
    assert time.monotonic() - started < 5
    assert done.notes and len(done.text) < 10_000


# Unknown tags and filters, and errors


def test_a_plugins_tag_is_dropped_with_a_note(tmp_path: Path) -> None:
    done = render("a{% avatar someone size=40 %}b{% youtube abc %}c", tmp_path)
    assert done.text == "abc"
    assert done.notes == (
        "_posts/p.md: Liquid tag 'avatar' comes from a plugin syndicate does not have; dropped",
        "_posts/p.md: Liquid tag 'youtube' comes from a plugin syndicate does not have; dropped",
    )


def test_a_plugins_block_tag_loses_its_tags_and_keeps_its_content(tmp_path: Path) -> None:
    done = render("a{% spoiler Title %}in {{ page.mood }}{% endspoiler %}b", tmp_path)
    assert done.text == "ain sunnyb"
    assert len(done.notes) == 1 and "'spoiler'" in done.notes[0]


def test_an_unknown_filter_passes_its_input_on_with_a_note(tmp_path: Path) -> None:
    done = render("{{ page.mood | sparkle: 3 | upcase }}", tmp_path)
    assert done.text == "SUNNY"
    assert len(done.notes) == 1 and "'sparkle'" in done.notes[0]


def test_syntax_errors_leave_that_part_out(tmp_path: Path) -> None:
    done = render("a{% if %}x{% endif %}b{% endif %}c{{ page.mood | }}d", tmp_path)
    assert "{%" not in done.text and "{{" not in done.text
    assert done.text.startswith("a") and done.text.endswith("d") and "b" in done.text
    assert len(done.notes) >= 2


def test_unreadable_liquid_is_removed(tmp_path: Path) -> None:
    done = render("keep {% raw %}{{ this }}{% endraw %} and {{ not closed\nnext line", tmp_path)
    assert done.text == "keep {{ this }} and \nnext line"
    assert len(done.notes) == 1 and "cannot be read" in done.notes[0]


def test_strip_liquid() -> None:
    assert strip_liquid("a{{ b }}c{% d %}e{% comment %}x{% endcomment %}f{% raw %}{{ g }}{% endraw %}") == "acef{{ g }}"


# Resource bounds


@pytest.mark.parametrize(
    "source",
    [
        "{% for a in (1..100000) %}{% for b in (1..100000) %}x{% endfor %}{% endfor %}",
        "{% assign s = 'xxxxxxxxxx' %}{% for i in (1..60) %}{% assign s = s | append: s %}{% endfor %}{{ s }}",
        "{{ (1..1000000000) | join: ',' }}",
        "{% for i in (1..99999) %}{{ 'yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy' }}{% endfor %}"
        * 3,
    ],
)
def test_hostile_templates_finish_fast_with_a_note(tmp_path: Path, source: str) -> None:
    started = time.monotonic()
    done = render(source, tmp_path)
    assert time.monotonic() - started < 5
    assert done.notes
    assert len(done.text) <= 8 * 1024 * 1024


# Jekyll's filters


def test_url_filters(tmp_path: Path) -> None:
    source = "{{ '/a b/é.html' | relative_url }} {{ 'x' | absolute_url }} {{ 'https://o.example/p' | relative_url }}"
    assert text(source, tmp_path) == "/blog/a%20b/%C3%A9.html https://harbour.example/blog/x https://o.example/p"
    assert text("{{ '/x' | absolute_url }}", tmp_path, url="", baseurl="") == "/x"


def test_date_filters(tmp_path: Path) -> None:
    cases = {
        "{{ page.date | date_to_xmlschema }}": "2021-05-06T07:08:09+08:00",
        "{{ page.date | date_to_rfc822 }}": "Thu, 06 May 2021 07:08:09 +0800",
        "{{ page.date | date_to_string }}": "06 May 2021",
        "{{ page.date | date_to_long_string }}": "06 May 2021",
        "{{ page.date | date_to_string: 'ordinal' }}": "6th May 2021",
        "{{ page.date | date_to_long_string: 'ordinal', 'US' }}": "May 6th, 2021",
        "{{ '2021-12-22' | date_to_string: 'ordinal', 'US' }}": "Dec 22nd, 2021",
        "{{ page.date | date: '%Y/%m/%d %H' }}": "2021/05/06 07",
        "{{ 'now' | date: '%Y-%m-%d' }}": "2024-02-03",
        "{{ nothing | date_to_string }}": "",
    }
    for source, expected in cases.items():
        assert text(source, tmp_path) == expected, source


def test_text_filters(tmp_path: Path) -> None:
    cases = {
        "{{ \"<a href='x'>Tom & Jerry</a>\" | xml_escape }}": "&lt;a href='x'&gt;Tom &amp; Jerry&lt;/a&gt;",
        "{{ page.q | xml_escape }}": "say &quot;hi&quot;",
        "{{ 'a b&c/é~*' | cgi_escape }}": "a+b%26c%2F%C3%A9~%2A",
        "{{ 'a b/é?x=1' | uri_escape }}": "a%20b/%C3%A9?x=1",
        "{{ '  a \n\t b  ' | normalize_whitespace }}": "a b",
        "{{ 'one two  three' | number_of_words }}": "3",
        "{{ '你好 world' | number_of_words: 'cjk' }}": "3",
        "{{ 'just words' | number_of_words: 'auto' }}": "2",
        "{{ page.tags | array_to_sentence_string }}": "alpha, beta, and gamma",
        "{{ page.tags | array_to_sentence_string: 'or' }}": "alpha, beta, or gamma",
        "{{ page.smart | smartify }}": "\u201cHi\u201d \u2013 it\u2019s\u2026 \u2014",
        "{{ '42abc' | to_integer }} {{ true | to_integer }}": "42 1",
        "{{ page.tags | inspect }}": "[&quot;alpha&quot;, &quot;beta&quot;, &quot;gamma&quot;]",
        "{{ '/a/index.html' | strip_index }}": "/a/",
    }
    for source, expected in cases.items():
        assert text(source, tmp_path) == expected, source


def test_slugify_in_every_mode(tmp_path: Path) -> None:
    cases = {
        "": "the-config-yml-file-ça",
        ": 'default'": "the-config-yml-file-ça",
        ": 'raw'": "the-_config.yml-file?-ça",
        ": 'pretty'": "the-_config.yml-file-ça",
        ": 'ascii'": "the-config-yml-file-a",
        ": 'latin'": "the-config-yml-file-ca",
        ": 'other'": "  the _config.yml file? ça",
    }
    for args, expected in cases.items():
        assert text("{{ '  The _config.yml file? Ça' | slugify" + args + " }}", tmp_path) == expected, args


def test_markdownify_uses_the_sites_renderer(tmp_path: Path) -> None:
    assert text("{{ '*hi*' | markdownify }}", tmp_path, markdownify=lambda s: f"<p>{s.upper()}</p>") == "<p>*HI*</p>"
    assert text("{{ '*hi*' | markdownify }}", tmp_path) == "*hi*"


def test_jsonify(tmp_path: Path) -> None:
    assert text("{{ site.owner | jsonify }}", tmp_path) == '{"name":"Ada"}'
    assert text("{{ page.date | jsonify }}", tmp_path) == '"2021-05-06 07:08:09 +0800"'
    assert text("{{ '中' | jsonify }}", tmp_path) == '"中"'


def test_where_find_and_their_expressions(tmp_path: Path) -> None:
    posts = "site.posts"
    cases = {
        f"{{% assign n = {posts} | where: 'category', 'news' %}}{{{{ n | map: 'title' | join: ',' }}}}": "Later,Middle",
        f"{{% assign n = {posts} | where_exp: 'p', \"p.category == 'notes'\" %}}{{{{ n | map: 'title' }}}}": "Earlier",
        f"{{{{ {posts} | find: 'category', 'news' | map: 'title' }}}}": "Later",
        f"{{{{ {posts} | find_exp: 'p', \"p.title contains 'idd'\" | map: 'title' }}}}": "Middle",
        "{{ site.data.crew | where: 'rank', 1 | map: 'name' }}": "Amy",
    }
    for source, expected in cases.items():
        assert text(source, tmp_path) == expected, source


def test_group_by_and_group_by_exp(tmp_path: Path) -> None:
    source = (
        "{% assign g = site.posts | group_by: 'category' %}"
        "{% for x in g %}{{ x.name }}={{ x.size }}:{{ x.items | map: 'title' | join: '+' }};{% endfor %}"
        "{% assign y = site.posts | group_by_exp: 'p', \"p.date | date: '%m'\" %}{{ y | map: 'name' | join: ',' }}"
    )
    assert text(source, tmp_path) == "news=2:Later+Middle;notes=1:Earlier;06,01,03"


def test_sort_with_property_and_nils(tmp_path: Path) -> None:
    cases = {
        "{{ site.data.crew | sort: 'rank' | map: 'name' | join: ',' }}": "Bob,Amy,Zed",
        "{{ site.data.crew | sort: 'rank', 'last' | map: 'name' | join: ',' }}": "Amy,Zed,Bob",
        "{{ site.posts | sort: 'date' | map: 'title' | join: ',' }}": "Earlier,Middle,Later",
        "{{ page.tags | reverse | sort | join: ',' }}": "alpha,beta,gamma",
    }
    for source, expected in cases.items():
        assert text(source, tmp_path) == expected, source


def test_array_filters_are_pure_and_sample_is_deterministic(tmp_path: Path) -> None:
    source = (
        "{{ page.tags | push: 'd' | join: ',' }};{{ page.tags | pop | join: ',' }};{{ page.tags | pop: 2 | join }};"
        "{{ page.tags | shift | join: ',' }};{{ page.tags | unshift: 'z' | join: ',' }};"
        "{{ page.tags | sample }};{{ page.tags | sample: 2 | join: ',' }};{{ page.tags | join: ',' }}"
    )
    expected = "alpha,beta,gamma,d;alpha,beta;alpha;beta,gamma;z,alpha,beta,gamma;alpha;alpha,beta;alpha,beta,gamma"
    assert text(source, tmp_path) == expected


# Against real Jekyll

_DIFF_BODY = """<div class="liquid">
<p>{{ site.title }} by {{ site.owner.name }}; {{ page.title }} ({{ page.mood }}) {{ page.missing }}</p>
<p>{% for m in site.data.crew %}{{ m.name }}{% unless forloop.last %}, {% endunless %}{% endfor %}</p>
<p>{% raw %}{{ kept }} {% if x %}{% endraw %}</p>
{% highlight python %}
def double(n):
    return n * 2 < 10 and "s"
{% endhighlight %}
<p><a href="{% link about.md %}">about</a> <a href="{% post_url 2021-03-04-first %}">first</a></p>
<p>{% include box.html kind="tip" who=page.mood %}</p>
<p>{{ page.date | date_to_xmlschema }} | {{ page.date | date_to_rfc822 }} | {{ page.date | date_to_string }} |
{{ page.date | date_to_long_string: "ordinal", "US" }} | {{ page.date | date_to_string: "ordinal" }} |
{{ page.date | date: "%A %-d %B %Y" }}</p>
<p>{{ site.data.crew | where: "rank", 1 | map: "name" | join: "," }} |
{{ site.data.crew | sort: "rank", "last" | map: "name" | join: "," }} |
{{ site.data.crew | where_exp: "c", "c.rank > 1" | map: "name" | jsonify }} | {{ site.owner | jsonify }} |
{{ page.tags | jsonify }} | {{ "Hello, World: ça va?" | slugify }} | {{ "Hello, World: ça va?" | slugify: "pretty" }} |
{{ "Hello World" | slugify: "raw" }} | {{ "a.b c" | slugify: "ascii" }} |
{{ page.tags | array_to_sentence_string }} | {{ "x" | relative_url }} | {{ "/y" | absolute_url }} |
{{ "a & b <c>" | xml_escape }} | {{ "a b/c" | cgi_escape }} | {{ "  some   words here " | number_of_words }} |
{{ site.data.crew | group_by: "rank" | map: "name" | join: "," }} | {{ page.tags | push: "z" | shift | join: "," }} |
{{ page.date }} | {{ page.smart | smartify }} |
{{ page.tags | inspect }} | {{ "你好 world" | number_of_words: "cjk" }}</p>
</div>
"""


def test_matches_jekyll_on_a_liquid_heavy_post(tmp_path: Path) -> None:
    site = tmp_path / "site"
    for directory in ("_posts", "_includes", "_layouts", "_data"):
        (site / directory).mkdir(parents=True)
    (site / "_config.yml").write_text(
        "title: Harbour Notes\nowner:\n  name: Ada\nbaseurl: /blog\nurl: https://harbour.example\ntimezone: UTC\n"
    )
    (site / "_data" / "crew.yml").write_text("- name: Zed\n  rank: 2\n- name: Amy\n  rank: 1\n- name: Bob\n")
    (site / "_includes" / "box.html").write_text('<span class="{{ include.kind }}">{{ include.who }}</span>')
    (site / "_layouts" / "bare.html").write_text("{{ content }}")
    (site / "about.md").write_text("---\nlayout: bare\npermalink: /about/\n---\nAbout.\n")
    (site / "_posts" / "2021-03-04-first.md").write_text("---\nlayout: bare\n---\nFirst.\n")
    front = "---\nlayout: bare\ntitle: A Liquid Post\ndate: 2021-05-06 07:08:09 +0000\n"
    front += "mood: sunny\ntags: [alpha, beta]\nsmart: '\"Hi\" -- it''s... ---'\n---\n"
    (site / "_posts" / "2021-05-06-liquid.html").write_text(front + _DIFF_BODY)
    out = jekyll_build(site, tmp_path / "_site")
    expected = (out / "2021" / "05" / "06" / "liquid.html").read_text()

    liquid_site = LiquidSite(
        root=site,
        variables={
            "title": "Harbour Notes",
            "owner": {"name": "Ada"},
            "baseurl": "/blog",
            "url": "https://harbour.example",
            "data": {"crew": [{"name": "Zed", "rank": 2}, {"name": "Amy", "rank": 1}, {"name": "Bob"}]},
        },
        links={"about.md": "/about/", "_posts/2021-03-04-first.md": "/2021/03/04/first.html"},
        post_urls={"2021-03-04-first": "/2021/03/04/first.html"},
        baseurl="/blog",
        url="https://harbour.example",
    )
    page = {
        "title": "A Liquid Post",
        "date": datetime(2021, 5, 6, 7, 8, 9, tzinfo=UTC),
        "url": "/2021/05/06/liquid.html",
        "mood": "sunny",
        "tags": ["alpha", "beta"],
        "smart": '"Hi" -- it\'s... ---',
        "categories": [],
    }
    done = render_liquid(_DIFF_BODY, site=liquid_site, page=page, path="_posts/2021-05-06-liquid.html")
    assert done.notes == ()
    assert _visible(done.text) == _visible(expected)
    # Markup outside the highlighted code is Jekyll's to the byte (Pygments' and Rouge's span classes differ).
    assert _without_code(done.text) == _without_code(expected)


def _visible(markup: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", markup)).split())


def _without_code(markup: str) -> str:
    return " ".join(re.sub(r"<code.*?</code>", "<code/>", markup, flags=re.DOTALL).split())


_SWAP_AFTER_CHECK = """
import os, pathlib, sys
from syndicate.liquid import LiquidSite, render_liquid
root = pathlib.Path(sys.argv[1])
include = root / "_includes" / "box.html"
real_is_file = pathlib.Path.is_file
def is_file(self):  # the name passes its check, then is swapped for a FIFO before the read
    result = real_is_file(self)
    if self == include.resolve() and result:
        os.unlink(self)
        os.mkfifo(self)
    return result
pathlib.Path.is_file = is_file
site = LiquidSite(root=root, variables={}, links={}, post_urls={}, baseurl="", url="https://example.net", safe=True)
done = render_liquid("a{% include box.html %}b", site=site, page={}, path="_posts/p.md")
print(repr(done.text), done.notes)
"""


def test_an_include_swapped_for_a_fifo_after_its_check_does_not_hang_the_build(tmp_path: Path) -> None:
    """The include's name is checked (inside _includes, a file), then read: a FIFO swapped in between made the read
    wait for a writer for ever (and /dev/zero read without end). It is read as a post file is (posts.open_post)."""
    (tmp_path / "_includes").mkdir()
    (tmp_path / "_includes" / "box.html").write_text("[box]", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-c", _SWAP_AFTER_CHECK, str(tmp_path)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("'ab'") and "not a regular file" in result.stdout

"""Real Jekyll for differential tests: build a test site with Debian's ``jekyll`` (and ``ruby-jekyll-feed``) and
read what it wrote, so syndicate's reading of the same site can be compared with Jekyll's own."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from _serving import need_program

JEKYLL_TIMEOUT = 120


def jekyll_build(site: Path, dest: Path, *args: str, environment: str = "production") -> Path:
    """Build ``site`` into ``dest`` with real Jekyll (extra command-line ``args`` passed on); return ``dest``.

    Fails the test with Jekyll's output if the build fails. JEKYLL_ENV is ``environment``: production, as a site
    owner's deploy has it (jekyll-feed's ``disable_in_development`` depends on it).
    """
    program = need_program("jekyll")
    env = {**os.environ, "JEKYLL_ENV": environment, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
    done = subprocess.run(
        [program, "build", "--quiet", "--source", str(site), "--destination", str(dest), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=JEKYLL_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, f"jekyll build failed:\n{done.stdout}\n{done.stderr}"
    return dest

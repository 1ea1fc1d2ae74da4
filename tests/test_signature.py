"""The post files' signature: order-free, and kept by the changed files alone exactly as computed over all of them."""

from __future__ import annotations

from dataclasses import dataclass

from syndicate.signature import as_text, files_signature, records_signature, updated


@dataclass(frozen=True)
class Seen:
    size: int
    mtime_ns: int


def test_the_signature_does_not_depend_on_the_order_of_the_files() -> None:
    files = [("2024/a.md", 10, 1), ("b.md", 20, 2), ("c.md", 30, 3)]
    assert files_signature(files) == files_signature(reversed(files))
    assert files_signature(files) != files_signature(files[:2])
    assert files_signature([]) == 0 and len(as_text(files_signature(files))) == 32


def test_each_part_of_a_file_counts() -> None:
    base = files_signature([("a.md", 10, 1_000)])
    assert len({base, files_signature([("b.md", 10, 1_000)]), files_signature([("a.md", 11, 1_000)])}) == 3
    assert files_signature([("a.md", 10, 1_001)]) != base
    # The parts are kept apart: "a.md" of size 10 is not "a.md1" of size 0.
    assert files_signature([("a.md1", 0, 1_000)]) != base


def test_updated_by_the_changed_paths_equals_the_signature_computed_anew() -> None:
    before = {f"2024/{n:03d}.md": Seen(100 + n, 10**18 + n) for n in range(200)}
    after = dict(before)
    after["2024/007.md"] = Seen(107, 10**18 + 999)  # edited: another mtime
    after["2024/008.md"] = Seen(999, 10**18 + 8)  # another size
    del after["2024/009.md"]  # removed
    after["2025/new.md"] = Seen(5, 6)  # added
    changed = ["2024/007.md", "2024/008.md", "2024/009.md", "2025/new.md", "2024/010.md"]  # 010: read, unchanged
    assert updated(records_signature(before), before, after, changed) == records_signature(after)
    assert updated(records_signature(before), before, after, changed[:3]) != records_signature(after)
    # Back as it was: the sum comes back too.
    assert updated(records_signature(after), after, before, changed) == records_signature(before)

from __future__ import annotations

import os

import pytest

from syndicate import summaries


def test_summaries_come_back_as_written_from_their_regions() -> None:
    first = summaries.reserve(2)
    texts = ["", "plain", "右江河谷新闻 · 中文摘要", "emoji 🎉 and ünïcode", "x" * 1200]
    a, b = summaries.Writer(first), summaries.Writer(first + summaries.REGION)
    at_a = [a.add(t) for t in texts]
    at_b = [b.add(t.upper()) for t in texts]
    b.flush()  # regions are independent: written in any order
    a.flush()
    assert [summaries.read(at) for at in at_a] == texts
    assert [summaries.read(at) for at in at_b] == [t.upper() for t in texts]
    assert summaries.reserve(1) >= first + 2 * summaries.REGION  # later reservations never overlap


def test_a_forked_child_writes_what_the_parent_reads_and_reads_what_it_wrote() -> None:
    region = summaries.reserve(1)
    parent = summaries.Writer(region)
    mine = parent.add("written by the parent")
    parent.flush()
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: like a parse worker, then like an archive worker
        try:
            child = summaries.Writer(region + 100)
            at = child.add("written by the child, 子进程")
            child.flush()
            ok = summaries.read(mine) == "written by the parent"
            os.write(write_fd, f"{at} {int(ok)}".encode())
        finally:
            os._exit(0)
    os.close(write_fd)
    reply = os.read(read_fd, 100).decode().split()
    os.close(read_fd)
    os.waitpid(pid, 0)
    assert reply[1] == "1"
    assert summaries.read(int(reply[0])) == "written by the child, 子进程"


def test_an_oversized_summary_is_refused_not_cut() -> None:
    writer = summaries.Writer(summaries.reserve(1))
    with pytest.raises(ValueError):
        writer.add("x" * (1 << 20))


def test_what_fits_in_the_store_is_measured_in_utf8_bytes() -> None:
    assert summaries.fits("x" * ((1 << 20) - 1)) and not summaries.fits("x" * (1 << 20))
    assert summaries.fits("短" * 300_000) and not summaries.fits("短" * 400_000)  # three bytes each

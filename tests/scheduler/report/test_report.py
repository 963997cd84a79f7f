"""`unbrand report`: metrics.csv rows, thumbnails written through storage, gallery and summary."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from scheduler.report.builder import ReportError, write_report
from scheduler.report.plot import bucket_counts, choose_step, throughput_svg
from scheduler.settings import get_settings
from scheduler.storage import open_storage
from tests.fixtures.dashboard_data import Seeded, seed
from unbrand.cli.app import make_app


def _resolver(uri: str):  # type: ignore[no-untyped-def]
    return open_storage(uri, settings=get_settings())


@pytest.fixture
def seeded(db_session_factory: sessionmaker[Session], tmp_path: Path) -> Seeded:
    return seed(db_session_factory, tmp_path / "storage")


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_report_files(
    db_session_factory: sessionmaker[Session], seeded: Seeded, tmp_path: Path
) -> None:
    out = tmp_path / "report"
    files = write_report(db_session_factory, "alpha", out, resolver=_resolver, now=seeded.now)
    assert files.csv_rows == 10
    rows = _rows(out / "metrics.csv")
    assert [row["input_uri"].rsplit("/", 1)[-1] for row in rows] == [
        "img0.png", "img1.png", "img2.png", "img3.png", "bad0.jpg", "bad1.jpg", "huge.jpg",
        "run0.png", "wait0.png", "wait1.png",
    ]  # fmt: skip
    header = list(rows[0])
    assert header[:4] == ["id", "input_uri", "output_uri", "status"]
    assert header[-2:] == ["mask_ratio", "seam_score"]  # one column per metric key
    img2 = rows[2]
    assert (img2["status"], img2["read_ms"], img2["inference_ms"], img2["write_ms"]) == (
        "done", "100.0", "1500.0", "100.0"
    )  # fmt: skip
    assert img2["total_ms"] == "1700.0" and img2["seam_score"] == "2.0"
    assert img2["quality_score"] == "0.0" and img2["flagged"] == "true"
    assert img2["output_uri"] == seeded.uri("out/alpha/img2.png")
    assert rows[0]["flagged"] == "false" and rows[0]["quality_score"] == "1.0"
    huge = rows[6]
    assert huge["status"] == "failed" and huge["error"].startswith("ImageTooLargeError: 12")
    assert (huge["seam_score"], huge["output_uri"], huge["total_ms"]) == ("", "", "5.0")
    assert datetime.fromisoformat(rows[0]["finished_at"]) == seeded.now - timedelta(minutes=1)

    thumbs = sorted(path.name for path in (out / "thumbs").iterdir())
    done = ("img0.png", "img1.png", "img2.png", "img3.png")
    expected = [
        f"{seeded.job_ids[name]}_{which}.jpg" for name in done for which in ("input", "output")
    ]
    assert thumbs == sorted(expected)
    assert files.thumbnails == 8
    assert Image.open(out / "thumbs" / thumbs[0]).size == (256, 192)
    assert len(files.problems) == 6  # 3 failed + 1 running + 2 queued inputs are missing
    assert all("image" in problem or "file" in problem for problem in files.problems)


def test_gallery_page_links_every_thumbnail(
    db_session_factory: sessionmaker[Session], seeded: Seeded, tmp_path: Path
) -> None:
    out = tmp_path / "report"
    write_report(db_session_factory, "alpha", out, resolver=_resolver, max_gallery=3)
    html = (out / "index.html").read_text(encoding="utf-8")
    sources = re.findall(r'<img src="([^"]+)"', html)
    assert len(sources) == 6  # first 3 jobs, before and after
    assert all((out / source).is_file() for source in sources)
    assert "3 of 10 jobs shown (7 more in metrics.csv)" in html
    assert "file://" not in html


def test_morning_summary(
    db_session_factory: sessionmaker[Session], seeded: Seeded, tmp_path: Path
) -> None:
    out = tmp_path / "report"
    write_report(db_session_factory, "alpha", out, resolver=_resolver, now=seeded.now)
    html = (out / "summary.html").read_text(encoding="utf-8")
    kpis = dict(re.findall(r'<span class="label">([^<]+)</span><span class="value">(\d+)<', html))
    assert kpis == {
        "jobs": "10",
        "done": "4",
        "failed": "3",
        "left (queued + running)": "3",
        "flagged for review": "2",
    }
    worst = re.findall(r"<td>#(\d+) ", html)
    ids = seeded.job_ids
    order = ["img2.png", "img3.png", "img1.png", "img0.png"]  # quality 0.0, 0.4, 0.8, 1.0
    assert [int(job) for job in worst] == [ids[name] for name in order]
    assert '<img class="thumb" src="thumbs/' in html
    assert "<svg" in html and 'aria-label="throughput over time"' in html
    # 7 jobs finished between 30 and 1 minutes before now: 1-minute steps, 7 jobs in all
    bars = re.findall(r"<title>[^<]*: (\d+) jobs", html)
    assert sum(int(count) for count in bars) == 7 and len(bars) == 30
    text = " ".join(html.split())
    assert "job time mean 2.17 s, median 1.05 s, p95 6.50 s, max 6.50 s" in text
    assert "ImageInputError: cannot identify image file &#39;…&#39;" in html


def test_unknown_batch(db_session_factory: sessionmaker[Session], tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="no batch named 'ghost'"):
        write_report(db_session_factory, "ghost", tmp_path / "r", resolver=_resolver)


def test_empty_batch_report(
    db_session_factory: sessionmaker[Session], seeded: Seeded, tmp_path: Path
) -> None:
    files = write_report(db_session_factory, "empty", tmp_path / "r", resolver=_resolver)
    assert files.csv_rows == 0
    assert (tmp_path / "r" / "metrics.csv").read_text().startswith("id,input_uri,")
    summary = (tmp_path / "r" / "summary.html").read_text(encoding="utf-8")
    assert "No job has finished yet." in summary and "No job has a quality score yet." in summary


def test_report_command(sqlite_url: str, tmp_path: Path) -> None:
    from scheduler.db.migrate import upgrade
    from scheduler.db.session import make_engine, make_session_factory

    upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    seed(make_session_factory(engine), tmp_path / "storage")
    engine.dispose()
    runner = CliRunner()
    out = tmp_path / "cli-report"
    result = runner.invoke(make_app(), ["report", "alpha", "--out", str(out), "--db", sqlite_url])
    assert result.exit_code == 0, result.output
    assert "(10 jobs, 8 thumbnails)" in result.output
    assert len(_rows(out / "metrics.csv")) == 10
    missing = runner.invoke(make_app(), ["report", "nope", "--out", str(out), "--db", sqlite_url])
    assert missing.exit_code == 2 and "no batch named 'nope'" in missing.output


def test_plot_buckets_and_svg() -> None:
    first = datetime(2025, 3, 1, 6, 0, 30, tzinfo=UTC)
    assert choose_step(timedelta(minutes=30)) == timedelta(minutes=1)
    assert choose_step(timedelta(hours=8)) == timedelta(minutes=10)
    assert choose_step(timedelta(days=3)) == timedelta(hours=2)
    times = [first + timedelta(minutes=m) for m in (0, 0.2, 3, 9.9, 59)]
    series = bucket_counts(times, first=times[0], last=times[-1])
    assert series.step == timedelta(minutes=1)  # 59 min span -> 60 one-minute steps at most
    assert series.start == datetime(2025, 3, 1, 6, 0, tzinfo=UTC)
    assert len(series.counts) == 60 and series.total == 5
    assert series.counts[0] == 2 and series.counts[3] == 1 and series.counts[10] == 1  # 06:10:24
    assert series.counts[59] == 1
    svg = throughput_svg(series)
    assert svg.count("<rect") == 61  # the background and one bar per step
    assert ">03-01 06:00<" in svg and ">03-01 07:00<" in svg
    assert ">2<" in svg  # y axis max: 2 jobs/min
    from xml.etree import ElementTree
    ElementTree.parse(io.StringIO(svg))  # well-formed XML

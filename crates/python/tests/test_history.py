"""cpppo_rs.history reader and player: history files (plain and compressed, rotation sets)
read in time order, files written by cpppo 5.2.5's own logger, playback at a speed."""
import bz2
import gzip
import lzma
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cpppo_rs.errors import HistoryError
from cpppo_rs.history import player, reader, timestamp
from conftest import interop

SAMPLE = Path("/work/shared/reference/cpppo-5.2.5-history/logger_sample.txt")


def lines(start, count, step=1.0, serial=1):
    t = timestamp(start)
    return "".join("%s\t%d\t{\"40001\": %d}\n" % (t + i * step, serial, i) for i in range(count))


def test_reads_the_reference_sample_as_cpppo_wrote_it():
    recs = list(reader([SAMPLE]))
    assert [str(r.time) for r in recs] == [
        "2023-11-14 22:13:20.000", "2023-11-14 22:13:20.500", "2023-11-14 22:13:21.000"]
    assert recs[0].serial == ["SCADA", [0, 3]] and recs[0].value() == {"write": [1, 2, 3, 4]}
    assert recs[2].serial == 1 and recs[2].value() == {"40001": 99, "40002": 100}
    assert [r.line for r in recs] == [2, 3, 4]  # the comment line is skipped


def test_a_rotation_set_reads_oldest_first_across_compressions(tmp_path):
    base = tmp_path / "plant.hst"
    (tmp_path / "plant.hst.2.xz").write_bytes(lzma.compress(lines("2024-01-01 00:00:00", 3).encode()))
    (tmp_path / "plant.hst.1.bz2").write_bytes(bz2.compress(lines("2024-01-01 00:00:03", 3).encode()))
    (tmp_path / "plant.hst.0.gz").write_bytes(gzip.compress(lines("2024-01-01 00:00:06", 3).encode()))
    base.write_text(lines("2024-01-01 00:00:09", 3))
    (tmp_path / "other.hst").write_text(lines("2023-01-01 00:00:00", 1))  # not in the set
    r = reader(str(base))
    assert [Path(f).name for f in r.files] == ["plant.hst.2.xz", "plant.hst.1.bz2", "plant.hst.0.gz", "plant.hst"]
    times = [r.time.value for r in r]
    assert times == sorted(times) and len(times) == 12
    assert str(timestamp(times[0])) == "2024-01-01 00:00:00.000"
    bounded = list(reader(str(base), since="2024-01-01 00:00:04", until="2024-01-01 00:00:07"))
    assert [str(r.time) for r in bounded] == [
        "2024-01-01 00:00:04.000", "2024-01-01 00:00:05.000", "2024-01-01 00:00:06.000"]


def test_reads_a_file_written_by_cpppo_5_2_5s_logger(tmp_path):
    path = tmp_path / "cpppo.hst"
    script = ("import warnings; warnings.simplefilter('ignore')\n"
              "from cpppo.history import logger, timestamp\n"
              f"with logger({str(path)!r}) as l:\n"
              "    for i in range(5): l.write({'40001': i}, now=timestamp(1700000000 + i / 4), serial=i)\n")
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60, capture_output=True)
    recs = list(reader([path]))
    assert [r.value() for r in recs] == [{"40001": i} for i in range(5)]
    assert [r.serial for r in recs] == list(range(5))
    assert recs[-1].time - recs[0].time == pytest.approx(1.0)


def test_a_corrupt_line_is_skipped_and_reported_or_raised_when_strict(tmp_path):
    path = tmp_path / "bad.hst"
    path.write_text(lines("2024-01-01 00:00:00", 1) + "garbage line\n" + lines("2024-01-01 00:00:01", 1)
                    + "2024-99-01 00:00:00\t1\t{}\n")
    r = reader([path])
    assert len(list(r)) == 2
    assert len(r.errors) == 2 and ":2:" in r.errors[0] and "bad.hst" in r.errors[0]
    with pytest.raises(HistoryError, match=":2: expected <timestamp> TAB"):
        list(reader([path], strict=True))


def test_a_truncated_compressed_file_reports_and_keeps_what_it_read(tmp_path):
    path = tmp_path / "cut.hst.gz"
    data = gzip.compress(lines("2024-01-01 00:00:00", 200).encode())
    path.write_bytes(data[: len(data) // 2])
    r = reader([path])
    recs = list(r)
    assert 0 < len(recs) < 200 and r.errors


def test_missing_or_unreadable_history_raises_history_error(tmp_path):
    with pytest.raises(HistoryError, match="no such history file"):
        reader(str(tmp_path / "none.hst"))
    with pytest.raises(HistoryError, match="none.hst"):
        reader([tmp_path / "none.hst"])
    with pytest.raises(HistoryError, match="speed"):
        player([SAMPLE], speed=0)
    with pytest.raises(HistoryError, match="speed"):
        player([SAMPLE], speed="fast")


def test_the_player_paces_records_by_speed(tmp_path):
    path = tmp_path / "p.hst"
    path.write_text(lines("2024-01-01 00:00:00", 3, step=2.0))  # 4 s of history
    began = time.monotonic()
    got = [(r.time, time.monotonic() - began) for r in player([path], speed=20)]
    # 4 historical seconds at 20x: the last record no sooner than 0.2 s after the first.
    assert len(got) == 3 and got[2][1] - got[0][1] >= 0.19
    began = time.monotonic()
    assert len(list(player([path], speed=1e6))) == 3
    assert time.monotonic() - began < 5


def test_player_start_delays_the_first_record(tmp_path):
    path = tmp_path / "s.hst"
    path.write_text(lines("2024-01-01 00:00:01", 1))
    began = time.monotonic()
    list(player([path], speed=10, start="2024-01-01 00:00:00"))
    assert time.monotonic() - began >= 0.09


def test_an_empty_history_file_has_no_records():
    empty = SAMPLE.with_name("historize_sample.txt")
    r = reader([empty])
    assert list(r) == [] and r.errors == []


def test_reads_what_cpppo_enip_historize_recorded(spawn, tmp_path):
    """Our simulator records tag I/O (`cpppo enip historize`); our Python reader reads it back."""
    from cpppo_rs.enip import client
    hst = tmp_path / "plant.hst"
    sim = spawn([interop.cpppo_bin(), "enip", "historize", hst, "SCADA=INT[10]",
                 "--address", "127.0.0.1:0", "--no-config"])
    port = sim.port()
    before = timestamp()
    with client.connector("127.0.0.1", port) as conn:
        conn.write("SCADA[1-3]=(INT)7,8,9")
        assert conn.read("SCADA[0-3]") == [0, 7, 8, 9]
    sim.close()
    recs = list(reader(str(hst)))
    assert [(r.serial, r.value()) for r in recs] == [
        (["SCADA", [1, 3]], {"write": [7, 8, 9]}), (["SCADA", [0, 3]], {"read": [0, 7, 8, 9]})]
    assert all(before <= r.time <= timestamp() for r in recs)


def test_timestamp_local_uses_the_hosts_zone():
    script = ("from cpppo_rs.history import timestamp\n"
              "t = timestamp('2014-11-02 01:02:03.456 -06:00')\n"
              "print(timestamp.LOC, '|', t.local)\n"
              "t.local = '2014-07-01 12:00:00'\n"
              "print(t.utc)\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                         env={"TZ": "America/Edmonton", "PATH": "/usr/bin:/bin"}, check=True).stdout
    assert out.splitlines() == ["America/Edmonton | 2014-11-02 01:02:03 MDT", "2014-07-01 18:00:00.000"]


def test_other_threads_run_while_the_player_waits(tmp_path):
    import threading
    path = tmp_path / "gil.hst"
    path.write_text(lines("2024-01-01 00:00:00", 2, step=0.5))  # the second record 0.5 s later
    ticks, done = [], threading.Event()

    def tick():
        while not done.is_set():
            ticks.append(time.monotonic())
            time.sleep(0.01)

    p = player([path], speed=1.0)
    next(p)
    t = threading.Thread(target=tick)
    t.start()
    began = time.monotonic()
    next(p)
    ended = time.monotonic()
    done.set()
    t.join(10)
    inside = [x for x in ticks if began + 0.1 < x < ended - 0.1]
    assert ended - began >= 0.4 and len(inside) >= 5

"""The measurement CSV: Japanese and English headers, every problem with its row and column."""

from __future__ import annotations

from survey.domain import Band
from survey.points_csv import decode, normalise_header, parse_points

ENGLISH = "x,y,band,channel,rssi,snr,ssid,bssid,interference\n"
JAPANESE = "Ｘ座標(m),Y座標 (m),帯域,チャネル,受信強度(dBm),SN比,SSID,BSSID,干渉,測定時刻\n"


def parse(text: str):  # type: ignore[no-untyped-def]
    return parse_points(text, width_m=30, height_m=20, floor="1F", name="pts.csv")


def test_english_headers() -> None:
    result = parse(
        ENGLISH + "1,2,5GHz,36,-55,30,GUEST,00:11:22:aa:bb:cc,no\n3,4,2.4,6,-70,,,,yes\n"
    )
    assert result.problems == []
    assert [(p.band, p.channel, p.rssi_dbm, p.interference) for p in result.points] == [
        (Band.GHZ_5, 36, -55.0, False),
        (Band.GHZ_24, 6, -70.0, True),
    ]
    assert result.points[1].snr_db is None


def test_japanese_headers_and_shift_jis() -> None:
    text = JAPANESE + "１.5,2,5,40,-61,25,社内,,あり,10:00\n"
    result = parse(decode(text.encode("cp932")))
    assert result.problems == []
    [point] = result.points
    assert (point.x_m, point.ssid, point.interference) == (1.5, "社内", True)
    assert result.ignored_columns == ["測定時刻"]
    assert normalise_header("RSSI (dBm)") == "rssi"


def test_every_bad_row_is_reported_and_nothing_kept() -> None:
    text = ENGLISH + (
        "1,2,5,36,-55,,,,\n"  # row 2 good
        "31,2,5,36,-55,,,,\n"  # row 3 off the floor (x)
        "1,2,5,37,-55,,,,\n"  # row 4 bad channel
        "1,x,7,36,loud,,,,maybe\n"  # row 5: y, band, rssi, interference
    )
    result = parse(text)
    assert result.points == []
    locations = [p.location for p in result.problems]
    assert locations == [
        "pts.csv row 3, column x",
        "pts.csv row 4, column channel",
        "pts.csv row 5, column y",
        "pts.csv row 5, column band",
        "pts.csv row 5, column rssi",
        "pts.csv row 5, column interference",
    ]
    assert "outside floor 1F" in result.problems[0].message


def test_missing_columns_are_named() -> None:
    result = parse("x,y,rssi\n1,2,-50\n")
    assert [str(p) for p in result.problems] == ["pts.csv row 1: missing column(s): band, channel"]


def test_empty_file_and_header_only() -> None:
    assert parse("").problems[0].message == "the file is empty"
    assert parse(ENGLISH).problems[0].message == "no measurement rows"

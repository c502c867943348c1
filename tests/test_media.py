"""Building the queue from media.paths: folders in natural order, playlists, streams."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from headunit.media import (
    Bounds,
    expand,
    natural_key,
    playlist_titles,
    read_playlist_entries,
    scan,
)


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


def test_folders_play_in_natural_order_files_before_subfolders(tmp_path: Path) -> None:
    usb = tmp_path / "usb"
    for name in [
        "Track 10.mp3",
        "Track 2.mp3",
        "track 1.flac",
        "cover.jpg",
        ".hidden.mp3",
        "notes.txt",
        "clip.MKV",
    ]:
        touch(usb / name)
    touch(usb / "Disc 10" / "01.ogg")
    touch(usb / "Disc 9" / "01.ogg")
    touch(usb / "Disc 9" / "02.ogg")
    names = [str(Path(p).relative_to(usb)) for p in scan([str(usb)])]
    assert names == [
        "clip.MKV",
        "track 1.flac",
        "Track 2.mp3",
        "Track 10.mp3",
        "Disc 9/01.ogg",
        "Disc 9/02.ogg",
        "Disc 10/01.ogg",
    ]


def test_playlists_expand_in_their_order_with_relative_paths_and_urls(tmp_path: Path) -> None:
    touch(tmp_path / "a" / "x.mp3")
    touch(tmp_path / "b.flac")
    m3u = tmp_path / "a" / "list.m3u8"
    m3u.write_text(
        "\ufeff#EXTM3U\n#EXTINF:1,Radio\nhttps://radio.example/stream\n\n../b.flac\nx.mp3\n"
        f"file://{tmp_path}/b.flac\n",
        encoding="utf-8",
    )
    pls = tmp_path / "radio.pls"
    pls.write_text(
        "[playlist]\nFile2=http://two.example/s\nFile1=http://one.example/s\n"
        "Title1=One\nNumberOfEntries=2\n"
    )
    queue = scan([str(m3u), str(pls), "http://direct.example/live"])
    assert queue == [
        "https://radio.example/stream",
        str(tmp_path / "b.flac"),
        str(tmp_path / "a" / "x.mp3"),
        str(tmp_path / "b.flac"),
        "http://one.example/s",
        "http://two.example/s",
        "http://direct.example/live",
    ]


def test_missing_paths_and_bad_playlists_are_skipped(tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.INFO)
    broken = tmp_path / "broken.pls"
    broken.write_text("this is not ini [[[")
    assert scan([str(tmp_path / "nope"), str(broken), "smb://server/share"]) == []
    assert "nope is not there" in caplog.text
    assert "malformed .pls playlist: File contains no section headers." in caplog.messages[1]


def test_natural_key_orders_numbers_by_value() -> None:
    names = ["a10", "a9", "A1", "b", "a01x"]
    assert sorted(names, key=natural_key) == ["A1", "a01x", "a9", "a10", "b"]


def test_scans_skip_fifos_and_open_walks_are_bounded(tmp_path: Path) -> None:
    usb = tmp_path / "usb"
    touch(usb / "a.flac")
    os.mkfifo(usb / "pipe.flac")  # opening it would block the scan for ever
    touch(usb / "1" / "2" / "3" / "deep.flac")
    touch(usb / "b.flac")
    assert [Path(p).name for p in scan([str(usb)])] == ["a.flac", "b.flac", "deep.flac"]
    shallow = expand(str(usb), Bounds(depth=2, entries=100))
    assert [Path(p).name for p in shallow] == ["a.flac", "b.flac"]
    assert len(expand(str(usb), Bounds(depth=10, entries=1))) == 1
    assert expand(str(usb / "pipe.flac")) == []


def test_playlists_from_windows_sticks(tmp_path: Path) -> None:
    stick = tmp_path / "stick"
    song = touch(stick / "Música" / "Café.mp3")
    other = touch(stick / "Lists" / "Old" / "b.mp3")
    outside = touch(tmp_path / "home" / "c.flac")
    m3u = stick / "Lists" / "mix.m3u"
    m3u.write_bytes(
        "#EXTM3U\r\n#EXTINF:215,Édith - Café\r\n\\Música\\Café.mp3\r\n"
        "#EXTINF:-1,\r\nOld\\b.mp3\r\n"
        f"E:\\Música\\Café.mp3\r\n{outside}\r\n".encode("cp1252")
    )
    entries = read_playlist_entries(m3u)
    assert entries == [
        (str(song), "Édith - Café"),  # rooted at the stick, read as Windows-1252
        (str(other), None),  # relative, with backslashes; an empty #EXTINF title is none
        (str(song), None),  # a drive letter: the stick's root too
        (str(outside), None),  # outside the stick: the user's own file, kept
    ]
    assert playlist_titles([str(m3u)]) == {str(song): "Édith - Café"}

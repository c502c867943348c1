"""Cover art lookup: embedded pictures extracted once, else the usual files beside the track."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from mutagen.flac import FLAC, Picture
from mutagen.id3 import APIC
from mutagen.oggvorbis import OggVorbis
from mutagen.wave import WAVE

from headunit.player.artwork import find_art

PNG = b"\x89PNG\r\n\x1a\n" + b"front cover"
JPEG = b"\xff\xd8\xff\xe0" + b"back cover"


def sox(path: Path) -> Path:
    subprocess.run(
        ["sox", "-n", "-r", "8000", str(path), "synth", "0.2", "sine", "440"], check=True
    )
    return path


def picture(data: bytes, kind: int) -> Picture:
    pic = Picture()
    pic.data, pic.type, pic.mime = data, kind, "image/whatever"
    return pic


def file_of(uri: str | None) -> Path:
    assert uri is not None
    assert uri.startswith("file://")
    return Path(urlsplit(uri).path)


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def test_flac_front_cover_is_extracted(tmp_path: Path, cache: Path) -> None:
    track = sox(tmp_path / "a.flac")
    audio = FLAC(track)
    audio.add_picture(picture(JPEG, 4))  # back cover first
    audio.add_picture(picture(PNG, 3))
    audio.save()
    art = file_of(find_art(str(track), cache))
    assert art.parent == cache
    assert art.suffix == ".png"
    assert art.read_bytes() == PNG


def test_one_album_shares_one_extracted_file(tmp_path: Path, cache: Path) -> None:
    uris = []
    for name in ("1.flac", "2.flac"):
        audio = FLAC(sox(tmp_path / name))
        audio.add_picture(picture(PNG, 3))
        audio.save()
        uris.append(find_art((tmp_path / name).as_uri(), cache))
    assert uris[0] == uris[1]
    before = file_of(uris[0]).stat().st_mtime_ns
    assert find_art(str(tmp_path / "1.flac"), cache) == uris[0]
    assert file_of(uris[0]).stat().st_mtime_ns == before  # not written again
    assert len(list(cache.iterdir())) == 1


def test_id3_picture_in_a_wav(tmp_path: Path, cache: Path) -> None:
    track = sox(tmp_path / "a.wav")
    audio = WAVE(track)
    audio.add_tags()
    audio.tags.add(APIC(encoding=3, mime="image/jpeg", type=3, desc="", data=JPEG))
    audio.save()
    assert file_of(find_art(str(track), cache)).read_bytes() == JPEG


def test_vorbis_picture_block(tmp_path: Path, cache: Path) -> None:
    track = sox(tmp_path / "a.ogg")
    audio = OggVorbis(track)
    block = base64.b64encode(picture(PNG, 3).write()).decode()
    audio["metadata_block_picture"] = [block]
    audio.save()
    assert file_of(find_art(str(track), cache)).read_bytes() == PNG


@pytest.mark.parametrize("name", ["cover.jpg", "Folder.JPG", "front.png"])
def test_a_file_beside_the_track(tmp_path: Path, cache: Path, name: str) -> None:
    track = sox(tmp_path / "a.flac")
    (tmp_path / name).write_bytes(JPEG)
    assert find_art(str(track), cache) == (tmp_path / name).as_uri()


def test_cover_is_preferred_to_front(tmp_path: Path, cache: Path) -> None:
    track = sox(tmp_path / "a.flac")
    for name in ("front.jpg", "cover.jpg"):
        (tmp_path / name).write_bytes(JPEG)
    assert find_art(str(track), cache) == (tmp_path / "cover.jpg").as_uri()


def test_a_broken_file_still_finds_the_cover_beside_it(tmp_path: Path, cache: Path) -> None:
    track = tmp_path / "broken.flac"
    track.write_bytes(b"fLaC not really")
    (tmp_path / "cover.jpg").write_bytes(JPEG)
    assert find_art(str(track), cache) == (tmp_path / "cover.jpg").as_uri()


def test_no_art_at_all(tmp_path: Path, cache: Path) -> None:
    assert find_art(str(sox(tmp_path / "a.flac")), cache) is None
    assert find_art(str(tmp_path / "missing.flac"), cache) is None


def test_remote_streams_have_no_local_art(cache: Path) -> None:
    assert find_art("https://radio.example/stream.mp3", cache) is None
    assert not cache.exists()

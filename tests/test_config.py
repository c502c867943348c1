"""Configuration: every key of the example is valid, every error names its key, and the
CLI exits 78 (EX_CONFIG) on a bad file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from headunit.backend import config as server_settings
from headunit.config import EX_CONFIG, SECTIONS, Config, ConfigError, find, load, parse, read_toml

EXAMPLE = Path(__file__).parent.parent / "config.example.toml"


def test_the_example_is_valid_and_documents_every_key() -> None:
    config = load(EXAMPLE)
    server = server_settings.parse(read_toml(EXAMPLE)).server  # `headunit backend`'s part
    text = EXAMPLE.read_text()
    sections = {name: getattr(config, name) for name in SECTIONS} | {"server": server}
    for section, values in sections.items():
        for key in values.__dataclass_fields__:
            documented = f"\n{key} =" in text or f"[{section}.{key}]" in text
            assert documented, f"{section}.{key} is not in config.example.toml"


def test_the_car_leaves_the_backends_section_to_the_backend() -> None:
    """One file for car and backend (a demo, a test) keeps working for `headunit run`."""
    config = parse({"server": {"port": 4000, "anything": "the backend checks it"}})
    assert config == Config()


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (
            {"player": {"startup_volume_max": "loud"}},
            'player.startup_volume_max: expected an integer 0..100, got "loud"',
        ),
        ({"player": {"startup_volume_max": 101}}, "player.startup_volume_max: expected an integer"),
        ({"player": {"resume": "maybe"}}, "player.resume: expected one of play, pause, off"),
        ({"player": {"volume": 3}}, "player.volume: unknown key"),
        ({"media": {"paths": "~/Music"}}, "media.paths: expected a list of strings"),
        ({"mpris": {"name": "9lives"}}, "mpris.name: expected letters"),
        ({"mpris": {"bus": "car"}}, "mpris.bus: expected one of session, system"),
        ({"backend": {"url": "ftp://x"}}, "backend.url: expected an http(s) or ws(s) URL"),
        ({"backend": {"heartbeat_seconds": float("nan")}}, "backend.heartbeat_seconds"),
        ({"stereo": {}}, "stereo: unknown section"),
        ({"player": {"replaygain": "loud"}}, "player.replaygain: expected one of off, track"),
        ({"player": {"replaygain_preamp": 20}}, "player.replaygain_preamp: expected a number"),
        ({"player": {"mpv_options": {"af": []}}}, "player.mpv_options: af: expected a string"),
        ({"player": 5}, "player: expected a table"),
        ({"sources": {"players": "phone"}}, "sources.players: expected a list of strings"),
        (
            {"sources": {"players": ["org.mpris.MediaPlayer2.vlc"]}},
            "sources.players: expected patterns for the part after org.mpris.MediaPlayer2.",
        ),
        ({"sources": {"settle": -1}}, "sources.settle: expected a number 0..3600"),
        ({"sources": {"resume_after": "yes"}}, "sources.resume_after: expected true or false"),
    ],
)
def test_errors_name_the_key(document: dict, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(document)
    assert str(caught.value).startswith(message)


def test_defaults_and_search_order(tmp_path: Path) -> None:
    assert Config().player.startup_volume_max == 60
    explicit = tmp_path / "a.toml"
    env_file = tmp_path / "b.toml"
    assert find(str(explicit), {"HEADUNIT_CONFIG": str(env_file)}) == explicit
    assert find(None, {"HEADUNIT_CONFIG": str(env_file)}) == env_file
    xdg = tmp_path / "xdg"
    (xdg / "headunit").mkdir(parents=True)
    (xdg / "headunit" / "config.toml").write_text("")
    if not Path("/etc/headunit/config.toml").exists():
        assert find(None, {"XDG_CONFIG_HOME": str(xdg)}) == xdg / "headunit" / "config.toml"


def headunit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "headunit", *args], capture_output=True, text=True, timeout=60
    )


def test_check_config_accepts_the_example() -> None:
    result = headunit("check-config", str(EXAMPLE))
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("verb", ["check-config", "run"])
def test_a_broken_config_exits_78_naming_the_key(tmp_path: Path, verb: str) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[player]\nstartup_volume_max = "loud"\n')
    args = [verb, str(bad)] if verb == "check-config" else [verb, "--config", str(bad)]
    result = headunit(*args)
    assert result.returncode == EX_CONFIG
    assert 'player.startup_volume_max: expected an integer 0..100, got "loud"' in result.stderr


def test_not_toml_and_missing_files_exit_78(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("[player\n")
    assert headunit("check-config", str(broken)).returncode == EX_CONFIG
    result = headunit("run", "--config", str(tmp_path / "absent.toml"))
    assert result.returncode == EX_CONFIG
    assert "no such file" in result.stderr


def test_an_mpv_option_mpv_refuses_exits_78_naming_the_key(tmp_path: Path) -> None:
    """mpv judges [player] mpv_options at start; the daemon does not start half-way."""
    config = tmp_path / "mpv.toml"
    config.write_text(
        f'[media]\npaths = []\n[state]\ndir = "{tmp_path / "state"}"\n'
        '[player]\naudio_output = "null"\n'
        '[player.mpv_options]\ngapless-audio = "sometimes"\nvolume-max = 150\n'
    )
    result = headunit("run", "--config", str(config))
    assert result.returncode == EX_CONFIG, result.stderr
    assert "player.mpv_options.gapless-audio: mpv refused 'sometimes'" in result.stderr

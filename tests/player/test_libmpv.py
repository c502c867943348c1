"""The loadfile form and the version check follow what the running libmpv reports."""

from __future__ import annotations

import re
from pathlib import Path

import mpv
import pytest

from headunit import cli
from headunit.player import libmpv
from headunit.player.libmpv import (
    LoadfileSyntax,
    UnsupportedLibmpv,
    check_client_api,
    client_api_version,
)

# loadfile as the two generations of mpv describe it in their command-list property.
MPV_035 = {"name": "loadfile", "args": [{"name": "url"}, {"name": "flags"}, {"name": "options"}]}
MPV_038 = {
    "name": "loadfile",
    "args": [{"name": "url"}, {"name": "flags"}, {"name": "index"}, {"name": "options"}],
}


def test_before_0_38_the_options_follow_the_flags() -> None:
    syntax = LoadfileSyntax.from_command_list([{"name": "stop", "args": []}, MPV_035])
    assert syntax.args("/m/a.ogg", "replace", "start=12.000") == [
        "loadfile",
        "/m/a.ogg",
        "replace",
        "start=12.000",
    ]


def test_from_0_38_an_index_comes_before_the_options() -> None:
    syntax = LoadfileSyntax.from_command_list([MPV_038])
    assert syntax.args("/m/a.ogg", "replace", "start=12.000") == [
        "loadfile",
        "/m/a.ogg",
        "replace",
        "-1",
        "start=12.000",
    ]


def test_a_library_without_loadfile_options_is_refused_by_name() -> None:
    with pytest.raises(UnsupportedLibmpv, match="loadfile takes no options"):
        LoadfileSyntax.from_command_list([{"name": "loadfile", "args": [{"name": "url"}]}])


def test_the_installed_library_is_read_not_guessed() -> None:
    player = mpv.MPV(vo="null", ao="null", config=False)
    try:
        syntax = LoadfileSyntax.from_command_list(player.command_list)
        found = re.search(r"(\d+)\.(\d+)", player.mpv_version)
    finally:
        player.terminate()
    assert found, player.mpv_version
    assert syntax.has_index == ((int(found[1]), int(found[2])) >= (0, 38))


def test_an_old_libmpv_is_refused_with_what_to_install() -> None:
    with pytest.raises(UnsupportedLibmpv, match=r"libmpv 0.34.1 \(client API 1.109\) is too old"):
        check_client_api((1, 109), "0.34.1")
    check_client_api(client_api_version(mpv.backend))  # the one installed here is fine


def test_the_daemon_refuses_a_too_old_libmpv_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # No libmpv older than 0.35 is installed here: raise the floor above the real one.
    monkeypatch.setattr(libmpv, "MIN_CLIENT_API", (99, 0))
    config = tmp_path / "config.toml"
    config.write_text(f'[state]\ndir = "{tmp_path / "state"}"\n')
    assert cli.main(["run", "--config", str(config)]) == 69
    err = capsys.readouterr().err
    assert "is too old: headunit needs libmpv 0.35 or newer" in err
    assert "Traceback" not in err

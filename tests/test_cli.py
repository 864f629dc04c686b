"""The console script, run in-process through its main()."""

import pytest

from unet_tutorial import cli


def test_sizes_traces_the_paper_tile(capsys):
    assert cli.main(["sizes", "--size", "572", "--padding", "valid"]) == 0
    out = capsys.readouterr().out
    assert "dec1:  392 ->  388" in out


def test_bad_value_gives_one_line_error_and_exit_2(capsys):
    assert cli.main(["summary", "--size", "100"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "96 and 112" in err[0]


def test_argparse_errors_exit_2():
    with pytest.raises(SystemExit) as exc:
        cli.main(["summary", "--padding", "full"])
    assert exc.value.code == 2


@pytest.mark.parametrize("command", ["summary", "sizes"])
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main([command, "--help"])
    assert exc.value.code == 0
    assert "usage: unet-tutorial" in capsys.readouterr().out

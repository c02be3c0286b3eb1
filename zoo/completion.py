"""``zoo completion SHELL``: a tab-completion script for the shell, generated from the
command line's own parser (shtab), so it knows every command and option there is,
those of installed plugins included."""

from __future__ import annotations

from typing import Any

SHELLS = ("bash", "zsh", "tcsh")


def add_parser(commands: Any) -> None:
    from zoo.cli import command_parser

    parser = command_parser(
        commands,
        "completion",
        "print a tab-completion script for your shell",
        "Print a script that makes the shell complete zoo's commands, options and "
        "choices. Load it from your shell's start-up file.",
        [
            "zoo completion bash > ~/.zoo.bash        # then: source ~/.zoo.bash in ~/.bashrc",
            "zoo completion zsh > ~/.zfunc/_zoo       # with ~/.zfunc on $fpath",
        ],
    )
    parser.add_argument("shell", choices=SHELLS, help="the shell to complete in")
    parser.set_defaults(handler=command_completion)


def command_completion(args: Any) -> int:
    import shtab

    from zoo.cli import build_parser

    print(shtab.complete(build_parser(), shell=args.shell), end="")
    return 0

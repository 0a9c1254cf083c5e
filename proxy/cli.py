"""The `oopsguard` command line: argument parsing and dispatch to each subcommand's module."""
from __future__ import annotations

import argparse
import os
import sys
from typing import Callable, Sequence

from proxy.config import Config, ConfigError, load_config

EXIT_OK = 0
EXIT_HELD = 1
EXIT_USAGE = 2


def default_config_dir() -> str:
    return os.environ.get("OOPSGUARD_CONFIG") or "./config"


def load_or_exit(directory: str) -> Config:
    """Load the configuration or print `file: key: reason` lines and exit 2 (never a traceback)."""
    try:
        return load_config(directory)
    except ConfigError as error:
        for problem in error.problems:
            print(f"oopsguard: config error: {problem}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE) from None


def _cmd_serve(args: argparse.Namespace) -> int:
    from proxy.server import serve_command

    return serve_command(args)


def _cmd_check(args: argparse.Namespace) -> int:
    from proxy.cmd_check import check_command

    return check_command(args)


def _cmd_held(args: argparse.Namespace) -> int:
    from proxy.cmd_held import held_command

    return held_command(args)


def _cmd_digest(args: argparse.Namespace) -> int:
    from proxy.digest import digest_command

    return digest_command(args)


def _cmd_config(args: argparse.Namespace) -> int:
    from proxy.rulecheck import unknown_rule_problems

    directory = args.dir or args.config
    config = load_or_exit(directory)
    problems = unknown_rule_problems(config)
    for problem in problems:
        print(f"oopsguard: config error: {problem}", file=sys.stderr)
    if problems:
        return EXIT_USAGE
    print(f"{directory}: configuration is valid ({len(config.teams)} teams: {', '.join(sorted(config.teams))})")
    return EXIT_OK


class _Parser(argparse.ArgumentParser):
    """argparse that exits 2 with a one-line reason (its default already uses 2)."""


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", default=default_config_dir(), metavar="DIR",
                        help="configuration directory (default: $OOPSGUARD_CONFIG, else ./config)")
    parser = _Parser(prog="oopsguard", description="Outbound SMTP guard for apology and oops mail.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", parents=[common], help="run the SMTP proxy")
    serve.set_defaults(handler=_cmd_serve)

    check = commands.add_parser("check", parents=[common], help="lint messages (.eml) without sending")
    check.add_argument("--team", default=None, help="check as this team (default: chosen from the sender)")
    check.add_argument("--format", choices=("text", "json"), default="text")
    check.add_argument("files", nargs="+", metavar="FILE", help="message files, or - for standard input")
    check.set_defaults(handler=_cmd_check)

    held = commands.add_parser("held", parents=[common], help="manage held and deferred messages")
    held_commands = held.add_subparsers(dest="held_command", required=True, metavar="ACTION")
    held_list = held_commands.add_parser("list", parents=[common], help="list held and deferred messages")
    held_list.add_argument("--all", action="store_true", help="include released, dropped and fixed messages")
    held_show = held_commands.add_parser("show", parents=[common], help="show one held message and its findings")
    held_show.add_argument("id")
    held_release = held_commands.add_parser("release", parents=[common], help="relay a held message now")
    held_release.add_argument("id")
    held_release.add_argument("--reason", required=True, help="why it may go out as it is (recorded)")
    held_drop = held_commands.add_parser("drop", parents=[common], help="discard a held message")
    held_drop.add_argument("id")
    held.set_defaults(handler=_cmd_held)

    digest = commands.add_parser("digest", parents=[common], help="build and send the weekly digests")
    digest.add_argument("--team", default=None)
    digest.add_argument("--week", default=None, metavar="YYYY-Www", help="ISO week, default: the last full week")
    digest.add_argument("--dry-run", action="store_true", help="print the digest instead of sending it")
    digest.set_defaults(handler=_cmd_digest)

    config = commands.add_parser("config", parents=[common], help="configuration tools")
    config_commands = config.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    config_check = config_commands.add_parser("check", parents=[common], help="validate a configuration directory")
    config_check.add_argument("dir", nargs="?", default=None, metavar="DIR")
    config.set_defaults(handler=_cmd_config)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

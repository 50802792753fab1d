"""Global options that a command line may give anywhere: before or after the sub-command.

`venue-admin instrument halt BTC-PERP --yes` and `venue-admin --yes instrument halt BTC-PERP`
mean the same; so do `venue --log-level debug run` and `venue run --log-level debug`.

Invariants:
- The root parser holds each global option with its real default; every sub-parser below it
  holds the same option with `argparse.SUPPRESS` as default, so a sub-parser only sets the
  attribute when the option is actually given there, and never resets what an earlier
  position set.
- No sub-command may define an option of the same name (argparse would raise at build time).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator

__all__ = ["AddGlobals", "globals_anywhere", "sub_parsers"]

AddGlobals = Callable[[argparse.ArgumentParser, object], None]
"""Adds the global options to a parser; the second argument is the default to use (`None`
means each option's own default, `argparse.SUPPRESS` leaves the attribute unset)."""


def sub_parsers(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    """Every parser below `parser`, depth first (each once)."""
    seen: set[int] = set()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                if id(child) in seen:
                    continue  # aliases share one parser
                seen.add(id(child))
                yield child
                yield from sub_parsers(child)


def globals_anywhere(parser: argparse.ArgumentParser, add: AddGlobals) -> None:
    """Give `parser` its global options, and every sub-parser the same ones (SUPPRESS)."""
    add(parser, None)
    for child in sub_parsers(parser):
        add(child, argparse.SUPPRESS)

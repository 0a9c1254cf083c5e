"""The one Jinja2 environment for the proxy's mail templates (bounces, notices, digests)."""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Callable

import jinja2


@lru_cache(maxsize=1)
def _base_environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("proxy", "templates"),
        # HTML templates are autoescaped; text templates are not (the sender would see &lt; in plain text).
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "html.j2"), default=False,
                                            default_for_string=False),
        # A template typo fails loudly in tests instead of rendering an empty field.
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def template_environment(**filters: Callable[..., Any]) -> jinja2.Environment:
    """The shared environment with the given filters registered (idempotent: same names, same functions)."""
    environment = _base_environment()
    for name, function in filters.items():
        environment.filters.setdefault(name, function)
    return environment

"""Built-in rules, one module per family; ALL_RULES lists them in SPEC section 4 order."""
from checks.model import Check
from checks.rules import apology, blame, facts, service, timing

_SPEC_ORDER = (
    "blame-names",
    "public-self-blame",
    "same-day-solution",
    "no-update-time",
    "late-update",
    "speculation",
    "single-option",
    "non-apology",
    "excuse",
    "self-focus",
    "deflection",
    "gratitude-swap",
    "incomplete-apology",
)


def _spec_position(check: Check) -> int:
    return _SPEC_ORDER.index(check.id) if check.id in _SPEC_ORDER else len(_SPEC_ORDER)


# Sorted, not de-duplicated: a repeated id must reach the Registry, which refuses it.
ALL_RULES: tuple[Check, ...] = tuple(
    sorted((check for module in (blame, timing, facts, apology, service) for check in module.RULES), key=_spec_position)
)

"""Built-in rules, one module per family; ALL_RULES lists them in SPEC order."""
from checks.model import Check

ALL_RULES: tuple[Check, ...] = ()

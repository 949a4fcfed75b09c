"""YAML as users write it: numbers read as YAML 1.2 reads them.

PyYAML follows YAML 1.1, where `1e-5`, `1e3` and `1.0e5` (an exponent without a dot or without a
sign) are strings. A scenario's `crash_cost: 1e3` or an inline space's `upper: 1e1` means a number.
"""

from __future__ import annotations

import re
from typing import Any

import yaml


class Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2's floats: any decimal mantissa with an exponent."""


Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."))


def load(text: str) -> Any:
    """Parse YAML text (one document) with `Loader`; raises yaml.YAMLError."""
    return yaml.load(text, Loader=Loader)  # noqa: S506 - a SafeLoader subclass

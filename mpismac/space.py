"""Configuration spaces: loading through ConfigSpace's own readers, and plain JSON values."""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from ConfigSpace import Configuration, ConfigurationSpace


def load_configspace(spec: Any, base_dir: Path) -> ConfigurationSpace:
    """A ConfigurationSpace from an object, a serialized dict, or a .json/.yaml/.pcs file.

    Raises ValueError with a reason a user can act on.
    """
    if isinstance(spec, ConfigurationSpace):
        return spec
    if isinstance(spec, Mapping):
        if "hyperparameters" not in spec:
            raise ValueError("an inline configuration space needs a 'hyperparameters' list "
                             "(ConfigSpace's serialized dict, as ConfigurationSpace.to_serialized_dict() writes)")
        return ConfigurationSpace.from_serialized_dict(dict(spec))
    if not isinstance(spec, (str, Path)):
        raise ValueError(f"expected a file path or an inline ConfigSpace dict, got {type(spec).__name__}")
    path = Path(spec)
    if not path.is_absolute():
        path = base_dir / path
    if not path.is_file():
        raise ValueError(f"file not found: {path}")
    suffix = path.suffix.lower()
    if suffix == ".json":
        return ConfigurationSpace.from_json(path)
    if suffix in (".yaml", ".yml"):
        return ConfigurationSpace.from_yaml(path)
    if suffix == ".pcs":  # ConfigSpace deprecated its pcs readers but keeps them; users still have .pcs files
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from ConfigSpace.read_and_write import pcs, pcs_new

            text = path.read_text().splitlines()
            try:
                return pcs_new.read(text)
            except Exception:  # the old pcs dialect
                return pcs.read(text)
    raise ValueError(f"unknown configuration space format '{suffix}' (use .json, .yaml or .pcs)")


def configspace_to_json(cs: ConfigurationSpace) -> str:
    return json.dumps(cs.to_serialized_dict(), sort_keys=True)


def configspace_from_json(text: str) -> ConfigurationSpace:
    return ConfigurationSpace.from_serialized_dict(json.loads(text))


def plain(value: Any) -> Any:
    """A numpy scalar as the Python scalar JSON can write."""
    return value.item() if isinstance(value, np.generic) else value


def config_values(config: Configuration | Mapping[str, Any]) -> dict[str, Any]:
    """The active hyperparameter values as plain JSON-able Python values."""
    return {k: plain(v) for k, v in dict(config).items()}


def config_key(values: Mapping[str, Any]) -> str:
    """A canonical text for a configuration's values, to find duplicates."""
    return json.dumps(values, sort_keys=True)


def to_configuration(cs: ConfigurationSpace, values: Mapping[str, Any]) -> Configuration:
    return Configuration(cs, values=dict(values))

"""Configuration spaces: loading through ConfigSpace's own readers, and plain JSON values."""

from __future__ import annotations

import copy
import json
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from ConfigSpace import Configuration, ConfigurationSpace

from . import yamlio

_NUMERIC_FIELDS = ("lower", "upper", "default_value", "mu", "sigma", "q")


def load_configspace(spec: Any, base_dir: Path) -> ConfigurationSpace:
    """A ConfigurationSpace from an object, a serialized dict, or a .json/.yaml/.pcs file.

    Raises ValueError with a reason a user can act on (which hyperparameter, which field): any
    error ConfigSpace raises while reading ends here, never as a traceback.
    """
    if isinstance(spec, ConfigurationSpace):
        return _non_empty(spec)
    if isinstance(spec, Mapping):
        return _non_empty(_from_dict(spec))
    if not isinstance(spec, (str, Path)):
        raise ValueError(f"expected a file path or an inline ConfigSpace dict, got {type(spec).__name__}")
    path = Path(spec)
    if not path.is_absolute():
        path = base_dir / path
    if not path.is_file():
        raise ValueError(f"file not found: {path}")
    suffix = path.suffix.lower()
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: cannot read the file ({exc})") from None
    if suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
        return _non_empty(_from_dict(data, path))
    if suffix in (".yaml", ".yml"):
        try:
            data = yamlio.load(text)
        except yaml.YAMLError as exc:
            raise ValueError(f"{path}: not valid YAML ({exc})") from None
        return _non_empty(_from_dict(data, path))
    if suffix == ".pcs":
        return _non_empty(_from_pcs(text, path))
    raise ValueError(f"unknown configuration space format '{suffix}' (use .json, .yaml or .pcs)")


def _from_dict(data: Any, path: Path | None = None) -> ConfigurationSpace:
    """ConfigSpace's serialized dict; a failure names the hyperparameter and field at fault."""
    where = f"{path}: " if path else ""
    if not isinstance(data, Mapping) or not isinstance(data.get("hyperparameters"), list):
        got = type(data).__name__ if not isinstance(data, Mapping) else "a mapping without it"
        raise ValueError(f"{where}expected ConfigSpace's serialized dict with a 'hyperparameters' list "
                         f"(as ConfigurationSpace.to_serialized_dict() writes), got {got}")
    try:
        return ConfigurationSpace.from_serialized_dict(copy.deepcopy(dict(data)))
    except Exception as exc:  # ConfigSpace raises KeyError, TypeError, numpy errors...: all user input
        raise ValueError(f"{where}{_culprit(data, exc)}") from None


def _culprit(data: Mapping[str, Any], exc: Exception) -> str:
    """Why a serialized space does not load: the first hyperparameter that fails on its own, or
    (all of them fine) the conditions and forbidden clauses."""
    for hp in data["hyperparameters"]:
        name = hp.get("name", "?") if isinstance(hp, Mapping) else "?"
        if not isinstance(hp, Mapping):
            return f"hyperparameter {hp!r}: expected a mapping"
        for key in _NUMERIC_FIELDS:
            value = hp.get(key)
            if isinstance(value, str) and hp.get("type") != "categorical" and "ordinal" not in str(hp.get("type")):
                return f"hyperparameter '{name}': '{key}' must be a number, got {value!r}"
        try:
            ConfigurationSpace.from_serialized_dict({"hyperparameters": [copy.deepcopy(dict(hp))]})
        except Exception as one:
            return f"hyperparameter '{name}': {_reason(one)}"
    return f"conditions or forbidden clauses: {_reason(exc)}"


def _reason(exc: Exception) -> str:
    text = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
    return f"{text} ({type(exc).__name__})" if text else type(exc).__name__


def _from_pcs(text: str, path: Path) -> ConfigurationSpace:
    """ConfigSpace deprecated its pcs readers but keeps them; users still have .pcs files."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from ConfigSpace.read_and_write import pcs, pcs_new

        lines = text.splitlines()
        try:
            return pcs_new.read(lines)
        except Exception as new_exc:
            try:
                return pcs.read(lines)  # the old pcs dialect
            except Exception:
                raise ValueError(f"{path}: not a readable .pcs file: {_reason(new_exc)}") from None


def _non_empty(cs: ConfigurationSpace) -> ConfigurationSpace:
    if len(cs) == 0:
        raise ValueError("the configuration space has no hyperparameters: there is nothing to tune")
    return cs


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

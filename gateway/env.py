"""Numbers from the environment (``HOTLINE_*`` settings that are not in ``config/``): a value out of
its range, NaN, an infinity or a word stops start-up with a :class:`ConfigError` naming the variable,
never a traceback or a worker that fails later."""

from __future__ import annotations

from collections.abc import Mapping

from gateway.errors import ConfigError


def env_number(
    env: Mapping[str, str], name: str, default: float, low: float, high: float, unit: str
) -> float:
    """``env[name]`` as a number in ``[low, high]`` (``default`` when unset)."""
    raw = env.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not low <= value <= high:  # NaN fails both comparisons
        raise ConfigError([f"{name}: {raw!r} is not a number of {unit} ({low:g} to {high:g})"])
    return value

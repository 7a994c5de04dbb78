"""Loading and validating the configuration directory (``config/`` holds the sample city).

Files: ``gateway.yaml`` (the centre, operator token, intake and delivery settings), ``channels.yaml``,
``units.yaml``, ``routing.yaml`` and the taxonomy CSV it names; optionally ``sla.yaml`` (time limits,
:mod:`gateway.sla`). Every string may use ``${VAR}`` or ``${VAR:-default}``; ``$${`` writes a literal
``${``. Secrets (``SecretStr`` fields) must be given by reference. Every problem is
reported as ``file: path: problem`` and start-up stops.
"""

from __future__ import annotations

import os
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from difflib import get_close_matches
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from gateway.errors import ConfigError
from gateway.health.settings import AlertSettings
from gateway.sla import DEFAULT_SLA, SlaConfig
from router import Network, RouterConfig, Taxonomy, Unit, build_gazetteer, build_router_config
from router.network import NetworkError

_VAR = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_SECRET_NAME = re.compile(r"TOKEN|KEY|SECRET|PASSWORD", re.IGNORECASE)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CentreSettings(_Strict):
    name: str = Field(description="The centre's name, shown to units and citizens.")
    appeal_no_prefix: str = Field(default="BB", pattern=r"^[A-Z]{1,8}$")
    event_source: str = Field(default="/hotline", description="CloudEvents `source` of deliveries.")


class IntakeSettings(_Strict):
    max_body_bytes: int = Field(default=1_048_576, ge=1024, description="Largest request accepted.")
    max_attempts: int = Field(default=5, ge=1, description="Tries before an entry is dead-lettered.")
    claim_idle_seconds: float = Field(
        default=30.0, gt=0, description="An entry a dead worker held this long is taken over."
    )


class DeliverySettings(_Strict):
    retry_schedule: tuple[float, ...] = Field(
        default=(0, 10, 60, 300, 900, 1800, 3600),
        description="Seconds to wait before each attempt (the first goes at once).",
    )
    then_every_seconds: float = Field(
        default=7200, ge=0, description="After the schedule, retry this often (0: stop there)."
    )
    give_up_after_seconds: float = Field(
        default=86400, gt=0, description="A delivery still failing this long after it was created is dead."
    )
    jitter: float = Field(default=0.1, ge=0, le=1, description="Random share added to each wait.")
    connect_timeout_seconds: float = Field(default=3.0, gt=0)
    total_timeout_seconds: float = Field(default=10.0, gt=0)
    lease_margin_seconds: float = Field(
        default=30.0,
        gt=0,
        description="A claimed delivery is leased for total_timeout_seconds plus this; a process "
        "killed mid-send leaves it to another once the lease runs out.",
    )
    per_unit_concurrency: int = Field(default=4, ge=1, description="Deliveries in flight to one unit.")
    breaker_failures: int = Field(
        default=5, ge=1, description="Consecutive failures that open a unit's circuit breaker."
    )
    breaker_cooldown_seconds: float = Field(
        default=60, gt=0, description="While open, deliveries to the unit wait this long, untried."
    )
    unreachable_alert_seconds: float = Field(
        default=600, gt=0, description="A unit failing this long raises an operator alert."
    )
    secret_overlap_hours: float = Field(
        default=24.0, ge=0, description="After a rotation, the old secret also signs this long."
    )


class GatewaySettings(_Strict):
    centre: CentreSettings
    operator_token: SecretStr = Field(description="Bearer token of the centre's operators.")
    intake: IntakeSettings = IntakeSettings()
    delivery: DeliverySettings = DeliverySettings()
    alerts: AlertSettings = AlertSettings()


class ChannelSpec(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")
    kind: str
    name: str
    enabled: bool = True
    settings: dict[str, Any] = Field(default_factory=dict)


@dataclass(frozen=True)
class Channel:
    """A configured channel: its spec and its settings validated by its adapter kind's model."""

    id: str
    kind: str
    name: str
    enabled: bool
    settings: BaseModel | None


@dataclass(frozen=True)
class Config:
    source: Path
    gateway: GatewaySettings
    channels: tuple[Channel, ...]
    network: Network
    router: RouterConfig
    demo_defaults: tuple[str, ...] = field(default=())
    sla: SlaConfig = DEFAULT_SLA  # from the optional sla.yaml

    @property
    def units(self) -> Mapping[str, Unit]:
        return self.network.units

    def channel(self, channel_id: str) -> Channel | None:
        return next((c for c in self.channels if c.id == channel_id), None)


class _Problems:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, file: str, path: str, problem: str) -> None:
        self.items.append(f"{file}: {path or '(top)'}: {problem}")

    def validation(self, file: str, prefix: str, error: ValidationError) -> None:
        for e in error.errors():
            loc = _join(prefix, *e["loc"])
            self.add(file, loc, e["msg"])


def _join(prefix: str, *parts: object) -> str:
    path = prefix
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


@dataclass
class _Substitution:
    env: Mapping[str, str]
    file: str = ""
    defaults_used: set[str] = field(default_factory=set)
    missing: list[tuple[str, str, str]] = field(default_factory=list)
    referenced: set[str] = field(default_factory=set)

    def string(self, value: str, path: str) -> str:
        def replace(match: re.Match[str]) -> str:
            if match.group(0) == "$${":
                return "${"
            name, default = match.group(1), match.group(2)
            self.referenced.add(f"{self.file}#{path}")
            if name in self.env and self.env[name] != "":
                if self.env[name] == default:  # set, but to the demo value itself
                    self.defaults_used.add(name)
                return self.env[name]
            if default is not None:
                self.defaults_used.add(name)
                return default
            self.missing.append((self.file, path, name))
            return ""

        return _VAR.sub(replace, value)

    def tree(self, node: Any, path: str = "") -> Any:
        if isinstance(node, str):
            return self.string(node, path)
        if isinstance(node, list):
            return [self.tree(v, _join(path, i)) for i, v in enumerate(node)]
        if isinstance(node, dict):
            return {k: self.tree(v, _join(path, str(k))) for k, v in node.items()}
        return node


def _secret_fields(model: type[BaseModel]) -> list[str]:
    names = []
    for name, info in model.model_fields.items():
        annotation = info.annotation
        args = typing.get_args(annotation) if isinstance(annotation, types.UnionType) else ()
        if annotation is SecretStr or SecretStr in args:
            names.append(name)
    return names


# libyaml's safe loader when PyYAML has it (about 3x faster on the generated places.yaml)
_SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read_yaml(path: Path, problems: _Problems) -> Any:
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_SAFE_LOADER)
    except FileNotFoundError:
        problems.add(path.name, "", "file not found")
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else ""
        problems.add(path.name, where, f"not valid YAML: {getattr(e, 'problem', e)}")
    return None


def load_config(
    directory: str | Path,
    *,
    kinds: Mapping[str, type[Any]],
    env: Mapping[str, str] | None = None,
) -> Config:
    """Load and validate ``directory``. ``kinds`` maps adapter kind -> adapter class (with
    ``Config``). Raises :class:`ConfigError` listing every problem found."""
    source = Path(directory)
    env = os.environ if env is None else env
    problems = _Problems()
    subst = _Substitution(env)
    raw: dict[str, Any] = {}
    for name in ("gateway.yaml", "channels.yaml", "units.yaml", "routing.yaml"):
        data = _read_yaml(source / name, problems)
        if data is not None and not isinstance(data, dict):
            problems.add(name, "", "expected a mapping at the top")
            data = None
        raw[name] = data
        if data is not None:
            subst.file = name
            data = subst.tree(data)
        raw[name + "#"] = data
    sla = _load_sla(source / "sla.yaml", subst, problems)
    for file, path, name in subst.missing:
        problems.add(file, path, f"${{{name}}} is not set and has no default")

    gateway = _load_gateway(raw["gateway.yaml#"], raw["gateway.yaml"], subst, problems)
    channels = _load_channels(raw["channels.yaml#"], raw["channels.yaml"], kinds, subst, problems)
    network = _load_units(raw["units.yaml#"], problems)
    router_config = _load_routing(source, raw["routing.yaml#"], network, problems)
    if problems.items or gateway is None or network is None or router_config is None:
        raise ConfigError(problems.items or ["configuration incomplete"])
    demo = tuple(sorted(n for n in subst.defaults_used if _SECRET_NAME.search(n)))
    return Config(source, gateway, tuple(channels), network, router_config, demo, sla)


def _load_sla(path: Path, subst: _Substitution, p: _Problems) -> SlaConfig:
    """The optional ``sla.yaml`` (time limits); the built-in defaults when it is absent."""
    if not path.exists():
        return DEFAULT_SLA
    data = _read_yaml(path, p)
    if not isinstance(data, dict):
        if data is not None:
            p.add(path.name, "", "expected a mapping at the top")
        return DEFAULT_SLA
    subst.file = path.name
    try:
        return SlaConfig.model_validate(subst.tree(data))
    except ValidationError as e:
        p.validation(path.name, "", e)
        return DEFAULT_SLA


def _check_secret_refs(
    file: str, prefix: str, model: type[BaseModel], data: Any, subst: _Substitution, p: _Problems
) -> None:
    if not isinstance(data, dict):
        return
    for name in _secret_fields(model):
        path = _join(prefix, name)
        if name in data and f"{file}#{path}" not in subst.referenced:
            p.add(file, path, "a secret must be given by reference, e.g. ${MY_SECRET}")


def _load_gateway(data: Any, raw: Any, subst: _Substitution, p: _Problems) -> GatewaySettings | None:
    if data is None:
        return None
    _check_secret_refs("gateway.yaml", "", GatewaySettings, raw, subst, p)
    try:
        return GatewaySettings.model_validate(data)
    except ValidationError as e:
        p.validation("gateway.yaml", "", e)
        return None


def _load_channels(
    data: Any, raw: Any, kinds: Mapping[str, type[Any]], subst: _Substitution, p: _Problems
) -> list[Channel]:
    file = "channels.yaml"
    if data is None:
        return []
    items = data.get("channels")
    if not isinstance(items, list):
        p.add(file, "channels", "expected a list of channels")
        return []
    channels: list[Channel] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        path = _join("channels", i)
        try:
            spec = ChannelSpec.model_validate(item)
        except ValidationError as e:
            p.validation(file, path, e)
            continue
        if spec.id in seen:
            p.add(file, _join(path, "id"), f"channel id {spec.id!r} is used twice")
        seen.add(spec.id)
        adapter = kinds.get(spec.kind)
        if adapter is None:
            if spec.enabled:
                hint = get_close_matches(spec.kind, list(kinds), n=1)
                more = f"; did you mean {hint[0]!r}?" if hint else f"; installed: {sorted(kinds)}"
                p.add(file, _join(path, "kind"), f"unknown adapter kind {spec.kind!r}{more}")
            channels.append(Channel(spec.id, spec.kind, spec.name, False, None))
            continue
        settings_path = _join(path, "settings")
        _check_secret_refs(file, settings_path, adapter.Config, raw["channels"][i].get("settings"), subst, p)
        try:
            settings = adapter.Config.model_validate(spec.settings)
        except ValidationError as e:
            p.validation(file, settings_path, e)
            continue
        channels.append(Channel(spec.id, spec.kind, spec.name, spec.enabled, settings))
    return channels


def _load_units(data: Any, p: _Problems) -> Network | None:
    file = "units.yaml"
    if data is None:
        return None
    items = data.get("units")
    if not isinstance(items, list):
        p.add(file, "units", "expected a list of units")
        return None
    units: list[Unit] = []
    for i, item in enumerate(items):
        try:
            units.append(Unit.model_validate(item))
        except ValidationError as e:
            p.validation(file, _join("units", i), e)
    try:
        return Network(units)
    except NetworkError as e:
        p.add(file, "units", str(e))
        return None


def _load_routing(source: Path, data: Any, network: Network | None, p: _Problems) -> RouterConfig | None:
    file = "routing.yaml"
    if data is None or network is None:
        return None
    taxonomy_file = data.get("taxonomy", "taxonomy.csv")
    try:
        taxonomy = Taxonomy.from_csv((source / taxonomy_file).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        p.add(file, "taxonomy", f"cannot read taxonomy {taxonomy_file!r}: {e}")
        return None
    places_file = str(data.get("places", "places.yaml"))
    places = _read_yaml(source / places_file, p)
    if places is None:
        return None
    if not isinstance(places, dict):
        p.add(places_file, "", "expected a mapping at the top")
        return None
    try:
        build_gazetteer(places)  # checked first, so its problems are reported against its own file
    except ValidationError as e:
        p.validation(places_file, "", e)
        return None
    except ValueError as e:
        p.add(places_file, getattr(e, "path", ""), str(e))
        return None
    learned = None
    if data.get("learned"):
        learned = _read_yaml(source / str(data["learned"]), p)
        if learned is None:
            return None
    try:
        return build_router_config(data, taxonomy, network, places, learned)
    except ValidationError as e:
        p.validation(file, "", e)
    except ValueError as e:
        where = getattr(e, "path", "")
        other = re.match(r"\((\S+?)\)\s*(.*)", where)
        if other is not None:
            p.add(other.group(1), other.group(2), str(e))
        else:
            p.add(file, where, str(e))
    return None

"""The router: taxonomy, network, rules and decisions. Pure: no I/O, no clock."""

from router.config import RouterConfig, RoutingConfigError, build_router_config
from router.decision import Candidate, Decision
from router.network import Network, Unit, UnitKind
from router.route import route
from router.taxonomy import Taxonomy, parse_path

__all__ = [
    "Candidate",
    "Decision",
    "Network",
    "RouterConfig",
    "RoutingConfigError",
    "Taxonomy",
    "Unit",
    "UnitKind",
    "build_router_config",
    "parse_path",
    "route",
]

"""The router: taxonomy, network, rules and decisions. Pure: no I/O, no clock."""

from router.config import RouterConfig, RoutingConfigError, build_router_config
from router.decision import Candidate, Decision
from router.network import Network, Unit, UnitKind
from router.places import Area, Gazetteer, Place, build_gazetteer
from router.route import Scores, emergency, route, score
from router.rules import RuleSpec
from router.suggest import Example, Suggestion, history_counts, suggest_keywords, with_keywords
from router.taxonomy import Taxonomy, parse_path

__all__ = [
    "Area",
    "Candidate",
    "Decision",
    "Example",
    "Gazetteer",
    "Network",
    "Place",
    "RouterConfig",
    "RoutingConfigError",
    "RuleSpec",
    "Scores",
    "Suggestion",
    "Taxonomy",
    "Unit",
    "UnitKind",
    "build_gazetteer",
    "build_router_config",
    "emergency",
    "history_counts",
    "parse_path",
    "route",
    "score",
    "suggest_keywords",
    "with_keywords",
]

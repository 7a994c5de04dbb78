"""What the router decides, and why."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from normalizer.schema import Urgency


class Candidate(BaseModel):
    model_config = ConfigDict(frozen=True)

    unit: str | None
    category: tuple[str, ...]
    score: float
    reason: str = Field(default="", description="The words that scored it and who would be responsible.")


class Decision(BaseModel):
    """A routing decision. ``unit`` is None when the appeal goes to the centre's manual queue."""

    model_config = ConfigDict(frozen=True)

    unit: str | None
    category: tuple[str, ...] = ()
    rule: str | None = Field(default=None, description="The rule that chose the unit.")
    confidence: float = Field(ge=0, le=1)
    urgency: Urgency | None = Field(default=None, description="Suggested grade, when words say so.")
    matched: tuple[str, ...] = Field(default=(), description="Keywords found in the appeal.")
    explanation: str
    candidates: tuple[Candidate, ...] = Field(
        default=(),
        description="Manual-queue decisions: the best first-level categories, each with the unit "
        "responsibility gives it and why, best first (up to 3).",
    )
    area: str | None = Field(default=None, description="Smallest gazetteer area named, if any.")
    place: tuple[str, ...] = Field(default=(), description="Names of that area, county first.")
    pass_to: str | None = Field(
        default=None, description="Territorial decisions: the town or street it may be passed down to."
    )

    @property
    def manual(self) -> bool:
        return self.unit is None

"""The conceptual simulation models (pydantic): what the LLM writes, as JSON.

Two kinds, told apart by ``kind``:

* ``process``: a discrete-event process: sources of entities, resources with a capacity
  (and an optional queue limit and discipline), activities that hold a resource for a
  random duration, routing with probabilities, run settings and KPIs.
* ``continuous``: system dynamics (stocks, flows, auxiliaries) and lumped ODEs (states
  with a derivative), parameters with units, events, time settings. Expressions are
  strings that sympy parses (``k*volume``, ``r*P*(1 - P/K)``).
"""
from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field

from ...core.jsonschema import ASK, bounded_str

EXIT = "exit"  # the routing destination that means "leaves the system"

MAX_ID, MAX_TEXT, MAX_EXPR, MAX_UNIT = 40, 60, 200, 30
MAX_ELEMENTS, MAX_ROUTES = 20, 8
Id = bounded_str(MAX_ID)
Text = bounded_str(MAX_TEXT)
Expr = bounded_str(MAX_EXPR)
Unit = bounded_str(MAX_UNIT)
# the decoding schema asks for these (see core.jsonschema.ASK); bounds are for decoding only
_ASK_ROUTES = ASK | {"maxItems": MAX_ROUTES}
_ASK_LIST = ASK | {"maxItems": MAX_ELEMENTS}

DistName = Literal["exponential", "constant", "uniform", "triangular", "normal", "lognormal"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Distribution(_Strict):
    """A random duration. ``mean`` or ``rate`` (exponential), ``low``/``high`` (uniform),
    ``low``/``mode``/``high`` (triangular), ``mean``/``sd`` (normal, lognormal), ``mean``
    (constant). ``unit`` is the time unit of these numbers (default: the model's)."""

    dist: DistName = Field("exponential", json_schema_extra=ASK)
    mean: float | None = None
    rate: float | None = None  # events per time unit (exponential only): mean = 1/rate
    low: float | None = None
    mode: float | None = None
    high: float | None = None
    sd: float | None = None
    unit: Unit | None = None

    def mean_value(self) -> float | None:
        """The mean in the distribution's own unit, when it is defined."""
        if self.dist == "uniform" and self.low is not None and self.high is not None:
            return (self.low + self.high) / 2
        if self.dist == "triangular" and None not in (self.low, self.mode, self.high):
            return (self.low + self.mode + self.high) / 3  # type: ignore[operator]
        if self.mean is not None:
            return self.mean
        if self.rate:
            return 1.0 / self.rate
        return None


class Route(_Strict):
    """Go to activity ``to`` (or ``exit``) with probability ``p``."""

    to: Id
    p: float = Field(1.0, json_schema_extra=ASK)


class Source(_Strict):
    id: Id
    interarrival: Distribution
    next: list[Route] = Field(default_factory=list, json_schema_extra=_ASK_ROUTES)
    limit: int | None = None  # at most this many arrivals
    priority: int = 0  # lower is served first where a resource's discipline is "priority"


class Resource(_Strict):
    id: Id
    capacity: int = Field(1, json_schema_extra=ASK)
    max_queue: int | None = None  # waiting places; an arrival finding them full balks (is lost)
    discipline: Literal["FIFO", "LIFO", "priority"] = "FIFO"


class Activity(_Strict):
    id: Id
    resource: Id | None = Field(None, json_schema_extra=ASK)  # None or "": a pure delay
    duration: Distribution
    next: list[Route] = Field(default_factory=list, json_schema_extra=_ASK_ROUTES)


class RunSettings(_Strict):
    unit: Unit | None = Field(None, json_schema_extra=ASK)  # time unit of horizon and warmup (parsing converts them to the model's time_unit)
    horizon: float
    warmup: float = Field(0.0, json_schema_extra=ASK)
    replications: int = Field(10, json_schema_extra=ASK)
    seed: int = Field(1, json_schema_extra=ASK)


KPI = Literal["wait", "time_in_system", "number_in_system", "queue_length", "utilisation", "throughput", "balked"]


class ProcessModel(_Strict):
    kind: Literal["process"] = Field("process", json_schema_extra=ASK)
    name: Text = Field("model", json_schema_extra=ASK)
    time_unit: Unit = Field("minute", json_schema_extra=ASK)
    sources: list[Source] = Field(default_factory=list, json_schema_extra=_ASK_LIST | {"minItems": 1})
    resources: list[Resource] = Field(default_factory=list, json_schema_extra=_ASK_LIST)
    activities: list[Activity] = Field(default_factory=list, json_schema_extra=_ASK_LIST | {"minItems": 1})
    run: RunSettings
    kpis: list[KPI] = Field(default_factory=lambda: ["wait", "utilisation"], json_schema_extra=ASK | {"maxItems": 7})

    def element_ids(self) -> list[str]:
        return [e.id for e in (*self.sources, *self.resources, *self.activities)]


class Stock(_Strict):
    id: Id
    initial: float = Field(0.0, json_schema_extra=ASK)
    unit: Unit | None = Field(None, json_schema_extra=ASK)
    non_negative: bool = False


class Flow(_Strict):
    """A rate into ``to`` and out of ``from`` (either may be left out: outside the model)."""

    id: Id
    from_: Id | None = Field(default=None, alias="from", json_schema_extra=ASK)  # None or "": outside
    to: Id | None = Field(None, json_schema_extra=ASK)
    rate: Expr
    unit: Unit | None = Field(None, json_schema_extra=ASK)


class State(_Strict):
    """An ODE state: d(id)/dt = der."""

    id: Id
    initial: float = Field(0.0, json_schema_extra=ASK)
    der: Expr
    unit: Unit | None = Field(None, json_schema_extra=ASK)
    non_negative: bool = False


class Auxiliary(_Strict):
    id: Id
    equation: Expr
    unit: Unit | None = None


class Parameter(_Strict):
    id: Id
    value: float
    unit: Unit | None = Field(None, json_schema_extra=ASK)


class Assignment(_Strict):
    var: Id
    value: Expr


class Event(_Strict):
    """When ``when`` (e.g. ``x < 0``) becomes true: apply ``set`` and/or ``stop`` the run."""

    when: Expr
    stop: bool = False
    set: list[Assignment] = Field(default_factory=list, json_schema_extra={"maxItems": 5})


class TimeSettings(_Strict):
    start: float = Field(0.0, json_schema_extra=ASK)
    stop: float
    dt: float | None = Field(None, json_schema_extra=ASK)  # Euler step; the largest step of the other methods
    method: Literal["RK45", "Euler", "LSODA", "Radau"] = Field("RK45", json_schema_extra=ASK)

    def step(self) -> float:
        return self.dt if self.dt and self.dt > 0 else (self.stop - self.start) / 1000


class ContinuousModel(_Strict):
    kind: Literal["continuous"] = Field("continuous", json_schema_extra=ASK)
    name: Text = Field("model", json_schema_extra=ASK)
    time_unit: Unit = Field("s", json_schema_extra=ASK)
    parameters: list[Parameter] = Field(default_factory=list, json_schema_extra=_ASK_LIST)
    stocks: list[Stock] = Field(default_factory=list, json_schema_extra=_ASK_LIST)
    flows: list[Flow] = Field(default_factory=list, json_schema_extra=_ASK_LIST)
    states: list[State] = Field(default_factory=list, json_schema_extra=_ASK_LIST)
    auxiliaries: list[Auxiliary] = Field(default_factory=list, json_schema_extra=_ASK_LIST)
    events: list[Event] = Field(default_factory=list, json_schema_extra=ASK | {"maxItems": 5})
    time: TimeSettings

    def state_vars(self) -> list[Stock | State]:
        """The state vector: stocks first, then ODE states."""
        return [*self.stocks, *self.states]

    def element_ids(self) -> list[str]:
        return [e.id for e in (*self.parameters, *self.stocks, *self.flows, *self.states, *self.auxiliaries)]

    def non_negative(self) -> list[str]:
        return [s.id for s in self.state_vars() if s.non_negative]


SimModel = Annotated[Union[ProcessModel, ContinuousModel], Field(discriminator="kind")]

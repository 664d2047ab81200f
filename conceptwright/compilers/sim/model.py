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

EXIT = "exit"  # the routing destination that means "leaves the system"

DistName = Literal["exponential", "constant", "uniform", "triangular", "normal", "lognormal"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Distribution(_Strict):
    """A random duration. ``mean`` or ``rate`` (exponential), ``low``/``high`` (uniform),
    ``low``/``mode``/``high`` (triangular), ``mean``/``sd`` (normal, lognormal), ``mean``
    (constant). ``unit`` is the time unit of these numbers (default: the model's)."""

    dist: DistName = "exponential"
    mean: float | None = None
    rate: float | None = None  # events per time unit (exponential only): mean = 1/rate
    low: float | None = None
    mode: float | None = None
    high: float | None = None
    sd: float | None = None
    unit: str | None = None

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

    to: str
    p: float = 1.0


class Source(_Strict):
    id: str
    interarrival: Distribution
    next: list[Route] = Field(default_factory=list)
    limit: int | None = None  # at most this many arrivals
    priority: int = 0  # lower is served first where a resource's discipline is "priority"


class Resource(_Strict):
    id: str
    capacity: int = 1
    max_queue: int | None = None  # waiting places; an arrival finding them full balks (is lost)
    discipline: Literal["FIFO", "LIFO", "priority"] = "FIFO"


class Activity(_Strict):
    id: str
    resource: str | None = None  # None: a pure delay
    duration: Distribution
    next: list[Route] = Field(default_factory=list)


class RunSettings(_Strict):
    horizon: float
    warmup: float = 0.0
    replications: int = 10
    seed: int = 1
    unit: str | None = None  # time unit of horizon and warmup (parsing converts them to the model's time_unit)


KPI = Literal["wait", "time_in_system", "number_in_system", "queue_length", "utilisation", "throughput", "balked"]


class ProcessModel(_Strict):
    kind: Literal["process"] = "process"
    name: str = "model"
    time_unit: str = "minute"
    sources: list[Source] = Field(default_factory=list)
    resources: list[Resource] = Field(default_factory=list)
    activities: list[Activity] = Field(default_factory=list)
    run: RunSettings
    kpis: list[KPI] = Field(default_factory=lambda: ["wait", "utilisation"])

    def element_ids(self) -> list[str]:
        return [e.id for e in (*self.sources, *self.resources, *self.activities)]


class Stock(_Strict):
    id: str
    initial: float = 0.0
    unit: str | None = None
    non_negative: bool = False


class Flow(_Strict):
    """A rate into ``to`` and out of ``from`` (either may be left out: outside the model)."""

    id: str
    from_: str | None = Field(default=None, alias="from")
    to: str | None = None
    rate: str
    unit: str | None = None


class State(_Strict):
    """An ODE state: d(id)/dt = der."""

    id: str
    initial: float = 0.0
    der: str
    unit: str | None = None
    non_negative: bool = False


class Auxiliary(_Strict):
    id: str
    equation: str
    unit: str | None = None


class Parameter(_Strict):
    id: str
    value: float
    unit: str | None = None


class Assignment(_Strict):
    var: str
    value: str


class Event(_Strict):
    """When ``when`` (e.g. ``x < 0``) becomes true: apply ``set`` and/or ``stop`` the run."""

    when: str
    stop: bool = False
    set: list[Assignment] = Field(default_factory=list)


class TimeSettings(_Strict):
    start: float = 0.0
    stop: float
    dt: float | None = None  # Euler step; the largest step of the other methods
    method: Literal["RK45", "Euler", "LSODA", "Radau"] = "RK45"

    def step(self) -> float:
        return self.dt if self.dt and self.dt > 0 else (self.stop - self.start) / 1000


class ContinuousModel(_Strict):
    kind: Literal["continuous"] = "continuous"
    name: str = "model"
    time_unit: str = "s"
    parameters: list[Parameter] = Field(default_factory=list)
    stocks: list[Stock] = Field(default_factory=list)
    flows: list[Flow] = Field(default_factory=list)
    states: list[State] = Field(default_factory=list)
    auxiliaries: list[Auxiliary] = Field(default_factory=list)
    events: list[Event] = Field(default_factory=list)
    time: TimeSettings

    def state_vars(self) -> list[Stock | State]:
        """The state vector: stocks first, then ODE states."""
        return [*self.stocks, *self.states]

    def element_ids(self) -> list[str]:
        return [e.id for e in (*self.parameters, *self.stocks, *self.flows, *self.states, *self.auxiliaries)]

    def non_negative(self) -> list[str]:
        return [s.id for s in self.state_vars() if s.non_negative]


SimModel = Annotated[Union[ProcessModel, ContinuousModel], Field(discriminator="kind")]

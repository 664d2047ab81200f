"""Worked examples of each model kind: used in prompts and tests (other domains than the evals)."""
from __future__ import annotations

PROCESS_SPEC = ("A car wash has 2 washing bays. Cars arrive on average every 5 minutes (exponential); a wash takes "
                "8 minutes on average (exponential); cars wait in one queue for a free bay. 10% of cars also get a "
                "wax that takes 4 minutes with one waxer. Simulate 8 hours, 10 replications; report mean wait and utilisation.")
PROCESS = {
    "kind": "process", "name": "car_wash", "time_unit": "minute",
    "sources": [{"id": "cars", "interarrival": {"dist": "exponential", "mean": 5}, "next": [{"to": "wash", "p": 1}]}],
    "resources": [{"id": "bays", "capacity": 2}, {"id": "waxer", "capacity": 1}],
    "activities": [
        {"id": "wash", "resource": "bays", "duration": {"dist": "exponential", "mean": 8},
         "next": [{"to": "wax", "p": 0.1}, {"to": "exit", "p": 0.9}]},
        {"id": "wax", "resource": "waxer", "duration": {"dist": "constant", "mean": 4}, "next": [{"to": "exit", "p": 1}]},
    ],
    "run": {"unit": "hour", "horizon": 8, "warmup": 0, "replications": 10, "seed": 1},
    "kpis": ["wait", "utilisation"],
}

STOCK_SPEC = ("A rain barrel holds 200 litres and drains through a tap at 5% of its content per minute, while "
              "rain adds 2 litres per minute. Simulate 60 minutes.")
STOCK = {
    "kind": "continuous", "name": "rain_barrel", "time_unit": "minute",
    "parameters": [{"id": "rain", "value": 2, "unit": "L/minute"}, {"id": "k", "value": 0.05, "unit": "1/minute"}],
    "stocks": [{"id": "water", "initial": 200, "unit": "L", "non_negative": True}],
    "flows": [{"id": "inflow", "from": "", "to": "water", "rate": "rain", "unit": "L/minute"},
              {"id": "outflow", "from": "water", "to": "", "rate": "k*water", "unit": "L/minute"}],
    "states": [], "auxiliaries": [], "events": [],
    "time": {"start": 0, "stop": 60, "dt": 0.1, "method": "RK45"},
}

ODE_SPEC = ("A pendulum-like oscillator: position x starts at 0.2 m, velocity v at 0; dx/dt = v and "
            "dv/dt = -(k*x + c*v)/m with m = 2 kg, k = 50 N/m, c = 1 N*s/m. Simulate 10 s with Euler steps of 0.001 s.")
ODE = {
    "kind": "continuous", "name": "oscillator", "time_unit": "s",
    "parameters": [{"id": "m", "value": 2, "unit": "kg"}, {"id": "k", "value": 50, "unit": "N/m"},
                   {"id": "c", "value": 1, "unit": "N*s/m"}],
    "stocks": [], "flows": [],
    "states": [{"id": "x", "initial": 0.2, "der": "v", "unit": "m"},
               {"id": "v", "initial": 0, "der": "-(k*x + c*v)/m", "unit": "m/s"}],
    "auxiliaries": [], "events": [],
    "time": {"start": 0, "stop": 10, "dt": 0.001, "method": "Euler"},
}

EXAMPLES = [(PROCESS_SPEC, PROCESS), (STOCK_SPEC, STOCK), (ODE_SPEC, ODE)]

"""Timing side by side and the shape every benchmark's figures take for `make bench` (bench/run_all.py).

A figure is one way of doing one thing, timed over rounds: {"id", "label", "seconds": [...]}. A ratio is
a figure's median over its anchor's median, measured in the same run: {"id", "label", "numerator",
"denominator", "goal", "goal_text", "per"}; goal is the highest ratio that meets it, or None when the ratio is
only reported; per, when not None, names two figures measured beside numerator and denominator, whose ratio
of medians divides it. A benchmark writes {"figures": [...], "ratios": [...], "findings": [...]} through
bench.common.write_results; bench/run_all.py gathers them into RESULTS.md.
"""

from __future__ import annotations

import random
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any, Callable, Dict, Hashable, List, Mapping, Optional, Sequence, Tuple, TypeVar

from bench.common import REPO

Unit = TypeVar("Unit", bound=Hashable)

FLOOR_SOURCE = REPO / "bench" / "floor" / "lnsfloor.c"


def seconds(run: Callable[[], object]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def interleave(ways: Mapping[str, Callable[[], object]], rounds: int, warmup: int = 1) -> Dict[str, List[float]]:
    """Each round runs every way once, in a fresh random order, so load on the machine weighs on all alike.
    warmup rounds first (caches, first imports) are not kept."""
    samples: Dict[str, List[float]] = {way: [] for way in ways}
    for number in range(warmup + rounds):
        order = list(ways)
        random.shuffle(order)
        for way in order:
            elapsed = seconds(ways[way])
            if number >= warmup:
                samples[way].append(elapsed)
    return samples


def interleave_steps(units: Mapping[Unit, Mapping[str, Callable[[], object]]], rounds: int,
                     warmup: int = 1) -> Dict[Unit, Dict[str, List[float]]]:
    """As interleave, for units whose steps must run in their order (create, then remove): the units are
    shuffled each round, the steps of a unit run one after the other."""
    samples: Dict[Unit, Dict[str, List[float]]] = {unit: {step: [] for step in steps} for unit, steps in units.items()}
    for number in range(warmup + rounds):
        order = list(units)
        random.shuffle(order)
        for unit in order:
            for step, run in units[unit].items():
                elapsed = seconds(run)
                if number >= warmup:
                    samples[unit][step].append(elapsed)
    return samples


def spread(values: Sequence[float]) -> Dict[str, float]:
    return {"min": min(values), "median": statistics.median(values), "max": max(values), "n": len(values)}


def figure(figure_id: str, label: str, values: Sequence[float]) -> Dict[str, Any]:
    return {"id": figure_id, "label": label, "seconds": list(values)}


def ratio(ratio_id: str, label: str, numerator: str, denominator: str, goal: Optional[float] = None,
          goal_text: str = "", per: Optional[Tuple[str, str]] = None) -> Dict[str, Any]:
    """per: two figures measured beside numerator and denominator (in the same moments): the ratio is then
    divided by theirs, which takes out what the machine's drift between the two moments did to both."""
    return {"id": ratio_id, "label": label, "numerator": numerator, "denominator": denominator, "goal": goal,
            "goal_text": goal_text, "per": list(per) if per else None}


def build_floor(directory: Path) -> Path:
    """lnsfloor compiled with the system's compiler into directory."""
    binary = directory / "lnsfloor"
    subprocess.run(["cc", "-O2", "-Wall", "-Werror", "-o", str(binary), str(FLOOR_SOURCE)], check=True)
    return binary

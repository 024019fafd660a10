"""What runs cost, as cards and text: the forecast card, and the cost part of run and results cards.

Example:
    >>> from distilabel_nb.run import RunState
    >>> state_cost(RunState(total_rows=10, done=5, prompt_tokens=100, completion_tokens=50, cost=0.02))
    [('cost', '$0.02'), ('projected', '~$0.04'), ('tokens in / out', '100 / 50')]
"""

from __future__ import annotations

import math

import pandas as pd

from distilabel_nb import schema
from distilabel_nb.cells import dollars, duration, number
from distilabel_nb.display.html import render
from distilabel_nb.display.markup import badge, card, escape, grid, muted, section
from distilabel_nb.display.plaintext import describe, rows
from distilabel_nb.estimate import Estimate
from distilabel_nb.run import RunState


def state_cost(state: RunState) -> list[tuple[str, str]]:
    """A run's cost so far, its projected total and its tokens sent, as (label, text) pairs."""
    pairs = [("cost", dollars(state.cost))]
    if state.projected_cost is not None and state.done < state.total_rows:
        pairs.append(("projected", f"~{dollars(state.projected_cost)}"))
    pairs.append(("tokens in / out", f"{number(state.prompt_tokens)} / {number(state.completion_tokens)}"))
    return pairs


def frame_cost(df: pd.DataFrame) -> str | None:
    """A result's total cost and tokens from its usage columns, e.g. ``'$0.21 · 65,812 tokens · 30 cached'``."""
    names = set(schema.of(df).usage) & {str(c) for c in df.columns}
    costs = [n for n in (schema.GENERATION_COST, schema.LABELLING_COST) if n in names]
    if not costs:
        return None
    values = pd.concat([pd.to_numeric(df[n], errors="coerce") for n in costs])
    cost = None if values.isna().any() else float(values.sum())
    tokens = sum(int(pd.to_numeric(df[n], errors="coerce").fillna(0).sum()) for n in names if n.endswith("_tokens"))
    cached = [n for n in names if n.endswith("_cached")]
    hits = int(df[cached].astype(bool).all(axis=1).sum()) if cached else 0
    return f"{dollars(cost)} · {number(tokens)} tokens" + (f" · {number(hits)} rows from the cache" if hits else "")


def _range(low: float, high: float, money: bool) -> str:
    if math.isnan(low) or math.isnan(high):
        return "no interval (a sample of one)"
    show = dollars if money else (lambda v: number(round(v)))
    return f"{show(low)} – {show(high)}"


def estimate_facts(est: Estimate) -> list[tuple[str, str]]:
    """The forecast as (label, text) pairs, the same for the card and the text."""
    level = "95% interval"
    pairs = [("rows", f"{number(est.rows)} (forecast from {number(est.sample)}, seed={est.seed})")]
    if est.cost is None:
        pairs.append(("cost", "unknown: " + "; ".join(f"{k} {v}" for k, v in est.prices.items() if v.startswith("unknown"))))
    else:
        assert est.cost_interval is not None
        pairs.append(("cost", f"{dollars(est.cost)} ({level} {_range(*est.cost_interval, money=True)})"))
        pairs.append(("still to pay", dollars(est.cost_to_go) + (" (the sample is cached)" if est.sample_cached else
                                                                   " (the sample is not cached: it is paid again)")))
    pairs.append(("tokens", f"{number(round(est.tokens))} ({level} {_range(*est.tokens_interval, money=False)}) · "
                            f"{number(round(est.prompt_tokens))} in / {number(round(est.completion_tokens))} out"))
    pairs.append(("wall time", f"~{duration(est.wall_seconds)} at the configured concurrency and rate limits"
                  if est.wall_seconds is not None else "unknown (the sample came from the cache)"))
    pairs.append(("failure rate", str(est.failures)))
    if est.pairs is not None and est.usable_pairs is not None and est.pairs_interval is not None:
        margin = f", margin ≥ {est.min_margin:g}" if est.min_margin else ""
        pairs.append(("preference pairs", f"~{number(round(est.usable_pairs))} ({level} "
                      f"{_range(*est.pairs_interval, money=False)}): rows without failure or tie{margin}"))
    pairs += [(f"{role} price", text) for role, text in est.prices.items()]
    return pairs


def _title(est: Estimate) -> str:
    return f"{number(est.rows)} rows · " + ("cost unknown" if est.cost is None else f"~{dollars(est.cost)}")


@render.register(Estimate)
def estimate_card(est: Estimate) -> str:
    badges = [badge(f"sample of {est.sample}", "accent")]
    if est.failures.count:
        badges.append(badge(f"{est.failures.percent} failed", "err"))
    if est.cost is None:
        badges.append(badge("price unknown", "warn"))
    body = grid([(label, escape(text)) for label, text in estimate_facts(est)])
    notes = "".join(f"<div>{muted(note)}</div>" for note in est.notes)
    return card("Estimate", _title(est), badges=badges, body=body + section("How", notes), variant="estimate")


@describe.register(Estimate)
def describe_estimate(est: Estimate) -> str:
    return "\n".join([f"Estimate {_title(est)}", rows(estimate_facts(est)), rows([("note", n) for n in est.notes])])

"""What a whole run will cost and give, forecast from a random sample of its rows.

``pipeline.estimate(dataset, sample=20)`` runs a seeded random sample of the dataset
through the pipeline (through the cache: the real run takes those rows from it and pays
for them once) and scales what the sample used to the whole dataset:

* tokens and dollars, each with a 95% interval: the t-interval of the mean per row
  (``scipy.stats.t``), with the finite-population correction, times the rows;
* wall time at the LLMs' ``max_concurrency`` and their ``requests_per_minute`` /
  ``tokens_per_minute`` limits (generation and labelling overlap, so the slower one sets it);
* the failure rate (a Wilson interval, :class:`~distilabel_nb.report.Share`);
* the preference pairs to expect: rows that neither failed nor tied, with a margin of at
  least ``min_margin`` (as :func:`~distilabel_nb.export.to_preference_pairs` makes them).

Example:
    >>> est = pipe.estimate(df, sample=20)            # doctest: +SKIP
    >>> est.cost, est.cost_interval                   # doctest: +SKIP
    (4.12, (3.70, 4.55))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from distilabel_nb import schema
from distilabel_nb.dataset import dataset_records
from distilabel_nb.errors import InvalidArgument, InvalidType
from distilabel_nb.executors.dask import is_dask_dataframe
from distilabel_nb.pricing import PriceInfo, price_of
from distilabel_nb.report import Share
from distilabel_nb.rich_repr import HTMLRepr

if TYPE_CHECKING:
    from distilabel_nb.llms.base import LLM
    from distilabel_nb.pipeline import Pipeline

LEVEL = 0.95


def total_interval(values: np.ndarray, population: int, level: float = LEVEL) -> tuple[float, float, float]:
    """The forecast total of ``population`` rows from a sample's per-row ``values``: (total, low, high).

    The t-interval of the mean (``scipy.stats.t``) with the finite-population correction;
    a sample of the whole population is exact, a sample of one has no interval (NaN).

    Example:
        >>> total, low, high = total_interval(np.array([1.0, 2.0, 3.0, 2.0]), 100)
        >>> total, round(low), round(high)
        (200.0, 72, 328)
    """
    from scipy import stats

    n = len(values)
    total = float(values.mean()) * population
    if n >= population:
        return total, total, total
    if n < 2:
        return total, float("nan"), float("nan")
    correction = np.sqrt((population - n) / (population - 1))
    sem = float(stats.sem(values)) * correction
    half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * sem * population
    return total, max(0.0, total - half), total + half


@dataclass(frozen=True)
class Estimate(HTMLRepr):
    """A forecast of a whole run from a sample (:meth:`Pipeline.estimate`); a card and a text twin.

    Attributes:
        rows: Rows in the dataset.
        sample: Rows run in the sample.
        seed: The seed that drew the sample.
        tokens: Forecast tokens of the whole run (prompt + completion), with ``tokens_interval``.
        prompt_tokens: Forecast prompt tokens.
        completion_tokens: Forecast completion tokens.
        cost: Forecast dollars of the whole run, ``None`` when a price is unknown; ``cost_interval`` its 95% interval.
        cost_to_go: What is left to pay: the sample's rows are in the cache (all of ``cost`` unless ``sample_cached``).
        sample_cached: Whether the real run takes the sample's answers from the cache (no LLM has
            ``cache=False`` or ``cache="refresh"``).
        wall_seconds: Forecast wall time, ``None`` when the sample's calls all came from the cache.
        failures: Rows that failed in the sample (a :class:`~distilabel_nb.report.Share`).
        pairs: Rows that made a preference pair in the sample, ``None`` without a labeller.
        usable_pairs: Forecast preference pairs, with ``pairs_interval``.
        prices: Each role's price, as text.
        notes: What the figures rest on.
        frame: The sample's result.
    """

    rows: int
    sample: int
    seed: int
    tokens: float
    tokens_interval: tuple[float, float]
    prompt_tokens: float
    completion_tokens: float
    cost: float | None
    cost_interval: tuple[float, float] | None
    cost_to_go: float | None
    wall_seconds: float | None
    failures: Share
    pairs: Share | None
    usable_pairs: float | None
    pairs_interval: tuple[float, float] | None
    min_margin: float
    sample_cached: bool = True
    prices: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    frame: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False, compare=False)

    def __str__(self) -> str:
        """The text twin: every figure of the card (``print(estimate)``)."""
        from distilabel_nb import display

        return display.describe(self)

    def __repr__(self) -> str:
        cost = "unknown" if self.cost is None else f"${self.cost:,.4g}"
        return f"Estimate(rows={self.rows}, sample={self.sample}, tokens={self.tokens:,.0f}, cost={cost})"


def _steps(pipe: Pipeline) -> list[tuple[str, LLM]]:
    return [(step, llm) for step, llm in (("generation", pipe.generator), ("labelling", pipe.labeller)) if llm is not None]


def _step_price(pipe: Pipeline, step: str, llm: LLM) -> PriceInfo:
    """The step's price per token; several generators share one only when their prices are the same."""
    if step != "generation" or pipe.generators is None or not pipe.generators.several:
        return price_of(llm)
    prices = [price_of(each) for each in pipe.generators]
    if all(p.price == prices[0].price for p in prices):
        return prices[0]
    return PriceInfo(None, "the generators' prices differ, and a row's tokens are added up over them")


def _column(frame: pd.DataFrame, name: str) -> np.ndarray:
    return pd.to_numeric(frame[name], errors="coerce").fillna(0).to_numpy(dtype=float)


def _row_costs(frame: pd.DataFrame, steps: list[tuple[str, LLM]], prices: dict[str, PriceInfo]) -> np.ndarray | None:
    """Each row's dollars at full price (a cached answer priced as if it were sent), or ``None``."""
    total = np.zeros(len(frame))
    for step, _ in steps:
        price = prices[step].price
        if price is None:
            return None
        total += price.cost(_column(frame, f"{step}_prompt_tokens"), _column(frame, f"{step}_completion_tokens"))
    return total


def _wall_seconds(frame: pd.DataFrame, steps: list[tuple[str, LLM]], rows: int) -> float | None:
    """Each step's calls at its concurrency and rate limits; the slower step sets the run's time."""
    times = []
    for step, llm in steps:
        sent = ~frame[f"{step}_cached"].astype(bool)
        latency = _column(frame, f"{step}_latency_s")[sent.to_numpy()]
        if not len(latency):
            return None
        seconds = rows * float(latency.mean()) / llm.max_concurrency
        tokens_per_row = float((_column(frame, f"{step}_prompt_tokens") + _column(frame, f"{step}_completion_tokens")).mean())
        rpm, tpm = getattr(llm, "requests_per_minute", None), getattr(llm, "tokens_per_minute", None)
        if rpm:
            seconds = max(seconds, rows / rpm * 60)
        if tpm:
            seconds = max(seconds, rows * tokens_per_row / tpm * 60)
        times.append(seconds)
    return max(times) if times else None


def _pair_rows(frame: pd.DataFrame, min_margin: float) -> int:
    from distilabel_nb.export import to_preference_pairs

    pairs = to_preference_pairs(frame, min_margin=min_margin)
    return int(pairs["source_row"].nunique()) if len(pairs) else 0


def _failed(frame: pd.DataFrame) -> int:
    errors = [c for c in schema.ERROR_COLUMNS if c in frame.columns]
    return int(frame[errors].notna().any(axis=1).sum()) if errors else 0


def estimate(pipe: Pipeline, dataset: Any, sample: int = 20, *, seed: int = 0, num_generations: int = 1,
             min_margin: float = 0.0, display_progress_bar: bool = True) -> Estimate:
    """Run a seeded random sample of ``dataset`` and forecast the whole run; see :meth:`Pipeline.estimate`."""
    if isinstance(sample, bool) or not isinstance(sample, int) or sample < 1:
        raise InvalidArgument(f"Invalid sample={sample!r}: pass an int >= 1 (the rows to run; 20 to 50 is usual)")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise InvalidArgument(f"Invalid seed={seed!r}: pass an int >= 0 (it draws the sample; another seed, another sample)")
    if isinstance(min_margin, bool) or not isinstance(min_margin, (int, float)) or not min_margin >= 0:
        raise InvalidArgument(f"Invalid min_margin={min_margin!r}: pass a number >= 0 (the smallest rating difference "
                              "that makes a preference pair)")
    if is_dask_dataframe(dataset):
        raise InvalidType("estimate runs its sample on this machine and takes a pandas DataFrame, a list of dicts or a "
                          "datasets.Dataset, not a dask DataFrame: pass ddf.compute() (or a pandas frame of its rows)")
    required = pipe.required_columns()
    records, columns, labels = dataset_records(dataset, required[0] if required else "input")
    if not records:
        raise InvalidArgument("The dataset has no rows, so there is nothing to sample: pass the dataset the real run "
                              f"will take, e.g. pd.DataFrame({{{(required or ['input'])[0]!r}: [...]}})")
    pipe.check_columns(columns)
    chosen = np.sort(np.random.default_rng(seed).choice(len(records), size=min(sample, len(records)), replace=False))
    subset = pd.DataFrame([records[i] for i in chosen], index=[labels[i] for i in chosen], columns=columns)
    frame = pipe.generate(subset, num_generations=num_generations, display_progress_bar=display_progress_bar)
    return forecast(pipe, frame, len(records), seed=seed, min_margin=min_margin)


def forecast(pipe: Pipeline, frame: pd.DataFrame, rows: int, *, seed: int = 0, min_margin: float = 0.0) -> Estimate:
    """The forecast of a run of ``rows`` rows from a sample's result ``frame``."""
    steps = _steps(pipe)
    prices = {step: _step_price(pipe, step, llm) for step, llm in steps}
    prompt = sum((_column(frame, f"{step}_prompt_tokens") for step, _ in steps), np.zeros(len(frame)))
    completion = sum((_column(frame, f"{step}_completion_tokens") for step, _ in steps), np.zeros(len(frame)))
    tokens, tokens_low, tokens_high = total_interval(prompt + completion, rows)
    costs = _row_costs(frame, steps, prices)
    cost = cost_interval = cost_to_go = None
    cached = all(llm.cache is not None and not llm.cache_refresh for llm in pipe.llms())  # "refresh" asks again
    if costs is not None:
        cost, low, high = total_interval(costs, rows)
        cost_interval, cost_to_go = (low, high), cost * (rows - len(frame)) / rows if cached else cost
    reuse = ("their answers are cached, so the run pays for them once" if cached
             else "an LLM has cache=False or cache='refresh', so the run pays for them again")
    notes = [f"{len(frame)} of {rows:,} rows drawn at random (seed={seed}); {reuse}"]
    wall = _wall_seconds(frame, steps, rows)
    if wall is None:
        notes.append("no wall time: every call of the sample came from the cache (draw another sample with seed=)")
    notes += [f"{step}: {prices[step]}" for step, _ in steps if not prices[step].known]
    pairs = usable = pairs_interval = None
    if pipe.labeller is not None and pipe.generator is not None:
        pairs = Share(_pair_rows(frame, min_margin), len(frame))
        usable, pairs_interval = pairs.value * rows, (pairs.low * rows, pairs.high * rows)
    return Estimate(
        rows=rows, sample=len(frame), seed=seed, tokens=tokens, tokens_interval=(tokens_low, tokens_high),
        prompt_tokens=float(prompt.mean()) * rows, completion_tokens=float(completion.mean()) * rows,
        cost=cost, cost_interval=cost_interval, cost_to_go=cost_to_go, wall_seconds=wall,
        failures=Share(_failed(frame), len(frame)), pairs=pairs, usable_pairs=usable, pairs_interval=pairs_interval,
        min_margin=min_margin, sample_cached=cached, prices={step: str(prices[step]) for step, _ in steps},
        notes=tuple(notes), frame=frame,
    )

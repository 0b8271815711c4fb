"""Occupancy per species from a detection history, three ways, each with a 90 % interval:

- naive: a site is occupied where any occasion detected the species (share of surveyed sites,
  Clopper-Pearson interval): what a user gets without a model; it counts every false detection
  as presence and misses every site where the species went undetected.
- false_positive: biolith's `occu` with a constant false-positive rate (Royle & Link 2006's
  model family; biolith's `false_positives_constant`): an occasion at an unoccupied site
  detects with probability fp, at an occupied one with 1 - (1 - p)(1 - fp), so an occupied site
  always detects at least as often as an empty one and the two states cannot swap labels.
  Detection p rises with the occasion's effort (log minutes, standardised).
- continuous_score: biolith's `occu_cs` (Rhinehart et al. 2022) over each occasion's highest
  score (as a logit): a calling occasion's score from one normal, every other's from another;
  no threshold at all.

Both models are fitted by NUTS (NumPyro, through biolith's `fit`), per species. A fit whose
R-hat exceeds `max_rhat`, whose effective sample size is under `min_ess` or that diverged says
so and reports no numbers. Posterior presence
per site, P(z = 1 | y), is computed per draw from the site's history and averaged."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit, logit

from anuraflow.core.settings import settings_from
from anuraflow.ecology.histories import wide

MODELS = ("false_positive", "continuous_score")
SCORE_EPS = 1e-6  # scores clipped to [eps, 1 - eps] before the logit


@dataclass(frozen=True)
class FitSettings:
    """NUTS's chains and draws, the interval level and when a fit counts as converged."""

    models: tuple[str, ...] = ("false_positive",)  # continuous_score on request (its bias)
    chains: int = 2
    warmup: int = 500
    samples: int = 500
    seed: int = 0
    level: float = 0.9
    max_rhat: float = 1.05
    min_ess: float = 100

    def __post_init__(self):
        object.__setattr__(self, "models", tuple(self.models))  # a config's list
        unknown = set(self.models) - set(MODELS)
        if unknown:
            raise ValueError(f"occupancy.models: unknown {sorted(unknown)}; known {MODELS}")

    @classmethod
    def from_config(cls, section: dict) -> FitSettings:
        """By name from the config's `occupancy` section (keys it does not set keep defaults)."""
        return settings_from(cls, section)


@dataclass
class Survey:
    """One species' history as arrays: y (sites x occasions, 1/0/nan), the highest score per
    cell as a logit (nan where nothing was scored), the effort covariate (standardised log
    minutes, nan where nothing was scored)."""

    sites: list[str]
    occasions: list[str]
    y: np.ndarray
    score: np.ndarray
    effort: np.ndarray

    @classmethod
    def from_histories(cls, histories: pd.DataFrame, species: str) -> Survey:
        y = wide(histories, species, "detection").astype(float)
        score = wide(histories, species, "max_score").to_numpy(dtype=float)
        minutes = wide(histories, species, "effort_min").to_numpy(dtype=float)
        observed = np.isfinite(y.to_numpy())
        log_minutes = np.where(observed, np.log(np.where(observed, minutes, 1.0)), np.nan)
        spread = np.nanstd(log_minutes) if observed.any() else 0.0
        effort = (log_minutes - np.nanmean(log_minutes)) / spread if spread > 0 else log_minutes * 0
        clipped = np.clip(np.where(observed, score, 0.5), SCORE_EPS, 1 - SCORE_EPS)
        return cls(
            sites=y.index.tolist(),
            occasions=y.columns.tolist(),
            y=y.to_numpy(),
            score=np.where(observed, logit(clipped), np.nan),
            effort=effort,
        )

    @property
    def surveyed(self) -> np.ndarray:
        """Sites with at least one scored occasion."""
        return np.isfinite(self.y).any(axis=1)


@dataclass
class Estimate:
    """One model's result for one species."""

    model: str
    status: str  # "ok", or why there are no numbers
    values: dict = field(default_factory=dict)  # psi, p, fp: mean, low, high
    diagnostics: dict = field(default_factory=dict)  # max_rhat, min_ess, divergences, seconds
    presence: np.ndarray | None = None  # P(occupied | history) per site


def interval(draws: np.ndarray, level: float) -> tuple[float, float, float]:
    """Posterior mean and equal-tailed interval."""
    tail = (1 - level) / 2
    return (
        float(np.mean(draws)),
        float(np.quantile(draws, tail)),
        float(np.quantile(draws, 1 - tail)),
    )


def naive_estimate(survey: Survey, level: float = 0.9) -> Estimate:
    """Share of surveyed sites with any detection, with a Clopper-Pearson interval; presence 1
    where detected, 0 elsewhere (nan for a site never surveyed)."""
    surveyed = survey.surveyed
    n = int(surveyed.sum())
    detected = np.nanmax(np.where(np.isfinite(survey.y), survey.y, 0), axis=1)
    k = int(detected[surveyed].sum())
    tail = (1 - level) / 2
    low = stats.beta.ppf(tail, k, n - k + 1) if k > 0 else 0.0
    high = stats.beta.ppf(1 - tail, k + 1, n - k) if k < n else 1.0
    psi = k / n if n else float("nan")
    return Estimate(
        model="naive",
        status="ok" if n else "no surveyed site",
        values={"psi": (psi, float(low), float(high))},
        presence=np.where(surveyed, detected, np.nan),
    )


def _prepare_jax(chains: int) -> None:
    """JAX runs chains in parallel only over host devices set before it is imported, and in
    double precision: in float32 `occu_cs` diverged in every transition on well-separated
    scores (benchmarks/science/occupancy.py's good regime) and converged in float64."""
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_force_host_platform_device_count" not in flags:
        os.environ["XLA_FLAGS"] = f"{flags} --xla_force_host_platform_device_count={chains}".strip()
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    import jax

    jax.config.update("jax_enable_x64", True)


def fit_model(survey: Survey, model: str, settings: FitSettings) -> Estimate:
    """One biolith model fitted to one species' survey (sites never surveyed left out)."""
    _prepare_jax(settings.chains)
    from biolith.utils import fit  # JAX and NumPyro: only where a model is fitted

    keep = survey.surveyed
    y, score, effort = survey.y[keep], survey.score[keep], survey.effort[keep]
    n_sites, n_occasions = y.shape
    data = {
        "site_covs": np.zeros((n_sites, 1)),
        "obs_covs": effort[:, None, :, None],
        "obs": (y if model == "false_positive" else score)[None, :, None, :],
    }
    started = time.perf_counter()
    model_fn, options = _model_and_options(model, score)
    try:
        result = fit(
            model_fn,
            **data,
            **options,
            num_chains=settings.chains,
            num_warmup=settings.warmup,
            num_samples=settings.samples,
            random_seed=settings.seed,
        )
        draws = {k: np.asarray(v) for k, v in result.samples.items()}
        diagnostics = {**_diagnostics(result.mcmc), "seconds": 0.0}
    finally:
        # every fit compiles anew and keeps its machine code mapped: about 850 memory maps a
        # fit, so a process stopped with "LLVM compilation error: Cannot allocate memory" after
        # about 75 fits (vm.max_map_count 65530) until the caches were cleared after each
        import jax

        jax.clear_caches()
    diagnostics["seconds"] = round(time.perf_counter() - started, 2)
    estimate = Estimate(model=model, status="ok", diagnostics=diagnostics)
    trouble = []
    if diagnostics["max_rhat"] > settings.max_rhat:
        trouble.append(f"R-hat {diagnostics['max_rhat']:.3f} > {settings.max_rhat}")
    if diagnostics["min_ess"] < settings.min_ess:
        trouble.append(f"ESS {diagnostics['min_ess']:.0f} < {settings.min_ess:g}")
    if diagnostics["divergences"]:
        trouble.append(f"{diagnostics['divergences']} divergent")
    if trouble:
        estimate.status = "not converged: " + "; ".join(trouble)
        return estimate
    psi = draws["psi"].reshape(len(draws["psi"]), -1)[:, 0]
    p_mean = expit(draws["cov_det_0"][:, 0])  # detection at the mean effort
    estimate.values = {"psi": interval(psi, settings.level), "p": interval(p_mean, settings.level)}
    if model == "false_positive":
        estimate.values["fp"] = interval(draws["prob_fp_constant"], settings.level)
    presence = np.full(len(survey.sites), np.nan)
    presence[keep] = posterior_presence(model, draws, y, score, effort)
    estimate.presence = presence
    return estimate


def _model_and_options(model: str, score: np.ndarray) -> tuple:
    """biolith's model function and this project's options for `fit` and the model."""
    from biolith.models import occu, occu_cs
    from numpyro.infer import init_to_value

    if model == "false_positive":
        return partial(occu, false_positives_constant=True), {}
    if model == "continuous_score":
        # started where the data put the two score distributions: biolith's default start
        # (uniform in (-2, 2)) left one of two chains stuck in a mode of sigma0 ~ 20 in
        # trials, so the chains start at the 25th and 95th percentiles of the observed scores
        values = score[np.isfinite(score)]
        low, high = np.quantile(values, [0.25, 0.95]) if len(values) else (-1.0, 1.0)
        spread = max(float(np.std(values)) / 2, 0.1) if len(values) else 1.0
        start = {
            "mu0": float(low),
            "mu1": float(max(high, low + 0.1)),
            "sigma0": spread,
            "sigma1": spread,
        }
        return occu_cs, {"init_strategy": init_to_value(values=start)}
    raise ValueError(f"unknown occupancy model {model!r}; known {MODELS}")


def _diagnostics(mcmc) -> dict:
    """Largest split R-hat and smallest effective sample size over the model's parameters
    (nan where one chain), and the divergent transitions."""
    from numpyro.diagnostics import summary

    grouped = mcmc.get_samples(group_by_chain=True)
    table = summary(grouped)
    rhat = [np.nanmax(np.asarray(v["r_hat"])) for v in table.values()]
    ess = [np.nanmin(np.asarray(v["n_eff"])) for v in table.values()]
    diverging = mcmc.get_extra_fields().get("diverging")
    return {
        "max_rhat": float(np.nanmax(rhat)) if rhat else float("nan"),
        "min_ess": float(np.nanmin(ess)) if ess else float("nan"),
        "divergences": int(np.sum(diverging)) if diverging is not None else 0,
    }


def posterior_presence(
    model: str, draws: dict, y: np.ndarray, score: np.ndarray, effort: np.ndarray
) -> np.ndarray:
    """P(z = 1 | history) per site, averaged over the draws: psi L1 / (psi L1 + (1 - psi) L0),
    L the likelihood of the site's observed occasions if occupied (1) or not (0)."""
    observed = np.isfinite(y)
    x = np.where(observed, effort, 0.0)
    p = expit(draws["cov_det_0"][:, 0, None, None] + draws["cov_det_1"][:, 0, None, None] * x)
    if model == "false_positive":
        fp = draws["prob_fp_constant"][:, None, None]
        hit1, hit0 = 1 - (1 - p) * (1 - fp), np.broadcast_to(fp, p.shape)
        yy = np.where(observed, y, 0.0)
        log1 = yy * np.log(hit1) + (1 - yy) * np.log1p(-hit1)
        log0 = yy * np.log(hit0) + (1 - yy) * np.log1p(-hit0)
    else:
        s = np.where(observed, score, 0.0)
        dens0 = stats.norm.pdf(s, draws["mu0"][:, None, None], draws["sigma0"][:, None, None])
        dens1 = stats.norm.pdf(s, draws["mu1"][:, None, None], draws["sigma1"][:, None, None])
        log1 = np.log(p * dens1 + (1 - p) * dens0 + 1e-300)
        log0 = np.log(dens0 + 1e-300)
    log1 = np.where(observed, log1, 0.0).sum(axis=2)
    log0 = np.where(observed, log0, 0.0).sum(axis=2)
    psi = draws["psi"].reshape(len(draws["psi"]), -1)[:, :1]
    odds = np.log(psi) + log1 - (np.log1p(-psi) + log0)
    return expit(odds).mean(axis=0)

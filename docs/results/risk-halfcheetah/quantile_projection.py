"""The quantile Bellman operator, projected exactly onto a critic's levels, on a chain with
RiskyHalfCheetah-v5's numbers: does the critic's fixed point see a strike of chance h per step?

    pip install numpy && python3 quantile_projection.py

Each atom of width w takes the target mixture's quantile at the middle of its interval of
levels; the strike enters the fixed point only where the atoms below the CVaR level are
narrower than 2h (docs/results-risk.md).
"""
import numpy as np

HAZARD, PENALTY, REWARD, GAMMA, STEPS, BETA = 0.00025, 8000.0, 0.5, 0.99, 1000, 0.1


def cvar(values, masses, beta=BETA):
    order = np.argsort(values)
    values, masses = values[order], masses[order]
    below = np.cumsum(masses) - masses
    take = np.clip(beta - below, 0.0, masses)
    return float((values * take).sum() / beta)


def projected(bounds):
    """CVaR_beta at the start of the fixed point on the grid with these level bounds."""
    masses = np.diff(bounds)
    levels = (bounds[:-1] + bounds[1:]) / 2
    atoms = np.zeros(len(masses))
    for _ in range(STEPS):
        # The chain can strike again after a strike (the task's observation does not say
        # whether the episode was struck, so its critic cannot tell either); two strikes in
        # an episode have chance about 2.4 %, so `truth` (at most once) differs a little at
        # the very bottom. The point is that equal atoms give the penalty-free value exactly.
        values = np.concatenate([REWARD + GAMMA * atoms, REWARD - PENALTY + GAMMA * atoms])
        weights = np.concatenate([masses * (1 - HAZARD), masses * HAZARD])
        order = np.argsort(values)
        values, cumulative = values[order], np.cumsum(weights[order])
        atoms = values[np.minimum(np.searchsorted(cumulative, levels), len(values) - 1)]
    return cvar(atoms, masses)


def truth():
    k = np.arange(STEPS)
    unstruck = REWARD * (1 - GAMMA**STEPS) / (1 - GAMMA)
    values = np.concatenate([unstruck - PENALTY * GAMMA**k, [unstruck]])
    masses = np.concatenate([HAZARD * (1 - HAZARD) ** k, [(1 - HAZARD) ** STEPS]])
    return cvar(values, masses)


if __name__ == "__main__":
    print(f"truth: CVaR_{BETA} = {truth():.1f}")
    for n in (40, 200, 1000):
        print(f"{n} equal atoms: {projected(np.linspace(0, 1, n + 1)):.1f}")
    for tail in (100, 150, 210, 256, 400):
        bounds = np.concatenate([np.linspace(0, BETA, tail + 1), np.linspace(BETA, 1, 11)[1:]])
        print(f"{tail} atoms below {BETA} (width {BETA / tail:.5f}), 10 above: {projected(bounds):.1f}")

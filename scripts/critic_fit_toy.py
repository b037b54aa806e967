"""Can a critic network tell the risky actions from the safe ones? A supervised test, no RL.

One step of RiskyCar-v0's risk, reduced to a regression: state v ~ U(0.5, 1.2), action
a ~ U(-1, 1) (every action covered), outcome y = 100 + 10 a - 40 B with B ~ Bernoulli(0.1) when
v + GAIN * a > 1 (the car's v' = v + 0.1 a: GAIN = 0.1) and B = 0 otherwise. The true CVaR_0.1 at
(v, a) is 100 + 10 a - 40 [v + GAIN a > 1].

Two critics of DSAC's size (64-64 ReLU, Adam 1e-3, batch 256) are fitted side by side:
- quantile: 40 atoms at the levels (2i + 1) / 80, quantile Huber loss (kappa 1), CVaR_0.1 the
  mean of the lowest 4 (what `dsac.critic = "quantile"` learns);
- cvar-regression: the heads of agents/src/common/cvar_regression.rs (mean, VaR by pinball
  loss, CVaR by mean square on b - (b - y)^+ / 0.1).
It prints both at v = 0.95, where actions above 0.5 take v over 1, next to the truth.

    python scripts/critic_fit_toy.py [--gain 0.1] [--normalize] [--updates 20000] [--seed 0]

Needs torch (the benchmark venv has it: source scripts/peers/sb3_venv.sh, then
$VENV/bin/python).
"""

import argparse

import torch

ATOMS = 40
LEVEL = 0.1


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gain", type=float, default=0.1, help="how far one unit of action moves v")
    parser.add_argument("--normalize", action="store_true", help="feed (v - 0.85) / 0.2 instead of v")
    parser.add_argument("--updates", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(1)
    taus = (torch.arange(ATOMS) * 2 + 1) / (2 * ATOMS)

    def sample(n):
        v = torch.rand(n) * 0.7 + 0.5
        a = torch.rand(n) * 2 - 1
        risky = (v + args.gain * a > 1).float()
        struck = (torch.rand(n) < 0.1).float() * risky
        return torch.stack([v, a], 1), 100 + 10 * a - 40 * struck

    def features(x):
        if not args.normalize:
            return x
        return torch.stack([(x[:, 0] - 0.85) / 0.2, x[:, 1]], 1)

    def network(outputs):
        return torch.nn.Sequential(
            torch.nn.Linear(2, 64), torch.nn.ReLU(),
            torch.nn.Linear(64, 64), torch.nn.ReLU(),
            torch.nn.Linear(64, outputs),
        )

    quantile, regression = network(ATOMS), network(3)
    quantile_adam = torch.optim.Adam(quantile.parameters(), lr=1e-3)
    regression_adam = torch.optim.Adam(regression.parameters(), lr=1e-3)
    for _ in range(args.updates):
        x, y = sample(256)
        errors = y[:, None] - quantile(features(x))
        huber = torch.where(errors.abs() <= 1, 0.5 * errors**2, errors.abs() - 0.5)
        loss = ((taus[None] - (errors < 0).float()).abs() * huber).mean()
        quantile_adam.zero_grad()
        loss.backward()
        quantile_adam.step()

        heads = regression(features(x))
        mean, var, cvar = heads[:, 0], heads[:, 1], heads[:, 2]
        below = y - var
        pinball = ((LEVEL - (below < 0).float()) * below).mean()
        fixed = var.detach()
        target = fixed - torch.clamp(fixed - y, min=0) / LEVEL
        loss = ((mean - y) ** 2).mean() + pinball + ((cvar - target) ** 2).mean()
        regression_adam.zero_grad()
        loss.backward()
        regression_adam.step()

    v = 0.95
    actions = torch.linspace(-1, 1, 9)
    x = torch.stack([torch.full((9,), v), actions], 1)
    with torch.no_grad():
        atoms = quantile(features(x)).sort(1).values
        heads = regression(features(x))
    lowest = round(ATOMS * LEVEL)
    print(f"gain {args.gain}, normalize {args.normalize}, {args.updates} updates, seed {args.seed}; v = {v}")
    print("| a | true mean | true CVaR_0.1 | quantile mean | quantile CVaR_0.1 | regression mean | regression CVaR_0.1 |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for i, a in enumerate(actions.tolist()):
        risky = v + args.gain * a > 1
        true_mean = 100 + 10 * a - (4 if risky else 0)
        true_cvar = 100 + 10 * a - (40 if risky else 0)
        print(
            f"| {a:+.2f} | {true_mean:.1f} | {true_cvar:.1f} | {atoms[i].mean():.1f} | "
            f"{atoms[i, :lowest].mean():.1f} | {heads[i, 0]:.1f} | {heads[i, 2]:.1f} |"
        )


if __name__ == "__main__":
    main()

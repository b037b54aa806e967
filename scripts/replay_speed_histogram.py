"""Histogram of RiskyCar-v0's next-step speed v' in a run's saved replay buffer, per 10k steps.

Counts how often the data reaches the speed limit (v' in [0.95, 1)) that a CVaR critic must
locate (docs/results-risk.md, "The car's margin and the crossing's timeouts").

    python scripts/replay_speed_histogram.py RUN/checkpoints/step_000000030000/replay.bin

Needs numpy (the benchmark venv has it: source scripts/peers/sb3_venv.sh, then $VENV/bin/python).
"""

import json, sys, numpy as np
path = sys.argv[1]
raw = open(path, 'rb').read()
nl = raw.index(b'\n'); h = json.loads(raw[:nl]); n = h['len']
a = np.frombuffer(raw[nl+1:], dtype='<f4')
obs = a[:2*n].reshape(n, 2); off = 2*n
act = a[off:off+n]; off += n
rew = a[off:off+n]; off += n
nxt = a[off:off+2*n].reshape(n, 2)
vprime = nxt[:, 1]
for phase, sl in [("steps 0-10k", slice(0, 10000)), ("10k-20k", slice(10000, 20000)), ("20k-30k", slice(20000, 30000))]:
    v = vprime[sl]
    edges = [0.8, 0.85, 0.9, 0.95, 1.0, 1.05, 1.1, 2.0]
    counts = np.histogram(v, bins=edges)[0]
    print(phase, " ".join(f"[{lo:.2f},{hi:.2f}):{c}" for lo, hi, c in zip(edges, edges[1:], counts)))

#!/usr/bin/env python3
"""A plain NumPy implementation of one Monte Carlo cell of `poq sim`, the baseline of
bench/sim_speed.sh.

It runs the same rounds as

    poq sim --rule weighted-mean --trust published --attack boosting --rho 0.3 -k 7 \
            --rounds N --json

with the built-in default scenario (crates/poq-sim/src/scenario.rs), and does the same
work per round as crates/poq-sim/src/cell.rs (run_once):

  1. world draw (world.rs, SyntheticWorld::draw): an inference model uniformly, QA or
     summarization, the ground truth clip(N(mean, sd), 0, 10), the latency
     max(N(mean, sd), 1), a committee of K of N without replacement (committee.rs; here the first K
     of a random permutation, which is uniform too and faster than rng.choice),
     and each member's honest score clip(5 + slope (truth - 5) + bias + noise N(0, 1)).
  2. boosting (attack.rs): malicious members report min(10, s + b).
  3. weighted-mean consensus with the published trust weights (aggregate.rs), kept
     within [min, max] of the reports.
  4. the published trust update (trust/published.rs):
     w <- clip(w (1 + lambda (0.5 - |s - c| / 10)), w_min, w_max).
  5. rewards (reward.rs): inference alpha c/10 - beta c_f, evaluator
     (B/K) (alpha_e (1 - d) - beta_e c_e), costs normalized min(1, ms / reference), floored
     at zero; and what an all-honest committee would have been paid (same rule, same
     weights), for the payout inflation.
  6. consensus and truth kept for Pearson, Spearman and MAE; per-round rewards kept for
     their mean and variance (overall, per node, per evaluator).

At the end: Pearson, Spearman, MAE, payout inflation, and the ROC AUC of low final trust
for the malicious evaluators. The random numbers come from numpy.random.default_rng(seed),
not from the Rust generator, so the results agree statistically, not bit for bit.

Prints one JSON line with the same keys as `poq sim --json`, plus `rounds` and
`loop_seconds` (the time of the simulation itself, without interpreter start-up and the
NumPy import).
"""

import argparse
import json
import time

import numpy as np

# The default scenario (crates/poq-sim/src/scenario.rs).
N_EVALUATORS = 20
NOISE = (0.5, 1.5)
BIAS = (-0.4, 0.4)
QA_ALIGNMENT = 1.0
SUMMARIZATION_ALIGNMENT = 0.8
INVERTED = 1  # the first INVERTED evaluators are inverted on summarization
EVAL_LATENCY_MS = (40.0, 160.0)
QA_FRACTION = 0.5
CENTRE = 5.0
# (qa mean, summarization mean, latency mean); qa sd 1.5, summarization sd 1.2,
# latency sd 15 % of its mean.
MODELS = [
    (3.5, 3.0, 1800.0),
    (4.5, 4.0, 1400.0),
    (5.5, 5.0, 1100.0),
    (6.5, 6.0, 800.0),
    (7.5, 7.0, 500.0),
]
QA_SD, SUMMARIZATION_SD, LATENCY_SD = 1.5, 1.2, 0.15
INFERENCE_REFERENCE_MS = 2500.0
EVALUATOR_REFERENCE_MS = 200.0
# RewardParams::default().
ALPHA, BETA, ALPHA_EVAL, BETA_EVAL, EVAL_BUDGET = 1.0, 0.3, 1.0, 0.3, 1.0
# PublishedParams::default().
W_INITIAL, LAMBDA, W_MIN, W_MAX = 1.0, 0.2, 0.05, 2.0
# attack::DEFAULT_SHIFT.
SHIFT = 3.0


def weighted_mean(scores, weights):
    """sum w s / sum w, kept within [min, max] of the scores (aggregate.rs)."""
    c = float(scores @ weights) / float(weights.sum())
    return min(max(c, float(scores.min())), float(scores.max()))


def ranks(x):
    """1-based ranks, ties sharing their average rank (stats::ranks)."""
    _, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    last = np.cumsum(counts)
    return (last - (counts - 1) / 2.0)[inverse]


def pearson(x, y):
    x = x - x.mean()
    y = y - y.mean()
    den = np.sqrt((x @ x) * (y @ y))
    return float(x @ y / den) if den > 0 else 0.0


def auc(score, positive):
    """Mann-Whitney ROC AUC of `score` for `positive`, ties counting one half."""
    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    u = ranks(score)[positive].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


def group_mean_var(values, groups, n):
    """Mean and population variance of `values` per group id in [0, n)."""
    count = np.bincount(groups, minlength=n)
    total = np.bincount(groups, weights=values, minlength=n)
    mean = np.divide(total, count, out=np.zeros(n), where=count > 0)
    dev2 = (values - mean[groups]) ** 2
    var = np.divide(np.bincount(groups, weights=dev2, minlength=n), count, out=np.zeros(n), where=count > 1)
    return mean, var


def run(rounds, k, rho, seed):
    rng = np.random.default_rng(seed)
    n = N_EVALUATORS

    # The evaluators' traits (SyntheticWorld::new).
    noise = rng.uniform(NOISE[0], NOISE[1], n)
    bias = rng.uniform(BIAS[0], BIAS[1], n)
    eval_latency = rng.uniform(EVAL_LATENCY_MS[0], EVAL_LATENCY_MS[1], n)
    qa_slope = np.full(n, QA_ALIGNMENT)
    su_slope = np.full(n, SUMMARIZATION_ALIGNMENT)
    su_slope[:INVERTED] = -su_slope[:INVERTED]
    models = [
        (qa, QA_SD, su, SUMMARIZATION_SD, lat, LATENCY_SD * lat) for qa, su, lat in MODELS
    ]
    n_models = len(models)

    # The malicious set: round(rho N) evaluators of a shuffle (cell.rs, malicious_set).
    malicious = np.zeros(n, dtype=bool)
    malicious[rng.permutation(n)[: min(int(round(rho * n)), n)]] = True

    w = np.full(n, W_INITIAL)
    share = EVAL_BUDGET / k
    consensus = np.empty(rounds)
    truth = np.empty(rounds)
    node_of = np.empty(rounds, dtype=np.intp)
    inference_reward = np.empty(rounds)
    committee_of = np.empty((rounds, k), dtype=np.intp)
    evaluator_reward = np.empty((rounds, k))
    paid = honest_paid = 0.0

    for t in range(rounds):
        # 1. The world's draw.
        node = int(rng.integers(n_models))
        qa_mean, qa_sd, su_mean, su_sd, lat_mean, lat_sd = models[node]
        qa = rng.random() < QA_FRACTION
        mean, sd = (qa_mean, qa_sd) if qa else (su_mean, su_sd)
        true_q = min(max(mean + sd * rng.standard_normal(), 0.0), 10.0)
        latency = max(lat_mean + lat_sd * rng.standard_normal(), 1.0)
        committee = np.sort(rng.permutation(n)[:k])
        slope = (qa_slope if qa else su_slope)[committee]
        honest = np.clip(
            CENTRE + slope * (true_q - CENTRE) + bias[committee] + noise[committee] * rng.standard_normal(k),
            0.0,
            10.0,
        )
        e_cost = np.minimum(eval_latency[committee] / EVALUATOR_REFERENCE_MS, 1.0)

        # 2. Boosting by the malicious members.
        reported = np.where(malicious[committee], np.minimum(honest + SHIFT, 10.0), honest)

        # 3. Weighted-mean consensus with the trust weights before the update.
        weights = w[committee]
        c = weighted_mean(reported, weights)

        # 4. The published trust update.
        d = np.abs(reported - c) / 10.0
        w[committee] = np.clip(weights * (1.0 + LAMBDA * (0.5 - d)), W_MIN, W_MAX)

        # 5. Rewards, and what an all-honest committee would have been paid.
        f_cost = min(latency / INFERENCE_REFERENCE_MS, 1.0)
        r_inf = max(ALPHA * (c / 10.0) - BETA * f_cost, 0.0)
        r_eval = np.maximum(share * (ALPHA_EVAL * (1.0 - d) - BETA_EVAL * e_cost), 0.0)
        paid += r_inf + float(r_eval.sum())
        hc = weighted_mean(honest, weights)
        honest_paid += max(ALPHA * (hc / 10.0) - BETA * f_cost, 0.0)
        honest_paid += float(
            np.maximum(share * (ALPHA_EVAL * (1.0 - np.abs(honest - hc) / 10.0) - BETA_EVAL * e_cost), 0.0).sum()
        )

        # 6. Bookkeeping.
        consensus[t] = c
        truth[t] = true_q
        node_of[t] = node
        inference_reward[t] = r_inf
        committee_of[t] = committee
        evaluator_reward[t] = r_eval

    # Reward statistics: overall, per inference node and per evaluator.
    group_mean_var(inference_reward, node_of, n_models)
    group_mean_var(evaluator_reward.ravel(), committee_of.ravel(), n)

    return {
        "attack": "boosting",
        "rho": rho,
        "k": k,
        "rule": "weighted-mean",
        "trust": "published",
        "pearson": pearson(consensus, truth),
        "spearman": pearson(ranks(consensus), ranks(truth)),
        "mae": float(np.abs(consensus - truth).mean()),
        "payout_inflation": (paid - honest_paid) / honest_paid if honest_paid > 0 else 0.0,
        "detection_auc": auc(-w, malicious),
        "inference_reward_mean": float(inference_reward.mean()),
        "inference_reward_var": float(inference_reward.var()),
        "evaluator_reward_mean": float(evaluator_reward.mean()),
        "evaluator_reward_var": float(evaluator_reward.var()),
        "malicious": int(malicious.sum()),
    }


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=5000, help="rounds (default: 5000, the scenario's)")
    p.add_argument("-k", "--committee", type=int, default=7, help="committee size K (default: 7)")
    p.add_argument("--rho", type=float, default=0.3, help="malicious fraction (default: 0.3)")
    p.add_argument("--seed", type=int, default=42, help="seed of numpy.random.default_rng (default: 42)")
    a = p.parse_args()
    if a.rounds < 1 or not 1 <= a.committee <= N_EVALUATORS or not 0.0 <= a.rho <= 1.0:
        p.error(f"need rounds >= 1, 1 <= K <= {N_EVALUATORS} and 0 <= rho <= 1")
    start = time.perf_counter()
    result = run(a.rounds, a.committee, a.rho, a.seed)
    result["rounds"] = a.rounds
    result["loop_seconds"] = time.perf_counter() - start
    print(json.dumps(result))


if __name__ == "__main__":
    main()

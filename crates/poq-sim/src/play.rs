//! The round loop: one repetition of a cell, played through
//! [`poq_core::protocol::Protocol`], the same state machine the node drives.
//!
//! Per round: the world answers; the protocol opens the round, drawing its committee
//! from a fresh 32-byte beacon (the `beacon/<rep>/<K>` stream of the master seed) and
//! the round id; the world says what each member would honestly report; the attack
//! transforms the malicious members' reports (some may stay silent), reading only the
//! public history the protocol exposes; the reports are submitted; and the round is
//! closed as at its deadline: finalized with its quorum, expired below it. Trust,
//! rewards and history are the protocol's alone.
//!
//! **Gold rounds.** With probability g (the `gold/<rep>/<K>` stream) a round is a
//! spot-check: its answer comes from the world's gold set ([`World::gold_answer`],
//! drawn on that stream, so ordinary rounds see the same answers whatever g is), it is
//! played exactly like any other round, and once it finalizes its truth is revealed to
//! the protocol ([`Protocol::reveal`]). Gold rounds are paid like any round but are
//! left out of the alignment metrics, which measure the rounds users care about. On
//! those same rounds each of the world's evaluator models alone is scored against the
//! truth, and the best one is reported as the bar for the consensus.

use crate::cell::{CellDetail, CellResult, CellSpec, MeanVar, malicious_set, master_seed, rng_for};
use crate::scenario::Scenario;
use crate::world::{HonestReport, World};
use crate::{Result, SimError};
use poq_core::aggregate::{self, Rule};
use poq_core::attack::{self, Attack, Member};
use poq_core::protocol::{Closed, Protocol, Registration};
use poq_core::rng::{Xoshiro256PlusPlus, chance};
use poq_core::stats;
use poq_core::trust::{TrustKind, TrustPolicy};
use poq_core::{EvaluatorId, RoundId};

fn next_beacon(rng: &mut Xoshiro256PlusPlus) -> [u8; 32] {
    let mut b = [0u8; 32];
    for chunk in b.chunks_exact_mut(8) {
        chunk.copy_from_slice(&rng.next_word().to_le_bytes());
    }
    b
}

/// Mean of the values whose flag equals `want`; `None` for an empty class.
fn class_mean(values: &[f64], flags: &[bool], want: bool) -> Option<f64> {
    let v: Vec<f64> = values
        .iter()
        .zip(flags)
        .filter(|(_, f)| **f == want)
        .map(|(x, _)| *x)
        .collect();
    stats::mean(&v)
}

/// Runs repetition `rep` of a cell; `trace_every` > 0 samples trust weights.
pub fn run_once(
    scenario: &Scenario,
    world: &dyn World,
    spec: &CellSpec,
    rep: usize,
    trace_every: usize,
) -> Result<CellDetail> {
    let n = world.evaluators();
    if spec.k == 0 || spec.k > n {
        return Err(SimError::InvalidScenario {
            name: "k".to_string(),
            value: spec.k.to_string(),
            reason: format!("must be between 1 and {n}, the evaluators of this world"),
        });
    }
    spec.attack.validate()?;
    let master = master_seed(scenario.seed);
    if !(0.0..=1.0).contains(&spec.gold_fraction) {
        return Err(SimError::InvalidScenario {
            name: "gold_fraction".to_string(),
            value: spec.gold_fraction.to_string(),
            reason: "must be a fraction in [0, 1]".to_string(),
        });
    }
    let mut config = scenario.protocol_config(spec.rule, spec.k, spec.missing, spec.scaling);
    let gold_on = spec.gold_fraction > 0.0;
    if gold_on {
        // Spot-checks are revealed right after they close; the window is what a
        // network would keep.
        config.reveal_window = scenario.protocol.reveal_window.max(1);
    }
    let trust = scenario.trust(spec.trust, n)?;
    let mut protocol = Protocol::new(config, trust, vec![Registration::all_tasks(); n], world.nodes())?;
    let malicious = malicious_set(&master, rep, spec.rho, n);
    let mut world_rng = rng_for(&master, &format!("world/{rep}/{}", spec.k));
    let mut beacon_rng = rng_for(&master, &format!("beacon/{rep}/{}", spec.k));
    let mut gold_rng = rng_for(&master, &format!("gold/{rep}/{}", spec.k));
    let models = world.models();
    let mut model_scores: Vec<Vec<f64>> = vec![Vec::with_capacity(scenario.rounds); models.len()];
    let mut gold_rounds = 0u64;
    let mut attack_rng = rng_for(
        &master,
        &format!("attack/{rep}/{}/{}/{}", spec.k, spec.rho, spec.attack.name()),
    );
    let rewards = config.round.rewards;

    let rounds = scenario.rounds;
    // Scenario::validate caps rounds, so these reservations are bounded.
    let mut consensus = Vec::with_capacity(rounds);
    let mut truth = Vec::with_capacity(rounds);
    let (mut inf_paid, mut inf_honest, mut eval_paid, mut eval_honest) = (0.0, 0.0, 0.0, 0.0);
    let mut node_rewards = vec![MeanVar::default(); world.nodes()];
    let mut evaluator_rewards = vec![MeanVar::default(); n];
    let (mut inf_all, mut eval_all) = (MeanVar::default(), MeanVar::default());
    let (mut expired, mut silent) = (0u64, 0u64);
    let mut trace = Vec::new();
    let mut committee: Vec<EvaluatorId> = Vec::with_capacity(spec.k);
    let mut honest: Vec<HonestReport> = Vec::with_capacity(spec.k);
    let mut members: Vec<Member> = Vec::with_capacity(spec.k);
    let mut reported: Vec<Option<f64>> = Vec::with_capacity(spec.k);
    let mut weights = Vec::with_capacity(spec.k);
    let mut honest_scores = Vec::with_capacity(spec.k);

    for t in 0..rounds {
        if trace_every > 0 && t % trace_every == 0 {
            trace.push((t, protocol.trust().weights()));
        }
        let gold = gold_on && chance(&mut gold_rng, spec.gold_fraction);
        let answer = if gold {
            world.gold_answer(&mut gold_rng)
        } else {
            world.answer(&mut world_rng)
        };
        let id: RoundId = protocol.open(
            &next_beacon(&mut beacon_rng),
            answer.node,
            answer.task,
            answer.latency_ms,
        )?;
        committee.clear();
        committee.extend_from_slice(protocol.round(id).map_or(&[][..], |r| r.committee()));
        let score_rng = if gold { &mut gold_rng } else { &mut world_rng };
        world.honest_scores(&answer, &committee, score_rng, &mut honest);
        if honest.len() != committee.len() {
            return Err(SimError::InvalidScenario {
                name: "world".to_string(),
                value: format!("{} honest scores for {} members", honest.len(), committee.len()),
                reason: format!(
                    "the world must score every seated evaluator (round {t}, seed {})",
                    scenario.seed
                ),
            });
        }
        let history = protocol.history(id)?;
        members.clear();
        weights.clear();
        honest_scores.clear();
        for (&e, h) in committee.iter().zip(&honest) {
            let w = protocol.weight(e, answer.task);
            weights.push(w);
            // As consensus would use it: on the trust policy's scale.
            honest_scores.push(protocol.trust().calibrate(e, answer.task, h.score));
            members.push(Member {
                honest: h.score,
                malicious: malicious[e.index()],
                trust: w,
            });
        }
        attack::apply(&spec.attack, &members, &history, &mut attack_rng, &mut reported);
        for ((&e, h), r) in committee.iter().zip(&honest).zip(&reported) {
            match r {
                Some(s) => protocol.submit(id, e, *s, h.latency_ms)?,
                None => silent += 1,
            }
        }

        // What an all-honest committee, everyone reporting, would have been paid:
        // same committee, rule, weights and shares.
        let honest_c = aggregate::aggregate(spec.rule, &honest_scores, Some(&weights))?;
        inf_honest += rewards.inference(honest_c, config.round.inference_cost.normalize(answer.latency_ms)?);
        let weight_sum: f64 = weights.iter().sum();
        for ((h, &w), &s) in honest.iter().zip(&weights).zip(&honest_scores) {
            let share = rewards.evaluator_share(spec.k, w, weight_sum);
            let cost = config.round.evaluator_cost.normalize(h.latency_ms)?;
            eval_honest += rewards.evaluator_with_share(share, (s - honest_c).abs() / 10.0, cost);
        }

        let (inference_reward, seats) = match protocol.close(id)? {
            Closed::Finalized(o) => {
                if gold {
                    protocol.reveal(id, answer.truth)?;
                    gold_rounds += 1;
                } else {
                    consensus.push(o.consensus);
                    truth.push(answer.truth);
                    for (m, v) in model_scores.iter_mut().enumerate() {
                        // A world that names a model scores every answer with it.
                        v.push(world.model_score(&answer, m).unwrap_or(f64::NAN));
                    }
                }
                let seats: Vec<(EvaluatorId, f64)> = o
                    .reports
                    .iter()
                    .map(|r| (r.evaluator, r.reward))
                    .chain(o.missing.iter().map(|m| (m.evaluator, m.reward)))
                    .collect();
                (o.inference_reward, seats)
            }
            Closed::Expired(x) => {
                expired += 1;
                (0.0, x.missing.iter().map(|m| (m.evaluator, m.reward)).collect())
            }
        };
        inf_paid += inference_reward;
        if let Some(s) = node_rewards.get_mut(answer.node.index()) {
            s.push(inference_reward);
        }
        inf_all.push(inference_reward);
        for (e, reward) in seats {
            eval_paid += reward;
            evaluator_rewards[e.index()].push(reward);
            eval_all.push(reward);
        }
    }
    let final_weights = protocol.trust().weights();
    if trace_every > 0 {
        trace.push((rounds, final_weights.clone()));
    }

    // Nothing to detect without trust, or without an attack (the "malicious" then
    // behave honestly).
    let detection_auc = if spec.trust == TrustKind::None || matches!(spec.attack, Attack::None) {
        None
    } else {
        let trust = protocol.trust();
        let suspicion: Vec<f64> = (0..n as u32).map(|e| -trust.standing(EvaluatorId(e))).collect();
        stats::auc(&suspicion, &malicious)
    };
    let (best_model, best_model_pearson) = models
        .iter()
        .zip(&model_scores)
        .filter(|(_, v)| v.iter().all(|x| x.is_finite()))
        .filter_map(|(m, v)| stats::pearson(v, &truth).map(|r| (m.clone(), r)))
        .fold((None, None), |(bm, br): (Option<String>, Option<f64>), (m, r)| {
            if br.is_none_or(|b| r > b) {
                (Some(m), Some(r))
            } else {
                (bm, br)
            }
        });
    let book = protocol.book().clone();
    let reward_ratio = match (
        class_mean(&book.evaluator, &malicious, true),
        class_mean(&book.evaluator, &malicious, false),
    ) {
        (Some(m), Some(h)) if h > 0.0 => Some(m / h),
        _ => None,
    };
    let trust_ratio = match (
        class_mean(&final_weights, &malicious, true),
        class_mean(&final_weights, &malicious, false),
    ) {
        (Some(m), Some(h)) => Some(m / h),
        _ => None,
    };
    let per_round = |x: f64| x / rounds as f64;
    let result = CellResult {
        attack: spec.attack.name().to_string(),
        rho: spec.rho,
        k: spec.k,
        rule: spec.rule.name().to_string(),
        trust: spec.trust.name().to_string(),
        missing: spec.missing.name().to_string(),
        evaluator_scaling: spec.scaling.name().to_string(),
        gold_fraction: spec.gold_fraction,
        gold_rounds: gold_rounds as f64,
        pearson: stats::pearson(&consensus, &truth),
        spearman: stats::spearman(&consensus, &truth),
        mae: stats::mae(&consensus, &truth),
        payout_inflation: per_round((inf_paid - inf_honest) + (eval_paid - eval_honest)),
        inference_inflation: per_round(inf_paid - inf_honest),
        evaluator_inflation: per_round(eval_paid - eval_honest),
        trimmed_per_side: match spec.rule {
            Rule::TrimmedMean { trim } => Some(aggregate::trim_count(trim, spec.k)),
            _ => None,
        },
        detection_auc,
        best_model,
        best_model_pearson,
        inference_reward_mean: inf_all.mean,
        inference_reward_var: inf_all.var(),
        evaluator_reward_mean: eval_all.mean,
        evaluator_reward_var: eval_all.var(),
        malicious: malicious.iter().filter(|&&m| m).count(),
        expired: expired as f64,
        missing_rate: silent as f64 / (rounds * spec.k) as f64,
        malicious_reward_ratio: reward_ratio,
        malicious_trust_ratio: trust_ratio,
    };
    Ok(CellDetail {
        result,
        malicious,
        trace,
        final_weights,
        node_rewards,
        evaluator_rewards,
        book,
        state_digest: poq_core::encoding::to_hex(&protocol.state_digest()),
    })
}

/// The mean of `f` over repetitions when every repetition has it, else `None`.
fn mean_opt(reps: &[CellResult], f: fn(&CellResult) -> Option<f64>) -> Option<f64> {
    let v: Option<Vec<f64>> = reps.iter().map(f).collect();
    v.filter(|v| !v.is_empty())
        .map(|v| v.iter().sum::<f64>() / v.len() as f64)
}

/// Runs every repetition of a cell and averages the summary numbers.
pub fn run_cell(scenario: &Scenario, world: &dyn World, spec: &CellSpec) -> Result<CellResult> {
    let reps: Vec<CellResult> = (0..scenario.seeds)
        .map(|rep| run_once(scenario, world, spec, rep, 0).map(|d| d.result))
        .collect::<Result<_>>()?;
    let Some(first) = reps.first() else {
        return Err(SimError::InvalidScenario {
            name: "seeds".to_string(),
            value: scenario.seeds.to_string(),
            reason: "must be at least 1".to_string(),
        });
    };
    let avg = |f: fn(&CellResult) -> f64| reps.iter().map(f).sum::<f64>() / reps.len() as f64;
    let mut out = first.clone();
    out.pearson = mean_opt(&reps, |r| r.pearson);
    out.spearman = mean_opt(&reps, |r| r.spearman);
    out.mae = mean_opt(&reps, |r| r.mae);
    out.payout_inflation = avg(|r| r.payout_inflation);
    out.inference_inflation = avg(|r| r.inference_inflation);
    out.evaluator_inflation = avg(|r| r.evaluator_inflation);
    out.detection_auc = mean_opt(&reps, |r| r.detection_auc);
    out.gold_rounds = avg(|r| r.gold_rounds);
    out.best_model_pearson = mean_opt(&reps, |r| r.best_model_pearson);
    out.inference_reward_mean = avg(|r| r.inference_reward_mean);
    out.inference_reward_var = avg(|r| r.inference_reward_var);
    out.evaluator_reward_mean = avg(|r| r.evaluator_reward_mean);
    out.evaluator_reward_var = avg(|r| r.evaluator_reward_var);
    out.expired = avg(|r| r.expired);
    out.missing_rate = avg(|r| r.missing_rate);
    out.malicious_reward_ratio = mean_opt(&reps, |r| r.malicious_reward_ratio);
    out.malicious_trust_ratio = mean_opt(&reps, |r| r.malicious_trust_ratio);
    Ok(out)
}

//! Tests of `poq_core::trust`: the published rule exactly, its flaw, and ours.

use poq_core::committee::draw_uniform;
use poq_core::rng::{Xoshiro256PlusPlus, standard_normal};
use poq_core::stats::{auc, chi_squared_quantile, normal_quantile};
use poq_core::trust::{
    Calibrated, CalibratedParams, Catd, CatdParams, Crh, CrhParams, Gold, GoldParams, NoTrust, Published,
    PublishedParams, Report, TrustKind, TrustParams, TrustPolicy,
};
use poq_core::{CoreError, EvaluatorId, Task};

/// Evaluator `i`.
fn e(i: u32) -> EvaluatorId {
    EvaluatorId(i)
}

#[test]
fn published_rule_by_hand() {
    let mut p = Published::new(3, PublishedParams::default()).unwrap();
    let mut changes = Vec::new();
    let reports = [
        Report {
            evaluator: e(0),
            score: 8.0,
        },
        Report {
            evaluator: e(1),
            score: 6.0,
        },
        Report {
            evaluator: e(2),
            score: 0.0,
        },
    ];
    p.update(&reports, 6.0, Task::Qa, &mut changes);
    // d = 0.2 → 1 · (1 + 0.2 · 0.3) = 1.06
    assert!((p.weight(e(0)) - 1.06).abs() < 1e-15);
    // d = 0 → 1 · (1 + 0.2 · 0.5) = 1.1
    assert!((p.weight(e(1)) - 1.1).abs() < 1e-15);
    // d = 0.6 → 1 · (1 + 0.2 · (−0.1)) = 0.98
    assert!((p.weight(e(2)) - 0.98).abs() < 1e-15);
    assert_eq!(changes.len(), 3);
    assert_eq!((changes[2].evaluator, changes[2].before), (e(2), 1.0));
    // Clipping at w_min: a maximal deviation every round shrinks by 0.9 until 0.05.
    let mut p = Published::new(1, PublishedParams::default()).unwrap();
    for _ in 0..200 {
        p.update(
            &[Report {
                evaluator: e(0),
                score: 10.0,
            }],
            0.0,
            Task::Qa,
            &mut changes,
        );
    }
    assert_eq!(p.weight(e(0)), 0.05);
}

/// A silent committee member, published rule: a report at d = 1,
/// w ← clip(w · (1 + 0.2 (0.5 − 1)), 0.05, 2) = 0.9 w, on whatever task.
#[test]
fn published_penalizes_a_missing_member_as_the_worst_report() {
    let mut p = Published::new(3, PublishedParams::default()).unwrap();
    let c = p.penalize_missing(e(1), Task::Summarization);
    assert_eq!((c.evaluator, c.before, c.after), (e(1), 1.0, 0.9));
    let c = p.penalize_missing(e(1), Task::Qa);
    assert!(
        (c.before - 0.9).abs() < 1e-15 && (c.after - 0.81).abs() < 1e-15,
        "{c:?}"
    );
    assert_eq!((p.weight(e(0)), p.weight(e(2))), (1.0, 1.0));
    // The same as a report at the maximum deviation.
    let mut q = Published::new(3, PublishedParams::default()).unwrap();
    let mut changes = Vec::new();
    for _ in 0..2 {
        q.update(
            &[Report {
                evaluator: e(1),
                score: 10.0,
            }],
            0.0,
            Task::Qa,
            &mut changes,
        );
    }
    assert_eq!(q.weight(e(1)), p.weight(e(1)));
    // Clipped at w_min.
    for _ in 0..100 {
        p.penalize_missing(e(1), Task::Qa);
    }
    assert_eq!(p.weight(e(1)), 0.05);
    // No trust: nothing moves.
    let mut n = NoTrust::new(2);
    let c = n.penalize_missing(e(0), Task::Qa);
    assert_eq!((c.evaluator, c.before, c.after), (e(0), 1.0, 1.0));
}

/// A silent committee member, calibrated: a squared error of (10 + |B|)² enters both
/// error EWMAs of the round's task; the signed bias is left alone.
///
/// Fresh (B = 0, R = R₀ = 1): u = 100, q_slow = 1 + 0.02 · 99 = 2.98,
/// q_fast = 1 + 0.2 · 99 = 20.8, E = 20.8, w = clip(1 / 20.8 = 0.048…, 0.05, 2) = 0.05.
///
/// After the round 7, 7, 7, 2, 3 of `references_ignore_exact_agreement` (e0: residual
/// 4.5, bias 0.09, q_slow = 1 + 0.02 · 19.25 = 1.385, q_fast = 1 + 0.2 · 19.25 = 4.85;
/// B = 0.05 · 0.09 = 0.0045), penalizing e0: u = 10.0045² = 100.09002025,
/// q_slow = 1.385 + 0.02 (u − 1.385) = 3.359100405, q_fast = 4.85 + 0.2 (u − 4.85)
/// = 23.89800405, E = q_fast + (3 − 1)(0.09 − 0.0045)² = 23.89800405 + 0.0146205
/// = 23.91262455; relative bias still 0.0855.
#[test]
fn calibrated_penalizes_a_missing_member_on_its_task() {
    let mut c = Calibrated::new(3, CalibratedParams::default()).unwrap();
    let ch = c.penalize_missing(e(2), Task::Qa);
    assert_eq!((ch.evaluator, ch.before, ch.after), (e(2), 1.0, 0.05));
    assert!((c.error_for(e(2), Task::Qa).unwrap() - 20.8).abs() < 1e-12);
    assert_eq!(c.relative_bias_for(e(2), Task::Qa), Some(0.0));
    assert_eq!((c.weight(e(0)), c.weight(e(2))), (1.0, 0.05));
    // Per task: summarization has not seen it.
    assert_eq!(c.weight_for(e(2), Task::Summarization), 1.0);
    let ch = c.penalize_missing(e(2), Task::Summarization);
    assert_eq!((ch.before, ch.after), (1.0, 0.05));
    assert!((c.error_for(e(2), Task::Summarization).unwrap() - 20.8).abs() < 1e-12);

    let mut c = Calibrated::new(5, CalibratedParams::default()).unwrap();
    let reports: Vec<Report> = [7.0, 7.0, 7.0, 2.0, 3.0]
        .iter()
        .enumerate()
        .map(|(i, &score)| Report {
            evaluator: e(i as u32),
            score,
        })
        .collect();
    c.update(&reports, 7.0, Task::Qa, &mut Vec::new());
    let before = c.weight_for(e(0), Task::Qa);
    let ch = c.penalize_missing(e(0), Task::Qa);
    assert_eq!(ch.before, before);
    assert!(ch.after < before);
    let err = c.error_for(e(0), Task::Qa).unwrap();
    assert!((err - 23.91262455).abs() < 1e-9, "error {err}");
    let bias = c.relative_bias_for(e(0), Task::Qa).unwrap();
    assert!((bias - 0.0855).abs() < 1e-12, "bias {bias}");
    assert_eq!(c.error_for(e(0), Task::Summarization), None);
}

/// A small world: `n` evaluators, the first `bad` of them malicious with `attack`
/// applied to their honest score, uniform committees of `k`, consensus = median.
fn simulate(
    policy: &mut dyn TrustPolicy,
    n: usize,
    bad: usize,
    k: usize,
    rounds: usize,
    attack: impl Fn(f64, usize) -> f64,
    seed: u64,
) {
    let mut rng = Xoshiro256PlusPlus::from_u64(seed);
    let noise: Vec<f64> = (0..n).map(|e| 0.5 + 0.5 * (e % 3) as f64 / 2.0).collect();
    let mut changes = Vec::new();
    for t in 0..rounds {
        let truth = 5.0 + 2.0 * standard_normal(&mut rng);
        let committee = draw_uniform(&mut rng, n, k).unwrap();
        let reports: Vec<Report> = committee
            .iter()
            .map(|&e| {
                let honest = (truth + noise[e as usize] * standard_normal(&mut rng)).clamp(0.0, 10.0);
                let score = if (e as usize) < bad {
                    attack(honest, t).clamp(0.0, 10.0)
                } else {
                    honest
                };
                Report {
                    evaluator: EvaluatorId(e),
                    score,
                }
            })
            .collect();
        let mut s: Vec<f64> = reports.iter().map(|r| r.score).collect();
        s.sort_by(f64::total_cmp);
        let consensus = s[s.len() / 2];
        changes.clear();
        policy.update(&reports, consensus, Task::Qa, &mut changes);
    }
}

fn detection(policy: &dyn TrustPolicy, bad: usize) -> f64 {
    let suspicion: Vec<f64> = policy.weights().iter().map(|w| -w).collect();
    let malicious: Vec<bool> = (0..policy.pool_size()).map(|e| e < bad).collect();
    auc(&suspicion, &malicious).unwrap()
}

/// The published rule's flaw, shown: honest evaluators and moderate boosters (+3, a
/// deviation of 0.3 < 0.5) all saturate at w_max, so the weights detect nothing.
#[test]
fn published_rule_saturates() {
    let mut p = Published::new(10, PublishedParams::default()).unwrap();
    simulate(&mut p, 10, 3, 7, 500, |s, _| s + 3.0, 1);
    for i in 0..10 {
        assert_eq!(p.weight(e(i)), 2.0, "evaluator {i} (seed 1)");
    }
    assert_eq!(detection(&p, 3), 0.5);
}

#[test]
fn calibrated_separates_attackers_from_honest() {
    type Transform = fn(f64, usize) -> f64;
    let attacks: [(&str, Transform); 4] = [
        ("boosting", |s, _| s + 3.0),
        ("sabotage", |s, _| s - 3.0),
        ("constant", |_, _| 7.0),
        ("precise +1.5 booster", |s, _| s + 1.5),
    ];
    for (name, attack) in attacks {
        let mut c = Calibrated::new(10, CalibratedParams::default()).unwrap();
        simulate(&mut c, 10, 3, 7, 1500, attack, 2);
        assert_eq!(detection(&c, 3), 1.0, "{name} (seed 2), weights {:?}", c.weights());
        // Relative weights: a typical honest evaluator sits near 1, not at the cap.
        let mut honest: Vec<f64> = (3..10).map(|i| c.weight(e(i))).collect();
        honest.sort_by(f64::total_cmp);
        assert!(
            honest[3] > 0.5 && honest[3] < 2.0,
            "{name}: median honest weight {}",
            honest[3]
        );
    }
}

/// References leave out reports identical to the evaluator's own, by hand:
/// reports 7, 7, 7, 2, 3. For each 7 the others are {2, 3}: reference 2.5, residual 4.5.
/// For 2: {3, 7, 7, 7} → 7, residual −5. For 3: {2, 7, 7, 7} → 7, residual −4.
/// Biases after one round (slow rate 0.02): 0.09, 0.09, 0.09, −0.1, −0.08; the pool
/// bias moves 0.05 of the way to their median 0.09.
#[test]
fn references_ignore_exact_agreement() {
    let mut c = Calibrated::new(5, CalibratedParams::default()).unwrap();
    let reports: Vec<Report> = [7.0, 7.0, 7.0, 2.0, 3.0]
        .iter()
        .enumerate()
        .map(|(i, &score)| Report {
            evaluator: e(i as u32),
            score,
        })
        .collect();
    let mut changes = Vec::new();
    c.update(&reports, 7.0, Task::Qa, &mut changes);
    let pool = 0.05 * 0.09;
    for (i, res) in [(0, 4.5), (1, 4.5), (2, 4.5), (3, -5.0), (4, -4.0)] {
        let want = 0.02 * res - pool;
        let got = c.relative_bias_for(e(i), Task::Qa).unwrap();
        assert!((got - want).abs() < 1e-12, "evaluator {i}: {got} vs {want}");
    }
    // A unanimous round carries no information and changes nothing.
    let before = c.weights();
    let same: Vec<Report> = (0..5)
        .map(|i| Report {
            evaluator: e(i),
            score: 4.0,
        })
        .collect();
    c.update(&same, 4.0, Task::Qa, &mut changes);
    assert_eq!(c.weights(), before);
}

/// Copycats and constant reporters agree with each other exactly; at ρ = 0.4 they
/// must not vote each other into trust.
#[test]
fn agreeing_attackers_do_not_lock_in() {
    let mut c = Calibrated::new(10, CalibratedParams::default()).unwrap();
    simulate(&mut c, 10, 4, 7, 1500, |_, _| 7.0, 21);
    assert_eq!(detection(&c, 4), 1.0, "seed 21, weights {:?}", c.weights());
}

/// Trust is per task: an evaluator that inverts on summarization loses trust there and
/// keeps it on QA; its overall weight is the mean of the two.
#[test]
fn calibrated_trust_is_per_task() {
    let mut c = Calibrated::new(8, CalibratedParams::default()).unwrap();
    let mut rng = Xoshiro256PlusPlus::from_u64(31);
    let mut changes = Vec::new();
    for t in 0..2000u32 {
        let task = if t % 2 == 0 { Task::Qa } else { Task::Summarization };
        let truth = 5.0 + 2.0 * standard_normal(&mut rng);
        let committee = draw_uniform(&mut rng, 8, 5).unwrap();
        let reports: Vec<Report> = committee
            .iter()
            .map(|&e| {
                let honest = truth + 0.7 * standard_normal(&mut rng);
                let score = if e == 0 && task == Task::Summarization {
                    10.0 - honest
                } else {
                    honest
                };
                Report {
                    evaluator: EvaluatorId(e),
                    score: score.clamp(0.0, 10.0),
                }
            })
            .collect();
        c.update(&reports, 5.0, task, &mut changes);
    }
    let (qa, summarization) = (c.weight_for(e(0), Task::Qa), c.weight_for(e(0), Task::Summarization));
    assert!(qa > 0.5, "QA weight {qa} (seed 31)");
    assert!(summarization < 0.2, "summarization weight {summarization} (seed 31)");
    assert!((c.weight(e(0)) - (qa + summarization) / 2.0).abs() < 1e-12);
    // A task never seen gives the prior weight (and does not enter the overall weight).
    let mut fresh = Calibrated::new(3, CalibratedParams::default()).unwrap();
    let reports = [(0, 4.0), (1, 5.0), (2, 9.0)].map(|(i, score)| Report { evaluator: e(i), score });
    fresh.update(&reports, 5.0, Task::Qa, &mut changes);
    assert_eq!(fresh.weight_for(e(2), Task::Summarization), 1.0);
    assert_eq!(fresh.weight(e(2)), fresh.weight_for(e(2), Task::Qa));
    assert!(fresh.weight(e(2)) < 1.0);
}

/// Noise attackers (σ = 2.5) are caught by their variance, not their bias.
#[test]
fn calibrated_catches_noise() {
    let mut c = Calibrated::new(10, CalibratedParams::default()).unwrap();
    let mut rng = Xoshiro256PlusPlus::from_u64(77);
    let noise: Vec<f64> = (0..200_000).map(|_| 2.5 * standard_normal(&mut rng)).collect();
    let counter = std::cell::Cell::new(0usize);
    simulate(
        &mut c,
        10,
        3,
        7,
        1500,
        |s, _| {
            let i = counter.get();
            counter.set(i + 1);
            s + noise[i % noise.len()]
        },
        3,
    );
    assert_eq!(detection(&c, 3), 1.0, "seed 3, weights {:?}", c.weights());
    let bias = c.relative_bias_for(e(0), Task::Qa).unwrap();
    assert!(bias.abs() < 1.0, "noise has no systematic bias, got {bias}");
}

/// On-off: honest for 600 rounds, then boosting. Trust must fall within a few dozen
/// rounds of the switch (lose fast).
#[test]
fn calibrated_loses_trust_fast_after_a_switch() {
    let mut c = Calibrated::new(10, CalibratedParams::default()).unwrap();
    simulate(&mut c, 10, 1, 7, 600, |s, _| s, 4);
    let before = c.weight(e(0));
    simulate(&mut c, 10, 1, 7, 40, |s, _| s + 3.0, 5);
    let after = c.weight(e(0));
    assert!(before > 0.5, "honest phase weight {before}");
    assert!(after < 0.25, "weight {after} 40 rounds after the switch (seeds 4, 5)");
}

#[test]
fn no_trust_is_constant() {
    let mut p = NoTrust::new(4);
    simulate(&mut p, 4, 1, 3, 50, |s, _| s + 3.0, 6);
    assert_eq!(p.weights(), vec![1.0; 4]);
}

#[test]
fn parameters_are_validated() {
    let bad = PublishedParams {
        lambda: -0.1,
        ..Default::default()
    };
    assert!(matches!(
        Published::new(2, bad),
        Err(CoreError::InvalidParameter { name: "lambda", .. })
    ));
    let bad = PublishedParams {
        w_min: 3.0,
        ..Default::default()
    };
    assert!(matches!(
        Published::new(2, bad),
        Err(CoreError::InvalidParameter { name: "w_max", .. })
    ));
    let bad = CalibratedParams {
        bias_weight: 0.5,
        ..Default::default()
    };
    assert!(matches!(
        Calibrated::new(2, bad),
        Err(CoreError::InvalidParameter {
            name: "bias_weight",
            ..
        })
    ));
    let bad = CalibratedParams {
        slow_rate: 0.0,
        ..Default::default()
    };
    assert!(matches!(
        Calibrated::new(2, bad),
        Err(CoreError::InvalidParameter { name: "slow_rate", .. })
    ));
    assert!(matches!(
        TrustKind::from_name("yuma"),
        Err(CoreError::UnknownName { .. })
    ));
    assert!(matches!(
        Crh::new(
            2,
            CrhParams {
                rate: 1.5,
                ..Default::default()
            }
        ),
        Err(CoreError::InvalidParameter { name: "rate", .. })
    ));
    assert!(matches!(
        Catd::new(
            2,
            CatdParams {
                alpha: 1.0,
                ..Default::default()
            }
        ),
        Err(CoreError::InvalidParameter { name: "alpha", .. })
    ));
    for name in ["none", "published", "calibrated", "crh", "catd"] {
        let kind = TrustKind::from_name(name).unwrap();
        assert_eq!(kind.name(), name);
        let trust = kind.build(&TrustParams::default(), 3).unwrap();
        assert_eq!((trust.name(), trust.kind(), trust.pool_size()), (name, kind, 3));
    }
}

/// Φ⁻¹ against published values (Python's `statistics.NormalDist().inv_cdf`, which
/// uses Wichura's AS241): Acklam's approximation is good to about 1e-9 relative.
#[test]
fn normal_quantile_matches_reference_values() {
    for (p, z) in [
        (0.5, 0.0),
        (0.025, -1.959_963_984_540_054),
        (0.975, 1.959_963_984_540_054),
        (0.001, -3.090_232_306_167_813),
        (0.9, 1.281_551_565_544_600_8),
        (1e-10, -6.361_340_902_404_056),
    ] {
        let got = normal_quantile(p).unwrap();
        assert!(
            (got - z).abs() <= 2e-9 * z.abs().max(1.0),
            "Φ⁻¹({p}) = {got}, expected {z}"
        );
    }
    for p in [0.0, 1.0, -0.1, f64::NAN] {
        assert_eq!(normal_quantile(p), None, "p = {p}");
    }
}

/// Wilson–Hilferty against χ² tables (lower 2.5% points): within 0.8% at 10 degrees of
/// freedom, 0.05% from 49 on; 0 where the cube's base is negative.
#[test]
fn chi_squared_quantile_matches_tables() {
    for (k, q, tol) in [(10.0, 3.246_97, 0.008), (49.0, 31.555, 5e-4), (100.0, 74.2219, 2e-4)] {
        let got = chi_squared_quantile(0.025, k).unwrap();
        assert!((got - q).abs() <= tol * q, "χ²(0.025, {k}) = {got}, table {q}");
    }
    assert_eq!(chi_squared_quantile(0.025, 1.0), Some(0.0));
    assert_eq!(chi_squared_quantile(0.025, 0.0), None);
    assert_eq!(chi_squared_quantile(1.5, 10.0), None);
}

/// The truth-discovery baselines see what agreement can see: in the synthetic world a
/// +3 booster or a −3 saboteur deviates from an honest majority's median, and both
/// CRH and CATD give all three attackers the lowest weights.
#[test]
fn crh_and_catd_separate_shifted_attackers() {
    type Transform = fn(f64, usize) -> f64;
    let attacks: [(&str, Transform); 2] = [("boosting", |s, _| s + 3.0), ("sabotage", |s, _| s - 3.0)];
    for (name, attack) in attacks {
        let mut crh = Crh::new(10, CrhParams::default()).unwrap();
        simulate(&mut crh, 10, 3, 7, 1500, attack, 3);
        assert_eq!(
            detection(&crh, 3),
            1.0,
            "crh {name} (seed 3), weights {:?}",
            crh.weights()
        );
        let mut catd = Catd::new(10, CatdParams::default()).unwrap();
        simulate(&mut catd, 10, 3, 7, 1500, attack, 3);
        assert_eq!(
            detection(&catd, 3),
            1.0,
            "catd {name} (seed 3), weights {:?}",
            catd.weights()
        );
    }
}

/// CATD's confidence: of two evaluators with the same squared error per claim, the one
/// with fewer claims weighs less, and both approach 1/MSE as claims accumulate.
#[test]
fn catd_discounts_evaluators_with_few_claims() {
    let mut c = Catd::new(2, CatdParams::default()).unwrap();
    let mut changes = Vec::new();
    let both = [
        Report {
            evaluator: e(0),
            score: 6.0,
        },
        Report {
            evaluator: e(1),
            score: 6.0,
        },
    ];
    for round in 0..400 {
        // e1 reports every round, e0 every fourth; both are 1 point off.
        let reports = if round % 4 == 0 { &both[..] } else { &both[1..] };
        c.update(reports, 5.0, Task::Qa, &mut changes);
    }
    let (w0, w1) = (c.weight(e(0)), c.weight(e(1)));
    assert!(w0 < w1, "few claims {w0}, many {w1}");
    // With MSE 1 the weight is χ²(0.025, n)/n: below 1, nearer it for larger n.
    assert!(w1 < 1.0 && w1 > 0.6, "{w1}");
}

/// The gold calibration equals batch weighted moments over the same gold reports with
/// weights 0.99^age (an independent computation of the decayed moments): the moment
/// map t̄ + sign(r) σ_t/σ_s (s − s̄) blended with the identity by n / (n + 5), weight
/// r²/(1 − r²).
#[test]
fn gold_calibration_matches_batch_weighted_moments() {
    let params = GoldParams::default();
    let mut g = Gold::new(1, params).unwrap();
    let mut rng = Xoshiro256PlusPlus::from_u64(11);
    let mut seen: Vec<(f64, f64)> = Vec::new();
    let mut changes = Vec::new();
    for _ in 0..60 {
        let t = (5.0 + 2.0 * standard_normal(&mut rng)).clamp(0.0, 10.0);
        let s = (0.5 * t + 3.0 + standard_normal(&mut rng)).clamp(0.0, 10.0);
        g.learn_gold(
            &[Report {
                evaluator: e(0),
                score: s,
            }],
            t,
            Task::Qa,
            &mut changes,
        );
        seen.push((s, t));
    }
    let keep = 1.0 - params.rate;
    let n = seen.len();
    let w: Vec<f64> = (0..n).map(|i| keep.powi((n - 1 - i) as i32)).collect();
    let total: f64 = w.iter().sum();
    let ms = seen.iter().zip(&w).map(|((s, _), w)| w * s).sum::<f64>() / total;
    let mt = seen.iter().zip(&w).map(|((_, t), w)| w * t).sum::<f64>() / total;
    let css: f64 = seen.iter().zip(&w).map(|((s, _), w)| w * (s - ms) * (s - ms)).sum();
    let ctt: f64 = seen.iter().zip(&w).map(|((_, t), w)| w * (t - mt) * (t - mt)).sum();
    let cst: f64 = seen.iter().zip(&w).map(|((s, t), w)| w * (s - ms) * (t - mt)).sum();
    // Alone in its pool, the evaluator's correlation is the pool's: no shrinkage.
    let r = cst / (css * ctt).sqrt();
    let matched = r.signum() * (ctt / css).sqrt();
    // calibrate(s) = λ (t̄ + b (s − s̄)) + (1 − λ) s with λ = n / (n + n₀).
    let share = total / (total + params.shrinkage);
    let slope = share * matched + (1.0 - share);
    let intercept = share * (mt - matched * ms);
    let (gr, gslope, gintercept) = g.calibration_for(e(0), Task::Qa).unwrap();
    let near = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs().max(1.0);
    assert!(near(g.gold_count_for(e(0), Task::Qa).unwrap(), total));
    assert!(near(gr, r), "r {gr} vs {r}");
    assert!(near(gslope, slope), "slope {gslope} vs {slope}");
    assert!(near(gintercept, intercept), "intercept {gintercept} vs {intercept}");
    assert!(near(g.weight(e(0)), r * r / (1.0 - r * r)));
}

/// Gold trust weighs informativeness: in a world where evaluators 0–2 track the truth
/// (with a +2 bias, as the bi-encoder overstates QA), 3–5 guess around 5 and 6–8 are
/// honest but noisy (σ = 2.5), after 5% gold rounds the trackers weigh most, the
/// guessers least, and the trackers' calibrated scores lose their bias.
#[test]
fn gold_weighs_informative_evaluators_up() {
    let mut g = Gold::new(9, GoldParams::default()).unwrap();
    let mut rng = Xoshiro256PlusPlus::from_u64(12);
    let mut changes = Vec::new();
    let report = |e: usize, t: f64, rng: &mut Xoshiro256PlusPlus| -> f64 {
        let z = standard_normal(rng);
        match e {
            0..=2 => t + 2.0 + 0.5 * z,
            3..=5 => 5.0 + 0.5 * z,
            _ => t + 2.5 * z,
        }
        .clamp(0.0, 10.0)
    };
    for round in 0..2000 {
        let t = (5.0 + 2.0 * standard_normal(&mut rng)).clamp(0.0, 10.0);
        let committee = draw_uniform(&mut rng, 9, 7).unwrap();
        let reports: Vec<Report> = committee
            .iter()
            .map(|&m| Report {
                evaluator: EvaluatorId(m),
                score: report(m as usize, t, &mut rng),
            })
            .collect();
        changes.clear();
        g.update(&reports, 5.0, Task::Qa, &mut changes);
        if round % 20 == 0 {
            g.learn_gold(&reports, t, Task::Qa, &mut changes);
        }
    }
    let w = g.weights();
    let min_tracker = w[0..3].iter().cloned().fold(f64::INFINITY, f64::min);
    let max_noisy = w[6..9].iter().cloned().fold(0.0, f64::max);
    let max_guesser = w[3..6].iter().cloned().fold(0.0, f64::max);
    let min_noisy = w[6..9].iter().cloned().fold(f64::INFINITY, f64::min);
    assert!(
        min_tracker > max_noisy && min_noisy > max_guesser,
        "weights {w:?} (seed 12)"
    );
    // The +2 bias is calibrated away: a tracker's 9 means a truth near 7.
    let c = g.calibrate(e(0), Task::Qa, 9.0);
    assert!((c - 7.0).abs() < 0.6, "calibrated 9 → {c} (seed 12)");
}

/// With no gold rounds, gold trust is the plain rule: every weight equal, every score
/// unchanged.
#[test]
fn gold_without_gold_rounds_is_equal_weights() {
    let mut g = Gold::new(10, GoldParams::default()).unwrap();
    simulate(&mut g, 10, 3, 7, 300, |s, _| s + 3.0, 4);
    assert!(g.weights().iter().all(|&w| w == 1e-3), "{:?}", g.weights());
    assert_eq!(g.calibrate(e(0), Task::Qa, 7.5), 7.5);
    // Standing still sees the boosters (the embedded agreement estimator).
    let standing: Vec<f64> = (0..10).map(|i| -g.standing(e(i))).collect();
    let malicious: Vec<bool> = (0..10).map(|i| i < 3).collect();
    assert_eq!(auc(&standing, &malicious), Some(1.0), "seed 4");
}

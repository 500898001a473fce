//! Tests of `poq_core::trust`: the published rule exactly, its flaw, and ours.

use poq_core::CoreError;
use poq_core::committee::draw_uniform;
use poq_core::rng::{Xoshiro256PlusPlus, standard_normal};
use poq_core::stats::auc;
use poq_core::trust::{
    Calibrated, CalibratedParams, NoTrust, Published, PublishedParams, Report, TrustPolicy, policy_from_name,
};

#[test]
fn published_rule_by_hand() {
    let mut p = Published::new(3, PublishedParams::default()).unwrap();
    let mut changes = Vec::new();
    let reports = [
        Report {
            evaluator: 0,
            score: 8.0,
        },
        Report {
            evaluator: 1,
            score: 6.0,
        },
        Report {
            evaluator: 2,
            score: 0.0,
        },
    ];
    p.update(&reports, 6.0, &mut changes);
    // d = 0.2 → 1 · (1 + 0.2 · 0.3) = 1.06
    assert!((p.weight(0) - 1.06).abs() < 1e-15);
    // d = 0 → 1 · (1 + 0.2 · 0.5) = 1.1
    assert!((p.weight(1) - 1.1).abs() < 1e-15);
    // d = 0.6 → 1 · (1 + 0.2 · (−0.1)) = 0.98
    assert!((p.weight(2) - 0.98).abs() < 1e-15);
    assert_eq!(changes.len(), 3);
    assert_eq!((changes[2].evaluator, changes[2].before), (2, 1.0));
    // Clipping at w_min: a maximal deviation every round shrinks by 0.9 until 0.05.
    let mut p = Published::new(1, PublishedParams::default()).unwrap();
    for _ in 0..200 {
        p.update(
            &[Report {
                evaluator: 0,
                score: 10.0,
            }],
            0.0,
            &mut changes,
        );
    }
    assert_eq!(p.weight(0), 0.05);
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
                Report { evaluator: e, score }
            })
            .collect();
        let mut s: Vec<f64> = reports.iter().map(|r| r.score).collect();
        s.sort_by(f64::total_cmp);
        let consensus = s[s.len() / 2];
        changes.clear();
        policy.update(&reports, consensus, &mut changes);
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
    for e in 0..10 {
        assert_eq!(p.weight(e), 2.0, "evaluator {e} (seed 1)");
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
        let mut honest: Vec<f64> = (3..10).map(|e| c.weight(e)).collect();
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
        .map(|(e, &score)| Report {
            evaluator: e as u32,
            score,
        })
        .collect();
    let mut changes = Vec::new();
    c.update(&reports, 7.0, &mut changes);
    let pool = 0.05 * 0.09;
    for (e, res) in [(0, 4.5), (1, 4.5), (2, 4.5), (3, -5.0), (4, -4.0)] {
        let want = 0.02 * res - pool;
        let got = c.relative_bias(e).unwrap();
        assert!((got - want).abs() < 1e-12, "evaluator {e}: {got} vs {want}");
    }
    // A unanimous round carries no information and changes nothing.
    let before = c.weights();
    let same: Vec<Report> = (0..5)
        .map(|e| Report {
            evaluator: e,
            score: 4.0,
        })
        .collect();
    c.update(&same, 4.0, &mut changes);
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

/// Trust is per task: an evaluator that inverts on task 1 loses trust there and keeps
/// it on task 0; its overall weight is the mean of the two.
#[test]
fn calibrated_trust_is_per_task() {
    let mut c = Calibrated::new(8, CalibratedParams::default()).unwrap();
    let mut rng = Xoshiro256PlusPlus::from_u64(31);
    let mut changes = Vec::new();
    for t in 0..2000u32 {
        let task = (t % 2) as u16;
        let truth = 5.0 + 2.0 * standard_normal(&mut rng);
        let committee = draw_uniform(&mut rng, 8, 5).unwrap();
        let reports: Vec<Report> = committee
            .iter()
            .map(|&e| {
                let honest = truth + 0.7 * standard_normal(&mut rng);
                let score = if e == 0 && task == 1 { 10.0 - honest } else { honest };
                Report {
                    evaluator: e,
                    score: score.clamp(0.0, 10.0),
                }
            })
            .collect();
        c.update_for(&reports, 5.0, task, &mut changes);
    }
    let (qa, summarization) = (c.weight_for(0, 0), c.weight_for(0, 1));
    assert!(qa > 0.5, "task-0 weight {qa} (seed 31)");
    assert!(summarization < 0.2, "task-1 weight {summarization} (seed 31)");
    assert!((c.weight(0) - (qa + summarization) / 2.0).abs() < 1e-12);
    // A task never seen gives the prior weight.
    assert_eq!(c.weight_for(0, 7), 1.0);
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
    let bias = c.relative_bias(0).unwrap();
    assert!(bias.abs() < 1.0, "noise has no systematic bias, got {bias}");
}

/// On-off: honest for 600 rounds, then boosting. Trust must fall within a few dozen
/// rounds of the switch (lose fast).
#[test]
fn calibrated_loses_trust_fast_after_a_switch() {
    let mut c = Calibrated::new(10, CalibratedParams::default()).unwrap();
    simulate(&mut c, 10, 1, 7, 600, |s, _| s, 4);
    let before = c.weight(0);
    simulate(&mut c, 10, 1, 7, 40, |s, _| s + 3.0, 5);
    let after = c.weight(0);
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
        policy_from_name("yuma", 3),
        Err(CoreError::UnknownName { .. })
    ));
    for name in ["none", "published", "calibrated"] {
        assert_eq!(policy_from_name(name, 3).unwrap().name(), name);
    }
}

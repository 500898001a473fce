//! Tests of `poq_core::reward`.

use poq_core::CoreError;
use poq_core::reward::{CostScale, EvaluatorScaling, RewardParams};

#[test]
fn rewards_by_hand() {
    let p = RewardParams::default();
    // R_f = 1 · 7.5/10 − 0.3 · 0.5 = 0.75 − 0.15 = 0.6
    assert!((p.inference(7.5, 0.5) - 0.6).abs() < 1e-15);
    // R_e = (1/5) · [1 · (1 − 0.1) − 0.3 · 0.2] = 0.2 · 0.84 = 0.168
    assert!((p.evaluator(5, 0.1, 0.2) - 0.168).abs() < 1e-15);
    // A larger committee pays each member less for the same work.
    assert!(p.evaluator(15, 0.1, 0.2) < p.evaluator(5, 0.1, 0.2));
}

#[test]
fn slashing_switch() {
    let floor = RewardParams::default();
    // 1 · 0.5/10 − 0.3 · 1 = −0.25
    assert_eq!(floor.inference(0.5, 1.0), 0.0);
    let slash = RewardParams {
        allow_negative: true,
        ..Default::default()
    };
    assert!((slash.inference(0.5, 1.0) + 0.25).abs() < 1e-15);
}

#[test]
fn cost_scales() {
    let mm = CostScale::MinMax { min: 100.0, max: 300.0 };
    assert_eq!(mm.normalize(150.0).unwrap(), 0.25);
    assert_eq!(mm.normalize(350.0), Err(CoreError::InvalidCost { value: 350.0 }));
    assert_eq!(mm.normalize(-1.0), Err(CoreError::InvalidCost { value: -1.0 }));
    let r = CostScale::Reference { reference: 200.0 };
    assert_eq!(r.normalize(50.0).unwrap(), 0.25);
    assert_eq!(r.normalize(500.0).unwrap(), 1.0);
    assert!(matches!(r.normalize(f64::NAN), Err(CoreError::InvalidCost { .. })));
    assert!(CostScale::Reference { reference: 0.0 }.validate().is_err());
    assert!(CostScale::MinMax { min: 5.0, max: 1.0 }.validate().is_err());
    assert!(
        RewardParams {
            beta: -1.0,
            ..Default::default()
        }
        .validate()
        .is_err()
    );
}

/// Budget shares by hand, B_eval = 1.2, K = 3, weights 0.5, 1, 2.5 (Σ = 4).
#[test]
fn evaluator_shares_by_hand() {
    let flat = RewardParams {
        eval_budget: 1.2,
        ..Default::default()
    };
    // Flat: B_eval / K = 0.4 whatever the weight.
    assert_eq!(flat.evaluator_share(3, 0.5, 4.0), 1.2 / 3.0);
    assert_eq!(flat.evaluator_share(3, 2.5, 4.0), 1.2 / 3.0);
    let trust = RewardParams {
        evaluator_scaling: EvaluatorScaling::Trust,
        ..flat
    };
    // Trust: B_eval · w / Σw = 1.2 · 0.125 = 0.15, 1.2 · 0.25 = 0.3, 1.2 · 0.625 = 0.75.
    assert_eq!(trust.evaluator_share(3, 0.5, 4.0), 0.15);
    assert_eq!(trust.evaluator_share(3, 1.0, 4.0), 0.3);
    assert_eq!(trust.evaluator_share(3, 2.5, 4.0), 0.75);
    // Equal weights give the flat share.
    assert_eq!(trust.evaluator_share(4, 1.5, 6.0), flat.evaluator_share(4, 1.5, 6.0));
    // R_e = share · [α_e (1 − d) − β_e ĉ] = 0.75 · (0.9 − 0.3 · 0.5) = 0.75 · 0.75 = 0.5625.
    assert_eq!(trust.evaluator_with_share(0.75, 0.1, 0.5), 0.5625);
    // The flat form is evaluator_with_share at B_eval / K.
    assert_eq!(
        flat.evaluator(3, 0.1, 0.5),
        flat.evaluator_with_share(1.2 / 3.0, 0.1, 0.5)
    );
    assert_eq!(EvaluatorScaling::default(), EvaluatorScaling::Flat);
    assert_eq!(
        (EvaluatorScaling::Flat.name(), EvaluatorScaling::Trust.name()),
        ("flat", "trust")
    );
}

/// A missing member is paid as a report at d = 1 and ĉ = 1: share · (−β_e), floored.
#[test]
fn missing_evaluator_is_paid_the_worst_report() {
    let floor = RewardParams::default();
    assert_eq!(floor.missing_evaluator(0.25), 0.0);
    let slash = RewardParams {
        allow_negative: true,
        ..Default::default()
    };
    // 0.25 · (1 · 0 − 0.3 · 1) = −0.075
    assert_eq!(slash.missing_evaluator(0.25), 0.25 * -0.3);
    assert!((slash.missing_evaluator(0.25) + 0.075).abs() < 1e-15);
    // Never more than any report could earn at the same share.
    for d in [0.0, 0.5, 1.0] {
        for c in [0.0, 0.5, 1.0] {
            assert!(slash.missing_evaluator(0.25) <= slash.evaluator_with_share(0.25, d, c));
        }
    }
}

//! Tests of `poq_core::reward`.

use poq_core::CoreError;
use poq_core::reward::{CostScale, RewardParams};

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

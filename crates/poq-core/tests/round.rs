//! Tests of `poq_core::round`: the state machine's contract.

use poq_core::aggregate::Rule;
use poq_core::protocol::RewardBook;
use poq_core::reward::{CostScale, RewardParams};
use poq_core::round::{MissingReport, Round, RoundConfig, RoundSpec};
use poq_core::trust::{Published, PublishedParams, TrustPolicy};
use poq_core::{CoreError, EvaluatorId, NodeId, RoundId, Task};

fn config(rule: Rule) -> RoundConfig {
    RoundConfig {
        rule,
        quorum: 0,
        rewards: RewardParams::default(),
        inference_cost: CostScale::Reference { reference: 1000.0 },
        evaluator_cost: CostScale::Reference { reference: 100.0 },
        missing: MissingReport::Penalize,
    }
}

/// Evaluator `i`.
fn e(i: u32) -> EvaluatorId {
    EvaluatorId(i)
}

/// Evaluators `ids`, in the order given.
fn ids(ids: &[u32]) -> Vec<EvaluatorId> {
    ids.iter().copied().map(EvaluatorId).collect()
}

/// Opens round `id` of QA for `node` at raw cost `cost`.
fn open(config: RoundConfig, id: u64, node: u32, cost: f64, committee: &[u32], pool: usize) -> poq_core::Result<Round> {
    let spec = RoundSpec {
        id: RoundId(id),
        node: NodeId(node),
        task: Task::Qa,
        inference_cost: cost,
    };
    Round::open(config, spec, ids(committee), pool)
}

#[test]
fn a_round_by_hand() {
    let mut trust = Published::new(5, PublishedParams::default()).unwrap();
    let mut round = open(config(Rule::Median), 9, 2, 500.0, &[4, 0, 2], 5).unwrap();
    assert_eq!(round.committee(), &ids(&[0, 2, 4]));
    round.submit(e(2), 6.0, 50.0).unwrap();
    round.submit(e(0), 8.0, 0.0).unwrap();
    round.submit(e(4), 1.0, 100.0).unwrap();
    let o = round.finalize(&mut trust).unwrap();
    // median(8, 6, 1) = 6
    assert_eq!(o.consensus, 6.0);
    // R_f = 6/10 − 0.3 · 0.5 = 0.45
    assert!((o.inference_reward - 0.45).abs() < 1e-15);
    assert_eq!(o.reports.len(), 3);
    let e0 = o.reports[0];
    assert_eq!((e0.evaluator, e0.score), (e(0), 8.0));
    assert!((e0.deviation - 0.2).abs() < 1e-15);
    // R_e = (1/3)(1 − 0.2 − 0) = 0.2666…
    assert!((e0.reward - 0.8 / 3.0).abs() < 1e-15);
    // Published trust: 1 · (1 + 0.2 (0.5 − 0.2)) = 1.06
    assert!((e0.weight_after - 1.06).abs() < 1e-15);
    assert_eq!(e0.weight_before, 1.0);
    let e4 = o.reports[2];
    // d = 0.5, cost 1: R_e = (1/3)(0.5 − 0.3) = 0.0666…; weight unchanged at d = 0.5.
    assert!((e4.reward - 0.2 / 3.0).abs() < 1e-15);
    assert_eq!(e4.weight_after, 1.0);
    assert!(o.missing.is_empty());
    let mut book = RewardBook::new(3, 5);
    book.record(&o);
    assert_eq!(book.inference_rounds, vec![0, 0, 1]);
    assert_eq!(book.evaluator_rounds, vec![1, 0, 1, 0, 1]);
}

#[test]
fn weighted_rules_read_trust() {
    let mut trust = Published::new(
        2,
        PublishedParams {
            initial: 0.5,
            ..Default::default()
        },
    )
    .unwrap();
    // Raise evaluator 1 to 2.0 by agreeing repeatedly.
    let mut changes = Vec::new();
    for _ in 0..50 {
        trust.update(
            &[poq_core::trust::Report {
                evaluator: e(1),
                score: 5.0,
            }],
            5.0,
            Task::Qa,
            &mut changes,
        );
    }
    assert_eq!(trust.weight(e(1)), 2.0);
    let mut round = open(config(Rule::WeightedMean), 1, 0, 0.0, &[0, 1], 2).unwrap();
    round.submit(e(0), 0.0, 0.0).unwrap();
    round.submit(e(1), 10.0, 0.0).unwrap();
    // (0.5 · 0 + 2 · 10) / 2.5 = 8
    assert_eq!(round.finalize(&mut trust).unwrap().consensus, 8.0);
}

#[test]
fn bad_reports_are_rejected_and_change_nothing() {
    let mut round = open(config(Rule::Mean), 7, 0, 0.0, &[1, 3], 4).unwrap();
    assert_eq!(
        round.submit(e(2), 5.0, 0.0),
        Err(CoreError::NotInCommittee {
            evaluator: e(2),
            round: RoundId(7)
        })
    );
    assert_eq!(
        round.submit(e(1), 10.5, 0.0),
        Err(CoreError::InvalidReport {
            evaluator: e(1),
            round: RoundId(7),
            value: 10.5
        })
    );
    assert!(matches!(
        round.submit(e(1), f64::NAN, 0.0),
        Err(CoreError::InvalidReport {
            evaluator: EvaluatorId(1),
            round: RoundId(7),
            ..
        })
    ));
    assert!(matches!(round.submit(e(1), 5.0, -3.0), Err(CoreError::InvalidCost { value }) if value == -3.0));
    assert_eq!(round.received(), 0);
    round.submit(e(1), 5.0, 0.0).unwrap();
    assert_eq!(
        round.submit(e(1), 6.0, 0.0),
        Err(CoreError::DuplicateReport {
            evaluator: e(1),
            round: RoundId(7)
        })
    );
    assert_eq!(round.received(), 1);

    // Quorum: the round stays usable and the trust policy untouched.
    let mut trust = Published::new(4, PublishedParams::default()).unwrap();
    let before = trust.weights();
    assert_eq!(
        round.finalize(&mut trust),
        Err(CoreError::QuorumNotReached {
            round: RoundId(7),
            got: 1,
            need: 2
        })
    );
    assert_eq!(trust.weights(), before);
    round.submit(e(3), 7.0, 0.0).unwrap();
    assert_eq!(round.finalize(&mut trust).unwrap().consensus, 6.0);
}

#[test]
fn a_round_pays_once() {
    let mut trust = Published::new(3, PublishedParams::default()).unwrap();
    let mut round = open(config(Rule::Mean), 4, 0, 0.0, &[0, 1], 3).unwrap();
    round.submit(e(0), 5.0, 0.0).unwrap();
    round.submit(e(1), 5.0, 0.0).unwrap();
    round.finalize(&mut trust).unwrap();
    let after = trust.weights();
    assert!(round.is_finalized());
    assert_eq!(
        round.finalize(&mut trust),
        Err(CoreError::RoundClosed { round: RoundId(4) })
    );
    assert_eq!(
        round.submit(e(0), 1.0, 0.0),
        Err(CoreError::RoundClosed { round: RoundId(4) })
    );
    assert_eq!(trust.weights(), after, "a second finalize must not update trust again");
}

#[test]
fn trust_must_track_the_committee() {
    let mut small = Published::new(2, PublishedParams::default()).unwrap();
    let mut round = open(config(Rule::Mean), 5, 0, 0.0, &[0, 3], 4).unwrap();
    round.submit(e(0), 5.0, 0.0).unwrap();
    round.submit(e(3), 5.0, 0.0).unwrap();
    assert_eq!(
        round.finalize(&mut small),
        Err(CoreError::UnknownEvaluator {
            evaluator: e(3),
            pool: 2
        })
    );
    assert!(!round.is_finalized());
}

/// Our policy driven through the state machine: a booster's weight falls, and the
/// weighted median then ignores it.
#[test]
fn calibrated_trust_through_rounds() {
    use poq_core::trust::{Calibrated, CalibratedParams};
    let mut trust = Calibrated::new(4, CalibratedParams::default()).unwrap();
    for t in 0..300u64 {
        let truth = 2.0 + (t % 6) as f64;
        let mut round = open(config(Rule::WeightedMedian), t, 0, 0.0, &[0, 1, 2, 3], 4).unwrap();
        round.submit(e(0), truth + 3.0, 0.0).unwrap();
        for (i, jitter) in [(1, -0.2), (2, 0.0), (3, 0.2)] {
            round.submit(e(i), truth + jitter, 0.0).unwrap();
        }
        let o = round.finalize(&mut trust).unwrap();
        if t > 50 {
            assert_eq!(o.consensus, truth, "round {t}: the booster must not set the consensus");
        }
    }
    assert!(
        trust.weight(e(0)) < 0.1 && trust.weight(e(2)) > 0.5,
        "weights {:?}",
        trust.weights()
    );
}

#[test]
fn bad_committees_are_rejected() {
    let c = config(Rule::Median);
    assert_eq!(
        open(c, 1, 0, 0.0, &[], 3).unwrap_err(),
        CoreError::CommitteeSize { k: 0, n: 3 }
    );
    assert_eq!(
        open(c, 1, 0, 0.0, &[0, 5], 3).unwrap_err(),
        CoreError::UnknownEvaluator {
            evaluator: e(5),
            pool: 3
        }
    );
    assert_eq!(
        open(c, 1, 0, 0.0, &[2, 0, 2], 3).unwrap_err(),
        CoreError::DuplicateMember {
            evaluator: e(2),
            round: RoundId(1)
        }
    );
    assert!(matches!(
        open(c, 1, 0, f64::NAN, &[0], 3),
        Err(CoreError::InvalidCost { .. })
    ));
    let bad = RoundConfig {
        rule: Rule::TrimmedMean { trim: 0.7 },
        ..c
    };
    assert!(matches!(
        open(bad, 1, 0, 0.0, &[0], 3),
        Err(CoreError::InvalidParameter { name: "trim", .. })
    ));
}

#[test]
fn partial_quorum_finalizes_with_missing_members() {
    let c = RoundConfig {
        quorum: 2,
        rule: Rule::TrimmedMean { trim: 0.2 },
        ..config(Rule::Median)
    };
    let mut round = open(c, 2, 1, 0.0, &[0, 1, 2], 3).unwrap();
    assert_eq!(round.quorum(), 2);
    round.submit(e(0), 4.0, 0.0).unwrap();
    round.submit(e(2), 6.0, 0.0).unwrap();
    let mut trust = poq_core::trust::NoTrust::new(3);
    let o = round.finalize(&mut trust).unwrap();
    // Evaluator 1 stayed silent: under the default rule it is penalized, which for
    // constant trust changes nothing, and it is paid a report at d = 1, ĉ = 1:
    // (1/3)(1 · 0 − 0.3 · 1) < 0, floored at 0 without slashing.
    assert_eq!(o.missing.len(), 1);
    let m = o.missing[0];
    assert_eq!(
        (m.evaluator, m.weight_before, m.weight_after, m.reward),
        (e(1), 1.0, 1.0, 0.0)
    );
    assert_eq!(o.consensus, 5.0);
    // Two scores, τ = 0.2: nothing trimmed, and the outcome says so.
    assert_eq!(o.trimmed_per_side, Some(0));
    // The budget is split among the K = 3 drawn, not the 2 who reported.
    assert!((o.reports[0].reward - (1.0 / 3.0) * 0.9).abs() < 1e-15);
}

//! Every rejection: its typed error, its counted reason, and a state hash exactly as if
//! the transaction had not been in the block.

use crate::net::{Net, Options, TOKEN, key};
use poq_core::RoundId;
use poq_ledger::tx::{EvaluatorRole, MAX_NAME_BYTES};
use poq_ledger::{Body, Hash, Reason, Rejection, Roles, Tx};

/// Round 0 in its commit window with one commit; round 1 in its reveal window (every
/// member committed at height 4). The next block is 5.
fn fixture() -> (Net, Vec<usize>, Vec<usize>) {
    let mut net = Net::new(&Options::default());
    net.block(vec![
        net.submit(net.receipt(0, 1, 0.2)),
        net.submit(net.receipt(1, 2, 0.3)),
    ]);
    net.until(3);
    let c0 = net.committee(RoundId(0));
    let c1 = net.committee(RoundId(1));
    let mut txs = vec![net.commit(c0[0], RoundId(0), 5.0, 0.1)];
    txs.extend(c1.iter().map(|&e| net.commit(e, RoundId(1), 6.0, 0.1)));
    let a = net.block(txs);
    assert!(a.rejected.is_empty(), "{:?}", a.rejected);
    (net, c0, c1)
}

/// Asserts `bytes` is rejected as `expect` says, and that a block carrying it leaves
/// the state hash of an empty block.
fn assert_rejected(net: &Net, name: &str, bytes: Vec<u8>, reason: Reason, expect: impl Fn(&Rejection) -> bool) {
    let checked = net.ledger.check(&bytes);
    let rejection = checked.expect_err(name);
    assert!(expect(&rejection), "{name}: unexpected {rejection:?}");
    assert_eq!(rejection.reason(), reason, "{name}: {rejection}");
    let mut with = net.ledger.clone();
    let mut without = net.ledger.clone();
    let applied = with.apply(&net.make(vec![bytes])).unwrap().unwrap();
    without.apply(&net.make(Vec::new())).unwrap();
    assert_eq!(applied.rejected.len(), 1, "{name}");
    // Debug, not ==: a NaN score is the same rejection but not equal to itself.
    assert_eq!(
        format!("{:?}", applied.rejected[0].rejection),
        format!("{rejection:?}"),
        "{name}"
    );
    assert_eq!(with.state_hash(), without.state_hash(), "{name}: the state changed");
    let count = |l: &poq_ledger::Ledger| l.rejected().get(&reason).copied().unwrap_or(0);
    assert_eq!(count(&with), count(&net.ledger) + 1, "{name}: not counted");
}

#[test]
fn malformed_forged_and_replayed_transactions() {
    let (net, c0, _) = fixture();
    let good = net.commit(c0[1], RoundId(0), 5.0, 0.1);
    let mut forged = good.clone();
    let last = forged.len() - 1;
    forged[last] ^= 1;
    assert_rejected(&net, "flipped signature bit", forged, Reason::BadSignature, |r| {
        matches!(r, Rejection::BadSignature { .. })
    });
    let other = Hash::of("another network", &[]);
    let foreign = Tx::sign(
        &other,
        &net.evaluators[c0[1]],
        net.next() + 5,
        Body::Commit {
            round: RoundId(0),
            commitment: Hash([1; 32]),
        },
    );
    assert_rejected(
        &net,
        "another network's signature",
        foreign.encode(),
        Reason::BadSignature,
        |r| matches!(r, Rejection::BadSignature { .. }),
    );
    assert_rejected(
        &net,
        "truncated",
        good[..good.len() - 3].to_vec(),
        Reason::Malformed,
        |r| matches!(r, Rejection::Malformed(poq_ledger::DecodeError::Truncated { .. })),
    );
    let mut trailing = good.clone();
    trailing.push(0);
    assert_rejected(&net, "trailing byte", trailing, Reason::Malformed, |r| {
        matches!(r, Rejection::Malformed(poq_ledger::DecodeError::Trailing { extra: 1 }))
    });
    let mut bad_kind = good.clone();
    bad_kind[0] = 99;
    assert_rejected(&net, "unknown kind", bad_kind, Reason::Malformed, |r| {
        matches!(r, Rejection::Malformed(poq_ledger::DecodeError::BadTag { tag: 99, .. }))
    });
    // The commit of height 4, included again.
    let replay = net.blocks[3].txs[0].clone();
    assert_rejected(&net, "replayed commit", replay, Reason::Replayed, |r| {
        matches!(
            r,
            Rejection::Replayed {
                what: "transaction",
                ..
            }
        )
    });
    let late = Tx::sign(&net.network(), &net.faucet, net.next() - 1, Body::Unbond { amount: 1 });
    assert_rejected(&net, "expired", late.encode(), Reason::Expired, |r| {
        matches!(r, Rejection::Expired { expires: 4, height: 5 })
    });
    let far = Tx::sign(
        &net.network(),
        &net.faucet,
        net.next() + 257,
        Body::Unbond { amount: 1 },
    );
    assert_rejected(&net, "expiry too far ahead", far.encode(), Reason::Expired, |r| {
        matches!(r, Rejection::TtlTooLong { max_ttl: 256, .. })
    });
    let stranger = key(8, 0);
    let t = net.tx(
        &stranger,
        Body::Transfer {
            to: net.faucet.public(),
            amount: 1,
        },
    );
    assert_rejected(
        &net,
        "unknown key",
        t,
        Reason::UnknownKey,
        |r| matches!(r, Rejection::UnknownKey { key, .. } if *key == stranger.public()),
    );
}

#[test]
fn oversized_fields() {
    let (net, _, _) = fixture();
    let long = net.tx(
        &key(8, 1),
        Body::Register {
            roles: Roles {
                inference: Some("m".repeat(MAX_NAME_BYTES + 1)),
                ..Roles::default()
            },
            bond: 0,
        },
    );
    assert_rejected(&net, "model name over the limit", long, Reason::Oversized, |r| {
        matches!(
            r,
            Rejection::Malformed(poq_ledger::DecodeError::TooLong { len: 65, max: 64, .. })
        )
    });
    let huge = net.tx(
        &net.gateway,
        Body::RevealReference {
            round: RoundId(0),
            reference: "x".repeat(40_000),
            salt: [0; 32],
        },
    );
    assert_rejected(&net, "transaction over the limit", huge, Reason::Oversized, |r| {
        matches!(
            r,
            Rejection::Malformed(poq_ledger::DecodeError::TooLong {
                what: "transaction",
                ..
            })
        )
    });
}

#[test]
fn commits_outside_the_rules() {
    let (net, c0, c1) = fixture();
    let again = net.tx(
        &net.evaluators[c0[0]],
        Body::Commit {
            round: RoundId(0),
            commitment: Hash([2; 32]),
        },
    );
    assert_rejected(&net, "second commit", again, Reason::Duplicate, |r| {
        matches!(
            r,
            Rejection::Duplicate {
                kind: poq_ledger::Kind::Commit,
                ..
            }
        )
    });
    let outsider = (0..net.evaluators.len()).find(|e| !c0.contains(e)).unwrap();
    assert_rejected(
        &net,
        "commit by a non-member",
        net.commit(outsider, RoundId(0), 5.0, 0.1),
        Reason::NotMember,
        |r| matches!(r, Rejection::NotMember { .. }),
    );
    assert_rejected(
        &net,
        "commit to an unknown round",
        net.commit(c0[1], RoundId(9), 5.0, 0.1),
        Reason::WrongPhase,
        |r| matches!(r, Rejection::UnknownRound { round: RoundId(9) }),
    );
    assert_rejected(
        &net,
        "commit once reveals opened",
        net.commit(c1[0], RoundId(1), 1.0, 0.1),
        Reason::WrongPhase,
        |r| {
            matches!(
                r,
                Rejection::WrongPhase {
                    kind: poq_ledger::Kind::Commit,
                    ..
                }
            )
        },
    );
    assert_rejected(
        &net,
        "reveal in the commit window",
        net.reveal(c0[0], RoundId(0), 5.0, 0.1),
        Reason::WrongPhase,
        |r| {
            matches!(
                r,
                Rejection::WrongPhase {
                    kind: poq_ledger::Kind::Reveal,
                    ..
                }
            )
        },
    );
    // Past round 0's commit deadline (draw at 3 + C = 13).
    let mut late = net;
    late.until(13);
    assert_rejected(
        &late,
        "commit after its deadline",
        late.commit(c0[1], RoundId(0), 5.0, 0.1),
        Reason::WrongPhase,
        |r| matches!(r, Rejection::WrongPhase { height: 14, .. }),
    );
    assert_rejected(
        &late,
        "reveal without a commit",
        late.reveal(c0[1], RoundId(0), 5.0, 0.1),
        Reason::WrongPhase,
        |r| matches!(r, Rejection::NoCommit { .. }),
    );
}

#[test]
fn reveals_outside_the_rules() {
    let (mut net, _, c1) = fixture();
    let id = RoundId(1);
    assert_rejected(
        &net,
        "reveal of another score",
        net.reveal(c1[0], id, 7.0, 0.1),
        Reason::Mismatch,
        |r| {
            matches!(
                r,
                Rejection::Mismatch {
                    kind: poq_ledger::Kind::Reveal,
                    ..
                }
            )
        },
    );
    for score in [f64::NAN, f64::INFINITY, 10.5, -0.5] {
        assert_rejected(
            &net,
            "score out of range",
            net.reveal(c1[0], id, score, 0.1),
            Reason::OutOfRange,
            |r| matches!(r, Rejection::ScoreOutOfRange { .. }),
        );
    }
    assert_rejected(
        &net,
        "negative cost",
        net.reveal(c1[0], id, 6.0, -1.0),
        Reason::OutOfRange,
        |r| matches!(r, Rejection::CostOutOfRange { .. }),
    );
    net.block(vec![net.reveal(c1[0], id, 6.0, 0.1)]);
    let again = Tx::sign(
        &net.network(),
        &net.evaluators[c1[0]],
        net.next() + 7,
        Body::Reveal {
            round: id,
            score: 6.0,
            cost: 0.1,
            salt: Net::salt(c1[0], id),
        },
    );
    assert_rejected(&net, "second reveal", again.encode(), Reason::Duplicate, |r| {
        matches!(
            r,
            Rejection::Duplicate {
                kind: poq_ledger::Kind::Reveal,
                ..
            }
        )
    });
    // Round 1's reveal window ends at 4 + R = 14; then it is closed.
    net.until(14);
    assert!(net.ledger.round(id).is_none());
    assert_rejected(
        &net,
        "reveal after its deadline",
        net.reveal(c1[1], id, 6.0, 0.1),
        Reason::WrongPhase,
        |r| matches!(r, Rejection::RoundClosed { round } if *round == id),
    );
}

#[test]
fn submissions_outside_the_rules() {
    let (net, c0, _) = fixture();
    let by_evaluator = net.tx(
        &net.evaluators[c0[0]],
        Body::Submit {
            receipt: net.receipt(0, 50, 0.2),
        },
    );
    assert_rejected(
        &net,
        "submit by another key than the receipt's gateway",
        by_evaluator,
        Reason::UnknownKey,
        |r| {
            matches!(
                r,
                Rejection::UnknownKey {
                    role: "the gateway the receipt names",
                    ..
                }
            )
        },
    );
    let mut for_evaluator = net.unsigned(53, 0.2);
    for_evaluator.gateway = net.evaluators[c0[0]].public();
    let for_evaluator = net.tx(
        &net.evaluators[c0[0]],
        Body::Submit {
            receipt: for_evaluator.signed(&net.network(), &net.nodes[0]),
        },
    );
    assert_rejected(
        &net,
        "submit by a non-gateway",
        for_evaluator,
        Reason::UnknownKey,
        |r| matches!(r, Rejection::UnknownKey { role: "a gateway", .. }),
    );
    let mut spot = net.unsigned(54, 0.2);
    spot.reference = Some(Hash([9; 32]));
    let mut stripped = spot.signed(&net.network(), &net.nodes[0]);
    stripped.reference = None;
    assert_rejected(
        &net,
        "a spot-check submitted as an ordinary round",
        net.submit(stripped),
        Reason::BadSignature,
        |r| matches!(r, Rejection::BadReceiptSignature { .. }),
    );
    let mut forged = net.receipt(0, 51, 0.2);
    forged.cost = 0.01;
    assert_rejected(
        &net,
        "receipt altered after signing",
        net.submit(forged),
        Reason::BadSignature,
        |r| matches!(r, Rejection::BadReceiptSignature { .. }),
    );
    let Body::Submit { receipt: first, .. } = Tx::decode(&net.blocks[0].txs[0]).unwrap().body else {
        panic!("block 1 carries a submission");
    };
    assert_rejected(
        &net,
        "a receipt submitted twice",
        net.submit(first),
        Reason::Replayed,
        |r| matches!(r, Rejection::Replayed { what: "receipt", .. }),
    );
    let mut other_model = net.unsigned(55, 0.1);
    other_model.model = "gemma-3-270m".into();
    let other_model = other_model.signed(&net.network(), &net.nodes[0]);
    assert_rejected(
        &net,
        "model other than registered",
        net.submit(other_model),
        Reason::BadSubmission,
        |r| matches!(r, Rejection::ModelMismatch { .. }),
    );
    assert_rejected(
        &net,
        "non-finite inference cost",
        net.submit(net.receipt(0, 52, f64::NAN)),
        Reason::OutOfRange,
        |r| {
            matches!(
                r,
                Rejection::CostOutOfRange {
                    what: "inference cost",
                    ..
                }
            )
        },
    );
    let by_stranger_node = net.unsigned(56, 0.1).signed(&net.network(), &key(8, 2));
    assert_rejected(
        &net,
        "receipt by an unregistered node",
        net.submit(by_stranger_node),
        Reason::UnknownKey,
        |r| {
            matches!(
                r,
                Rejection::UnknownKey {
                    role: "an inference node",
                    ..
                }
            )
        },
    );
}

#[test]
fn funds_and_registrations_outside_the_rules() {
    let (net, c0, _) = fixture();
    let t = |amount| {
        net.tx(
            &net.faucet,
            Body::Transfer {
                to: key(8, 3).public(),
                amount,
            },
        )
    };
    assert_rejected(
        &net,
        "transfer beyond the balance",
        t(1_001 * TOKEN),
        Reason::Funds,
        |r| matches!(r, Rejection::InsufficientFunds { .. }),
    );
    assert_rejected(&net, "transfer of zero", t(0), Reason::Funds, |r| {
        matches!(r, Rejection::InvalidAmount { amount: 0, .. })
    });
    let again = net.tx(
        &net.evaluators[c0[0]],
        Body::Register {
            roles: Roles {
                gateway: true,
                ..Roles::default()
            },
            bond: 0,
        },
    );
    assert_rejected(&net, "second registration", again, Reason::BadRegistration, |r| {
        matches!(r, Rejection::AlreadyRegistered { .. })
    });
    // A bond at or above 2^63 must not pass for a negative amount (it would mint money).
    for bond in [1u64 << 63, u64::MAX - 999_999, u64::MAX] {
        let huge = net.tx(
            &key(8, 6),
            Body::Register {
                roles: Roles {
                    gateway: true,
                    ..Roles::default()
                },
                bond,
            },
        );
        assert_rejected(&net, "a bond beyond any balance", huge, Reason::Funds, |r| {
            matches!(r, Rejection::InsufficientFunds { have: 0, .. })
        });
    }
    let none = net.tx(
        &key(8, 4),
        Body::Register {
            roles: Roles::default(),
            bond: 0,
        },
    );
    assert_rejected(&net, "registration with no role", none, Reason::BadRegistration, |r| {
        matches!(r, Rejection::BadRegistration { reason: "no role", .. })
    });
    let no_task = net.tx(
        &key(8, 5),
        Body::Register {
            roles: Roles {
                evaluator: Some(EvaluatorRole {
                    scorer: "judge".into(),
                    tasks: Vec::new(),
                }),
                ..Roles::default()
            },
            bond: 0,
        },
    );
    assert_rejected(&net, "evaluator with no task", no_task, Reason::BadRegistration, |r| {
        matches!(r, Rejection::BadRegistration { .. })
    });
}

#[test]
fn a_submission_needs_k_eligible_evaluators() {
    let net = Net::new(&Options {
        evaluators: 2,
        k: 3,
        ..Options::default()
    });
    assert_rejected(
        &net,
        "too few evaluators",
        net.submit(net.receipt(0, 1, 0.2)),
        Reason::BadSubmission,
        |r| {
            matches!(
                r,
                Rejection::NotEnoughEvaluators {
                    eligible: 2,
                    committee: 3,
                    ..
                }
            )
        },
    );
}

#[test]
fn a_genesis_with_values_that_could_overflow_is_refused() {
    let mut g = crate::net::genesis(&Options::default());
    g.params.submit_fee = 1 << 63;
    let err = poq_ledger::Ledger::genesis(&g).unwrap_err();
    assert!(err.to_string().contains("params.submit_fee"), "{err}");
    let mut g = crate::net::genesis(&Options::default());
    g.params.commit_blocks = u64::MAX;
    let err = poq_ledger::Ledger::genesis(&g).unwrap_err();
    assert!(err.to_string().contains("params.commit_blocks"), "{err}");
    let mut g = crate::net::genesis(&Options::default());
    g.protocol.round.rewards.alpha = 1e30;
    let err = poq_ledger::Ledger::genesis(&g).unwrap_err();
    assert!(err.to_string().contains("largest payout"), "{err}");
}

//! A round through its heights, by hand: draw, commits, reveals, close, payouts.

use crate::net::{Net, Options, TOKEN};
use poq_core::aggregate::Rule;
use poq_core::committee::sample_uniform;
use poq_core::protocol::committee_seed;
use poq_core::trust::TrustKind;
use poq_core::{EvaluatorId, RoundId};
use poq_ledger::tx::reference_commitment;
use poq_ledger::{Body, Event, LedgerError, Rejection};

fn finalized(applied: &poq_ledger::Applied) -> Option<(&poq_core::round::Outcome, &Vec<(poq_ledger::PublicKey, i64)>)> {
    applied.events.iter().find_map(|e| match e {
        Event::Finalized { outcome, payouts } => Some((outcome, payouts)),
        _ => None,
    })
}

fn hand_options() -> Options {
    Options {
        evaluators: 3,
        k: 3,
        quorum: 0,
        rule: Rule::Mean,
        trust: TrustKind::None,
        ..Options::default()
    }
}

#[test]
fn a_round_finalizes_at_its_heights_and_pays_in_micro_units() {
    let mut net = Net::new(&hand_options());
    let treasury0 = net.ledger.state().treasury;
    let supply = net.ledger.state().supply;
    // Height 1: submitted; drawn at the end of block 1 + k = 3.
    let a = net.block(vec![net.submit(net.receipt(0, 1, 0.5))]);
    assert!(a.rejected.is_empty(), "{:?}", a.rejected);
    let id = RoundId(0);
    assert_eq!(net.ledger.round(id).map(|r| r.draw_at), Some(3));
    net.block(Vec::new());
    assert!(
        !net.ledger.round(id).unwrap().drawn(),
        "no committee before block h + k"
    );
    let drawn = net.block(Vec::new());
    assert!(
        drawn
            .events
            .iter()
            .any(|e| matches!(e, Event::Drawn { round, .. } if *round == id))
    );
    let c = net.committee(id);
    assert_eq!(c.len(), 3);
    // Height 4: everybody commits, so reveals open at 5 (not at commit_until + 1 = 14).
    let scores = [6.0, 7.0, 8.0];
    let commits = c.iter().zip(scores).map(|(&e, s)| net.commit(e, id, s, 0.0)).collect();
    let a = net.block(commits);
    assert!(a.rejected.is_empty(), "{:?}", a.rejected);
    assert_eq!(net.ledger.round(id).unwrap().reveal_from, 5);
    let reveals = c.iter().zip(scores).map(|(&e, s)| net.reveal(e, id, s, 0.0)).collect();
    let a = net.block(reveals);
    assert!(a.rejected.is_empty(), "{:?}", a.rejected);
    let (outcome, payouts) = finalized(&a).expect("closed once every committed member revealed");
    assert!(net.ledger.round(id).is_none());
    // Mean of 6, 7, 8 = 7. Inference: α·7/10 − β·0.5 = 0.55 (0.5499999999999999 in
    // f64, so 549_999 micro-units after truncation).
    assert_eq!(outcome.consensus, 7.0);
    assert!((outcome.inference_reward - 0.55).abs() < 1e-12);
    assert_eq!(payouts[0], (net.nodes[0].public(), 549_999));
    // Evaluators: (B/K)·α_e·(1 − d): d = 0.1, 0, 0.1 → 0.3, 1/3, 0.3.
    for (rep, &(key, micro)) in outcome.reports.iter().zip(&payouts[1..]) {
        let e = net.index_of(&key);
        let hand = (1.0 / 3.0) * (1.0 - (scores[c.iter().position(|&x| x == e).unwrap()] - 7.0_f64).abs() / 10.0);
        assert!((rep.reward - hand).abs() < 1e-12, "{} vs {hand}", rep.reward);
        assert_eq!(micro, (rep.reward * 1e6).trunc() as i64);
        assert!((micro as f64 - hand * 1e6).abs() <= 1.0);
        assert_eq!(net.ledger.account(&key).unwrap().balance, micro);
    }
    let paid: i64 = payouts.iter().map(|p| p.1).sum();
    assert_eq!(
        net.ledger.state().treasury as i64,
        treasury0 as i64 - paid + TOKEN as i64
    );
    assert_eq!(
        net.ledger.account(&net.gateway.public()).unwrap().balance,
        (1_000 * TOKEN - TOKEN) as i64
    );
    assert_eq!(net.ledger.total(), supply as i128);
}

#[test]
fn the_committee_is_drawn_from_the_digest_of_block_h_plus_k() {
    let o = Options {
        evaluators: 9,
        k: 5,
        ..Options::default()
    };
    let mut net = Net::new(&o);
    net.block(vec![net.submit(net.receipt(1, 7, 0.1))]);
    net.until(3);
    let beacon = net.blocks[2].digest();
    let seed = committee_seed(&beacon.0, RoundId(0));
    let mut want: Vec<EvaluatorId> = sample_uniform(&seed, 9, 5)
        .unwrap()
        .into_iter()
        .map(EvaluatorId)
        .collect();
    want.sort();
    assert_eq!(net.ledger.round(RoundId(0)).unwrap().committee, want);
}

#[test]
fn a_commit_without_a_reveal_is_a_missing_report() {
    let mut net = Net::new(&Options::default());
    net.block(vec![net.submit(net.receipt(0, 1, 0.2))]);
    net.until(3);
    let id = RoundId(0);
    let c = net.committee(id);
    let before = net
        .ledger
        .protocol()
        .weight(EvaluatorId(c[0] as u32), poq_core::Task::Qa);
    net.block(c.iter().map(|&e| net.commit(e, id, 5.0, 0.1)).collect());
    // Members 1 and 2 reveal; member 0 withholds until the window ends.
    let a = net.block(vec![net.reveal(c[1], id, 5.0, 0.1), net.reveal(c[2], id, 5.0, 0.1)]);
    assert!(finalized(&a).is_none(), "one committed member has not revealed yet");
    let until = net.ledger.round(id).unwrap().reveal_until;
    assert_eq!(until, 4 + 10);
    net.until(until - 1);
    let a = net.block(Vec::new());
    let (outcome, _) = finalized(&a).expect("closed at the end of its reveal window");
    assert_eq!(outcome.reports.len(), 2);
    assert_eq!(outcome.missing.len(), 1);
    assert_eq!(outcome.missing[0].evaluator, EvaluatorId(c[0] as u32));
    let after = net
        .ledger
        .protocol()
        .weight(EvaluatorId(c[0] as u32), poq_core::Task::Qa);
    assert!(after < before, "withholding must cost trust: {before} -> {after}");
}

#[test]
fn a_round_below_quorum_expires_and_refunds_the_fee() {
    let mut net = Net::new(&Options::default());
    let supply = net.ledger.state().supply;
    let gateway0 = net.ledger.account(&net.gateway.public()).unwrap().balance;
    let treasury0 = net.ledger.state().treasury;
    net.block(vec![net.submit(net.receipt(0, 1, 0.2))]);
    assert_eq!(
        net.ledger.account(&net.gateway.public()).unwrap().balance,
        gateway0 - TOKEN as i64
    );
    net.until(3);
    let c = net.committee(RoundId(0));
    net.block(vec![net.commit(c[0], RoundId(0), 4.0, 0.0)]);
    let mut expired = None;
    while expired.is_none() {
        let a = net.block(Vec::new());
        expired = a.events.iter().find_map(|e| match e {
            Event::Expired { expiry, .. } => Some(expiry.clone()),
            _ => None,
        });
        assert!(
            net.ledger.height() <= 3 + 10 + 10,
            "the round must close by its deadline"
        );
    }
    assert_eq!(net.ledger.height(), 3 + 10 + 10);
    assert_eq!(expired.unwrap().received, 0);
    assert_eq!(net.ledger.account(&net.gateway.public()).unwrap().balance, gateway0);
    assert_eq!(net.ledger.state().treasury, treasury0);
    assert_eq!(net.ledger.total(), supply as i128);
}

#[test]
fn the_same_blocks_give_the_same_digest_and_redelivery_is_a_no_op() {
    let mut net = Net::new(&Options::default());
    net.block(vec![
        net.submit(net.receipt(0, 1, 0.2)),
        net.submit(net.receipt(1, 2, 0.4)),
    ]);
    net.until(3);
    for id in [RoundId(0), RoundId(1)] {
        let c = net.committee(id);
        net.block(c.iter().map(|&e| net.commit(e, id, 3.0 + e as f64, 0.1)).collect());
        net.block(c.iter().map(|&e| net.reveal(e, id, 3.0 + e as f64, 0.1)).collect());
    }
    let mut replica = poq_ledger::Ledger::genesis(&net.genesis).unwrap();
    let mut fresh = poq_ledger::Ledger::genesis(&net.genesis).unwrap();
    for b in &net.blocks {
        replica.apply(b).unwrap();
        fresh.apply(b).unwrap();
        assert_eq!(replica.digest(), fresh.digest(), "height {}", b.height);
        // Delivered again: nothing changes.
        let before = replica.clone();
        assert_eq!(replica.apply(b), Ok(None));
        assert_eq!(replica, before);
    }
    assert_eq!(replica.digest(), net.ledger.digest());
    // A gap and a wrong parent are errors that change nothing.
    let mut b = net.make(Vec::new());
    b.height += 1;
    let before = net.ledger.clone();
    assert!(matches!(net.ledger.apply(&b), Err(LedgerError::HeightGap { .. })));
    b.height -= 1;
    b.parent = poq_ledger::Hash([7; 32]);
    assert!(matches!(net.ledger.apply(&b), Err(LedgerError::ParentMismatch { .. })));
    assert_eq!(net.ledger, before);
}

#[test]
fn a_restored_ledger_continues_identically() {
    let mut net = Net::new(&Options::default());
    net.block(vec![net.submit(net.receipt(0, 1, 0.2))]);
    net.until(3);
    let c = net.committee(RoundId(0));
    net.block(c.iter().map(|&e| net.commit(e, RoundId(0), 5.5, 0.1)).collect());
    let json = serde_json::to_string(&net.ledger).unwrap();
    let mut restored: poq_ledger::Ledger = serde_json::from_str(&json).unwrap();
    assert_eq!(restored, net.ledger);
    assert_eq!(restored.state_hash(), net.ledger.state_hash());
    let b = net.make(c.iter().map(|&e| net.reveal(e, RoundId(0), 5.5, 0.1)).collect());
    let x = restored.apply(&b).unwrap().unwrap();
    let y = net.ledger.apply(&b).unwrap().unwrap();
    assert_eq!(x, y);
    // A state that breaks conservation does not restore.
    let mut s = net.ledger.state().clone();
    s.treasury += 1;
    let err = poq_ledger::Ledger::restore(s).unwrap_err();
    assert!(err.to_string().contains("supply"), "{err}");
}

#[test]
fn a_spot_check_reference_is_verified_after_the_round_closes() {
    let mut net = Net::new(&Options::default());
    let network = net.network();
    let mut receipt = net.unsigned(1, 0.2);
    let salt = [5u8; 32];
    let reference = "Denver Broncos".to_string();
    receipt.reference = Some(reference_commitment(&network, &receipt.request, &reference, &salt));
    let receipt = receipt.signed(&network, &net.nodes[0]);
    net.block(vec![net.submit(receipt)]);
    let reveal_ref = |net: &Net, text: &str| {
        net.tx(
            &net.gateway,
            Body::RevealReference {
                round: RoundId(0),
                reference: text.into(),
                salt,
            },
        )
    };
    // Before the round closes the reference stays hidden.
    let early = net.ledger.check(&reveal_ref(&net, &reference)).unwrap_err();
    assert!(matches!(early, Rejection::WrongPhase { .. }), "{early}");
    net.until(3);
    let c = net.committee(RoundId(0));
    net.block(c.iter().map(|&e| net.commit(e, RoundId(0), 8.0, 0.1)).collect());
    let a = net.block(c.iter().map(|&e| net.reveal(e, RoundId(0), 8.0, 0.1)).collect());
    assert!(finalized(&a).is_some());
    let wrong = net.ledger.check(&reveal_ref(&net, "Carolina Panthers")).unwrap_err();
    assert!(matches!(wrong, Rejection::Mismatch { .. }), "{wrong}");
    let a = net.block(vec![reveal_ref(&net, &reference)]);
    assert!(a.rejected.is_empty(), "{:?}", a.rejected);
    assert!(a.events.contains(&Event::ReferenceRevealed {
        round: RoundId(0),
        reference: reference.clone()
    }));
}

#[test]
fn transfers_registration_and_bonds_move_exact_amounts() {
    let o = Options {
        params: poq_ledger::Params {
            min_bond_evaluator: 5 * TOKEN,
            ..poq_ledger::Params::default()
        },
        ..Options::default()
    };
    let mut net = Net::new(&o);
    let supply = net.ledger.state().supply;
    let newcomer = crate::net::key(7, 0);
    let register = |net: &Net, bond| {
        net.tx(
            &newcomer,
            Body::Register {
                roles: poq_ledger::Roles {
                    evaluator: Some(poq_ledger::tx::EvaluatorRole {
                        scorer: "bi-encoder".into(),
                        tasks: vec![poq_core::Task::Qa],
                    }),
                    ..poq_ledger::Roles::default()
                },
                bond,
            },
        )
    };
    // No funds yet.
    let err = net.ledger.check(&register(&net, 5 * TOKEN)).unwrap_err();
    assert!(
        matches!(err, Rejection::InsufficientFunds { need, have: 0, .. } if need == 6 * TOKEN),
        "{err}"
    );
    net.block(vec![net.tx(
        &net.faucet,
        Body::Transfer {
            to: newcomer.public(),
            amount: 8 * TOKEN,
        },
    )]);
    let err = net.ledger.check(&register(&net, TOKEN)).unwrap_err();
    assert!(matches!(err, Rejection::BondTooSmall { .. }), "{err}");
    let before = net.ledger.protocol().evaluators();
    let a = net.block(vec![register(&net, 6 * TOKEN)]);
    assert!(a.rejected.is_empty(), "{:?}", a.rejected);
    assert_eq!(net.ledger.protocol().evaluators(), before + 1);
    let acct = net.ledger.account(&newcomer.public()).unwrap();
    assert_eq!((acct.balance, acct.bond), (TOKEN as i64, 6 * TOKEN));
    let unbond = |net: &Net, amount| net.tx(&newcomer, Body::Unbond { amount });
    let err = net.ledger.check(&unbond(&net, 2 * TOKEN)).unwrap_err();
    assert!(
        matches!(err, Rejection::BondTooSmall { bond, min } if bond == 4 * TOKEN && min == 5 * TOKEN),
        "{err}"
    );
    net.block(vec![unbond(&net, TOKEN)]);
    let acct = net.ledger.account(&newcomer.public()).unwrap();
    assert_eq!((acct.balance, acct.bond), (2 * TOKEN as i64, 5 * TOKEN));
    assert_eq!(net.ledger.total(), supply as i128);
}

//! The store: atomic per-block writes, reopen, redelivery, verification, and clear
//! errors for a missing, foreign or corrupt store.

use poq_ledger::Block;
use poq_node::testnet::{Testnet, TestnetSpec};
use poq_node::workload::{Behaviour, Workload};
use poq_node::{NodeError, Store};

fn spec() -> TestnetSpec {
    let mut evaluators = vec![Behaviour::Honest; 9];
    evaluators[2] = Behaviour::Withhold;
    evaluators[5] = Behaviour::Switch;
    evaluators[7] = Behaviour::Replay;
    TestnetSpec {
        evaluators,
        ..TestnetSpec::default()
    }
}

/// Applies `blocks` blocks of the workload to `store`, proposing as one node would.
fn drive(store: &mut Store, work: &mut Workload, blocks: usize) -> Vec<Block> {
    let mut out = Vec::new();
    for _ in 0..blocks {
        let l = store.ledger();
        let b = Block {
            height: l.height() + 1,
            parent: *l.last_block(),
            view: l.height() + 1,
            txs: work.txs(l),
        };
        store.apply(&b).expect("apply").expect("a new height");
        out.push(b);
    }
    out
}

#[test]
fn a_store_reopens_where_it_stopped_and_replays_to_the_same_digest() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.redb");
    let net = Testnet::new(&spec(), &[1; 32]);
    let mut work = Workload::new(net.actors.clone(), 7, 3, None);
    let (blocks, digest) = {
        let mut store = Store::create(&path, &net.genesis).unwrap();
        let blocks = drive(&mut store, &mut work, 40);
        let closed = store.ledger().protocol().book().inference_rounds.iter().sum::<u64>();
        assert!(closed > 20, "rounds finalized: {closed}");
        (blocks, *store.ledger().digest())
    };
    let mut store = Store::open(&path, &net.genesis).unwrap();
    assert_eq!(store.ledger().height(), 40);
    assert_eq!(*store.ledger().digest(), digest);
    assert_eq!(store.verify(&net.genesis).unwrap(), digest);
    // Redelivering any stored block is a no-op.
    for b in &blocks {
        assert!(store.apply(b).unwrap().is_none());
    }
    assert_eq!(store.block(17).unwrap().as_ref(), Some(&blocks[16]));
    assert!(store.events_json(17).unwrap().is_some());
    drive(&mut store, &mut work, 5);
    assert_eq!(store.ledger().height(), 45);
    assert!(store.verify(&net.genesis).is_ok());
}

#[test]
fn a_missing_foreign_or_corrupt_store_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.redb");
    let net = Testnet::new(&spec(), &[1; 32]);
    let err = Store::open(&path, &net.genesis).unwrap_err();
    assert!(matches!(err, NodeError::MissingStore { .. }), "{err}");
    drop(Store::create(&path, &net.genesis).unwrap());
    let err = Store::create(&path, &net.genesis).unwrap_err();
    assert!(matches!(err, NodeError::StoreExists { .. }), "{err}");
    let other = Testnet::new(
        &TestnetSpec {
            network: "another".into(),
            ..spec()
        },
        &[1; 32],
    );
    let err = Store::open(&path, &other.genesis).unwrap_err();
    assert!(matches!(err, NodeError::WrongNetwork { .. }), "{err}");
    let junk = dir.path().join("junk.redb");
    std::fs::write(&junk, vec![0x5a; 8192]).unwrap();
    let err = Store::open(&junk, &net.genesis).unwrap_err();
    assert!(
        matches!(err, NodeError::Store { .. } | NodeError::Corrupt { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("junk.redb"), "{err}");
}

#[test]
fn round_records_follow_the_blocks_events_and_survive_a_reopen() {
    use poq_ledger::{Body, Event, Tx};
    use poq_node::history::RoundStatus;
    use std::collections::BTreeMap;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.redb");
    let net = Testnet::new(&spec(), &[2; 32]);
    let mut work = Workload::new(net.actors.clone(), 11, 3, None);
    let mut store = Store::create(&path, &net.genesis).unwrap();
    let blocks = drive(&mut store, &mut work, 40);
    // What the events say, independently of the records.
    let (mut submitted_at, mut finalized, mut expired) = (BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
    for h in 1..=40u64 {
        let events: Vec<Event> = serde_json::from_slice(&store.events_json(h).unwrap().unwrap()).unwrap();
        for e in events {
            match e {
                Event::Submitted { round, .. } => {
                    submitted_at.insert(round, h);
                }
                Event::Finalized { outcome, payouts } => {
                    finalized.insert(outcome.round, (h, outcome, payouts));
                }
                Event::Expired { expiry, .. } => {
                    expired.insert(expiry.round, h);
                }
                _ => {}
            }
        }
    }
    assert!(finalized.len() > 20 && !submitted_at.is_empty());
    drop(store);
    let store = Store::open(&path, &net.genesis).unwrap();
    let reader = store.reader();
    for (round, h) in &submitted_at {
        let r = reader.round(*round).unwrap().expect("a record per submitted round");
        assert_eq!(r.submitted, *h);
        assert_eq!(
            reader.round_of_request(&r.receipt.request).unwrap().map(|x| x.round),
            Some(*round)
        );
        match (finalized.get(round), expired.get(round)) {
            (Some((closed, outcome, payouts)), None) => {
                assert_eq!(r.status, RoundStatus::Finalized);
                assert_eq!(r.closed, Some(*closed));
                assert_eq!(r.outcome.as_ref(), Some(outcome));
                assert_eq!(&r.payouts, payouts);
                // One accepted reveal per report; each commit once per member.
                let reveals = r
                    .txs
                    .iter()
                    .filter(|t| matches!(t.tx.body, Body::Reveal { .. }))
                    .count();
                assert_eq!(reveals, outcome.reports.len(), "round {}", round.0);
                let mut committers: Vec<_> = r
                    .txs
                    .iter()
                    .filter(|t| matches!(t.tx.body, Body::Commit { .. }))
                    .map(|t| t.tx.signer)
                    .collect();
                let n = committers.len();
                committers.sort();
                committers.dedup();
                assert_eq!(committers.len(), n, "a member's second commit is not the round's");
                assert!(committers.iter().all(|k| r.members.contains(k)));
                // The stored transactions are the blocks' own bytes.
                for t in &r.txs {
                    let block = &blocks[(t.height - 1) as usize];
                    assert!(
                        block
                            .txs
                            .iter()
                            .any(|b| Tx::hash_bytes(b) == t.hash && Tx::decode(b).unwrap() == t.tx)
                    );
                }
            }
            (None, Some(closed)) => {
                assert_eq!(r.status, RoundStatus::Expired);
                assert_eq!(r.closed, Some(*closed));
            }
            (None, None) => assert_eq!(r.status, RoundStatus::Pending),
            (Some(_), Some(_)) => panic!("round {} both finalized and expired", round.0),
        }
    }
    // Changes: the rounds submitted or closed in a range of heights, as the events say.
    let (last, sub, closed) = reader.changes(10, 5).unwrap();
    assert_eq!(last, 15);
    let mut want_sub: Vec<_> = submitted_at
        .iter()
        .filter(|(_, h)| (11..=15).contains(*h))
        .map(|(r, _)| *r)
        .collect();
    let mut got_sub: Vec<_> = sub.iter().map(|r| r.round).collect();
    want_sub.sort();
    got_sub.sort();
    assert_eq!(got_sub, want_sub);
    let closed_want = finalized.iter().filter(|(_, (h, _, _))| (11..=15).contains(h)).count()
        + expired.values().filter(|h| (11..=15).contains(*h)).count();
    assert_eq!(closed.len(), closed_want);
    assert_eq!(reader.changes(40, 256).unwrap(), (40, vec![], vec![]));
    // The newest rounds come newest first.
    let recent = reader.recent_rounds(5, None).unwrap();
    assert!(recent.windows(2).all(|w| w[0].round > w[1].round));
    assert_eq!(recent[0].round, *submitted_at.keys().last().unwrap());
}

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

//! The mempool: bounded, deduplicating, proposing in arrival order, and dropping what a
//! block included or what expired.

use poq_ledger::{Block, Ledger, Tx};
use poq_node::mempool::{Mempool, REPROPOSE_AFTER, Refusal};
use poq_node::testnet::{Testnet, TestnetSpec};
use poq_node::workload::Workload;
use std::collections::HashSet;

fn setup() -> (Ledger, Vec<Vec<u8>>) {
    let net = Testnet::new(&TestnetSpec::default(), &[2; 32]);
    let ledger = Ledger::genesis(&net.genesis).unwrap();
    let txs = Workload::new(net.actors, 1, 5, None).txs(&ledger);
    assert_eq!(txs.len(), 5, "five submissions");
    (ledger, txs)
}

#[test]
fn admission_is_bounded_and_deduplicated() {
    let (ledger, txs) = setup();
    let mut m = Mempool::new(3, 1 << 20);
    let h = m.add(txs[0].clone(), &ledger).unwrap();
    assert_eq!(m.add(txs[0].clone(), &ledger), Err(Refusal::Duplicate(h)));
    m.add(txs[1].clone(), &ledger).unwrap();
    m.add(txs[2].clone(), &ledger).unwrap();
    assert!(matches!(
        m.add(txs[3].clone(), &ledger),
        Err(Refusal::Full { count: 3, .. })
    ));
    assert!(matches!(m.add(vec![1, 2, 3], &ledger), Err(Refusal::Full { .. })));
    let mut small = Mempool::new(10, 1 << 20);
    assert!(matches!(small.add(vec![1, 2, 3], &ledger), Err(Refusal::Rejected(_))));
    assert!(small.is_empty());
}

#[test]
fn proposals_skip_ancestors_and_recent_proposals_and_finality_drops() {
    let (ledger, txs) = setup();
    let mut m = Mempool::new(100, 1 << 20);
    for t in &txs {
        m.add(t.clone(), &ledger).unwrap();
    }
    let exclude: HashSet<_> = [Tx::hash_bytes(&txs[0])].into_iter().collect();
    let p = m.propose(1, 2, 1 << 20, &exclude);
    assert_eq!(
        p,
        vec![txs[1].clone(), txs[2].clone()],
        "arrival order, the excluded one left out"
    );
    let p = m.propose(2, 10, 1 << 20, &HashSet::new());
    assert_eq!(
        p,
        vec![txs[0].clone(), txs[3].clone(), txs[4].clone()],
        "not what was proposed at 1"
    );
    let again = m.propose(1 + REPROPOSE_AFTER, 10, 1 << 20, &HashSet::new());
    assert!(again.contains(&txs[1]), "an abandoned proposal is proposed again");
    m.finalized(&Block {
        height: 1,
        parent: *ledger.last_block(),
        view: 1,
        txs: vec![txs[1].clone()],
    });
    assert_eq!(m.len(), 4);
    assert!(!m.contains(&Tx::hash_bytes(&txs[1])));
    // The workload's transactions expire 40 blocks after the genesis.
    m.finalized(&Block {
        height: 40,
        parent: *ledger.last_block(),
        view: 40,
        txs: Vec::new(),
    });
    assert!(m.is_empty());
}

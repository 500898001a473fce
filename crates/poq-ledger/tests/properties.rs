//! Random scripts of honest, Byzantine and junk transactions, checked after every block:
//! conservation (exact), determinism (a replica restored from JSON midway has the same
//! digest at every height), redelivery is a no-op, and every round is drawn at h + k and
//! closed by its reveal deadline.

use crate::net::{Net, Options, TOKEN, key};
use poq_core::RoundId;
use poq_core::aggregate::Rule;
use poq_core::rng::{Xoshiro256PlusPlus, below, chance, unit_f64};
use poq_core::trust::TrustKind;
use poq_ledger::{Body, Event, Ledger};

/// What one evaluator does in a script.
#[derive(Debug, Clone, Copy)]
enum Behaviour {
    Honest,
    /// Commits, never reveals.
    Withhold,
    /// Reveals a score other than its commitment.
    Switch,
    /// Commits twice and replays its old transactions.
    Replay,
}

fn behaviour(e: usize) -> Behaviour {
    match e % 5 {
        1 => Behaviour::Withhold,
        2 => Behaviour::Switch,
        3 => Behaviour::Replay,
        _ => Behaviour::Honest,
    }
}

fn run(seed: u64) {
    let mut rng = Xoshiro256PlusPlus::from_u64(seed);
    let trust = TrustKind::ALL[below(&mut rng, TrustKind::ALL.len() as u64) as usize];
    let o = Options {
        evaluators: 5 + below(&mut rng, 6) as usize,
        k: 3 + below(&mut rng, 3) as usize,
        quorum: 2,
        rule: [Rule::Median, Rule::Mean, Rule::WeightedMedian][below(&mut rng, 3) as usize],
        trust,
        slashing: chance(&mut rng, 0.5),
        params: poq_ledger::Params {
            draw_delay: 1 + below(&mut rng, 3),
            commit_blocks: 1 + below(&mut rng, 4),
            reveal_blocks: 1 + below(&mut rng, 4),
            ..poq_ledger::Params::default()
        },
        ..Options::default()
    };
    let mut net = Net::new(&o);
    let supply = net.ledger.state().supply;
    let mut replica = Ledger::genesis(&net.genesis).unwrap();
    let mut old_txs: Vec<Vec<u8>> = Vec::new();
    let mut request = 0u64;
    let mut closed = 0usize;
    for _ in 0..60 {
        let height = net.next();
        let mut txs = Vec::new();
        for _ in 0..below(&mut rng, 3) {
            request += 1;
            let cost = if chance(&mut rng, 0.05) {
                -1.0
            } else {
                unit_f64(&mut rng)
            };
            txs.push(net.submit(net.receipt(below(&mut rng, 2) as usize, request, cost)));
        }
        let open: Vec<_> = net
            .ledger
            .state()
            .rounds
            .values()
            .filter(|r| r.drawn())
            .cloned()
            .collect();
        for r in &open {
            for (pos, m) in r.members.iter().enumerate() {
                let e = net.index_of(m);
                let score = (below(&mut rng, 101) as f64) / 10.0;
                let b = behaviour(e);
                if r.accepts_commit(height) && r.commits[pos].is_none() && chance(&mut rng, 0.7) {
                    txs.push(net.commit(e, r.id, score_of(e, r.id), 0.05));
                    if matches!(b, Behaviour::Replay) {
                        txs.push(net.commit(e, r.id, score, 0.06));
                    }
                }
                if r.accepts_reveal(height)
                    && r.commits[pos].is_some()
                    && r.reveals[pos].is_none()
                    && chance(&mut rng, 0.8)
                {
                    match b {
                        Behaviour::Withhold => {}
                        Behaviour::Switch => txs.push(net.reveal(e, r.id, score, 0.05)),
                        _ => txs.push(net.reveal(e, r.id, score_of(e, r.id), 0.05)),
                    }
                }
            }
        }
        if chance(&mut rng, 0.3) && !old_txs.is_empty() {
            txs.push(old_txs[below(&mut rng, old_txs.len() as u64) as usize].clone());
        }
        if chance(&mut rng, 0.2) {
            let junk: Vec<u8> = (0..below(&mut rng, 80)).map(|_| below(&mut rng, 256) as u8).collect();
            txs.push(junk);
        }
        if chance(&mut rng, 0.2) {
            let to = key(6, below(&mut rng, 4) as u8).public();
            let amount = below(&mut rng, 3 * TOKEN);
            txs.push(net.tx(&net.faucet, Body::Transfer { to, amount }));
        }
        // Shuffle within the block: order is the proposer's choice, and must not break
        // any invariant.
        for i in (1..txs.len()).rev() {
            let j = below(&mut rng, i as u64 + 1) as usize;
            txs.swap(i, j);
        }
        old_txs.extend(txs.iter().cloned());
        let a = net.block(txs);
        closed += a
            .events
            .iter()
            .filter(|e| matches!(e, Event::Finalized { .. } | Event::Expired { .. }))
            .count();
        let b = net.blocks.last().unwrap().clone();
        // The replica skips the signatures it verified itself beforehand (as a node's
        // mempool does): the result must be the same.
        let network = *replica.network();
        let verified: std::collections::HashSet<poq_ledger::Hash> = b
            .txs
            .iter()
            .filter(|t| poq_ledger::Tx::decode(t).is_ok_and(|tx| tx.verify(&network)))
            .map(|t| poq_ledger::Tx::hash_bytes(t))
            .collect();
        let (next, _) = replica.next_with(&b, &|h| verified.contains(h)).unwrap().unwrap();
        replica = next;
        assert_eq!(
            replica.digest(),
            net.ledger.digest(),
            "seed {seed}: digest at height {height}"
        );
        assert_eq!(
            net.ledger.total(),
            supply as i128,
            "seed {seed}: conservation at height {height}"
        );
        for r in net.ledger.state().rounds.values() {
            assert!(
                r.draw_at > height || r.drawn(),
                "seed {seed}: {} not drawn at {}",
                r.id,
                r.draw_at
            );
            assert!(
                !r.drawn() || r.reveal_until > height,
                "seed {seed}: {} open past its deadline",
                r.id
            );
        }
        let before = net.ledger.clone();
        assert_eq!(net.ledger.apply(&b), Ok(None), "seed {seed}");
        assert_eq!(net.ledger, before, "seed {seed}: redelivery changed the state");
        if height.is_multiple_of(7) {
            let json = serde_json::to_string(&replica).unwrap();
            replica = serde_json::from_str(&json).unwrap_or_else(|e| panic!("seed {seed}: restore: {e}"));
        }
        let tx_count = b.txs.len();
        assert_eq!(
            a.rejected.len() + accepted(&a),
            tx_count,
            "seed {seed}: every transaction is accepted or rejected"
        );
    }
    assert!(closed > 0, "seed {seed}: no round closed");
}

fn accepted(a: &poq_ledger::Applied) -> usize {
    a.events
        .iter()
        .filter(|e| {
            matches!(
                e,
                Event::Registered { .. }
                    | Event::Transferred { .. }
                    | Event::Unbonded { .. }
                    | Event::Submitted { .. }
                    | Event::Committed { .. }
                    | Event::Revealed { .. }
                    | Event::ReferenceRevealed { .. }
            )
        })
        .count()
}

/// The score an evaluator commits to (and honestly reveals) in a round.
fn score_of(e: usize, round: RoundId) -> f64 {
    ((e as u64 * 31 + round.0 * 7) % 101) as f64 / 10.0
}

#[test]
fn random_scripts_keep_every_invariant() {
    let seeds: u64 = std::env::var("POQ_LEDGER_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(24);
    for seed in 0..seeds {
        run(seed);
    }
}

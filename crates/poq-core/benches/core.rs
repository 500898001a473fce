//! Benchmarks of the core: consensus rules by committee size, one full round at K = 7
//! through the protocol, and the ground-truth metrics on paragraph-length texts.
//!
//! Run with `cargo bench -p poq-core --bench core`. Every input comes from a fixed seed.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use poq_core::aggregate::{Rule, aggregate};
use poq_core::attack::{self, Attack, Member};
use poq_core::protocol::{Protocol, ProtocolConfig, Registration};
use poq_core::reward::{CostScale, RewardParams};
use poq_core::rng::{Xoshiro256PlusPlus, standard_normal, unit_f64};
use poq_core::round::{MissingReport, RoundConfig};
use poq_core::trust::{TrustKind, TrustParams};
use poq_core::{NodeId, Task};
use std::hint::black_box;

fn rules(c: &mut Criterion) {
    let mut group = c.benchmark_group("consensus");
    let mut rng = Xoshiro256PlusPlus::from_u64(1);
    for k in [3usize, 7, 15, 101] {
        let scores: Vec<f64> = (0..k).map(|_| 10.0 * unit_f64(&mut rng)).collect();
        let weights: Vec<f64> = (0..k).map(|_| 0.05 + 1.95 * unit_f64(&mut rng)).collect();
        for rule in [
            Rule::Mean,
            Rule::Median,
            Rule::TrimmedMean { trim: 0.2 },
            Rule::WeightedMean,
            Rule::WeightedMedian,
        ] {
            group.bench_with_input(BenchmarkId::new(rule.name(), k), &k, |b, _| {
                b.iter(|| aggregate(rule, black_box(&scores), Some(black_box(&weights))))
            });
        }
    }
    group.finish();
}

/// One full round through the protocol the simulator and the node drive: open (committee
/// seed from the beacon and the round id, K = 7 of 50), honest scores, boosting attack
/// on the malicious members, submit, finalize (consensus, trust update, rewards booked).
fn round(c: &mut Criterion, name: &str, rule: Rule, kind: TrustKind) {
    let n = 50;
    let k = 7;
    let config = ProtocolConfig {
        round: RoundConfig {
            rule,
            quorum: 0,
            rewards: RewardParams::default(),
            inference_cost: CostScale::Reference { reference: 2000.0 },
            evaluator_cost: CostScale::Reference { reference: 200.0 },
            missing: MissingReport::Penalize,
        },
        committee_size: k,
        reveal_window: 0,
    };
    let trust = kind.build(&TrustParams::default(), n).expect("defaults are valid");
    let mut protocol =
        Protocol::new(config, trust, vec![Registration::all_tasks(); n], 1).expect("a valid configuration");
    let malicious: Vec<bool> = (0..n).map(|e| e % 4 == 0).collect();
    let mut rng = Xoshiro256PlusPlus::from_u64(3);
    let beacon: [u8; 32] = std::array::from_fn(|i| i as u8);
    let attack = Attack::Boosting { shift: 3.0 };
    // Honest scores are the evaluators' model outputs, not part of the protocol: they
    // are drawn before timing, 1024 rounds' worth, and cycled.
    let honest: Vec<f64> = (0..1024 * k)
        .map(|i| {
            let truth = 3.0 + ((i / k) % 5) as f64;
            (truth + 0.7 * standard_normal(&mut rng)).clamp(0.0, 10.0)
        })
        .collect();
    let mut members = Vec::with_capacity(k);
    let mut reported = Vec::with_capacity(k);
    let mut committee = Vec::with_capacity(k);
    let mut t = 0usize;
    c.bench_function(&format!("round/k7/{name}"), |b| {
        b.iter(|| {
            t += 1;
            let id = protocol
                .open(black_box(&beacon), NodeId(0), Task::Qa, 800.0)
                .expect("50 evaluators for K = 7");
            committee.clear();
            committee.extend_from_slice(protocol.round(id).expect("just opened").committee());
            let base = (t % 1024) * k;
            members.clear();
            for (j, &e) in committee.iter().enumerate() {
                members.push(Member {
                    honest: honest[base + j],
                    malicious: malicious[e.index()],
                    trust: protocol.weight(e, Task::Qa),
                });
            }
            let history = protocol.history(id).expect("open");
            attack::apply(&attack, &members, &history, &mut rng, &mut reported);
            for (&e, score) in committee.iter().zip(&reported) {
                if let Some(score) = *score {
                    protocol.submit(id, e, score, 100.0).expect("valid report");
                }
            }
            black_box(protocol.finalize(id).expect("full quorum"))
        })
    });
}

fn rounds(c: &mut Criterion) {
    round(c, "mean+none", Rule::Mean, TrustKind::None);
    round(c, "weighted-mean+published", Rule::WeightedMean, TrustKind::Published);
    round(
        c,
        "weighted-median+calibrated",
        Rule::WeightedMedian,
        TrustKind::Calibrated,
    );
}

const PARAGRAPH_A: &str = "The committee of evaluators scores each answer independently, and a robust \
consensus rule turns their scores into one quality signal. Evaluators whose scores drift far from the \
consensus lose trust over time, while those who agree with it gain influence. Rewards then pay inference \
nodes for quality net of cost, so fast and accurate models earn the most. Malicious evaluators may add \
noise, boost weak answers or sabotage strong ones; the system must keep its consensus honest while they do.";
const PARAGRAPH_B: &str = "Each answer is scored by a random committee of evaluators, and a robust rule \
combines the scores into a single quality value. Evaluators that deviate from the consensus lose trust, \
and those that agree gain it. Inference nodes are paid for quality minus cost, so that fast, accurate \
models are rewarded first. Some evaluators are malicious: they add noise, boost poor answers or sabotage \
good ones, and the consensus has to stay honest regardless.";

fn metrics(c: &mut Criterion) {
    let mut group = c.benchmark_group("metrics");
    let refs = [PARAGRAPH_B];
    group.bench_function("squad_f1/paragraph", |b| {
        b.iter(|| poq_core::metrics::squad::token_f1(black_box(PARAGRAPH_A), black_box(PARAGRAPH_B)))
    });
    group.bench_function("rougeL/paragraph", |b| {
        b.iter(|| poq_core::metrics::rouge::rouge_l(black_box(PARAGRAPH_B), black_box(PARAGRAPH_A)))
    });
    group.bench_function("all/paragraph", |b| {
        b.iter(|| poq_core::metrics::score(black_box(PARAGRAPH_A), black_box(&refs)))
    });
    group.finish();
}

criterion_group!(benches, rules, rounds, metrics);
criterion_main!(benches);

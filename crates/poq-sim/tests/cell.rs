//! Tests of `poq_sim::cell`, `poq_sim::play` and `poq_sim::sweep`: determinism,
//! pairing, that the protocol alone decides committees and trust, and that the
//! simulation measures what it claims.

use poq_core::aggregate::Rule;
use poq_core::attack::Attack;
use poq_core::committee::sample_uniform;
use poq_core::protocol::{Closed, Protocol, Registration, committee_seed};
use poq_core::round::MissingReport;
use poq_core::trust::{TrustKind, TrustPolicy};
use poq_core::{EvaluatorId, RoundId};
use poq_sim::cell::{CellSpec, malicious_set, master_seed, rng_for};
use poq_sim::defense::{DEMO_DEFENSES, Defense, MEDIAN, OURS, PUBLISHED};
use poq_sim::play::{run_cell, run_once};
use poq_sim::scenario::Scenario;
use poq_sim::sweep::{grid_cells, run_cells};
use poq_sim::world::{HonestReport, SyntheticWorld, World};

fn scenario(rounds: usize) -> Scenario {
    Scenario {
        rounds,
        ..Scenario::default()
    }
}

/// A cell of `s` named as the command line names it.
fn spec(s: &Scenario, attack: &str, rho: f64, k: usize, rule: &str, trust: &str) -> CellSpec {
    let defense = Defense {
        rule: Rule::from_name(rule, s.grid.trim).expect(rule),
        trust: TrustKind::from_name(trust).expect(trust),
    };
    CellSpec::new(s, s.attack.attack(attack).expect(attack), rho, k, defense)
}

fn close(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => (a - b).abs() < 1e-12,
        (None, None) => true,
        _ => false,
    }
}

/// The same cells give the same bytes on one thread and on several.
#[test]
fn results_do_not_depend_on_thread_count() {
    let mut s = scenario(300);
    s.grid.attacks = vec!["noise".into(), "on-off".into(), "withhold".into()];
    s.grid.rhos = vec![0.0, 0.3];
    s.grid.ks = vec![3, 7];
    let world = SyntheticWorld::new(&s, s.seed);
    let cells = grid_cells(&s, &world).expect("grid");
    assert_eq!(cells.len(), 3 * 2 * 2 * 5 * TrustKind::ALL.len());
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("pool");
        let r = pool.install(|| run_cells(&s, &world, &cells, &|| {})).expect("runs");
        serde_json::to_string(&r).expect("json")
    };
    assert_eq!(run(1), run(3), "seed {}", s.seed);
}

/// Grid order: attack outermost, trust innermost; committee sizes the world cannot
/// seat are left out; every cell carries the scenario's missing-report rule and scaling.
#[test]
fn grid_cells_follow_the_grid() {
    let mut s = scenario(10);
    s.grid.attacks = vec!["none".into(), "withhold".into()];
    s.grid.rhos = vec![0.1];
    s.grid.ks = vec![3, 7];
    s.grid.rules = vec!["median".into(), "weighted-mean".into()];
    s.grid.trusts = vec!["none".into(), "calibrated".into()];
    s.protocol.missing = MissingReport::Ignore;
    let world = SyntheticWorld::new(&s, s.seed);
    let cells = grid_cells(&s, &world).expect("grid");
    assert_eq!(cells.len(), 2 * 2 * 2 * 2);
    assert_eq!(cells[0], spec(&s, "none", 0.1, 3, "median", "none"));
    assert_eq!(cells[1], spec(&s, "none", 0.1, 3, "median", "calibrated"));
    assert_eq!(cells[2], spec(&s, "none", 0.1, 3, "weighted-mean", "none"));
    assert_eq!(cells[15], spec(&s, "withhold", 0.1, 7, "weighted-mean", "calibrated"));
    assert!(cells.iter().all(|c| c.missing == MissingReport::Ignore));
    assert_eq!(
        cells[15].attack,
        Attack::Withhold {
            threshold: s.attack.withhold_threshold
        }
    );
    // A world of 5 evaluators cannot seat K = 7.
    let mut small = s.clone();
    small.evaluators.count = 5;
    let world = SyntheticWorld::new(&small, small.seed);
    assert!(grid_cells(&small, &world).expect("grid").iter().all(|c| c.k == 3));
    // A bad name in the grid is an error naming it.
    s.grid.trusts.push("blind".into());
    let err = grid_cells(&s, &world).expect_err("unknown trust").to_string();
    assert!(err.contains("blind"), "{err}");
}

#[test]
fn different_seeds_give_different_worlds() {
    let a = scenario(200);
    let b = Scenario {
        seed: 7,
        ..scenario(200)
    };
    let ra = run_cell(
        &a,
        &SyntheticWorld::new(&a, a.seed),
        &spec(&a, "none", 0.0, 7, "mean", "none"),
    )
    .expect("a");
    let rb = run_cell(
        &b,
        &SyntheticWorld::new(&b, b.seed),
        &spec(&b, "none", 0.0, 7, "mean", "none"),
    )
    .expect("b");
    assert_ne!(ra.mae, rb.mae);
}

/// Paired design: the world draws and the committee beacons depend only on (seed,
/// repetition, K). Without an attack, every ρ, and every trust policy under an
/// unweighted rule, sees the same rounds, so the consensus (hence every alignment
/// number) is identical; a weighted rule under the same rounds differs only through
/// its weights.
#[test]
fn defenses_face_identical_rounds() {
    let s = scenario(400);
    let world = SyntheticWorld::new(&s, s.seed);
    let base = run_cell(&s, &world, &spec(&s, "none", 0.0, 7, "mean", "none")).expect("base");
    assert!(base.pearson.is_some() && base.mae.is_some());
    for (rho, trust) in [(0.3, "none"), (0.5, "published"), (0.1, "calibrated")] {
        let r = run_cell(&s, &world, &spec(&s, "none", rho, 7, "mean", trust)).expect(trust);
        assert_eq!(
            (r.pearson, r.spearman, r.mae, r.inference_reward_mean),
            (base.pearson, base.spearman, base.mae, base.inference_reward_mean),
            "{rho} {trust}"
        );
        assert!(
            (r.payout_inflation - base.payout_inflation).abs() < 1e-12,
            "{rho} {trust}"
        );
    }
    // Equal weights (no trust) make the weighted mean the mean, on the same rounds.
    let w = run_cell(&s, &world, &spec(&s, "none", 0.0, 7, "weighted-mean", "none")).expect("weighted");
    assert!(
        close(w.pearson, base.pearson) && close(w.mae, base.mae),
        "{w:?} {base:?}"
    );
    // A different K is a different world and beacon stream.
    let k5 = run_cell(&s, &world, &spec(&s, "none", 0.0, 5, "mean", "none")).expect("k5");
    assert_ne!(k5.mae, base.mae);
}

/// Under an attack, too, the committees are the protocol's draw from the beacon stream
/// alone: every defense seats every evaluator the same number of times, and faces the
/// same malicious set.
#[test]
fn committees_are_paired_across_defenses_under_attack() {
    let s = scenario(300);
    let world = SyntheticWorld::new(&s, s.seed);
    let seats = |d: Defense| {
        let detail = run_once(
            &s,
            &world,
            &CellSpec::new(&s, s.attack.attack("boosting").expect("boosting"), 0.25, 7, d),
            0,
            0,
        )
        .expect("runs");
        let seats: Vec<u64> = detail.evaluator_rewards.iter().map(|m| m.n).collect();
        (seats, detail.malicious)
    };
    let (published, m_published) = seats(PUBLISHED);
    for (name, d) in DEMO_DEFENSES {
        let (other, m_other) = seats(d);
        assert_eq!(other, published, "{name}");
        assert_eq!(m_other, m_published, "{name}");
    }
    // 300 rounds × 7 seats, every one accounted for.
    assert_eq!(published.iter().sum::<u64>(), 300 * 7);
    assert_eq!(m_published.iter().filter(|&&m| m).count(), 5, "round(0.25 × 20)");
}

#[test]
fn malicious_sets_have_the_right_size() {
    let m = master_seed(1);
    for (rho, want) in [(0.0, 0), (0.1, 2), (0.25, 5), (0.5, 10), (1.0, 20)] {
        let set = malicious_set(&m, 0, rho, 20);
        assert_eq!(set.iter().filter(|&&x| x).count(), want, "rho {rho}");
    }
    assert_ne!(malicious_set(&m, 0, 0.3, 20), malicious_set(&m, 1, 0.3, 20));
}

/// The synthetic world honours its parameters: the consensus of an honest committee
/// tracks the truth, and an inverted evaluator correlates negatively on its task.
#[test]
fn synthetic_world_matches_its_scenario() {
    let s = scenario(1);
    let world = SyntheticWorld::new(&s, s.seed);
    assert_eq!(world.evaluators(), 20);
    assert_eq!(world.nodes(), 5);
    assert_eq!(world.node_name(4), "strong-fast");
    let traits = world.evaluator_traits();
    assert!(
        traits[0].summarization_slope < 0.0 && traits[0].qa_slope > 0.0,
        "evaluator 0 inverts on summarization"
    );
    let mut rng = poq_core::rng::Xoshiro256PlusPlus::from_u64(5);
    let everyone: Vec<EvaluatorId> = (0..20).map(EvaluatorId).collect();
    let mut honest: Vec<HonestReport> = Vec::new();
    let (mut truth, mut inv_scores, mut inv_truth) = (Vec::new(), Vec::new(), Vec::new());
    let mut means = Vec::new();
    for _ in 0..4000 {
        let a = world.answer(&mut rng);
        assert!(a.node.index() < 5 && (0.0..=10.0).contains(&a.truth) && a.latency_ms >= 1.0);
        world.honest_scores(&a, &everyone, &mut rng, &mut honest);
        assert_eq!(honest.len(), 20);
        assert!(honest.iter().all(|h| (0.0..=10.0).contains(&h.score)));
        assert!(honest.iter().zip(traits).all(|(h, t)| h.latency_ms == t.latency_ms));
        if a.task == poq_core::Task::Summarization {
            inv_scores.push(honest[0].score);
            inv_truth.push(a.truth);
        }
        truth.push(a.truth);
        means.push(honest[1..].iter().map(|h| h.score).sum::<f64>() / 19.0);
    }
    let r_inv = poq_core::stats::pearson(&inv_scores, &inv_truth).expect("defined");
    assert!(r_inv < -0.3, "inverted evaluator correlation {r_inv}");
    let r_pool = poq_core::stats::pearson(&means, &truth).expect("defined");
    assert!(r_pool > 0.8, "pool mean correlation {r_pool}");
    // A committee is scored in its own order, one report per member.
    let a = world.answer(&mut rng);
    world.honest_scores(&a, &[EvaluatorId(3), EvaluatorId(17)], &mut rng, &mut honest);
    assert_eq!(honest.len(), 2);
    assert_eq!(honest[1].latency_ms, traits[17].latency_ms);
}

/// The published rule saturates and detects nothing; ours separates boosters.
#[test]
fn ours_detects_what_the_published_rule_cannot() {
    let s = scenario(2000);
    let world = SyntheticWorld::new(&s, s.seed);
    let published = run_cell(&s, &world, &spec(&s, "boosting", 0.2, 7, "weighted-mean", "published")).expect("p");
    let ours = run_cell(
        &s,
        &world,
        &spec(&s, "boosting", 0.2, 7, "weighted-median", "calibrated"),
    )
    .expect("o");
    // Saturated weights rank nobody: chance level, give or take one honest evaluator
    // caught below w_max at the end.
    assert!(
        published.detection_auc.expect("auc") < 0.7,
        "{:?}",
        published.detection_auc
    );
    assert!(ours.detection_auc.expect("auc") > 0.95, "{:?}", ours.detection_auc);
    assert!(ours.pearson.expect("r") > published.pearson.expect("r"));
    assert!(ours.mae.expect("mae") < published.mae.expect("mae"));
    // Boosting inflates what the published configuration pays.
    assert!(
        published.payout_inflation > 0.0,
        "inflation {}",
        published.payout_inflation
    );
    // Ours ends with the boosters distrusted; the published rule cannot tell them apart.
    assert!(ours.malicious_trust_ratio.expect("ratio") < 0.5, "{ours:?}");
    assert!(published.malicious_trust_ratio.expect("ratio") > 0.9, "{published:?}");
    let none = run_cell(&s, &world, &spec(&s, "boosting", 0.2, 7, "mean", "none")).expect("n");
    assert_eq!(none.detection_auc, None);
    // Everyone reports under boosting: no silent seat, no expired round.
    assert_eq!((none.missing_rate, none.expired), (0.0, 0.0));
}

/// Evaluator rewards scale with 1/K and inference rewards do not depend on K.
#[test]
fn committee_size_changes_evaluator_pay_not_inference_pay() {
    let s = scenario(1500);
    let world = SyntheticWorld::new(&s, s.seed);
    let r3 = run_cell(&s, &world, &spec(&s, "none", 0.0, 3, "mean", "none")).expect("3");
    let r15 = run_cell(&s, &world, &spec(&s, "none", 0.0, 15, "mean", "none")).expect("15");
    let ratio = r3.evaluator_reward_mean / r15.evaluator_reward_mean;
    assert!(
        (ratio - 5.0).abs() < 0.5,
        "evaluator pay ratio {ratio}, expected about 15/3"
    );
    assert!((r3.inference_reward_mean - r15.inference_reward_mean).abs() < 0.03);
}

#[test]
fn traces_and_bad_cells() {
    let s = scenario(100);
    let world = SyntheticWorld::new(&s, s.seed);
    let d = run_once(&s, &world, &spec(&s, "noise", 0.2, 5, "median", "calibrated"), 0, 25).expect("runs");
    assert_eq!(
        d.trace.iter().map(|t| t.0).collect::<Vec<_>>(),
        vec![0, 25, 50, 75, 100]
    );
    assert!(d.trace.iter().all(|(_, w)| w.len() == 20));
    assert_eq!(d.trace.last().map(|t| &t.1), Some(&d.final_weights));
    assert_eq!(d.state_digest.len(), 64);
    assert!(d.state_digest.bytes().all(|b| b.is_ascii_hexdigit()));
    // Committees the world cannot seat.
    for k in [0, 25] {
        let err = run_once(&s, &world, &spec(&s, "noise", 0.2, k, "median", "none"), 0, 0).expect_err("k");
        assert!(err.to_string().contains(&k.to_string()), "{err}");
    }
    // Names are parsed once, at the edge, and a bad one is named there.
    let err = s.attack.attack("ddos").expect_err("ddos").to_string();
    assert!(err.contains("ddos") && err.contains("withhold"), "{err}");
    assert!(Rule::from_name("avg", s.grid.trim).is_err());
    assert!(TrustKind::from_name("blind").is_err());
    // Bad attack parameters are refused by the round loop too.
    let bad = CellSpec {
        attack: Attack::Noise { sigma: -1.0 },
        ..spec(&s, "noise", 0.2, 5, "median", "none")
    };
    assert!(run_once(&s, &world, &bad, 0, 0).is_err());
}

/// The round loop, written out here with nothing but the public protocol API, reaches
/// the very state `run_once` reports: the protocol alone draws committees (from the
/// `beacon/<rep>/<K>` stream and the round id), updates trust and pays.
#[test]
fn run_once_is_the_protocol_driven_by_the_world() {
    let s = scenario(150);
    let world = SyntheticWorld::new(&s, s.seed);
    let n = world.evaluators();
    for (rep, k, defense) in [(0, 7, OURS), (1, 5, PUBLISHED), (0, 3, MEDIAN)] {
        let sp = CellSpec::new(&s, Attack::None, 0.0, k, defense);
        let detail = run_once(&s, &world, &sp, rep, 0).expect("runs");

        let master = master_seed(s.seed);
        let config = s.protocol_config(sp.rule, k, sp.missing, sp.scaling);
        let trust = s.trust(sp.trust, n).expect("trust");
        let mut p = Protocol::new(config, trust, vec![Registration::all_tasks(); n], world.nodes()).expect("protocol");
        let mut world_rng = rng_for(&master, &format!("world/{rep}/{k}"));
        let mut beacon_rng = rng_for(&master, &format!("beacon/{rep}/{k}"));
        let mut honest = Vec::new();
        for t in 0..s.rounds {
            let a = world.answer(&mut world_rng);
            let mut beacon = [0u8; 32];
            for chunk in beacon.chunks_exact_mut(8) {
                chunk.copy_from_slice(&beacon_rng.next_word().to_le_bytes());
            }
            let id = p.open(&beacon, a.node, a.task, a.latency_ms).expect("open");
            assert_eq!(id, RoundId(t as u64));
            let committee = p.round(id).expect("open round").committee().to_vec();
            // The committee is the uniform draw of the round's seed over the whole pool.
            let expected: Vec<EvaluatorId> = sample_uniform(&committee_seed(&beacon, id), n, k)
                .expect("sample")
                .into_iter()
                .map(EvaluatorId)
                .collect();
            let mut sorted = expected.clone();
            sorted.sort_unstable();
            let mut got = committee.clone();
            got.sort_unstable();
            assert_eq!(got, sorted, "round {t}");
            world.honest_scores(&a, &committee, &mut world_rng, &mut honest);
            for (&e, h) in committee.iter().zip(&honest) {
                p.submit(id, e, h.score, h.latency_ms).expect("submit");
            }
            assert!(matches!(p.close(id).expect("close"), Closed::Finalized(_)));
        }
        let hex: String = p.state_digest().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(detail.state_digest, hex, "rep {rep}, K {k}, {}", defense.name());
        assert_eq!(detail.final_weights, p.trust().weights());
        assert_eq!(&detail.book, p.book());
    }
}

/// The protocol's state digest is a function of the cell: the same spec gives the same
/// digest, another K, defense, attack or repetition another.
#[test]
fn state_digest_is_determined_by_the_cell() {
    let s = scenario(200);
    let world = SyntheticWorld::new(&s, s.seed);
    let digest = |sp: &CellSpec, rep: usize| run_once(&s, &world, sp, rep, 0).expect("runs").state_digest;
    let base = spec(&s, "boosting", 0.2, 7, "weighted-median", "calibrated");
    let d = digest(&base, 0);
    assert_eq!(d, digest(&base, 0), "same spec, same digest");
    // Tracing does not touch the protocol.
    assert_eq!(d, run_once(&s, &world, &base, 0, 10).expect("traced").state_digest);
    let others = [
        (spec(&s, "boosting", 0.2, 5, "weighted-median", "calibrated"), 0, "K"),
        (spec(&s, "boosting", 0.2, 7, "weighted-mean", "calibrated"), 0, "rule"),
        (spec(&s, "boosting", 0.2, 7, "weighted-median", "published"), 0, "trust"),
        (
            spec(&s, "sabotage", 0.2, 7, "weighted-median", "calibrated"),
            0,
            "attack",
        ),
        (base, 1, "repetition"),
    ];
    for (sp, rep, what) in others {
        assert_ne!(digest(&sp, rep), d, "another {what}");
    }
}

/// Strategic abstention: a withholder reports its honest score only when it is close
/// to the others'. If silence costs nothing (`ignore`) it keeps its trust; if silence
/// counts as the worst report (`penalize`) it loses it.
#[test]
fn withholding_pays_only_when_silence_is_ignored() {
    let s = scenario(400);
    let world = SyntheticWorld::new(&s, s.seed);
    for defense in [OURS, PUBLISHED] {
        let cell = |missing| CellSpec {
            missing,
            ..CellSpec::new(&s, s.attack.attack("withhold").expect("withhold"), 0.2, 7, defense)
        };
        let ignore = run_cell(&s, &world, &cell(MissingReport::Ignore)).expect("ignore");
        let penalize = run_cell(&s, &world, &cell(MissingReport::Penalize)).expect("penalize");
        assert_eq!(
            (ignore.missing.as_str(), penalize.missing.as_str()),
            ("ignore", "penalize")
        );
        // The same rounds and the same attacker decisions (a withholder compares its
        // honest score with the others', neither depends on the rule) give the same
        // silent seats and the same expired rounds under both rules.
        assert!(ignore.missing_rate > 0.0, "{ignore:?}");
        assert_eq!(ignore.missing_rate, penalize.missing_rate);
        assert_eq!(ignore.expired, penalize.expired);
        let (ti, tp) = (
            ignore.malicious_trust_ratio.expect("ratio"),
            penalize.malicious_trust_ratio.expect("ratio"),
        );
        let name = defense.name();
        // Ignored, a withholder reports only when it agrees: never less trusted than
        // an honest evaluator (the published rule saturates everyone at w_max: 1).
        assert!(ti >= 1.0, "{name}: ignored silence keeps a withholder trusted: {ti}");
        // Penalized, each silence counts as the worst report.
        assert!(
            tp < 1.0 && tp < ti,
            "{name}: penalize {tp} must be below ignore {ti} and 1"
        );
    }
}

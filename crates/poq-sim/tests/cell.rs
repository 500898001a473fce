//! Tests of `poq_sim::cell` and `poq_sim::sweep`: determinism, pairing, and that the
//! simulation measures what it claims.

use poq_sim::cell::{CellSpec, malicious_set, master_seed, run_cell, run_once};
use poq_sim::scenario::Scenario;
use poq_sim::sweep::{grid_cells, run_cells};
use poq_sim::world::{RoundDraw, SyntheticWorld, World};

fn scenario(rounds: usize) -> Scenario {
    Scenario {
        rounds,
        ..Scenario::default()
    }
}

fn spec(attack: &str, rho: f64, k: usize, rule: &str, trust: &str) -> CellSpec {
    CellSpec {
        attack: attack.into(),
        rho,
        k,
        rule: rule.into(),
        trust: trust.into(),
    }
}

/// The same cells give the same bytes on one thread and on several.
#[test]
fn results_do_not_depend_on_thread_count() {
    let mut s = scenario(300);
    s.grid.attacks = vec!["noise".into(), "on-off".into()];
    s.grid.rhos = vec![0.0, 0.3];
    s.grid.ks = vec![3, 7];
    let world = SyntheticWorld::new(&s, s.seed);
    let cells = grid_cells(&s, &world);
    assert_eq!(cells.len(), 2 * 2 * 2 * 5 * 3);
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

#[test]
fn different_seeds_give_different_worlds() {
    let a = scenario(200);
    let b = Scenario {
        seed: 7,
        ..scenario(200)
    };
    let sp = spec("none", 0.0, 7, "mean", "none");
    let ra = run_cell(&a, &SyntheticWorld::new(&a, a.seed), &sp).expect("a");
    let rb = run_cell(&b, &SyntheticWorld::new(&b, b.seed), &sp).expect("b");
    assert_ne!(ra.mae, rb.mae);
}

/// Paired design: the world draws depend only on (seed, repetition, K). Without an
/// attack, every ρ, and every trust policy under an unweighted rule, sees the same
/// rounds, so the consensus (hence every alignment number) is identical; a weighted
/// rule under the same rounds differs only through its weights.
#[test]
fn defenses_face_identical_rounds() {
    let s = scenario(400);
    let world = SyntheticWorld::new(&s, s.seed);
    let base = run_cell(&s, &world, &spec("none", 0.0, 7, "mean", "none")).expect("base");
    for (rho, trust) in [(0.3, "none"), (0.5, "published"), (0.1, "calibrated")] {
        let r = run_cell(&s, &world, &spec("none", rho, 7, "mean", trust)).expect(trust);
        assert_eq!(
            (r.pearson, r.mae, r.payout_inflation),
            (base.pearson, base.mae, base.payout_inflation),
            "{rho} {trust}"
        );
    }
    // Equal weights (no trust) make the weighted mean the mean, on the same rounds.
    let w = run_cell(&s, &world, &spec("none", 0.0, 7, "weighted-mean", "none")).expect("weighted");
    assert!((w.pearson - base.pearson).abs() < 1e-12 && (w.mae - base.mae).abs() < 1e-12);
    // A different K is a different world stream.
    let k5 = run_cell(&s, &world, &spec("none", 0.0, 5, "mean", "none")).expect("k5");
    assert_ne!(k5.mae, base.mae);
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
    let traits = world.evaluator_traits();
    assert!(
        traits[0].summarization_slope < 0.0 && traits[0].qa_slope > 0.0,
        "evaluator 0 inverts on summarization"
    );
    let mut rng = poq_core::rng::Xoshiro256PlusPlus::from_u64(5);
    let mut d = RoundDraw::default();
    let (mut truth, mut inv_scores, mut inv_truth) = (Vec::new(), Vec::new(), Vec::new());
    let mut means = Vec::new();
    for _ in 0..4000 {
        world.draw(&mut rng, 20, &mut d);
        assert_eq!(d.committee, (0..20).collect::<Vec<u32>>());
        assert!(d.honest.iter().all(|s| (0.0..=10.0).contains(s)));
        if !d.qa {
            inv_scores.push(d.honest[0]);
            inv_truth.push(d.truth);
        }
        truth.push(d.truth);
        means.push(d.honest[1..].iter().sum::<f64>() / 19.0);
    }
    let r_inv = poq_core::stats::pearson(&inv_scores, &inv_truth).expect("defined");
    assert!(r_inv < -0.3, "inverted evaluator correlation {r_inv}");
    let r_pool = poq_core::stats::pearson(&means, &truth).expect("defined");
    assert!(r_pool > 0.8, "pool mean correlation {r_pool}");
}

/// The published rule saturates and detects nothing; ours separates boosters.
#[test]
fn ours_detects_what_the_published_rule_cannot() {
    let s = scenario(2000);
    let world = SyntheticWorld::new(&s, s.seed);
    let published = run_cell(&s, &world, &spec("boosting", 0.2, 7, "weighted-mean", "published")).expect("p");
    let ours = run_cell(&s, &world, &spec("boosting", 0.2, 7, "weighted-median", "calibrated")).expect("o");
    // Saturated weights rank nobody: chance level, give or take one honest evaluator
    // caught below w_max at the end.
    assert!(
        published.detection_auc.expect("auc") < 0.7,
        "{:?}",
        published.detection_auc
    );
    assert!(ours.detection_auc.expect("auc") > 0.95);
    assert!(ours.pearson > published.pearson);
    // Boosting inflates what the published configuration pays.
    assert!(
        published.payout_inflation > 0.0,
        "inflation {}",
        published.payout_inflation
    );
    let none = run_cell(&s, &world, &spec("boosting", 0.2, 7, "mean", "none")).expect("n");
    assert_eq!(none.detection_auc, None);
}

/// Evaluator rewards scale with 1/K and inference rewards do not depend on K.
#[test]
fn committee_size_changes_evaluator_pay_not_inference_pay() {
    let s = scenario(1500);
    let world = SyntheticWorld::new(&s, s.seed);
    let r3 = run_cell(&s, &world, &spec("none", 0.0, 3, "mean", "none")).expect("3");
    let r15 = run_cell(&s, &world, &spec("none", 0.0, 15, "mean", "none")).expect("15");
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
    let d = run_once(&s, &world, &spec("noise", 0.2, 5, "median", "calibrated"), 0, 25).expect("runs");
    assert_eq!(
        d.trace.iter().map(|t| t.0).collect::<Vec<_>>(),
        vec![0, 25, 50, 75, 100]
    );
    assert!(d.trace.iter().all(|(_, w)| w.len() == 20));
    assert!(run_once(&s, &world, &spec("noise", 0.2, 25, "median", "none"), 0, 0).is_err());
    assert!(run_once(&s, &world, &spec("ddos", 0.2, 5, "median", "none"), 0, 0).is_err());
    assert!(run_once(&s, &world, &spec("noise", 0.2, 5, "avg", "none"), 0, 0).is_err());
}

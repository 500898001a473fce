//! Tests of `poq_sim::replay`.

use poq_sim::SimError;
use poq_sim::cell::{CellSpec, run_cell};
use poq_sim::replay::ReplayWorld;
use poq_sim::scenario::Scenario;
use poq_sim::world::{RoundDraw, World};
use std::path::PathBuf;

fn write(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("poq-sim-replay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write logs");
    p
}

fn record(prompt: usize, task: &str, node: &str, f1: f64, rl: f64, scores: &[(&str, f64)]) -> String {
    let scores: serde_json::Map<String, serde_json::Value> = scores
        .iter()
        .map(|(k, v)| (k.to_string(), serde_json::json!(v)))
        .collect();
    let lat: serde_json::Map<String, serde_json::Value> =
        scores.keys().map(|k| (k.clone(), serde_json::json!(50.0))).collect();
    serde_json::json!({
        "prompt_id": format!("p{prompt}"), "task": task, "node": node, "output": "an answer",
        "latency_ms": 900.0, "gt_f1": f1, "gt_rougeL": rl, "scores": scores, "eval_latency_ms": lat,
    })
    .to_string()
}

/// A log whose evaluators track the ground truth (scores = 10 × F1 ± a little).
fn logs() -> String {
    let mut lines = Vec::new();
    for p in 0..60 {
        for (n, node) in ["alpha", "beta"].iter().enumerate() {
            let f1 = ((p * 7 + n * 3) % 11) as f64 / 10.0;
            let task = if p % 2 == 0 { "qa" } else { "summarization" };
            let s = |d: f64| (10.0 * f1 + d).clamp(0.0, 10.0);
            lines.push(record(
                p,
                task,
                node,
                f1,
                f1,
                &[("bi", s(0.3)), ("cross", s(-0.4)), ("judge", s(0.1)), ("lex", s(0.0))],
            ));
        }
    }
    lines.join("\n") + "\n"
}

#[test]
fn replay_draws_logged_rounds() {
    let w = ReplayWorld::load(&write("ok.jsonl", &logs())).expect("loads");
    assert_eq!((w.len(), w.nodes(), w.evaluators(), w.max_k()), (120, 2, 4, 4));
    assert_eq!(w.evaluator_name(0), "bi");
    assert_eq!(w.node_name(1), "beta");
    let mut rng = poq_core::rng::Xoshiro256PlusPlus::from_u64(1);
    let mut d = RoundDraw::default();
    for _ in 0..100 {
        w.draw(&mut rng, 3, &mut d);
        assert_eq!(d.committee.len(), 3);
        assert!(d.committee.windows(2).all(|p| p[0] < p[1]));
        // Logged scores are within 0.4 of 10 × F1, the truth for both tasks here.
        assert!(d.honest.iter().all(|s| (s - d.truth).abs() <= 0.4 + 1e-9), "{d:?}");
        assert_eq!(d.latency_ms, 900.0);
    }
}

#[test]
fn replayed_cells_run() {
    let w = ReplayWorld::load(&write("cells.jsonl", &logs())).expect("loads");
    let mut s = Scenario {
        rounds: 400,
        ..Scenario::default()
    };
    s.evaluators.count = w.evaluators();
    let spec = CellSpec {
        attack: "boosting".into(),
        rho: 0.25,
        k: 3,
        rule: "median".into(),
        trust: "calibrated".into(),
    };
    let r = run_cell(&s, &w, &spec).expect("runs");
    assert!(
        r.pearson > 0.9,
        "median of logged scores tracks the truth: {}",
        r.pearson
    );
    assert_eq!(r.malicious, 1);
}

#[test]
fn bad_logs_name_the_line() {
    let good = record(1, "qa", "a", 0.5, 0.5, &[("x", 5.0)]);
    let cases = [
        ("json.jsonl", format!("{good}\nnot json\n"), "line 2"),
        (
            "score.jsonl",
            record(1, "qa", "a", 0.5, 0.5, &[("x", 11.0)]),
            "not in [0, 10]",
        ),
        ("task.jsonl", record(1, "chat", "a", 0.5, 0.5, &[("x", 5.0)]), "task"),
        ("f1.jsonl", record(1, "qa", "a", 1.5, 0.5, &[("x", 5.0)]), "gt_f1"),
        ("empty.jsonl", record(1, "qa", "a", 0.5, 0.5, &[]), "scores is empty"),
        ("none.jsonl", String::new(), "no records"),
    ];
    for (name, text, needle) in cases {
        let err = ReplayWorld::load(&write(name, &text)).expect_err(name);
        assert!(matches!(err, SimError::Log { .. }), "{name}: {err}");
        assert!(err.to_string().contains(needle), "{name}: {err} lacks {needle:?}");
    }
}

#[test]
fn replicas_seat_each_logged_evaluator_on_several_nodes() {
    let w = ReplayWorld::load(&write("replicas.jsonl", &logs()))
        .expect("loads")
        .with_replicas(3)
        .expect("3 replicas");
    assert_eq!((w.evaluators(), w.max_k()), (12, 12));
    assert_eq!(w.evaluator_name(0), "bi#1");
    assert_eq!(w.evaluator_name(5), "cross#3");
    assert_eq!(w.evaluator_name(11), "lex#3");
    let mut rng = poq_core::rng::Xoshiro256PlusPlus::from_u64(5);
    let mut d = RoundDraw::default();
    for _ in 0..200 {
        w.draw(&mut rng, 7, &mut d);
        assert_eq!(d.committee.len(), 7);
        assert!(d.committee.windows(2).all(|p| p[0] < p[1]));
        // Replicas of one evaluator report one score; ids 0-2 are "bi", 3-5 "cross"...
        for (i, &e) in d.committee.iter().enumerate() {
            for (j, &f) in d.committee.iter().enumerate() {
                if e / 3 == f / 3 {
                    assert_eq!(d.honest[i], d.honest[j], "{d:?}");
                }
            }
        }
    }
    let err = ReplayWorld::load(&write("replicas0.jsonl", &logs()))
        .expect("loads")
        .with_replicas(0)
        .expect_err("0 replicas");
    assert!(err.to_string().contains("replicas = 0"), "{err}");
}

//! Tests of `poq_sim::replay`.

use poq_core::attack::Attack;
use poq_core::committee::draw_uniform;
use poq_core::trust::TrustKind;
use poq_core::{EvaluatorId, Task};
use poq_sim::SimError;
use poq_sim::cell::CellSpec;
use poq_sim::defense::{DEMO_DEFENSES, Defense, MEDIAN, OURS};
use poq_sim::play::{run_cell, run_once};
use poq_sim::replay::{LogRecord, ReplayWorld, read_logs};
use poq_sim::scenario::Scenario;
use poq_sim::world::{HonestReport, World};
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

fn parse(lines: &[String]) -> Vec<LogRecord> {
    lines.iter().map(|l| serde_json::from_str(l).expect("record")).collect()
}

#[test]
fn replay_draws_logged_rounds() {
    let w = ReplayWorld::load(&write("ok.jsonl", &logs())).expect("loads");
    assert_eq!((w.len(), w.nodes(), w.evaluators(), w.incomplete()), (120, 2, 4, 0));
    assert!(!w.is_empty());
    assert_eq!(w.evaluator_name(0), "bi");
    assert_eq!(w.evaluator_name(3), "lex");
    assert_eq!(w.model_of(1), Some("cross"));
    assert_eq!(w.model_of(4), None);
    assert_eq!(w.node_name(1), "beta");
    let mut rng = poq_core::rng::Xoshiro256PlusPlus::from_u64(1);
    let mut honest = Vec::new();
    let mut tasks = [0usize; 2];
    for _ in 0..100 {
        let a = w.answer(&mut rng);
        assert!(a.record < w.len());
        assert_eq!(a.latency_ms, 900.0);
        tasks[a.task.index()] += 1;
        // Any committee the protocol may seat is scored, in its order.
        let committee: Vec<EvaluatorId> = draw_uniform(&mut rng, 4, 3)
            .expect("draw")
            .into_iter()
            .map(EvaluatorId)
            .collect();
        w.honest_scores(&a, &committee, &mut rng, &mut honest);
        assert_eq!(honest.len(), 3);
        // Logged scores are within 0.4 of 10 × F1, the truth for both tasks here, and
        // each member's latency is its logged one.
        assert!(
            honest.iter().all(|h| (h.score - a.truth).abs() <= 0.4 + 1e-9),
            "{honest:?}"
        );
        assert!(honest.iter().all(|h| h.latency_ms == 50.0));
    }
    assert!(tasks[0] > 0 && tasks[1] > 0, "both tasks replayed: {tasks:?}");
    // Member "lex" (id 3) reports exactly 10 × F1, the ground truth.
    let a = w.answer(&mut rng);
    w.honest_scores(&a, &[EvaluatorId(3)], &mut rng, &mut honest);
    assert!((honest[0].score - a.truth).abs() < 1e-9);
    // Per node: the mean truth of its replayed records.
    let means: Vec<(f64, f64)> = (0..w.nodes()).map(|i| w.node_profile(i)).collect();
    assert_eq!(means.len(), 2);
    let alpha: f64 = (0..60).map(|p| 10.0 * ((p * 7) % 11) as f64 / 10.0).sum::<f64>() / 60.0;
    assert!((means[0].0 - alpha).abs() < 1e-9, "{means:?} vs {alpha}");
    assert_eq!(means[0].1, 900.0);
}

#[test]
fn replayed_cells_run() {
    let w = ReplayWorld::load(&write("cells.jsonl", &logs())).expect("loads");
    let mut s = Scenario {
        rounds: 400,
        ..Scenario::default()
    };
    s.fit_to_pool(w.evaluators());
    assert_eq!(s.evaluators.count, 4);
    assert_eq!(s.grid.ks, vec![3]);
    let spec = CellSpec::new(&s, s.attack.attack("boosting").expect("boosting"), 0.25, 3, MEDIAN);
    let r = run_cell(&s, &w, &spec).expect("runs");
    let pearson = r.pearson.expect("defined");
    assert!(pearson > 0.9, "median of logged scores tracks the truth: {pearson}");
    assert_eq!(r.malicious, 1);
    let ours = run_cell(
        &s,
        &w,
        &CellSpec {
            trust: TrustKind::Calibrated,
            ..spec
        },
    )
    .expect("ours");
    assert!(ours.pearson.expect("defined") > 0.9);
}

/// Only records every evaluator scored are replayed (any committee can then be
/// seated); the others are counted. None complete is an error naming the evaluators.
#[test]
fn replay_keeps_only_complete_records() {
    let mut lines = Vec::new();
    for p in 0..10 {
        let f1 = p as f64 / 10.0;
        lines.push(record(
            p,
            "qa",
            "m",
            f1,
            f1,
            &[("a", 10.0 * f1), ("b", 5.0), ("c", 1.0)],
        ));
    }
    // Three records some evaluator failed on.
    lines.push(record(20, "qa", "m", 0.5, 0.5, &[("a", 5.0), ("b", 5.0)]));
    lines.push(record(21, "qa", "other", 0.5, 0.5, &[("c", 5.0)]));
    lines.push(record(22, "summarization", "m", 0.5, 0.5, &[("a", 5.0), ("c", 5.0)]));
    let w = ReplayWorld::from_records(&parse(&lines)).expect("builds");
    assert_eq!((w.len(), w.incomplete(), w.evaluators()), (10, 3, 3));
    // "other" answered only an incomplete record: it is no node of the replay.
    assert_eq!(w.nodes(), 1);
    assert_eq!(w.node_name(0), "m");
    let mut rng = poq_core::rng::Xoshiro256PlusPlus::from_u64(3);
    let mut honest: Vec<HonestReport> = Vec::new();
    let everyone = [EvaluatorId(0), EvaluatorId(1), EvaluatorId(2)];
    for _ in 0..200 {
        let a = w.answer(&mut rng);
        assert_eq!(a.task, Task::Qa, "the only summarization record is incomplete");
        w.honest_scores(&a, &everyone, &mut rng, &mut honest);
        assert_eq!(honest.len(), 3);
        assert!((honest[0].score - a.truth).abs() < 1e-9);
        assert_eq!((honest[1].score, honest[2].score), (5.0, 1.0));
    }
    // The same through a file.
    let file = ReplayWorld::load(&write("partial.jsonl", &(lines.join("\n") + "\n"))).expect("loads");
    assert_eq!(file, w);

    // None complete: an error that names the evaluators (and the file, when loaded).
    let none = [
        record(1, "qa", "m", 0.5, 0.5, &[("e1", 1.0)]),
        record(2, "qa", "m", 0.5, 0.5, &[("e2", 1.0)]),
    ];
    let err = ReplayWorld::from_records(&parse(&none)).expect_err("none complete");
    assert!(matches!(err, SimError::Log { .. }), "{err}");
    assert!(err.to_string().contains("e1, e2"), "{err}");
    let path = write("incomplete.jsonl", &(none.join("\n") + "\n"));
    let err = ReplayWorld::load(&path).expect_err("none complete").to_string();
    assert!(err.contains("incomplete.jsonl") && err.contains("e1, e2"), "{err}");
    assert!(ReplayWorld::from_records(&[]).is_err(), "no records at all");
}

/// A replay whose evaluators always agree on one score: the consensus is constant, so
/// its correlation with the truth is undefined, reported as null (never 0), while its
/// error is defined.
#[test]
fn a_constant_consensus_has_no_correlation() {
    let lines: Vec<String> = (0..30)
        .map(|p| {
            let f1 = (p % 10) as f64 / 10.0;
            record(p, "qa", "m", f1, f1, &[("a", 6.0), ("b", 6.0), ("c", 6.0)])
        })
        .collect();
    let w = ReplayWorld::from_records(&parse(&lines)).expect("builds");
    let mut s = Scenario {
        rounds: 200,
        ..Scenario::default()
    };
    s.fit_to_pool(w.evaluators());
    for (name, d) in DEMO_DEFENSES.into_iter().chain([(
        "plain",
        Defense {
            trust: TrustKind::None,
            ..OURS
        },
    )]) {
        let spec = CellSpec::new(&s, Attack::None, 0.0, 3, d);
        let r = run_cell(&s, &w, &spec).expect(name);
        assert_eq!((r.pearson, r.spearman), (None, None), "{name}: {r:?}");
        // |6 − truth| over records drawn uniformly, the truth 10 × F1 uniform on
        // {0, …, 9}: (6 + 5 + 4 + 3 + 2 + 1 + 0 + 1 + 2 + 3) / 10 = 2.7 in expectation.
        let mae = r.mae.expect("defined");
        assert!((mae - 2.7).abs() < 0.5, "{name}: {mae}");
        let json = serde_json::to_value(&r).expect("json");
        assert!(json["pearson"].is_null() && json["spearman"].is_null(), "{json}");
        assert!(json["mae"].is_number(), "{json}");
    }
    // One repetition alone: the consensus is exactly 6 every round.
    let d = run_once(&s, &w, &CellSpec::new(&s, Attack::None, 0.0, 3, MEDIAN), 0, 0).expect("once");
    assert_eq!(d.result.pearson, None);
}

#[test]
fn bad_logs_name_the_line() {
    let good = record(1, "qa", "a", 0.5, 0.5, &[("x", 5.0)]);
    let cases = [
        ("json.jsonl", format!("{good}\nnot json\n"), "line 2", ""),
        (
            "score.jsonl",
            record(1, "qa", "a", 0.5, 0.5, &[("x", 11.0)]),
            "line 1",
            "not in [0, 10]",
        ),
        (
            "task.jsonl",
            format!("{good}\n{good}\n{}", record(1, "chat", "a", 0.5, 0.5, &[("x", 5.0)])),
            "line 3",
            "chat",
        ),
        (
            "f1.jsonl",
            record(1, "qa", "a", 1.5, 0.5, &[("x", 5.0)]),
            "line 1",
            "gt_f1",
        ),
        (
            "empty.jsonl",
            record(1, "qa", "a", 0.5, 0.5, &[]),
            "line 1",
            "scores is empty",
        ),
        (
            "latency.jsonl",
            format!(
                "{good}\n\n{}",
                good.replace("\"eval_latency_ms\":{\"x\":50.0}", "\"eval_latency_ms\":{}")
            ),
            "line 3",
            "eval_latency_ms",
        ),
        ("none.jsonl", String::new(), "no records", ""),
    ];
    for (name, text, where_, what) in cases {
        let path = write(name, &text);
        let err = ReplayWorld::load(&path).expect_err(name);
        assert!(matches!(err, SimError::Log { .. }), "{name}: {err}");
        let msg = err.to_string();
        assert!(
            msg.contains(where_) && msg.contains(what),
            "{name}: {msg} lacks {where_:?} / {what:?}"
        );
        assert!(msg.contains(name), "{name}: {msg} names the file");
        // `poq audit` reads through the same checks.
        assert_eq!(read_logs(&path).expect_err(name).to_string(), msg, "{name}");
    }
    // An unknown task is a serde error naming the variant and the accepted ones.
    let err = ReplayWorld::load(&write("task2.jsonl", &record(1, "chat", "a", 0.5, 0.5, &[("x", 5.0)])))
        .expect_err("task")
        .to_string();
    assert!(
        err.contains("chat") && err.contains("qa") && err.contains("summarization"),
        "{err}"
    );
}

#[test]
fn replicas_seat_each_logged_evaluator_on_several_nodes() {
    let w = ReplayWorld::load(&write("replicas.jsonl", &logs()))
        .expect("loads")
        .with_replicas(3)
        .expect("3 replicas");
    assert_eq!(w.evaluators(), 12);
    assert_eq!(w.evaluator_name(0), "bi#1");
    assert_eq!(w.evaluator_name(5), "cross#3");
    assert_eq!(w.evaluator_name(11), "lex#3");
    assert_eq!(w.model_of(5), Some("cross"));
    assert_eq!(w.model_of(12), None);
    let mut rng = poq_core::rng::Xoshiro256PlusPlus::from_u64(5);
    let mut honest = Vec::new();
    for _ in 0..200 {
        let a = w.answer(&mut rng);
        let committee: Vec<EvaluatorId> = draw_uniform(&mut rng, 12, 7)
            .expect("draw")
            .into_iter()
            .map(EvaluatorId)
            .collect();
        w.honest_scores(&a, &committee, &mut rng, &mut honest);
        assert_eq!(honest.len(), 7);
        // Replicas of one evaluator report one score; ids 0-2 are "bi", 3-5 "cross"...
        for (i, e) in committee.iter().enumerate() {
            for (j, f) in committee.iter().enumerate() {
                if e.index() / 3 == f.index() / 3 {
                    assert_eq!(honest[i], honest[j], "{committee:?} {honest:?}");
                }
            }
        }
    }
    // The whole pool can sit: every evaluator node reports.
    let everyone: Vec<EvaluatorId> = (0..12).map(EvaluatorId).collect();
    let a = w.answer(&mut rng);
    w.honest_scores(&a, &everyone, &mut rng, &mut honest);
    assert_eq!(honest.len(), 12);
    let err = ReplayWorld::load(&write("replicas0.jsonl", &logs()))
        .expect("loads")
        .with_replicas(0)
        .expect_err("0 replicas");
    assert!(err.to_string().contains("replicas = 0"), "{err}");
}

/// The gold holdout: a share of each task's prompts (30 QA and 30 summarization prompts
/// here, 2 records each) kept apart; spot-checks draw only from them, ordinary rounds
/// never do; a fraction outside [0, 1) is an error naming it.
#[test]
fn gold_holdout_splits_prompts_per_task() {
    let w = ReplayWorld::load(&write("gold.jsonl", &logs())).expect("loads");
    assert_eq!(w.split(), (120, 0));
    let w = w.with_gold_holdout(0.2).expect("holdout");
    // round(0.2 × 30) = 6 prompts per task, 2 records each.
    assert_eq!(w.split(), (96, 24));
    let mut rng = poq_core::rng::Xoshiro256PlusPlus::from_u64(5);
    let live: std::collections::BTreeSet<usize> = (0..500).map(|_| w.answer(&mut rng).record).collect();
    let gold: std::collections::BTreeSet<usize> = (0..500).map(|_| w.gold_answer(&mut rng).record).collect();
    assert!(live.is_disjoint(&gold), "seed 5");
    assert_eq!(gold.len(), 24, "every gold record drawn in 500 tries (seed 5)");
    let tasks: std::collections::BTreeSet<Task> = (0..200).map(|_| w.gold_answer(&mut rng).task).collect();
    assert_eq!(tasks.len(), 2, "both tasks have gold");
    for bad in [1.0, -0.1, f64::NAN] {
        let err = w.clone().with_gold_holdout(bad).expect_err("bad fraction");
        assert!(err.to_string().contains("gold_holdout"), "{err}");
    }
}

/// Gold rounds in a replay: about g of the rounds, left out of the alignment metrics,
/// revealed to gold trust, which then tracks the truth; the best single model is
/// reported, and equals a model's own correlation on the same rounds (here every model
/// tracks the truth closely, so the bar is high).
#[test]
fn gold_rounds_in_a_replay() {
    let w = ReplayWorld::load(&write("gold2.jsonl", &logs()))
        .and_then(|w| w.with_replicas(3))
        .and_then(|w| w.with_gold_holdout(0.2))
        .expect("world");
    let mut s = Scenario {
        rounds: 1000,
        ..Scenario::default()
    };
    s.protocol.gold_fraction = 0.1;
    s.fit_to_pool(w.evaluators());
    let gold = Defense {
        rule: poq_core::aggregate::Rule::WeightedMean,
        trust: TrustKind::Gold,
    };
    let spec = CellSpec::new(&s, s.attack.attack("boosting").expect("boosting"), 0.25, 7, gold);
    let d = run_once(&s, &w, &spec, 0, 0).expect("runs");
    let r = &d.result;
    assert!(
        (r.gold_rounds - 100.0).abs() < 40.0,
        "gold rounds {} (seed 42)",
        r.gold_rounds
    );
    assert!(r.best_model.is_some(), "{r:?}");
    let best = r.best_model_pearson.expect("bar");
    assert!(best > 0.95, "bar {best}");
    assert!(r.pearson.expect("r") > 0.9 * best, "{r:?}");
    // Without gold rounds: none played, the same bar on the same kind of rounds.
    let none = CellSpec {
        gold_fraction: 0.0,
        ..spec
    };
    let d0 = run_once(&s, &w, &none, 0, 0).expect("runs");
    assert_eq!(d0.result.gold_rounds, 0.0);
    // A gold fraction outside [0, 1] is an error naming it.
    let bad = CellSpec {
        gold_fraction: 1.5,
        ..spec
    };
    let err = run_once(&s, &w, &bad, 0, 0).expect_err("bad g");
    assert!(err.to_string().contains("gold_fraction"), "{err}");
}

/// Rewards follow gold performance on the collected QA logs (three nodes per logged
/// evaluator, 5% gold, trust-scaled evaluator shares, no attack): the bi-encoder
/// nodes, the one informative model on QA, earn more per round than every node of the
/// judge and of the two lexical overlaps; with flat shares (the spec's formula) the gap
/// is smaller.
#[test]
fn rewards_follow_gold_performance_on_the_collected_logs() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/collected/qa.jsonl");
    let w = ReplayWorld::load(&path)
        .and_then(|w| w.with_replicas(3))
        .and_then(|w| w.with_gold_holdout(0.2))
        .expect("collected logs");
    let mut s = Scenario {
        rounds: 2500,
        ..Scenario::default()
    };
    s.protocol.gold_fraction = 0.05;
    s.fit_to_pool(w.evaluators());
    let gold = Defense {
        rule: poq_core::aggregate::Rule::WeightedMean,
        trust: TrustKind::Gold,
    };
    let per_round = |scaling| {
        let spec = CellSpec {
            scaling,
            ..CellSpec::new(&s, Attack::None, 0.0, 7, gold)
        };
        let d = run_once(&s, &w, &spec, 0, 0).expect("runs");
        let by_model = |name: &str| -> Vec<f64> {
            (0..w.evaluators())
                .filter(|&i| w.model_of(i) == Some(name))
                .map(|i| d.evaluator_rewards[i].mean)
                .collect()
        };
        let bi = by_model("bi-encoder");
        let others: Vec<f64> = ["judge-smollm2-135m-instruct", "lexical-f1", "lexical-rougeL"]
            .iter()
            .flat_map(|m| by_model(m))
            .collect();
        assert_eq!((bi.len(), others.len()), (3, 9));
        (bi, others)
    };
    let (bi, others) = per_round(poq_core::reward::EvaluatorScaling::Trust);
    let worst_bi = bi.iter().cloned().fold(f64::INFINITY, f64::min);
    let best_other = others.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    assert!(worst_bi > best_other, "bi-encoder {bi:?}, others {others:?} (seed 42)");
    let (flat_bi, flat_others) = per_round(poq_core::reward::EvaluatorScaling::Flat);
    let gap = |b: &[f64], o: &[f64]| b.iter().sum::<f64>() / 3.0 - o.iter().sum::<f64>() / 9.0;
    assert!(
        gap(&bi, &others) > gap(&flat_bi, &flat_others),
        "trust-scaled gap {} vs flat {}",
        gap(&bi, &others),
        gap(&flat_bi, &flat_others)
    );
}

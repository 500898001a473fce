//! Tests of `poq_sim::audit`.

use poq_core::Task;
use poq_sim::audit::audit;
use poq_sim::replay::LogRecord;
use std::collections::BTreeMap;

fn rec(task: Task, node: &str, f1: f64, rl: f64, latency: f64, scores: &[(&str, f64, f64)]) -> LogRecord {
    LogRecord {
        prompt_id: "p".into(),
        task,
        node: node.into(),
        output: "o".into(),
        latency_ms: latency,
        gt_f1: f1,
        gt_rouge_l: rl,
        scores: scores
            .iter()
            .map(|(n, s, _)| (n.to_string(), *s))
            .collect::<BTreeMap<_, _>>(),
        eval_latency_ms: scores.iter().map(|(n, _, l)| (n.to_string(), *l)).collect(),
        failures: BTreeMap::new(),
        prompt_tokens: None,
        completion_tokens: None,
    }
}

#[test]
fn audit_by_hand() {
    let mut records = Vec::new();
    for (i, f1) in [0.1, 0.4, 0.5, 0.9].iter().enumerate() {
        // "good" tracks F1 exactly, "inverted" mirrors it; on summarization "good" inverts.
        records.push(rec(
            Task::Qa,
            "m1",
            *f1,
            0.5,
            100.0 + i as f64,
            &[("good", 10.0 * f1, 10.0), ("inverted", 10.0 - 10.0 * f1, 30.0)],
        ));
        records.push(rec(
            Task::Summarization,
            "m2",
            0.5,
            *f1,
            300.0,
            &[("good", 10.0 - 10.0 * f1, 20.0)],
        ));
    }
    let a = audit(&records);
    let find = |task: Task, e: &str| {
        a.evaluators
            .iter()
            .find(|x| x.task == task && x.evaluator == e)
            .expect("row")
    };
    let good = find(Task::Qa, "good");
    assert_eq!(good.n, 4);
    assert!((good.pearson_f1.expect("defined") - 1.0).abs() < 1e-12);
    assert!((good.spearman_f1.expect("defined") - 1.0).abs() < 1e-12);
    // ROUGE-L is constant on QA here: no correlation is defined.
    assert_eq!(good.pearson_rouge_l, None);
    assert_eq!(good.mean_latency_ms, 10.0);
    assert!((find(Task::Qa, "inverted").pearson_f1.expect("defined") + 1.0).abs() < 1e-12);
    assert!((find(Task::Summarization, "good").pearson_rouge_l.expect("defined") + 1.0).abs() < 1e-12);
    let m1 = a.models.iter().find(|m| m.model == "m1").expect("m1");
    // mean F1 = (0.1 + 0.4 + 0.5 + 0.9) / 4 = 0.475; latency (100 + 101 + 102 + 103) / 4.
    assert!((m1.mean_f1 - 0.475).abs() < 1e-12);
    assert_eq!(m1.mean_latency_ms, 101.5);
    assert_eq!(a.models.len(), 2);
    // Rows sort by task then name, and the task is spelled as the logs spell it.
    let json = serde_json::to_value(&a).expect("json");
    assert_eq!(json["evaluators"][0]["task"], "qa");
    assert_eq!(json["evaluators"][0]["evaluator"], "good");
    assert_eq!(json["models"][1]["task"], "summarization");
    assert!(records.iter().all(|r| r.check().is_ok()));
}

//! Tests of `poq_ml::collect`: a real model, real evaluators, resumption.

use poq_core::Task;
use poq_core::scorer::{Lexical, Overlap, Scorer};
use poq_ml::MlError;
use poq_ml::collect::{
    CollectPlan, Progress, QA_MAX_TOKENS, SUMMARIZATION_MAX_TOKENS, Workload, collect, done_pairs, load_prompts,
    qa_prompts,
};
use poq_ml::gguf::GgufChat;
use poq_ml::llm::{GenerationParams, Generator};
use poq_ml::registry::{EvaluatorName, ModelName};
use std::path::PathBuf;

fn smollm() -> GgufChat {
    let path = match std::env::var_os("POQ_SMOLLM_GGUF") {
        Some(p) => PathBuf::from(p),
        None => poq_ml::fetch::fetch_model("smollm2-135m-instruct", &poq_ml::fetch::default_cache_dir())
            .unwrap()
            .join("SmolLM2-135M-Instruct.Q4_1.gguf"),
    };
    let mut m = GgufChat::load(&path).unwrap();
    m.set_name("smollm2-135m-instruct");
    m
}

#[test]
fn collect_writes_replayable_records_and_resumes() {
    let dir = std::env::temp_dir().join(format!("poq-ml-collect-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("logs.jsonl");
    let prompts = qa_prompts(&poq_ml::data::project_qa().unwrap()[..2]);
    let mut models: Vec<Box<dyn Generator + Send>> = vec![Box::new(smollm())];
    let mut evaluators: Vec<Box<dyn Scorer + Send>> = vec![
        Box::new(Lexical::new(Overlap::TokenF1)),
        Box::new(Lexical::new(Overlap::RougeL)),
    ];
    let params = GenerationParams {
        max_tokens: 8,
        temperature: 0.0,
        seed: Some(0),
    };
    let mut ticks = 0;
    let n = collect(&prompts[..1], &mut models, &mut evaluators, &params, &out, &mut || {
        ticks += 1
    })
    .unwrap();
    assert_eq!((n, ticks), (1, 1));
    // A crash mid-write leaves half a line: it is dropped, the finished record kept.
    let mut text = std::fs::read_to_string(&out).unwrap();
    text.push_str("{\"prompt_id\": \"poq-qa-0002\", \"no");
    std::fs::write(&out, &text).unwrap();
    assert_eq!(done_pairs(&out).unwrap().len(), 1);
    // Resuming over both prompts writes only the missing one.
    let n = collect(&prompts, &mut models, &mut evaluators, &params, &out, &mut || {}).unwrap();
    assert_eq!(n, 1);
    let records: Vec<serde_json::Value> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 2);
    for (r, p) in records.iter().zip(&prompts) {
        assert_eq!(r["prompt_id"], p.id.as_str());
        assert_eq!(r["node"], "smollm2-135m-instruct");
        // The ground truth is poq-core's metrics against the prompt's references.
        let m = poq_core::metrics::score(r["output"].as_str().unwrap(), &p.references).unwrap();
        assert_eq!(r["gt_f1"].as_f64(), Some(m.f1));
        assert_eq!(r["gt_rougeL"].as_f64(), Some(m.rouge_l));
        assert_eq!(r["scores"].as_object().unwrap().len(), 2);
        assert_eq!(r["eval_latency_ms"].as_object().unwrap().len(), 2);
        assert!(r["latency_ms"].as_f64().unwrap() > 0.0);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn plan_defaults_follow_the_task() {
    let plan = CollectPlan::new(Task::Qa, "out.jsonl");
    assert_eq!(plan.models, ModelName::ALL);
    assert!(!plan.evaluators.contains(&EvaluatorName::CrossEncoder));
    assert_eq!(plan.params().max_tokens, QA_MAX_TOKENS);
    assert_eq!((plan.params().temperature, plan.params().seed), (0.0, Some(0)));
    let mut plan = CollectPlan::new(Task::Summarization, "out.jsonl");
    assert_eq!(plan.params().max_tokens, SUMMARIZATION_MAX_TOKENS);
    plan.max_tokens = Some(5);
    assert_eq!(plan.params().max_tokens, 5);
}

#[test]
fn prompts_load_by_task() {
    let dir = std::env::temp_dir().join(format!("poq-ml-prompts-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let qa = load_prompts(Task::Qa, &Workload::Default, &dir).unwrap();
    assert!(!qa.is_empty() && qa.iter().all(|p| p.task == Task::Qa));
    let file = dir.join("sum.jsonl");
    std::fs::write(
        &file,
        "{\"id\": \"d1\", \"document\": \"A long text.\", \"reference\": \"Short.\"}\n",
    )
    .unwrap();
    let sum = load_prompts(Task::Summarization, &Workload::File(file.clone()), &dir).unwrap();
    assert_eq!(sum.len(), 1);
    assert_eq!((sum[0].task, sum[0].id.as_str()), (Task::Summarization, "d1"));
    assert_eq!(sum[0].references, ["Short."]);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A plan without models runs without loading one: its prompts are counted, nothing is
/// written, and progress is told the (empty) total once. A cross-encoder without its
/// directory is refused before any model is fetched.
#[test]
fn a_plan_checks_its_evaluators_and_reports_progress() {
    let dir = std::env::temp_dir().join(format!("poq-ml-plan-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut plan = CollectPlan::new(Task::Qa, dir.join("logs.jsonl"));
    plan.models.clear();
    plan.evaluators = vec![EvaluatorName::LexicalF1, EvaluatorName::LexicalRougeL];
    plan.limit = Some(3);
    plan.cache = dir.join("cache");
    let mut seen = Vec::new();
    let c = plan.run(&mut |p| seen.push(p)).unwrap();
    assert_eq!((c.written, c.prompts), (0, 3));
    assert_eq!(seen, [Progress { done: 0, total: 0 }]);
    plan.models = ModelName::ALL.to_vec();
    plan.evaluators.push(EvaluatorName::CrossEncoder);
    assert!(matches!(
        plan.run(&mut |_| {}),
        Err(MlError::ModelDirRequired {
            evaluator: "cross-encoder",
            ..
        })
    ));
    assert!(!plan.cache.exists());
    let _ = std::fs::remove_dir_all(&dir);
}

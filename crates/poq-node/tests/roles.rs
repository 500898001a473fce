//! The pieces of the network's roles that are pure: the hashes a receipt signs, how a
//! gateway picks an inference worker, and the synthetic inference backend.

use poq_core::Task;
use poq_ledger::{Hash, Keypair, PublicKey, Receipt, Signature};
use poq_ml::llm::{ChatMessage, GenerationParams, Generator};
use poq_node::content::{Content, Message, answer_hash, prompt_hash, scored_prompt};
use poq_node::gateway::pool::{EXPLORE_EVERY, Pool, Worker};
use poq_node::inference::synthetic::Synthetic;

fn m(role: &str, content: &str) -> Message {
    Message {
        role: role.into(),
        content: content.into(),
    }
}

#[test]
fn the_prompt_hash_binds_every_boundary_and_the_answer_hash_its_bytes() {
    // Moving a byte across the role/content or message boundary changes the hash.
    assert_ne!(prompt_hash(&[m("user", "ab")]), prompt_hash(&[m("usera", "b")]));
    assert_ne!(
        prompt_hash(&[m("user", "a"), m("user", "b")]),
        prompt_hash(&[m("user", "ab")])
    );
    assert_ne!(prompt_hash(&[m("user", "x")]), prompt_hash(&[m("system", "x")]));
    assert_eq!(prompt_hash(&[m("user", "x")]), prompt_hash(&[m("user", "x")]));
    assert_ne!(answer_hash("Paris"), answer_hash("Paris."));
    // A hand-computed preimage: SHA-256 of "poq/answer/v1\0Paris".
    assert_eq!(answer_hash("Paris"), Hash::of("poq/answer/v1", &[b"Paris"]));
    assert_eq!(
        scored_prompt(&[
            m("system", "be brief"),
            m("user", "q1"),
            m("assistant", "a"),
            m("user", "q2")
        ]),
        "q2"
    );
    assert_eq!(scored_prompt(&[m("system", "only")]), "");
}

#[test]
fn content_matches_only_the_receipt_it_was_signed_for() {
    let key = Keypair::from_seed(&[3; 32]);
    let request = Hash::of("test", &[b"r"]);
    let messages = vec![m("user", "What is 2+2?")];
    let receipt = Receipt {
        node: key.public(),
        gateway: PublicKey([9; 32]),
        request,
        prompt: prompt_hash(&messages),
        answer: answer_hash("4"),
        model: "synthetic".into(),
        task: Task::Qa,
        cost: 0.1,
        expires: 10,
        reference: None,
        signature: Signature([0; 64]),
    };
    let c = Content {
        request,
        messages: messages.clone(),
        answer: "4".into(),
        task: Task::Qa,
    };
    assert!(c.matches(&receipt));
    let other_answer = Content {
        answer: "5".into(),
        ..c.clone()
    };
    assert!(!other_answer.matches(&receipt));
    let other_prompt = Content {
        messages: vec![m("user", "What is 2+3?")],
        ..c.clone()
    };
    assert!(!other_prompt.matches(&receipt));
    let other_task = Content {
        task: Task::Summarization,
        ..c.clone()
    };
    assert!(!other_task.matches(&receipt));
    let other_request = Content {
        request: Hash::of("test", &[b"s"]),
        ..c
    };
    assert!(!other_request.matches(&receipt));
}

fn worker(i: u8, model: &str) -> Worker {
    Worker {
        url: format!("http://127.0.0.1:{}", 9000 + u16::from(i)),
        key: PublicKey([i; 32]),
        model: model.into(),
    }
}

#[test]
fn the_pool_picks_by_model_then_reward_and_explores_in_turn() {
    let mut pool = Pool::default();
    assert!(pool.pick(None).is_none());
    pool.upsert(worker(1, "a"));
    pool.upsert(worker(2, "a"));
    pool.upsert(worker(3, "b"));
    pool.upsert(worker(3, "b")); // the same URL again replaces, not adds
    assert_eq!(pool.workers().len(), 3);
    assert_eq!(pool.models(), vec!["a".to_string(), "b".to_string()]);
    assert!(pool.pick(Some("c")).is_none());
    for _ in 0..10 {
        assert_eq!(pool.pick(Some("b")).unwrap().model, "b");
    }
    // Worker 2 earns more per round than worker 1: it is picked, except one request in
    // EXPLORE_EVERY, which goes to the candidates in turn.
    pool.set_history(PublicKey([1; 32]), 0.2);
    pool.set_history(PublicKey([2; 32]), 0.9);
    let picks: Vec<u8> = (0..EXPLORE_EVERY * 10)
        .map(|_| pool.pick(Some("a")).unwrap().key.0[0])
        .collect();
    let ones = picks.iter().filter(|&&k| k == 1).count();
    assert!(ones >= 1 && ones <= picks.len() / EXPLORE_EVERY, "{picks:?}");
    // A worker with no record yet is tried before any with one.
    pool.upsert(worker(4, "a"));
    let next: Vec<u8> = (0..3).map(|_| pool.pick(Some("a")).unwrap().key.0[0]).collect();
    assert!(next.contains(&4), "{next:?}");
}

#[test]
fn the_synthetic_backend_is_deterministic_and_as_good_as_its_quality() {
    let items: Vec<(String, String)> = (0..20)
        .map(|i| (format!("question {i}"), format!("answer {i}")))
        .collect();
    let perfect = Synthetic::new("p", 1.0, items.clone());
    let useless = Synthetic::new("u", 0.0, items.clone());
    let half = Synthetic::new("h", 0.5, items.clone());
    for (q, a) in &items {
        assert_eq!(perfect.answer(q, 0), *a);
        let wrong = useless.answer(q, 0);
        assert_ne!(wrong, *a);
        assert!(
            items.iter().any(|(_, x)| *x == wrong),
            "a wrong answer is another item's"
        );
        assert_eq!(half.answer(q, 7), half.answer(q, 7));
    }
    let right = (0..200u64)
        .filter(|&s| half.answer(&items[s as usize % 20].0, s) == items[s as usize % 20].1)
        .count();
    assert!((60..=140).contains(&right), "quality 0.5 answered {right} of 200 right");
    assert_eq!(perfect.answer("not a question it knows", 0), "I do not know.");
    // Through the Generator trait: the last user message is the prompt.
    let mut g = perfect.clone();
    let out = g
        .generate(
            &[
                ChatMessage {
                    role: "system".into(),
                    content: "be brief".into(),
                },
                ChatMessage {
                    role: "user".into(),
                    content: "question 3".into(),
                },
            ],
            &GenerationParams::default(),
        )
        .unwrap();
    assert_eq!(out.text, "answer 3");
    assert_eq!(out.completion_tokens, Some(2));
}

//! A synthetic devnet under crashes, on loopback: clients send requests through the
//! gateway while a validator, an evaluator process and the gateway are SIGKILLed at
//! random moments (several times each) and restarted. A history checker then compares
//! what the clients were told with every validator's ledger:
//!
//! - each acknowledged round is on every ledger, exactly once (no other round carries
//!   its request), with the outcome the client was told;
//! - no finalized round is lost; every node verifies its store by replay, and all
//!   digests agree at a common height;
//! - every client request ended, with an answer or an error (a client whose gateway
//!   died got a connection error or a retryable status), none hung;
//! - the boosting evaluators end below every honest evaluator in trust.
//!
//! `POQ_FAULT_REQUESTS` (default 200) and `POQ_FAULT_SEED` (default 1) set the load and
//! the seed of the kill schedule; the seed is printed on failure.

use poq_core::rng::{Xoshiro256PlusPlus, below};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(timeout))
        .build()
        .new_agent()
}

fn get_json(url: &str) -> Option<Value> {
    let mut r = agent(Duration::from_secs(10)).get(url).call().ok()?;
    if r.status().as_u16() != 200 {
        return None;
    }
    serde_json::from_str(&r.body_mut().read_to_string().ok()?).ok()
}

struct Proc {
    name: String,
    args: Vec<String>,
    child: Child,
}

/// A temporary directory removed at the end unless the test failed (its logs are then
/// kept for the reader, at the path the failure names).
struct KeepOnPanic(Option<tempfile::TempDir>);

impl Drop for KeepOnPanic {
    fn drop(&mut self) {
        if std::thread::panicking()
            && let Some(d) = self.0.take()
        {
            let _ = d.keep();
        }
    }
}

/// Kills every child when dropped, so a failing test leaves no process behind.
struct Procs(Arc<Mutex<Vec<Proc>>>);

impl Drop for Procs {
    fn drop(&mut self) {
        let mut ps = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        for p in ps.iter_mut() {
            let _ = p.child.kill();
            let _ = p.child.wait();
        }
    }
}

fn spawn(dir: &Path, name: &str, args: &[String]) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("logs").join(format!("{name}.log")))
        .unwrap();
    Command::new(env!("CARGO_BIN_EXE_poq"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .env("POQ_LOG", "warn,poq_node=info,poq=info")
        .spawn()
        .unwrap()
}

fn sigterm(c: &mut Child) {
    use nix::sys::signal::{Signal, kill};
    let _ = kill(nix::unistd::Pid::from_raw(c.id() as i32), Signal::SIGTERM);
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = c.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = c.kill();
    let _ = c.wait();
}

/// What one client was told.
#[derive(Debug, Clone)]
struct Told {
    started: Instant,
    http: Option<u16>,
    round: Option<u64>,
    request: Option<String>,
    status: Option<String>,
    consensus: Option<f64>,
    error: Option<String>,
    seconds: f64,
}

fn ask(url: &str, prompt: &str) -> Told {
    let body = json!({"messages": [{"role": "user", "content": prompt}], "max_tokens": 32,
                      "poq": {"wait": true, "timeout_ms": 20000}});
    let start = Instant::now();
    let r = agent(Duration::from_secs(90))
        .post(&format!("{url}/v1/chat/completions"))
        .header("content-type", "application/json")
        .send(&body.to_string());
    let mut t = Told {
        started: start,
        http: None,
        round: None,
        request: None,
        status: None,
        consensus: None,
        error: None,
        seconds: 0.0,
    };
    match r {
        Ok(mut resp) => {
            t.http = Some(resp.status().as_u16());
            let v: Value = resp
                .body_mut()
                .read_to_string()
                .ok()
                .and_then(|s| serde_json::from_str(&s).ok())
                .unwrap_or_default();
            t.round = v["poq"]["round"].as_u64();
            t.request = v["poq"]["request"].as_str().map(str::to_string);
            t.status = v["poq"]["status"].as_str().map(str::to_string);
            t.consensus = v["poq"]["consensus"].as_f64();
            t.error = v["error"]["message"].as_str().map(str::to_string);
        }
        Err(e) => t.error = Some(e.to_string()),
    }
    t.seconds = start.elapsed().as_secs_f64();
    t
}

/// Every round on a node's ledger, newest first, paging with `before`.
fn all_rounds(api: &str) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    let mut before: Option<u64> = None;
    loop {
        let url = match before {
            Some(b) => format!("{api}/v1/poq/rounds?limit=500&before={b}"),
            None => format!("{api}/v1/poq/rounds?limit=500"),
        };
        let page = get_json(&url)
            .and_then(|v| v.as_array().cloned())
            .expect("a page of rounds");
        let Some(last) = page.last() else { break };
        before = last["round"].as_u64();
        let n = page.len();
        out.extend(page);
        if n < 500 {
            break;
        }
    }
    out
}

#[test]
fn acknowledged_rounds_survive_crashes_of_every_role() {
    let seed = env_u64("POQ_FAULT_SEED", 1);
    let requests = env_u64("POQ_FAULT_REQUESTS", 200) as usize;
    let tmp = KeepOnPanic(Some(tempfile::tempdir().unwrap()));
    let dir: PathBuf = tmp.0.as_ref().unwrap().path().join("net");
    let st = Command::new(env!("CARGO_BIN_EXE_poq"))
        .args([
            "devnet",
            "--dir",
            dir.to_str().unwrap(),
            "--synthetic",
            "--seed",
            "9",
            "--init-only",
        ])
        .status()
        .unwrap();
    assert!(st.success());
    let devnet: Value = serde_json::from_slice(&std::fs::read(dir.join("devnet.json")).unwrap()).unwrap();
    let gateway = devnet["gateway"].as_str().unwrap().to_string();
    let apis: Vec<String> = devnet["apis"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    let labels: BTreeMap<String, String> = serde_json::from_value(devnet["labels"].clone()).unwrap();
    let procs: Arc<Mutex<Vec<Proc>>> = Arc::new(Mutex::new(
        devnet["children"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                let name = c["name"].as_str().unwrap().to_string();
                let args: Vec<String> = serde_json::from_value(c["args"].clone()).unwrap();
                let child = spawn(&dir, &name, &args);
                Proc { name, args, child }
            })
            .collect(),
    ));
    let _guard = Procs(procs.clone());
    // Ready: the gateway is healthy (it reached a ledger node and knows a worker).
    let deadline = Instant::now() + Duration::from_secs(120);
    while get_json(&format!("{gateway}/health")).is_none() {
        assert!(
            Instant::now() < deadline,
            "the devnet did not come up (seed {seed}; logs in {})",
            dir.display()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let items = poq_ml::data::project_qa().unwrap();
    let prompts: Vec<String> = poq_ml::collect::qa_prompts(&items)
        .into_iter()
        .map(|p| p.instruction)
        .collect();

    // The chaos: SIGKILL then restart, one process at a time (so at most one validator
    // of four is down), three times each for a validator, an evaluator process and the
    // gateway, in a seeded order at seeded moments.
    let done = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicUsize::new(0));
    let chaos = {
        let procs = procs.clone();
        let done = done.clone();
        let sent = sent.clone();
        let dir = dir.clone();
        std::thread::spawn(move || {
            let mut rng = Xoshiro256PlusPlus::from_u64(seed);
            let mut plan: Vec<&str> = ["validator", "evaluators", "gateway"]
                .iter()
                .flat_map(|r| [*r; 3])
                .collect();
            // A seeded shuffle.
            for i in (1..plan.len()).rev() {
                plan.swap(i, below(&mut rng, i as u64 + 1) as usize);
            }
            let mut kills = Vec::new();
            for (k, role) in plan.into_iter().enumerate() {
                // Spread the kills over the run: kill k after k/10 of the requests.
                while sent.load(Ordering::Relaxed) < requests * k / 10 + below(&mut rng, 5) as usize {
                    if done.load(Ordering::Relaxed) {
                        return kills;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                std::thread::sleep(Duration::from_millis(below(&mut rng, 800)));
                let mut ps = procs.lock().unwrap();
                let candidates: Vec<usize> = ps
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| p.name.starts_with(role))
                    .map(|(i, _)| i)
                    .collect();
                let i = candidates[below(&mut rng, candidates.len() as u64) as usize];
                let killed = Instant::now();
                let _ = ps[i].child.kill();
                let _ = ps[i].child.wait();
                drop(ps);
                std::thread::sleep(Duration::from_millis(300 + below(&mut rng, 1200)));
                let mut ps = procs.lock().unwrap();
                let (name, args) = (ps[i].name.clone(), ps[i].args.clone());
                ps[i].child = spawn(&dir, &name, &args);
                kills.push((name, killed, Instant::now()));
            }
            kills
        })
    };
    // The clients: four at once.
    let told: Arc<Mutex<Vec<Told>>> = Arc::new(Mutex::new(Vec::new()));
    let next = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let (told, next, sent, gateway, prompts) = (
                told.clone(),
                next.clone(),
                sent.clone(),
                gateway.clone(),
                prompts.clone(),
            );
            std::thread::spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= requests {
                        break;
                    }
                    let t = ask(&gateway, &prompts[i % prompts.len()]);
                    sent.fetch_add(1, Ordering::Relaxed);
                    let failed = t.http != Some(200);
                    told.lock().unwrap().push(t);
                    if failed {
                        // A client backs off before its next request, as real ones do.
                        std::thread::sleep(Duration::from_millis(300));
                    }
                }
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap();
    }
    done.store(true, Ordering::Relaxed);
    let kills = chaos.join().unwrap();
    let told = told.lock().unwrap().clone();
    // A gateway outage: from its kill until a few seconds after its restart (it starts,
    // finds a ledger node and its workers).
    let outages: Vec<(Instant, Instant)> = kills
        .iter()
        .filter(|(name, _, _)| name == "gateway")
        .map(|(_, k, r)| (*k, *r + Duration::from_secs(5)))
        .collect();
    let kills: Vec<String> = kills.into_iter().map(|(n, _, _)| n).collect();
    let ctx = format!("seed {seed}, kills {kills:?}, logs in {}", dir.display());
    assert_eq!(told.len(), requests);
    assert!(kills.len() >= 6, "only {} kills happened ({ctx})", kills.len());
    // Nobody hung: every request ended with an answer or an error within the bound.
    for t in &told {
        assert!(t.seconds < 90.0, "a request took {} s ({ctx})", t.seconds);
        let ended = t.started + Duration::from_secs_f64(t.seconds);
        let in_outage = outages.iter().any(|(a, b)| t.started <= *b && ended >= *a);
        match t.http {
            Some(200) => assert!(t.request.is_some(), "an answer without a request id ({ctx})"),
            // Only a client whose gateway died may get an error, and then a retryable one.
            Some(s) => assert!(
                in_outage && [502, 503, 504].contains(&s),
                "status {s} (during a gateway outage: {in_outage}): {:?} ({ctx})",
                t.error
            ),
            None => assert!(
                in_outage && t.error.is_some(),
                "a connection error outside a gateway outage: {:?} ({ctx})",
                t.error
            ),
        }
    }
    let acknowledged: Vec<&Told> = told.iter().filter(|t| t.round.is_some()).collect();
    assert!(
        acknowledged.len() >= requests / 2,
        "only {} of {requests} requests were acknowledged; the first: {:?} ({ctx})",
        acknowledged.len(),
        &told[..3]
    );

    // Let open rounds close (their windows are 40 + 20 blocks), then read every ledger.
    let max_round = acknowledged.iter().filter_map(|t| t.round).max().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let settled = apis.iter().all(|a| {
            get_json(&format!("{a}/v1/poq/status")).is_some_and(|s| s["open_rounds"] == 0)
                && get_json(&format!("{a}/v1/poq/rounds/{max_round}")).is_some_and(|r| r["status"] != "pending")
        });
        if settled {
            break;
        }
        assert!(Instant::now() < deadline, "rounds did not settle within 60 s ({ctx})");
        std::thread::sleep(Duration::from_millis(300));
    }
    let ledgers: Vec<Vec<Value>> = apis.iter().map(|a| all_rounds(a)).collect();
    for (api, rounds) in apis.iter().zip(&ledgers) {
        // Exactly once: no two rounds carry one request.
        let requests: Vec<&str> = rounds
            .iter()
            .map(|r| r["receipt"]["request"].as_str().unwrap())
            .collect();
        let distinct: BTreeSet<&str> = requests.iter().copied().collect();
        assert_eq!(distinct.len(), requests.len(), "{api} holds a request twice ({ctx})");
        let by_id: BTreeMap<u64, &Value> = rounds.iter().map(|r| (r["round"].as_u64().unwrap(), r)).collect();
        for t in &acknowledged {
            let id = t.round.unwrap();
            let r = by_id
                .get(&id)
                .unwrap_or_else(|| panic!("{api} lost acknowledged round {id} ({ctx})"));
            assert_eq!(
                r["receipt"]["request"].as_str(),
                t.request.as_deref(),
                "round {id} on {api} ({ctx})"
            );
            match t.status.as_deref() {
                Some("finalized") => {
                    assert_eq!(r["status"], "finalized", "round {id} on {api} ({ctx})");
                    assert_eq!(
                        r["outcome"]["consensus"].as_f64(),
                        t.consensus,
                        "round {id} on {api} ({ctx})"
                    );
                }
                Some("expired") => assert_eq!(r["status"], "expired", "round {id} on {api} ({ctx})"),
                _ => assert_ne!(r["status"], "pending", "round {id} on {api} never closed ({ctx})"),
            }
        }
    }
    // Every node holds the same rounds with the same outcomes.
    for other in &ledgers[1..] {
        let strip = |v: &Vec<Value>| -> Vec<(Value, Value, Value)> {
            v.iter()
                .map(|r| (r["round"].clone(), r["status"].clone(), r["outcome"].clone()))
                .collect()
        };
        assert_eq!(strip(other), strip(&ledgers[0]), "ledgers disagree on rounds ({ctx})");
    }
    // Trust: the boosting evaluators end below every honest one.
    let nodes = get_json(&format!("{}/v1/poq/nodes", apis[0])).unwrap();
    let trust = |prefix: &str| -> Vec<f64> {
        nodes
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| {
                labels
                    .get(n["key"].as_str().unwrap())
                    .is_some_and(|l| l.starts_with(prefix))
            })
            .map(|n| n["trust"]["qa"].as_f64().unwrap())
            .collect()
    };
    let (honest, malicious) = (trust("honest"), trust("malicious"));
    assert!(
        malicious.iter().copied().fold(0.0, f64::max) < honest.iter().copied().fold(f64::INFINITY, f64::min),
        "malicious {malicious:?} vs honest {honest:?} ({ctx})"
    );
    // Stop everything, then every store verifies by replay and agrees at a common height.
    for p in procs.lock().unwrap().iter_mut() {
        sigterm(&mut p.child);
    }
    let verify = |i: usize, at: Option<u64>| -> Value {
        let d = dir.join(format!("validator-{i}"));
        let mut args = vec![
            "node".to_string(),
            "verify".into(),
            "--dir".into(),
            d.display().to_string(),
        ];
        if let Some(h) = at {
            args.extend(["--at-height".into(), h.to_string()]);
        }
        let out = Command::new(env!("CARGO_BIN_EXE_poq")).args(&args).output().unwrap();
        assert!(
            out.status.success(),
            "verify validator-{i}: {} ({ctx})",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let heights: Vec<u64> = (0..apis.len())
        .map(|i| verify(i, None)["height"].as_u64().unwrap())
        .collect();
    let common = *heights.iter().min().unwrap();
    let digests: BTreeSet<String> = (0..apis.len())
        .map(|i| verify(i, Some(common))["digest_at"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        digests.len(),
        1,
        "digests differ at height {common}: {digests:?} ({ctx})"
    );
    eprintln!(
        "faults: {requests} requests, {} acknowledged, kills {kills:?}, common height {common}, seed {seed}",
        acknowledged.len()
    );
}

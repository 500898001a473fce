//! `poq devnet --synthetic` as real processes on 127.0.0.1, through its gateway's HTTP
//! API with a real HTTP client: an OpenAI chat completion that waits for its round and
//! carries the proof (committee, consensus, rewards, the signed receipt); the round as
//! the ledger holds it (every signed commit and reveal); streaming; OpenAI-style errors;
//! models, health, metrics and the dashboard; malicious (boosting) evaluators ending
//! below every honest one in trust; a clean stop on SIGTERM; and a second run on the
//! same directory resuming the same ledger.

use serde_json::{Value, json};
use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

struct Devnet {
    child: Child,
    url: String,
}

/// Stops the devnet (SIGTERM: it stops its children) if the test ends without
/// [`stop`], so a failing assertion leaves no process behind.
impl Drop for Devnet {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            use nix::sys::signal::{Signal, kill};
            let _ = kill(nix::unistd::Pid::from_raw(self.child.id() as i32), Signal::SIGTERM);
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline && matches!(self.child.try_wait(), Ok(None)) {
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn start(dir: &Path) -> Devnet {
    let mut child = Command::new(env!("CARGO_BIN_EXE_poq"))
        .args(["devnet", "--dir", dir.to_str().unwrap(), "--synthetic", "--seed", "5"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start poq devnet");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(u) = line.strip_prefix("gateway: ") {
                let _ = tx.send(u.to_string());
            }
        }
    });
    match rx.recv_timeout(Duration::from_secs(180)) {
        Ok(url) => Devnet { child, url },
        Err(_) => {
            // Dropping it stops it and its children.
            drop(Devnet {
                child,
                url: String::new(),
            });
            panic!(
                "the devnet printed no gateway line within 180 s (logs in {})",
                dir.display()
            );
        }
    }
}

fn stop(d: Devnet) {
    let mut d = d;
    use nix::sys::signal::{Signal, kill};
    kill(nix::unistd::Pid::from_raw(d.child.id() as i32), Signal::SIGTERM).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = d.child.try_wait().unwrap() {
            assert!(status.success(), "the devnet exited with {status} on SIGTERM");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the devnet did not stop within 30 s of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Every child stopped with it: the gateway's port is closed.
    assert!(
        agent().get(&format!("{}/health", d.url)).call().is_err(),
        "the gateway still answers after the stop"
    );
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(120)))
        .build()
        .new_agent()
}

fn get(url: &str) -> (u16, String) {
    let mut r = agent().get(url).call().expect("GET");
    (r.status().as_u16(), r.body_mut().read_to_string().unwrap())
}

fn post(url: &str, body: &str) -> (u16, String) {
    let mut r = agent()
        .post(url)
        .header("content-type", "application/json")
        .send(body)
        .expect("POST");
    (r.status().as_u16(), r.body_mut().read_to_string().unwrap())
}

fn chat(url: &str, prompt: &str) -> Value {
    let body = json!({"messages": [{"role": "user", "content": prompt}], "max_tokens": 32,
                      "poq": {"wait": true, "timeout_ms": 60000}});
    let (status, text) = post(&format!("{url}/v1/chat/completions"), &body.to_string());
    assert_eq!(status, 200, "{text}");
    serde_json::from_str(&text).unwrap()
}

fn prompts() -> Vec<String> {
    let items = poq_ml::data::project_qa().unwrap();
    poq_ml::collect::qa_prompts(&items)
        .into_iter()
        .map(|p| p.instruction)
        .collect()
}

/// Debian's chromium, installed with apt-get when it is missing.
fn chromium() -> String {
    for c in ["chromium", "chromium-browser"] {
        if Command::new(c)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
        {
            return c.to_string();
        }
    }
    let install = |args: &[&str]| {
        Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .is_ok_and(|s| s.success())
    };
    let ok = install(&["install", "-y", "--no-install-recommends", "chromium"])
        || (install(&["update"]) && install(&["install", "-y", "--no-install-recommends", "chromium"]));
    assert!(
        ok,
        "chromium is missing and `apt-get install chromium` failed: install it to run the dashboard test"
    );
    "chromium".to_string()
}

/// The dashboard in a real headless browser: it loads, runs its script without an
/// error, and shows the rounds; a screenshot is kept in the test's output directory.
fn dashboard_in_chromium(url: &str) {
    let browser = chromium();
    let out = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let profile = tempfile::tempdir().unwrap();
    let common = |extra: &[String]| {
        let mut args: Vec<String> = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--enable-logging=stderr",
            "--virtual-time-budget=4000",
            "--window-size=1400,1000",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        args.extend_from_slice(extra);
        args.push(format!("{url}/"));
        let o = Command::new(&browser).args(&args).output().expect("run chromium");
        assert!(
            o.status.success(),
            "chromium failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        o
    };
    let dom = common(&["--dump-dom".to_string()]);
    let html = String::from_utf8_lossy(&dom.stdout);
    let stderr = String::from_utf8_lossy(&dom.stderr);
    assert!(!stderr.contains("Uncaught"), "the page threw: {stderr}");
    assert!(html.contains("data-errors=\"0\""), "the page counted errors: {html}");
    assert!(html.contains("data-refreshed="), "the page never refreshed: {html}");
    let shown = html.matches("data-round=").count();
    assert!(shown >= 5, "the page shows {shown} rounds: {html}");
    assert!(
        html.contains("malicious: boosting"),
        "the page does not tell malicious evaluators apart"
    );
    let shot = out.join("dashboard.png");
    common(&[format!("--screenshot={}", shot.display())]);
    let bytes = std::fs::read(&shot).expect("the screenshot");
    assert!(
        bytes.starts_with(b"\x89PNG") && bytes.len() > 10_000,
        "the screenshot is not a picture"
    );
    eprintln!("dashboard screenshot: {}", shot.display());
}

#[test]
fn devnet_serves_openai_with_proof_and_resumes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("net");
    let d = start(&dir);
    let url = d.url.clone();
    let prompts = prompts();

    // A completion that waited for its round.
    let v = chat(&url, &prompts[0]);
    assert_eq!(v["object"], "chat.completion");
    assert!(
        v["choices"][0]["message"]["content"]
            .as_str()
            .is_some_and(|s| !s.is_empty())
    );
    assert!(v["usage"]["total_tokens"].as_u64().is_some());
    let p = &v["poq"];
    assert_eq!(p["status"], "finalized", "{p}");
    let round = p["round"].as_u64().expect("a round id");
    assert_eq!(p["committee"].as_array().map(Vec::len), Some(7));
    let consensus = p["consensus"].as_f64().expect("a consensus");
    assert!((0.0..=10.0).contains(&consensus));
    assert!(p["rewards"].as_array().is_some_and(|r| !r.is_empty()));
    assert_eq!(p["receipt"]["request"], p["request"]);

    // The round as the ledger holds it: its signed commits and reveals.
    let (s, text) = get(&format!("{url}/v1/poq/rounds/{round}"));
    assert_eq!(s, 200, "{text}");
    let r: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(r["status"], "finalized");
    assert_eq!(r["outcome"]["consensus"].as_f64(), Some(consensus));
    let txs = r["txs"].as_array().unwrap();
    let kinds = |k: &str| txs.iter().filter(|t| t["tx"]["body"]["kind"] == k).count();
    let reports = r["outcome"]["reports"].as_array().unwrap().len();
    assert_eq!(kinds("reveal"), reports, "one accepted reveal per report");
    assert!(kinds("commit") >= reports);
    assert!(
        txs.iter()
            .all(|t| t["tx"]["signature"].as_str().is_some_and(|s| s.len() == 128))
    );

    // Streaming: chunks, then poq on a chunk with empty choices, then [DONE].
    let body = json!({"messages": [{"role": "user", "content": prompts[1]}], "stream": true, "poq": {"wait": true}});
    let (s, text) = post(&format!("{url}/v1/chat/completions"), &body.to_string());
    assert_eq!(s, 200);
    let data: Vec<&str> = text.lines().filter_map(|l| l.strip_prefix("data: ")).collect();
    assert_eq!(data.last(), Some(&"[DONE]"), "{text}");
    let last: Value = serde_json::from_str(data[data.len() - 2]).unwrap();
    assert_eq!(last["choices"], json!([]));
    assert_eq!(last["poq"]["status"], "finalized", "{last}");
    let streamed: String = data[..data.len() - 2]
        .iter()
        .map(|d| serde_json::from_str::<Value>(d).unwrap())
        .inspect(|c| assert_eq!(c["object"], "chat.completion.chunk"))
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str().map(str::to_string))
        .collect();
    assert!(!streamed.is_empty());

    // OpenAI-style errors.
    let chat_url = format!("{url}/v1/chat/completions");
    let err = |s: u16, text: &str, code: &str| {
        let v: Value = serde_json::from_str(text).unwrap_or_else(|_| panic!("not JSON: {text}"));
        assert_eq!(v["error"]["code"], code, "{text}");
        assert!(v["error"]["message"].as_str().is_some_and(|m| !m.is_empty()));
        s
    };
    let (s, t) = post(&chat_url, "{not json");
    assert_eq!(err(s, &t, "malformed"), 400);
    let (s, t) = post(
        &chat_url,
        r#"{"model": "gpt-17", "messages": [{"role": "user", "content": "hi"}]}"#,
    );
    assert_eq!(err(s, &t, "model_not_found"), 404);
    let (s, t) = post(
        &chat_url,
        r#"{"messages": [{"role": "user", "content": "hi"}], "max_tokens": 1000000}"#,
    );
    assert_eq!(err(s, &t, "max_tokens"), 400);
    let (s, t) = post(&chat_url, r#"{"messages": []}"#);
    assert_eq!(err(s, &t, "messages"), 400);
    let big = format!(
        r#"{{"messages": [{{"role": "user", "content": "{}"}}]}}"#,
        "a".repeat((1 << 20) + 1024)
    );
    let (s, t) = post(&chat_url, &big);
    assert_eq!(err(s, &t, "body_too_large"), 413);
    let (s, t) = get(&format!("{url}/v1/poq/rounds/abc"));
    assert_eq!(err(s, &t, "bad_round_id"), 400);
    let (s, t) = get(&format!("{url}/v1/poq/rounds/999999"));
    assert_eq!(err(s, &t, "unknown_round"), 404);

    // Models, health, metrics, the dashboard.
    let (_, t) = get(&format!("{url}/v1/models"));
    assert!(t.contains("\"synthetic\""), "{t}");
    assert_eq!(get(&format!("{url}/health")), (200, r#"{"status":"ok"}"#.to_string()));
    let (s, m) = get(&format!("{url}/metrics"));
    assert_eq!(s, 200);
    for name in [
        "poq_gateway_requests_total",
        "poq_ledger_height",
        "poq_gateway_request_seconds_bucket",
        "poq_ledger_rounds_finalized",
    ] {
        assert!(m.contains(name), "/metrics lacks {name}:\n{m}");
    }
    let (s, page) = get(&format!("{url}/"));
    assert_eq!(s, 200);
    assert!(page.contains("<canvas id=\"trust\""));

    // More rounds, four clients at once: the boosting evaluators fall below every
    // honest one.
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let url = url.clone();
            let prompts = prompts.clone();
            std::thread::spawn(move || {
                for i in 0..10 {
                    chat(&url, &prompts[(2 + t * 10 + i) % prompts.len()]);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let (_, t) = get(&format!("{url}/v1/poq/nodes"));
    let nodes: Vec<Value> = serde_json::from_str(&t).unwrap();
    let trust = |label: &str| -> Vec<f64> {
        nodes
            .iter()
            .filter(|n| n["label"].as_str().is_some_and(|l| l.starts_with(label)))
            .map(|n| n["trust"]["qa"].as_f64().unwrap())
            .collect()
    };
    let (honest, malicious) = (trust("honest"), trust("malicious"));
    assert_eq!((honest.len(), malicious.len()), (9, 3));
    let worst_honest = honest.iter().copied().fold(f64::INFINITY, f64::min);
    let best_malicious = malicious.iter().copied().fold(0.0, f64::max);
    assert!(
        best_malicious < worst_honest,
        "malicious {malicious:?} vs honest {honest:?}"
    );
    dashboard_in_chromium(&url);
    let (_, t) = get(&format!("{url}/v1/poq/status"));
    let height = serde_json::from_str::<Value>(&t).unwrap()["height"].as_u64().unwrap();
    stop(d);

    // A second run resumes the same ledger.
    let d = start(&dir);
    assert_eq!(d.url, url, "the resumed devnet serves on the same port");
    let (_, t) = get(&format!("{url}/v1/poq/status"));
    assert!(serde_json::from_str::<Value>(&t).unwrap()["height"].as_u64().unwrap() >= height);
    let (s, text) = get(&format!("{url}/v1/poq/rounds/{round}"));
    assert_eq!(s, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap()["outcome"]["consensus"].as_f64(),
        Some(consensus)
    );
    let v = chat(&url, &prompts[3]);
    assert_eq!(v["poq"]["status"], "finalized");
    stop(d);
}

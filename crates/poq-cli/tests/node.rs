//! `poq node` as real processes on 127.0.0.1: a crash loop (SIGKILL at random moments,
//! then the store reopens, nothing finalized is lost and a replay of its blocks gives its
//! digest), four validators agreeing, and the exit codes of bad configurations, stores
//! and ports. `POQ_CRASH_LOOPS=N` sets the crash loop's iterations (default 6),
//! `POQ_CRASH_SEED` its seed (default 1).

use std::io::{BufRead as _, BufReader};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn poq(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_poq"))
        .args(args)
        .env("POQ_LOG", "warn,poq_node=info")
        .output()
        .expect("run poq")
}

/// A port nobody listens on now (the kernel's choice), and the next `n - 1`.
fn free_ports(n: u16) -> u16 {
    for _ in 0..50 {
        let base = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        if base.checked_add(n).is_none() {
            continue;
        }
        if (0..n).all(|i| TcpListener::bind(("127.0.0.1", base + i)).is_ok()) {
            return base;
        }
    }
    panic!("no {n} free consecutive ports on 127.0.0.1");
}

fn init(dir: &Path, validators: usize, workload: bool) {
    let port = free_ports(validators as u16).to_string();
    let v = validators.to_string();
    let d = dir.to_str().unwrap();
    let mut args = vec![
        "node",
        "init",
        "--dir",
        d,
        "--seed",
        "3",
        "--validators",
        &v,
        "--base-port",
        &port,
        "--byzantine",
        "3",
    ];
    if workload {
        args.extend(["--workload-rounds-per-block", "2"]);
    }
    let o = poq(&args);
    assert!(o.status.success(), "init: {}", String::from_utf8_lossy(&o.stderr));
}

/// Starts `poq node run`; the returned channel yields each height the node logged as
/// applied (it logs a block only after its write transaction committed).
fn spawn_node(dir: &Path, extra: &[&str]) -> (Child, mpsc::Receiver<u64>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_poq"))
        .args(["node", "run", "--dir", dir.to_str().unwrap()])
        .args(extra)
        .env("POQ_LOG", "warn,poq_node=info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn poq node run");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::sync_channel(10_000);
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(h) = line
                .split("block{height=")
                .nth(1)
                .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
                .and_then(|n| n.parse().ok())
                && tx.try_send(h).is_err()
            {
                break;
            }
        }
    });
    (child, rx)
}

fn verify(dir: &Path) -> (u64, String) {
    let o = poq(&["node", "verify", "--dir", dir.to_str().unwrap()]);
    assert!(o.status.success(), "verify: {}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    (v["height"].as_u64().unwrap(), v["digest"].as_str().unwrap().to_string())
}

#[test]
fn a_validator_killed_at_random_moments_loses_nothing_finalized() {
    let loops: u64 = std::env::var("POQ_CRASH_LOOPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(6);
    let seed: u64 = std::env::var("POQ_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let dir = tempfile::tempdir().unwrap();
    init(dir.path(), 1, true);
    let node = dir.path().join("validator-0");
    let mut rng = poq_core::rng::Xoshiro256PlusPlus::from_u64(seed);
    let mut durable = 0;
    for i in 0..loops {
        let (mut child, heights) = spawn_node(&node, &[]);
        // Let it make progress, then kill it at a random moment.
        let started = Instant::now();
        let mut logged = durable;
        while logged < durable + 3 && started.elapsed() < Duration::from_secs(60) {
            if let Ok(h) = heights.recv_timeout(Duration::from_millis(100)) {
                logged = logged.max(h);
            }
        }
        std::thread::sleep(Duration::from_millis(poq_core::rng::below(&mut rng, 400)));
        child.kill().unwrap();
        child.wait().unwrap();
        while let Ok(h) = heights.try_recv() {
            logged = logged.max(h);
        }
        let (height, _) = verify(&node);
        assert!(
            height >= logged,
            "seed {seed}, iteration {i}: the node logged height {logged} as applied, the store has {height}"
        );
        assert!(
            height >= durable,
            "seed {seed}, iteration {i}: the store went back from {durable} to {height}"
        );
        durable = height;
    }
    assert!(
        durable >= 3 * loops,
        "seed {seed}: only {durable} heights in {loops} runs"
    );
}

#[test]
fn four_validator_processes_finalize_the_same_chain() {
    let dir = tempfile::tempdir().unwrap();
    init(dir.path(), 4, true);
    let children: Vec<_> = (0..4)
        .map(|i| spawn_node(&dir.path().join(format!("validator-{i}")), &["--stop-at-height", "25"]))
        .collect();
    for (mut c, _) in children {
        let started = Instant::now();
        loop {
            if let Some(status) = c.try_wait().unwrap() {
                assert!(status.success(), "a validator failed: {status}");
                break;
            }
            if started.elapsed() > Duration::from_secs(240) {
                c.kill().unwrap();
                panic!("a validator did not reach height 25 in 240 s");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    let results: Vec<(u64, String)> = (0..4)
        .map(|i| verify(&dir.path().join(format!("validator-{i}"))))
        .collect();
    let lowest = results.iter().map(|r| r.0).min().unwrap();
    assert!(lowest >= 25, "{results:?}");
    // Validators may stop a block or two apart: compare their digests at one height.
    let at = lowest.to_string();
    let digests: Vec<String> = (0..4)
        .map(|i| {
            let d = dir.path().join(format!("validator-{i}"));
            let o = poq(&["node", "verify", "--dir", d.to_str().unwrap(), "--at-height", &at]);
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
            v["digest_at"].as_str().unwrap().to_string()
        })
        .collect();
    assert!(
        digests.iter().all(|d| *d == digests[0]),
        "at height {lowest}: {digests:?}"
    );
}

#[test]
fn bad_configurations_stores_and_ports_get_their_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    init(dir.path(), 1, false);
    let node = dir.path().join("validator-0");
    let d = node.to_str().unwrap();
    // No such directory: a configuration error.
    let o = poq(&["node", "run", "--dir", dir.path().join("nope").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
    // A bad value, named in the message.
    let o = poq(&["node", "run", "--dir", d, "--threads", "0"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("threads = 0"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // A configuration that is not TOML.
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "listen = [").unwrap();
    let o = poq(&["node", "run", "--dir", d, "--config", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
    // The address in use.
    let cfg = std::fs::read_to_string(node.join("node.toml")).unwrap();
    let listen = cfg
        .lines()
        .find(|l| l.starts_with("listen"))
        .unwrap()
        .split('"')
        .nth(1)
        .unwrap()
        .to_string();
    {
        let _held = TcpListener::bind(&listen).unwrap();
        let o = poq(&["node", "run", "--dir", d, "--stop-at-height", "1"]);
        assert_eq!(o.status.code(), Some(4), "{}", String::from_utf8_lossy(&o.stderr));
    }
    // A corrupt store.
    std::fs::write(node.join("ledger.redb"), vec![0x42; 4096]).unwrap();
    let o = poq(&["node", "run", "--dir", d, "--stop-at-height", "1"]);
    assert_eq!(o.status.code(), Some(3), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("ledger.redb"));
    // A store missing under `verify`.
    std::fs::remove_file(node.join("ledger.redb")).unwrap();
    let o = poq(&["node", "verify", "--dir", d]);
    assert_eq!(o.status.code(), Some(3), "{}", String::from_utf8_lossy(&o.stderr));
}

//! Integration tests of the `poq` binary: the JSON Lines contracts and the demo.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn poq(args: &[&str], stdin: impl AsRef<[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_poq"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn poq");
    let written = child.stdin.take().expect("stdin").write_all(stdin.as_ref());
    // A command that fails on its arguments exits before reading stdin: a closed pipe
    // is then expected, any other write error is not.
    if let Err(e) = written {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "write stdin: {e}");
    }
    child.wait_with_output().expect("wait for poq")
}

fn lines(o: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each output line is JSON"))
        .collect()
}

#[test]
fn metrics_contract() {
    let o = poq(
        &["metrics"],
        "{\"prediction\": \"the cat sat\", \"references\": [\"a cat sat down\"]}\n\
         {\"prediction\": \"Paris\", \"references\": [\"London\", \"paris!\"]}\n",
    );
    assert!(o.status.success(), "stderr: {}", String::from_utf8_lossy(&o.stderr));
    let out = lines(&o);
    assert_eq!(out.len(), 2);
    // "cat sat" vs "cat sat down": P = 1, R = 2/3, F1 = 0.8; not an exact match.
    assert_eq!(out[0]["f1"], 0.8);
    assert_eq!(out[0]["em"], 0.0);
    // rouge tokens [the cat sat] vs [a cat sat down]: LCS 2, P = 2/3, R = 1/2, F = 4/7.
    assert_eq!(
        out[0]["rougeL"].as_f64(),
        Some(2.0 * (2.0 / 3.0) * 0.5 / (2.0 / 3.0 + 0.5))
    );
    // Max over references: "paris!" normalizes to "paris".
    assert_eq!(out[1]["em"], 1.0);
    for key in ["em", "f1", "rouge1", "rouge2", "rougeL", "rougeLsum"] {
        let v = out[1][key].as_f64().expect(key);
        assert!((0.0..=1.0).contains(&v), "{key} = {v}");
    }
}

#[test]
fn aggregate_contract() {
    let input = "{\"scores\": [1, 2, 9]}\n{\"scores\": [2, 4, 6, 8], \"weights\": [1, 1, 1, 1]}\n";
    let o = poq(&["aggregate", "--rule", "median"], input);
    assert!(o.status.success());
    assert_eq!(
        lines(&o),
        vec![
            serde_json::json!({"consensus": 2.0}),
            serde_json::json!({"consensus": 5.0})
        ]
    );
    let o = poq(
        &["aggregate", "--rule", "weighted-median"],
        "{\"scores\": [2, 4, 6, 8], \"weights\": [1, 1, 1, 1]}\n",
    );
    assert_eq!(lines(&o), vec![serde_json::json!({"consensus": 4.0})]);
    let o = poq(
        &["aggregate", "--rule", "weighted-mean"],
        "{\"scores\": [2, 6], \"weights\": [1, 3]}\n",
    );
    assert_eq!(lines(&o), vec![serde_json::json!({"consensus": 5.0})]);
    let o = poq(
        &["aggregate", "--rule", "trimmed-mean", "--trim", "0.2"],
        "{\"scores\": [10, 0, 3, 1, 2]}\n",
    );
    assert_eq!(lines(&o), vec![serde_json::json!({"consensus": 2.0})]);
}

#[test]
fn a_bad_line_stops_with_exit_2_naming_the_line() {
    let cases: [(&[&str], &str, &str); 6] = [
        (
            &["aggregate", "--rule", "mean"],
            "{\"scores\": [1]}\n{\"scores\": [1, 11]}\n{\"scores\": [2]}\n",
            "line 2",
        ),
        (&["aggregate", "--rule", "mean"], "{\"scores\": []}\n", "line 1"),
        (
            &["aggregate", "--rule", "weighted-mean"],
            "{\"scores\": [1, 2]}\n",
            "needs weights",
        ),
        (
            &["aggregate", "--rule", "weighted-mean"],
            "{\"scores\": [1, 2], \"weights\": [1, -1]}\n",
            "weight #1 is -1",
        ),
        (
            &["metrics"],
            "{\"prediction\": \"x\", \"references\": []}\nnot json\n",
            "line 1",
        ),
        (
            &["metrics"],
            "{\"prediction\": \"x\", \"references\": [\"x\"]}\n\n",
            "line 2",
        ),
    ];
    for (args, input, needle) in cases {
        let o = poq(args, input);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?} {input:?}: stderr {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr:?} lacks {needle:?}");
    }
    // Invalid UTF-8 is a bad line too.
    let o = poq(&["metrics"], b"{\"prediction\": \"\xff\"}\n");
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("line 1: not valid UTF-8"));
    // Lines before the bad one keep their answers.
    let o = poq(
        &["aggregate", "--rule", "mean"],
        "{\"scores\": [1]}\n{\"scores\": [1, 11]}\n",
    );
    assert_eq!(lines(&o), vec![serde_json::json!({"consensus": 1.0})]);
}

#[test]
fn unknown_rule_is_a_usage_error() {
    let o = poq(&["aggregate", "--rule", "avg"], "");
    assert_eq!(o.status.code(), Some(2));
    let o = poq(
        &["aggregate", "--rule", "trimmed-mean", "--trim", "0.6"],
        "{\"scores\": [1]}\n",
    );
    assert_ne!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stderr).contains("0.6"));
}

/// ROC AUC of low trust for the malicious (Mann–Whitney: the share of (malicious,
/// honest) pairs where the malicious evaluator has the lower weight, ties counting
/// half), computed here from the printed weights.
fn auc_of_low_trust(weights: &[f64], malicious: &[bool]) -> Option<f64> {
    let (mut pairs, mut wins) = (0.0, 0.0);
    for (wm, _) in weights.iter().zip(malicious).filter(|(_, m)| **m) {
        for (wh, _) in weights.iter().zip(malicious).filter(|(_, m)| !**m) {
            pairs += 1.0;
            wins += if wm < wh {
                1.0
            } else if wm == wh {
                0.5
            } else {
                0.0
            };
        }
    }
    (pairs > 0.0).then(|| wins / pairs)
}

fn floats(v: &serde_json::Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

/// The demo's headline: ours detects boosters that the published rule cannot see, and
/// the same seed prints the same bytes.
#[test]
fn demo_runs_and_is_deterministic() {
    let args = ["demo", "--rounds", "300", "--seed", "3", "--json"];
    let a = poq(&args, "");
    assert!(a.status.success(), "stderr: {}", String::from_utf8_lossy(&a.stderr));
    let b = poq(&args, "");
    assert_eq!(a.stdout, b.stdout);
    let v: serde_json::Value = serde_json::from_slice(&a.stdout).expect("json");
    assert_eq!(
        (v["scenario"].as_str(), v["seed"].as_u64(), v["rounds"].as_u64()),
        (Some("demo"), Some(3), Some(300))
    );
    assert_eq!((v["evaluators"].as_u64(), v["k"].as_u64()), (Some(12), Some(7)));
    let malicious: Vec<bool> = v["malicious"]
        .as_array()
        .expect("malicious")
        .iter()
        .map(|m| m.as_bool().expect("bool"))
        .collect();
    // round(0.25 × 12) malicious evaluators.
    assert_eq!(malicious.iter().filter(|&&m| m).count(), 3);
    let defenses = v["defenses"].as_array().expect("defenses");
    let names: Vec<&str> = defenses.iter().map(|d| d["defense"].as_str().expect("name")).collect();
    assert_eq!(names, ["published", "median", "ours"]);
    let by_name = |n: &str| defenses.iter().find(|d| d["defense"] == n).expect(n);
    for d in defenses {
        let w = floats(&d["trust_weights"]);
        assert_eq!(w.len(), 12);
        assert_eq!(floats(&d["evaluator_rewards"]).len(), 12);
        assert_eq!(d["inference_reward_per_round"].as_array().map(Vec::len), Some(5));
        assert_eq!(d["malicious"], 3, "{d}");
        // The AUC printed is the AUC of the weights printed.
        match auc_of_low_trust(&w, &malicious) {
            Some(auc) if d["trust"] != "none" => assert_eq!(d["detection_auc"].as_f64(), Some(auc), "{d}"),
            _ => assert!(d["detection_auc"].is_null(), "no trust, nothing to detect: {d}"),
        }
    }
    // The published rule saturates: every weight at w_max (2, the scenario default), so
    // every pair ties and the AUC is exactly chance.
    let published = by_name("published");
    assert!(
        floats(&published["trust_weights"]).iter().all(|&w| w == 2.0),
        "{published}"
    );
    assert_eq!(published["detection_auc"], 0.5, "the published rule saturates");
    assert_eq!(published["malicious_trust_ratio"], 1.0);
    // Ours ranks every booster below every honest evaluator.
    let ours = by_name("ours");
    let w = floats(&ours["trust_weights"]);
    let worst_honest = w
        .iter()
        .zip(&malicious)
        .filter(|(_, m)| !**m)
        .map(|(w, _)| *w)
        .fold(f64::INFINITY, f64::min);
    assert!(
        w.iter()
            .zip(&malicious)
            .filter(|(_, m)| **m)
            .all(|(w, _)| *w < worst_honest),
        "{ours}"
    );
    assert_eq!(ours["detection_auc"], 1.0);
    assert!(ours["pearson"].as_f64() > published["pearson"].as_f64());
    assert!(ours["malicious_trust_ratio"].as_f64().expect("ratio") < 0.5);
    let table = poq(&["demo", "--rounds", "50"], "");
    assert!(table.status.success());
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.contains("detection_auc"), "{text}");
    assert!(
        text.contains("poq sim --scenario scenarios/demo.toml"),
        "the table says how to reproduce it: {text}"
    );
    let bad = poq(&["demo", "--malicious", "1.5"], "");
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("1.5"));
}

/// The demo's three defenses, as `poq sim` names them: (defense, rule, trust).
const DEMO_DEFENSES: [(&str, &str, &str); 3] = [
    ("published", "weighted-mean", "published"),
    ("median", "median", "none"),
    ("ours", "weighted-median", "calibrated"),
];

/// Fields of a demo defense that a `poq sim` row does not have, and the other way round.
const DEMO_ONLY: [&str; 4] = [
    "defense",
    "trust_weights",
    "evaluator_rewards",
    "inference_reward_per_round",
];
const SIM_ONLY: [&str; 3] = ["seed", "scenario", "rounds"];

/// One demo run and what `poq sim` must be told to reproduce it.
struct Reproduce<'a> {
    demo: Vec<&'a str>,
    attack: &'a str,
    rho: &'a str,
    k: &'a str,
    seed: u64,
    rounds: u64,
    /// Extra `poq sim` arguments (the world, for a replay).
    sim: Vec<&'a str>,
}

/// `poq demo --json` and `poq sim --scenario scenarios/demo.toml --json` for each of
/// its defenses print the same numbers: every field they share, compared exactly.
fn assert_sim_reproduces_demo(case: &Reproduce) {
    let mut args = vec!["demo", "--json"];
    args.extend(&case.demo);
    let o = poq(&args, "");
    assert!(o.status.success(), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
    let demo: serde_json::Value = serde_json::from_slice(&o.stdout).expect("demo json");
    assert_eq!(demo["attack"], case.attack, "{args:?}");
    assert_eq!(
        demo["malicious_fraction"].as_f64(),
        case.rho.parse::<f64>().ok(),
        "{args:?}"
    );
    assert_eq!(demo["k"].as_u64(), case.k.parse::<u64>().ok(), "{args:?}");
    assert_eq!(
        (demo["seed"].as_u64(), demo["rounds"].as_u64()),
        (Some(case.seed), Some(case.rounds))
    );
    let defenses = demo["defenses"].as_array().expect("defenses");
    assert_eq!(defenses.len(), DEMO_DEFENSES.len());
    let scenario = repo("scenarios/demo.toml");
    let (seed, rounds) = (case.seed.to_string(), case.rounds.to_string());
    let mut pearsons = Vec::new();
    for ((name, rule, trust), d) in DEMO_DEFENSES.iter().zip(defenses) {
        assert_eq!(
            (&d["defense"], &d["rule"], &d["trust"]),
            (&(*name).into(), &(*rule).into(), &(*trust).into())
        );
        let mut sim = vec![
            "sim",
            "--scenario",
            &scenario,
            "--json",
            "--attack",
            case.attack,
            "--rho",
            case.rho,
            "-k",
            case.k,
            "--rule",
            rule,
            "--trust",
            trust,
            "--seed",
            &seed,
            "--rounds",
            &rounds,
        ];
        sim.extend(&case.sim);
        let o = poq(&sim, "");
        assert!(o.status.success(), "{sim:?}: {}", String::from_utf8_lossy(&o.stderr));
        let rows = lines(&o);
        assert_eq!(rows.len(), 1, "{sim:?}: one rule, one trust, one row");
        let row = rows[0].as_object().expect("row");
        assert_eq!(
            (row["seed"].as_u64(), row["rounds"].as_u64()),
            (Some(case.seed), Some(case.rounds))
        );
        assert!(row["scenario"].as_str().expect("scenario").contains("demo"), "{row:?}");
        let d = d.as_object().expect("defense");
        let shared: Vec<&String> = row.keys().filter(|k| !SIM_ONLY.contains(&k.as_str())).collect();
        let demo_keys: Vec<&String> = d.keys().filter(|k| !DEMO_ONLY.contains(&k.as_str())).collect();
        assert_eq!(shared, demo_keys, "{name}: the same fields on both sides");
        for key in [
            "pearson",
            "spearman",
            "mae",
            "detection_auc",
            "payout_inflation",
            "inference_inflation",
            "evaluator_inflation",
            "inference_reward_mean",
            "inference_reward_var",
            "evaluator_reward_mean",
            "evaluator_reward_var",
            "expired",
            "missing_rate",
            "malicious",
            "malicious_reward_ratio",
            "malicious_trust_ratio",
            "missing",
            "evaluator_scaling",
            "attack",
            "rho",
            "k",
            "trimmed_per_side",
        ] {
            assert!(row.contains_key(key), "{name}: {key} in {row:?}");
        }
        for key in shared {
            assert_eq!(
                d[key], row[key],
                "{name} {args:?}: {key}: demo {} vs sim {}",
                d[key], row[key]
            );
        }
        pearsons.push(row["pearson"].clone());
    }
    // Three different defenses, three different consensus series: the comparison is not
    // of one row with itself.
    assert!(pearsons[0] != pearsons[1] && pearsons[1] != pearsons[2], "{pearsons:?}");
}

/// THE reproduction contract: what `poq demo` prints, `poq sim` on the demo preset
/// prints too, number for number, for each of the demo's defenses.
#[test]
fn sim_on_the_demo_preset_reproduces_the_demo() {
    // The preset's own values: boosting, ρ = 0.25, K = 7, seed 7, 400 rounds.
    assert_sim_reproduces_demo(&Reproduce {
        demo: vec![],
        attack: "boosting",
        rho: "0.25",
        k: "7",
        seed: 7,
        rounds: 400,
        sim: vec![],
    });
    assert_sim_reproduces_demo(&Reproduce {
        demo: vec![
            "--attack",
            "withhold",
            "--malicious",
            "0.3",
            "--seed",
            "11",
            "--rounds",
            "300",
        ],
        attack: "withhold",
        rho: "0.3",
        k: "7",
        seed: 11,
        rounds: 300,
        sim: vec![],
    });
    assert_sim_reproduces_demo(&Reproduce {
        demo: vec![
            "--attack",
            "on-off",
            "-k",
            "5",
            "--malicious",
            "0.2",
            "--seed",
            "2",
            "--rounds",
            "250",
        ],
        attack: "on-off",
        rho: "0.2",
        k: "5",
        seed: 2,
        rounds: 250,
        sim: vec![],
    });
}

/// Withholders are silent on the same seats under every defense (their decision reads
/// only honest scores, and the committees are the protocol's draw from the seed).
#[test]
fn demo_withholding_is_paired_across_defenses() {
    let o = poq(
        &[
            "demo",
            "--json",
            "--attack",
            "withhold",
            "--malicious",
            "0.3",
            "--seed",
            "11",
            "--rounds",
            "300",
        ],
        "",
    );
    assert!(o.status.success(), "stderr: {}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let d = v["defenses"].as_array().expect("defenses");
    let rate = d[0]["missing_rate"].as_f64().expect("rate");
    assert!(rate > 0.0 && rate < 1.0, "{rate}");
    assert!(
        d.iter()
            .all(|x| x["missing_rate"].as_f64() == Some(rate) && x["expired"] == d[0]["expired"])
    );
    // round(0.3 × 12) = 4 withholders.
    assert_eq!(d[0]["malicious"], 4);
}

#[test]
fn unknown_attack_is_named_with_the_accepted_ones() {
    for args in [
        &["demo", "--attack", "nope"][..],
        &["sim", "--attack", "nope", "--rounds", "10"][..],
    ] {
        let o = poq(args, "");
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(stderr.contains("nope"), "{args:?}: {stderr}");
        for name in [
            "none",
            "noise",
            "boosting",
            "sabotage",
            "intermittent",
            "collusion",
            "on-off",
            "constant",
            "copycat",
            "sybil",
            "withhold",
        ] {
            assert!(stderr.contains(name), "{args:?}: {stderr} lacks {name}");
        }
        assert!(o.stdout.is_empty(), "{args:?}: nothing printed on stdout");
    }
}

fn scratch_dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("poq-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fn repo(path: &str) -> String {
    format!("{}/../../{path}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn sim_states_seed_and_scenario() {
    let quick = repo("scenarios/quick.toml");
    let args = [
        "sim",
        "--scenario",
        &quick,
        "--rounds",
        "100",
        "--rule",
        "median",
        "--json",
    ];
    let o = poq(&args, "");
    assert!(o.status.success(), "stderr: {}", String::from_utf8_lossy(&o.stderr));
    let out = lines(&o);
    // One line per trust policy of the quick grid.
    assert_eq!(out.len(), 3);
    for l in &out {
        assert_eq!(l["seed"], 42);
        assert_eq!(l["rounds"], 100);
        assert!(l["scenario"].as_str().expect("scenario").contains("quick"));
        assert_eq!(l["rule"], "median");
        // The cell's protocol rules and the new measurements are on every row.
        assert_eq!(
            (&l["missing"], &l["evaluator_scaling"]),
            (&"penalize".into(), &"flat".into()),
            "{l}"
        );
        assert_eq!(
            (&l["expired"], &l["missing_rate"]),
            (&0.0.into(), &0.0.into()),
            "boosters always report: {l}"
        );
        for key in [
            "pearson",
            "spearman",
            "mae",
            "malicious_reward_ratio",
            "malicious_trust_ratio",
        ] {
            assert!(l[key].is_number(), "{key} in {l}");
        }
    }
    let trusts: Vec<&str> = out.iter().map(|l| l["trust"].as_str().expect("trust")).collect();
    assert_eq!(trusts, ["none", "published", "calibrated"], "grid order");
    // The table form names them too.
    let t = poq(
        &[
            "sim", "--rounds", "50", "--seed", "9", "--rule", "mean", "--trust", "none",
        ],
        "",
    );
    let text = String::from_utf8_lossy(&t.stdout);
    assert!(text.contains("seed 9") && text.contains("default"), "{text}");
    let bad = poq(&["sim", "--rounds", "0"], "");
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("rounds"));
    for (args, needle) in [
        (&["sim", "--rounds", "10", "--rule", "avg"][..], "avg"),
        (&["sim", "--rounds", "10", "--trust", "blind"][..], "blind"),
        (&["sim", "--rounds", "10", "-k", "21"][..], "21"),
        (&["sim", "--rounds", "10", "--rho", "1.5"][..], "1.5"),
    ] {
        let o = poq(args, "");
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
}

#[test]
fn sim_replays_logs_with_committees_that_fit() {
    let dir = scratch_dir("logs");
    let mut text = String::new();
    for p in 0..40 {
        let f1 = (p % 10) as f64 / 10.0;
        let s = |d: f64| (10.0 * f1 + d).clamp(0.0, 10.0);
        text.push_str(
            &serde_json::json!({
                "prompt_id": format!("p{p}"), "task": "qa", "node": "m", "output": "x", "latency_ms": 500.0,
                "gt_f1": f1, "gt_rougeL": f1,
                "scores": {"a": s(0.2), "b": s(-0.2), "c": s(0.0)},
                "eval_latency_ms": {"a": 10.0, "b": 20.0, "c": 30.0},
            })
            .to_string(),
        );
        text.push('\n');
    }
    let logs = dir.join("logs.jsonl");
    std::fs::write(&logs, text).expect("write logs");
    let logs = logs.to_string_lossy().to_string();
    let o = poq(
        &[
            "sim", "--logs", &logs, "-k", "3", "--rho", "0.34", "--rule", "median", "--trust", "none",
        ],
        "",
    );
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "stderr: {}", String::from_utf8_lossy(&o.stderr));
    assert!(
        stdout.contains("3 evaluators") && stdout.contains("replaying"),
        "{stdout}"
    );
    let o = poq(
        &[
            "experiment",
            "committee-size",
            "--logs",
            &logs,
            "--rounds",
            "100",
            "--out",
            &dir.join("r").to_string_lossy(),
        ],
        "",
    );
    assert!(o.status.success(), "stderr: {}", String::from_utf8_lossy(&o.stderr));
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("r/results.json")).expect("results")).expect("json");
    // The default grid's K = 5, 7, 9, 15 do not fit 3 evaluators: only K = 3 runs.
    let ks: Vec<u64> = r["committee_size"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|c| c["k"].as_u64().expect("k"))
        .collect();
    assert_eq!(ks, vec![3]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn experiment_writes_its_outputs() {
    let dir = scratch_dir("exp");
    let out = dir.join("report");
    let o = poq(
        &[
            "experiment",
            "rewards",
            "--out",
            &out.to_string_lossy(),
            "--rounds",
            "200",
        ],
        "",
    );
    assert!(o.status.success(), "stderr: {}", String::from_utf8_lossy(&o.stderr));
    for f in [
        "report.md",
        "results.json",
        "rewards_inference.csv",
        "rewards_inference_published.png",
    ] {
        assert!(out.join(f).exists(), "{f}");
    }
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).expect("results")).expect("json");
    assert_eq!(r["meta"]["rounds"], 200);
    let bad = poq(&["experiment", "figure-9", "--out", &out.to_string_lossy()], "");
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("figure-9"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// The withholding experiment on the quick scenario: its CSV, its report section, its
/// results.
#[test]
fn experiment_withholding_writes_its_outputs() {
    let dir = scratch_dir("withholding");
    let out = dir.join("w");
    let quick = repo("scenarios/quick.toml");
    let o = poq(
        &[
            "experiment",
            "withholding",
            "--scenario",
            &quick,
            "--rounds",
            "200",
            "--out",
            &out.to_string_lossy(),
        ],
        "",
    );
    assert!(o.status.success(), "stderr: {}", String::from_utf8_lossy(&o.stderr));
    let csv = std::fs::read_to_string(out.join("withholding.csv")).expect("withholding.csv");
    let mut rows = csv.lines();
    let header: Vec<&str> = rows.next().expect("header").split(',').collect();
    assert_eq!(header[..4], ["scenario", "seed", "attack", "missing"], "{csv}");
    let rows: Vec<Vec<&str>> = rows.map(|l| l.rsplitn(11, ',').collect::<Vec<_>>()).collect();
    // withhold and boosting × penalize and ignore × flat and trust scaling × published and ours.
    assert_eq!(rows.len(), 16, "{csv}");
    for attack in ["withhold", "boosting"] {
        assert_eq!(csv.matches(&format!(",{attack},")).count(), 8, "{csv}");
    }
    assert!(rows.iter().all(|r| r.len() == 11), "{csv}");
    let report = std::fs::read_to_string(out.join("report.md")).expect("report");
    assert!(report.contains("## Withholding and reward scaling"), "{report}");
    assert!(report.contains("quick"), "the report names its scenario: {report}");
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).expect("results")).expect("json");
    assert_eq!(r["meta"]["rounds"], 200);
    assert_eq!(r["withholding"]["k"], 7, "quick's K nearest 7");
    let cells = r["withholding"]["cells"].as_array().expect("cells");
    assert_eq!(cells.len(), 16);
    // Withholders are silent on some seats, boosters never.
    for c in cells {
        let rate = c["missing_rate"].as_f64().expect("rate");
        assert_eq!(rate > 0.0, c["attack"] == "withhold", "{c}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn score_contract() {
    let input = "{\"prompt\": \"alpha beta\", \"output\": \"alpha beta\"}\n{\"prompt\": \"alpha beta\", \"output\": \"gamma\", \"reference\": \"x\"}\n";
    let o = poq(&["score", "--evaluator", "lexical-f1", "--batch", "1"], input);
    assert!(o.status.success(), "stderr: {}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        lines(&o),
        vec![
            serde_json::json!({"score": 10.0, "raw": 1.0}),
            serde_json::json!({"score": 0.0, "raw": 0.0})
        ]
    );
    // A bad line after a partial batch: the good lines are answered first.
    let o = poq(
        &["score", "--evaluator", "lexical-rougeL"],
        "{\"prompt\": \"a b\", \"output\": \"a b\"}\n{\"prompt\": 3}\n",
    );
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(lines(&o).len(), 1);
    assert!(String::from_utf8_lossy(&o.stderr).contains("line 2"));
    let o = poq(&["score", "--evaluator", "gpt-judge"], "");
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("gpt-judge"));
}

#[test]
fn audit_prints_reliability() {
    let dir = scratch_dir("audit");
    let mut text = String::new();
    for p in 0..12 {
        let f1 = (p % 6) as f64 / 5.0;
        text.push_str(
            &serde_json::json!({
                "prompt_id": format!("p{p}"), "task": "qa", "node": if p % 2 == 0 { "big" } else { "small" },
                "output": "x", "latency_ms": 100.0 + p as f64, "gt_f1": f1, "gt_rougeL": f1,
                "scores": {"tracker": 10.0 * f1, "contrarian": 10.0 - 10.0 * f1},
                "eval_latency_ms": {"tracker": 5.0, "contrarian": 7.0},
            })
            .to_string(),
        );
        text.push('\n');
    }
    let logs = dir.join("logs.jsonl");
    std::fs::write(&logs, text).expect("write");
    let o = poq(&["audit", &logs.to_string_lossy(), "--json"], "");
    assert!(o.status.success(), "stderr: {}", String::from_utf8_lossy(&o.stderr));
    let a: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let ev = a["evaluators"].as_array().expect("evaluators");
    let r = |name: &str| {
        ev.iter().find(|e| e["evaluator"] == name).expect(name)["pearson_f1"]
            .as_f64()
            .expect("r")
    };
    assert!((r("tracker") - 1.0).abs() < 1e-9 && (r("contrarian") + 1.0).abs() < 1e-9);
    let table = poq(&["audit", &logs.to_string_lossy()], "");
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.contains("tracker") && text.contains("+1.000") && text.contains("-1.000"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The bi-encoder through `poq score`: a paraphrase scores higher than an unrelated
/// answer against the same reference.
#[test]
fn score_with_the_bi_encoder() {
    let input = "{\"prompt\": \"Where is the Eiffel Tower?\", \"output\": \"It stands in Paris, France.\", \"reference\": \"The Eiffel Tower is in Paris.\"}\n\
                 {\"prompt\": \"Where is the Eiffel Tower?\", \"output\": \"Bananas are rich in potassium.\", \"reference\": \"The Eiffel Tower is in Paris.\"}\n";
    let o = poq(&["score", "--evaluator", "bi-encoder"], input);
    assert!(o.status.success(), "stderr: {}", String::from_utf8_lossy(&o.stderr));
    let out = lines(&o);
    let (good, bad) = (
        out[0]["score"].as_f64().expect("score"),
        out[1]["score"].as_f64().expect("score"),
    );
    assert!(good > bad + 2.0, "paraphrase {good} vs unrelated {bad}");
    // score = cosine clipped to [0, 1] × 10.
    let raw = out[0]["raw"].as_f64().expect("raw");
    assert!((good - 10.0 * raw.clamp(0.0, 1.0)).abs() < 1e-9);
}

/// The cross-encoder through `poq score`, on the tiny BERT of the parity fixture: raw is
/// the logit sentence-transformers computed for the (prompt, output) pair, score its
/// sigmoid ×10. Without --model it is an error that says what is missing.
#[test]
fn score_with_the_cross_encoder() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/ml/cross_encoder");
    let golden: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("golden.json")).expect("golden")).expect("json");
    let pairs: Vec<&serde_json::Value> = golden["pairs"].as_array().expect("pairs").iter().take(3).collect();
    let input: String = pairs
        .iter()
        .map(|p| serde_json::json!({"prompt": p["a"], "output": p["b"]}).to_string() + "\n")
        .collect();
    let model = root.join("tiny-bert");
    let o = poq(
        &[
            "score",
            "--evaluator",
            "cross-encoder",
            "--model",
            &model.to_string_lossy(),
        ],
        input,
    );
    assert!(o.status.success(), "stderr: {}", String::from_utf8_lossy(&o.stderr));
    let out = lines(&o);
    assert_eq!(out.len(), pairs.len());
    for (got, want) in out.iter().zip(&pairs) {
        let logit = want["logit"].as_f64().expect("logit");
        let raw = got["raw"].as_f64().expect("raw");
        assert!(
            (raw - logit).abs() < 1e-5,
            "logit {raw} vs sentence-transformers {logit}"
        );
        let score = got["score"].as_f64().expect("score");
        assert!((score - 10.0 / (1.0 + (-logit).exp())).abs() < 1e-4, "score {score}");
    }
    let o = poq(&["score", "--evaluator", "cross-encoder"], "");
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--model"));
}

/// `poq demo --real` on a given log plays its rounds on the logged answers and scores
/// (nothing is collected when the log exists): inference nodes are the logged models,
/// with their mean ground truth; evaluator nodes 3j..3j+2 run the j-th logged evaluator
/// (names sorted), as `ReplayWorld::with_replicas` seats them.
#[test]
fn demo_plays_rounds_on_a_real_log() {
    let dir = scratch_dir("demo-real");
    let mut text = String::new();
    for p in 0..20 {
        for (node, f1) in [
            ("big-llm", 0.5 + 0.025 * p as f64),
            ("small-llm", 0.05 * (p % 4) as f64),
        ] {
            let truth = 10.0 * f1;
            text.push_str(
                &serde_json::json!({
                    "prompt_id": format!("q{p}"), "task": "qa", "node": node, "output": "x",
                    "latency_ms": if node == "big-llm" { 900.0 } else { 300.0 },
                    "gt_f1": f1, "gt_rougeL": f1,
                    "scores": {"tracker": truth, "shifted": (truth + 1.0).min(10.0), "flat": 5.0 + 0.1 * truth},
                    "eval_latency_ms": {"tracker": 10.0, "shifted": 20.0, "flat": 30.0},
                })
                .to_string(),
            );
            text.push('\n');
        }
    }
    let logs = dir.join("real.jsonl");
    std::fs::write(&logs, text).expect("write");
    let args = [
        "demo",
        "--real",
        "--logs",
        &logs.to_string_lossy(),
        "--rounds",
        "300",
        "-k",
        "5",
        "--malicious",
        "0.34",
        "--json",
    ];
    let a = poq(&args, "");
    assert!(a.status.success(), "stderr: {}", String::from_utf8_lossy(&a.stderr));
    assert_eq!(a.stdout, poq(&args, "").stdout, "deterministic");
    let v: serde_json::Value = serde_json::from_slice(&a.stdout).expect("json");
    assert_eq!(v["real"], true);
    // The pool: 3 logged evaluators × 3 replicas (the default --replicas).
    assert_eq!(v["evaluators"], 9);
    let models = v["models"].as_array().expect("models");
    assert_eq!(models[0]["name"], "big-llm");
    assert_eq!(models[1]["name"], "small-llm");
    // Mean ground truth ×10: big 10 × (0.5 + 0.025 × 9.5) = 7.375; small 10 × 0.075 = 0.75.
    assert!((models[0]["quality"].as_f64().expect("q") - 7.375).abs() < 1e-9);
    assert!((models[1]["quality"].as_f64().expect("q") - 0.75).abs() < 1e-9);
    assert_eq!(models[1]["latency_ms"], 300.0);
    let kinds: Vec<&str> = v["evaluator_kinds"]
        .as_array()
        .expect("kinds")
        .iter()
        .map(|k| k.as_str().expect("kind"))
        .collect();
    assert_eq!(
        kinds,
        [
            "flat", "flat", "flat", "shifted", "shifted", "shifted", "tracker", "tracker", "tracker"
        ]
    );
    assert_eq!(
        v["malicious"]
            .as_array()
            .expect("malicious")
            .iter()
            .filter(|m| **m == true)
            .count(),
        3
    );
    // The better model earns more per round under every defense.
    for d in v["defenses"].as_array().expect("defenses") {
        let r = d["inference_reward_per_round"].as_array().expect("rewards");
        assert!(r[0].as_f64().expect("big") > r[1].as_f64().expect("small"), "{d}");
    }
    // `poq sim` on the demo preset, replaying the same log, reproduces every number.
    let logs_arg = logs.to_string_lossy().to_string();
    assert_sim_reproduces_demo(&Reproduce {
        demo: vec![
            "--real",
            "--logs",
            &logs_arg,
            "--rounds",
            "300",
            "-k",
            "5",
            "--malicious",
            "0.34",
        ],
        attack: "boosting",
        rho: "0.34",
        k: "5",
        seed: 7,
        rounds: 300,
        sim: vec!["--logs", &logs_arg, "--replicas", "3"],
    });
    // With --real the pool is the log's: --evaluators is refused, and says why.
    let o = poq(&["demo", "--real", "--logs", &logs_arg, "--evaluators", "9"], "");
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--evaluators 9"));
    // A log of valid records none of which every evaluator scored is an error naming
    // the file.
    let partial = dir.join("partial.jsonl");
    std::fs::write(
        &partial,
        "{\"prompt_id\":\"a\",\"task\":\"qa\",\"node\":\"m\",\"output\":\"x\",\"latency_ms\":1,\"gt_f1\":0.5,\"gt_rougeL\":0.5,\"scores\":{\"e1\":1},\"eval_latency_ms\":{\"e1\":1}}\n\
         {\"prompt_id\":\"b\",\"task\":\"qa\",\"node\":\"m\",\"output\":\"x\",\"latency_ms\":1,\"gt_f1\":0.5,\"gt_rougeL\":0.5,\"scores\":{\"e2\":1},\"eval_latency_ms\":{\"e2\":1}}\n",
    )
    .expect("write");
    let o = poq(&["demo", "--real", "--logs", &partial.to_string_lossy()], "");
    assert_eq!(o.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("partial.jsonl"), "{stderr}");
    // ... and the evaluators none of its records has all of.
    assert!(stderr.contains("e1, e2"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

//! `poq devnet --requests N`: prompts of the project's QA set through the gateway's
//! OpenAI API, a live table of rounds and trust, and the report.

use anyhow::{Context as _, Result};
use futures::StreamExt as _;
use poq_sim::plot::{Series, line_chart};
use serde::Serialize;
use serde_json::{Value, json};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// What the client was told for one request.
#[derive(Debug, Clone, Serialize)]
pub struct Answer {
    /// The request's index.
    pub index: usize,
    /// The HTTP status.
    pub http: u16,
    /// The round id, once known.
    pub round: Option<u64>,
    /// pending, finalized or expired.
    pub status: Option<String>,
    /// The consensus quality, if finalized.
    pub consensus: Option<f64>,
    /// The inference node.
    pub node: Option<String>,
    /// The model.
    pub model: Option<String>,
    /// Seconds from request to answer.
    pub seconds: f64,
    /// The error message, if any.
    pub error: Option<String>,
}

async fn one(http: &reqwest::Client, gateway: &str, index: usize, prompt: &str) -> Answer {
    let body = json!({
        "messages": [{"role": "user", "content": prompt}],
        "max_tokens": 48,
        "poq": {"wait": true, "timeout_ms": 60_000},
    });
    let start = Instant::now();
    let sent = http
        .post(format!("{gateway}/v1/chat/completions"))
        .header("content-type", "application/json")
        .body(body.to_string())
        .timeout(Duration::from_secs(300))
        .send()
        .await;
    let mut a = Answer {
        index,
        http: 0,
        round: None,
        status: None,
        consensus: None,
        node: None,
        model: None,
        seconds: 0.0,
        error: None,
    };
    match sent {
        Ok(r) => {
            a.http = r.status().as_u16();
            let v: Value = match r.bytes().await {
                Ok(b) => serde_json::from_slice(&b).unwrap_or_default(),
                Err(e) => json!({"error": {"message": e.to_string()}}),
            };
            let p = &v["poq"];
            a.round = p["round"].as_u64();
            a.status = p["status"].as_str().map(str::to_string);
            a.consensus = p["consensus"].as_f64();
            a.node = p["inference_node"].as_str().map(str::to_string);
            a.model = p["model"].as_str().map(str::to_string);
            a.error = v["error"]["message"].as_str().map(str::to_string);
        }
        Err(e) => a.error = Some(e.to_string()),
    }
    a.seconds = start.elapsed().as_secs_f64();
    a
}

async fn get_json(http: &reqwest::Client, url: &str) -> Result<Value> {
    let r = http.get(url).timeout(Duration::from_secs(10)).send().await?;
    Ok(serde_json::from_slice(&r.bytes().await?)?)
}

fn short(k: &str) -> &str {
    &k[..k.len().min(10)]
}

fn print_nodes(nodes: &Value) {
    println!(
        "{:<12} {:<22} {:>9} {:>8} {:>7} {:>14}",
        "key", "label", "trust qa", "rounds", "missed", "balance"
    );
    for n in nodes.as_array().into_iter().flatten() {
        if n["roles"]["gateway"].as_bool() == Some(true) && n["roles"]["evaluator"].is_null() {
            continue;
        }
        let trust = n["trust"]["qa"].as_f64().map_or("-".to_string(), |t| format!("{t:.3}"));
        println!(
            "{:<12} {:<22} {:>9} {:>8} {:>7} {:>14}",
            short(n["key"].as_str().unwrap_or("")),
            n["label"].as_str().unwrap_or(""),
            trust,
            n["rounds"],
            n["missed"],
            n["balance"]
        );
    }
}

fn percentile(v: &mut [f64], q: f64) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let i = ((v.len() as f64 - 1.0) * q).round() as usize;
    Some(v[i])
}

/// Drives `n` requests, `concurrency` at once; writes DIR/report.{md,json} and trust.png.
pub async fn drive(
    http: &reqwest::Client,
    gateway: &str,
    synthetic: bool,
    dir: &Path,
    n: usize,
    concurrency: usize,
    stop: &AtomicBool,
) -> Result<()> {
    let items = poq_ml::data::project_qa()?;
    let prompts: Vec<String> = poq_ml::collect::qa_prompts(&items)
        .into_iter()
        .map(|p| p.instruction)
        .collect();
    let gw = gateway;
    let start = Instant::now();
    let mut answers = Vec::with_capacity(n);
    let mut stream = futures::stream::iter(0..n)
        .map(|i| {
            let p = prompts[i % prompts.len()].clone();
            async move { one(http, gw, i, &p).await }
        })
        .buffer_unordered(concurrency.max(1));
    println!(
        "{:>9} {:>6} {:<10} {:>9} {:<12} {:>7}",
        "request", "round", "status", "consensus", "node", "seconds"
    );
    while let Some(a) = stream.next().await {
        println!(
            "{:>4}/{:<4} {:>6} {:<10} {:>9} {:<12} {:>7.2}{}",
            answers.len() + 1,
            n,
            a.round.map_or("-".into(), |r| r.to_string()),
            a.status.as_deref().unwrap_or("error"),
            a.consensus.map_or("-".into(), |c| format!("{c:.2}")),
            a.node.as_deref().map_or("-", short),
            a.seconds,
            a.error.as_deref().map_or(String::new(), |e| format!("  {e}"))
        );
        answers.push(a);
        if answers.len().is_multiple_of(25)
            && let Ok(nodes) = get_json(http, &format!("{gw}/v1/poq/nodes")).await
        {
            print_nodes(&nodes);
        }
        if stop.load(Ordering::Relaxed) {
            break;
        }
    }
    drop(stream);
    let elapsed = start.elapsed().as_secs_f64();
    let nodes = get_json(http, &format!("{gw}/v1/poq/nodes"))
        .await
        .context("the gateway's node list")?;
    let status = get_json(http, &format!("{gw}/v1/poq/status"))
        .await
        .context("the gateway's status")?;
    let history = get_json(http, &format!("{gw}/v1/poq/trust-history"))
        .await
        .context("the trust history")?;
    println!();
    print_nodes(&nodes);
    let count = |s: &str| answers.iter().filter(|a| a.status.as_deref() == Some(s)).count();
    let (finalized, expired, pending) = (count("finalized"), count("expired"), count("pending"));
    let errors = answers.iter().filter(|a| a.http != 200).count();
    let mut lat: Vec<f64> = answers
        .iter()
        .filter(|a| a.status.as_deref() == Some("finalized"))
        .map(|a| a.seconds)
        .collect();
    let (p50, p99) = (percentile(&mut lat, 0.5), percentile(&mut lat, 0.99));
    let summary = json!({
        "requests": answers.len(), "finalized": finalized, "expired": expired, "pending": pending,
        "errors": errors, "seconds": elapsed, "finalized_per_minute": finalized as f64 / elapsed * 60.0,
        "latency_p50_s": p50, "latency_p99_s": p99,
        "height": status["height"], "digest": status["digest"], "synthetic": synthetic,
    });
    println!("\n{summary}");
    // Trust over heights, one line per evaluator, malicious ones named as such.
    let mut series: Vec<Series> = Vec::new();
    for n in nodes.as_array().into_iter().flatten() {
        let Some(key) = n["key"].as_str() else { continue };
        if n["trust"]["qa"].is_null() {
            continue;
        }
        let label = n["label"].as_str().unwrap_or("");
        let points: Vec<(f64, f64)> = history
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| Some((s["height"].as_f64()?, s["trust"][key]["qa"].as_f64()?)))
            .collect();
        series.push(Series {
            name: format!("{} {label}", short(key)),
            points,
        });
    }
    let plot = dir.join("trust.png");
    let plotted = line_chart(
        &plot,
        "Evaluator trust (QA) over the devnet's heights",
        "height",
        "trust weight",
        &series,
    );
    let report = json!({"summary": summary, "answers": answers, "nodes": nodes});
    std::fs::write(dir.join("report.json"), serde_json::to_vec_pretty(&report)?)?;
    let mut md = String::new();
    md.push_str("# poq devnet report\n\n");
    md.push_str(&format!(
        "{} requests in {elapsed:.1} s: {finalized} finalized, {expired} expired, {pending} still pending, {errors} errors. \
         Request-to-finalized latency p50 {} s, p99 {} s. Final height {}, digest `{}`.\n\n",
        answers.len(),
        p50.map_or("-".into(), |v| format!("{v:.2}")),
        p99.map_or("-".into(), |v| format!("{v:.2}")),
        status["height"],
        status["digest"].as_str().unwrap_or("")
    ));
    if plotted.is_ok() {
        md.push_str("![trust](trust.png)\n\n");
    }
    md.push_str("| key | label | trust (QA) | rounds | missed | balance (micro) | rewards |\n|---|---|---:|---:|---:|---:|---:|\n");
    for n in nodes.as_array().into_iter().flatten() {
        md.push_str(&format!(
            "| `{}` | {} | {} | {} | {} | {} | {:.3} |\n",
            short(n["key"].as_str().unwrap_or("")),
            n["label"].as_str().unwrap_or(""),
            n["trust"]["qa"].as_f64().map_or("-".into(), |t| format!("{t:.3}")),
            n["rounds"],
            n["missed"],
            n["balance"],
            n["rewards"].as_f64().unwrap_or(0.0)
        ));
    }
    md.push_str("\nThe same numbers are in report.json.\n");
    std::fs::write(dir.join("report.md"), md)?;
    println!("report: {}", dir.join("report.md").display());
    Ok(())
}

//! `poq devnet --bench`: what the gateway costs and how many rounds the whole network
//! finalizes, measured end to end on this machine.
//!
//! 1. Overhead: the same chat request (with the receipt the gateway asks for) sent
//!    straight to an inference worker and through the gateway without waiting for the
//!    round (`"poq": {"timeout_ms": 0}`: check the receipt, store the bytes durably,
//!    submit), interleaved one by one, so both see the same machine. The gateway's
//!    overhead is the difference of the medians.
//! 2. Throughput: requests that each wait for their round to close, `concurrency` at a
//!    time: finalized rounds per second and request-to-finalized latency (p50, p99).

use anyhow::{Context as _, Result, bail};
use futures::StreamExt as _;
use serde_json::{Value, json};
use std::path::Path;
use std::time::{Duration, Instant};

async fn post(http: &reqwest::Client, url: &str, body: &Value) -> Result<(u16, Value, f64)> {
    let start = Instant::now();
    let r = http
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_string())
        .timeout(Duration::from_secs(120))
        .send()
        .await?;
    let status = r.status().as_u16();
    let v: Value = serde_json::from_slice(&r.bytes().await?).unwrap_or_default();
    Ok((status, v, start.elapsed().as_secs_f64()))
}

fn quantile(v: &mut [f64], q: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() as f64 - 1.0) * q).round() as usize]
}

/// Runs the benchmark; writes DIR/bench.json.
pub async fn bench(
    http: &reqwest::Client,
    gateway: &str,
    synthetic: bool,
    dir: &Path,
    requests: usize,
    concurrency: usize,
) -> Result<()> {
    let gw = gateway;
    let status: Value = serde_json::from_slice(&http.get(format!("{gw}/v1/poq/status")).send().await?.bytes().await?)?;
    let worker = status["inference_workers"][0].clone();
    let (Some(worker_url), Some(model)) = (worker["url"].as_str(), worker["model"].as_str()) else {
        bail!("the gateway knows no inference worker yet");
    };
    let gateway_key = status["gateway"].clone();
    let items = poq_ml::data::project_qa()?;
    let prompts: Vec<String> = poq_ml::collect::qa_prompts(&items)
        .into_iter()
        .map(|p| p.instruction)
        .collect();
    let samples = requests.clamp(20, 400);
    let (mut direct, mut via) = (Vec::with_capacity(samples), Vec::with_capacity(samples));
    for i in 0..samples {
        let messages = json!([{"role": "user", "content": prompts[i % prompts.len()]}]);
        // What the gateway itself sends a worker (a receipt request for a fresh id).
        let request = poq_ledger::Hash::of("poq/bench/request", &[&(i as u64).to_le_bytes()]);
        let h = status["height"].as_u64().unwrap_or(0);
        let body = json!({"model": model, "messages": messages, "max_tokens": 32,
            "poq": {"gateway": gateway_key, "request": request, "expires": h + 1000, "task": "qa"}});
        let (s, _, t) = post(http, &format!("{worker_url}/v1/chat/completions"), &body).await?;
        if s != 200 {
            bail!("the inference worker answered {s}");
        }
        direct.push(t);
        let body = json!({"model": model, "messages": messages, "max_tokens": 32, "poq": {"timeout_ms": 0}});
        let (s, v, t) = post(http, &format!("{gw}/v1/chat/completions"), &body).await?;
        if s != 200 {
            bail!("the gateway answered {s}: {v}");
        }
        via.push(t);
    }
    let (d50, g50) = (quantile(&mut direct, 0.5), quantile(&mut via, 0.5));
    println!(
        "overhead: {samples} requests each way, inference direct p50 {:.2} ms, through the gateway p50 {:.2} ms: gateway overhead {:.2} ms",
        d50 * 1e3,
        g50 * 1e3,
        (g50 - d50) * 1e3
    );
    // Let the overhead run's rounds close before timing the throughput.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let start = Instant::now();
    let results: Vec<Result<(u16, Value, f64)>> = futures::stream::iter(0..requests)
        .map(|i| {
            let body = json!({"messages": [{"role": "user", "content": prompts[i % prompts.len()]}], "max_tokens": 32,
                              "poq": {"wait": true, "timeout_ms": 60000}});
            async move { post(http, &format!("{gw}/v1/chat/completions"), &body).await }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let elapsed = start.elapsed().as_secs_f64();
    let mut lat: Vec<f64> = results
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .filter(|(s, v, _)| *s == 200 && v["poq"]["status"] == "finalized")
        .map(|(_, _, t)| *t)
        .collect();
    let finalized = lat.len();
    if finalized == 0 {
        bail!("no request finalized");
    }
    let (p50, p99) = (quantile(&mut lat, 0.5), quantile(&mut lat, 0.99));
    let rate = finalized as f64 / elapsed;
    println!(
        "throughput: {finalized} of {requests} finalized in {elapsed:.1} s at concurrency {concurrency}: {rate:.1} rounds/s \
         ({:.0} rounds/min), request-to-finalized p50 {:.0} ms, p99 {:.0} ms",
        rate * 60.0,
        p50 * 1e3,
        p99 * 1e3
    );
    let report = json!({
        "synthetic": synthetic, "validators": status["validators"].as_array().map(Vec::len),
        "overhead": {"samples": samples, "direct_p50_ms": d50 * 1e3, "gateway_p50_ms": g50 * 1e3, "overhead_p50_ms": (g50 - d50) * 1e3},
        "throughput": {"requests": requests, "finalized": finalized, "concurrency": concurrency, "seconds": elapsed,
                       "rounds_per_second": rate, "rounds_per_minute": rate * 60.0, "p50_ms": p50 * 1e3, "p99_ms": p99 * 1e3},
    });
    println!("{report}");
    std::fs::write(dir.join("bench.json"), serde_json::to_vec_pretty(&report)?).context("writing bench.json")?;
    Ok(())
}

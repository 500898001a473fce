//! The JSON Lines commands: `poq metrics` and `poq aggregate`.

use anyhow::{Context, Result};
use poq_core::aggregate::{self, DEFAULT_TRIM, Rule};
use serde::{Deserialize, Serialize};
use std::io::{BufRead, BufWriter, Write};

/// A bad input line: stops the command with exit code 2.
#[derive(Debug)]
pub struct BadLine {
    /// 1-based line number.
    pub line: usize,
    /// What was wrong.
    pub reason: String,
}

impl std::fmt::Display for BadLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

impl std::error::Error for BadLine {}

/// Parses one input line (without its line ending) as a JSON object of type `T`; the
/// error is the reason a bad line is bad (invalid UTF-8, blank, or invalid JSON).
pub fn parse_line<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> std::result::Result<T, String> {
    match std::str::from_utf8(bytes) {
        Err(e) => Err(format!("not valid UTF-8: {e}")),
        Ok(line) if line.trim().is_empty() => Err("empty line; expected one JSON object".to_string()),
        Ok(line) => serde_json::from_str::<T>(line).map_err(|e| format!("invalid JSON: {e}")),
    }
}

/// Reads stdin line by line, maps each through `f`, writes one JSON line per input line.
/// Blank lines are bad lines too: skipping them would break the one-output-per-input
/// contract that lets other tools zip inputs with outputs.
fn for_each_line<T, U>(mut f: impl FnMut(T) -> std::result::Result<U, String>) -> Result<()>
where
    T: for<'de> Deserialize<'de>,
    U: Serialize,
{
    let mut stdin = std::io::stdin().lock();
    let mut out = BufWriter::new(std::io::stdout().lock());
    let mut buf = Vec::new();
    let mut line_no = 0;
    loop {
        buf.clear();
        if stdin.read_until(b'\n', &mut buf).context("reading stdin")? == 0 {
            break;
        }
        line_no += 1;
        // Same line endings as `str::lines`: "\n" or "\r\n".
        if buf.last() == Some(&b'\n') {
            buf.pop();
            if buf.last() == Some(&b'\r') {
                buf.pop();
            }
        }
        let parsed = parse_line::<T>(&buf);
        match parsed.and_then(&mut f) {
            Ok(value) => {
                serde_json::to_writer(&mut out, &value).context("writing stdout")?;
                out.write_all(b"\n").context("writing stdout")?;
            }
            Err(reason) => {
                // Everything before the bad line has been answered; keep it.
                out.flush().context("writing stdout")?;
                return Err(BadLine { line: line_no, reason }.into());
            }
        }
    }
    out.flush().context("writing stdout")?;
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MetricsInput {
    prediction: String,
    references: Vec<String>,
}

/// `poq metrics`.
pub fn run_metrics() -> Result<()> {
    for_each_line(|input: MetricsInput| {
        poq_core::metrics::score(&input.prediction, &input.references).map_err(|e| e.to_string())
    })
}

/// Arguments of `poq aggregate`.
#[derive(clap::Args, Debug)]
pub struct AggregateArgs {
    /// Consensus rule: mean, median, trimmed-mean, weighted-mean or weighted-median
    /// (the smallest score whose cumulative weight reaches half the total).
    #[arg(long, value_parser = ["mean", "median", "trimmed-mean", "weighted-mean", "weighted-median"])]
    rule: String,
    /// Fraction τ trimmed from each end by trimmed-mean, in [0, 0.5); ⌊τK⌋ scores are
    /// dropped per side, so small committees may drop none (a warning says so).
    #[arg(long, default_value_t = DEFAULT_TRIM)]
    trim: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AggregateInput {
    scores: Vec<f64>,
    #[serde(default)]
    weights: Option<Vec<f64>>,
}

#[derive(Serialize)]
struct AggregateOutput {
    consensus: f64,
}

/// `poq aggregate`.
pub fn run_aggregate(args: &AggregateArgs) -> Result<()> {
    let rule =
        Rule::from_name(&args.rule, args.trim).with_context(|| format!("--rule {} --trim {}", args.rule, args.trim))?;
    let mut warned = false;
    for_each_line(|input: AggregateInput| {
        if let Rule::TrimmedMean { trim } = rule {
            let k = input.scores.len();
            if !warned && k > 0 && aggregate::trim_count(trim, k) == 0 {
                tracing::warn!("trimmed-mean with trim {trim} drops nothing for {k} scores: it equals the mean");
                warned = true;
            }
        }
        aggregate::aggregate(rule, &input.scores, input.weights.as_deref())
            .map(|consensus| AggregateOutput { consensus })
            .map_err(|e| e.to_string())
    })
}

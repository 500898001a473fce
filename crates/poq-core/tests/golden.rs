//! Data-driven golden tests, in the style of the `datadriven` files of etcd/raft-rs:
//! `tests/testdata/{aggregate,trust,round}.txt` hold cases, each a few command lines, a
//! `----` line, and the output the commands must render, ended by a blank line:
//!
//! ```text
//! # A comment: skipped, and kept when the file is rewritten. Hand computations go here.
//! aggregate rule=weighted-median scores=1,5,9 weights=1,1,3
//! ----
//! weighted-median 9.0
//! ```
//!
//! Every command is a name followed by `key=value` arguments; an unknown command or key
//! fails the test with the file and line. Lists are comma separated, `v*n` repeats a
//! value n times, and `_` is a silent member in `submit scores=`. Floats are printed
//! with `{:?}`: the shortest decimal that reads back to the same bits, so an expected
//! value is exact and needs no separate bit pattern. Errors print as `error: ` followed
//! by the error's message.
//!
//! Commands (one case's commands share one state):
//!
//! - `aggregate [rule=R] [trim=τ] scores=… [weights=…]`: one rule, or every rule when
//!   `rule` is absent (τ defaults to 0.2).
//! - `trust policy=P n=N [parameters]`, then `update task=T consensus=C reports=e:s,…
//!   [times=n]`, `penalize task=T e=E [times=n]`, `weights [task=T]`, `state task=T`
//!   (calibrated error and relative bias per evaluator).
//! - `protocol n=N k=K [rule=R trim=τ trust=P quorum=Q missing=M scaling=S slashing=B
//!   nodes=F registry=all,qa,… budget=B alpha=… beta=… alpha_eval=… beta_eval=…
//!   inference_ref=… eval_ref=…]`, then `open beacon=b node=F task=T cost=c` (beacon:
//!   32 bytes all equal to b), `submit round=r scores=s,_,… [costs=…]` (by committee
//!   position) or `submit round=r e=E score=s [cost=c]`, `finalize round=r`,
//!   `expire round=r`, `close round=r`, `book`, `weights task=T`.
//!
//! Run with `POQ_REWRITE=1` to rewrite every expected section from the actual output;
//! otherwise a mismatch fails with a diff naming the file and the case's first line.

use poq_core::aggregate::{self, Rule};
use poq_core::protocol::{Closed, Protocol, ProtocolConfig, Registration};
use poq_core::reward::{CostScale, EvaluatorScaling, RewardParams};
use poq_core::round::{Expiry, MissingOutcome, MissingReport, Outcome, RoundConfig};
use poq_core::trust::{
    CalibratedParams, CatdParams, CrhParams, PublishedParams, Trust, TrustKind, TrustParams, TrustPolicy,
};
use poq_core::{EvaluatorId, NodeId, RoundId, Task};
use std::collections::BTreeMap;
use std::fmt::Write as _;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/testdata");

#[test]
fn aggregate() {
    run_file("aggregate.txt");
}

#[test]
fn trust() {
    run_file("trust.txt");
}

#[test]
fn round() {
    run_file("round.txt");
}

/// A part of a testdata file: lines kept verbatim, or the expected section of case `i`.
enum Part {
    Verbatim(String),
    Expected(usize),
}

struct Case {
    /// 1-based line of the first command.
    line: usize,
    /// The command lines, with their 1-based line numbers.
    commands: Vec<(usize, String)>,
    expected: Vec<String>,
}

fn parse(name: &str, text: &str) -> (Vec<Part>, Vec<Case>) {
    let mut parts = Vec::new();
    let mut cases: Vec<Case> = Vec::new();
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l)).peekable();
    while let Some((n, line)) = lines.next() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            parts.push(Part::Verbatim(line.to_string()));
            continue;
        }
        let mut case = Case {
            line: n,
            commands: vec![(n, t.to_string())],
            expected: Vec::new(),
        };
        parts.push(Part::Verbatim(line.to_string()));
        loop {
            let Some((n, line)) = lines.next() else {
                panic!("{name}:{}: the case ends without a `----` line", case.line)
            };
            parts.push(Part::Verbatim(line.to_string()));
            let t = line.trim();
            if t == "----" {
                break;
            }
            if t.is_empty() {
                panic!("{name}:{n}: blank line before `----` in the case at line {}", case.line);
            }
            if !t.starts_with('#') {
                case.commands.push((n, t.to_string()));
            }
        }
        while let Some(&(_, line)) = lines.peek() {
            if line.trim().is_empty() {
                break;
            }
            case.expected.push(line.to_string());
            lines.next();
        }
        parts.push(Part::Expected(cases.len()));
        cases.push(case);
    }
    (parts, cases)
}

fn run_file(name: &str) {
    let path = format!("{DIR}/{name}");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let (parts, cases) = parse(name, &text);
    assert!(!cases.is_empty(), "{name} holds no case");
    let actual: Vec<Vec<String>> = cases.iter().map(|c| run_case(name, c)).collect();
    if std::env::var_os("POQ_REWRITE").is_some_and(|v| v == "1") {
        let mut out = String::new();
        for part in &parts {
            let lines = match part {
                Part::Verbatim(line) => std::slice::from_ref(line),
                Part::Expected(i) => &actual[*i][..],
            };
            for line in lines {
                out.push_str(line);
                out.push('\n');
            }
        }
        std::fs::write(&path, out).unwrap_or_else(|e| panic!("{path}: {e}"));
        return;
    }
    let mut failures = String::new();
    for (case, got) in cases.iter().zip(&actual) {
        if &case.expected != got {
            let _ = writeln!(failures, "{name}:{}: `{}`", case.line, case.commands[0].1);
            for i in 0..case.expected.len().max(got.len()) {
                match (case.expected.get(i), got.get(i)) {
                    (Some(e), Some(g)) if e == g => {
                        let _ = writeln!(failures, "   {e}");
                    }
                    (e, g) => {
                        if let Some(e) = e {
                            let _ = writeln!(failures, " - {e}");
                        }
                        if let Some(g) = g {
                            let _ = writeln!(failures, " + {g}");
                        }
                    }
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "golden mismatches (- expected, + actual; rerun with POQ_REWRITE=1 to accept):\n{failures}"
    );
}

/// A command's arguments; every one must be used.
struct Args<'a> {
    at: String,
    command: &'a str,
    map: BTreeMap<&'a str, &'a str>,
}

impl<'a> Args<'a> {
    fn parse(file: &str, line: usize, text: &'a str) -> Self {
        let mut words = text.split_whitespace();
        let command = words.next().expect("a non-empty line");
        let at = format!("{file}:{line}");
        let mut map = BTreeMap::new();
        for w in words {
            let Some((k, v)) = w.split_once('=') else {
                panic!("{at}: argument `{w}` is not key=value");
            };
            assert!(map.insert(k, v).is_none(), "{at}: `{k}` given twice");
        }
        Self { at, command, map }
    }

    fn fail(&self, msg: impl std::fmt::Display) -> ! {
        panic!("{}: {}: {msg}", self.at, self.command)
    }

    fn opt(&mut self, key: &str) -> Option<&'a str> {
        self.map.remove(key)
    }

    fn req(&mut self, key: &str) -> &'a str {
        self.opt(key).unwrap_or_else(|| self.fail(format!("missing `{key}=`")))
    }

    fn value<T: std::str::FromStr>(&self, key: &str, v: &str) -> T {
        v.parse()
            .unwrap_or_else(|_| self.fail(format!("`{key}={v}` is not a {}", std::any::type_name::<T>())))
    }

    fn num<T: std::str::FromStr>(&mut self, key: &str) -> T {
        let v = self.req(key);
        self.value(key, v)
    }

    fn num_or<T: std::str::FromStr>(&mut self, key: &str, default: T) -> T {
        match self.opt(key) {
            Some(v) => self.value(key, v),
            None => default,
        }
    }

    /// A list of optional floats (`_` is none, `v*n` repeats).
    fn list(&mut self, key: &str) -> Option<Vec<Option<f64>>> {
        let v = self.opt(key)?;
        let mut out = Vec::new();
        for item in v.split(',').filter(|s| !s.is_empty()) {
            let (x, times) = match item.split_once('*') {
                Some((x, n)) => (x, self.value::<usize>(key, n)),
                None => (item, 1),
            };
            let x = if x == "_" {
                None
            } else {
                Some(self.value::<f64>(key, x))
            };
            out.extend(std::iter::repeat_n(x, times));
        }
        Some(out)
    }

    fn floats(&mut self, key: &str) -> Option<Vec<f64>> {
        let list = self.list(key)?;
        Some(
            list.into_iter()
                .map(|x| x.unwrap_or_else(|| self.fail(format!("`_` in `{key}`"))))
                .collect(),
        )
    }

    fn task(&mut self) -> Task {
        let v = self.req("task");
        Task::from_name(v).unwrap_or_else(|e| self.fail(e))
    }

    /// The rule named by `rule=` (with `trim=`), checked.
    fn rule(&mut self) -> Option<Rule> {
        let rule = self.rule_unchecked()?;
        rule.validate().unwrap_or_else(|e| self.fail(e));
        Some(rule)
    }

    /// The rule named by `rule=` (with `trim=`), not checked: the aggregate functions
    /// check it and the error is part of the output.
    fn rule_unchecked(&mut self) -> Option<Rule> {
        let name = self.opt("rule")?;
        let trim = self.num_or("trim", aggregate::DEFAULT_TRIM);
        Some(match name {
            "trimmed-mean" => Rule::TrimmedMean { trim },
            _ => Rule::from_name(name, trim).unwrap_or_else(|e| self.fail(e)),
        })
    }

    fn done(&self) {
        if let Some(k) = self.map.keys().next() {
            self.fail(format!("unknown argument `{k}`"));
        }
    }
}

/// What a case's commands act on.
enum State {
    Empty,
    Trust(Box<Trust>),
    Protocol(Box<Protocol>),
}

fn run_case(file: &str, case: &Case) -> Vec<String> {
    let mut out = Vec::new();
    let mut state = State::Empty;
    for (line, text) in &case.commands {
        let args = Args::parse(file, *line, text);
        match args.command {
            "aggregate" => cmd_aggregate(args, &mut out),
            "trust" => state = State::Trust(Box::new(cmd_trust(args))),
            "protocol" => match cmd_protocol(args) {
                Ok((p, described)) => {
                    out.extend(described);
                    state = State::Protocol(Box::new(p));
                }
                Err(line) => {
                    out.push(line);
                    state = State::Empty;
                }
            },
            _ => match &mut state {
                State::Trust(t) => trust_step(args, t, &mut out),
                State::Protocol(p) => protocol_step(args, p, &mut out),
                State::Empty => args.fail("unknown command (or no `trust`/`protocol` before it)"),
            },
        }
    }
    out
}

fn cmd_aggregate(mut args: Args, out: &mut Vec<String>) {
    let scores = args.floats("scores").unwrap_or_default();
    let weights = args.floats("weights");
    let rules = match args.rule_unchecked() {
        Some(rule) => vec![rule],
        None => {
            let trim = args.num_or("trim", aggregate::DEFAULT_TRIM);
            vec![
                Rule::Mean,
                Rule::Median,
                Rule::TrimmedMean { trim },
                Rule::WeightedMean,
                Rule::WeightedMedian,
            ]
        }
    };
    args.done();
    for rule in rules {
        let line = match rule {
            Rule::TrimmedMean { trim } => match aggregate::trimmed_mean(&scores, trim) {
                Ok(t) => format!("trimmed-mean({trim:?}) {:?} per-side {}", t.value, t.per_side),
                Err(e) => format!("trimmed-mean({trim:?}) error: {e}"),
            },
            _ => match aggregate::aggregate(rule, &scores, weights.as_deref()) {
                Ok(v) => format!("{} {v:?}", rule.name()),
                Err(e) => format!("{} error: {e}", rule.name()),
            },
        };
        out.push(line);
    }
}

/// Policy parameters; `w_min` and `w_max` apply to whichever policy is built.
fn trust_params(args: &mut Args) -> TrustParams {
    let d = TrustParams::default();
    let p = d.published;
    let c = d.calibrated;
    let (r, a) = (d.crh, d.catd);
    let some = |args: &mut Args, key| args.opt(key).map(|v| args.value::<f64>(key, v));
    let (w_min_set, w_max_set, rate) = (some(args, "w_min"), some(args, "w_max"), some(args, "rate"));
    let w_min = w_min_set.unwrap_or(p.w_min);
    let w_max = w_max_set.unwrap_or(p.w_max);
    TrustParams {
        published: PublishedParams {
            initial: args.num_or("initial", p.initial),
            lambda: args.num_or("lambda", p.lambda),
            w_min,
            w_max,
        },
        calibrated: CalibratedParams {
            prior_error: args.num_or("prior_error", c.prior_error),
            slow_rate: args.num_or("slow_rate", c.slow_rate),
            fast_rate: args.num_or("fast_rate", c.fast_rate),
            reference_rate: args.num_or("reference_rate", c.reference_rate),
            bias_weight: args.num_or("bias_weight", c.bias_weight),
            w_min,
            w_max,
        },
        // CRH and CATD keep their own bounds unless the case sets them.
        crh: CrhParams {
            prior_loss: args.num_or("prior_loss", r.prior_loss),
            rate: rate.unwrap_or(r.rate),
            w_min: w_min_set.unwrap_or(r.w_min),
            w_max: w_max_set.unwrap_or(r.w_max),
        },
        catd: CatdParams {
            alpha: args.num_or("alpha", a.alpha),
            rate: rate.unwrap_or(a.rate),
            w_min: w_min_set.unwrap_or(a.w_min),
            w_max: w_max_set.unwrap_or(a.w_max),
        },
        gold: d.gold,
    }
}

fn cmd_trust(mut args: Args) -> Trust {
    let kind = TrustKind::from_name(args.req("policy")).unwrap_or_else(|e| args.fail(e));
    let n: usize = args.num("n");
    let params = trust_params(&mut args);
    let trust = kind.build(&params, n).unwrap_or_else(|e| args.fail(e));
    args.done();
    trust
}

fn trust_step(mut args: Args, t: &mut Trust, out: &mut Vec<String>) {
    match args.command {
        "update" | "gold" => {
            let gold = args.command == "gold";
            let task = args.task();
            let consensus: f64 = args.num(if gold { "truth" } else { "consensus" });
            let times: usize = args.num_or("times", 1);
            let reports: Vec<poq_core::trust::Report> = args
                .req("reports")
                .split(',')
                .map(|r| {
                    let (e, s) = r
                        .split_once(':')
                        .unwrap_or_else(|| args.fail(format!("report `{r}` is not e:s")));
                    poq_core::trust::Report {
                        evaluator: EvaluatorId(args.value("reports", e)),
                        score: args.value("reports", s),
                    }
                })
                .collect();
            args.done();
            let mut changes = Vec::new();
            for _ in 0..times {
                changes.clear();
                if gold {
                    t.learn_gold(&reports, consensus, task, &mut changes);
                } else {
                    t.update(&reports, consensus, task, &mut changes);
                }
            }
            let moved: Vec<String> = changes
                .iter()
                .map(|c| format!("{} {:?} -> {:?}", c.evaluator, c.before, c.after))
                .collect();
            let times = if times > 1 {
                format!(" (last of {times})")
            } else {
                String::new()
            };
            let what = if gold { "gold" } else { "update" };
            let c = if gold { "truth" } else { "c" };
            out.push(format!("{what} {task} {c}={consensus:?}{times}: {}", moved.join(", ")));
        }
        "penalize" => {
            let task = args.task();
            let e = EvaluatorId(args.num("e"));
            let times: usize = args.num_or("times", 1);
            args.done();
            let mut c = t.penalize_missing(e, task);
            for _ in 1..times {
                c = t.penalize_missing(e, task);
            }
            let times = if times > 1 {
                format!(" (last of {times})")
            } else {
                String::new()
            };
            out.push(format!("penalize {task} {e}{times}: {:?} -> {:?}", c.before, c.after));
        }
        "calibrate" => {
            let task = args.task();
            let e = EvaluatorId(args.num("e"));
            let score: f64 = args.num("score");
            args.done();
            out.push(format!(
                "calibrate {task} {e} {score:?}: {:?} (standing {:?})",
                t.calibrate(e, task, score),
                t.standing(e)
            ));
        }
        "weights" => {
            let task = args
                .opt("task")
                .map(|v| Task::from_name(v).unwrap_or_else(|e| args.fail(e)));
            args.done();
            let n = t.pool_size() as u32;
            let w: Vec<String> = (0..n)
                .map(EvaluatorId)
                .map(|e| format!("{:?}", task.map_or_else(|| t.weight(e), |task| t.weight_for(e, task))))
                .collect();
            let label = task.map_or("overall".to_string(), |t| t.to_string());
            out.push(format!("weights {label}: {}", w.join(" ")));
        }
        "state" => {
            let task = args.task();
            args.done();
            for e in (0..t.pool_size() as u32).map(EvaluatorId) {
                out.push(match t {
                    Trust::Calibrated(c) => format!(
                        "{e} {task}: error {:?} relative bias {:?}",
                        c.error_for(e, task),
                        c.relative_bias_for(e, task)
                    ),
                    Trust::Crh(c) => format!("{e} {task}: loss {:?}", c.loss_for(e, task)),
                    Trust::Catd(c) => format!("{e} {task}: claims {:?}", c.claims_for(e, task)),
                    Trust::Gold(g) => format!(
                        "{e} {task}: gold count {:?} calibration {:?}",
                        g.gold_count_for(e, task),
                        g.calibration_for(e, task)
                    ),
                    _ => args.fail("only calibrated, crh, catd and gold trust have a state to print"),
                });
            }
        }
        _ => args.fail("unknown trust command"),
    }
}

fn registration(args: &Args, name: &str) -> Registration {
    match name {
        "all" => Registration::all_tasks(),
        "none" => Registration::new(vec![]),
        _ => Registration::new(
            name.split('+')
                .map(|t| Task::from_name(t).unwrap_or_else(|e| args.fail(e)))
                .collect(),
        ),
    }
}

fn ids(v: &[EvaluatorId]) -> String {
    v.iter().map(|e| e.to_string()).collect::<Vec<_>>().join(" ")
}

fn cmd_protocol(mut args: Args) -> Result<(Protocol, Vec<String>), String> {
    let n: usize = args.num("n");
    let k: usize = args.num("k");
    let rule = args.rule().unwrap_or(Rule::Median);
    let kind = TrustKind::from_name(args.opt("trust").unwrap_or("published")).unwrap_or_else(|e| args.fail(e));
    let params = trust_params(&mut args);
    let missing = match args.opt("missing").unwrap_or("penalize") {
        "penalize" => MissingReport::Penalize,
        "ignore" => MissingReport::Ignore,
        other => args.fail(format!("missing={other}")),
    };
    let scaling = match args.opt("scaling").unwrap_or("flat") {
        "flat" => EvaluatorScaling::Flat,
        "trust" => EvaluatorScaling::Trust,
        other => args.fail(format!("scaling={other}")),
    };
    let d = RewardParams::default();
    let rewards = RewardParams {
        alpha: args.num_or("alpha", d.alpha),
        beta: args.num_or("beta", d.beta),
        alpha_eval: args.num_or("alpha_eval", d.alpha_eval),
        beta_eval: args.num_or("beta_eval", d.beta_eval),
        eval_budget: args.num_or("budget", d.eval_budget),
        allow_negative: args.num_or("slashing", false),
        evaluator_scaling: scaling,
    };
    let config = ProtocolConfig {
        round: RoundConfig {
            rule,
            quorum: args.num_or("quorum", 0),
            rewards,
            inference_cost: CostScale::Reference {
                reference: args.num_or("inference_ref", 1000.0),
            },
            evaluator_cost: CostScale::Reference {
                reference: args.num_or("eval_ref", 100.0),
            },
            missing,
        },
        committee_size: k,
        reveal_window: 0,
    };
    let nodes = args.num_or("nodes", 1);
    let registry: Vec<Registration> = match args.opt("registry") {
        Some(list) => list.split(',').map(|r| registration(&args, r)).collect(),
        None => vec![Registration::all_tasks(); n],
    };
    let trust = kind.build(&params, n).unwrap_or_else(|e| args.fail(e));
    args.done();
    // A protocol that cannot be built is output; later commands in its case then fail.
    let p = Protocol::new(config, trust, registry, nodes).map_err(|e| format!("error: {e}"))?;
    let described = Task::ALL
        .iter()
        .map(|&task| format!("eligible {task}: {}", ids(p.eligible(task))))
        .collect();
    Ok((p, described))
}

fn missing_lines(out: &mut Vec<String>, missing: &[MissingOutcome]) {
    for m in missing {
        out.push(format!(
            "  {} missing w {:?} -> {:?} reward {:?}",
            m.evaluator, m.weight_before, m.weight_after, m.reward
        ));
    }
}

fn outcome_lines(out: &mut Vec<String>, verb: &str, o: &Outcome) {
    let trimmed = o
        .trimmed_per_side
        .map_or(String::new(), |g| format!(" (trimmed {g} per side)"));
    out.push(format!(
        "{verb} {} ({}, {}): consensus {:?}{trimmed}, inference reward {:?}",
        o.round, o.task, o.inference_node, o.consensus, o.inference_reward
    ));
    for r in &o.reports {
        out.push(format!(
            "  {} score {:?} d {:?} w {:?} -> {:?} reward {:?}",
            r.evaluator, r.score, r.deviation, r.weight_before, r.weight_after, r.reward
        ));
    }
    missing_lines(out, &o.missing);
}

fn expiry_lines(out: &mut Vec<String>, verb: &str, x: &Expiry) {
    out.push(format!(
        "{verb} {} ({}, {}): expired with {} of {} reports",
        x.round, x.task, x.inference_node, x.received, x.quorum
    ));
    missing_lines(out, &x.missing);
}

fn floats(v: &[f64]) -> String {
    v.iter().map(|x| format!("{x:?}")).collect::<Vec<_>>().join(" ")
}

fn counts(v: &[u64]) -> String {
    v.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(" ")
}

fn protocol_step(mut args: Args, p: &mut Protocol, out: &mut Vec<String>) {
    match args.command {
        "open" => {
            let beacon = [args.num::<u8>("beacon"); 32];
            let node = NodeId(args.num("node"));
            let task = args.task();
            let cost: f64 = args.num_or("cost", 0.0);
            args.done();
            match p.open(&beacon, node, task, cost) {
                Ok(id) => {
                    let committee = p.round(id).expect("just opened").committee();
                    out.push(format!("open {id} ({task}, {node}): committee {}", ids(committee)));
                }
                Err(e) => out.push(format!("open error: {e}")),
            }
        }
        "submit" => {
            let id = RoundId(args.num("round"));
            let reports: Vec<(EvaluatorId, Option<f64>, f64)> = if let Some(e) = args.opt("e") {
                let e = EvaluatorId(args.value("e", e));
                let score = args.num("score");
                vec![(e, Some(score), args.num_or("cost", 0.0))]
            } else {
                let scores = args
                    .list("scores")
                    .unwrap_or_else(|| args.fail("needs `scores=` or `e=`"));
                let costs = args.floats("costs").unwrap_or_else(|| vec![0.0; scores.len()]);
                let Some(round) = p.round(id) else {
                    args.fail(format!("{id} is not open: use `e=` to submit to it"))
                };
                if scores.len() != round.committee().len() || costs.len() != scores.len() {
                    args.fail("give one score (or `_`) and one cost per committee member");
                }
                round
                    .committee()
                    .iter()
                    .zip(scores)
                    .zip(costs)
                    .map(|((&e, s), c)| (e, s, c))
                    .collect()
            };
            args.done();
            let mut parts = Vec::new();
            for (e, s, c) in reports {
                match s {
                    None => parts.push(format!("{e} silent")),
                    Some(s) => match p.submit(id, e, s, c) {
                        Ok(()) => parts.push(format!("{e} {s:?}")),
                        Err(err) => parts.push(format!("{e} error: {err}")),
                    },
                }
            }
            out.push(format!("submit {id}: {}", parts.join(", ")));
        }
        "finalize" | "expire" | "close" => {
            let id = RoundId(args.num("round"));
            let verb = args.command;
            args.done();
            let result = match verb {
                "finalize" => p.finalize(id).map(Closed::Finalized),
                "expire" => p.expire(id).map(Closed::Expired),
                _ => p.close(id),
            };
            match result {
                Ok(Closed::Finalized(o)) => outcome_lines(out, verb, &o),
                Ok(Closed::Expired(x)) => expiry_lines(out, verb, &x),
                Err(e) => out.push(format!("{verb} {id} error: {e}")),
            }
        }
        "book" => {
            args.done();
            let b = p.book();
            out.push(format!(
                "book inference {} (rounds {})",
                floats(&b.inference),
                counts(&b.inference_rounds)
            ));
            out.push(format!(
                "book evaluator {} (rounds {}; missed {})",
                floats(&b.evaluator),
                counts(&b.evaluator_rounds),
                counts(&b.evaluator_missed)
            ));
            out.push(format!("book total {:?}", b.total()));
        }
        "weights" => {
            let task = args.task();
            args.done();
            let w: Vec<f64> = (0..p.evaluators() as u32)
                .map(|e| p.weight(EvaluatorId(e), task))
                .collect();
            out.push(format!(
                "weights {task}: {} (reference {:?})",
                floats(&w),
                p.reference_trust(task)
            ));
        }
        _ => args.fail("unknown protocol command"),
    }
}

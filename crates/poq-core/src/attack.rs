//! Malicious evaluator behaviours (spec §5) as pure transforms of honest scores.
//!
//! An attack sees what a real attacker could: its own honest score (what its model
//! said), the honest scores of its coalition for coordinated attacks, its own published
//! trust, and the round's public history. Randomness comes from the caller's generator,
//! drawn in committee order, so a round replays exactly from its seed.
//!
//! The four published attacks are `noise`, `boosting`, `sabotage` and `intermittent`;
//! ours are `collusion`, `on-off`, `constant`, `copycat`, `sybil` and `withhold`.
//!
//! A report is `Some(score)`, or `None` for a member that stays silent (`withhold`):
//! what happens to a silent member is the protocol's missing-report rule.

use crate::params::check_param;
use crate::rng::{chance, standard_normal};
use crate::{CoreError, Result, SCORE_MAX, SCORE_MIN};
use rand_core::Rng;
use serde::{Deserialize, Serialize};

/// Default standard deviation σ of the noise attack.
pub const DEFAULT_NOISE_SIGMA: f64 = 2.5;
/// Default shift b of boosting, sabotage and their variants.
pub const DEFAULT_SHIFT: f64 = 3.0;
/// Default per-round attack probability p of the intermittent attack.
pub const DEFAULT_INTERMITTENT_P: f64 = 0.3;
/// Default score reported by the constant (lazy) attacker.
pub const DEFAULT_CONSTANT: f64 = 7.0;
/// Default score the copycat reports before any consensus is published.
pub const DEFAULT_COPYCAT_FALLBACK: f64 = 5.0;
/// Default relative trust at or above which the on-off attacker attacks.
pub const DEFAULT_ON_OFF_THRESHOLD: f64 = 0.9;
/// Default honest rounds of the on-off attacker before its first attack.
pub const DEFAULT_ON_OFF_WARMUP: u64 = 100;
/// Default distance (score points) from the others' median beyond which the
/// withholding evaluator stays silent.
pub const DEFAULT_WITHHOLD_THRESHOLD: f64 = 1.5;

/// One malicious behaviour, with its parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "attack", rename_all = "kebab-case")]
pub enum Attack {
    /// Every evaluator is honest.
    None,
    /// s' = clip(s + ε, 0, 10), ε ~ N(0, σ²).
    Noise {
        /// Standard deviation σ of the added noise.
        sigma: f64,
    },
    /// s' = min(10, s + b).
    Boosting {
        /// Shift b.
        shift: f64,
    },
    /// s' = max(0, s − b).
    Sabotage {
        /// Shift b.
        shift: f64,
    },
    /// With probability p per round, boost or sabotage (a fair coin picks which);
    /// otherwise honest.
    Intermittent {
        /// Per-round attack probability.
        p: f64,
        /// Shift b.
        shift: f64,
    },
    /// All malicious members of the committee report one agreed value: the median of
    /// their honest scores plus b, clipped. They agree perfectly with each other, which
    /// defeats any reference built from a committee they dominate.
    Collusion {
        /// Shift b applied to the agreed value.
        shift: f64,
    },
    /// Camouflage: honest for the first `warmup` rounds, then boosting by b while its
    /// trust is at least `threshold` × the pool's reference trust, and honest again
    /// whenever it falls below, to rebuild trust before the next attack.
    OnOff {
        /// Shift b when attacking.
        shift: f64,
        /// Trust, relative to the pool's reference, at or above which it attacks.
        threshold: f64,
        /// Rounds of honest behaviour before the first attack.
        warmup: u64,
    },
    /// Lazy: reports a fixed score without running the model.
    Constant {
        /// The fixed score.
        value: f64,
    },
    /// Reports the last published consensus (or `fallback` before there is one),
    /// without running the model.
    Copycat {
        /// The score reported before any consensus has been published.
        fallback: f64,
    },
    /// One operator behind many identities: it runs the model once (the first of its
    /// identities in the committee) and reports that score plus b from every identity.
    /// How many identities it registers is the malicious fraction ρ of the pool.
    Sybil {
        /// Shift b.
        shift: f64,
    },
    /// Strategic abstention: reports its honest score, but stays silent whenever that
    /// score is more than `threshold` points from the median of the other members'
    /// reports (the last revealer sees them), i.e. whenever reporting would cost it
    /// trust. Whether that pays is decided by the protocol's missing-report rule.
    Withhold {
        /// Distance from the others' median beyond which it stays silent.
        threshold: f64,
    },
}

impl Attack {
    /// The attack names, in the spec's order, as outputs and `--attack` spell them.
    pub const NAMES: [&'static str; 11] = [
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
    ];

    /// [`Attack::NAMES`] as one comma-separated list, for messages.
    pub const NAMES_LIST: &'static str =
        "none, noise, boosting, sabotage, intermittent, collusion, on-off, constant, copycat, sybil, withhold";

    /// The attack called `name`, with the spec's default parameters.
    pub fn from_name(name: &str) -> Result<Self> {
        Ok(match name {
            "none" => Attack::None,
            "noise" => Attack::Noise {
                sigma: DEFAULT_NOISE_SIGMA,
            },
            "boosting" => Attack::Boosting { shift: DEFAULT_SHIFT },
            "sabotage" => Attack::Sabotage { shift: DEFAULT_SHIFT },
            "intermittent" => Attack::Intermittent {
                p: DEFAULT_INTERMITTENT_P,
                shift: DEFAULT_SHIFT,
            },
            "collusion" => Attack::Collusion { shift: DEFAULT_SHIFT },
            "on-off" => Attack::OnOff {
                shift: DEFAULT_SHIFT,
                threshold: DEFAULT_ON_OFF_THRESHOLD,
                warmup: DEFAULT_ON_OFF_WARMUP,
            },
            "constant" => Attack::Constant {
                value: DEFAULT_CONSTANT,
            },
            "copycat" => Attack::Copycat {
                fallback: DEFAULT_COPYCAT_FALLBACK,
            },
            "sybil" => Attack::Sybil { shift: DEFAULT_SHIFT },
            "withhold" => Attack::Withhold {
                threshold: DEFAULT_WITHHOLD_THRESHOLD,
            },
            _ => {
                return Err(CoreError::UnknownName {
                    kind: "attack",
                    name: name.to_string(),
                    expected: Self::NAMES_LIST,
                });
            }
        })
    }

    /// The attack's name (one of [`Attack::NAMES`]).
    pub fn name(&self) -> &'static str {
        match self {
            Attack::None => "none",
            Attack::Noise { .. } => "noise",
            Attack::Boosting { .. } => "boosting",
            Attack::Sabotage { .. } => "sabotage",
            Attack::Intermittent { .. } => "intermittent",
            Attack::Collusion { .. } => "collusion",
            Attack::OnOff { .. } => "on-off",
            Attack::Constant { .. } => "constant",
            Attack::Copycat { .. } => "copycat",
            Attack::Sybil { .. } => "sybil",
            Attack::Withhold { .. } => "withhold",
        }
    }

    /// Checks the parameters.
    pub fn validate(&self) -> Result<()> {
        let check = check_param;
        match *self {
            Attack::None => Ok(()),
            Attack::Noise { sigma } => check("sigma", sigma, sigma >= 0.0, "must be >= 0"),
            Attack::Boosting { shift }
            | Attack::Sabotage { shift }
            | Attack::Collusion { shift }
            | Attack::Sybil { shift } => check("shift", shift, (0.0..=10.0).contains(&shift), "must be in [0, 10]"),
            Attack::Intermittent { p, shift } => {
                check("p", p, (0.0..=1.0).contains(&p), "must be a probability in [0, 1]")?;
                check("shift", shift, (0.0..=10.0).contains(&shift), "must be in [0, 10]")
            }
            Attack::OnOff { shift, threshold, .. } => {
                check("shift", shift, (0.0..=10.0).contains(&shift), "must be in [0, 10]")?;
                check("threshold", threshold, threshold >= 0.0, "must be >= 0")
            }
            Attack::Constant { value } => check(
                "value",
                value,
                (0.0..=10.0).contains(&value),
                "must be a score in [0, 10]",
            ),
            Attack::Copycat { fallback } => check(
                "fallback",
                fallback,
                (0.0..=10.0).contains(&fallback),
                "must be a score in [0, 10]",
            ),
            Attack::Withhold { threshold } => check("threshold", threshold, threshold >= 0.0, "must be >= 0"),
        }
    }
}

/// What an attacker can see of the round's public history
/// ([`crate::protocol::Protocol::history`] builds it).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct History {
    /// The id of the round being scored (rounds are numbered from 0 in opening order).
    pub round: u64,
    /// The consensus published by the previous round, if any.
    pub last_consensus: Option<f64>,
    /// The pool's reference trust (its median published trust weight).
    pub reference_trust: f64,
}

/// One committee member as the attack transform sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Member {
    /// The score its model gives (what an honest evaluator reports).
    pub honest: f64,
    /// Whether this member is malicious.
    pub malicious: bool,
    /// Its current published trust weight.
    pub trust: f64,
}

fn clip(x: f64) -> f64 {
    x.clamp(SCORE_MIN, SCORE_MAX)
}

/// Transforms a committee's honest scores into the reports it sends, writing one report
/// per member into `out` (cleared first): `Some(score)`, or `None` for a member that
/// stays silent. Honest members report their honest score.
///
/// Honest scores are the caller's and assumed in [0, 10]; reported scores always are.
pub fn apply(attack: &Attack, members: &[Member], history: &History, rng: &mut impl Rng, out: &mut Vec<Option<f64>>) {
    out.clear();
    // The coalition's agreed value for the coordinated attacks, from the first
    // malicious member (sybil) or all of them (collusion).
    let coordinated = match *attack {
        Attack::Collusion { shift } => coalition_median(members).map(|m| clip(m + shift)),
        Attack::Sybil { shift } => members.iter().find(|m| m.malicious).map(|m| clip(m.honest + shift)),
        _ => None,
    };
    for (i, m) in members.iter().enumerate() {
        if !m.malicious {
            out.push(Some(m.honest));
            continue;
        }
        let s = m.honest;
        let reported = match *attack {
            Attack::None => s,
            Attack::Noise { sigma } => clip(s + sigma * standard_normal(rng)),
            Attack::Boosting { shift } => clip(s + shift),
            Attack::Sabotage { shift } => clip(s - shift),
            Attack::Intermittent { p, shift } => {
                // Both draws are always made, so the stream does not depend on outcomes.
                let attack_now = chance(rng, p);
                let boost = chance(rng, 0.5);
                match (attack_now, boost) {
                    (false, _) => s,
                    (true, true) => clip(s + shift),
                    (true, false) => clip(s - shift),
                }
            }
            Attack::Collusion { .. } | Attack::Sybil { .. } => coordinated.unwrap_or(s),
            Attack::OnOff {
                shift,
                threshold,
                warmup,
            } => {
                if history.round >= warmup && m.trust >= threshold * history.reference_trust {
                    clip(s + shift)
                } else {
                    s
                }
            }
            Attack::Constant { value } => value,
            Attack::Copycat { fallback } => history.last_consensus.unwrap_or(fallback),
            Attack::Withhold { threshold } => {
                // Every other member reports its honest score under this attack.
                let others = median_of_others(members, i);
                if others.is_some_and(|o| (s - o).abs() > threshold) {
                    out.push(None);
                    continue;
                }
                s
            }
        };
        out.push(Some(reported));
    }
}

/// Median of every member's honest score but member `skip`'s (mean of the two middle
/// values for an even count); `None` for a committee of one.
fn median_of_others(members: &[Member], skip: usize) -> Option<f64> {
    let mut v: smallvec::SmallVec<[f64; 32]> = members
        .iter()
        .enumerate()
        .filter(|&(j, _)| j != skip)
        .map(|(_, m)| m.honest)
        .collect();
    crate::stats::median_in_place(&mut v)
}

/// Median of the malicious members' honest scores (lower median for an even count, so
/// the agreed value is one of the scores they actually hold).
fn coalition_median(members: &[Member]) -> Option<f64> {
    let mut v: Vec<f64> = members.iter().filter(|m| m.malicious).map(|m| m.honest).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_unstable_by(f64::total_cmp);
    Some(v[(v.len() - 1) / 2])
}

//! The genesis: everything a network fixes at its start, in one file every node holds.

use crate::digest::Hash;
use crate::error::LedgerError;
use crate::key::PublicKey;
use crate::tx::Roles;
use poq_core::protocol::ProtocolConfig;
use poq_core::trust::{TrustKind, TrustParams};
use serde::{Deserialize, Serialize};

/// The longest window or delay a genesis may set, in blocks.
pub const MAX_WINDOW: u64 = 1_000_000;
/// The largest fee, bond or round reserve a genesis may imply, in micro-units (the
/// supply itself is bounded by `i64::MAX`).
pub const MAX_AMOUNT: u64 = 1_000_000_000_000_000;

/// Heights and amounts of the round and the accounts (all in blocks or micro-units).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Params {
    /// k: a round submitted at height h draws its committee from block h + k.
    pub draw_delay: u64,
    /// C: commits are accepted for C blocks after the draw.
    pub commit_blocks: u64,
    /// R: reveals are accepted for R blocks after the commit window closes (it closes
    /// early once every member has committed).
    pub reveal_blocks: u64,
    /// The furthest ahead, in blocks, a transaction's or receipt's expiry may lie.
    pub max_ttl: u64,
    /// Micro-units a gateway pays per submitted round (refunded if it expires).
    pub submit_fee: u64,
    /// Micro-units per unit of protocol reward (1 reward = this many micro-units).
    pub micro_per_reward: u64,
    /// The smallest bond an evaluator registers with.
    pub min_bond_evaluator: u64,
    /// The smallest bond an inference node registers with.
    pub min_bond_inference: u64,
    /// The smallest bond a gateway registers with.
    pub min_bond_gateway: u64,
    /// Micro-units a `Register` transaction pays the treasury (so that accounts, which
    /// the state keeps forever, are not free).
    pub register_fee: u64,
}

impl Default for Params {
    fn default() -> Self {
        Self {
            draw_delay: 2,
            commit_blocks: 10,
            reveal_blocks: 10,
            max_ttl: 256,
            submit_fee: 1_000_000,
            micro_per_reward: 1_000_000,
            min_bond_evaluator: 0,
            min_bond_inference: 0,
            min_bond_gateway: 0,
            register_fee: 1_000_000,
        }
    }
}

impl Params {
    fn validate(&self) -> Result<(), LedgerError> {
        let positive = [
            ("params.draw_delay", self.draw_delay),
            ("params.commit_blocks", self.commit_blocks),
            ("params.reveal_blocks", self.reveal_blocks),
            ("params.max_ttl", self.max_ttl),
            ("params.micro_per_reward", self.micro_per_reward),
        ];
        for (field, v) in positive {
            if v == 0 {
                return Err(LedgerError::Genesis {
                    field,
                    value: "0".into(),
                    reason: "must be at least 1",
                });
            }
        }
        // Heights stay far from u64::MAX and windows short enough to be useful.
        let heights = [
            ("params.draw_delay", self.draw_delay),
            ("params.commit_blocks", self.commit_blocks),
            ("params.reveal_blocks", self.reveal_blocks),
            ("params.max_ttl", self.max_ttl),
        ];
        for (field, v) in heights {
            if v > MAX_WINDOW {
                return Err(LedgerError::Genesis {
                    field,
                    value: v.to_string(),
                    reason: "must be at most 1000000 blocks",
                });
            }
        }
        let amounts = [
            ("params.submit_fee", self.submit_fee),
            ("params.min_bond_evaluator", self.min_bond_evaluator),
            ("params.min_bond_inference", self.min_bond_inference),
            ("params.min_bond_gateway", self.min_bond_gateway),
            ("params.register_fee", self.register_fee),
        ];
        for (field, v) in amounts {
            if v > MAX_AMOUNT {
                return Err(LedgerError::Genesis {
                    field,
                    value: v.to_string(),
                    reason: "must be at most 10^15 micro-units",
                });
            }
        }
        if self.micro_per_reward > 1_000_000_000_000 {
            return Err(LedgerError::Genesis {
                field: "params.micro_per_reward",
                value: self.micro_per_reward.to_string(),
                reason: "must be at most 10^12 (rewards must convert exactly enough to micro-units)",
            });
        }
        Ok(())
    }
}

/// An account that exists at genesis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisAccount {
    /// Its key.
    pub key: PublicKey,
    /// Spendable micro-units.
    #[serde(default)]
    pub balance: u64,
    /// Bonded micro-units.
    #[serde(default)]
    pub bond: u64,
    /// Roles registered at genesis (none: a plain account, such as a faucet).
    #[serde(default)]
    pub roles: Roles,
}

/// A network's genesis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Genesis {
    /// The network's name (part of its id).
    pub network: String,
    /// The validators' consensus keys (the engine's; the ledger only records them).
    pub validators: Vec<PublicKey>,
    /// Heights and amounts.
    #[serde(default)]
    pub params: Params,
    /// The protocol's configuration (rule, quorum, rewards, cost scales, K).
    pub protocol: ProtocolConfig,
    /// The trust policy.
    pub trust: TrustKind,
    /// Its parameters.
    #[serde(default)]
    pub trust_params: TrustParams,
    /// Micro-units the treasury starts with (it pays rewards).
    pub treasury: u64,
    /// Accounts, registered in this order (evaluator and node ids follow it).
    pub accounts: Vec<GenesisAccount>,
}

impl Genesis {
    /// Checks every value that the protocol does not check itself.
    pub fn validate(&self) -> Result<(), LedgerError> {
        if self.network.is_empty() || self.network.len() > 64 {
            return Err(LedgerError::Genesis {
                field: "network",
                value: self.network.clone(),
                reason: "must be 1 to 64 bytes",
            });
        }
        self.params.validate()?;
        self.protocol.validate()?;
        let reserve = reserve_of(&self.protocol, &self.params);
        if reserve > MAX_AMOUNT {
            return Err(LedgerError::Genesis {
                field: "protocol.round.rewards",
                value: reserve.to_string(),
                reason: "a round's largest payout (α + B_eval·α_e, in micro-units) must be at most 10^15",
            });
        }
        self.trust_params.validate()?;
        let mut keys: Vec<&PublicKey> = self.accounts.iter().map(|a| &a.key).collect();
        keys.sort();
        if let Some(w) = keys.windows(2).find(|w| w[0] == w[1]) {
            return Err(LedgerError::Genesis {
                field: "accounts",
                value: w[0].to_hex(),
                reason: "appears twice",
            });
        }
        let mut total: u128 = self.treasury as u128;
        for a in &self.accounts {
            total += a.balance as u128 + a.bond as u128;
        }
        if total > i64::MAX as u128 {
            return Err(LedgerError::Genesis {
                field: "accounts",
                value: total.to_string(),
                reason: "the supply (treasury, balances and bonds) must fit in an i64",
            });
        }
        Ok(())
    }

    /// The network id: bound into every signature. It is a digest of the name and of
    /// the genesis ledger's state (so of every parameter and account), so two networks
    /// with different genesis files never accept each other's transactions.
    pub fn network_id(&self, genesis_state: &Hash) -> Hash {
        Hash::of("poq/network/v1", &[self.network.as_bytes(), &genesis_state.0])
    }
}

/// A round's reserve: its largest possible payout in micro-units, α for the inference
/// node plus B_eval·α_e for the committee, rounded up, plus one micro-unit per payee for
/// rounding; [`Genesis::validate`] keeps it at most [`MAX_AMOUNT`].
pub(crate) fn reserve_of(c: &poq_core::protocol::ProtocolConfig, p: &Params) -> u64 {
    let r = &c.round.rewards;
    let max = r.alpha.max(0.0) + r.eval_budget.max(0.0) * r.alpha_eval.max(0.0);
    let micro = (max * p.micro_per_reward as f64).ceil();
    // `as` saturates; genesis refuses configurations where it would.
    (micro as u64).saturating_add(c.committee_size as u64 + 1)
}

//! The ledger: applies finalized blocks to the protocol and the balances.
//!
//! Each transaction is first *checked* against the state (pure; every failure is a
//! typed [`Rejection`] with nothing changed) and then *executed* (infallible). A block
//! applies its transactions in order, then closes the block: draws the committees due
//! at this height from this block's digest, closes the rounds whose window ended (or
//! whose committed members all revealed) through [`Protocol::close`], pays out in
//! micro-units, and drops replay entries and reference windows that expired.
//!
//! **Money.** Every micro-unit is in exactly one place: an account's balance or bond,
//! the treasury, or a round's escrow. A submission moves the fee from the gateway and
//! the round's largest possible payout from the treasury into escrow; the close pays
//! the protocol's rewards out of it (truncated toward zero to whole micro-units, so
//! nobody is paid more than the protocol computed) and returns the rest (and the fee)
//! to the treasury; an expiry refunds the fee. Slashing (negative rewards, when the
//! protocol allows them) moves micro-units from the account to the treasury. So the
//! sum over all places equals the genesis supply, exactly, after every block.
//!
//! **Digest.** After block h: `Hash::of("poq/ledger/v1/digest", digest(h−1) ‖ h ‖
//! block digest ‖ state hash)`, where the state hash covers everything here (the
//! protocol's canonical encoding included) but the rejection counts. Two nodes that applied the same blocks have
//! the same digest at every height.
//!
//! **Seed.** A committee is drawn from [`poq_core::protocol::committee_seed`] of the
//! digest of block h + k and the round id. Nobody knows it when the round is submitted,
//! but the proposer of block h + k can grind it (by choosing which transactions its
//! block carries, it can try many digests). A threshold-VRF seed (BLS12-381, produced
//! by the validators together) is the next step and is not done.

use crate::account::Account;
use crate::block::{Block, MAX_BLOCK_BYTES, MAX_BLOCK_TXS};
use crate::digest::Hash;
use crate::error::{LedgerError, Reason, Rejection};
use crate::event::{Applied, Event, Rejected};
use crate::genesis::{Genesis, Params};
use crate::key::PublicKey;
use crate::round::{LedgerRound, Revealed};
use crate::tx::{Body, Kind, Receipt, Roles, Tx, commitment, encode_evaluator, reference_commitment};
use poq_core::encoding::Encoder;
use poq_core::protocol::{Closed, Protocol};
use poq_core::{RoundId, SCORE_MAX, SCORE_MIN};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// A spot-check round that closed and awaits its reference answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PendingReference {
    /// The gateway that must reveal it.
    pub gateway: PublicKey,
    /// The receipt's request (bound into the commitment).
    pub request: Hash,
    /// The commitment.
    pub commitment: Hash,
    /// The last height that accepts the reveal.
    pub until: u64,
}

/// The ledger's whole state, as it serializes (and is restored from, with every
/// invariant checked).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerState {
    /// The network id.
    pub network: Hash,
    /// Heights and amounts.
    pub params: Params,
    /// The validators' consensus keys.
    pub validators: Vec<PublicKey>,
    /// Micro-units in existence (fixed at genesis).
    pub supply: u64,
    /// The last applied height (0: genesis).
    pub height: u64,
    /// The last applied block's digest ([`Block::genesis`]'s at height 0).
    pub last_block: Hash,
    /// The chained state digest at `height`.
    pub digest: Hash,
    /// Trust, rewards, history, open protocol rounds.
    pub protocol: Protocol,
    /// Accounts by key.
    pub accounts: BTreeMap<PublicKey, Account>,
    /// Evaluator keys by protocol evaluator id.
    pub evaluator_keys: Vec<PublicKey>,
    /// Inference node keys by protocol node id.
    pub node_keys: Vec<PublicKey>,
    /// The treasury's free micro-units.
    pub treasury: u64,
    /// Rounds not yet closed, by id.
    pub rounds: BTreeMap<RoundId, LedgerRound>,
    /// Closed spot-check rounds awaiting their reference, by id.
    pub references: BTreeMap<RoundId, PendingReference>,
    /// Applied transaction and receipt hashes, with the height after which they can no
    /// longer be included (and are forgotten).
    pub seen: BTreeMap<Hash, u64>,
    /// Rejected transactions so far, by reason.
    pub rejected: BTreeMap<Reason, u64>,
    /// The id the next submitted round gets.
    pub next_round: RoundId,
}

/// The ledger state machine (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(into = "LedgerState", try_from = "LedgerState")]
pub struct Ledger {
    s: LedgerState,
    /// `seen` ordered by expiry, for pruning (derived).
    expiring: BTreeSet<(u64, Hash)>,
}

/// What a checked transaction will do (executing it cannot fail).
#[allow(clippy::large_enum_variant)] // one at a time, never stored in bulk
enum Action {
    Register {
        roles: Roles,
        bond: u64,
    },
    Submit {
        receipt: Receipt,
        reserve: u64,
    },
    Commit {
        round: RoundId,
        pos: usize,
        commitment: Hash,
    },
    Reveal {
        round: RoundId,
        pos: usize,
        revealed: Revealed,
    },
    Reference {
        round: RoundId,
        reference: String,
    },
    Transfer {
        to: PublicKey,
        amount: u64,
    },
    Unbond {
        amount: u64,
    },
}

fn window(from: u64, until: u64) -> String {
    if from > until {
        "closed".into()
    } else {
        format!("heights {from}..={until}")
    }
}

impl Ledger {
    /// The ledger at height 0 of `genesis`.
    pub fn genesis(genesis: &Genesis) -> Result<Self, LedgerError> {
        genesis.validate()?;
        let trust = genesis.trust.build(&genesis.trust_params, 0)?;
        let mut protocol = Protocol::new(genesis.protocol, trust, Vec::new(), 0)?;
        let mut accounts = BTreeMap::new();
        let mut evaluator_keys = Vec::new();
        let mut node_keys = Vec::new();
        let mut supply = genesis.treasury;
        for a in &genesis.accounts {
            let mut account = Account {
                balance: a.balance as i64,
                bond: a.bond,
                ..Account::default()
            };
            if !a.roles.is_empty() {
                check_roles(&a.key, &a.roles).map_err(|r| LedgerError::Genesis {
                    field: "accounts.roles",
                    value: a.key.to_hex(),
                    reason: match r {
                        Rejection::BadRegistration { reason, .. } => reason,
                        _ => "invalid roles",
                    },
                })?;
                let min = min_bond(&genesis.params, &a.roles);
                if a.bond < min {
                    return Err(LedgerError::Genesis {
                        field: "accounts.bond",
                        value: a.bond.to_string(),
                        reason: "below the minimum bond for the account's roles",
                    });
                }
                account.registered = true;
                register(
                    &mut protocol,
                    &mut account,
                    &a.roles,
                    a.key,
                    &mut evaluator_keys,
                    &mut node_keys,
                )?;
            }
            supply += a.balance + a.bond;
            accounts.insert(a.key, account);
        }
        let mut s = LedgerState {
            network: Hash::default(),
            params: genesis.params,
            validators: genesis.validators.clone(),
            supply,
            height: 0,
            last_block: Hash::default(),
            digest: Hash::default(),
            protocol,
            accounts,
            evaluator_keys,
            node_keys,
            treasury: genesis.treasury,
            rounds: BTreeMap::new(),
            references: BTreeMap::new(),
            seen: BTreeMap::new(),
            rejected: BTreeMap::new(),
            next_round: RoundId(0),
        };
        s.network = genesis.network_id(&state_hash(&s));
        s.last_block = Block::genesis(&s.network).digest();
        s.digest = Hash::of("poq/ledger/v1/genesis", &[&s.network.0, &state_hash(&s).0]);
        Ok(Ledger {
            s,
            expiring: BTreeSet::new(),
        })
    }

    /// The network id every signature is bound to.
    pub fn network(&self) -> &Hash {
        &self.s.network
    }

    /// The last applied height.
    pub fn height(&self) -> u64 {
        self.s.height
    }

    /// The last applied block's digest.
    pub fn last_block(&self) -> &Hash {
        &self.s.last_block
    }

    /// The chained state digest at [`Ledger::height`].
    pub fn digest(&self) -> &Hash {
        &self.s.digest
    }

    /// The hash of the state alone (what the chained digest covers at this height
    /// besides the previous digest and the block).
    pub fn state_hash(&self) -> Hash {
        state_hash(&self.s)
    }

    /// The whole state.
    pub fn state(&self) -> &LedgerState {
        &self.s
    }

    /// The protocol (trust, rewards, history).
    pub fn protocol(&self) -> &Protocol {
        &self.s.protocol
    }

    /// An account.
    pub fn account(&self, key: &PublicKey) -> Option<&Account> {
        self.s.accounts.get(key)
    }

    /// A round not yet closed.
    pub fn round(&self, id: RoundId) -> Option<&LedgerRound> {
        self.s.rounds.get(&id)
    }

    /// Rejections so far, by reason.
    pub fn rejected(&self) -> &BTreeMap<Reason, u64> {
        &self.s.rejected
    }

    /// Micro-units held in rounds' escrow.
    pub fn escrow(&self) -> u64 {
        self.s.rounds.values().map(|r| r.fee + r.reserve).sum()
    }

    /// Every micro-unit counted where it is (balances, bonds, treasury, escrow): equal
    /// to the supply after every block.
    pub fn total(&self) -> i128 {
        let accounts: i128 = self
            .s
            .accounts
            .values()
            .map(|a| a.balance as i128 + a.bond as i128)
            .sum();
        accounts + self.s.treasury as i128 + self.escrow() as i128
    }

    /// [`Ledger::check`] of a decoded transaction whose signature the caller verified
    /// (a node's API does, outside its application's lock).
    pub fn check_verified(&self, tx: &Tx, hash: Hash) -> Result<(), Rejection> {
        self.check_tx(tx, hash, self.s.height + 1, true).map(|_| ())
    }

    /// Checks a transaction as if included in the next block (what a node answers a
    /// client that submits it).
    pub fn check(&self, bytes: &[u8]) -> Result<Tx, Rejection> {
        let tx = Tx::decode(bytes).map_err(Rejection::Malformed)?;
        self.check_tx(&tx, Tx::hash_bytes(bytes), self.s.height + 1, false)?;
        Ok(tx)
    }

    /// Checks only what cannot depend on how far this node's finalized state lags the
    /// network's: the encoding, the expiry, the signature, and that the transaction was
    /// not applied already. A peer's relayed transaction is admitted on this; whether it
    /// is in its round's window, from a member, funded, is decided when its block
    /// applies.
    pub fn precheck(&self, bytes: &[u8]) -> Result<Tx, Rejection> {
        let tx = Tx::decode(bytes).map_err(Rejection::Malformed)?;
        let hash = Tx::hash_bytes(bytes);
        self.precheck_fresh(&tx, hash)?;
        if !tx.verify(&self.s.network) {
            return Err(Rejection::BadSignature {
                tx: hash,
                kind: tx.body.kind(),
                signer: tx.signer,
            });
        }
        Ok(tx)
    }

    /// The state-dependent part of [`Ledger::precheck`] (expiry, replay), for a caller
    /// that decoded and verified the transaction itself (outside a lock on the ledger).
    pub fn precheck_fresh(&self, tx: &Tx, hash: Hash) -> Result<(), Rejection> {
        self.check_expiry(tx.expires, self.s.height + 1)?;
        if self.s.seen.contains_key(&hash) {
            return Err(Rejection::Replayed {
                what: "transaction",
                hash,
            });
        }
        Ok(())
    }

    /// Applies the next finalized block. A block at a height already applied is a
    /// no-op (`Ok(None)`): blocks may be delivered twice. A block that is not the next
    /// one, or does not chain to the last, is an error and changes nothing.
    pub fn apply(&mut self, block: &Block) -> Result<Option<Applied>, LedgerError> {
        Ok(self.next(block)?.map(|(next, applied)| {
            *self = next;
            applied
        }))
    }

    /// The ledger after `block`, leaving this one as it is (a store writes the new
    /// state before it replaces the old); `Ok(None)` for a height already applied.
    pub fn next(&self, block: &Block) -> Result<Option<(Ledger, Applied)>, LedgerError> {
        self.next_with(block, &|_| false)
    }

    /// [`Ledger::next`], skipping the signature check of the transactions for which
    /// `verified(hash)` holds: the caller verified their signatures on this network
    /// already (a node's mempool did when it admitted them). A signature's validity is
    /// a function of the bytes and the network id alone, so the result is the same as
    /// checking again; only the time differs. Receipt signatures are always checked.
    pub fn next_with(
        &self,
        block: &Block,
        verified: &dyn Fn(&Hash) -> bool,
    ) -> Result<Option<(Ledger, Applied)>, LedgerError> {
        if block.height <= self.s.height {
            return Ok(None);
        }
        if block.height != self.s.height + 1 {
            return Err(LedgerError::HeightGap {
                expected: self.s.height + 1,
                got: block.height,
            });
        }
        if block.parent != self.s.last_block {
            return Err(LedgerError::ParentMismatch {
                height: block.height,
                expected: self.s.last_block,
                got: block.parent,
            });
        }
        if block.txs.len() > MAX_BLOCK_TXS || block.encoded_len() > MAX_BLOCK_BYTES {
            return Err(LedgerError::TooLarge {
                height: block.height,
                count: block.txs.len(),
                bytes: block.encoded_len(),
            });
        }
        // Work on a copy: the block applies whole or not at all.
        let mut next = self.clone();
        let applied = next.apply_block(block, verified)?;
        Ok(Some((next, applied)))
    }

    fn apply_block(&mut self, block: &Block, verified: &dyn Fn(&Hash) -> bool) -> Result<Applied, LedgerError> {
        let height = block.height;
        let digest = block.digest();
        let mut events = Vec::new();
        let mut rejected = Vec::new();
        for (index, bytes) in block.txs.iter().enumerate() {
            let hash = Tx::hash_bytes(bytes);
            let checked = Tx::decode(bytes).map_err(Rejection::Malformed).and_then(|tx| {
                self.check_tx(&tx, hash, height, verified(&hash))
                    .map(|action| (tx, action))
            });
            match checked {
                Ok((tx, action)) => {
                    self.remember(hash, tx.expires);
                    self.execute(&tx, action, height, &mut events)?;
                }
                Err(rejection) => {
                    *self.s.rejected.entry(rejection.reason()).or_insert(0) += 1;
                    rejected.push(Rejected {
                        index,
                        tx: hash,
                        rejection,
                    });
                }
            }
        }
        self.draw(height, &digest, &mut events)?;
        self.close_rounds(height, &mut events)?;
        self.prune(height, &mut events);
        self.s.height = height;
        self.s.last_block = digest;
        self.s.digest = Hash::of(
            "poq/ledger/v1/digest",
            &[
                &self.s.digest.0,
                &height.to_le_bytes(),
                &digest.0,
                &state_hash(&self.s).0,
            ],
        );
        Ok(Applied {
            height,
            block: digest,
            digest: self.s.digest,
            events,
            rejected,
        })
    }

    fn remember(&mut self, hash: Hash, expires: u64) {
        self.s.seen.insert(hash, expires);
        self.expiring.insert((expires, hash));
    }

    fn check_expiry(&self, expires: u64, height: u64) -> Result<(), Rejection> {
        if expires < height {
            return Err(Rejection::Expired { expires, height });
        }
        if expires - height > self.s.params.max_ttl {
            return Err(Rejection::TtlTooLong {
                expires,
                height,
                max_ttl: self.s.params.max_ttl,
            });
        }
        Ok(())
    }

    fn account_of(&self, key: &PublicKey, role: &'static str) -> Result<&Account, Rejection> {
        self.s
            .accounts
            .get(key)
            .ok_or(Rejection::UnknownKey { key: *key, role })
    }

    fn open_round(&self, round: RoundId) -> Result<&LedgerRound, Rejection> {
        self.s.rounds.get(&round).ok_or(if round < self.s.next_round {
            Rejection::RoundClosed { round }
        } else {
            Rejection::UnknownRound { round }
        })
    }

    fn member(&self, tx: &Tx, round: RoundId) -> Result<(&LedgerRound, usize), Rejection> {
        self.account_of(&tx.signer, "an account")?;
        let r = self.open_round(round)?;
        if !r.drawn() {
            return Err(Rejection::WrongPhase {
                round,
                kind: tx.body.kind(),
                height: self.s.height + 1,
                window: format!("the committee is drawn at the end of block {}", r.draw_at),
            });
        }
        let pos = r
            .position(&tx.signer)
            .ok_or(Rejection::NotMember { round, key: tx.signer })?;
        Ok((r, pos))
    }

    fn check_tx(&self, tx: &Tx, hash: Hash, height: u64, signature_verified: bool) -> Result<Action, Rejection> {
        self.check_expiry(tx.expires, height)?;
        if self.s.seen.contains_key(&hash) {
            return Err(Rejection::Replayed {
                what: "transaction",
                hash,
            });
        }
        if !signature_verified && !tx.verify(&self.s.network) {
            return Err(Rejection::BadSignature {
                tx: hash,
                kind: tx.body.kind(),
                signer: tx.signer,
            });
        }
        let config = self.s.protocol.config();
        match &tx.body {
            Body::Register { roles, bond } => {
                let have = match self.s.accounts.get(&tx.signer) {
                    Some(a) if a.registered => return Err(Rejection::AlreadyRegistered { key: tx.signer }),
                    Some(a) => a.balance,
                    None => 0,
                };
                check_roles(&tx.signer, roles)?;
                let min = min_bond(&self.s.params, roles);
                if *bond < min {
                    return Err(Rejection::BondTooSmall { bond: *bond, min });
                }
                let need = bond.checked_add(self.s.params.register_fee).unwrap_or(u64::MAX);
                if !covers(have, need) {
                    return Err(Rejection::InsufficientFunds {
                        key: tx.signer,
                        need,
                        have,
                    });
                }
                Ok(Action::Register {
                    roles: roles.clone(),
                    bond: *bond,
                })
            }
            Body::Submit { receipt } => {
                if receipt.gateway != tx.signer {
                    return Err(Rejection::UnknownKey {
                        key: tx.signer,
                        role: "the gateway the receipt names",
                    });
                }
                let gateway = self.account_of(&tx.signer, "a gateway")?;
                if !gateway.roles.gateway {
                    return Err(Rejection::UnknownKey {
                        key: tx.signer,
                        role: "a gateway",
                    });
                }
                let node = self.account_of(&receipt.node, "an inference node")?;
                let Some(model) = &node.roles.inference else {
                    return Err(Rejection::UnknownKey {
                        key: receipt.node,
                        role: "an inference node",
                    });
                };
                if *model != receipt.model {
                    return Err(Rejection::ModelMismatch {
                        node: receipt.node,
                        registered: model.clone(),
                        receipt: receipt.model.clone(),
                    });
                }
                if config.round.inference_cost.normalize(receipt.cost).is_err() {
                    return Err(Rejection::CostOutOfRange {
                        what: "inference cost",
                        cost: receipt.cost,
                    });
                }
                self.check_expiry(receipt.expires, height)?;
                let receipt_hash = receipt.hash();
                if self.s.seen.contains_key(&receipt_hash) {
                    return Err(Rejection::Replayed {
                        what: "receipt",
                        hash: receipt_hash,
                    });
                }
                if !receipt.verify(&self.s.network) {
                    return Err(Rejection::BadReceiptSignature { node: receipt.node });
                }
                let eligible = self.s.protocol.eligible(receipt.task).len();
                if eligible < config.committee_size {
                    return Err(Rejection::NotEnoughEvaluators {
                        task: receipt.task,
                        eligible,
                        committee: config.committee_size,
                    });
                }
                let fee = self.s.params.submit_fee;
                if !covers(gateway.balance, fee) {
                    return Err(Rejection::InsufficientFunds {
                        key: tx.signer,
                        need: fee,
                        have: gateway.balance,
                    });
                }
                let reserve = self.reserve();
                if self.s.treasury < reserve {
                    return Err(Rejection::TreasuryShort {
                        need: reserve,
                        have: self.s.treasury,
                    });
                }
                Ok(Action::Submit {
                    receipt: receipt.clone(),
                    reserve,
                })
            }
            Body::Commit { round, commitment } => {
                let (r, pos) = self.member(tx, *round)?;
                if !r.accepts_commit(height) {
                    return Err(Rejection::WrongPhase {
                        round: *round,
                        kind: Kind::Commit,
                        height,
                        window: window(r.draw_at + 1, r.commit_until.min(r.reveal_from - 1)),
                    });
                }
                if r.commits[pos].is_some() {
                    return Err(Rejection::Duplicate {
                        round: *round,
                        key: tx.signer,
                        kind: Kind::Commit,
                    });
                }
                Ok(Action::Commit {
                    round: *round,
                    pos,
                    commitment: *commitment,
                })
            }
            Body::Reveal {
                round,
                score,
                cost,
                salt,
            } => {
                let (r, pos) = self.member(tx, *round)?;
                if !r.accepts_reveal(height) {
                    return Err(Rejection::WrongPhase {
                        round: *round,
                        kind: Kind::Reveal,
                        height,
                        window: window(r.reveal_from, r.reveal_until),
                    });
                }
                let Some(committed) = r.commits[pos] else {
                    return Err(Rejection::NoCommit {
                        round: *round,
                        key: tx.signer,
                    });
                };
                if r.reveals[pos].is_some() {
                    return Err(Rejection::Duplicate {
                        round: *round,
                        key: tx.signer,
                        kind: Kind::Reveal,
                    });
                }
                if !(score.is_finite() && (SCORE_MIN..=SCORE_MAX).contains(score)) {
                    return Err(Rejection::ScoreOutOfRange { score: *score });
                }
                if config.round.evaluator_cost.normalize(*cost).is_err() {
                    return Err(Rejection::CostOutOfRange {
                        what: "evaluator cost",
                        cost: *cost,
                    });
                }
                if commitment(&self.s.network, *round, &tx.signer, *score, *cost, salt) != committed {
                    return Err(Rejection::Mismatch {
                        round: *round,
                        key: tx.signer,
                        kind: Kind::Reveal,
                    });
                }
                Ok(Action::Reveal {
                    round: *round,
                    pos,
                    revealed: Revealed {
                        score: *score,
                        cost: *cost,
                    },
                })
            }
            Body::RevealReference { round, reference, salt } => {
                self.account_of(&tx.signer, "an account")?;
                let Some(p) = self.s.references.get(round) else {
                    return Err(match self.s.rounds.get(round) {
                        Some(r) if r.reference.is_some() => Rejection::WrongPhase {
                            round: *round,
                            kind: Kind::RevealReference,
                            height,
                            window: "after the round closes".into(),
                        },
                        _ => Rejection::UnknownRound { round: *round },
                    });
                };
                if p.gateway != tx.signer {
                    return Err(Rejection::UnknownKey {
                        key: tx.signer,
                        role: "the round's gateway",
                    });
                }
                if reference_commitment(&self.s.network, &p.request, reference, salt) != p.commitment {
                    return Err(Rejection::Mismatch {
                        round: *round,
                        key: tx.signer,
                        kind: Kind::RevealReference,
                    });
                }
                Ok(Action::Reference {
                    round: *round,
                    reference: reference.clone(),
                })
            }
            Body::Transfer { to, amount } => {
                let a = self.account_of(&tx.signer, "an account")?;
                if *amount == 0 {
                    return Err(Rejection::InvalidAmount {
                        amount: 0,
                        reason: "must be positive",
                    });
                }
                if *to == tx.signer {
                    return Err(Rejection::InvalidAmount {
                        amount: *amount,
                        reason: "a transfer to oneself",
                    });
                }
                if !covers(a.balance, *amount) {
                    return Err(Rejection::InsufficientFunds {
                        key: tx.signer,
                        need: *amount,
                        have: a.balance,
                    });
                }
                let to_balance = self.s.accounts.get(to).map_or(0, |a| a.balance);
                if i64::try_from(*amount)
                    .ok()
                    .and_then(|a| to_balance.checked_add(a))
                    .is_none()
                {
                    return Err(Rejection::InvalidAmount {
                        amount: *amount,
                        reason: "the recipient's balance would overflow",
                    });
                }
                Ok(Action::Transfer {
                    to: *to,
                    amount: *amount,
                })
            }
            Body::Unbond { amount } => {
                let a = self.account_of(&tx.signer, "an account")?;
                if *amount == 0 {
                    return Err(Rejection::InvalidAmount {
                        amount: 0,
                        reason: "must be positive",
                    });
                }
                if a.bond < *amount {
                    return Err(Rejection::InsufficientFunds {
                        key: tx.signer,
                        need: *amount,
                        have: a.bond as i64,
                    });
                }
                let min = min_bond(&self.s.params, &a.roles);
                if a.bond - amount < min {
                    return Err(Rejection::BondTooSmall {
                        bond: a.bond - amount,
                        min,
                    });
                }
                Ok(Action::Unbond { amount: *amount })
            }
        }
    }

    /// The micro-units a round reserves: its largest possible payout, α for the
    /// inference node (quality at most 10, cost at least 0) plus B_eval·α_e for the
    /// committee (either scaling pays at most the budget), rounded up, plus one
    /// micro-unit per payee for rounding.
    fn reserve(&self) -> u64 {
        crate::genesis::reserve_of(self.s.protocol.config(), &self.s.params)
    }

    fn execute(&mut self, tx: &Tx, action: Action, height: u64, events: &mut Vec<Event>) -> Result<(), LedgerError> {
        let s = &mut self.s;
        match action {
            Action::Register { roles, bond } => {
                // Checked: the balance covers bond + fee, and the supply fits an i64.
                let fee = s.params.register_fee;
                let mut account = s.accounts.remove(&tx.signer).unwrap_or_default();
                account.balance -= (bond + fee) as i64;
                account.bond += bond;
                s.treasury += fee;
                account.registered = true;
                register(
                    &mut s.protocol,
                    &mut account,
                    &roles,
                    tx.signer,
                    &mut s.evaluator_keys,
                    &mut s.node_keys,
                )?;
                events.push(Event::Registered {
                    key: tx.signer,
                    evaluator: account.evaluator,
                    node: account.node,
                });
                s.accounts.insert(tx.signer, account);
            }
            Action::Submit { receipt, reserve } => {
                let fee = s.params.submit_fee;
                if let Some(g) = s.accounts.get_mut(&tx.signer) {
                    g.balance -= fee as i64;
                }
                s.treasury -= reserve;
                let id = s.next_round;
                s.next_round = RoundId(id.0 + 1);
                let receipt_hash = receipt.hash();
                let receipt_expires = receipt.expires;
                events.push(Event::Submitted {
                    round: id,
                    gateway: tx.signer,
                    node: receipt.node,
                    draw_at: height.saturating_add(s.params.draw_delay),
                });
                s.rounds.insert(
                    id,
                    LedgerRound {
                        id,
                        gateway: tx.signer,
                        reference: receipt.reference,
                        receipt,
                        submitted: height,
                        fee,
                        reserve,
                        draw_at: height.saturating_add(s.params.draw_delay),
                        committee: Vec::new(),
                        members: Vec::new(),
                        commit_until: 0,
                        reveal_from: 0,
                        reveal_until: 0,
                        commits: Vec::new(),
                        reveals: Vec::new(),
                    },
                );
                self.remember(receipt_hash, receipt_expires);
            }
            Action::Commit { round, pos, commitment } => {
                if let Some(r) = s.rounds.get_mut(&round) {
                    r.commits[pos] = Some(commitment);
                    events.push(Event::Committed {
                        round,
                        evaluator: tx.signer,
                    });
                    if r.committed() == r.members.len() {
                        r.reveal_from = height + 1;
                        r.reveal_until = height.saturating_add(s.params.reveal_blocks);
                        events.push(Event::CommitsComplete {
                            round,
                            reveal_from: r.reveal_from,
                            reveal_until: r.reveal_until,
                        });
                    }
                }
            }
            Action::Reveal { round, pos, revealed } => {
                if let Some(r) = s.rounds.get_mut(&round) {
                    r.reveals[pos] = Some(revealed);
                    events.push(Event::Revealed {
                        round,
                        evaluator: tx.signer,
                        score: revealed.score,
                        cost: revealed.cost,
                    });
                }
            }
            Action::Reference { round, reference } => {
                s.references.remove(&round);
                events.push(Event::ReferenceRevealed { round, reference });
            }
            Action::Transfer { to, amount } => {
                if let Some(a) = s.accounts.get_mut(&tx.signer) {
                    a.balance -= amount as i64;
                }
                s.accounts.entry(to).or_default().balance += amount as i64;
                events.push(Event::Transferred {
                    from: tx.signer,
                    to,
                    amount,
                });
            }
            Action::Unbond { amount } => {
                if let Some(a) = s.accounts.get_mut(&tx.signer) {
                    a.bond -= amount;
                    a.balance += amount as i64;
                }
                events.push(Event::Unbonded { key: tx.signer, amount });
            }
        }
        Ok(())
    }

    /// Draws the committees due at the end of block `height`, from its digest.
    fn draw(&mut self, height: u64, beacon: &Hash, events: &mut Vec<Event>) -> Result<(), LedgerError> {
        let s = &mut self.s;
        let due: Vec<RoundId> = s
            .rounds
            .values()
            .filter(|r| r.draw_at == height)
            .map(|r| r.id)
            .collect();
        for id in due {
            let Some(r) = s.rounds.get_mut(&id) else { continue };
            let node = s.accounts.get(&r.receipt.node).and_then(|a| a.node);
            let Some(node) = node else {
                return Err(LedgerError::InvalidState {
                    reason: format!("{id}'s inference node {} has no node id", r.receipt.node),
                });
            };
            // Submission checked everything `open` checks (the node, K eligible
            // evaluators, the cost), and none of it can be undone, so this cannot
            // fail; if it did, every node would stop at the same block.
            let opened = s.protocol.open(&beacon.0, node, r.receipt.task, r.receipt.cost)?;
            if opened != id {
                return Err(LedgerError::InvalidState {
                    reason: format!("the protocol opened {opened} for the ledger's {id}"),
                });
            }
            let committee = s.protocol.round(id).map(|p| p.committee().to_vec()).unwrap_or_default();
            r.members = committee.iter().map(|e| s.evaluator_keys[e.index()]).collect();
            r.commits = vec![None; committee.len()];
            r.reveals = vec![None; committee.len()];
            r.committee = committee;
            r.commit_until = height.saturating_add(s.params.commit_blocks);
            r.reveal_from = r.commit_until.saturating_add(1);
            r.reveal_until = r.commit_until.saturating_add(s.params.reveal_blocks);
            events.push(Event::Drawn {
                round: id,
                beacon: *beacon,
                members: r.members.clone(),
                commit_until: r.commit_until,
                reveal_until: r.reveal_until,
            });
        }
        Ok(())
    }

    /// Closes the rounds whose time came at the end of block `height`.
    fn close_rounds(&mut self, height: u64, events: &mut Vec<Event>) -> Result<(), LedgerError> {
        let due: Vec<RoundId> = self
            .s
            .rounds
            .values()
            .filter(|r| r.closes_at(height))
            .map(|r| r.id)
            .collect();
        for id in due {
            let Some(r) = self.s.rounds.remove(&id) else { continue };
            let s = &mut self.s;
            for (pos, rev) in r.reveals.iter().enumerate() {
                if let Some(rev) = rev {
                    s.protocol.submit(id, r.committee[pos], rev.score, rev.cost)?;
                }
            }
            let micro = s.params.micro_per_reward as f64;
            let to_micro = |reward: f64| (reward * micro).trunc() as i64;
            let mut reserve = r.reserve as i64;
            let mut payouts = Vec::new();
            let closed = s.protocol.close(id)?;
            let mut pay = |key: PublicKey, reward: f64, s: &mut LedgerState| {
                let amount = to_micro(reward);
                if amount == 0 {
                    return;
                }
                if amount > 0 {
                    // The reserve covers the largest payout the protocol can compute.
                    let amount = amount.min(reserve);
                    reserve -= amount;
                    if let Some(a) = s.accounts.get_mut(&key) {
                        a.balance += amount;
                    }
                    payouts.push((key, amount));
                } else {
                    if let Some(a) = s.accounts.get_mut(&key) {
                        a.balance += amount;
                    }
                    s.treasury += amount.unsigned_abs();
                    payouts.push((key, amount));
                }
            };
            match closed {
                Closed::Finalized(outcome) => {
                    pay(s.node_keys[outcome.inference_node.index()], outcome.inference_reward, s);
                    for rep in &outcome.reports {
                        pay(s.evaluator_keys[rep.evaluator.index()], rep.reward, s);
                    }
                    for m in &outcome.missing {
                        pay(s.evaluator_keys[m.evaluator.index()], m.reward, s);
                    }
                    s.treasury += reserve as u64 + r.fee;
                    events.push(Event::Finalized { outcome, payouts });
                }
                Closed::Expired(expiry) => {
                    for m in &expiry.missing {
                        pay(s.evaluator_keys[m.evaluator.index()], m.reward, s);
                    }
                    s.treasury += reserve as u64;
                    if let Some(g) = s.accounts.get_mut(&r.gateway) {
                        g.balance += r.fee as i64;
                    }
                    events.push(Event::Expired { expiry, payouts });
                }
            }
            if let Some(commitment) = r.reference {
                s.references.insert(
                    id,
                    PendingReference {
                        gateway: r.gateway,
                        request: r.receipt.request,
                        commitment,
                        until: height.saturating_add(s.params.reveal_blocks),
                    },
                );
            }
        }
        Ok(())
    }

    /// Forgets replay entries that can no longer be included, and reference windows
    /// that ended.
    fn prune(&mut self, height: u64, events: &mut Vec<Event>) {
        while let Some(&(expires, hash)) = self.expiring.first() {
            if expires > height {
                break;
            }
            self.expiring.pop_first();
            self.s.seen.remove(&hash);
        }
        let ended: Vec<RoundId> = self
            .s
            .references
            .iter()
            .filter(|(_, p)| p.until <= height)
            .map(|(id, _)| *id)
            .collect();
        for round in ended {
            if let Some(p) = self.s.references.remove(&round) {
                events.push(Event::ReferenceWithheld {
                    round,
                    gateway: p.gateway,
                });
            }
        }
    }
}

/// Whether a balance covers `need` micro-units (a negative balance covers nothing).
fn covers(balance: i64, need: u64) -> bool {
    u64::try_from(balance).is_ok_and(|b| b >= need)
}

fn check_roles(key: &PublicKey, roles: &Roles) -> Result<(), Rejection> {
    let bad = |reason| Rejection::BadRegistration { key: *key, reason };
    if roles.is_empty() {
        return Err(bad("no role"));
    }
    if roles.inference.as_deref().is_some_and(str::is_empty) {
        return Err(bad("an empty model name"));
    }
    if let Some(e) = &roles.evaluator {
        if e.scorer.is_empty() {
            return Err(bad("an empty scorer name"));
        }
        if e.tasks.is_empty() {
            return Err(bad("an evaluator with no task"));
        }
        if e.tasks.windows(2).any(|w| w[0] >= w[1]) {
            return Err(bad("evaluator tasks not sorted and distinct"));
        }
    }
    Ok(())
}

fn min_bond(params: &Params, roles: &Roles) -> u64 {
    let e = if roles.evaluator.is_some() {
        params.min_bond_evaluator
    } else {
        0
    };
    let i = if roles.inference.is_some() {
        params.min_bond_inference
    } else {
        0
    };
    e.max(i)
}

fn register(
    protocol: &mut Protocol,
    account: &mut Account,
    roles: &Roles,
    key: PublicKey,
    evaluator_keys: &mut Vec<PublicKey>,
    node_keys: &mut Vec<PublicKey>,
) -> Result<(), LedgerError> {
    if let Some(e) = &roles.evaluator {
        account.evaluator = Some(protocol.register_evaluator(e.tasks.clone())?);
        evaluator_keys.push(key);
    }
    if roles.inference.is_some() {
        account.node = Some(protocol.register_node());
        node_keys.push(key);
    }
    account.roles = roles.clone();
    Ok(())
}

/// SHA-256 over the canonical encoding of the whole state but what the chained digest
/// covers already (the last block's digest, the previous digest) and the rejection
/// counts (a metric of the blocks), so that a rejected transaction leaves the state hash
/// exactly as it was.
fn state_hash(s: &LedgerState) -> Hash {
    let mut enc = Encoder::new();
    let p = &s.params;
    enc.raw(&s.network.0)
        .u64(p.draw_delay)
        .u64(p.commit_blocks)
        .u64(p.reveal_blocks)
        .u64(p.max_ttl)
        .u64(p.submit_fee)
        .u64(p.micro_per_reward)
        .u64(p.min_bond_evaluator)
        .u64(p.min_bond_inference)
        .usize(s.validators.len());
    for v in &s.validators {
        enc.raw(&v.0);
    }
    enc.u64(s.supply).u64(s.height).u64(s.treasury);
    enc.usize(s.accounts.len());
    for (key, a) in &s.accounts {
        enc.raw(&key.0)
            .u64(a.balance as u64)
            .u64(a.bond)
            .bool(a.registered)
            .bool(a.roles.gateway);
        match &a.roles.inference {
            None => enc.u8(0),
            Some(m) => enc.u8(1).bytes(m.as_bytes()),
        };
        encode_evaluator(&mut enc, a.roles.evaluator.as_ref());
        enc.u64(a.evaluator.map_or(u64::MAX, |e| e.0 as u64))
            .u64(a.node.map_or(u64::MAX, |n| n.0 as u64));
    }
    enc.usize(s.rounds.len());
    for r in s.rounds.values() {
        enc.u64(r.id.0)
            .raw(&r.gateway.0)
            .raw(&r.receipt.hash().0)
            .raw(&r.receipt.signature.0);
        match r.reference {
            None => enc.u8(0),
            Some(h) => enc.u8(1).raw(&h.0),
        };
        enc.u64(r.submitted)
            .u64(r.fee)
            .u64(r.reserve)
            .u64(r.draw_at)
            .u64(r.commit_until)
            .u64(r.reveal_from)
            .u64(r.reveal_until)
            .usize(r.members.len());
        for (pos, m) in r.members.iter().enumerate() {
            enc.raw(&m.0).u32(r.committee[pos].0);
            match r.commits[pos] {
                None => enc.u8(0),
                Some(h) => enc.u8(1).raw(&h.0),
            };
            match r.reveals[pos] {
                None => enc.u8(0),
                Some(v) => enc.u8(1).f64(v.score).f64(v.cost),
            };
        }
    }
    enc.usize(s.references.len());
    for (id, p) in &s.references {
        enc.u64(id.0)
            .raw(&p.gateway.0)
            .raw(&p.request.0)
            .raw(&p.commitment.0)
            .u64(p.until);
    }
    enc.usize(s.seen.len());
    for (h, expires) in &s.seen {
        enc.raw(&h.0).u64(*expires);
    }
    enc.u64(s.next_round.0);
    Hash::of("poq/ledger/v1/state", &[enc.as_slice(), &s.protocol.state_digest()])
}

impl From<Ledger> for LedgerState {
    fn from(l: Ledger) -> Self {
        l.s
    }
}

impl TryFrom<LedgerState> for Ledger {
    type Error = LedgerError;
    fn try_from(s: LedgerState) -> Result<Self, LedgerError> {
        Ledger::restore(s)
    }
}

impl Ledger {
    /// Rebuilds a ledger from its state, checking its invariants: conservation of the
    /// supply, the key tables against the protocol's registry, and every open round's
    /// shape.
    pub fn restore(s: LedgerState) -> Result<Self, LedgerError> {
        let bad = |reason: String| LedgerError::InvalidState { reason };
        if s.evaluator_keys.len() != s.protocol.evaluators() {
            return Err(bad(format!(
                "{} evaluator keys for {} registered evaluators",
                s.evaluator_keys.len(),
                s.protocol.evaluators()
            )));
        }
        if s.node_keys.len() != s.protocol.nodes() {
            return Err(bad(format!(
                "{} node keys for {} registered nodes",
                s.node_keys.len(),
                s.protocol.nodes()
            )));
        }
        for (i, k) in s.evaluator_keys.iter().enumerate() {
            if s.accounts.get(k).and_then(|a| a.evaluator).map(|e| e.index()) != Some(i) {
                return Err(bad(format!("evaluator {i}'s key {k} has no matching account")));
            }
        }
        for (i, k) in s.node_keys.iter().enumerate() {
            if s.accounts.get(k).and_then(|a| a.node).map(|n| n.index()) != Some(i) {
                return Err(bad(format!("node {i}'s key {k} has no matching account")));
            }
        }
        for r in s.rounds.values() {
            let k = r.members.len();
            if r.committee.len() != k || r.commits.len() != k || r.reveals.len() != k {
                return Err(bad(format!("{} has mismatched committee tables", r.id)));
            }
            if r.id >= s.next_round {
                return Err(bad(format!("{} is not below the next id {}", r.id, s.next_round.0)));
            }
        }
        let expiring = s.seen.iter().map(|(h, e)| (*e, *h)).collect();
        let l = Ledger { s, expiring };
        if l.total() != l.s.supply as i128 {
            return Err(bad(format!(
                "{} micro-units are accounted for, the supply is {}",
                l.total(),
                l.s.supply
            )));
        }
        Ok(l)
    }
}

//! Transactions: what a block carries, and what every key signs.
//!
//! **Wire layout** (canonical, [`crate::codec`]): kind (u8), signer (32 bytes), expiry
//! height (u64), the body (per kind, below), signature (64 bytes). The transaction hash
//! is [`Hash::of`]`("poq/tx/v1/hash", wire bytes)`.
//!
//! **What is signed**: `"poq/tx/v1" ‖ 0x00 ‖ network id (32) ‖ kind (u8) ‖ round (u64;
//! `u64::MAX` for kinds without one) ‖ signer ‖ expiry ‖ body`. So a signature is bound
//! to one network, one kind of transaction and one round, and cannot be replayed on
//! another; replays on the same network are caught by the hash's uniqueness in the
//! state until its expiry height (the ledger refuses expiries further ahead than the
//! genesis' `max_ttl`, so that set stays bounded).
//!
//! Bodies:
//! - `Register` (kind 0): gateway (bool), inference model (optional string), evaluator
//!   (optional: scorer string, task count, task indices), bond (u64 micro-units).
//! - `Submit` (1): the inference node's [`Receipt`]: node, gateway, request, prompt
//!   and answer hashes (32 bytes each), model (string), task (u8), cost (f64), expiry
//!   (u64), an optional reference commitment (tag, 32 bytes) for a spot-check round,
//!   the node's signature (64 bytes).
//! - `Commit` (2): round, commitment (32 bytes, [`commitment`]).
//! - `Reveal` (3): round, score (f64), cost (f64), salt (32 bytes).
//! - `RevealReference` (4): round, reference (string), salt (32 bytes).
//! - `Transfer` (5): recipient (32 bytes), amount (u64).
//! - `Unbond` (6): amount (u64).

use crate::codec::Reader;
use crate::digest::Hash;
use crate::error::DecodeError;
use crate::key::{Keypair, PublicKey, Signature};
use poq_core::encoding::Encoder;
use poq_core::{RoundId, Task};
use serde::{Deserialize, Serialize};

pub use crate::kind::Kind;
pub use crate::limits::{MAX_NAME_BYTES, MAX_REFERENCE_BYTES, MAX_TX_BYTES};

/// An evaluator's role: the scorer it runs and the tasks it scores.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvaluatorRole {
    /// The scorer's name (as poq-ml's registry spells it).
    pub scorer: String,
    /// The tasks, sorted and distinct.
    pub tasks: Vec<Task>,
}

/// The roles a key registers for.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Roles {
    /// It submits rounds (a gateway pays the submission fee).
    pub gateway: bool,
    /// It answers prompts with this model.
    pub inference: Option<String>,
    /// It scores answers.
    pub evaluator: Option<EvaluatorRole>,
}

impl Roles {
    /// Whether no role is set.
    pub fn is_empty(&self) -> bool {
        !self.gateway && self.inference.is_none() && self.evaluator.is_none()
    }
}

/// An inference node's signed statement that it produced an answer, for one gateway.
///
/// Binding the gateway and the spot-check commitment into what the node signs keeps a
/// proposer who sees a relayed submission from front-running it under another gateway,
/// or from submitting a spot-check round as an ordinary one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    /// The inference node.
    pub node: PublicKey,
    /// The gateway that may submit it.
    pub gateway: PublicKey,
    /// The request it answered (the gateway's id; unique per receipt).
    pub request: Hash,
    /// SHA-256 of the prompt.
    pub prompt: Hash,
    /// SHA-256 of the answer.
    pub answer: Hash,
    /// The model that answered.
    pub model: String,
    /// The prompt's task.
    pub task: Task,
    /// The measured cost (raw; the protocol's cost scale normalizes it).
    pub cost: f64,
    /// The last height at which the receipt may be submitted.
    pub expires: u64,
    /// For a spot-check round: the commitment to its reference answer
    /// ([`reference_commitment`]), revealed after the round closes.
    pub reference: Option<Hash>,
    /// The node's signature over the receipt ([`Receipt::message`]).
    pub signature: Signature,
}

impl Receipt {
    /// This receipt signed by `key` (which becomes its node) for `network`.
    pub fn signed(mut self, network: &Hash, key: &Keypair) -> Self {
        self.node = key.public();
        self.signature = key.sign(&self.message(network));
        self
    }

    fn encode_fields(&self, enc: &mut Encoder) {
        enc.raw(&self.node.0)
            .raw(&self.gateway.0)
            .raw(&self.request.0)
            .raw(&self.prompt.0)
            .raw(&self.answer.0)
            .bytes(self.model.as_bytes())
            .u8(self.task.index() as u8)
            .f64(self.cost)
            .u64(self.expires);
        match &self.reference {
            None => enc.u8(0),
            Some(h) => enc.u8(1).raw(&h.0),
        };
    }

    /// The signed message: `"poq/receipt/v1" ‖ 0x00 ‖ network id ‖` the fields.
    pub fn message(&self, network: &Hash) -> Vec<u8> {
        let mut enc = Encoder::new();
        enc.raw(b"poq/receipt/v1\0").raw(&network.0);
        self.encode_fields(&mut enc);
        enc.finish()
    }

    /// Whether the node's signature is valid on `network`.
    pub fn verify(&self, network: &Hash) -> bool {
        self.node.verify(&self.message(network), &self.signature)
    }

    /// The receipt's identity in the replay set.
    pub fn hash(&self) -> Hash {
        let mut enc = Encoder::new();
        self.encode_fields(&mut enc);
        Hash::of("poq/receipt/v1/hash", &[enc.as_slice()])
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Receipt {
            node: PublicKey(r.array("receipt node")?),
            gateway: PublicKey(r.array("receipt gateway")?),
            request: Hash(r.array("receipt request")?),
            prompt: Hash(r.array("receipt prompt hash")?),
            answer: Hash(r.array("receipt answer hash")?),
            model: r.string("receipt model", MAX_NAME_BYTES)?,
            task: decode_task(r)?,
            cost: r.f64("receipt cost")?,
            expires: r.u64("receipt expiry")?,
            reference: match r.bool("reference commitment")? {
                false => None,
                true => Some(Hash(r.array("reference commitment")?)),
            },
            signature: Signature(r.array("receipt signature")?),
        })
    }
}

/// What a transaction does.
// A `Submit` carries its receipt inline: transactions live one at a time or in a block's
// list of bytes, never in large arrays of `Body`, so the size gap costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Body {
    /// Registers the signer for roles, bonding `bond` micro-units of its balance.
    Register {
        /// The roles.
        roles: Roles,
        /// Micro-units moved from the balance into the bond.
        bond: u64,
    },
    /// A gateway submits an answer to be scored (the signer, the receipt's gateway, pays
    /// the submission fee).
    Submit {
        /// The inference node's receipt.
        receipt: Receipt,
    },
    /// A committee member commits to its score.
    Commit {
        /// The round.
        round: RoundId,
        /// [`commitment`] of the score, cost and salt.
        commitment: Hash,
    },
    /// A committee member opens its commitment.
    Reveal {
        /// The round.
        round: RoundId,
        /// The score in [0, 10].
        score: f64,
        /// The evaluator's cost (raw, finite, ≥ 0).
        cost: f64,
        /// The salt committed to.
        salt: [u8; 32],
    },
    /// The submitting gateway opens a spot-check round's reference answer after the
    /// round closed.
    RevealReference {
        /// The round.
        round: RoundId,
        /// The reference answer.
        reference: String,
        /// The salt committed to.
        salt: [u8; 32],
    },
    /// Moves micro-units from the signer's balance to another key's (the devnet
    /// faucet); creates the recipient's account.
    Transfer {
        /// The recipient.
        to: PublicKey,
        /// Micro-units.
        amount: u64,
    },
    /// Moves micro-units of the signer's bond back to its balance, down to the
    /// genesis' minimum bond for its roles.
    Unbond {
        /// Micro-units.
        amount: u64,
    },
}

impl Body {
    /// The kind.
    pub fn kind(&self) -> Kind {
        match self {
            Body::Register { .. } => Kind::Register,
            Body::Submit { .. } => Kind::Submit,
            Body::Commit { .. } => Kind::Commit,
            Body::Reveal { .. } => Kind::Reveal,
            Body::RevealReference { .. } => Kind::RevealReference,
            Body::Transfer { .. } => Kind::Transfer,
            Body::Unbond { .. } => Kind::Unbond,
        }
    }

    /// The round it is bound to, if any.
    pub fn round(&self) -> Option<RoundId> {
        match self {
            Body::Commit { round, .. } | Body::Reveal { round, .. } | Body::RevealReference { round, .. } => {
                Some(*round)
            }
            _ => None,
        }
    }

    fn encode(&self, enc: &mut Encoder) {
        match self {
            Body::Register { roles, bond } => {
                enc.bool(roles.gateway);
                match &roles.inference {
                    None => enc.u8(0),
                    Some(m) => enc.u8(1).bytes(m.as_bytes()),
                };
                encode_evaluator(enc, roles.evaluator.as_ref());
                enc.u64(*bond);
            }
            Body::Submit { receipt } => {
                receipt.encode_fields(enc);
                enc.raw(&receipt.signature.0);
            }
            Body::Commit { round, commitment } => {
                enc.u64(round.0).raw(&commitment.0);
            }
            Body::Reveal {
                round,
                score,
                cost,
                salt,
            } => {
                enc.u64(round.0).f64(*score).f64(*cost).raw(salt);
            }
            Body::RevealReference { round, reference, salt } => {
                enc.u64(round.0).bytes(reference.as_bytes()).raw(salt);
            }
            Body::Transfer { to, amount } => {
                enc.raw(&to.0).u64(*amount);
            }
            Body::Unbond { amount } => {
                enc.u64(*amount);
            }
        }
    }

    fn decode(kind: Kind, r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(match kind {
            Kind::Register => {
                let gateway = r.bool("gateway role")?;
                let inference = match r.bool("inference role")? {
                    false => None,
                    true => Some(r.string("inference model", MAX_NAME_BYTES)?),
                };
                let evaluator = match r.bool("evaluator role")? {
                    false => None,
                    true => {
                        let scorer = r.string("evaluator scorer", MAX_NAME_BYTES)?;
                        let n = r.len("evaluator tasks", Task::ALL.len())?;
                        let mut tasks = Vec::with_capacity(n);
                        for _ in 0..n {
                            tasks.push(decode_task(r)?);
                        }
                        if tasks.windows(2).any(|w| w[0] >= w[1]) {
                            return Err(DecodeError::NotCanonical {
                                what: "evaluator tasks (must be sorted and distinct)",
                            });
                        }
                        Some(EvaluatorRole { scorer, tasks })
                    }
                };
                Body::Register {
                    roles: Roles {
                        gateway,
                        inference,
                        evaluator,
                    },
                    bond: r.u64("bond")?,
                }
            }
            Kind::Submit => Body::Submit {
                receipt: Receipt::decode(r)?,
            },
            Kind::Commit => Body::Commit {
                round: RoundId(r.u64("round")?),
                commitment: Hash(r.array("commitment")?),
            },
            Kind::Reveal => Body::Reveal {
                round: RoundId(r.u64("round")?),
                score: r.f64("score")?,
                cost: r.f64("cost")?,
                salt: r.array("salt")?,
            },
            Kind::RevealReference => Body::RevealReference {
                round: RoundId(r.u64("round")?),
                reference: r.string("reference", MAX_REFERENCE_BYTES)?,
                salt: r.array("salt")?,
            },
            Kind::Transfer => Body::Transfer {
                to: PublicKey(r.array("recipient")?),
                amount: r.u64("amount")?,
            },
            Kind::Unbond => Body::Unbond {
                amount: r.u64("amount")?,
            },
        })
    }
}

/// An optional evaluator role: tag 0, or tag 1, the scorer, the task count and the
/// task indices.
pub(crate) fn encode_evaluator(enc: &mut Encoder, role: Option<&EvaluatorRole>) {
    match role {
        None => {
            enc.u8(0);
        }
        Some(e) => {
            enc.u8(1).bytes(e.scorer.as_bytes()).usize(e.tasks.len());
            for t in &e.tasks {
                enc.u8(t.index() as u8);
            }
        }
    }
}

fn decode_task(r: &mut Reader<'_>) -> Result<Task, DecodeError> {
    let tag = r.u8("task")?;
    Task::ALL
        .get(tag as usize)
        .copied()
        .ok_or(DecodeError::BadTag { what: "task", tag })
}

/// A signed transaction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tx {
    /// The signing key.
    pub signer: PublicKey,
    /// The last height at which it may be included.
    pub expires: u64,
    /// What it does.
    pub body: Body,
    /// The signer's signature over [`Tx::message`].
    pub signature: Signature,
}

impl Tx {
    /// Builds and signs a transaction for `network`.
    pub fn sign(network: &Hash, key: &Keypair, expires: u64, body: Body) -> Self {
        let mut tx = Tx {
            signer: key.public(),
            expires,
            body,
            signature: Signature([0; 64]),
        };
        tx.signature = key.sign(&tx.message(network));
        tx
    }

    /// The signed message (layout in the module docs).
    pub fn message(&self, network: &Hash) -> Vec<u8> {
        let mut enc = Encoder::new();
        enc.raw(b"poq/tx/v1\0")
            .raw(&network.0)
            .u8(self.body.kind() as u8)
            .u64(self.body.round().map_or(u64::MAX, |r| r.0))
            .raw(&self.signer.0)
            .u64(self.expires);
        self.body.encode(&mut enc);
        enc.finish()
    }

    /// Whether the signature is valid on `network`.
    pub fn verify(&self, network: &Hash) -> bool {
        self.signer.verify(&self.message(network), &self.signature)
    }

    /// The wire encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut enc = Encoder::new();
        enc.u8(self.body.kind() as u8).raw(&self.signer.0).u64(self.expires);
        self.body.encode(&mut enc);
        enc.raw(&self.signature.0);
        enc.finish()
    }

    /// Decodes the wire encoding strictly (see [`crate::codec`]).
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        if bytes.len() > MAX_TX_BYTES {
            return Err(DecodeError::TooLong {
                what: "transaction",
                len: bytes.len() as u64,
                max: MAX_TX_BYTES,
            });
        }
        let mut r = Reader::new(bytes);
        let tag = r.u8("transaction kind")?;
        let kind = Kind::from_tag(tag).ok_or(DecodeError::BadTag {
            what: "transaction kind",
            tag,
        })?;
        let signer = PublicKey(r.array("signer")?);
        let expires = r.u64("expiry")?;
        let body = Body::decode(kind, &mut r)?;
        let signature = Signature(r.array("signature")?);
        r.finish()?;
        Ok(Tx {
            signer,
            expires,
            body,
            signature,
        })
    }

    /// The transaction hash of wire bytes.
    pub fn hash_bytes(bytes: &[u8]) -> Hash {
        Hash::of("poq/tx/v1/hash", &[bytes])
    }

    /// The transaction hash.
    pub fn hash(&self) -> Hash {
        Self::hash_bytes(&self.encode())
    }
}

/// An evaluator's commitment: SHA-256 over `"poq/commit/v1" ‖ 0x00 ‖ network ‖ round ‖
/// evaluator key ‖ score bits ‖ cost bits ‖ salt`. Binding the key and round keeps one
/// evaluator from copying another's commitment.
pub fn commitment(
    network: &Hash,
    round: RoundId,
    evaluator: &PublicKey,
    score: f64,
    cost: f64,
    salt: &[u8; 32],
) -> Hash {
    Hash::of(
        "poq/commit/v1",
        &[
            &network.0,
            &round.0.to_le_bytes(),
            &evaluator.0,
            &score.to_bits().to_le_bytes(),
            &cost.to_bits().to_le_bytes(),
            salt,
        ],
    )
}

/// A spot-check reference commitment: SHA-256 over `"poq/reference/v1" ‖ 0x00 ‖
/// network ‖ request ‖ reference bytes' length (u64) ‖ the bytes ‖ salt`.
pub fn reference_commitment(network: &Hash, request: &Hash, reference: &str, salt: &[u8; 32]) -> Hash {
    Hash::of(
        "poq/reference/v1",
        &[
            &network.0,
            &request.0,
            &(reference.len() as u64).to_le_bytes(),
            reference.as_bytes(),
            salt,
        ],
    )
}

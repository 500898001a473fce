//! The poq ledger: a pure state machine that applies finalized blocks of signed
//! transactions to a [`poq_core::protocol::Protocol`] and to integer balances.
//!
//! It has no IO, no clock and no randomness of its own: time is the block height, the
//! committee seed comes from a finalized block's digest, and every node that applies the
//! same blocks reaches the same state and the same chained digest. The BFT engine that
//! orders the blocks, the store that keeps them and the network that carries them live
//! in `poq-node`; this crate decides what the blocks mean.
//!
//! - [`tx`]: the transactions (register, submit with a signed receipt, commit, reveal,
//!   a spot-check reference reveal, transfer, unbond), their canonical encoding and what
//!   each key signs.
//! - [`round`]: a round by block heights, from submission through the draw, the commit
//!   and reveal windows, to its close through the protocol.
//! - [`ledger`]: checking and applying, money conservation, the chained digest.
//! - [`error`]: every rejection, typed and counted by reason.

pub mod account;
pub mod block;
pub mod codec;
pub mod digest;
pub mod error;
pub mod event;
pub mod genesis;
pub mod key;
pub mod kind;
pub mod ledger;
pub mod limits;
pub mod round;
pub mod tx;

pub use block::Block;
pub use digest::Hash;
pub use error::{DecodeError, LedgerError, Reason, Rejection};
pub use event::{Applied, Event, Rejected};
pub use genesis::{Genesis, GenesisAccount, Params};
pub use key::{Keypair, PublicKey, Signature};
pub use ledger::{Ledger, LedgerState};
pub use tx::{Body, Kind, Receipt, Roles, Tx};

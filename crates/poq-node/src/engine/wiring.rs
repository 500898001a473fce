//! Building one validator: simplex, marshal, broadcast, backfill and the relay, as one
//! supervised task.

use super::block::{ChainBlock, to_digest};
use super::{App, SharedApp, lock, relay};
use crate::error::NodeError;
use commonware_broadcast::buffered;
use commonware_consensus::marshal::ancestry::Ancestry;
use commonware_consensus::marshal::core::Actor as MarshalActor;
use commonware_consensus::marshal::resolver::p2p as marshal_resolver;
use commonware_consensus::marshal::standard::Inline;
use commonware_consensus::marshal::{self, Update};
use commonware_consensus::simplex::config::{ForwardPolicy, SkipBudget, SkipPolicy};
use commonware_consensus::simplex::elector::RoundRobin;
use commonware_consensus::simplex::scheme::ed25519;
use commonware_consensus::simplex::types::Context;
use commonware_consensus::simplex::{self};
use commonware_consensus::types::{Epoch, FixedEpocher, ViewDelta};
use commonware_consensus::{Application, Heightable, Reporter};
use commonware_cryptography::certificate::{ConstantProvider, Verifier as _};
use commonware_cryptography::ed25519::{PrivateKey, PublicKey};
use commonware_cryptography::sha256::Digest;
use commonware_cryptography::{Digested, Digestible, Signer as _};
use commonware_p2p::{Blocker, Provider, Receiver, Sender};
use commonware_parallel::Sequential;
use commonware_runtime::buffer::paged::CacheRef;
use commonware_runtime::{Clock, Handle, Metrics, Spawner, Storage};
use commonware_storage::archive::immutable;
use commonware_utils::ordered::Set;
use commonware_utils::{Acknowledgement as _, NZDuration, NZU16, NZU64, NZUsize};
use futures::StreamExt as _;
use poq_ledger::{Block, Hash, Tx};
use std::collections::HashSet;
use std::time::Duration;
use tracing::{debug, error};

/// The p2p channels every validator registers (all must agree).
pub mod channels {
    /// Consensus votes.
    pub const VOTES: u64 = 0;
    /// Consensus certificates.
    pub const CERTIFICATES: u64 = 1;
    /// Consensus resolver (missing certificates).
    pub const RESOLVER: u64 = 2;
    /// Block dissemination.
    pub const BROADCAST: u64 = 3;
    /// Marshal's backfill of finalized blocks.
    pub const BACKFILL: u64 = 4;
    /// The mempool relay.
    pub const MEMPOOL: u64 = 5;
}

/// A validator's network handles, one (sender, receiver) per channel.
pub struct Channels<S, R> {
    /// [`channels::VOTES`].
    pub votes: (S, R),
    /// [`channels::CERTIFICATES`].
    pub certificates: (S, R),
    /// [`channels::RESOLVER`].
    pub resolver: (S, R),
    /// [`channels::BROADCAST`].
    pub broadcast: (S, R),
    /// [`channels::BACKFILL`].
    pub backfill: (S, R),
    /// [`channels::MEMPOOL`].
    pub mempool: (S, R),
}

/// One validator's engine configuration.
pub struct Config<B, P> {
    /// Its consensus key.
    pub signer: PrivateKey,
    /// Every validator's key.
    pub participants: Set<PublicKey>,
    /// The network id: the chain starts from its [`Block::genesis`], and every consensus
    /// signature is bound to it.
    pub network: Hash,
    /// Storage partitions start with this; a restart with the same prefix recovers.
    pub partition_prefix: String,
    /// Blocks misbehaving peers.
    pub blocker: B,
    /// The peer set.
    pub peer_provider: P,
    /// Capacity of every actor's mailbox.
    pub mailbox_size: usize,
    /// How long to wait for a leader's proposal.
    pub leader_timeout: Duration,
    /// How long to wait for a view's certificate.
    pub certification_timeout: Duration,
    /// How often to resend timeout votes.
    pub timeout_retry: Duration,
    /// How long to wait for a fetched certificate or block.
    pub fetch_timeout: Duration,
    /// Views kept in memory behind the finalized one.
    pub view_retention: u64,
}

/// Messages per second each peer may send on each channel. The p2p layer sizes each
/// channel's mailbox as peers × this burst, so it is a memory bound too: 100 000 made
/// every validator allocate hundreds of megabytes at start.
pub const QUOTA_PER_SECOND: u32 = 2_000;

/// The largest p2p message (a block at its size limit plus marshal's framing fits).
pub const MAX_MESSAGE_SIZE: u32 = 2 * 1024 * 1024;

/// Implements marshal's [`Application`] for an [`App`].
struct Adapter<A>(SharedApp<A>);

impl<A> Clone for Adapter<A> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<E, A> Application<E> for Adapter<A>
where
    E: Send + 'static,
    A: App,
{
    type SigningScheme = ed25519::Scheme;
    type Context = Context<Digest, PublicKey>;
    type Block = ChainBlock;
    type Input = ();

    async fn propose(
        &mut self,
        (_, context): (E, Self::Context),
        mut ancestry: impl Ancestry<Self::Block>,
        _input: (),
    ) -> Option<Digested<Self::Block>> {
        // The ancestry runs newest first: its first item is the parent.
        let parent = ancestry.next().await?;
        let height = parent.inner().block().height + 1;
        // What the ancestors not yet final carry would be rejected as replays here.
        let finalized = lock(&self.0).last_finalized();
        let mut exclude = HashSet::new();
        let mut ancestor = Some(parent.clone());
        while let Some(a) = ancestor {
            let b = a.inner().block();
            if b.height <= finalized {
                break;
            }
            exclude.extend(b.txs.iter().map(|t| Tx::hash_bytes(t)));
            ancestor = ancestry.next().await;
        }
        let txs = lock(&self.0).propose(height, &exclude);
        let block = ChainBlock::new(Block {
            height,
            parent: super::to_hash(&parent.digest()),
            view: context.round.view().get(),
            txs,
        });
        let digest = block.digest();
        Some(Digested::precomputed(block, digest))
    }

    async fn verify(&mut self, (_, context): (E, Self::Context), mut ancestry: impl Ancestry<Self::Block>) -> bool {
        // The block under verification, then its parent (Inline checked the parent's
        // digest and the height already).
        let Some(block) = ancestry.next().await else {
            return false;
        };
        let Some(parent) = ancestry.next().await else {
            return false;
        };
        let b = block.inner().block();
        if b.view != context.round.view().get() || to_digest(&b.parent) != parent.digest() {
            return false;
        }
        lock(&self.0).verify(b)
    }
}

/// Hands marshal's finalized blocks to the [`App`] exactly once, in height order.
struct Finalizer<A>(SharedApp<A>);

impl<A> Clone for Finalizer<A> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<A: App> Reporter for Finalizer<A> {
    type Activity = Update<ChainBlock>;

    fn report(&mut self, activity: Self::Activity) -> commonware_actor::Feedback {
        match activity {
            Update::Tip(round, height, _) => debug!(%round, %height, "finalized tip"),
            Update::Block(block, ack) => {
                let mut app = lock(&self.0);
                let height = block.height().get();
                let last = app.last_finalized();
                if height <= last {
                    debug!(height, last, "dropping a finalized block delivered again");
                    ack.acknowledge();
                } else if height != last + 1 {
                    app.fatal(NodeError::Engine {
                        reason: format!(
                            "consensus delivered finalized block {height}, the ledger is at {last}: the consensus \
                             journal is ahead of the ledger store (restore the store, or remove both)"
                        ),
                    });
                } else {
                    match app.finalized(block.inner().block()) {
                        // Acknowledged only once durable: marshal then records progress.
                        Ok(()) => ack.acknowledge(),
                        Err(e) => {
                            error!(height, error = %e, "applying a finalized block failed; stopping delivery");
                            app.fatal(e);
                        }
                    }
                }
            }
        }
        commonware_actor::Feedback::Ok
    }
}

const PAGE_SIZE: std::num::NonZeroU16 = NZU16!(4_096);
const PAGE_CACHE_PAGES: std::num::NonZeroUsize = NZUsize!(1_024);
const ITEMS_PER_SECTION: std::num::NonZeroU64 = NZU64!(4_096);
const BUFFER: std::num::NonZeroUsize = NZUsize!(64 * 1024);

/// Starts one validator (consensus, marshal, broadcast, backfill, relay) as a single
/// supervised task; aborting the handle stops all of it.
pub fn start<E, A, B, P, S, R>(context: E, cfg: Config<B, P>, app: SharedApp<A>, net: Channels<S, R>) -> Handle<()>
where
    E: Spawner + Clock + Storage + Metrics + rand_core::CryptoRng + rand_core::Rng,
    A: App,
    B: Blocker<PublicKey = PublicKey>,
    P: Provider<PublicKey = PublicKey>,
    S: Sender<PublicKey = PublicKey>,
    R: Receiver<PublicKey = PublicKey>,
{
    context.spawn(move |context| async move {
        let me = cfg.signer.public_key();
        let network = cfg.network;
        let mailbox_size = NZUsize!(cfg.mailbox_size.max(1));
        let page_cache = CacheRef::new(PAGE_SIZE, PAGE_CACHE_PAGES);
        let prefix = cfg.partition_prefix.clone();
        let namespace = [b"poq/consensus/v1/".as_slice(), &cfg.network.0].concat();
        let Some(scheme) = ed25519::Scheme::signer(&namespace, cfg.participants.clone(), cfg.signer) else {
            lock(&app).fatal(NodeError::Engine {
                reason: format!("validator key {me} is not in the genesis' validator set"),
            });
            return;
        };
        let (broadcast, buffer) = buffered::Engine::new(
            context.child("buffer"),
            buffered::Config {
                public_key: me.clone(),
                mailbox_size,
                deque_size: 10,
                priority: false,
                codec_config: (),
                peer_provider: cfg.peer_provider.clone(),
                strategy: Sequential,
            },
        );
        let backfill = marshal_resolver::init(
            context.child("backfill"),
            marshal_resolver::Config {
                public_key: me.clone(),
                peer_provider: cfg.peer_provider.clone(),
                blocker: cfg.blocker.clone(),
                mailbox_size,
                fetch_timeout: NZDuration!(Duration::from_secs(2)),
                fetch_retry_delay: Duration::from_millis(100),
                priority_requests: false,
                priority_responses: false,
            },
            net.backfill,
        );
        let finalizations = immutable::Archive::init(
            context.child("finalizations"),
            archive_config(&prefix, "finalizations", &page_cache, scheme.certificate_codec_config()),
        )
        .await;
        let blocks = immutable::Archive::init(
            context.child("blocks"),
            archive_config(&prefix, "blocks", &page_cache, ()),
        )
        .await;
        let (finalizations, blocks) = match (finalizations, blocks) {
            (Ok(f), Ok(b)) => (f, b),
            (Err(e), _) | (_, Err(e)) => {
                lock(&app).fatal(NodeError::Engine {
                    reason: format!("opening the consensus archives under {prefix}: {e}"),
                });
                return;
            }
        };
        let epocher = FixedEpocher::new(NZU64!(u64::MAX));
        let genesis = ChainBlock::new(Block::genesis(&cfg.network));
        let genesis_digest = genesis.digest();
        let (marshal_actor, marshal_mailbox, floor) = MarshalActor::init(
            context.child("marshal"),
            finalizations,
            blocks,
            marshal::Config {
                provider: ConstantProvider::new(scheme.clone()),
                epocher: epocher.clone(),
                start: marshal::Start::Genesis(Digested::precomputed(genesis, genesis_digest)),
                partition_prefix: format!("{prefix}-marshal"),
                mailbox_size,
                view_retention: ViewDelta::new(cfg.view_retention),
                prunable_items_per_section: NZU64!(10),
                page_cache: page_cache.clone(),
                replay_buffer: BUFFER,
                key_write_buffer: BUFFER,
                value_write_buffer: BUFFER,
                block_codec_config: (),
                max_repair: NZUsize!(10),
                max_pending_acks: NZUsize!(16),
                strategy: Sequential,
            },
        )
        .await;
        let processed = floor.processed().map(|p| p.height().get());
        {
            let mut app = lock(&app);
            let last = app.last_finalized();
            if let Some(p) = processed
                && p > last
            {
                app.fatal(NodeError::Engine {
                    reason: format!(
                        "the consensus journal acknowledged height {p}, the ledger store is at {last}: the store \
                         lost blocks it had acknowledged (restore it, or remove both)"
                    ),
                });
                return;
            }
            debug!(?processed, last, "marshal restored");
        }
        let marshaled = Inline::new(
            context.child("inline"),
            Adapter(app.clone()),
            marshal_mailbox.clone(),
            epocher,
        );
        let consensus = simplex::Engine::new(
            context.child("simplex"),
            simplex::Config {
                scheme,
                elector: RoundRobin::<commonware_cryptography::sha256::Sha256>::default(),
                blocker: cfg.blocker.clone(),
                automaton: marshaled.clone(),
                relay: marshaled.clone(),
                reporter: marshaled,
                track_historical_votes: false,
                strategy: Sequential,
                partition: format!("{prefix}-simplex"),
                mailbox_size,
                epoch: Epoch::zero(),
                floor: simplex::config::Floor::Genesis(genesis_digest),
                replay_buffer: BUFFER,
                write_buffer: BUFFER,
                page_cache,
                leader_timeout: cfg.leader_timeout,
                certification_timeout: cfg.certification_timeout,
                timeout_retry: cfg.timeout_retry,
                view_retention: ViewDelta::new(cfg.view_retention),
                skip: SkipPolicy::Enabled {
                    timeout: cfg.certification_timeout * 3,
                    budget: SkipBudget::Participants,
                },
                fetch_timeout: NZDuration!(cfg.fetch_timeout),
                fetch_retry_delay: Duration::from_millis(100),
                forward: ForwardPolicy::Disabled,
            },
        );
        let broadcast_handle = broadcast.start(net.broadcast);
        let marshal_handle = marshal_actor.start(Finalizer(app.clone()), buffer, backfill);
        let consensus_handle = consensus.start(net.votes, net.certificates, net.resolver);
        let (relay_in, relay_out) = relay::start(context.child("relay"), network, app.clone(), net.mempool);
        let (res, idx, _) =
            futures::future::select_all([broadcast_handle, marshal_handle, consensus_handle, relay_in, relay_out])
                .await;
        let actor = ["broadcast", "marshal", "consensus", "relay in", "relay out"]
            .get(idx)
            .copied()
            .unwrap_or("an actor");
        // The node cannot go on without it: make the run loop stop with an error (the
        // app logs it, unless the node is shutting down and this is the shutdown).
        lock(&app).fatal(NodeError::Engine {
            reason: format!("the engine's {actor} stopped ({res:?})"),
        });
    })
}

fn archive_config<C>(prefix: &str, name: &str, page_cache: &CacheRef, codec_config: C) -> immutable::Config<C> {
    immutable::Config {
        metadata_partition: format!("{prefix}-{name}-metadata"),
        freezer_table_partition: format!("{prefix}-{name}-freezer-table"),
        freezer_table_initial_size: 64,
        freezer_table_resize_frequency: 10,
        freezer_table_resize_chunk_size: 10,
        freezer_key_partition: format!("{prefix}-{name}-freezer-key"),
        freezer_key_page_cache: page_cache.clone(),
        freezer_value_partition: format!("{prefix}-{name}-freezer-value"),
        freezer_value_target_size: 16 * 1024 * 1024,
        freezer_value_compression: None,
        ordinal_partition: format!("{prefix}-{name}-ordinal"),
        items_per_section: ITEMS_PER_SECTION,
        freezer_key_write_buffer: BUFFER,
        freezer_value_write_buffer: BUFFER,
        ordinal_write_buffer: BUFFER,
        replay_buffer: BUFFER,
        codec_config,
    }
}

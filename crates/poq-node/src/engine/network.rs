//! A validator on the real network: commonware's authenticated p2p (`lookup`: a fixed
//! set of validators at known addresses; only their keys may connect; every connection
//! encrypted and authenticated with the validators' ed25519 keys) on the tokio runtime.

use super::{App, Channels, Config, MAX_MESSAGE_SIZE, QUOTA_PER_SECOND, SharedApp, channels, start};
use commonware_cryptography::ChaCha20Poly1305;
use commonware_cryptography::ed25519::{PrivateKey, PublicKey};
use commonware_p2p::authenticated::lookup;
use commonware_p2p::{Address, AddressableManager as _};
use commonware_runtime::{Handle, Quota, Supervisor as _, tokio as cw_tokio};
use commonware_stream::cups::{self, Cups};
use commonware_stream::sake::{self, Sake};
use commonware_utils::ordered::{Map, Set};
use commonware_utils::{NZU32, NZUsize};
use poq_ledger::Hash;
use std::net::SocketAddr;
use std::time::Duration;

/// Where and how one validator runs on the real network.
pub struct Endpoint {
    /// Its consensus key.
    pub signer: PrivateKey,
    /// Its listen address.
    pub listen: SocketAddr,
    /// Every validator's key and address (this one included).
    pub peers: Map<PublicKey, Address>,
    /// The network id.
    pub network: Hash,
    /// Its storage partitions' prefix.
    pub partition_prefix: String,
    /// How long to wait for a leader's proposal.
    pub leader_timeout: Duration,
    /// How long to wait for a view's certificate (above the leader timeout).
    pub certification_timeout: Duration,
}

/// Starts the p2p endpoint and the validator's engine under `context`.
pub fn start_authenticated<A: App>(context: cw_tokio::Context, e: Endpoint, app: SharedApp<A>) -> Handle<()> {
    let namespace = [b"poq/p2p/v1/".as_slice(), &e.network.0].concat();
    let participants: Set<PublicKey> = e.peers.keys().clone();
    let p2p = lookup::Config::local(
        Cups::<_, ChaCha20Poly1305>::new(
            Sake {
                signer: e.signer.clone(),
                synchrony_bound: Duration::from_secs(5),
                max_handshake_age: Duration::from_secs(10),
                version: sake::Version::V1,
            },
            cups::Version::V1,
        ),
        &namespace,
        e.listen,
        NZUsize!(participants.len().max(1)),
        MAX_MESSAGE_SIZE,
        NZUsize!(1_000),
    );
    let (mut network, mut oracle) = lookup::Network::new(context.child("network"), p2p);
    let _ = oracle.track(0, e.peers);
    let quota = Quota::per_second(NZU32!(QUOTA_PER_SECOND));
    let channels = Channels {
        votes: network.register(channels::VOTES, quota),
        certificates: network.register(channels::CERTIFICATES, quota),
        resolver: network.register(channels::RESOLVER, quota),
        broadcast: network.register(channels::BROADCAST, quota),
        backfill: network.register(channels::BACKFILL, quota),
        mempool: network.register(channels::MEMPOOL, quota),
    };
    network.start();
    let cfg = Config {
        signer: e.signer,
        participants,
        network: e.network,
        partition_prefix: e.partition_prefix,
        blocker: oracle.clone(),
        peer_provider: oracle,
        mailbox_size: 1024,
        leader_timeout: e.leader_timeout,
        certification_timeout: e.certification_timeout,
        timeout_retry: e.certification_timeout * 2,
        fetch_timeout: e.leader_timeout,
        view_retention: 64,
    };
    start(context.child("engine"), cfg, app, channels)
}

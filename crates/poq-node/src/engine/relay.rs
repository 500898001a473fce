//! The mempool relay: transactions a validator admitted go to every other validator,
//! so whichever leads next can propose them.
//!
//! A message is a batch of at most [`MAX_BATCH_TXS`]: a count, then per transaction its
//! length and bytes (the ledger's canonical integers). The receiver decodes each and
//! verifies its signature before it takes the app's lock (so a peer flooding the relay
//! costs its own receiving task, not the consensus and finalization paths that share
//! the lock), then admits it to the mempool on expiry and replay; it does not relay them
//! further, since every validator hears from the one that admitted them.

use super::{App, SharedApp, lock};
use commonware_cryptography::ed25519::PublicKey;
use commonware_p2p::{Receiver, Recipients, Sender};
use commonware_runtime::{Clock, Handle, Spawner, Supervisor};
use poq_core::encoding::Encoder;
use poq_ledger::codec::Reader;
use poq_ledger::tx::MAX_TX_BYTES;
use poq_ledger::{Hash, Tx};
use std::time::Duration;

/// How often admitted transactions are sent out.
pub const RELAY_INTERVAL: Duration = Duration::from_millis(20);
/// The largest batch, in bytes (below the network's message limit).
pub const MAX_BATCH_BYTES: usize = 1 << 20;
/// The most transactions in one batch.
pub const MAX_BATCH_TXS: usize = 1_024;

fn encode(batch: &[Vec<u8>]) -> Vec<u8> {
    let mut enc = Encoder::new();
    enc.usize(batch.len());
    for tx in batch {
        enc.bytes(tx);
    }
    enc.finish()
}

/// Decodes a batch (strictly: a malformed batch is dropped whole).
pub fn decode(bytes: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut r = Reader::new(bytes);
    let n = r.len("relay batch", MAX_BATCH_TXS).ok()?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(r.bytes("relayed transaction", MAX_TX_BYTES).ok()?.to_vec());
    }
    r.finish().ok()?;
    Some(out)
}

/// Starts the relay's two tasks (receive, send) under `context`.
pub fn start<E, A, S, R>(
    context: E,
    network: Hash,
    app: SharedApp<A>,
    (mut sender, mut receiver): (S, R),
) -> (Handle<()>, Handle<()>)
where
    E: Spawner + Clock + Supervisor,
    A: App,
    S: Sender<PublicKey = PublicKey>,
    R: Receiver<PublicKey = PublicKey>,
{
    let inbound_app = app.clone();
    let inbound = context.child("relay_in").spawn(move |_| async move {
        while let Ok((_, buf)) = receiver.recv().await {
            let Some(batch) = decode(buf.as_ref()) else { continue };
            let verified: Vec<(Vec<u8>, Tx)> = batch
                .into_iter()
                .filter_map(|bytes| {
                    let tx = Tx::decode(&bytes).ok()?;
                    tx.verify(&network).then_some((bytes, tx))
                })
                .collect();
            let mut app = lock(&inbound_app);
            for (bytes, tx) in verified {
                app.relayed(bytes, tx);
            }
        }
    });
    let outbound = context.child("relay_out").spawn(move |context| async move {
        loop {
            context.sleep(RELAY_INTERVAL).await;
            let txs = lock(&app).outbound();
            let mut batch = Vec::new();
            let mut size = 8;
            for tx in txs {
                if size + 8 + tx.len() > MAX_BATCH_BYTES || batch.len() == MAX_BATCH_TXS {
                    sender.send(Recipients::All, encode(&batch), false);
                    batch.clear();
                    size = 8;
                }
                size += 8 + tx.len();
                batch.push(tx);
            }
            if !batch.is_empty() {
                sender.send(Recipients::All, encode(&batch), false);
            }
        }
    });
    (inbound, outbound)
}

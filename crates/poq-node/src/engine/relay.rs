//! The mempool relay: transactions a validator admitted go to every other validator,
//! so whichever leads next can propose them.
//!
//! A message is a batch: a count, then per transaction its length and bytes (the
//! ledger's canonical integers). A peer admits each through its own mempool (the
//! ledger's check); it does not relay them further, since every validator hears from
//! the one that admitted them.

use super::{App, SharedApp, lock};
use commonware_cryptography::ed25519::PublicKey;
use commonware_p2p::{Receiver, Recipients, Sender};
use commonware_runtime::{Clock, Handle, Spawner, Supervisor};
use poq_core::encoding::Encoder;
use poq_ledger::block::MAX_BLOCK_TXS;
use poq_ledger::codec::Reader;
use poq_ledger::tx::MAX_TX_BYTES;
use std::time::Duration;

/// How often admitted transactions are sent out.
pub const RELAY_INTERVAL: Duration = Duration::from_millis(20);
/// The largest batch, in bytes (below the network's message limit).
pub const MAX_BATCH_BYTES: usize = 1 << 20;

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
    let n = r.len("relay batch", MAX_BLOCK_TXS).ok()?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(r.bytes("relayed transaction", MAX_TX_BYTES).ok()?.to_vec());
    }
    r.finish().ok()?;
    Some(out)
}

/// Starts the relay's two tasks (receive, send) under `context`.
pub fn start<E, A, S, R>(context: E, app: SharedApp<A>, (mut sender, mut receiver): (S, R)) -> (Handle<()>, Handle<()>)
where
    E: Spawner + Clock + Supervisor,
    A: App,
    S: Sender<PublicKey = PublicKey>,
    R: Receiver<PublicKey = PublicKey>,
{
    let inbound_app = app.clone();
    let inbound = context.child("relay_in").spawn(move |_| async move {
        while let Ok((_, buf)) = receiver.recv().await {
            if let Some(txs) = decode(buf.as_ref()) {
                let mut app = lock(&inbound_app);
                for tx in txs {
                    app.relayed(tx);
                }
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
                if size + 8 + tx.len() > MAX_BATCH_BYTES || batch.len() == MAX_BLOCK_TXS {
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

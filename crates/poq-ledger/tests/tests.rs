//! poq-ledger's integration tests (one binary; the other files here are its modules).

mod net;

mod flow;
mod properties;
mod rejections;

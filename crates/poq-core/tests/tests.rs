//! Integration tests of `poq-core`: one test binary, one module per concept.

mod aggregate;
mod attack;
mod committee;
mod golden;
mod metrics;
mod protocol;
mod reward;
mod round;
mod scorer;
mod trust;

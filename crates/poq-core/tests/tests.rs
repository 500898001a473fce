//! Integration tests of `poq-core`: one test binary, one module per concept.

mod aggregate;
mod attack;
mod committee;
mod metrics;
mod reward;
mod round;
mod scorer;
mod trust;

//! Integration tests of `poq-sim`: one test binary, one module per concept.

mod audit;
mod cell;
mod experiment;
mod plot;
mod replay;
mod scenario;

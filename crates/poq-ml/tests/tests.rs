//! Integration tests of `poq-ml`: one test binary, one module per concept.

mod bi_encoder;
mod collect;
mod data;
mod fetch;
mod gguf;
mod judge;
mod llm;

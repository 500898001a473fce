//! Integration tests of `poq-ml`: one test binary, one module per concept.

mod bi_encoder;
mod collect;
mod cross_encoder;
mod data;
mod fetch;
mod gemma;
mod gguf;
mod judge;
mod llm;
mod qwen;
mod registry;

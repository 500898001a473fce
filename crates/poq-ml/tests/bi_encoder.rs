//! Tests of `poq_ml::bi_encoder`.

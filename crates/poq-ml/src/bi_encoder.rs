//! Bi-encoders (being written).

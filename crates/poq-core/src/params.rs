//! Validation of configuration values, shared by rewards, trust policies and attacks.

use crate::{CoreError, Result};

/// Checks that `value` is finite and satisfies `ok`, naming the parameter and what it
/// must satisfy on failure.
pub fn check_param(name: &'static str, value: f64, ok: bool, reason: &'static str) -> Result<()> {
    if value.is_finite() && ok {
        Ok(())
    } else {
        Err(CoreError::InvalidParameter { name, value, reason })
    }
}

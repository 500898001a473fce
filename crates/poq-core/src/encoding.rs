//! The canonical byte encoding that state digests are computed over.
//!
//! Fixed-width little-endian integers, `f64` as its IEEE-754 bit pattern (so −0.0 and
//! 0.0 differ, as the state does), booleans and tags as one byte, sequences as a `u64`
//! length followed by their elements in index order. Nothing is ever encoded in
//! hash-map order: every collection of state is a `Vec` indexed by id or a map sorted by
//! key. The layout of each type is documented where it is encoded.

/// Appends values in the canonical encoding.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Encoder {
    bytes: Vec<u8>,
}

impl Encoder {
    /// An empty encoder.
    pub fn new() -> Self {
        Self::default()
    }

    /// One byte (a tag or a small enum).
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.bytes.push(v);
        self
    }

    /// A boolean as one byte, 0 or 1.
    pub fn bool(&mut self, v: bool) -> &mut Self {
        self.u8(u8::from(v))
    }

    /// A `u64`, little-endian.
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.bytes.extend_from_slice(&v.to_le_bytes());
        self
    }

    /// A length or index, as a `u64`.
    pub fn usize(&mut self, v: usize) -> &mut Self {
        self.u64(v as u64)
    }

    /// An `f64` as its bit pattern, little-endian.
    pub fn f64(&mut self, v: f64) -> &mut Self {
        self.u64(v.to_bits())
    }

    /// An optional `f64`: tag 0, or tag 1 followed by the value.
    pub fn opt_f64(&mut self, v: Option<f64>) -> &mut Self {
        match v {
            None => self.u8(0),
            Some(x) => self.u8(1).f64(x),
        }
    }

    /// A slice of `f64`: its length, then each value.
    pub fn f64s(&mut self, v: &[f64]) -> &mut Self {
        self.usize(v.len());
        for &x in v {
            self.f64(x);
        }
        self
    }

    /// Raw bytes with their length first.
    pub fn bytes(&mut self, v: &[u8]) -> &mut Self {
        self.usize(v.len());
        self.bytes.extend_from_slice(v);
        self
    }

    /// Fixed-width bytes (a key, a hash, a signature), with no length: their width is
    /// part of the layout.
    pub fn raw(&mut self, v: &[u8]) -> &mut Self {
        self.bytes.extend_from_slice(v);
        self
    }

    /// A `u32`, little-endian.
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.bytes.extend_from_slice(&v.to_le_bytes());
        self
    }

    /// The encoded bytes.
    pub fn finish(self) -> Vec<u8> {
        self.bytes
    }

    /// The bytes encoded so far.
    pub fn as_slice(&self) -> &[u8] {
        &self.bytes
    }
}

/// Lower-case hex of `bytes`.
pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// Parses exactly `2N` hex digits (either case).
pub fn from_hex<const N: usize>(s: &str) -> Option<[u8; N]> {
    let b = s.as_bytes();
    if b.len() != 2 * N {
        return None;
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    let mut out = [0u8; N];
    for (i, o) in out.iter_mut().enumerate() {
        *o = (digit(b[2 * i])? << 4) | digit(b[2 * i + 1])?;
    }
    Some(out)
}

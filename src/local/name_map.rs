//! The map the local endpoint looks names up in on every request, and its hasher.

/// A map by name (an access key id, a role or function ARN, an account) of the maps the local
/// endpoint looks up on every request, hashed with FNV-1a rather than SipHash: several lookups
/// per request of short keys. The endpoint is a test double on loopback, so SipHash's defence
/// against chosen keys (HashDoS) buys nothing here.
pub(crate) type NameMap<V> = std::collections::HashMap<String, V, std::hash::BuildHasherDefault<Fnv1a>>;

/// FNV-1a, 64 bits.
pub(crate) struct Fnv1a(u64);

impl Default for Fnv1a {
    fn default() -> Self {
        Fnv1a(0xcbf2_9ce4_8422_2325)
    }
}

impl std::hash::Hasher for Fnv1a {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

"""Independent check of the committees in round.txt and tests/protocol.rs.

Recomputes each committee from the documented derivation alone: the seed
SHA-256("poq/committee-seed/v1" || 0x00 || beacon || round as u64 LE), expanded by
xoshiro256++ (seed read as four LE words), Lemire's bounded draw and Floyd's sampling,
sorted, then mapped through the evaluators registered for the round's task.
Run: python3 crates/poq-core/tests/testdata/committees.py
"""
import hashlib, struct
M = (1 << 64) - 1
def rotl(x, k): return ((x << k) | (x >> (64 - k))) & M
def seed(beacon, r): return hashlib.sha256(b'poq/committee-seed/v1' + b'\x00' + beacon + struct.pack('<Q', r)).digest()
class X:
    def __init__(self, b):
        self.s = list(struct.unpack('<4Q', b))
        assert self.s != [0, 0, 0, 0]
    def next(self):
        s = self.s
        r = (rotl((s[0] + s[3]) & M, 23) + s[0]) & M
        t = (s[1] << 17) & M
        s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= t; s[3] = rotl(s[3], 45)
        return r
def below(g, n):
    if n <= 1: return 0
    th = ((-n) & M) % n
    while True:
        m = g.next() * n
        if (m & M) >= th: return m >> 64
def floyd(sd, n, k):
    g = X(sd); c = []
    for j in range(n - k, n):
        t = below(g, j + 1)
        c.append(j if t in c else t)
    return sorted(c)
# pinned committee test from tests/committee.rs (independent check of this port)
print(floyd(bytes(range(32)), 20, 7), "expect [1, 6, 9, 12, 14, 16, 17]")
print("beacon 7, n 5 k 3:", [floyd(seed(bytes([7]*32), r), 5, 3) for r in range(2)])
qa = [0, 1, 3, 5, 6]; su = [0, 2, 3, 4, 6]
for r, elig in enumerate([qa, su, qa, su]):
    print("restricted round", r, [elig[p] for p in floyd(seed(bytes([5]*32), r), 5, 3)])
print("errors case round 0 (n 4, k 3):", floyd(seed(bytes(32), 0), 4, 3))
print("trimmed (n 6 k 5):", floyd(seed(bytes([4]*32), 0), 6, 5))

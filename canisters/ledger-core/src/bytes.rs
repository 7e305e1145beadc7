//! Reading the compact block encodings the kinds store: fixed-width fields
//! in order, written by the same build (malformed bytes are a bug: panics).

/// `bit` if `set`: one presence flag of a header byte.
pub fn flag(set: bool, bit: u8) -> u8 {
    if set { bit } else { 0 }
}

pub struct Reader<'a>(pub &'a [u8]);

impl<'a> Reader<'a> {
    pub fn take(&mut self, n: usize) -> &'a [u8] {
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        head
    }

    pub fn byte(&mut self) -> u8 {
        self.take(1)[0]
    }

    pub fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.array())
    }

    pub fn array<const N: usize>(&mut self) -> [u8; N] {
        self.take(N).try_into().expect("took N bytes")
    }
}

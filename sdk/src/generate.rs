//! Generator plugins: seeded sources of synthetic records for `host generate`. The
//! host asks for up to `max` records at a time; a call that adds none means done.

use crate::ConfigError;

/// A generator plugin. The same config and seed must always give the same records,
/// so that tests can compute expected answers from a seed.
pub trait Generate: Sized + 'static {
    /// Parses the config and starts the stream for `seed`.
    fn init(config: &str, seed: u64) -> Result<Self, ConfigError>;

    /// Appends up to `max` records to `out`; appending none ends the stream.
    fn next_batch(&mut self, max: u32, out: &mut Records);
}

/// A record's key and the length of its value.
pub type Envelope = (Option<Vec<u8>>, u32);

/// Records being produced, framed as the WIT `generated` record: keys with value
/// lengths, and every value concatenated.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Records {
    messages: Vec<Envelope>,
    values: Vec<u8>,
}

impl Records {
    /// Adds one record.
    pub fn push(&mut self, key: Option<&[u8]>, value: &[u8]) {
        self.messages
            .push((key.map(<[u8]>::to_vec), value.len() as u32));
        self.values.extend_from_slice(value);
    }

    /// Adds records a generator already framed: keys with value lengths, and the
    /// values concatenated in the same order.
    pub fn extend_framed(&mut self, messages: impl IntoIterator<Item = Envelope>, values: &[u8]) {
        self.messages.extend(messages);
        self.values.extend_from_slice(values);
    }

    /// Records so far.
    pub fn len(&self) -> usize {
        self.messages.len()
    }

    /// Whether nothing was added.
    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    /// The value of each record, in order, with its key; for native tests.
    pub fn iter(&self) -> impl Iterator<Item = (Option<&[u8]>, &[u8])> {
        let mut at = 0usize;
        self.messages.iter().map(move |(key, len)| {
            let end = at + *len as usize;
            let value = self.values.get(at..end).unwrap_or(&[]);
            at = end;
            (key.as_deref(), value)
        })
    }

    /// The framed parts, for the export glue.
    #[doc(hidden)]
    pub fn into_parts(self) -> (Vec<Envelope>, Vec<u8>) {
        (self.messages, self.values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_keep_keys_values_and_order() {
        let mut r = Records::default();
        r.push(Some(b"k1"), b"one");
        r.push(None, b"");
        r.extend_framed([(Some(b"k3".to_vec()), 5)], b"three");
        let got: Vec<_> = r.iter().collect();
        assert_eq!(
            got,
            vec![
                (Some(&b"k1"[..]), &b"one"[..]),
                (None, &b""[..]),
                (Some(&b"k3"[..]), &b"three"[..])
            ]
        );
        assert_eq!(r.len(), 3);
    }
}

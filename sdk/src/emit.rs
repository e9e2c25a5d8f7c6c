//! Collects the rows a plugin emits into the framed output the host expects.

use crate::bindings::sluice::plugin::types::Row;

/// Where a plugin writes its rows: JSON objects, optionally routed to a named output.
#[derive(Debug, Default)]
pub struct Emitter {
    rows: Vec<Row>,
    data: Vec<u8>,
    event_first_row: usize,
    event_data_start: usize,
}

impl Emitter {
    pub(crate) fn with_capacity(events: usize, bytes: usize) -> Self {
        Self {
            rows: Vec::with_capacity(events),
            data: Vec::with_capacity(bytes + bytes / 2),
            ..Self::default()
        }
    }

    /// Emits a row (one JSON object) to the next plugin, or to the pipeline's main table.
    pub fn row(&mut self, json: &[u8]) {
        self.data.extend_from_slice(json);
        self.rows.push(Row {
            target: None,
            len: json.len() as u32,
        });
    }

    /// Emits a row to the output named `target` (mapped to a table by the pipeline config).
    pub fn row_to(&mut self, target: &str, json: &[u8]) {
        self.data.extend_from_slice(json);
        self.rows.push(Row {
            target: Some(target.to_owned()),
            len: json.len() as u32,
        });
    }

    /// Writes a row in place with `write`, which appends one JSON object to the buffer;
    /// saves the copy that [`Emitter::row`] makes.
    pub fn row_with(&mut self, target: Option<&str>, write: impl FnOnce(&mut Vec<u8>)) {
        let start = self.data.len();
        write(&mut self.data);
        self.rows.push(Row {
            target: target.map(str::to_owned),
            len: (self.data.len() - start) as u32,
        });
    }

    pub(crate) fn begin_event(&mut self) {
        self.event_first_row = self.rows.len();
        self.event_data_start = self.data.len();
    }

    pub(crate) fn event_rows(&self) -> u32 {
        (self.rows.len() - self.event_first_row) as u32
    }

    pub(crate) fn rollback_event(&mut self) {
        self.rows.truncate(self.event_first_row);
        self.data.truncate(self.event_data_start);
    }

    pub(crate) fn into_parts(self) -> (Vec<Row>, Vec<u8>) {
        (self.rows, self.data)
    }
}

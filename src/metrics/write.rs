//! The CSV writer of the metrics tables: [`RowWriter`] formats a row's fields, [`write_table`]
//! formats the rows in parallel and writes them in order, atomically.

use std::io::Write;
use std::path::Path;

use rayon::prelude::*;

use crate::error::Result;
use crate::io::write::write_atomic;
use crate::table::TrackIds;

/// The fields of one CSV row, written in order straight into the chunk's text (no
/// allocation per field).
pub(crate) struct RowWriter<'w> {
    out: &'w mut Vec<u8>,
    first: bool,
}

impl RowWriter<'_> {
    fn sep(&mut self) {
        if !std::mem::replace(&mut self.first, false) {
            self.out.push(b',');
        }
    }
    /// A number, as [`crate::table::fmt_f64`] writes it (shortest round trip, `NaN`).
    pub(crate) fn num(&mut self, v: f64) -> csv::Result<()> {
        self.sep();
        crate::table::push_f64(self.out, v);
        Ok(())
    }
    /// An integer.
    pub(crate) fn int(&mut self, v: u64) -> csv::Result<()> {
        self.sep();
        crate::table::push_int(self.out, v);
        Ok(())
    }
    /// Row `i`'s track id.
    pub(crate) fn id(&mut self, ids: &TrackIds, i: usize) -> csv::Result<()> {
        match ids {
            TrackIds::Int(v) => self.int(v[i]),
            TrackIds::Label(v) => {
                self.sep();
                crate::table::push_text(self.out, v[i].as_bytes());
                Ok(())
            }
        }
    }
}

/// Rows formatted per unit of parallel work.
const WRITE_CHUNK: usize = 16_384;

/// Writes a CSV of `n` rows, atomically: `header`, then the fields `row(i, …)` writes for each
/// row. Rows are formatted in parallel, a few chunks at a time (memory stays bounded), and
/// written in order.
pub(crate) fn write_table(
    path: &Path,
    header: &[&str],
    n: usize,
    row: impl Fn(usize, &mut RowWriter) -> csv::Result<()> + Sync,
) -> Result<()> {
    let format_chunk = |c: usize| -> std::io::Result<Vec<u8>> {
        let rows = c * WRITE_CHUNK..((c + 1) * WRITE_CHUNK).min(n);
        let mut out = Vec::with_capacity(rows.len() * 16 * header.len());
        for i in rows {
            row(i, &mut RowWriter { out: &mut out, first: true })?;
            out.push(b'\n');
        }
        Ok(out)
    };
    write_atomic(path, |w: &mut dyn Write| {
        let mut head = Vec::new();
        for (j, name) in header.iter().enumerate() {
            if j > 0 {
                head.push(b',');
            }
            crate::table::push_text(&mut head, name.as_bytes());
        }
        head.push(b'\n');
        w.write_all(&head)?;
        let chunks: Vec<usize> = (0..n.div_ceil(WRITE_CHUNK)).collect();
        for batch in chunks.chunks(4 * rayon::current_num_threads().max(1)) {
            let texts: Vec<std::io::Result<Vec<u8>>> =
                batch.par_iter().map(|&c| format_chunk(c)).collect();
            for text in texts {
                w.write_all(&text?)?;
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_written_as_the_table_writes_them() {
        let values =
            [0.0, -0.0, 1.0, 0.1, 1e-300, 1e21, -2.5e-7, f64::NAN, f64::INFINITY, 1.0 / 3.0];
        let mut out = Vec::new();
        let mut row = RowWriter { out: &mut out, first: true };
        for v in values {
            row.num(v).unwrap();
        }
        row.id(&TrackIds::Label(vec!["a,b".into()]), 0).unwrap();
        out.push(b'\n');
        let text = String::from_utf8(out).unwrap();
        let want: Vec<String> = values.iter().map(|&v| crate::table::fmt_f64(v)).collect();
        assert_eq!(text, format!("{},\"a,b\"\n", want.join(",")));
    }

    #[test]
    fn tables_of_many_chunks_keep_their_row_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        let n = 3 * WRITE_CHUNK + 17;
        write_table(&path, &["i", "half"], n, |i, w| {
            w.int(i as u64)?;
            w.num(i as f64 / 2.0)
        })
        .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), n + 1);
        assert_eq!(lines[0], "i,half");
        for (i, line) in lines[1..].iter().enumerate() {
            assert_eq!(*line, format!("{i},{}", i as f64 / 2.0));
        }
    }
}

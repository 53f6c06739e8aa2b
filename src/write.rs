//! The sinks: tables built column by column against the declared schema, written as Parquet
//! (arrow + parquet, zstd) and as a CSV mirror, into a staging folder that is then swapped into
//! place so readers never see a half-written table.
//!
//! Also home of `CharIndex`, the one place byte offsets become code-point offsets.

use std::fs::{self, File};
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::{ListBuilder, StringBuilder};
use arrow_array::{
    ArrayRef, BooleanArray, Float32Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use crate::error::Error;
use crate::schema::{ColType, TableDef};

/// Converts byte offsets of one text into Unicode code-point offsets.
pub struct CharIndex {
    /// Byte offset of every char start, or None when the text is ASCII (identity map).
    starts: Option<Vec<u32>>,
    len_bytes: usize,
}

impl CharIndex {
    /// Indexes `text`.
    pub fn new(text: &str) -> CharIndex {
        let starts = if text.is_ascii() {
            None
        } else {
            Some(text.char_indices().map(|(i, _)| i as u32).collect())
        };
        CharIndex { starts, len_bytes: text.len() }
    }

    /// Code-point offset of byte offset `b` (a char boundary, or the text's end).
    pub fn char_of(&self, b: usize) -> usize {
        match &self.starts {
            None => b,
            Some(s) => {
                if b >= self.len_bytes {
                    return s.len();
                }
                match s.binary_search(&(b as u32)) {
                    Ok(i) => i,
                    // Not on a boundary: round down to the char that holds it.
                    Err(i) => i.saturating_sub(1),
                }
            }
        }
    }
}

/// One cell value, as handed to a `TableBuilder`.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Null.
    Null,
    /// Text.
    Str(String),
    /// Integer (also timestamps, in microseconds).
    I64(i64),
    /// Float.
    F32(f32),
    /// Boolean.
    Bool(bool),
    /// List of strings.
    List(Vec<String>),
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::Str(s)
    }
}
impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::Str(s.to_string())
    }
}
impl From<i64> for Value {
    fn from(v: i64) -> Value {
        Value::I64(v)
    }
}
impl From<usize> for Value {
    fn from(v: usize) -> Value {
        Value::I64(v as i64)
    }
}
impl From<u64> for Value {
    fn from(v: u64) -> Value {
        Value::I64(v as i64)
    }
}
impl From<f32> for Value {
    fn from(v: f32) -> Value {
        Value::F32(v)
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Value {
        Value::Bool(v)
    }
}
impl From<Vec<String>> for Value {
    fn from(v: Vec<String>) -> Value {
        Value::List(v)
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Value {
        v.map_or(Value::Null, Into::into)
    }
}

/// A table being filled row by row; the rows are checked against the declared schema.
pub struct TableBuilder {
    def: &'static TableDef,
    rows: Vec<Vec<Value>>,
}

impl TableBuilder {
    /// An empty table of the given kind.
    pub fn new(def: &'static TableDef) -> TableBuilder {
        TableBuilder { def, rows: Vec::new() }
    }

    /// The table's declaration.
    pub fn def(&self) -> &'static TableDef {
        self.def
    }

    /// Adds a row; the values follow the declared column order.
    pub fn push(&mut self, row: Vec<Value>) -> Result<(), Error> {
        let def = self.def;
        if row.len() != def.columns.len() {
            return Err(Error::Schema(format!(
                "{}: row has {} values, the table has {} columns",
                def.name,
                row.len(),
                def.columns.len()
            )));
        }
        for (v, c) in row.iter().zip(def.columns) {
            let ok = match (v, c.ty) {
                (Value::Null, _) => c.nullable,
                (Value::Str(_), ColType::Str)
                | (Value::I64(_), ColType::I64 | ColType::Timestamp)
                | (Value::F32(_), ColType::F32)
                | (Value::Bool(_), ColType::Bool)
                | (Value::List(_), ColType::StrList) => true,
                _ => false,
            };
            if !ok {
                return Err(Error::Schema(format!("{}.{}: value {v:?} does not fit {:?}", def.name, c.name, c.ty)));
            }
        }
        self.rows.push(row);
        Ok(())
    }

    /// Number of rows so far.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when no row was added.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The rows (for tests and summaries).
    pub fn rows(&self) -> &[Vec<Value>] {
        &self.rows
    }

    /// All rows as one Arrow record batch.
    pub fn to_batch(&self) -> Result<RecordBatch, Error> {
        self.batch_of(0..self.rows.len())
    }

    /// Some rows as an Arrow record batch (the writer converts a chunk at a time, so memory
    /// holds one chunk in Arrow form rather than a second copy of the whole table).
    pub fn batch_of(&self, range: std::ops::Range<usize>) -> Result<RecordBatch, Error> {
        let schema = Arc::new(self.def.arrow_schema());
        let mut arrays: Vec<ArrayRef> = Vec::with_capacity(self.def.columns.len());
        for (i, c) in self.def.columns.iter().enumerate() {
            let cells = self.rows[range.clone()].iter().map(|r| &r[i]);
            let array: ArrayRef = match c.ty {
                ColType::Str => Arc::new(
                    cells
                        .map(|v| match v {
                            Value::Str(s) => Some(s.as_str()),
                            _ => None,
                        })
                        .collect::<StringArray>(),
                ),
                ColType::I64 => Arc::new(cells.map(as_i64).collect::<Int64Array>()),
                ColType::Timestamp => Arc::new(
                    cells.map(as_i64).collect::<TimestampMicrosecondArray>().with_timezone("UTC"),
                ),
                ColType::F32 => Arc::new(
                    cells
                        .map(|v| match v {
                            Value::F32(x) => Some(*x),
                            _ => None,
                        })
                        .collect::<Float32Array>(),
                ),
                ColType::Bool => Arc::new(
                    cells
                        .map(|v| match v {
                            Value::Bool(x) => Some(*x),
                            _ => None,
                        })
                        .collect::<BooleanArray>(),
                ),
                ColType::StrList => {
                    let mut b = ListBuilder::new(StringBuilder::new());
                    for v in cells {
                        match v {
                            Value::List(items) => {
                                for s in items {
                                    b.values().append_value(s);
                                }
                                b.append(true);
                            }
                            _ => b.append(false),
                        }
                    }
                    Arc::new(b.finish())
                }
            };
            arrays.push(array);
        }
        RecordBatch::try_new(schema, arrays).map_err(|e| Error::Schema(format!("{}: {e}", self.def.name)))
    }
}

fn as_i64(v: &Value) -> Option<i64> {
    match v {
        Value::I64(x) => Some(*x),
        _ => None,
    }
}

/// Which files a run writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Parquet only.
    Parquet,
    /// CSV only.
    Csv,
    /// Parquet and the CSV mirror.
    Both,
}

impl Format {
    fn parquet(self) -> bool {
        matches!(self, Format::Parquet | Format::Both)
    }
    fn csv(self) -> bool {
        matches!(self, Format::Csv | Format::Both)
    }
}

/// Rows per Parquet row group, and per batch the streaming writer converts at a time.
const ROW_GROUP: usize = 16_384;

fn parquet_props() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(3).expect("valid zstd level")))
        .set_created_by(format!("newsmill {}", env!("CARGO_PKG_VERSION")))
        .set_max_row_group_size(ROW_GROUP)
        .build()
}

/// Writes one table while its rows arrive: `<dir>/<name>/part-00000.parquet` and/or
/// `<dir>/csv/<name>.csv`. Rows are checked against the schema as they are pushed and written
/// a row group at a time, so memory holds at most one row group of the table.
pub struct TableWriter {
    buf: TableBuilder,
    parquet: Option<(PathBuf, ArrowWriter<BufWriter<File>>)>,
    csv: Option<(PathBuf, csv::Writer<BufWriter<File>>)>,
    rows: u64,
}

impl TableWriter {
    /// Creates the table's files under `dir` in the chosen formats.
    pub fn create(def: &'static TableDef, dir: &Path, format: Format) -> Result<TableWriter, Error> {
        let parquet = if format.parquet() {
            let folder = dir.join(def.name);
            fs::create_dir_all(&folder).map_err(|e| Error::io(&folder, e))?;
            let path = folder.join("part-00000.parquet");
            let file = File::create(&path).map_err(|e| Error::io(&path, e))?;
            let w = ArrowWriter::try_new(BufWriter::new(file), Arc::new(def.arrow_schema()), Some(parquet_props()))
                .map_err(|e| Error::Write { path: path.clone(), detail: e.to_string() })?;
            Some((path, w))
        } else {
            None
        };
        let csv = if format.csv() {
            let folder = dir.join("csv");
            fs::create_dir_all(&folder).map_err(|e| Error::io(&folder, e))?;
            let path = folder.join(format!("{}.csv", def.name));
            let file = File::create(&path).map_err(|e| Error::io(&path, e))?;
            let mut w = csv::Writer::from_writer(BufWriter::new(file));
            w.write_record(def.columns.iter().map(|c| c.name)).map_err(|e| Error::Write { path: path.clone(), detail: e.to_string() })?;
            Some((path, w))
        } else {
            None
        };
        Ok(TableWriter { buf: TableBuilder::new(def), parquet, csv, rows: 0 })
    }

    /// The table's declaration.
    pub fn def(&self) -> &'static TableDef {
        self.buf.def
    }

    /// Adds a row (values in the declared column order).
    pub fn push(&mut self, row: Vec<Value>) -> Result<(), Error> {
        self.buf.push(row)?;
        self.rows += 1;
        if self.buf.len() >= ROW_GROUP {
            self.flush()?;
        }
        Ok(())
    }

    /// Adds every row of a table built in memory.
    pub fn push_all(&mut self, table: TableBuilder) -> Result<(), Error> {
        for row in table.rows {
            self.push(row)?;
        }
        Ok(())
    }

    /// Rows pushed so far.
    pub fn len(&self) -> u64 {
        self.rows
    }

    /// True when no row was pushed.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    fn flush(&mut self) -> Result<(), Error> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let buf = &self.buf;
        // The two formats are encoded side by side.
        let (pq, csv) = rayon::join(
            || -> Result<(), Error> {
                if let Some((path, w)) = &mut self.parquet {
                    let batch = buf.to_batch()?;
                    w.write(&batch).map_err(|e| Error::Write { path: path.clone(), detail: e.to_string() })?;
                    w.flush().map_err(|e| Error::Write { path: path.clone(), detail: e.to_string() })?;
                }
                Ok(())
            },
            || -> Result<(), Error> {
                if let Some((path, w)) = &mut self.csv {
                    for row in &buf.rows {
                        let cells = row.iter().zip(buf.def.columns).map(|(v, c)| csv_cell(v, c.ty));
                        w.write_record(cells).map_err(|e| Error::Write { path: path.clone(), detail: e.to_string() })?;
                    }
                }
                Ok(())
            },
        );
        pq?;
        csv?;
        self.buf.rows.clear();
        Ok(())
    }

    /// Writes what is left and closes the files; returns the number of rows.
    pub fn finish(mut self) -> Result<u64, Error> {
        self.flush()?;
        if let Some((path, w)) = self.parquet.take() {
            w.close().map_err(|e| Error::Write { path: path.clone(), detail: e.to_string() })?;
        }
        if let Some((path, mut w)) = self.csv.take() {
            w.flush().map_err(|e| Error::io(&path, e))?;
        }
        Ok(self.rows)
    }
}

/// Checks the tables written into `staging` before they are committed: each Parquet file's
/// schema is the declared one and its row count is the run's counter; each CSV file has the
/// declared header.
pub fn verify_staging(staging: &Path, counts: &std::collections::BTreeMap<String, u64>, format: Format) -> Result<(), Error> {
    for t in crate::schema::TABLES {
        let expected = counts.get(t.name).copied().unwrap_or(0);
        if format.parquet() {
            let path = staging.join(t.name).join("part-00000.parquet");
            let file = File::open(&path).map_err(|e| Error::io(&path, e))?;
            let builder = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
                .map_err(|e| Error::Write { path: path.clone(), detail: e.to_string() })?;
            let rows = builder.metadata().file_metadata().num_rows();
            if rows as u64 != expected {
                return Err(Error::Schema(format!("{}: {rows} rows written, {expected} counted", t.name)));
            }
            let declared = t.arrow_schema();
            let found = builder.schema();
            if found.fields() != declared.fields() {
                return Err(Error::Schema(format!("{}: written schema differs from the declared one", t.name)));
            }
        }
        if format.csv() {
            let path = staging.join("csv").join(format!("{}.csv", t.name));
            let mut r = csv::Reader::from_path(&path).map_err(|e| Error::Write { path: path.clone(), detail: e.to_string() })?;
            let header = r.headers().map_err(|e| Error::Write { path: path.clone(), detail: e.to_string() })?;
            if !header.iter().eq(t.columns.iter().map(|c| c.name)) {
                return Err(Error::Schema(format!("{}: CSV header differs from the declared columns", t.name)));
            }
        }
    }
    Ok(())
}

/// The CSV form of one cell.
pub fn csv_cell(v: &Value, ty: ColType) -> String {
    match v {
        Value::Null => String::new(),
        Value::Str(s) => s.clone(),
        Value::I64(x) if ty == ColType::Timestamp => {
            chrono::DateTime::from_timestamp_micros(*x).map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)).unwrap_or_default()
        }
        Value::I64(x) => x.to_string(),
        Value::F32(x) => format!("{x}"),
        Value::Bool(b) => b.to_string(),
        Value::List(items) => serde_json::to_string(items).unwrap_or_default(),
    }
}

/// Moves each table folder (and `csv/`) of `staging` into `output`, replacing what was there,
/// then removes `staging`. Where the OS can, each replacement is one atomic exchange of the two
/// folders (Linux `renameat2(RENAME_EXCHANGE)`), so a reader sees the old or the new table and
/// never a missing one; elsewhere it falls back to moving the old table aside first, and a
/// run killed between those two renames is repaired by the next run (`lock::clean_leftovers`).
pub fn commit_staging(staging: &Path, output: &Path) -> Result<(), Error> {
    let entries = fs::read_dir(staging).map_err(|e| Error::io(staging, e))?;
    let mut names: Vec<_> = entries.filter_map(|e| e.ok()).map(|e| e.file_name()).collect();
    names.sort();
    for name in names {
        let from = staging.join(&name);
        let to = output.join(&name);
        if !to.exists() {
            fs::rename(&from, &to).map_err(|e| Error::io(&from, e))?;
            continue;
        }
        if exchange(&from, &to).is_ok() {
            crate::lock::fault_point("commit");
            continue;
        }
        let old = output.join(format!(".old-{}", name.to_string_lossy()));
        if old.exists() {
            fs::remove_dir_all(&old).map_err(|e| Error::io(&old, e))?;
        }
        fs::rename(&to, &old).map_err(|e| Error::io(&to, e))?;
        crate::lock::fault_point("commit");
        fs::rename(&from, &to).map_err(|e| Error::io(&from, e))?;
        fs::remove_dir_all(&old).map_err(|e| Error::io(&old, e))?;
    }
    fs::remove_dir_all(staging).map_err(|e| Error::io(staging, e))?;
    Ok(())
}

/// Atomically swaps two paths (both must exist).
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    use rustix::fs::{renameat_with, RenameFlags, CWD};
    if std::env::var_os("NEWSMILL_NO_EXCHANGE").is_some() {
        return Err(std::io::Error::other("exchange disabled"));
    }
    renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE).map_err(std::io::Error::from)
}

#[cfg(not(target_os = "linux"))]
fn exchange(_a: &Path, _b: &Path) -> std::io::Result<()> {
    Err(std::io::Error::other("atomic exchange is not available on this platform"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{ENTITIES, REJECTS};

    #[test]
    fn char_index_maps_multibyte_text() {
        let t = "a’b “c”";
        let ix = CharIndex::new(t);
        let b = t.find('b').unwrap();
        assert_eq!(ix.char_of(b), 2);
        assert_eq!(ix.char_of(t.len()), t.chars().count());
        assert_eq!(CharIndex::new("abc").char_of(2), 2);
    }

    #[test]
    fn builder_refuses_wrong_types_and_nulls() {
        let mut t = TableBuilder::new(&REJECTS);
        assert!(t.push(vec!["f".into(), 1i64.into(), "empty".into(), "d".into(), "r".into()]).is_ok());
        assert!(t.push(vec![Value::Null, 1i64.into(), "empty".into(), "d".into(), "r".into()]).is_err());
        assert!(t.push(vec!["f".into(), "x".into(), "empty".into(), "d".into(), "r".into()]).is_err());
        assert!(t.push(vec!["f".into()]).is_err());
    }

    #[test]
    fn parquet_and_csv_round_trip_counts() {
        let dir = tempfile::tempdir().unwrap();
        let mut t = TableBuilder::new(&ENTITIES);
        t.push(vec!["e1".into(), "PERSON".into(), "Donald Trump".into(), vec!["Trump".to_string()].into(), 3i64.into(), 2i64.into()]).unwrap();
        let mut w = TableWriter::create(&ENTITIES, dir.path(), Format::Both).unwrap();
        w.push_all(t).unwrap();
        assert_eq!(w.finish().unwrap(), 1);
        let csv = fs::read_to_string(dir.path().join("csv/entities.csv")).unwrap();
        assert!(csv.contains("\"[\"\"Trump\"\"]\""), "{csv}");
        let f = File::open(dir.path().join("entities/part-00000.parquet")).unwrap();
        let r = parquet::file::reader::SerializedFileReader::new(f).unwrap();
        use parquet::file::reader::FileReader;
        assert_eq!(r.metadata().file_metadata().num_rows(), 1);
    }
}

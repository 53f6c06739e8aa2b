//! The source: discovering input files (files, folders, globs; sorted) and reading them into
//! raw records. `.txt`/`.text` hold one report per file, `.jsonl`/`.ndjson` one per line,
//! `.csv` one per row; any may be gzip or zstd compressed, detected by content. A bad record
//! becomes a `Reject` and never stops the run.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use globset::Glob;
use serde_json::Value as Json;

use crate::config::{FieldMap, InputConfig};
use crate::error::{Error, Reject, RejectReason};

/// One report as read, before normalization.
#[derive(Debug, Clone, PartialEq)]
pub struct RawRecord {
    /// Input file, as discovered.
    pub source_file: String,
    /// Line, data row, or 1 for one-report files.
    pub source_record: u64,
    /// The record's own id, if any.
    pub source_id: Option<String>,
    /// The body, decoded.
    pub text: String,
    /// Headline from the record.
    pub title: Option<String>,
    /// URL from the record.
    pub url: Option<String>,
    /// Publication time as written in the record.
    pub published_at: Option<String>,
    /// Publisher from the record.
    pub outlet: Option<String>,
    /// How the bytes were decoded.
    pub encoding: &'static str,
}

/// The container format of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    /// One report per file.
    Text,
    /// One JSON object per line.
    Jsonl,
    /// Header row, then one report per row.
    Csv,
}

/// Finds every input file named by `specs` (files, folders, globs), sorted, each once.
/// Hidden files and folders (starting with '.') inside folders are skipped.
pub fn discover(specs: &[String]) -> Result<Vec<PathBuf>, Error> {
    let mut out = Vec::new();
    for spec in specs {
        let is_glob = spec.contains(['*', '?', '[', '{']);
        if is_glob {
            let glob = Glob::new(spec)
                .map_err(|e| Error::InvalidPipeline { path: PathBuf::from(spec), problems: vec![format!("bad glob: {e}")] })?
                .compile_matcher();
            // Walk from the longest literal prefix folder.
            let literal: Vec<&str> =
                spec.split('/').take_while(|part| !part.contains(['*', '?', '[', '{'])).collect();
            let root = if literal.is_empty() { ".".to_string() } else { literal.join("/") };
            let root = if root.is_empty() { "/".to_string() } else { root };
            for p in walk(Path::new(&root)) {
                let rel = p.strip_prefix("./").unwrap_or(&p);
                if glob.is_match(rel) || glob.is_match(&p) {
                    out.push(p);
                }
            }
        } else {
            let p = PathBuf::from(spec);
            if p.is_dir() {
                out.extend(walk(&p));
            } else if p.is_file() {
                out.push(p);
            } else {
                return Err(Error::io(&p, std::io::Error::new(std::io::ErrorKind::NotFound, "input path does not exist")));
            }
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn walk(root: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(root)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'))
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .collect()
}

/// Compression detected from the first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compression {
    None,
    Gzip,
    Zstd,
}

fn sniff_compression(head: &[u8]) -> Compression {
    if head.starts_with(&[0x1f, 0x8b]) {
        Compression::Gzip
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Compression::Zstd
    } else {
        Compression::None
    }
}

/// The format named by the file name, compression suffixes stripped.
pub fn format_from_name(path: &Path) -> Option<FileFormat> {
    let name = path.file_name()?.to_string_lossy().to_ascii_lowercase();
    let base = name
        .strip_suffix(".gz")
        .or_else(|| name.strip_suffix(".zst"))
        .or_else(|| name.strip_suffix(".zstd"))
        .unwrap_or(&name);
    let ext = base.rsplit_once('.')?.1;
    match ext {
        "txt" | "text" => Some(FileFormat::Text),
        "jsonl" | "ndjson" => Some(FileFormat::Jsonl),
        "csv" => Some(FileFormat::Csv),
        _ => None,
    }
}

/// Decodes bytes: UTF-8 (BOM stripped), UTF-16 with a BOM, otherwise Windows-1252.
pub fn decode(bytes: &[u8]) -> (String, &'static str) {
    if let Some(rest) = bytes.strip_prefix(&[0xef, 0xbb, 0xbf]) {
        return decode(rest);
    }
    if bytes.starts_with(&[0xff, 0xfe]) || bytes.starts_with(&[0xfe, 0xff]) {
        let enc = if bytes[0] == 0xff { encoding_rs::UTF_16LE } else { encoding_rs::UTF_16BE };
        let (s, _, _) = enc.decode(bytes);
        return (s.into_owned(), "utf-16");
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => (s.to_string(), "utf-8"),
        Err(_) => {
            let (s, _, _) = encoding_rs::WINDOWS_1252.decode(bytes);
            (s.into_owned(), "windows-1252")
        }
    }
}

/// True for bytes that are not text: NULs (outside UTF-16) or many control bytes.
pub fn looks_binary(head: &[u8]) -> bool {
    if head.starts_with(&[0xff, 0xfe]) || head.starts_with(&[0xfe, 0xff]) {
        return false;
    }
    let nul = memchr::memchr_iter(0, head).count();
    if nul > 0 {
        return true;
    }
    let ctrl = head.iter().filter(|&&b| b < 0x20 && !matches!(b, b'\n' | b'\r' | b'\t' | 0x0c)).count();
    ctrl * 10 > head.len().max(1)
}

/// What a reader yields: a record, or a refusal with its reason.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// A report to normalize.
    Record(RawRecord),
    /// A record (or the whole file) refused.
    Reject(Reject),
}

/// Reads one file record by record, holding at most one record (and the decompressor's and
/// parser's buffers) in memory, so a file of any size is read in flat memory. Never fails:
/// every problem becomes a [`Item::Reject`].
pub struct RecordReader {
    name: String,
    cap: usize,
    fields: FieldMap,
    state: ReadState,
}

enum ReadState {
    Done,
    /// A refusal of the whole file, yielded once.
    Refused(Reject),
    Text(Box<dyn BufRead + Send>),
    Jsonl { reader: Box<dyn BufRead + Send>, lineno: u64 },
    Csv(Box<CsvState>),
}

struct CsvState {
    rdr: csv::Reader<Box<dyn BufRead + Send>>,
    headers: Vec<String>,
    cols: [Option<usize>; 6],
    row: csv::ByteRecord,
    rowno: u64,
}

impl RecordReader {
    /// Opens `path`: detects compression from the content, refuses binaries, and picks the
    /// format from the name (or, for unknown names, from the first bytes).
    pub fn open(path: &Path, input: &InputConfig) -> RecordReader {
        let name = path.to_string_lossy().into_owned();
        let mut r = RecordReader { name, cap: input.max_doc_bytes.get(), fields: input.fields.clone(), state: ReadState::Done };
        r.state = match r.start(path) {
            Ok(s) => s,
            Err((reason, detail)) => ReadState::Refused(r.reject(0, reason, detail)),
        };
        r
    }

    fn reject(&self, record: u64, reason: RejectReason, detail: String) -> Reject {
        Reject { source_file: self.name.clone(), source_record: record, reason, detail }
    }

    fn start(&self, path: &Path) -> Result<ReadState, (RejectReason, String)> {
        let unreadable = |e: std::io::Error| (RejectReason::Unreadable, e.to_string());
        let mut file = File::open(path).map_err(unreadable)?;
        let mut magic = [0u8; 4];
        let n = read_up_to(&mut file, &mut magic).map_err(unreadable)?;
        let comp = sniff_compression(&magic[..n]);
        let file = File::open(path).map_err(unreadable)?;
        let raw: Box<dyn Read + Send> = match comp {
            Compression::None => Box::new(file),
            Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(file)),
            Compression::Zstd => Box::new(
                zstd::stream::read::Decoder::new(file).map_err(|e| (RejectReason::BadCompression, e.to_string()))?,
            ),
        };
        let mut reader: Box<dyn BufRead + Send> = Box::new(BufReader::with_capacity(1 << 16, raw));
        // Look at the first (decompressed) bytes to refuse binaries and to sniff unknown formats.
        let head = match reader.fill_buf() {
            Ok(h) => h[..h.len().min(8192)].to_vec(),
            Err(e) => {
                let reason = if comp == Compression::None { RejectReason::Unreadable } else { RejectReason::BadCompression };
                return Err((reason, e.to_string()));
            }
        };
        if looks_binary(&head) {
            return Err((RejectReason::Binary, "NUL or control bytes in the first 8 KiB: not a text file".into()));
        }
        let format = format_from_name(path).unwrap_or_else(|| {
            if head.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
                FileFormat::Jsonl
            } else {
                FileFormat::Text
            }
        });
        Ok(match format {
            FileFormat::Text => ReadState::Text(reader),
            FileFormat::Jsonl => ReadState::Jsonl { reader, lineno: 0 },
            FileFormat::Csv => {
                let mut rdr = csv::ReaderBuilder::new().flexible(true).has_headers(true).from_reader(reader);
                let headers: Vec<String> = match rdr.byte_headers() {
                    Ok(h) => h.iter().map(|f| decode(f).0.trim().to_string()).collect(),
                    Err(e) => return Err((RejectReason::MalformedCsv, format!("no readable header row: {e}"))),
                };
                let col = |k: &str| headers.iter().position(|h| h == k);
                let f = &self.fields;
                let cols = [col(&f.text), col(&f.title), col(&f.url), col(&f.published_at), col(&f.outlet), col(&f.id)];
                ReadState::Csv(Box::new(CsvState { rdr, headers, cols, row: csv::ByteRecord::new(), rowno: 0 }))
            }
        })
    }

    /// The next record or refusal; `None` at the end of the file.
    pub fn next_item(&mut self) -> Option<Item> {
        match std::mem::replace(&mut self.state, ReadState::Done) {
            ReadState::Done => None,
            ReadState::Refused(r) => Some(Item::Reject(r)),
            ReadState::Text(reader) => Some(self.read_text(reader)),
            ReadState::Jsonl { mut reader, mut lineno } => {
                let (item, more) = self.next_jsonl(&mut reader, &mut lineno);
                if more {
                    self.state = ReadState::Jsonl { reader, lineno };
                }
                item
            }
            ReadState::Csv(mut c) => {
                let item = self.next_csv(&mut c);
                if item.is_some() {
                    self.state = ReadState::Csv(c);
                }
                item
            }
        }
    }

    fn read_text(&self, reader: Box<dyn BufRead + Send>) -> Item {
        let cap = self.cap;
        let mut buf = Vec::new();
        match reader.take(cap as u64 + 1).read_to_end(&mut buf) {
            Ok(_) if buf.len() > cap => Item::Reject(self.reject(1, RejectReason::TooLarge, format!("more than {cap} bytes"))),
            Ok(_) => {
                let (text, encoding) = decode(&buf);
                Item::Record(RawRecord {
                    source_file: self.name.clone(),
                    source_record: 1,
                    source_id: None,
                    text,
                    title: None,
                    url: None,
                    published_at: None,
                    outlet: None,
                    encoding,
                })
            }
            Err(e) => Item::Reject(self.reject(1, RejectReason::BadCompression, e.to_string())),
        }
    }

    /// The next item of a JSONL file, and whether more may follow.
    fn next_jsonl(&self, reader: &mut Box<dyn BufRead + Send>, lineno: &mut u64) -> (Option<Item>, bool) {
        let cap = self.cap;
        let mut line = Vec::new();
        loop {
            line.clear();
            *lineno += 1;
            let lineno = *lineno;
            // Read at most cap+1 bytes of the line; the rest of an oversized line is skipped.
            let n = match reader.by_ref().take(cap as u64 + 1).read_until(b'\n', &mut line) {
                Ok(n) => n,
                Err(e) => {
                    let r = self.reject(lineno, RejectReason::BadCompression, format!("reading stopped: {e}"));
                    return (Some(Item::Reject(r)), false);
                }
            };
            if n == 0 {
                return (None, false);
            }
            if line.len() > cap && line.last() != Some(&b'\n') {
                skip_line(reader);
                let r = self.reject(lineno, RejectReason::TooLarge, format!("line longer than {cap} bytes"));
                return (Some(Item::Reject(r)), true);
            }
            if line.iter().all(|b| b.is_ascii_whitespace()) {
                continue;
            }
            let (s, encoding) = decode(&line);
            let rej = |reason, detail: String| (Some(Item::Reject(self.reject(lineno, reason, detail))), true);
            let obj = match serde_json::from_str::<Json>(s.trim()) {
                Ok(Json::Object(m)) => m,
                Ok(other) => return rej(RejectReason::MalformedJson, format!("expected a JSON object, got {}", json_kind(&other))),
                Err(e) => return rej(RejectReason::MalformedJson, e.to_string()),
            };
            let get = |k: &str| obj.get(k).and_then(json_scalar);
            let f = &self.fields;
            return match get(&f.text) {
                Some(text) => {
                    let rec = RawRecord {
                        source_file: self.name.clone(),
                        source_record: lineno,
                        source_id: get(&f.id),
                        text,
                        title: get(&f.title),
                        url: get(&f.url),
                        published_at: get(&f.published_at),
                        outlet: get(&f.outlet),
                        encoding,
                    };
                    (Some(Item::Record(rec)), true)
                }
                None => rej(
                    RejectReason::MissingTextField,
                    format!("no string field \"{}\" (fields: {})", f.text, obj.keys().cloned().collect::<Vec<_>>().join(", ")),
                ),
            };
        }
    }

    fn next_csv(&self, c: &mut CsvState) -> Option<Item> {
        let cap = self.cap;
        c.rowno += 1;
        let rowno = c.rowno;
        match c.rdr.read_byte_record(&mut c.row) {
            Ok(false) => return None,
            Ok(true) => {}
            Err(e) => {
                let r = self.reject(rowno, RejectReason::MalformedCsv, e.to_string());
                if e.is_io_error() {
                    // Nothing more can be read: end the file after this refusal.
                    c.rdr = csv::Reader::from_reader(Box::new(std::io::empty()) as Box<dyn BufRead + Send>);
                }
                return Some(Item::Reject(r));
            }
        }
        let rej = |reason, detail: String| Some(Item::Reject(self.reject(rowno, reason, detail)));
        let [text_col, title_col, url_col, pub_col, outlet_col, id_col] = c.cols;
        let Some(tc) = text_col else {
            return rej(
                RejectReason::MissingTextField,
                format!("no column \"{}\" in the header ({})", self.fields.text, c.headers.join(", ")),
            );
        };
        if c.row.as_slice().len() > cap {
            return rej(RejectReason::TooLarge, format!("row longer than {cap} bytes"));
        }
        let mut encoding = "utf-8";
        let row = &c.row;
        let mut get = |c: Option<usize>| -> Option<String> {
            let (s, enc) = decode(row.get(c?)?);
            if enc != "utf-8" {
                encoding = enc;
            }
            if s.trim().is_empty() {
                None
            } else {
                Some(s)
            }
        };
        let text = get(Some(tc));
        let (title, url, published_at, outlet, source_id) =
            (get(title_col), get(url_col), get(pub_col), get(outlet_col), get(id_col));
        match text {
            Some(text) => Some(Item::Record(RawRecord {
                source_file: self.name.clone(),
                source_record: rowno,
                source_id,
                text,
                title,
                url,
                published_at,
                outlet,
                encoding,
            })),
            None => rej(RejectReason::Empty, format!("column \"{}\" is empty", self.fields.text)),
        }
    }
}

impl Iterator for RecordReader {
    type Item = Item;
    fn next(&mut self) -> Option<Item> {
        self.next_item()
    }
}

/// Reads one whole file into records and rejects (small files and tests; the runner streams
/// with [`RecordReader`]). Never fails: every problem is a reject.
pub fn read_file(path: &Path, input: &InputConfig) -> (Vec<RawRecord>, Vec<Reject>) {
    let mut recs = Vec::new();
    let mut rejects = Vec::new();
    for item in RecordReader::open(path, input) {
        match item {
            Item::Record(r) => recs.push(r),
            Item::Reject(r) => rejects.push(r),
        }
    }
    (recs, rejects)
}

/// Skips the rest of an oversized line without holding it in memory.
fn skip_line(reader: &mut Box<dyn BufRead + Send>) {
    loop {
        let (done, used) = match reader.fill_buf() {
            Ok([]) | Err(_) => return,
            Ok(buf) => match buf.iter().position(|&b| b == b'\n') {
                Some(i) => (true, i + 1),
                None => (false, buf.len()),
            },
        };
        reader.consume(used);
        if done {
            return;
        }
    }
}

/// Reads until `buf` is full or the reader ends; the number of bytes read.
pub(crate) fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

fn json_kind(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

fn json_scalar(v: &Json) -> Option<String> {
    match v {
        Json::String(s) => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        Json::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn input() -> InputConfig {
        toml::from_str("paths=['x']").unwrap()
    }

    #[test]
    fn decode_falls_back_to_windows_1252() {
        assert_eq!(decode(b"caf\xe9"), ("café".to_string(), "windows-1252"));
        assert_eq!(decode("\u{feff}café".as_bytes()), ("café".to_string(), "utf-8"));
    }

    #[test]
    fn jsonl_keeps_good_lines_and_refuses_bad_ones() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.jsonl");
        std::fs::write(&p, "{\"text\":\"one\"}\n{bad\n\n[1]\n{\"body\":\"x\"}\n{\"text\":\"two\",\"id\":7}").unwrap();
        let (recs, rej) = read_file(&p, &input());
        assert_eq!(recs.iter().map(|r| (r.source_record, r.text.as_str())).collect::<Vec<_>>(), [(1, "one"), (6, "two")]);
        assert_eq!(recs[1].source_id.as_deref(), Some("7"));
        let reasons: Vec<_> = rej.iter().map(|r| (r.source_record, r.reason)).collect();
        assert_eq!(
            reasons,
            [(2, RejectReason::MalformedJson), (4, RejectReason::MalformedJson), (5, RejectReason::MissingTextField)]
        );
    }

    #[test]
    fn gzip_is_detected_by_content() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.jsonl"); // no .gz suffix on purpose
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(b"{\"text\":\"hello\"}\n").unwrap();
        std::fs::write(&p, gz.finish().unwrap()).unwrap();
        let (recs, rej) = read_file(&p, &input());
        assert!(rej.is_empty());
        assert_eq!(recs[0].text, "hello");
    }

    #[test]
    fn binary_and_oversized_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("b.txt");
        std::fs::write(&p, b"\x00\x01\x02abc\x00\x00").unwrap();
        assert_eq!(read_file(&p, &input()).1[0].reason, RejectReason::Binary);
        let p = dir.path().join("big.txt");
        std::fs::write(&p, "x".repeat(20)).unwrap();
        let small: InputConfig = toml::from_str("paths=['x']\nmax_doc_bytes=10").unwrap();
        assert_eq!(read_file(&p, &small).1[0].reason, RejectReason::TooLarge);
    }

    #[test]
    fn reader_streams_records_and_skips_an_oversized_line_without_holding_it() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.jsonl");
        let long = "y".repeat(100_000);
        let body = format!("{{\"text\": \"one\"}}\n{{\"text\": \"{long}\"}}\n{{\"text\": \"three\"}}\n");
        std::fs::write(&p, body).unwrap();
        let small: InputConfig = toml::from_str("paths=['x']\nmax_doc_bytes=1000").unwrap();
        let items: Vec<Item> = RecordReader::open(&p, &small).collect();
        assert_eq!(items.len(), 3);
        assert!(matches!(&items[0], Item::Record(r) if r.text == "one" && r.source_record == 1));
        assert!(matches!(&items[1], Item::Reject(r) if r.reason == RejectReason::TooLarge && r.source_record == 2));
        assert!(matches!(&items[2], Item::Record(r) if r.text == "three" && r.source_record == 3));
        // a truncated gzip stream ends the file with one refusal, not a loop of them
        let gz = dir.path().join("t.jsonl.gz");
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        for i in 0..2000 {
            writeln!(e, "{{\"text\": \"report {i} with some words to compress\"}}").unwrap();
        }
        let bytes = e.finish().unwrap();
        std::fs::write(&gz, &bytes[..bytes.len() / 2]).unwrap();
        let items: Vec<Item> = RecordReader::open(&gz, &input()).collect();
        let rejects = items.iter().filter(|i| matches!(i, Item::Reject(_))).count();
        assert!(rejects <= 1, "{rejects} refusals");
        assert!(items.len() > 10);
    }

    #[test]
    fn csv_without_text_column_refuses_each_row() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.csv");
        std::fs::write(&p, "title,body\na,b\nc,d\n").unwrap();
        let (recs, rej) = read_file(&p, &input());
        assert!(recs.is_empty());
        assert_eq!(rej.len(), 2);
        assert!(rej.iter().all(|r| r.reason == RejectReason::MissingTextField));
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        fn arbitrary_file(bytes: &[u8], name: &str, gzip: bool) -> (tempfile::TempDir, std::path::PathBuf) {
            let dir = tempfile::tempdir().unwrap();
            let p = dir.path().join(name);
            if gzip {
                let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                gz.write_all(bytes).unwrap();
                std::fs::write(&p, gz.finish().unwrap()).unwrap();
            } else {
                std::fs::write(&p, bytes).unwrap();
            }
            (dir, p)
        }

        fn text_like() -> impl Strategy<Value = Vec<u8>> {
            prop_oneof![
                proptest::collection::vec(any::<u8>(), 0..400),
                "[ -~\n“”‘’é\u{0}\r\t{}\",:]{0,300}".prop_map(|s| s.into_bytes()),
                proptest::collection::vec(
                    prop_oneof![
                        Just("{\"text\": \"a report\"}".to_string()),
                        Just("{\"text\": 5}".to_string()),
                        Just("{bad".to_string()),
                        Just("".to_string()),
                        "[ -~]{0,40}",
                    ],
                    0..20
                )
                .prop_map(|lines| lines.join("\n").into_bytes()),
            ]
        }

        proptest! {

            #[test]
            fn txt_gives_exactly_one_document_or_reject(bytes in text_like(), gz in any::<bool>()) {
                let (_d, p) = arbitrary_file(&bytes, "x.txt", gz);
                let (recs, rej) = read_file(&p, &input());
                prop_assert_eq!(recs.len() + rej.len(), 1);
            }

            #[test]
            fn jsonl_accounts_for_every_line(bytes in text_like(), gz in any::<bool>()) {
                let (_d, p) = arbitrary_file(&bytes, "x.jsonl", gz);
                let (recs, rej) = read_file(&p, &input());
                if rej.iter().any(|r| r.source_record == 0) {
                    // The whole file was refused (binary): one row stands for it.
                    prop_assert!(recs.is_empty());
                    prop_assert_eq!(rej.len(), 1);
                } else {
                    let lines = bytes.split(|&b| b == b'\n').filter(|l| !l.iter().all(|b| b.is_ascii_whitespace())).count();
                    prop_assert_eq!(recs.len() + rej.len(), lines);
                }
            }

            #[test]
            fn csv_never_panics(bytes in text_like(), gz in any::<bool>()) {
                let mut with_header = b"id,text\n".to_vec();
                with_header.extend_from_slice(&bytes);
                let (_d, p) = arbitrary_file(&with_header, "x.csv", gz);
                let _ = read_file(&p, &input());
            }
        }
    }
}

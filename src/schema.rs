//! THE place where table names, column names, types and descriptions live.
//!
//! Both writers (Parquet and CSV) and `newsmill schema` derive from these declarations, so a
//! column cannot drift between formats. Rows are handed to the writers as `Column`s, which are
//! checked against the declared type before anything is written.

use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema, TimeUnit};

/// Version of the table contract; bumped when a column is renamed or retyped.
pub const SCHEMA_VERSION: u32 = 1;

/// The logical type of a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColType {
    /// UTF-8 text.
    Str,
    /// 64-bit signed integer.
    I64,
    /// 32-bit float.
    F32,
    /// Boolean.
    Bool,
    /// UTC timestamp, microseconds.
    Timestamp,
    /// List of UTF-8 strings.
    StrList,
}

impl ColType {
    /// The Arrow type written to Parquet.
    pub fn arrow(self) -> DataType {
        match self {
            ColType::Str => DataType::Utf8,
            ColType::I64 => DataType::Int64,
            ColType::F32 => DataType::Float32,
            ColType::Bool => DataType::Boolean,
            ColType::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            ColType::StrList => DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
        }
    }

    /// The name printed by `newsmill schema`.
    pub fn name(self) -> &'static str {
        match self {
            ColType::Str => "string",
            ColType::I64 => "int64",
            ColType::F32 => "float32",
            ColType::Bool => "bool",
            ColType::Timestamp => "timestamp[us, UTC]",
            ColType::StrList => "list<string>",
        }
    }
}

/// One declared column.
#[derive(Debug, Clone, Copy)]
pub struct ColumnDef {
    /// Column name.
    pub name: &'static str,
    /// Its type.
    pub ty: ColType,
    /// May it hold nulls?
    pub nullable: bool,
    /// One-line description.
    pub doc: &'static str,
}

/// One declared table.
#[derive(Debug, Clone, Copy)]
pub struct TableDef {
    /// Table (and folder) name.
    pub name: &'static str,
    /// What one row is.
    pub row: &'static str,
    /// Its columns, in order.
    pub columns: &'static [ColumnDef],
}

impl TableDef {
    /// The Arrow schema of the table.
    pub fn arrow_schema(&self) -> Schema {
        Schema::new(
            self.columns
                .iter()
                .map(|c| Field::new(c.name, c.ty.arrow(), c.nullable))
                .collect::<Vec<_>>(),
        )
    }
}

const fn col(name: &'static str, ty: ColType, nullable: bool, doc: &'static str) -> ColumnDef {
    ColumnDef { name, ty, nullable, doc }
}

use ColType::*;

/// `documents`: one row per ingested report.
pub const DOCUMENTS: TableDef = TableDef {
    name: "documents",
    row: "ingested report",
    columns: &[
        col("doc_id", Str, false, "stable id: hash of the source identity and the normalized text"),
        col("source_file", Str, false, "input file the report came from, as discovered"),
        col("source_record", I64, false, "line (JSONL), data row (CSV) or 1 (one report per file), 1-based"),
        col("source_id", Str, true, "the record's own id field, when it has one"),
        col("url", Str, true, "URL of the report, when known"),
        col("outlet", Str, true, "publisher: from the record, or lifted from a copyright or contact line"),
        col("section", Str, true, "section label lifted from the top of the body (\"Politics\")"),
        col("title", Str, true, "headline: from the record, or lifted from the first line of the body"),
        col("byline", Str, true, "author or author contact lifted from the body"),
        col("dateline", Str, true, "dateline lifted from the start of the body (\"WASHINGTON, D.C.\")"),
        col("published_at", Timestamp, true, "publication time, UTC"),
        col("language", Str, true, "ISO 639-1 language code when recognised (\"en\")"),
        col("encoding", Str, false, "how the bytes were decoded: utf-8, utf-16, or windows-1252 (not valid UTF-8)"),
        col("text", Str, false, "normalized body; every offset in other tables points into it (code points)"),
        col("n_chars", I64, false, "length of text in Unicode code points"),
        col("n_words", I64, false, "number of whitespace-separated words in text"),
        col("content_hash", Str, false, "xxh3-64 of text, hex: equal for exact copies"),
        col("run_id", Str, false, "the run that ingested the report"),
    ],
};

/// `mentions`: one row per entity mention.
pub const MENTIONS: TableDef = TableDef {
    name: "mentions",
    row: "entity mention",
    columns: &[
        col("doc_id", Str, false, "document the mention is in"),
        col("char_start", I64, false, "first code point of the mention in documents.text"),
        col("char_end", I64, false, "one past the last code point (half-open)"),
        col("text", Str, false, "the mention as written"),
        col("label", Str, false, "PERSON, ORG, GPE, LOC, NORP, MISC, DATE, TIME, MONEY, PERCENT, QUANTITY, CARDINAL or ORDINAL"),
        col("entity_id", Str, true, "canonical entity (entities.entity_id), when linked"),
        col("title", Str, true, "title or role written before the name (\"Ukrainian President\")"),
        col("method", Str, false, "model, rule or gazetteer"),
        col("score", F32, false, "confidence in 0..1"),
    ],
};

/// `entities`: one row per canonical entity.
pub const ENTITIES: TableDef = TableDef {
    name: "entities",
    row: "canonical entity",
    columns: &[
        col("entity_id", Str, false, "stable id: hash of the canonical key"),
        col("label", Str, false, "entity label"),
        col("name", Str, false, "canonical name"),
        col("aliases", StrList, false, "every surface form seen"),
        col("n_mentions", I64, false, "number of mentions linked to it"),
        col("n_documents", I64, false, "number of documents mentioning it"),
    ],
};

/// `quotes`: one row per quotation.
pub const QUOTES: TableDef = TableDef {
    name: "quotes",
    row: "quotation",
    columns: &[
        col("quote_id", Str, false, "stable id: hash of the document and the content span"),
        col("doc_id", Str, false, "document the quote is in"),
        col("kind", Str, false, "direct, partial, indirect, or term (quoted but not speech)"),
        col("text", Str, false, "what was said"),
        col("char_start", I64, false, "first code point of the content in documents.text"),
        col("char_end", I64, false, "one past the last code point of the content"),
        col("speaker", Str, true, "the speaker as written"),
        col("speaker_start", I64, true, "first code point of the speaker span"),
        col("speaker_end", I64, true, "one past the last code point of the speaker span"),
        col("speaker_entity_id", Str, true, "canonical speaker (entities.entity_id), when resolved"),
        col("speaker_name", Str, true, "canonical name of the speaker, when resolved"),
        col("cue", Str, true, "the attribution cue as written (\"said\", \"according to\")"),
        col("cue_start", I64, true, "first code point of the cue"),
        col("cue_end", I64, true, "one past the last code point of the cue"),
        col("quote_cluster_id", Str, true, "the utterance this quote reports (quote_clusters)"),
        col("confidence", F32, false, "confidence in 0..1"),
    ],
};

/// `quote_clusters`: one row per distinct utterance.
pub const QUOTE_CLUSTERS: TableDef = TableDef {
    name: "quote_clusters",
    row: "distinct utterance",
    columns: &[
        col("quote_cluster_id", Str, false, "stable id of the utterance"),
        col("text", Str, false, "its fullest version"),
        col("speaker_entity_id", Str, true, "canonical speaker, when known"),
        col("n_documents", I64, false, "distinct documents carrying it (corroboration count)"),
        col("first_doc_id", Str, false, "earliest document carrying it"),
    ],
};

/// `duplicates`: one row per document.
pub const DUPLICATES: TableDef = TableDef {
    name: "duplicates",
    row: "document",
    columns: &[
        col("doc_id", Str, false, "the document"),
        col("dup_cluster_id", Str, false, "its copy cluster"),
        col("is_canonical", Bool, false, "true for the copy that stands for the cluster"),
        col("similarity", F32, false, "similarity to the canonical copy"),
        col("relation", Str, false, "unique, exact or near"),
        col("story_id", Str, false, "its same-event cluster"),
    ],
};

/// `stories`: one row per same-event cluster.
pub const STORIES: TableDef = TableDef {
    name: "stories",
    row: "same-event cluster",
    columns: &[
        col("story_id", Str, false, "stable id of the story"),
        col("n_documents", I64, false, "documents in it"),
        col("representative_doc_id", Str, false, "the document that best represents it"),
        col("title", Str, true, "title of the representative document"),
        col("top_entities", StrList, false, "most-mentioned canonical entity ids"),
    ],
};

/// `rejects`: one row per refused input record.
pub const REJECTS: TableDef = TableDef {
    name: "rejects",
    row: "input record refused",
    columns: &[
        col("source_file", Str, false, "input file"),
        col("source_record", I64, false, "line or data row (1-based); 0 when the whole file was refused"),
        col("reason", Str, false, "machine-readable reason (binary, empty, malformed_json, ...)"),
        col("detail", Str, false, "what exactly was wrong"),
        col("run_id", Str, false, "the run that refused it"),
    ],
};

/// Every table, in the order they are written and documented.
pub const TABLES: [&TableDef; 8] =
    [&DOCUMENTS, &MENTIONS, &ENTITIES, &QUOTES, &QUOTE_CLUSTERS, &DUPLICATES, &STORIES, &REJECTS];

/// The text `newsmill schema` prints.
pub fn describe() -> String {
    let mut out = format!("newsmill tables, schema version {SCHEMA_VERSION}\n");
    for t in TABLES {
        out.push_str(&format!("\n{} (one row per {})\n", t.name, t.row));
        for c in t.columns {
            let null = if c.nullable { "null" } else { "    " };
            out.push_str(&format!("  {:<22} {:<18} {} {}\n", c.name, c.ty.name(), null, c.doc));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_names_are_unique_within_each_table() {
        for t in TABLES {
            let mut names: Vec<_> = t.columns.iter().map(|c| c.name).collect();
            names.sort();
            names.dedup();
            assert_eq!(names.len(), t.columns.len(), "{}", t.name);
        }
    }

    #[test]
    fn describe_lists_every_column() {
        let d = describe();
        for t in TABLES {
            for c in t.columns {
                assert!(d.contains(c.name), "{} missing", c.name);
            }
        }
    }
}

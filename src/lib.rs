//! newsmill: a batch processor for news reports.
//!
//! The flow: discover -> read -> normalize -> extract (entities, quotes) -> link -> overlap ->
//! write. Per-document stages are pure functions run under rayon; whole-run stages (link,
//! overlap) see every document of the run.
#![warn(missing_docs)]

pub mod entities;
pub mod overlap;
pub mod quotes;
pub mod record;

//! Unit tests of the quote stage: one short text per hard case.

//! Integration tests of the entities stage.

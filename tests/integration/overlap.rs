//! Integration tests of the overlap stage.

//! Integration tests of the quotes stage.

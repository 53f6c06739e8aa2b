//! The one integration-test binary: every module below drives the real `newsmill` binary or
//! the library on small inputs.

mod entities;
mod golden;
mod overlap;
mod quotes;
mod spine;
mod unattended;
mod util;

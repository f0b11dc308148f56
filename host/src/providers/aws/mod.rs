//! AWS provider (issue 4): the official Rust SDK behind the `Provider` trait.

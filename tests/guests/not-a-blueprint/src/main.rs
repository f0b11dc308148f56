//! Test fixture: a plain WASI command, to check the host refuses other worlds.
fn main() {
    println!("hello");
}

//! Test fixture: speaks `blueprint:cloud@0.9.0`, which the host must refuse with
//! a message naming both versions.

wit_bindgen::generate!({ world: "guest", path: "wit" });

struct Future;

impl exports::blueprint::cloud::blueprint::Guest for Future {
    fn params_schema() -> String {
        "{}".into()
    }
    fn run(_: String) -> Result<(), String> {
        Ok(())
    }
}

export!(Future);

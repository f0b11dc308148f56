//! The macro behind each provider's kind list.

/// A provider's kind list (`providers/<provider>/kinds/mod.rs`): the list the
/// provider serves and the WIT constructor guests call for each (named as the
/// kind's module). The kinds' modules are declared beside the call, outside the
/// macro, so that rustfmt formats them. Adding a kind is its file, its WIT
/// function, and its name (module and list) in that one file.
macro_rules! kind_list {
    (provider: $provider:ty, constructors: $host:path, kinds: [$($kind:ident),* $(,)?]) => {
        /// Every kind of this provider, in the order `inspect` lists them.
        pub static KINDS: &[&dyn $crate::providers::ResourceKind<$provider>] = &[$(&$kind::Kind),*];

        /// The WIT constructors: each records a node of its kind and returns the
        /// kind's outputs as reference tokens.
        impl $host for $crate::runtime::GuestState {
            $(
                fn $kind(&mut self, name: String, props: $kind::Props) -> $kind::Ref {
                    self.declare_typed(&$kind::INFO, name, props)
                }
            )*
        }

        #[cfg(test)]
        mod kind_list_tests {
            /// A constructor's `Ref` record has exactly the kind's outputs, and
            /// the kind's name is `<provider>.<constructor>`.
            #[test]
            fn constructors_match_descriptors() {
                use $crate::providers::KindProvider;
                $(
                    let info = &super::$kind::INFO;
                    assert_eq!(
                        info.name,
                        format!("{}.{}", <$provider>::NAME, stringify!($kind)),
                        "kind name of {}", stringify!($kind)
                    );
                    let tokens: serde_json::Map<String, serde_json::Value> = info
                        .outputs
                        .iter()
                        .map(|o| (o.name.to_owned(), serde_json::json!("t")))
                        .collect();
                    let parsed: super::$kind::Ref = serde_json::from_value(tokens.clone().into())
                        .unwrap_or_else(|e| panic!("{}: outputs vs Ref: {e}", info.name));
                    assert_eq!(
                        serde_json::to_value(parsed).unwrap(),
                        serde_json::Value::Object(tokens),
                        "{}: the Ref record has fields the descriptor does not declare", info.name
                    );
                )*
            }
        }
    };
}
pub(crate) use kind_list;

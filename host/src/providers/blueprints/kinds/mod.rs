//! Every kind of the `blueprint` provider, one file each.

pub mod output;
pub mod outputs;

crate::providers::kind_list::kind_list! {
    provider: crate::providers::blueprints::BlueprintsProvider,
    constructors: crate::runtime::wit::blueprints::Host,
    kinds: [
        output,
        outputs,
    ]
}

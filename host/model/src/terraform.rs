//! The shape of a mapping: one [`TerraformMap`] per kind (in the kind's
//! descriptor, `KindInfo::terraform`) says which Terraform type the kind becomes,
//! how each prop lands in the Terraform body, and which Terraform expression
//! stands for each of the kind's outputs. `mod.rs` interprets it.

use serde_json::{Map, Value};

/// Where a node lands in the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Block {
    /// `resource.<type>.<name>`: created and owned.
    Resource,
    /// `data.<type>.<name>`: a lookup, read only.
    Data,
    /// `output.<name>`: a value the configuration publishes (`tf_type` is
    /// `output`); nothing in the same configuration can reference it.
    Output,
}

/// One kind's mapping to one Terraform type.
#[derive(Debug)]
pub struct TerraformMap {
    /// The official provider's type name, e.g. `aws_sns_topic`.
    pub tf_type: &'static str,
    pub block: Block,
    /// Every prop of the kind (dotted paths into object props, e.g. `code.s3_key`).
    /// A prop with a value that no entry covers is an export error, never dropped.
    pub props: &'static [PropMap],
    /// Each output of the kind and what stands for it in Terraform.
    pub outputs: &'static [(&'static str, OutputMap)],
    /// The attributes of the Terraform type that references may name: its
    /// arguments and exported attributes that matter here (nested paths as
    /// Terraform spells them, e.g. `metric_transformation[0].name`).
    pub attributes: &'static [&'static str],
    /// Attributes derived from the finished body (e.g. SNS auto-confirmation).
    pub finish: Option<fn(&mut Map<String, Value>)>,
}

impl TerraformMap {
    /// What stands for `output`, if the kind has it.
    pub fn output(&self, output: &str) -> Option<&'static OutputMap> {
        self.outputs
            .iter()
            .find(|(name, _)| *name == output)
            .map(|(_, map)| map)
    }

    /// `<type>` or `data.<type>`: the prefix of a reference to one of its blocks.
    pub fn address_prefix(&self) -> String {
        match self.block {
            Block::Resource => self.tf_type.to_owned(),
            Block::Data => format!("data.{}", self.tf_type),
            Block::Output => "output".to_owned(),
        }
    }
}

/// One prop (or nested field) of a kind.
#[derive(Debug)]
pub struct PropMap {
    /// Our prop, relative to the object it sits in; object props are addressed by
    /// dotted path (`metric_transformation.metric_name`).
    pub prop: &'static str,
    pub to: Target,
    /// Written when the prop is absent: where the host's default and the Terraform
    /// provider's default differ, the host's is written out.
    pub absent: Option<&'static str>,
    /// Constant attributes written beside the prop when it is present (dotted
    /// paths into single nested blocks).
    pub with: &'static [(&'static str, &'static str)],
}

/// Where a prop's value goes in the Terraform body. Dotted attribute paths
/// (`logging_config.log_group`) go through single nested blocks.
#[derive(Debug)]
pub enum Target {
    /// The value as is (references become expressions).
    Attr(&'static str),
    /// A string-typed attribute: numbers are written as strings.
    Text(&'static str),
    /// A list of `{<key>, <value>}` objects as a map attribute; omitted when empty.
    Map {
        attr: &'static str,
        key: &'static str,
        value: &'static str,
    },
    /// A list of objects as repeated nested blocks (a single object as one
    /// block), each mapped field by field.
    Blocks {
        block: &'static str,
        fields: &'static [PropMap],
    },
    /// A list of scalars as repeated nested blocks of one attribute each
    /// (`conditions = ["a"]` → `condition { expression = "a" }`).
    Each {
        block: &'static str,
        attr: &'static str,
    },
    /// The `tags` list as the `tags` map, plus the host's own `blueprint:*` tags
    /// (written even when the prop is absent).
    Tags,
    /// Not an attribute: the prop shapes how references read the block
    /// ([`OutputMap::Keyed`]) or has no Terraform counterpart.
    Omit,
    /// An asset id: the path of the asset's zip beside the configuration, and a
    /// content hash under `hash_attr` unless a prop sets that attribute itself.
    Asset {
        attr: &'static str,
        hash_attr: &'static str,
        hash: AssetHash,
    },
}

impl Target {
    /// The attribute (path) the target writes.
    pub fn attr(&self) -> &'static str {
        match self {
            Target::Attr(a) | Target::Text(a) => a,
            Target::Map { attr, .. } | Target::Asset { attr, .. } => attr,
            Target::Blocks { block, .. } | Target::Each { block, .. } => block,
            Target::Tags => "tags",
            Target::Omit => "",
        }
    }
}

/// Which digest of an asset's zip a hash attribute takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssetHash {
    /// Lowercase hex SHA-256 (`aws_s3_object.source_hash` only triggers updates,
    /// any digest of the content does).
    Sha256Hex,
    /// Base64 SHA-256, what `filebase64sha256()` gives
    /// (`aws_lambda_function.source_code_hash`).
    Sha256Base64,
}

/// What stands for one output in Terraform.
#[derive(Debug)]
pub enum OutputMap {
    /// An attribute of the node's own block: `${<address>.<attr>}`.
    Attr(&'static str),
    /// A constant: the output is always this value.
    Literal(&'static str),
    /// `https://<PagerDuty events host of the provider region>/integration/${<address>.<attr>}/enqueue`.
    PagerDutyEnqueue(&'static str),
    /// `${<address>.<attr>.<the node's prop key>}`: one entry of a map
    /// attribute, chosen by a prop (`terraform_remote_state`'s `outputs`).
    Keyed {
        attr: &'static str,
        key: &'static str,
    },
}

impl OutputMap {
    /// The attribute of the node's block the expression reads, if any.
    pub fn attribute(&self) -> Option<&'static str> {
        match self {
            OutputMap::Attr(a) | OutputMap::PagerDutyEnqueue(a) => Some(a),
            OutputMap::Keyed { attr, .. } => Some(attr),
            OutputMap::Literal(_) => None,
        }
    }
}

// Constructors that keep the tables short.

/// The prop under the same attribute name.
pub const fn same(prop: &'static str) -> PropMap {
    to(prop, prop)
}

/// The prop under another attribute name.
pub const fn to(prop: &'static str, attr: &'static str) -> PropMap {
    PropMap {
        prop,
        to: Target::Attr(attr),
        absent: None,
        with: &[],
    }
}

/// The prop into a string-typed attribute.
pub const fn text(prop: &'static str, attr: &'static str) -> PropMap {
    PropMap {
        prop,
        to: Target::Text(attr),
        absent: None,
        with: &[],
    }
}

/// Any target.
pub const fn prop(prop: &'static str, to: Target) -> PropMap {
    PropMap {
        prop,
        to,
        absent: None,
        with: &[],
    }
}

/// The `tags` prop.
pub const TAGS: PropMap = prop("tags", Target::Tags);

impl PropMap {
    /// Write `value` when the prop is absent.
    pub const fn absent(mut self, value: &'static str) -> PropMap {
        self.absent = Some(value);
        self
    }

    /// Write these constants beside the prop when it is present.
    pub const fn with(mut self, constants: &'static [(&'static str, &'static str)]) -> PropMap {
        self.with = constants;
        self
    }
}

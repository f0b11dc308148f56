//! `pagerduty.tag`: a label users, teams and escalation policies carry. A tag
//! has no update (the REST API has no `PUT /tags/{id}`): a new label is a new tag.

use serde_json::{Map, Value, json};

use super::super::object::{PlainObject, object};
use crate::runtime::wit::pagerduty as wit;
use blueprint_model::kind::{KindInfo, out, parse_as};
use blueprint_model::terraform::{Block, OutputMap, TerraformMap, same};

pub const NAME: &str = "pagerduty.tag";
pub type Props = wit::TagProps;
pub type Ref = wit::TagRef;

pub static INFO: KindInfo = KindInfo {
    name: NAME,
    lookup: false,
    role: None,
    outputs: &[out("id")],
    required: &["label"],
    refs: &[],
    check: |c| {
        if let Some(label) = c.literal("label")
            && (label.trim().is_empty() || label.chars().count() > 191)
        {
            c.bad("label", "must be 1-191 characters");
        }
    },
    replace_on_change: &["label"],
    create_before_destroy: false,
    terraform: TerraformMap {
        tf_type: "pagerduty_tag",
        block: Block::Resource,
        props: &[same("label")],
        outputs: &[("id", OutputMap::Attr("id"))],
        attributes: &["id", "label", "html_url"],
        finish: None,
    },
    import: Some(blueprint_model::import_id::ImportId {
        format: "{id}",
        docs: "https://registry.terraform.io/providers/PagerDuty/pagerduty/latest/docs/resources/tag#import",
        identity: &["label"],
        prior: blueprint_model::import_id::id_only,
    }),
    text_controls: &[],
    parse: parse_as::<Props>,
};

pub struct Kind;

impl PlainObject for Kind {
    type Props = Props;
    const COLLECTION: &'static str = "/tags";
    const KEY: &'static str = "tag";
    const NAME_FIELD: &'static str = "label";

    fn info() -> &'static KindInfo {
        &INFO
    }

    fn name(p: &Props) -> &str {
        &p.label
    }

    fn to_api(p: &Props) -> Value {
        json!({"type": "tag", "label": p.label})
    }

    fn from_api(v: &Value) -> Map<String, Value> {
        object(vec![("label", v["label"].clone())])
    }
}

//! `pagerduty.team`: a team (optionally inside a parent team).

use serde_json::{Map, Value, json};

use super::super::object::{PlainObject, id_of, object, reference_opt};
use crate::runtime::wit::pagerduty as wit;
use blueprint_model::kind::{KindInfo, Role, out, parse_as, refs};
use blueprint_model::terraform::{Block, OutputMap, TerraformMap, same};

pub const NAME: &str = "pagerduty.team";
pub type Props = wit::TeamProps;
pub type Ref = wit::TeamRef;

pub static INFO: KindInfo = KindInfo {
    name: NAME,
    lookup: false,
    role: Some(Role::Team),
    outputs: &[out("id")],
    required: &["name"],
    refs: &[refs("parent", &[NAME])],
    check: |_| {},
    replace_on_change: &[],
    create_before_destroy: false,
    terraform: TerraformMap {
        tf_type: "pagerduty_team",
        block: Block::Resource,
        props: &[same("name"), same("description"), same("parent")],
        outputs: &[("id", OutputMap::Attr("id"))],
        attributes: &["id", "name", "html_url"],
        finish: None,
    },
    import: Some(blueprint_model::import_id::ImportId {
        format: "{id}",
        docs: "https://registry.terraform.io/providers/PagerDuty/pagerduty/latest/docs/resources/team#import",
        identity: &["name"],
        prior: blueprint_model::import_id::id_only,
    }),
    text_controls: &[],
    parse: parse_as::<Props>,
};

pub struct Kind;

impl PlainObject for Kind {
    type Props = Props;
    const COLLECTION: &'static str = "/teams";
    const KEY: &'static str = "team";

    fn info() -> &'static KindInfo {
        &INFO
    }

    fn name(p: &Props) -> &str {
        &p.name
    }

    fn to_api(p: &Props) -> Value {
        json!({
            "type": "team",
            "name": p.name,
            "description": p.description,
            "parent": reference_opt(p.parent.as_ref(), "team_reference"),
        })
    }

    fn from_api(v: &Value) -> Map<String, Value> {
        object(vec![
            ("name", v["name"].clone()),
            ("description", v["description"].clone()),
            ("parent", id_of(&v["parent"])),
        ])
    }
}

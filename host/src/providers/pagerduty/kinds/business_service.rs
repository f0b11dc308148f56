//! `pagerduty.business_service`: what the business sees as one service.

use serde_json::{Map, Value, json};

use super::super::object::{PlainObject, id_of, object, reference_opt};
use crate::runtime::wit::pagerduty as wit;
use blueprint_model::kind::{KindInfo, out, parse_as, refs};
use blueprint_model::terraform::{Block, OutputMap, TerraformMap, same};

pub const NAME: &str = "pagerduty.business_service";
pub type Props = wit::BusinessServiceProps;
pub type Ref = wit::BusinessServiceRef;

pub static INFO: KindInfo = KindInfo {
    name: NAME,
    lookup: false,
    role: None,
    outputs: &[out("id")],
    required: &["name"],
    refs: &[refs("team", &[super::team::NAME])],
    check: |_| {},
    replace_on_change: &[],
    create_before_destroy: false,
    terraform: TerraformMap {
        tf_type: "pagerduty_business_service",
        block: Block::Resource,
        props: &[
            same("name"),
            same("description"),
            same("point_of_contact"),
            same("team"),
        ],
        outputs: &[("id", OutputMap::Attr("id"))],
        attributes: &["id", "name", "html_url", "self", "summary"],
        finish: None,
    },
    import: Some(blueprint_model::import_id::ImportId {
        format: "{id}",
        docs: "https://registry.terraform.io/providers/PagerDuty/pagerduty/latest/docs/resources/business_service#import",
        identity: &["name"],
        prior: blueprint_model::import_id::id_only,
    }),
    text_controls: &[],
    parse: parse_as::<Props>,
};

pub struct Kind;

impl PlainObject for Kind {
    type Props = Props;
    const COLLECTION: &'static str = "/business_services";
    const KEY: &'static str = "business_service";
    // GET /business_services has no `query` parameter.
    const QUERY_BY_NAME: bool = false;

    fn info() -> &'static KindInfo {
        &INFO
    }

    fn name(p: &Props) -> &str {
        &p.name
    }

    fn to_api(p: &Props) -> Value {
        json!({
            "name": p.name,
            "description": p.description,
            "point_of_contact": p.point_of_contact,
            "team": reference_opt(p.team.as_ref(), "team_reference"),
        })
    }

    fn from_api(v: &Value) -> Map<String, Value> {
        object(vec![
            ("name", v["name"].clone()),
            ("description", v["description"].clone()),
            ("point_of_contact", v["point_of_contact"].clone()),
            ("team", id_of(&v["team"])),
        ])
    }
}

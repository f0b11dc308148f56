//! `[providers.pagerduty]` of a blueprint file: which service region the
//! account is in, and that region's hosts. Read by the provider, export and
//! check alike, so it lives with the settings, below all of them.

use super::PagerDutySettings;

/// The account's service region: `PAGERDUTY_SERVICE_REGION`, else the blueprint
/// file's `[providers.pagerduty] region`, else `us`.
pub fn service_region(settings: &PagerDutySettings) -> String {
    std::env::var("PAGERDUTY_SERVICE_REGION")
        .ok()
        .or_else(|| settings.region.clone())
        .unwrap_or_else(|| "us".into())
}

/// The REST API and events hosts of a service region (`us` or `eu`).
pub fn hosts(region: &str) -> Option<(&'static str, &'static str)> {
    match region {
        "us" => Some(("api.pagerduty.com", "events.pagerduty.com")),
        "eu" => Some(("api.eu.pagerduty.com", "events.eu.pagerduty.com")),
        _ => None,
    }
}

/// The events host alarms post to, for these settings.
pub fn events_host(settings: &PagerDutySettings) -> &'static str {
    hosts(&service_region(settings)).map_or("events.pagerduty.com", |(_, events)| events)
}

//! The time zones PagerDuty accepts (`time_zone` of schedules, users,
//! services' support hours): not every IANA name. PagerDuty's "Types" reference
//! (developer.pagerduty.com/docs/1afe25e9c94cb-types#time-zone) lists them — the
//! zones Rails' `ActiveSupport::TimeZone` maps its names to, so e.g. `UTC` is
//! `Etc/UTC` and Kyiv is still `Europe/Kiev`; there is no API to list them
//! (terraform-provider-pagerduty validates against the same list). A name outside
//! it is refused with the nearest accepted one.

use chrono::{Offset, TimeZone, Utc};

/// Sorted, for binary search.
pub const ACCEPTED: &[&str] = &[
    "Africa/Algiers",
    "Africa/Cairo",
    "Africa/Casablanca",
    "Africa/Harare",
    "Africa/Johannesburg",
    "Africa/Monrovia",
    "Africa/Nairobi",
    "America/Argentina/Buenos_Aires",
    "America/Bogota",
    "America/Caracas",
    "America/Chicago",
    "America/Chihuahua",
    "America/Denver",
    "America/Godthab",
    "America/Guatemala",
    "America/Guyana",
    "America/Halifax",
    "America/Indiana/Indianapolis",
    "America/Juneau",
    "America/La_Paz",
    "America/Lima",
    "America/Los_Angeles",
    "America/Mazatlan",
    "America/Mexico_City",
    "America/Monterrey",
    "America/Montevideo",
    "America/New_York",
    "America/Phoenix",
    "America/Puerto_Rico",
    "America/Regina",
    "America/Santiago",
    "America/Sao_Paulo",
    "America/St_Johns",
    "America/Tijuana",
    "Asia/Almaty",
    "Asia/Baghdad",
    "Asia/Baku",
    "Asia/Bangkok",
    "Asia/Chongqing",
    "Asia/Colombo",
    "Asia/Dhaka",
    "Asia/Hong_Kong",
    "Asia/Irkutsk",
    "Asia/Jakarta",
    "Asia/Jerusalem",
    "Asia/Kabul",
    "Asia/Kamchatka",
    "Asia/Karachi",
    "Asia/Kathmandu",
    "Asia/Kolkata",
    "Asia/Krasnoyarsk",
    "Asia/Kuala_Lumpur",
    "Asia/Kuwait",
    "Asia/Magadan",
    "Asia/Muscat",
    "Asia/Novosibirsk",
    "Asia/Rangoon",
    "Asia/Riyadh",
    "Asia/Seoul",
    "Asia/Shanghai",
    "Asia/Singapore",
    "Asia/Srednekolymsk",
    "Asia/Taipei",
    "Asia/Tashkent",
    "Asia/Tbilisi",
    "Asia/Tehran",
    "Asia/Tokyo",
    "Asia/Ulaanbaatar",
    "Asia/Urumqi",
    "Asia/Vladivostok",
    "Asia/Yakutsk",
    "Asia/Yekaterinburg",
    "Asia/Yerevan",
    "Atlantic/Azores",
    "Atlantic/Cape_Verde",
    "Atlantic/South_Georgia",
    "Australia/Adelaide",
    "Australia/Brisbane",
    "Australia/Darwin",
    "Australia/Hobart",
    "Australia/Melbourne",
    "Australia/Perth",
    "Australia/Sydney",
    "Etc/GMT+12",
    "Etc/UTC",
    "Europe/Amsterdam",
    "Europe/Athens",
    "Europe/Belgrade",
    "Europe/Berlin",
    "Europe/Bratislava",
    "Europe/Brussels",
    "Europe/Bucharest",
    "Europe/Budapest",
    "Europe/Copenhagen",
    "Europe/Dublin",
    "Europe/Helsinki",
    "Europe/Istanbul",
    "Europe/Kaliningrad",
    "Europe/Kiev",
    "Europe/Lisbon",
    "Europe/Ljubljana",
    "Europe/London",
    "Europe/Madrid",
    "Europe/Minsk",
    "Europe/Moscow",
    "Europe/Paris",
    "Europe/Prague",
    "Europe/Riga",
    "Europe/Rome",
    "Europe/Samara",
    "Europe/Sarajevo",
    "Europe/Skopje",
    "Europe/Sofia",
    "Europe/Stockholm",
    "Europe/Tallinn",
    "Europe/Vienna",
    "Europe/Vilnius",
    "Europe/Volgograd",
    "Europe/Warsaw",
    "Europe/Zagreb",
    "Europe/Zurich",
    "Pacific/Apia",
    "Pacific/Auckland",
    "Pacific/Chatham",
    "Pacific/Fakaofo",
    "Pacific/Fiji",
    "Pacific/Guadalcanal",
    "Pacific/Guam",
    "Pacific/Honolulu",
    "Pacific/Majuro",
    "Pacific/Midway",
    "Pacific/Noumea",
    "Pacific/Pago_Pago",
    "Pacific/Port_Moresby",
    "Pacific/Tongatapu",
];

/// Whether PagerDuty accepts `name` as a time zone.
pub fn accepted(name: &str) -> bool {
    ACCEPTED.binary_search(&name).is_ok()
}

/// The accepted zone nearest to `name`: among those that keep the same UTC
/// offsets through the year (when `name` is an IANA zone), the closest name
/// (Levenshtein, the case ignored); else the closest name of all.
pub fn nearest(name: &str) -> &'static str {
    let closest = |candidates: &mut dyn Iterator<Item = &'static str>| {
        candidates.min_by_key(|z| strsim::levenshtein(&z.to_lowercase(), &name.to_lowercase()))
    };
    let same_offsets = name.parse::<chrono_tz::Tz>().ok().and_then(|tz| {
        let offsets = offsets_through_the_year(tz);
        closest(&mut ACCEPTED.iter().copied().filter(|z| {
            z.parse::<chrono_tz::Tz>()
                .is_ok_and(|other| offsets_through_the_year(other) == offsets)
        }))
    });
    same_offsets
        .or_else(|| closest(&mut ACCEPTED.iter().copied()))
        .unwrap_or("Etc/UTC")
}

/// The zone's UTC offset in seconds on the first of each month of this year.
fn offsets_through_the_year(tz: chrono_tz::Tz) -> Vec<i32> {
    use chrono::Datelike;
    let year = Utc::now().year();
    (1..=12)
        .filter_map(|month| Utc.with_ymd_and_hms(year, month, 1, 12, 0, 0).single())
        .map(|at| at.with_timezone(&tz).offset().fix().local_minus_utc())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_sorted_and_every_name_is_a_zone() {
        assert!(ACCEPTED.windows(2).all(|w| w[0] < w[1]));
        for z in ACCEPTED {
            assert!(z.parse::<chrono_tz::Tz>().is_ok(), "{z}");
        }
    }

    #[test]
    fn refused_names_get_the_nearest_accepted_one() {
        assert!(accepted("Asia/Tokyo") && accepted("Etc/UTC"));
        assert!(!accepted("UTC") && !accepted("Europe/Kyiv"));
        assert_eq!(nearest("Europe/Kyiv"), "Europe/Kiev");
        assert_eq!(nearest("UTC"), "Etc/UTC");
        assert_eq!(nearest("America/Toronto"), "America/New_York");
        assert_eq!(nearest("asia/tokio"), "Asia/Tokyo");
    }
}
